//! fp32 Winograd: transform matrices against their definitions, accuracy gates against the f64
//! direct reference for every available variant and tile, and the error cases.

#![allow(clippy::needless_range_loop, clippy::type_complexity)]

use cpu_probe::parallel::Parallel;
use proptest::prelude::*;
use winograd::reference::conv3x3_f64;
use winograd::transforms::{self, Fused, Plain, Tf, F2, F4, F6, L};
use winograd::ukernel::TGEMM;
use winograd::{Activation, Tile, WinogradConfig, WinogradConv, WinogradError};

/// xorshift64*: deterministic test data without extra dependencies.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [-1, 1).
    fn f(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f()).collect()
    }
}

fn tables(tile: Tile) -> (Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<f64>) {
    let rows = |m: &[&[f64]]| m.iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    match tile {
        Tile::F2x2 => (
            rows(&transforms::BT2.iter().map(|r| &r[..]).collect::<Vec<_>>()),
            rows(&transforms::G2.iter().map(|r| &r[..]).collect::<Vec<_>>()),
            rows(&transforms::AT2.iter().map(|r| &r[..]).collect::<Vec<_>>()),
            vec![0.0, 1.0, -1.0],
        ),
        Tile::F4x4 => (
            rows(&transforms::BT4.iter().map(|r| &r[..]).collect::<Vec<_>>()),
            rows(&transforms::G4.iter().map(|r| &r[..]).collect::<Vec<_>>()),
            rows(&transforms::AT4.iter().map(|r| &r[..]).collect::<Vec<_>>()),
            vec![0.0, 1.0, -1.0, 2.0, -2.0],
        ),
        _ => (
            rows(&transforms::BT6.iter().map(|r| &r[..]).collect::<Vec<_>>()),
            rows(&transforms::G6.iter().map(|r| &r[..]).collect::<Vec<_>>()),
            rows(&transforms::AT6.iter().map(|r| &r[..]).collect::<Vec<_>>()),
            vec![0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5],
        ),
    }
}

fn poly_mul(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut c = vec![0.0; a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            c[i + j] += x * y;
        }
    }
    c
}

/// The 1-D identity `Aᵀ[(G g) ⊙ (Bᵀ d)] = correlation(d, g)` on random vectors, in f64.
#[test]
fn one_d_identity_holds_in_f64() {
    let mut rng = Rng(7);
    for tile in Tile::ALL {
        let (bt, g, at, _) = tables(tile);
        let (a, m) = (tile.alpha(), tile.m());
        for _ in 0..100 {
            let d: Vec<f64> = (0..a).map(|_| rng.f() as f64).collect();
            let k: Vec<f64> = (0..3).map(|_| rng.f() as f64).collect();
            let u: Vec<f64> = (0..a)
                .map(|i| (0..3).map(|j| g[i][j] * k[j]).sum())
                .collect();
            let v: Vec<f64> = (0..a)
                .map(|i| (0..a).map(|j| bt[i][j] * d[j]).sum())
                .collect();
            for o in 0..m {
                let y: f64 = (0..a).map(|i| at[o][i] * u[i] * v[i]).sum();
                let direct: f64 = (0..3).map(|j| k[j] * d[o + j]).sum();
                assert!(
                    (y - direct).abs() < 1e-12,
                    "{tile:?} output {o}: {y} vs {direct}"
                );
            }
        }
    }
}

