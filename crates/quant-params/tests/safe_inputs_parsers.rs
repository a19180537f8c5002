//! Regression tests for the parsers and observers (issue 17, "Safe inputs"): sizes read from
//! bytes or given by a caller are checked before anything is allocated or indexed, and NaN,
//! infinities and f32-overflowing ranges never reach a range or a scale. Each test is one bug the
//! `quant_params` fuzz target found (or would have found); they pass in debug and release.

use quant_params::choose::{ChannelLayout, Symmetry};
use quant_params::codebook::{CompressedWeights, KMeansConfig};
use quant_params::embedding::FusedRowwise8;
use quant_params::observer::{
    HistogramMethod, HistogramObserver, MinMaxObserver, MovingAverageMinMaxObserver, Observer,
    PerChannelObserver, MAX_MSE_STEPS,
};
use quant_params::QType;

/// `FusedRowwise8::quantize` sized its fused buffer `rows * (cols + 8)` unchecked: an empty table
/// (`cols == 0`) with `rows = usize::MAX` wrapped to a short buffer and indexing panicked ("range
/// end index 8 out of range for slice of length 0"); with `rows = 2^31` it allocated and zeroed
/// 16 GiB for a table with no values (the fuzzer's out-of-memory). A zero embedding dimension is
/// now refused when there are rows, and `cols + 8` is checked.
#[test]
fn fused_quantize_sizes_are_checked() {
    let e = FusedRowwise8::quantize(&[], usize::MAX, 0).unwrap_err();
    assert!(e.to_string().contains("embedding dimension is 0"), "{e}");
    let e = FusedRowwise8::quantize(&[], 1 << 31, 0).unwrap_err();
    assert!(
        e.to_string().contains("2147483648 rows hold no values"),
        "{e}"
    );
    let e = FusedRowwise8::quantize(&[], 0, usize::MAX).unwrap_err();
    assert!(e.to_string().contains("plus 8 overflows"), "{e}");
    assert_eq!(
        FusedRowwise8::quantize(&[], 0, 0).unwrap().as_bytes(),
        &[] as &[u8]
    );
}

/// `lookup` compared the output length with `indices.len() * cols` unchecked: a table of 0 rows
/// and `cols = 2^63` took two (out-of-range) indices and an empty output as a match (2 · 2^63
/// wraps to 0) and returned Ok without looking anything up.
#[test]
fn fused_lookup_length_overflow_is_an_error() {
    // 2^63 on 64-bit targets, 2^31 on 32-bit ones: twice it wraps to 0.
    let q = FusedRowwise8::from_bytes(Vec::new(), 0, 1 << (usize::BITS - 1)).unwrap();
    let e = q.lookup(&[0, 0], &mut []).unwrap_err();
    assert!(e.to_string().contains("overflows usize"), "{e}");
}

fn header(bits: u8, reserved: [u8; 2], len: u64) -> Vec<u8> {
    let mut b = b"EKCB".to_vec();
    b.push(1);
    b.push(bits);
    b.extend_from_slice(&reserved);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

/// The reserved header bytes were ignored, so two different files parsed to the same weights and
/// `to_bytes(from_bytes(b)) != b`.
#[test]
fn compressed_reserved_bytes_must_be_zero() {
    let c = CompressedWeights::compress(&[1.0, 2.0, 3.0], &KMeansConfig::default()).unwrap();
    let mut b = c.to_bytes();
    assert_eq!(CompressedWeights::from_bytes(&b).unwrap().to_bytes(), b);
    b[6] = 1;
    let e = CompressedWeights::from_bytes(&b).unwrap_err();
    assert!(e.to_string().contains("reserved header bytes"), "{e}");
}

/// Header lengths are checked against the data before anything is allocated: 2^64 − 1 weights,
/// and a count whose bit size overflows usize, are errors naming the length.
#[test]
fn compressed_huge_lengths_are_errors() {
    let mut b = header(8, [0, 0], u64::MAX);
    b.extend(std::iter::repeat_n(0u8, 4 * 256));
    let e = CompressedWeights::from_bytes(&b).unwrap_err();
    assert!(e.to_string().contains("18446744073709551615"), "{e}");
    // 2^61 weights of 8 bits: 2^64 bits.
    let mut b = header(8, [0, 0], 1 << 61);
    b.extend(std::iter::repeat_n(0u8, 4 * 256 + 3));
    let e = CompressedWeights::from_bytes(&b).unwrap_err();
    // On a 32-bit target the count 2^61 itself is beyond usize: refused as too large.
    let want = if cfg!(target_pointer_width = "64") {
        "overflows usize"
    } else {
        "length 2305843009213693952 too large"
    };
    assert!(e.to_string().contains(want), "{e}");
}

/// The moving average computed `p + c * (a - p)` in f32: `a - p` of -3e38 and 3e38 overflowed to
/// +inf and the upper bound became infinite (then `params` refused the range).
#[test]
fn moving_average_of_far_apart_batches_stays_finite() {
    let mut o = MovingAverageMinMaxObserver::new(1.0).unwrap();
    o.observe(&[-3e38]);
    o.observe(&[3e38]);
    assert_eq!(o.range(QType::U8, Symmetry::Asymmetric), Some((3e38, 3e38)));
    let mut h = MovingAverageMinMaxObserver::new(0.5).unwrap();
    h.observe(&[-3e38, -3e38]);
    h.observe(&[3e38]);
    let (lo, hi) = h.range(QType::U8, Symmetry::Asymmetric).unwrap();
    assert!(lo.is_finite() && hi.is_finite() && lo <= hi, "[{lo}, {hi}]");
    assert_eq!((lo, hi), (0.0, 0.0));
}

/// A histogram over [-3e38, 3e38] had an infinite bin width (`hi - lo` overflows f32): every
/// value fell into bin 0 and bin edges were NaN.
#[test]
fn histogram_over_the_whole_f32_range_keeps_its_bins() {
    let mut h = HistogramObserver::new(16, HistogramMethod::Percentile(100.0)).unwrap();
    h.observe(&[-3e38, 3e38]);
    let (lo, w, counts) = h.histogram();
    assert_eq!(lo, -3e38);
    assert!(w.is_finite() && w > 0.0, "width {w}");
    assert_eq!((counts[0], counts[15]), (1.0, 1.0), "{counts:?}");
    let (a, b) = h.range(QType::I8, Symmetry::Asymmetric).unwrap();
    assert_eq!((a, b), (-3e38, 3e38));
}

/// One value at f32::MAX: the degenerate range was widened upwards to +inf.
#[test]
fn histogram_of_f32_max_stays_finite() {
    let mut h = HistogramObserver::new(8, HistogramMethod::Percentile(99.0)).unwrap();
    h.observe(&[f32::MAX, f32::NAN, f32::INFINITY]);
    let (lo, w, counts) = h.histogram();
    assert!(
        lo.is_finite() && w.is_finite(),
        "lower edge {lo}, width {w}"
    );
    assert_eq!(counts.iter().sum::<f64>(), 1.0);
    assert_eq!(
        h.range(QType::U8, Symmetry::Asymmetric),
        Some((f32::MAX, f32::MAX))
    );
}

/// Observers fed only NaN and infinities have seen nothing: parameters of the degenerate range,
/// never a NaN scale.
#[test]
fn observers_of_nan_and_inf_give_usable_parameters() {
    let x = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -f32::NAN];
    let mut mm = MinMaxObserver::new();
    mm.observe(&x);
    let mut h = HistogramObserver::new(64, HistogramMethod::Mse { steps: 16 }).unwrap();
    h.observe(&x);
    for p in [
        mm.params(QType::U8, Symmetry::Asymmetric).unwrap(),
        h.params(QType::I8, Symmetry::Symmetric).unwrap(),
    ] {
        assert_eq!(p.dequantize(p.quantize(0.0) + 1), 1.0, "{p:?}");
    }
}

