//! k-means codebook compression of weights (Deep Compression style "weight sharing"): every
//! weight is replaced by the nearest of `2^bits` shared values (the codebook), and stored as a
//! `bits`-wide index in a packed bit stream.
//!
//! * Initialisation is deterministic: [`KMeansInit::Linear`] (evenly spaced between min and max,
//!   the best of the inits compared by Han et al.) or [`KMeansInit::PlusPlus`] (k-means++ with a
//!   seed, on at most 65 536 evenly strided samples).
//! * Lloyd iterations (assignment by binary search over the sorted centroids' midpoints; update
//!   to the cluster mean in f64) until no assignment changes or `max_iters`.
//! * [`CompressedWeights::to_bytes`] / [`CompressedWeights::from_bytes`]: the serialized form
//!   (see [`CompressedWeights::to_bytes`] for the layout); [`CompressedWeights::decode`]
//!   reproduces the codebook values exactly.

use crate::error::check_len;
use crate::QuantError;

/// How the centroids start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KMeansInit {
    /// Evenly spaced between the minimum and maximum weight.
    Linear,
    /// k-means++ (D² sampling) with a deterministic xorshift generator seeded by `seed`.
    PlusPlus {
        /// The seed.
        seed: u64,
    },
}

/// k-means configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KMeansConfig {
    /// Index width in bits, 2..=8 (codebook of `2^bits` values). Default 6.
    pub bits: u32,
    /// Maximum number of Lloyd iterations. Default 50.
    pub max_iters: usize,
    /// Initialisation. Default [`KMeansInit::Linear`].
    pub init: KMeansInit,
}

impl Default for KMeansConfig {
    fn default() -> KMeansConfig {
        KMeansConfig {
            bits: 6,
            max_iters: 50,
            init: KMeansInit::Linear,
        }
    }
}

/// Reconstruction error of a compressed tensor against its original.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ErrorReport {
    /// Mean squared error.
    pub mse: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Largest absolute error.
    pub max_abs: f64,
    /// Signal-to-noise ratio in dB (`10 log10(mean(x^2) / mse)`; infinite when exact).
    pub snr_db: f64,
    /// Original size in bytes (f32) divided by the compressed size in bytes.
    pub compression_ratio: f64,
}

impl ErrorReport {
    /// Compares `decoded` to `original` (equal lengths), with the compressed size in bytes.
    pub fn compare(original: &[f32], decoded: &[f32], compressed_bytes: usize) -> ErrorReport {
        let n = original.len().max(1) as f64;
        let (mut se, mut sig, mut max_abs) = (0.0f64, 0.0f64, 0.0f64);
        for (&a, &b) in original.iter().zip(decoded) {
            let d = f64::from(a) - f64::from(b);
            se += d * d;
            sig += f64::from(a) * f64::from(a);
            max_abs = max_abs.max(d.abs());
        }
        let mse = se / n;
        ErrorReport {
            mse,
            rmse: mse.sqrt(),
            max_abs,
            snr_db: 10.0 * ((sig / n) / mse).log10(),
            compression_ratio: (original.len() * 4) as f64 / compressed_bytes.max(1) as f64,
        }
    }
}

/// Weights compressed to a codebook and packed indices.
#[derive(Clone, Debug, PartialEq)]
pub struct CompressedWeights {
    bits: u32,
    len: usize,
    codebook: Vec<f32>,
    packed: Vec<u8>,
}

const MAGIC: &[u8; 4] = b"EKCB";
const VERSION: u8 = 1;

fn packed_len(len: usize, bits: u32) -> Option<usize> {
    len.checked_mul(bits as usize).map(|b| b.div_ceil(8))
}

/// Writes `bits`-wide `indices` LSB-first into a byte stream (`bits` is clamped to `[1, 8]`;
/// index bits above `bits` are dropped).
pub fn pack_indices(indices: &[u8], bits: u32) -> Vec<u8> {
    let bits = bits.clamp(1, 8);
    let mask = (1u16 << bits) - 1;
    let mut out = vec![0u8; packed_len(indices.len(), bits).unwrap_or(0)];
    let mut pos = 0usize;
    for &ix in indices {
        let v = (u16::from(ix) & mask) << (pos % 8);
        out[pos / 8] |= v as u8;
        if (pos % 8) as u32 + bits > 8 {
            out[pos / 8 + 1] |= (v >> 8) as u8;
        }
        pos += bits as usize;
    }
    out
}

/// Reads index `i` of a `bits`-wide LSB-first packed stream.
#[inline]
fn unpack_one(packed: &[u8], bits: u32, i: usize) -> usize {
    let pos = i * bits as usize;
    let lo = u16::from(packed[pos / 8]);
    let hi = if (pos % 8) as u32 + bits > 8 {
        u16::from(packed[pos / 8 + 1])
    } else {
        0
    };
    ((((hi << 8) | lo) >> (pos % 8)) & ((1u16 << bits) - 1)) as usize
}

