//! Portable kernels.

/// See [`super::DwI8Fn`].
///
/// # Safety
/// The contract of [`super::DwI8Fn`].
#[allow(clippy::too_many_arguments)]
pub unsafe fn dw_i8(
    taps: usize,
    rows: *const *const u8,
    xor: u8,
    za: i32,
    w: *const i32,
    bias: *const i32,
    ch: usize,
    out: *mut i32,
) {
    // SAFETY: the caller's contract gives these lengths.
    let (rows, w, bias, out) = unsafe {
        (
            core::slice::from_raw_parts(rows, taps),
            core::slice::from_raw_parts(w, taps * ch),
            core::slice::from_raw_parts(bias, ch),
            core::slice::from_raw_parts_mut(out, ch),
        )
    };
    out.copy_from_slice(bias);
    for (t, &r) in rows.iter().enumerate() {
        // SAFETY: each row has ch readable bytes.
        let x = unsafe { core::slice::from_raw_parts(r, ch) };
        for ((o, &xv), &wv) in out.iter_mut().zip(x).zip(&w[t * ch..(t + 1) * ch]) {
            *o += (i32::from(xv ^ xor) - za) * wv;
        }
    }
}

/// See [`super::DwF32Fn`].
///
/// # Safety
/// The contract of [`super::DwF32Fn`].
pub unsafe fn dw_f32(
    taps: usize,
    rows: *const *const f32,
    w: *const f32,
    bias: *const f32,
    ch: usize,
    out: *mut f32,
) {
    // SAFETY: the caller's contract gives these lengths.
    let (rows, w, bias, out) = unsafe {
        (
            core::slice::from_raw_parts(rows, taps),
            core::slice::from_raw_parts(w, taps * ch),
            core::slice::from_raw_parts(bias, ch),
            core::slice::from_raw_parts_mut(out, ch),
        )
    };
    out.copy_from_slice(bias);
    for (t, &r) in rows.iter().enumerate() {
        // SAFETY: each row has ch readable floats.
        let x = unsafe { core::slice::from_raw_parts(r, ch) };
        for ((o, &xv), &wv) in out.iter_mut().zip(x).zip(&w[t * ch..(t + 1) * ch]) {
            *o = xv.mul_add(wv, *o);
        }
    }
}