/// `Mse { steps: usize::MAX }` was accepted and `range` then looped (practically) forever.
#[test]
fn mse_steps_are_bounded() {
    let e = HistogramObserver::new(64, HistogramMethod::Mse { steps: usize::MAX }).unwrap_err();
    assert!(e.to_string().contains(&usize::MAX.to_string()), "{e}");
    assert!(HistogramObserver::new(
        64,
        HistogramMethod::Mse {
            steps: MAX_MSE_STEPS
        }
    )
    .is_ok());
}

/// `PerChannelObserver::new` allocated `channels` observers up front: `usize::MAX` channels (a
/// count read from a model) panicked with a capacity overflow, and a million channels of
/// 2^20-bin histograms (8 TiB) aborted the process. The observers are now allocated on the first
/// data, fallibly and within a documented limit.
#[test]
fn per_channel_observer_sizes_are_checked() {
    let o = PerChannelObserver::new(MinMaxObserver::new(), usize::MAX);
    assert!(o.channel(usize::MAX - 1).is_some());
    let e = o.params(QType::U8, Symmetry::Asymmetric).unwrap_err();
    assert!(e.to_string().contains("per-channel observer limit"), "{e}");

    let channels = 1 << 20;
    let proto = HistogramObserver::new(1 << 20, HistogramMethod::Full).unwrap();
    let mut h = PerChannelObserver::new(proto, channels);
    let layout = ChannelLayout {
        outer: 1,
        channels,
        inner: 1,
    };
    let x = vec![1.0f32; channels];
    let e = h.observe(&x, layout).unwrap_err();
    assert!(e.to_string().contains("per-channel observer limit"), "{e}");
}

/// Found by the `quant_params` fuzz target: `choose_per_channel` on an empty tensor whose layout
/// has `inner == 0` and ~2^59 channels allocated one range per channel unchecked and aborted
/// ("memory allocation of 6917529027641081856 bytes failed"); with a huge `outer` instead,
/// `for_each_run` and `quantize_per_channel` looped `outer · channels` times over nothing.
#[test]
fn empty_layouts_with_huge_counts_neither_abort_nor_spin() {
    let huge = ChannelLayout {
        outer: 1,
        // 2^59 on 64-bit targets (2^27 on 32-bit ones): far above the per-channel limit.
        channels: 1 << (usize::BITS - 5),
        inner: 0,
    };
    let e = quant_params::choose::choose_per_channel(&[], huge, QType::U8, Symmetry::Asymmetric)
        .unwrap_err();
    assert!(
        e.to_string().contains("exceed the per-channel limit"),
        "{e}"
    );
    let spin = ChannelLayout {
        outer: usize::MAX,
        channels: 1,
        inner: 0,
    };
    let mut runs = 0;
    spin.for_each_run(&[], |_, _| runs += 1).unwrap();
    assert_eq!(runs, 0);
    let p = quant_params::choose::choose_per_channel(&[], spin, QType::U8, Symmetry::Asymmetric)
        .unwrap();
    quant_params::choose::quantize_per_channel(&[], spin, &p, &mut []).unwrap();
}
