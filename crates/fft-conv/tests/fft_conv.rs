//! Every available variant against the f64 direct reference: max|err| <= 1e-5 · RMS(reference).

mod common;
use common::values;
use cpu_probe::parallel::Parallel;
use cpu_probe::DispatchError;
use fft_conv::reference::conv2d_nchw;
use fft_conv::{FftConfig, FftConv, FftEntry, FftError, Tile, FFT};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Case {
    batch: usize,
    cin: usize,
    cout: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    pad: [usize; 4],
    bias: bool,
    clamp: Option<(f32, f32)>,
    tile: Tile,
    seed: u64,
}

/// Runs `c` on `variant` and checks it against the reference; returns max|err| / RMS.
fn check(c: &Case, variant: &'static FftEntry, threads: usize) -> f64 {
    let x = values(c.batch * c.cin * c.h * c.w, c.seed);
    let k = values(c.cout * c.cin * c.kh * c.kw, c.seed + 1);
    let b = values(c.cout, c.seed + 2);
    let bias = c.bias.then_some(&b[..]);
    let plan = FftConv::new(FftConfig {
        bias,
        padding: c.pad,
        tile: c.tile,
        clamp: c.clamp,
        ukernel: Some(variant),
        ..FftConfig::new(c.cin, c.cout, c.kh, c.kw, &k)
    })
    .unwrap();
    let (oh, ow) = plan.output_size(c.h, c.w).unwrap();
    let mut y = vec![f32::NAN; c.batch * c.cout * oh * ow];
    plan.run(&x, c.batch, c.h, c.w, &mut y, &Parallel::new(threads))
        .unwrap();
    let r = conv2d_nchw(
        &x, c.batch, c.cin, c.h, c.w, &k, c.cout, c.kh, c.kw, c.pad, bias, c.clamp,
    );
    assert_eq!(r.len(), y.len());
    // RMS of the unclamped reference, so that a clamp does not shrink the gate to nothing.
    let raw = conv2d_nchw(
        &x, c.batch, c.cin, c.h, c.w, &k, c.cout, c.kh, c.kw, c.pad, bias, None,
    );
    let rms = (raw.iter().map(|v| v * v).sum::<f64>() / raw.len() as f64).sqrt();
    let mut worst = 0.0f64;
    for (i, (&a, &e)) in y.iter().zip(&r).enumerate() {
        let err = (a as f64 - e).abs();
        assert!(
            err <= 1e-5 * rms,
            "{} {c:?}: output {i}: {a} vs {e} (err {err:.3e}, rms {rms:.3e})",
            variant.name
        );
        worst = worst.max(err / rms);
    }
    worst
}

fn every_variant(c: &Case) {
    for v in FFT.available() {
        let worst = check(c, v, 1);
        // Visible with `-- --nocapture`: the margin to the 1e-5 gate.
        println!(
            "{v:?} k={}x{} cin={} cout={}: max|err|/RMS = {worst:.2e}",
            c.kh, c.kw, c.cin, c.cout
        );
    }
}

fn case(cin: usize, cout: usize, h: usize, w: usize, k: usize, pad: usize, tile: Tile) -> Case {
    Case {
        batch: 1,
        cin,
        cout,
        h,
        w,
        kh: k,
        kw: k,
        pad: [pad; 4],
        bias: false,
        clamp: None,
        tile,
        seed: (cin * 31 + cout * 7 + h * 3 + k) as u64,
    }
}

#[test]
fn every_kernel_size_on_both_tiles() {
    for k in 1..=16 {
        for tile in [Tile::T8, Tile::T16] {
            if tile == Tile::T8 && k > 8 {
                continue;
            }
            every_variant(&case(3, 5, 19, 23, k, k / 2, tile));
        }
    }
}

#[test]
fn batch_bias_clamp_and_asymmetric_padding() {
    for tile in [Tile::T8, Tile::T16, Tile::Auto] {
        every_variant(&Case {
            batch: 3,
            cin: 4,
            cout: 6,
            h: 13,
            w: 9,
            kh: 5,
            kw: 5,
            pad: [0, 3, 1, 2],
            bias: true,
            clamp: Some((-0.5, 1.5)),
            tile,
            seed: 5,
        });
    }
}