/// The tables equal the modified Toom-Cook construction from the tile's points (rows of `G`
/// and `Bᵀ` may be negated together).
#[test]
fn tables_match_toom_cook_definition() {
    for tile in Tile::ALL {
        let (bt, g, at, pts) = tables(tile);
        let (a, m) = (tile.alpha(), tile.m());
        for (k, &p) in pts.iter().enumerate() {
            let mut norm = 1.0;
            let mut poly = vec![1.0];
            for (l, &q) in pts.iter().enumerate() {
                if l != k {
                    norm *= p - q;
                    poly = poly_mul(&poly, &[-q, 1.0]);
                }
            }
            poly.resize(a, 0.0);
            let g_def: Vec<f64> = (0..3).map(|j| p.powi(j) / norm).collect();
            let sign = if (bt[k][0] - poly[0]).abs() < 1e-12
                && (bt[k][k.max(1)] - poly[k.max(1)]).abs() < 1e-12
            {
                1.0
            } else {
                -1.0
            };
            for j in 0..a {
                assert!(
                    (bt[k][j] - sign * poly[j]).abs() < 1e-12,
                    "{tile:?} Bt[{k}][{j}]"
                );
            }
            for j in 0..3 {
                assert!(
                    (g[k][j] - sign * g_def[j]).abs() < 1e-12,
                    "{tile:?} G[{k}][{j}]"
                );
            }
            for i in 0..m {
                assert_eq!(at[i][k], p.powi(i as i32), "{tile:?} At[{i}][{k}]");
            }
        }
        // The point at infinity.
        let inf = a - 1;
        let mut poly = vec![1.0];
        for &q in &pts {
            poly = poly_mul(&poly, &[-q, 1.0]);
        }
        for j in 0..a {
            assert!(
                (bt[inf][j] - poly[j]).abs() < 1e-12,
                "{tile:?} Bt[inf][{j}]"
            );
        }
        assert_eq!(g[inf], vec![0.0, 0.0, 1.0]);
        for i in 0..m {
            assert_eq!(at[i][inf], if i == m - 1 { 1.0 } else { 0.0 });
        }
    }
}

fn unit_lanes<const A: usize>() -> [L; A] {
    // Lane j of element i is 1 when i == j: applying a transform gives its matrix column by lane.
    core::array::from_fn(|i| {
        let mut l = L::ZERO;
        if i < transforms::LANES {
            l.0[i] = 1.0;
        }
        l
    })
}

fn check_factored<const A: usize, const M: usize, T: Tf<A, M>>(bt: &[Vec<f64>], at: &[Vec<f64>]) {
    let x = unit_lanes::<A>();
    let (yb, ya) = (T::bt::<L, Plain>(&x), T::at::<L, Plain>(&x));
    let (yb2, ya2) = (T::bt::<L, Fused>(&x), T::at::<L, Fused>(&x));
    for i in 0..A {
        for j in 0..A {
            assert_eq!(yb[i].0[j] as f64, bt[i][j], "Bt[{i}][{j}]");
            assert_eq!(yb2[i].0[j] as f64, bt[i][j], "Bt[{i}][{j}] fused");
        }
    }
    for i in 0..M {
        for j in 0..A {
            assert_eq!(ya[i].0[j] as f64, at[i][j], "At[{i}][{j}]");
            assert_eq!(ya2[i].0[j] as f64, at[i][j], "At[{i}][{j}] fused");
        }
    }
}

/// The factored run-time transforms compute exactly the tables.
#[test]
fn factored_transforms_equal_tables() {
    let (bt, _, at, _) = tables(Tile::F2x2);
    check_factored::<4, 2, F2>(&bt, &at);
    let (bt, _, at, _) = tables(Tile::F4x4);
    check_factored::<6, 4, F4>(&bt, &at);
    let (bt, _, at, _) = tables(Tile::F6x6);
    check_factored::<8, 6, F6>(&bt, &at);
}

fn tolerance(tile: Tile) -> f64 {
    match tile {
        Tile::F6x6 => 1e-4,
        Tile::F4x4 => 5e-5,
        _ => 2e-5,
    }
}

#[derive(Clone, Debug)]
struct Case {
    batch: usize,
    c: usize,
    k: usize,
    h: usize,
    w: usize,
    pad: [usize; 4],
    act: Activation,
    bias: bool,
    seed: u64,
}