struct XorShift(u64);
impl XorShift {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn nearest(sorted: &[f32], mids: &[f32], x: f32) -> usize {
    debug_assert_eq!(mids.len() + 1, sorted.len());
    mids.partition_point(|&m| m < x)
}

fn init_centroids(w: &[f32], k: usize, init: KMeansInit, lo: f32, hi: f32) -> Vec<f32> {
    match init {
        KMeansInit::Linear => (0..k)
            .map(|j| {
                let t = j as f64 / (k - 1) as f64;
                (f64::from(lo) + t * (f64::from(hi) - f64::from(lo))) as f32
            })
            .collect(),
        KMeansInit::PlusPlus { seed } => {
            let stride = w.len().div_ceil(65_536).max(1);
            let sample: Vec<f32> = w.iter().step_by(stride).copied().collect();
            let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let first = ((rng.next_f64() * sample.len() as f64) as usize).min(sample.len() - 1);
            let mut c = vec![sample[first]];
            let mut d2: Vec<f64> = sample
                .iter()
                .map(|&x| (f64::from(x) - f64::from(c[0])).powi(2))
                .collect();
            while c.len() < k {
                let total: f64 = d2.iter().sum();
                let next = if total <= 0.0 {
                    // Fewer distinct values than clusters: repeat the last one.
                    *c.last().unwrap_or(&lo)
                } else {
                    let mut t = rng.next_f64() * total;
                    let mut pick = sample.len() - 1;
                    for (i, &d) in d2.iter().enumerate() {
                        if t < d {
                            pick = i;
                            break;
                        }
                        t -= d;
                    }
                    sample[pick]
                };
                for (d, &x) in d2.iter_mut().zip(&sample) {
                    *d = d.min((f64::from(x) - f64::from(next)).powi(2));
                }
                c.push(next);
            }
            c.sort_by(f32::total_cmp);
            c
        }
    }
}

impl CompressedWeights {
    /// Clusters `weights` into `2^cfg.bits` values and packs the indices.
    ///
    /// ```
    /// use quant_params::codebook::{CompressedWeights, KMeansConfig};
    /// let w: Vec<f32> = (0..1000).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect();
    /// let c = CompressedWeights::compress(&w, &KMeansConfig::default())?;
    /// let back = c.decode();
    /// assert!(back.iter().all(|v| c.codebook().contains(v)));
    /// let report = c.error_report(&w)?;
    /// assert!(report.snr_db > 30.0 && report.compression_ratio > 3.5);
    /// let again = CompressedWeights::from_bytes(&c.to_bytes())?;
    /// assert_eq!(again, c);
    /// # Ok::<(), quant_params::QuantError>(())
    /// ```
    pub fn compress(weights: &[f32], cfg: &KMeansConfig) -> Result<CompressedWeights, QuantError> {
        if !(2..=8).contains(&cfg.bits) {
            return Err(QuantError::Invalid(format!(
                "codebook bits is {}, but it must be in [2, 8]",
                cfg.bits
            )));
        }
        let k = 1usize << cfg.bits;
        let (lo, hi) = crate::choose::finite_min_max(weights)?.unwrap_or((0.0, 0.0));
        let mut c = if weights.is_empty() {
            vec![0.0; k]
        } else {
            init_centroids(weights, k, cfg.init, lo, hi)
        };
        let mut assign = vec![0u8; weights.len()];
        let mut mids = vec![0f32; k - 1];
        for iter in 0..=cfg.max_iters {
            for j in 0..k - 1 {
                mids[j] = ((f64::from(c[j]) + f64::from(c[j + 1])) / 2.0) as f32;
            }
            let mut changed = false;
            for (a, &x) in assign.iter_mut().zip(weights) {
                let j = nearest(&c, &mids, x) as u8;
                changed |= *a != j;
                *a = j;
            }
            if (!changed && iter > 0) || iter == cfg.max_iters {
                break;
            }
            let mut sum = vec![0f64; k];
            let mut cnt = vec![0usize; k];
            for (&a, &x) in assign.iter().zip(weights) {
                sum[a as usize] += f64::from(x);
                cnt[a as usize] += 1;
            }
            for j in 0..k {
                if cnt[j] > 0 {
                    c[j] = (sum[j] / cnt[j] as f64) as f32;
                }
            }
            // Empty clusters keep their value; keep the codebook sorted for the assignment.
            let mut order: Vec<usize> = (0..k).collect();
            order.sort_by(|&a, &b| c[a].total_cmp(&c[b]));
            if order.iter().enumerate().any(|(i, &o)| i != o) {
                let mut remap = vec![0u8; k];
                for (new, &old) in order.iter().enumerate() {
                    remap[old] = new as u8;
                }
                c = order.iter().map(|&o| c[o]).collect();
                for a in assign.iter_mut() {
                    *a = remap[*a as usize];
                }
            }
        }
        Ok(CompressedWeights {
            bits: cfg.bits,
            len: weights.len(),
            packed: pack_indices(&assign, cfg.bits),
            codebook: c,
        })
    }