#[test]
fn non_square_kernels() {
    for (kh, kw, tile) in [
        (1, 7, Tile::T8),
        (3, 8, Tile::T8),
        (11, 2, Tile::T16),
        (16, 5, Tile::T16),
    ] {
        every_variant(&Case {
            batch: 2,
            cin: 3,
            cout: 2,
            h: 21,
            w: 18,
            kh,
            kw,
            pad: [kh / 2, kw / 2, (kh - 1) / 2, (kw - 1) / 2],
            bias: true,
            clamp: None,
            tile,
            seed: (kh * 17 + kw) as u64,
        });
    }
}

#[test]
fn relu_and_input_smaller_than_a_tile() {
    every_variant(&Case {
        batch: 1,
        cin: 2,
        cout: 9,
        h: 3,
        w: 2,
        kh: 3,
        kw: 3,
        pad: [2, 2, 2, 2],
        bias: true,
        clamp: Some((0.0, f32::INFINITY)),
        tile: Tile::Auto,
        seed: 11,
    });
}

#[test]
fn many_channels_256() {
    let mut c = case(256, 20, 11, 13, 5, 2, Tile::T16);
    c.bias = true;
    every_variant(&c);
    every_variant(&case(20, 256, 10, 9, 3, 1, Tile::T8));
}

#[test]
fn threads_give_the_same_result() {
    let c = case(7, 9, 40, 37, 7, 3, Tile::Auto);
    let v = FFT.best();
    assert_eq!(check(&c, v, 1), check(&c, v, 3));
}

#[test]
fn workloads_f1_f2_shapes_small_channels() {
    // F1/F2 geometry (64² 5x5 pad 2, 128² 7x7 pad 3) with few channels, through Auto.
    every_variant(&case(2, 3, 64, 64, 5, 2, Tile::Auto));
    every_variant(&case(2, 2, 128, 128, 7, 3, Tile::Auto));
}

