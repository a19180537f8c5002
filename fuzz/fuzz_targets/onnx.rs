#![no_main]
//! kbench's ONNX reader: arbitrary bytes as a `model.onnx` / `input_N.pb` file, and
//! structure-aware `TensorProto`s (dims from the full i64 range, every element type, typed or
//! raw storage with lengths that match or do not) encoded with prost and read back, through
//! `onnx::decode_model` / `decode_tensor` and the conformance runner's conversions
//! (`tensor_from_proto`, `node_from_proto`, `compare`).
//!
//! kbench is a binary crate: its reader modules are included here by `#[path]`, as kbench's own
//! integration test does (no library target added to kbench).
//!
//! Oracles: no panic; a converted tensor has exactly the proto's dims and their (checked)
//! element count.

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use prost::Message;

#[path = "mix.rs"]
mod mix;

#[allow(dead_code, unused_imports)]
#[path = "../../crates/kbench/src/onnx.rs"]
mod onnx;

#[allow(dead_code, unused_imports)]
#[path = "../../crates/kbench/src/conformance.rs"]
mod conformance;

use onnx::{data_type, AttributeProto, ModelProto, NodeProto, TensorProto};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            if let Ok(m) = onnx::decode_model(rest) {
                model(&m);
            }
        }
        1 => {
            if let Ok(t) = onnx::decode_tensor(rest) {
                tensor(&t);
            }
        }
        _ => {
            let mut u = Unstructured::new(rest);
            if let Ok(t) = structured(&mut u) {
                let bytes = t.encode_to_vec();
                let back =
                    onnx::decode_tensor(&bytes).expect("a prost-encoded TensorProto decodes");
                assert_eq!(back.encode_to_vec(), bytes, "TensorProto round trip");
                tensor(&back);
                // The same tensor as a model initializer and a node attribute.
                let m = ModelProto {
                    graph: Some(onnx::GraphProto {
                        node: vec![NodeProto {
                            op_type: Some("Identity".into()),
                            attribute: vec![AttributeProto {
                                name: Some("value".into()),
                                t: Some(back.clone()),
                                r#type: Some(4),
                                ..Default::default()
                            }],
                            ..Default::default()
                        }],
                        initializer: vec![back],
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                let mb = m.encode_to_vec();
                model(&onnx::decode_model(&mb).expect("a prost-encoded ModelProto decodes"));
            }
        }
    }
});

/// What the conformance runner does with a model's graph, short of running ops.
fn model(m: &ModelProto) {
    let Some(g) = &m.graph else { return };
    for n in &g.node {
        let _ = conformance::node_from_proto(n);
        for a in &n.attribute {
            if let Some(t) = &a.t {
                tensor(t);
            }
            for t in &a.tensors {
                tensor(t);
            }
        }
    }
    for t in &g.initializer {
        tensor(t);
    }
}

fn tensor(t: &TensorProto) {
    let Ok(x) = conformance::tensor_from_proto(t) else {
        return;
    };
    let dims: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).expect("a tensor with a negative dim was accepted"))
        .collect();
    assert_eq!(
        x.shape(),
        dims.as_slice(),
        "converted shape differs from dims"
    );
    let n = mix::prod(&dims).expect("a tensor whose element count overflows was accepted");
    assert_eq!(x.len(), n, "element count of {dims:?}");
    // The comparison the runner makes against expected outputs.
    // (NaN matches NaN, so a tensor always matches itself.)
    assert!(
        conformance::compare("y", &x, &x, "fuzz").is_ok(),
        "a tensor differs from itself"
    );
}

/// A TensorProto whose fields are mostly consistent (so conversion succeeds often), with dims
/// from the full i64 range and storage lengths that sometimes disagree.
fn structured(u: &mut Unstructured<'_>) -> Result<TensorProto> {
    let rank = usize::from(u8::arbitrary(u)? % 5);
    let mut dims = Vec::with_capacity(rank);
    for _ in 0..rank {
        dims.push(mix::int(u, 6)?);
    }
    let dt = match u8::arbitrary(u)? % 10 {
        0 => data_type::FLOAT,
        1 => data_type::UINT8,
        2 => data_type::INT8,
        3 => data_type::INT32,
        4 => data_type::INT64,
        5 => 0,
        6 => 10,
        7 => i32::arbitrary(u)?,
        _ => data_type::FLOAT,
    };
    let count: Option<usize> = dims.iter().try_fold(1usize, |acc, &d| {
        usize::try_from(d).ok().and_then(|d| acc.checked_mul(d))
    });
    let wrapped = dims
        .iter()
        .fold(1usize, |acc, &d| acc.wrapping_mul(d as usize));
    let n = match u8::arbitrary(u)? {
        0..=199 => count.filter(|&c| c <= 4096),
        200..=219 => Some(wrapped).filter(|&c| c <= 4096),
        220..=239 => count.map(|c| c.saturating_add(1)).filter(|&c| c <= 4096),
        _ => None,
    }
    .unwrap_or(usize::from(u8::arbitrary(u)? % 8));
    let mut t = TensorProto {
        dims,
        data_type: Some(dt),
        name: Some("x".into()),
        ..Default::default()
    };
    let width = match dt {
        data_type::FLOAT | data_type::INT32 => 4,
        data_type::INT64 => 8,
        _ => 1,
    };
    match u8::arbitrary(u)? % 8 {
        0..=2 => {
            let extra = if u8::arbitrary(u)? < 240 {
                0
            } else {
                usize::from(u8::arbitrary(u)? % 4)
            };
            t.raw_data = Some(mix::bytes(
                u,
                (n * width).saturating_add(extra).min(1 << 16),
            ));
        }
        3 => t.float_data = mix::floats(u, n, true, false),
        4 => {
            t.int32_data = mix::fill(u, n, |u| {
                Ok(if u8::arbitrary(u)? < 240 {
                    i32::from(u8::arbitrary(u)?) - 64
                } else {
                    i32::arbitrary(u)?
                })
            })?
        }
        5 => t.int64_data = mix::fill(u, n, |u| mix::int(u, 100))?,
        6 => {
            t.data_location = Some(if bool::arbitrary(u)? {
                onnx::DATA_LOCATION_EXTERNAL
            } else {
                i32::arbitrary(u)?
            });
        }
        _ => {
            // The typed field that matches the type.
            match dt {
                data_type::FLOAT => t.float_data = mix::floats(u, n, true, false),
                data_type::INT64 => t.int64_data = mix::fill(u, n, |u| mix::int(u, 100))?,
                _ => t.int32_data = mix::fill(u, n, |u| Ok(i32::from(u8::arbitrary(u)?) - 128))?,
            }
        }
    }
    Ok(t)
}
