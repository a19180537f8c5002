#![no_main]
//! QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear / Relu / Clip with arbitrary inputs
//! (NaN, infinities, zero and negative scales, mismatched axes).

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
#[path = "mix.rs"]
mod mix;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = (|| -> arbitrary::Result<()> {
        let op = [
            "QuantizeLinear",
            "DequantizeLinear",
            "DynamicQuantizeLinear",
            "Relu",
            "Clip",
        ][usize::from(u8::arbitrary(&mut u)?) % 5];
        let node = common::attributes(&mut u, ops::Node::new(op))?;
        let mut inputs = Vec::new();
        for _ in 0..3 {
            let r = usize::from(u8::arbitrary(&mut u)?) % 4;
            let shape: Vec<usize> = (0..r)
                .map(|_| common::dim(&mut u, 6))
                .collect::<Result<_, _>>()?;
            inputs.push(if bool::arbitrary(&mut u)? {
                common::tensor(&mut u, shape)?
            } else {
                None
            });
        }
        common::plan_and_run(&node, &inputs, 1);
        Ok(())
    })();
});