/// Runs `case` for every available variant and tile; returns the worst err/RMS ratio.
fn check_case(case: &Case, par: &Parallel, chunk_tiles: Option<usize>) {
    let mut rng = Rng(case.seed | 1);
    let x = rng.vec(case.batch * case.c * case.h * case.w);
    let wt = rng.vec(case.k * case.c * 9);
    let b = rng.vec(case.k);
    let bias = case.bias.then_some(&b[..]);
    let (lo, hi) = match case.act {
        Activation::Relu => (0.0, f32::INFINITY),
        Activation::Clamp { min, max } => (min, max),
        _ => (f32::NEG_INFINITY, f32::INFINITY),
    };
    let (r, oh, ow) = conv3x3_f64(
        &x, case.batch, case.c, case.h, case.w, &wt, bias, case.k, case.pad, lo, hi,
    )
    .expect("reference");
    // RMS of the un-clamped reference, so that clamps to 0 do not shrink the scale.
    let (raw, _, _) = conv3x3_f64(
        &x,
        case.batch,
        case.c,
        case.h,
        case.w,
        &wt,
        bias,
        case.k,
        case.pad,
        f32::NEG_INFINITY,
        f32::INFINITY,
    )
    .expect("reference");
    let rms = (raw.iter().map(|v| v * v).sum::<f64>() / raw.len() as f64)
        .sqrt()
        .max(1e-30);
    for variant in TGEMM.available() {
        for tile in Tile::ALL {
            let mut cfg = WinogradConfig::new(case.c, case.k, &wt);
            cfg.bias = bias;
            cfg.padding = case.pad;
            cfg.tile = tile;
            cfg.activation = case.act;
            cfg.kernels = Some(variant);
            cfg.chunk_tiles = chunk_tiles;
            let plan = WinogradConv::new(cfg).unwrap();
            assert_eq!(plan.output_size(case.h, case.w).unwrap(), (oh, ow));
            let mut y = vec![f32::NAN; case.batch * case.k * oh * ow];
            plan.run(&x, case.batch, case.h, case.w, &mut y, par)
                .unwrap();
            let err = y
                .iter()
                .zip(&r)
                .map(|(a, b)| {
                    let e = (*a as f64 - b).abs();
                    if e.is_nan() {
                        f64::INFINITY
                    } else {
                        e
                    }
                })
                .fold(0.0, f64::max);
            assert!(
                err <= tolerance(tile) * rms,
                "{} {tile:?} {case:?}: max|err| = {err:e}, RMS = {rms:e}, ratio {:e}",
                variant.name,
                err / rms
            );
        }
    }
}

#[test]
fn fixed_cases() {
    let par = Parallel::single();
    let base = Case {
        batch: 1,
        c: 3,
        k: 5,
        h: 9,
        w: 11,
        pad: [1; 4],
        act: Activation::None,
        bias: true,
        seed: 1,
    };
    let cases = [
        (base.clone(), None),
        // Exactly one tile, no padding.
        (
            Case {
                h: 8,
                w: 8,
                pad: [0; 4],
                ..base.clone()
            },
            None,
        ),
        // 3x3 input, asymmetric padding, ReLU, batch 2, K = 13 (two full + one partial 6-row
        // block).
        (
            Case {
                batch: 2,
                h: 3,
                w: 4,
                k: 13,
                pad: [0, 2, 1, 0],
                act: Activation::Relu,
                ..base.clone()
            },
            None,
        ),
        // Clamp, no bias.
        (
            Case {
                act: Activation::Clamp {
                    min: -0.5,
                    max: 0.75,
                },
                bias: false,
                ..base.clone()
            },
            None,
        ),
        // Many chunks of 32 tiles, C blocking boundaries irrelevant here.
        (
            Case {
                batch: 2,
                h: 30,
                w: 29,
                c: 4,
                k: 7,
                ..base.clone()
            },
            Some(32),
        ),
    ];
    for (case, chunk) in &cases {
        check_case(case, &par, *chunk);
    }
}

/// C = 512: accumulation over many channels still meets the gates.
#[test]
fn wide_channels_c512() {
    let case = Case {
        batch: 1,
        c: 512,
        k: 8,
        h: 7,
        w: 9,
        pad: [1; 4],
        act: Activation::None,
        bias: true,
        seed: 99,
    };
    check_case(&case, &Parallel::single(), None);
}

/// Any thread count gives bit-identical results.
#[test]
fn threads_do_not_change_results() {
    let mut rng = Rng(5);
    let (c, k, h, w) = (5, 14, 23, 17);
    let x = rng.vec(2 * c * h * w);
    let wt = rng.vec(k * c * 9);
    for variant in TGEMM.available() {
        for tile in Tile::ALL {
            let mut cfg = WinogradConfig::new(c, k, &wt);
            cfg.padding = [1, 2, 0, 1];
            cfg.tile = tile;
            cfg.kernels = Some(variant);
            cfg.chunk_tiles = Some(32);
            let plan = WinogradConv::new(cfg).unwrap();
            let (oh, ow) = plan.output_size(h, w).unwrap();
            let mut y1 = vec![0.0; 2 * k * oh * ow];
            let mut y2 = vec![1.0; 2 * k * oh * ow];
            plan.run(&x, 2, h, w, &mut y1, &Parallel::single()).unwrap();
            plan.run(&x, 2, h, w, &mut y2, &Parallel::new(3)).unwrap();
            assert_eq!(y1, y2, "{} {tile:?}", variant.name);
            // The profiled run gives the same output too.
            let prof = plan
                .run_profiled(&x, 2, h, w, &mut y2, &Parallel::single())
                .unwrap();
            assert_eq!(y1, y2);
            assert!(prof.run_total() > std::time::Duration::ZERO);
        }
    }
}

