//! Frequency-bin layout and the kernel transform (done once per weight tensor, in f64).
//!
//! A real `T×T` tile has a Hermitian spectrum, so only columns `kx` in `0..=T/2` are kept, and in
//! columns 0 and `T/2` (which are Hermitian along `ky` themselves) only `ky` in `0..=T/2`. The
//! bins are numbered column by column: column 0, column `T/2`, then columns `1..T/2`:
//!
//! | tile  | column 0 | column T/2 | columns 1..T/2 | bins (complex) | floats |
//! |-------|----------|------------|----------------|----------------|--------|
//! | 8x8   | 5        | 5          | 3 × 8          | 34             | 68     |
//! | 16x16 | 9        | 9          | 7 × 16         | 130            | 260    |
//!
//! (of which 4 bins are real: `(0,0)`, `(0,T/2)`, `(T/2,0)`, `(T/2,T/2)`).

use crate::ukernel::MR;
use crate::FftError;
use aligned_vec::{AVec, ConstAlign};

/// Number of stored complex bins of a `t × t` tile (`t` = 8 or 16; other even `t >= 2` give
/// the same formula, saturating at `usize::MAX`, and `t < 2` gives 2).
pub const fn bins(t: usize) -> usize {
    let h = t / 2 + 1;
    h.saturating_mul(2)
        .saturating_add((t / 2).saturating_sub(1).saturating_mul(t))
}

/// Index of the first bin of column `kx` (`kx <= t/2`).
#[inline(always)]
pub(crate) const fn bin_offset(t: usize, kx: usize) -> usize {
    let h = t / 2 + 1;
    if kx == 0 {
        0
    } else if kx == t / 2 {
        h
    } else {
        2 * h + (kx - 1) * t
    }
}

/// Index of bin `(ky, kx)` in the stored order, or `None` if that bin is not stored (it is the
/// conjugate of a stored one) or out of range.
pub fn bin_index(t: usize, ky: usize, kx: usize) -> Option<usize> {
    if !(t == 8 || t == 16) || ky >= t || kx > t / 2 {
        return None;
    }
    if (kx == 0 || kx == t / 2) && ky > t / 2 {
        return None;
    }
    Some(bin_offset(t, kx) + ky)
}

/// Transformed kernels for one tile size: per bin, `[oc / MR][ic][MR][c, c + d, d − c]` where
/// `c + id = conj(DFT(w)) / (2·T²)`, or `/ (4·T²)` in columns 0 and `T/2` (the conjugate turns
/// the product into a correlation; the scale undoes the unnormalised inverse and the factor 2,
/// or 4 in those two columns, of the input transform; the three
/// numbers serve the 3-multiplication complex product of the tuple GEMM).
pub(crate) struct PackedKernel {
    pub oc_blocks: usize,
    pub data: AVec<f32, ConstAlign<64>>,
}

impl PackedKernel {
    /// Floats per bin.
    pub fn bin_len(&self, cin: usize) -> usize {
        self.oc_blocks * cin * MR * 3
    }
}

/// Transforms `kernel` (OIHW, `cout × cin × kh × kw`, `kh, kw <= t`, `cin, cout >= 1`) for a
/// `t × t` tile (8 or 16) in f64; an error if the packed size overflows `usize` or cannot be
/// allocated.
pub(crate) fn pack_kernel(
    t: usize,
    cin: usize,
    cout: usize,
    kh: usize,
    kw: usize,
    kernel: &[f32],
) -> Result<PackedKernel, FftError> {
    let oc_blocks = cout.div_ceil(MR);
    let nb = bins(t);
    let too_large = |detail: String| FftError::TooLarge {
        what: "transformed kernel",
        detail,
    };
    let len = oc_blocks
        .checked_mul(cin)
        .and_then(|v| v.checked_mul(MR * 3))
        .and_then(|bin_len| bin_len.checked_mul(nb))
        .ok_or_else(|| {
            too_large(format!(
                "{nb} bins x {cout} x {cin} channels overflow usize"
            ))
        })?;
    // len = nb · bin_len did not overflow, so neither does bin_len.
    let bin_len = oc_blocks * cin * MR * 3;
    let mut data: AVec<f32, ConstAlign<64>> = AVec::new(64);
    data.try_reserve_exact(len).map_err(|e| {
        too_large(format!(
            "{len} floats for {cout} x {cin} channels cannot be allocated ({e:?})"
        ))
    })?;
    data.resize(len, 0.0);
    let h = t / 2 + 1;
    let tau = 2.0 * std::f64::consts::PI / t as f64;
    let cs: Vec<(f64, f64)> = (0..t)
        .map(|n| ((tau * n as f64).cos(), (tau * n as f64).sin()))
        .collect();
    let scale = 1.0 / (2.0 * (t * t) as f64);
    // Row DFT of each kernel row: r[i][kx], then column DFT: f[ky][kx].
    let mut r = vec![(0.0f64, 0.0f64); kh * h];
    for oc in 0..cout {
        for ic in 0..cin {
            let w = &kernel[(oc * cin + ic) * kh * kw..][..kh * kw];
            for i in 0..kh {
                for kx in 0..h {
                    let (mut re, mut im) = (0.0, 0.0);
                    for j in 0..kw {
                        let (c, s) = cs[(j * kx) % t];
                        let v = w[i * kw + j] as f64;
                        re += v * c;
                        im -= v * s;
                    }
                    r[i * h + kx] = (re, im);
                }
            }
            for kx in 0..h {
                let rows = if kx == 0 || kx == t / 2 { h } else { t };
                for ky in 0..rows {
                    let (mut re, mut im) = (0.0, 0.0);
                    for i in 0..kh {
                        let (c, s) = cs[(i * ky) % t];
                        let (a, b) = r[i * h + kx];
                        // (a + ib)(c − is)
                        re += a * c + b * s;
                        im += b * c - a * s;
                    }
                    // Columns 0 and t/2 of the input transform carry a factor 4, the others 2.
                    let scale = if kx == 0 || kx == t / 2 {
                        scale / 2.0
                    } else {
                        scale
                    };
                    let bin = bin_offset(t, kx) + ky;
                    let idx = bin * bin_len + ((oc / MR) * cin + ic) * MR * 3 + (oc % MR) * 3;
                    // Ŵ = c + id with c = re·scale, d = −im·scale (conjugate), stored for the
                    // 3-multiplication product as (c, c + d, d − c).
                    let (c, d) = (re * scale, -im * scale);
                    data[idx] = c as f32;
                    data[idx + 1] = (c + d) as f32;
                    data[idx + 2] = (d - c) as f32;
                }
            }
        }
    }
    Ok(PackedKernel { oc_blocks, data })
}
