#![no_main]
//! Conv / QLinearConv / ConvInteger with arbitrary shapes, attributes and buffers.

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
#[path = "mix.rs"]
mod mix;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = (|| -> arbitrary::Result<()> {
        let op = ["Conv", "QLinearConv", "ConvInteger"][usize::from(u8::arbitrary(&mut u)?) % 3];
        let rank = 3 + usize::from(u8::arbitrary(&mut u)?) % 2;
        let x_shape: Vec<usize> = (0..rank)
            .map(|_| common::dim(&mut u, 9))
            .collect::<Result<_, _>>()?;
        let w_shape: Vec<usize> = (0..rank)
            .map(|_| common::dim(&mut u, 5))
            .collect::<Result<_, _>>()?;
        let node = common::attributes(&mut u, ops::Node::new(op))?;
        let n_inputs = match op {
            "QLinearConv" => 9,
            "ConvInteger" => 4,
            _ => 3,
        };
        let mut inputs = Vec::new();
        for i in 0..n_inputs {
            let shape = match i {
                0 => x_shape.clone(),
                _ if (op == "QLinearConv" && i == 3) || (op != "QLinearConv" && i == 1) => {
                    w_shape.clone()
                }
                _ => {
                    let r = usize::from(u8::arbitrary(&mut u)?) % 2;
                    (0..r)
                        .map(|_| common::dim(&mut u, 8))
                        .collect::<Result<_, _>>()?
                }
            };
            inputs.push(if bool::arbitrary(&mut u)? || i < 2 {
                common::tensor(&mut u, shape)?
            } else {
                None
            });
        }
        common::plan_and_run(&node, &inputs, 1 + usize::from(bool::arbitrary(&mut u)?));
        Ok(())
    })();
});