/// Without an activation a NaN input gives NaN outputs (not a clamped infinity).
#[test]
fn nan_input_stays_nan_without_activation() {
    let wt = vec![0.5f32; 9];
    let mut x = vec![1.0f32; 8 * 8];
    x[27] = f32::NAN;
    for variant in TGEMM.available() {
        for tile in Tile::ALL {
            let mut cfg = WinogradConfig::new(1, 1, &wt);
            cfg.tile = tile;
            cfg.kernels = Some(variant);
            let plan = WinogradConv::new(cfg).unwrap();
            let mut y = vec![0.0f32; 6 * 6];
            plan.run(&x, 1, 8, 8, &mut y, &Parallel::single()).unwrap();
            // Output (2, 2) reads input (3, 3) = index 27 directly.
            assert!(
                y[2 * 6 + 2].is_nan(),
                "{} {tile:?}: {}",
                variant.name,
                y[2 * 6 + 2]
            );
            assert!(y.iter().all(|v| v.is_nan() || *v != f32::NEG_INFINITY));
        }
    }
}

/// The tests above iterate [`TGEMM`]'s available entries: on 32-bit ARM with NEON (the QEMU
/// cortex-a7 and cortex-a15 runs of `scripts/test-armv7.sh`) that list includes the aarch32
/// NEON entry, so they check it.
#[test]
fn armv7_neon_entry_is_checked_where_neon_runs() {
    let names: Vec<_> = TGEMM.available().iter().map(|e| e.name).collect();
    eprintln!("available fp32 winograd entries: {names:?}");
    assert!(names.contains(&"tgemm_6x16__scalar"), "{names:?}");
    if cfg!(target_arch = "arm") && cpu_probe::Isa::Neon.supported() {
        assert!(names.contains(&"tgemm_6x8__aarch32_neon"), "{names:?}");
    }
}

#[test]
fn auto_tile_and_variant_defaults() {
    let wt = vec![0.5f32; 4 * 4 * 9];
    let plan = WinogradConv::new(WinogradConfig::new(4, 4, &wt)).unwrap();
    assert_eq!(plan.tile(), Tile::F6x6);
    assert_eq!(plan.name(), TGEMM.best().name);
    let mut cfg = WinogradConfig::new(4, 4, &wt);
    cfg.input_size_hint = Some([4, 4]);
    let plan = WinogradConv::new(cfg).unwrap();
    assert_ne!(plan.tile(), Tile::Auto);
    // The cost model on the benchmark shapes: W2 (32ch, 128x128) -> F6x6, W3 (256ch, 14x14)
    // -> F4x4 (F6x6 would pad 14x14 to 18x18).
    for (ch, hw, want) in [(32, 128, Tile::F6x6), (256, 14, Tile::F4x4)] {
        let wt = vec![0.5f32; ch * ch * 9];
        let mut cfg = WinogradConfig::new(ch, ch, &wt);
        cfg.padding = [1; 4];
        cfg.input_size_hint = Some([hw, hw]);
        assert_eq!(
            WinogradConv::new(cfg).unwrap().tile(),
            want,
            "{ch} channels, {hw}x{hw}"
        );
    }
}

