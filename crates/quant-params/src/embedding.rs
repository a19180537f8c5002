//! 8-bit row-wise quantization of embedding tables in Caffe2's fused format
//! (`FloatToFused8BitRowwiseQuantized` / `Fused8BitRowwiseQuantizedToFloat`, also FBGEMM's):
//! each row stores its `cols` bytes followed by its `scale` and `bias` as little-endian `f32`.
//!
//! Per row: `bias = min(row)`, `scale = (max(row) - min(row)) / 255`,
//! `q = round_half_even((x - bias) * (255 / (max - min + 1e-8)))` (Caffe2 multiplies by the
//! inverse with `kEpsilon = 1e-8` and rounds with `lrintf`), and dequantization is
//! `q * scale + bias` in f32 (multiply, then add).

use crate::codebook::ErrorReport;
use crate::error::check_len;
use crate::QuantError;

const EPSILON: f32 = 1e-8;

/// An embedding table quantized row-wise to 8 bits (Caffe2 fused layout).
#[derive(Clone, Debug, PartialEq)]
pub struct FusedRowwise8 {
    rows: usize,
    cols: usize,
    data: Vec<u8>,
}

impl FusedRowwise8 {
    /// Quantizes a row-major `rows x cols` f32 table (finite values only; `cols >= 1` unless the
    /// table has no rows: the fused size is then bounded by the input's).
    ///
    /// ```
    /// use quant_params::embedding::FusedRowwise8;
    /// let table = [0.0f32, 1.0, 2.0, 3.0, /* row 1 */ -1.0, -1.0, -1.0, -1.0];
    /// let q = FusedRowwise8::quantize(&table, 2, 4)?;
    /// assert_eq!(q.row_bytes(0), Some(&[0u8, 85, 170, 255][..]));
    /// let mut out = [0f32; 8];
    /// q.lookup(&[1, 0], &mut out)?;
    /// assert_eq!(&out[..4], &[-1.0; 4]);
    /// assert!((out[5] - 1.0).abs() < 1e-6);
    /// # Ok::<(), quant_params::QuantError>(())
    /// ```
    pub fn quantize(table: &[f32], rows: usize, cols: usize) -> Result<FusedRowwise8, QuantError> {
        let n = rows
            .checked_mul(cols)
            .ok_or_else(|| QuantError::Invalid(format!("table {rows} x {cols} overflows")))?;
        check_len(
            &format!("embedding table of {rows} x {cols}"),
            n,
            table.len(),
        )?;
        if cols == 0 && rows > 0 {
            // Nothing to quantize, and the fused table (8 bytes of scale and bias per row) would
            // not be bounded by the input: `rows` alone could ask for any amount of memory.
            return Err(QuantError::Invalid(format!(
                "embedding dimension is 0: {rows} rows hold no values to quantize"
            )));
        }
        let stride = cols.checked_add(8).ok_or_else(|| {
            QuantError::Invalid(format!("embedding dimension {cols} plus 8 overflows usize"))
        })?;
        let bytes = rows.checked_mul(stride).ok_or_else(|| {
            QuantError::Invalid(format!(
                "fused table of {rows} rows x ({cols} + 8) bytes overflows usize"
            ))
        })?;
        // `bytes` <= 9 · table.len() here (cols >= 1), but allocate fallibly all the same.
        let mut data = Vec::new();
        data.try_reserve_exact(bytes).map_err(|_| {
            QuantError::Invalid(format!(
                "fused table of {rows} rows x ({cols} + 8) bytes ({bytes} bytes) cannot be allocated"
            ))
        })?;
        data.resize(bytes, 0u8);
        for r in 0..rows {
            let row = &table[r * cols..(r + 1) * cols];
            let (min, max) = crate::choose::finite_min_max(row)
                .map_err(|e| QuantError::Invalid(format!("row {r}: {e}")))?
                .unwrap_or((0.0, 0.0));
            let range = max - min;
            if !range.is_finite() {
                return Err(QuantError::Invalid(format!(
                    "row {r}: range [{min}, {max}] overflows f32 (max - min is {range})"
                )));
            }
            let scale = range / 255.0;
            let inv = 255.0 / (range + EPSILON);
            let out = &mut data[r * stride..(r + 1) * stride];
            for (o, &x) in out[..cols].iter_mut().zip(row) {
                *o = ((x - min) * inv).round_ties_even().clamp(0.0, 255.0) as u8;
            }
            out[cols..cols + 4].copy_from_slice(&scale.to_le_bytes());
            out[cols + 4..].copy_from_slice(&min.to_le_bytes());
        }
        Ok(FusedRowwise8 { rows, cols, data })
    }