    /// Index width in bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Number of weights.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no weights.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `2^bits` shared values, ascending.
    pub fn codebook(&self) -> &[f32] {
        &self.codebook
    }

    /// The packed index stream (`bits` per weight, LSB first, last byte zero-padded).
    pub fn packed(&self) -> &[u8] {
        &self.packed
    }

    /// The codebook index of weight `i` (`None` past the end).
    pub fn index(&self, i: usize) -> Option<usize> {
        (i < self.len).then(|| unpack_one(&self.packed, self.bits, i))
    }

    /// Decodes into `out` (length [`CompressedWeights::len`]).
    pub fn decode_into(&self, out: &mut [f32]) -> Result<(), QuantError> {
        check_len("decode output vs compressed weights", self.len, out.len())?;
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.codebook[unpack_one(&self.packed, self.bits, i)];
        }
        Ok(())
    }

    /// The decoded weights: every value is exactly a codebook entry.
    pub fn decode(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.len];
        // Cannot fail: the length is right.
        let _ = self.decode_into(&mut out);
        out
    }

    /// Size of [`CompressedWeights::to_bytes`].
    pub fn byte_size(&self) -> usize {
        16 + 4 * self.codebook.len() + self.packed.len()
    }

    /// Reconstruction error against the original weights.
    pub fn error_report(&self, original: &[f32]) -> Result<ErrorReport, QuantError> {
        check_len(
            "original weights vs compressed weights",
            self.len,
            original.len(),
        )?;
        Ok(ErrorReport::compare(
            original,
            &self.decode(),
            self.byte_size(),
        ))
    }

    /// Serialized form, little-endian: `b"EKCB"`, version `1u8`, `bits: u8`, two zero bytes,
    /// `len: u64`, the `2^bits` codebook values as `f32`, then the packed indices
    /// (`ceil(len * bits / 8)` bytes, index `i` at bit `i * bits`, LSB first).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.byte_size());
        v.extend_from_slice(MAGIC);
        v.push(VERSION);
        v.push(self.bits as u8);
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&(self.len as u64).to_le_bytes());
        for c in &self.codebook {
            v.extend_from_slice(&c.to_le_bytes());
        }
        v.extend_from_slice(&self.packed);
        v
    }

    /// Parses [`CompressedWeights::to_bytes`], validating every field (magic, version, bits in
    /// `[2, 8]`, zero reserved bytes, and a byte size that is exactly the header's: the element
    /// count is checked against the data before anything is allocated, so a header claiming
    /// 2^64 − 1 weights is an error, not an allocation).
    pub fn from_bytes(b: &[u8]) -> Result<CompressedWeights, QuantError> {
        let bad = |m: String| QuantError::Invalid(format!("compressed weights: {m}"));
        if b.len() < 16 || &b[..4] != MAGIC {
            return Err(bad("missing the EKCB header".to_string()));
        }
        if b[4] != VERSION {
            return Err(bad(format!("version {} (expected {VERSION})", b[4])));
        }
        let bits = u32::from(b[5]);
        if !(2..=8).contains(&bits) {
            return Err(bad(format!("bits {bits} outside [2, 8]")));
        }
        if b[6..8] != [0, 0] {
            return Err(bad(format!(
                "reserved header bytes are {:?}, not zero",
                &b[6..8]
            )));
        }
        let len = u64::from_le_bytes(b[8..16].try_into().map_err(|_| bad("header".into()))?);
        let len = usize::try_from(len).map_err(|_| bad(format!("length {len} too large")))?;
        let k = 1usize << bits;
        // Every size from the header is checked: `len · bits` and the total may not fit usize.
        let want = packed_len(len, bits)
            .and_then(|plen| plen.checked_add(16 + 4 * k))
            .ok_or_else(|| {
                bad(format!(
                    "length {len} at {bits} bits per index overflows usize"
                ))
            })?;
        check_len("compressed weights byte size", want, b.len())?;
        let codebook: Vec<f32> = b[16..16 + 4 * k]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(CompressedWeights {
            bits,
            len,
            codebook,
            packed: b[16 + 4 * k..].to_vec(),
        })
    }
}
