//! Runs one bulk kernel of one [`BULK`] entry `iters` times on `len` elements, for instruction
//! counting under QEMU (the difference of two runs with different `iters` is the per-call cost):
//!
//! ```text
//! bulk_count <entry name> <fp32|gemmlowp|rndnu|precise|fp32_pc|quantize|dequantize|xor> <iters> <len>
//! ```
//!
//! e.g. `qemu-arm -cpu cortex-a7 -L /usr/arm-linux-gnueabihf -plugin target/insn.so,arch=a32
//! target/armv7-unknown-linux-gnueabihf/release/examples/bulk_count
//! requant_fp32_x16__aarch32_neon fp32 1000 1024`.

use std::hint::black_box;

use quant_params::{
    BulkKernels, PerChannelRequantizer, QType, QuantParams, RequantScheme, Requantizer,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        return Err("usage: bulk_count <entry> <op> <iters> <len>".into());
    }
    let k = BulkKernels::by_name(&args[1])?;
    let iters: usize = args[3].parse()?;
    let len: usize = args[4].parse()?;
    let acc: Vec<i32> = (0..len)
        .map(|i| (i as i32).wrapping_mul(7919) % 40_000 - 20_000)
        .collect();
    let x: Vec<f32> = acc.iter().map(|&a| a as f32 * 0.01).collect();
    let bytes: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
    let mut out = vec![0u8; len];
    let mut outf = vec![0f32; len];
    let scheme = match args[2].as_str() {
        "fp32" | "fp32_pc" => RequantScheme::Fp32,
        "gemmlowp" => RequantScheme::Gemmlowp,
        "rndnu" => RequantScheme::Rndnu,
        "precise" => RequantScheme::Precise,
        _ => RequantScheme::Fp32,
    };
    let r = Requantizer::new(scheme, 0.0123, 77, QType::U8)?;
    let p = QuantParams::new(0.037, 17, QType::U8)?;
    let plan = r.plan(Some(k.entry()))?;
    let pc = PerChannelRequantizer::new(RequantScheme::Fp32, &[0.0123; 64], 77, QType::U8)?;
    let len_pc = len / 64 * 64;
    for _ in 0..iters {
        match args[2].as_str() {
            "fp32" | "gemmlowp" | "rndnu" | "precise" => {
                plan.run_u8(black_box(&acc), black_box(&mut out))?
            }
            "fp32_pc" => pc.requantize_rows_u8_with(
                k.entry(),
                black_box(&acc[..len_pc]),
                black_box(&mut out[..len_pc]),
            )?,
            "quantize" => k.quantize_u8(&p, black_box(&x), black_box(&mut out))?,
            "dequantize" => k.dequantize_u8(&p, black_box(&bytes), black_box(&mut outf))?,
            "xor" => k.u8_to_i8(black_box(&bytes), black_box(as_i8(&mut out)))?,
            other => return Err(format!("unknown op {other}").into()),
        }
    }
    println!("{} {} {}", out[len / 2], outf[len / 2], k.name());
    Ok(())
}

fn as_i8(b: &mut [u8]) -> &mut [i8] {
    // SAFETY: u8 and i8 have the same size and alignment, every bit pattern is valid for both.
    unsafe { std::slice::from_raw_parts_mut(b.as_mut_ptr().cast(), b.len()) }
}