fn arb_case() -> impl Strategy<Value = Case> {
    (
        2usize..=16,
        1usize..=64,
        1usize..=64,
        0usize..=12,
        0usize..=12,
        prop::array::uniform4(0usize..=4),
        any::<bool>(),
        0u8..3,
        1usize..=2,
        any::<u64>(),
    )
        .prop_map(|(k, cin, cout, eh, ew, pad, bias, tile, batch, seed)| {
            let pad = pad.map(|p| p.min(k - 1));
            let h = k + eh + 1;
            let w = k + ew + 3;
            // Keep the f64 reference affordable: shrink cout so cout·cin·oh·ow·k² <= 4e7.
            let per_oc = batch * cin * (h + 8) * (w + 8) * k * k;
            let cout = cout.min((40_000_000 / per_oc).max(1));
            let tile = match (tile, k) {
                (0, _) => Tile::Auto,
                (1, k) if k <= 8 => Tile::T8,
                _ => Tile::T16,
            };
            Case {
                batch,
                cin,
                cout,
                h,
                w,
                kh: k,
                kw: k,
                pad,
                bias,
                clamp: None,
                tile,
                seed,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn random_shapes_within_gate(c in arb_case()) {
        every_variant(&c);
    }
}

#[test]
fn errors() {
    let k9 = vec![0.0f32; 9];
    let new = |cfg: FftConfig| FftConv::new(cfg).map(|_| ());
    assert_eq!(
        new(FftConfig::new(0, 1, 3, 3, &k9)),
        Err(FftError::ZeroSize {
            what: "in_channels"
        })
    );
    assert_eq!(
        new(FftConfig::new(1, 1, 0, 3, &[])),
        Err(FftError::ZeroSize { what: "kernel_h" })
    );
    let k17 = vec![0.0f32; 17 * 17];
    let e = new(FftConfig::new(1, 1, 17, 17, &k17)).unwrap_err();
    assert_eq!(
        e,
        FftError::KernelTooLarge {
            kernel_h: 17,
            kernel_w: 17,
            tile: 16
        }
    );
    assert!(e.to_string().contains("17x17"));
    let k81 = vec![0.0f32; 81];
    assert!(matches!(
        new(FftConfig {
            tile: Tile::T8,
            ..FftConfig::new(1, 1, 9, 9, &k81)
        }),
        Err(FftError::KernelTooLarge { tile: 8, .. })
    ));
    let e = new(FftConfig::new(2, 1, 3, 3, &k9)).unwrap_err();
    assert_eq!(
        e,
        FftError::LengthMismatch {
            what: "kernel",
            expected: 18,
            actual: 9
        }
    );
    assert_eq!(e.to_string(), "kernel has 9 elements but must have 18");
    assert!(matches!(
        new(FftConfig {
            bias: Some(&[1.0, 2.0]),
            ..FftConfig::new(1, 1, 3, 3, &k9)
        }),
        Err(FftError::LengthMismatch { what: "bias", .. })
    ));
    for clamp in [(1.0, 0.0), (f32::NAN, 1.0)] {
        assert!(matches!(
            new(FftConfig {
                clamp: Some(clamp),
                ..FftConfig::new(1, 1, 3, 3, &k9)
            }),
            Err(FftError::InvalidClamp { .. })
        ));
    }
    // Every entry of the build can be forced exactly when this CPU (and the ISA cap) runs it.
    for e in FFT.all() {
        let r = new(FftConfig {
            ukernel: Some(e),
            ..FftConfig::new(1, 1, 3, 3, &k9)
        });
        if e.supported() {
            assert_eq!(r, Ok(()), "{}", e.name);
        } else {
            assert_eq!(
                r,
                Err(FftError::Dispatch(DispatchError::Unsupported {
                    name: e.name,
                    isa: e.isa
                }))
            );
        }
    }
    let unknown: Result<(), FftError> = FFT
        .by_name("cgemm_4x4__sve")
        .map(|_| ())
        .map_err(Into::into);
    let msg = unknown.unwrap_err().to_string();
    assert!(
        msg.contains("cgemm_4x4__sve") && msg.contains("cgemm_2x4__scalar"),
        "{msg}"
    );

    let plan = FftConv::new(FftConfig::new(2, 3, 3, 3, &vec![0.0; 54])).unwrap();
    let p = Parallel::single();
    assert!(matches!(
        plan.output_size(2, 5),
        Err(FftError::EmptyOutput { .. })
    ));
    assert_eq!(
        plan.output_size(0, 5),
        Err(FftError::ZeroSize {
            what: "input height"
        })
    );
    let x = vec![0.0f32; 2 * 8 * 8];
    let mut y = vec![0.0f32; 3 * 6 * 6];
    assert_eq!(
        plan.run(&x, 0, 8, 8, &mut y, &p),
        Err(FftError::ZeroSize { what: "batch" })
    );
    assert_eq!(
        plan.run(&x[1..], 1, 8, 8, &mut y, &p),
        Err(FftError::BufferTooSmall {
            what: "input",
            needed: 128,
            actual: 127
        })
    );
    assert_eq!(
        plan.run(&x, 1, 8, 8, &mut y[1..], &p),
        Err(FftError::BufferTooSmall {
            what: "output",
            needed: 108,
            actual: 107
        })
    );
    assert!(plan.run(&x, 1, 8, 8, &mut y, &p).is_ok());
    assert!(matches!(
        plan.run(&x, usize::MAX, 8, 8, &mut y, &p),
        Err(FftError::TooLarge { .. })
    ));
}

#[test]
fn profile_and_tile_choice() {
    let k = values(32 * 32 * 25, 3);
    let plan = FftConv::new(FftConfig {
        padding: [2; 4],
        ..FftConfig::new(32, 32, 5, 5, &k)
    })
    .unwrap();
    assert_eq!(plan.tile_for(64, 64).unwrap(), 16);
    let x = values(32 * 20 * 20, 4);
    let mut y = vec![0.0; 32 * 20 * 20];
    let p = plan
        .run_profiled(&x, 1, 20, 20, &mut y, &Parallel::single())
        .unwrap();
    assert_eq!(p.kernel_transform, std::time::Duration::ZERO);
    assert!(p.total() >= p.multiply);
    // Forced tiles are honoured.
    let t8 = FftConv::new(FftConfig {
        tile: Tile::T8,
        ..FftConfig::new(32, 32, 5, 5, &k)
    })
    .unwrap();
    assert_eq!(t8.tile_for(64, 64).unwrap(), 8);
}
