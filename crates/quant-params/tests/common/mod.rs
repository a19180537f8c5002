//! Helpers shared by the kernel tests.

use quant_params::QType;

/// The output of the u8 or the i8 form of a kernel (chosen by `qtype`), run into a fresh buffer
/// of `n` elements, widened to i32 for comparison with the reference.
pub fn widened(
    qtype: QType,
    n: usize,
    u8_kernel: impl FnOnce(&mut [u8]),
    i8_kernel: impl FnOnce(&mut [i8]),
) -> Vec<i32> {
    match qtype {
        QType::U8 => {
            let mut o = vec![0u8; n];
            u8_kernel(&mut o);
            o.into_iter().map(i32::from).collect()
        }
        QType::I8 => {
            let mut o = vec![0i8; n];
            i8_kernel(&mut o);
            o.into_iter().map(i32::from).collect()
        }
    }
}