    /// Wraps fused data (`rows * (cols + 8)` bytes) produced by Caffe2/FBGEMM or [`Self::as_bytes`].
    pub fn from_bytes(
        data: Vec<u8>,
        rows: usize,
        cols: usize,
    ) -> Result<FusedRowwise8, QuantError> {
        let want = cols
            .checked_add(8)
            .and_then(|s| s.checked_mul(rows))
            .ok_or_else(|| QuantError::Invalid(format!("table {rows} x {cols} overflows")))?;
        check_len(
            &format!("fused 8-bit row-wise data of {rows} x {cols}"),
            want,
            data.len(),
        )?;
        Ok(FusedRowwise8 { rows, cols, data })
    }

    /// The fused bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (embedding dimension).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The quantized bytes of row `r` (`None` if `r >= rows`).
    pub fn row_bytes(&self, r: usize) -> Option<&[u8]> {
        let s = self.cols + 8;
        (r < self.rows).then(|| &self.data[r * s..r * s + self.cols])
    }

    /// `(scale, bias)` of row `r` (`None` if `r >= rows`).
    pub fn scale_bias(&self, r: usize) -> Option<(f32, f32)> {
        let s = self.cols + 8;
        (r < self.rows).then(|| {
            let b = &self.data[r * s + self.cols..(r + 1) * s];
            (
                f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                f32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            )
        })
    }

    /// Dequantizes row `r` into `out` (`cols` values).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) -> Result<(), QuantError> {
        if r >= self.rows {
            return Err(QuantError::Invalid(format!(
                "row index {r} out of range for a table of {} rows",
                self.rows
            )));
        }
        check_len("row output vs embedding dimension", self.cols, out.len())?;
        let (Some((scale, bias)), Some(row)) = (self.scale_bias(r), self.row_bytes(r)) else {
            return Err(QuantError::Invalid(format!("row index {r} out of range")));
        };
        for (o, &q) in out.iter_mut().zip(row) {
            *o = f32::from(q) * scale + bias;
        }
        Ok(())
    }

    /// Gathers and dequantizes rows `indices` into `out` (`indices.len() * cols` values).
    pub fn lookup(&self, indices: &[usize], out: &mut [f32]) -> Result<(), QuantError> {
        let want = indices.len().checked_mul(self.cols).ok_or_else(|| {
            QuantError::Invalid(format!(
                "lookup of {} rows x embedding dimension {} overflows usize",
                indices.len(),
                self.cols
            ))
        })?;
        check_len(
            "lookup output vs indices x embedding dimension",
            want,
            out.len(),
        )?;
        if self.cols == 0 {
            return indices
                .iter()
                .try_for_each(|&r| self.dequantize_row(r, &mut []));
        }
        for (&r, o) in indices.iter().zip(out.chunks_exact_mut(self.cols)) {
            self.dequantize_row(r, o)?;
        }
        Ok(())
    }

    /// Reconstruction error of the whole table against the original.
    pub fn error_report(&self, original: &[f32]) -> Result<ErrorReport, QuantError> {
        let mut back = vec![0f32; self.rows * self.cols];
        let all: Vec<usize> = (0..self.rows).collect();
        self.lookup(&all, &mut back)?;
        check_len(
            "original table vs quantized table",
            back.len(),
            original.len(),
        )?;
        Ok(ErrorReport::compare(original, &back, self.data.len()))
    }
}