#[test]
fn errors_are_reported() {
    let wt = vec![0.0f32; 2 * 3 * 9];
    let ok = || WinogradConfig::new(3, 2, &wt);
    let e = |cfg: WinogradConfig<'_>| WinogradConv::new(cfg).unwrap_err();
    assert!(matches!(
        e(WinogradConfig::new(0, 2, &wt)),
        WinogradError::ZeroChannels { .. }
    ));
    let short = vec![0.0f32; 10];
    let err = e(WinogradConfig::new(3, 2, &short));
    assert_eq!(
        err,
        WinogradError::Length {
            argument: "kernel (OIHW 3x3)",
            expected: 54,
            actual: 10
        }
    );
    assert!(err.to_string().contains("54"));
    let mut bad = wt.clone();
    bad[7] = f32::NAN;
    assert!(matches!(
        e(WinogradConfig::new(3, 2, &bad)),
        WinogradError::NonFinite { index: 7, .. }
    ));
    let with_bias = |b: &[f32]| {
        e(WinogradConfig {
            bias: Some(b),
            ..ok()
        })
    };
    assert!(matches!(
        with_bias(&[1.0]),
        WinogradError::Length {
            argument: "bias",
            ..
        }
    ));
    assert!(matches!(
        with_bias(&[1.0, f32::INFINITY]),
        WinogradError::NonFinite {
            argument: "bias",
            ..
        }
    ));
    let c = Activation::Clamp { min: 1.0, max: 0.0 };
    assert!(matches!(
        e(WinogradConfig {
            activation: c,
            ..ok()
        }),
        WinogradError::InvalidClamp { .. }
    ));
    let c = Activation::Clamp {
        min: f32::NAN,
        max: 0.0,
    };
    assert!(matches!(
        e(WinogradConfig {
            activation: c,
            ..ok()
        }),
        WinogradError::InvalidClamp { .. }
    ));
    assert!(matches!(
        e(WinogradConfig {
            chunk_tiles: Some(17),
            ..ok()
        }),
        WinogradError::Shape(_)
    ));
    // Every entry of the table can be forced; those this CPU cannot run are refused.
    for e in TGEMM.all() {
        let r = WinogradConv::new(WinogradConfig {
            kernels: Some(e),
            ..ok()
        });
        assert_eq!(r.is_ok(), e.supported(), "{}", e.name);
        if let Err(err) = r {
            assert_eq!(
                err,
                WinogradError::KernelUnavailable(cpu_probe::DispatchError::Unsupported {
                    name: e.name,
                    isa: e.isa
                })
            );
        }
    }
    // Forcing by name: the names are the GEMM micro-kernels' function names.
    assert!(TGEMM.by_name("tgemm_6x16__scalar").is_ok());
    assert!(TGEMM.by_name("tgemm_avx9").is_err());

    let plan = WinogradConv::new(ok()).unwrap();
    let par = Parallel::single();
    let x = vec![0.0f32; 3 * 5 * 5];
    let mut y = vec![0.0f32; 2 * 3 * 3];
    assert!(plan.run(&x, 1, 5, 5, &mut y, &par).is_ok());
    let err = plan.run(&x[..10], 1, 5, 5, &mut y, &par).unwrap_err();
    assert_eq!(
        err,
        WinogradError::Length {
            argument: "input",
            expected: 75,
            actual: 10
        }
    );
    let err = plan.run(&x, 1, 5, 5, &mut y[..5], &par).unwrap_err();
    assert_eq!(
        err,
        WinogradError::Length {
            argument: "output",
            expected: 18,
            actual: 5
        }
    );
    assert!(matches!(
        plan.run(&x, 0, 5, 5, &mut y, &par),
        Err(WinogradError::Shape(_))
    ));
    assert!(matches!(
        plan.run(&x, 1, 2, 5, &mut y, &par),
        Err(WinogradError::Shape(_))
    ));
    assert!(matches!(
        plan.run(&x, 1, 0, 5, &mut y, &par),
        Err(WinogradError::Shape(_))
    ));
    assert!(matches!(
        plan.run(&x, usize::MAX, 5, 5, &mut y, &par),
        Err(WinogradError::Shape(_))
    ));
    assert!(plan.output_size(usize::MAX, 3).is_err() || plan.output_size(usize::MAX, 3).is_ok());
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (
        1usize..=2,
        1usize..=64,
        1usize..=24,
        1usize..=21,
        1usize..=21,
        [0usize..=2, 0usize..=2, 0usize..=2, 0usize..=2],
        0u8..3,
        any::<bool>(),
        any::<u64>(),
    )
        .prop_filter("padded input at least 3x3", |(_, _, _, h, w, p, ..)| {
            h + p[0] + p[2] >= 3 && w + p[1] + p[3] >= 3
        })
        .prop_map(|(batch, c, k, h, w, pad, act, bias, seed)| Case {
            batch,
            c,
            k,
            h,
            w,
            pad,
            act: match act {
                0 => Activation::None,
                1 => Activation::Relu,
                _ => Activation::Clamp {
                    min: -0.3,
                    max: 0.4,
                },
            },
            bias,
            seed,
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(any(target_arch = "aarch64", target_arch = "arm")) { 12 } else { 48 },
        ..ProptestConfig::default()
    })]
    #[test]
    fn random_shapes_meet_accuracy_gates(case in case_strategy()) {
        check_case(&case, &Parallel::single(), None);
    }
}
