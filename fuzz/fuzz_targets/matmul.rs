#![no_main]
//! MatMul / Gemm / MatMulInteger / QLinearMatMul with arbitrary shapes and buffers.

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
#[path = "mix.rs"]
mod mix;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = (|| -> arbitrary::Result<()> {
        let op = ["MatMul", "Gemm", "MatMulInteger", "QLinearMatMul"]
            [usize::from(u8::arbitrary(&mut u)?) % 4];
        let node = common::attributes(&mut u, ops::Node::new(op))?;
        let n_inputs = match op {
            "QLinearMatMul" => 8,
            "MatMulInteger" => 4,
            "Gemm" => 3,
            _ => 2,
        };
        let mut inputs = Vec::new();
        for _ in 0..n_inputs {
            let r = usize::from(u8::arbitrary(&mut u)?) % 5;
            let shape: Vec<usize> = (0..r)
                .map(|_| common::dim(&mut u, 7))
                .collect::<Result<_, _>>()?;
            inputs.push(common::tensor(&mut u, shape)?);
        }
        common::plan_and_run(&node, &inputs, 1);
        Ok(())
    })();
});
