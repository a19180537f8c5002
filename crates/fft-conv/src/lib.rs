//! # fft-conv
//!
//! fp32 FFT convolution (NCHW, stride 1) on 8x8 and 16x16 tiles for kernels from 2x2 to 16x16.
//!
//! This crate currently holds the tile-size rule ([`choose_tile`]); the plan lands with the
//! fft-conv issue.
//!
//! ```
//! assert_eq!(fft_conv::choose_tile(8, 8, 5), Some(8));
//! assert_eq!(fft_conv::choose_tile(64, 64, 12), Some(16));
//! ```

/// FFT tile edge for an `h × w` output and a `k × k` kernel: 8 if the kernel fits an 8x8 tile and
/// needs at most 4× as many tiles as 16x16 would (NNPACK's rule), 16 if it fits 16x16, else `None`.
pub fn choose_tile(out_h: usize, out_w: usize, k: usize) -> Option<usize> {
    let tiles = |t: usize| {
        let step = t + 1 - k;
        out_h.div_ceil(step) * out_w.div_ceil(step)
    };
    match k {
        1..=8 if tiles(8) <= 4 * tiles(16) => Some(8),
        1..=16 => Some(16),
        _ => None,
    }
}
