//! Regression tests for kbench's ONNX reader (issue 17, "Safe inputs"): files and protobuf fields
//! are caller data. Sizes are bounded before reading, dims are checked (negative, huge, element
//! counts that overflow), and storage lengths must match the shape. They pass in debug and
//! release; the `onnx` fuzz target runs the same conversions on arbitrary bytes.

#[allow(dead_code)]
#[path = "../src/onnx.rs"]
mod onnx;

#[allow(dead_code)]
#[path = "../src/conformance.rs"]
mod conformance;

use conformance::{run_case, tensor_from_proto, LoadError, Status, MAX_FILE_BYTES};
use onnx::{data_type, TensorProto};
use std::path::Path;

mod common;
use common::TempDir;

/// A sparse file of `len` bytes (no disk space, created instantly).
fn sparse(path: &Path, len: u64) {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
}

/// Asserts that the case in `dir` is a FAIL whose detail contains `text`.
fn assert_fails_with(dir: &Path, text: &str) {
    let r = run_case(dir);
    assert_eq!(r.status, Status::Fail);
    assert!(r.detail.contains(text), "{}", r.detail);
}

/// `model.onnx` was read whole with `std::fs::read`, whatever its size (or forever, for a
/// symlink to a device): now a file over the limit is a FAIL naming it, before anything is read.
#[test]
fn oversized_model_is_a_fail_naming_the_limit() {
    let d = TempDir::new("safe-inputs", "model");
    sparse(&d.path().join("model.onnx"), MAX_FILE_BYTES + 1);
    assert_fails_with(
        d.path(),
        "model.onnx is 268435457 bytes, more than the runner's limit",
    );
}

/// The same for a data set's tensor files.
#[test]
fn oversized_tensor_file_is_a_fail_naming_it() {
    use onnx::{GraphProto, ModelProto, NodeProto, TypeProto, TypeProtoTensor, ValueInfoProto};
    use prost::Message;
    let d = TempDir::new("safe-inputs", "tensor");
    let vi = |n: &str| ValueInfoProto {
        name: Some(n.into()),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: Some(data_type::FLOAT),
                shape: None,
            }),
            ..Default::default()
        }),
    };
    let model = ModelProto {
        ir_version: Some(8),
        graph: Some(GraphProto {
            node: vec![NodeProto {
                input: vec!["x".into()],
                output: vec!["y".into()],
                op_type: Some("Relu".into()),
                ..Default::default()
            }],
            input: vec![vi("x")],
            output: vec![vi("y")],
            ..Default::default()
        }),
        ..Default::default()
    };
    std::fs::write(d.path().join("model.onnx"), model.encode_to_vec()).unwrap();
    let set = d.path().join("test_data_set_0");
    std::fs::create_dir_all(&set).unwrap();
    sparse(&set.join("input_0.pb"), MAX_FILE_BYTES + 1);
    assert_fails_with(d.path(), "test_data_set_0/input_0.pb is 268435457 bytes");
}

fn malformed(t: &TensorProto) -> String {
    match tensor_from_proto(t) {
        Err(LoadError::Malformed(m)) => m,
        other => panic!("{t:?}: expected Malformed, got {other:?}"),
    }
}

/// Dims from the full i64 range: negative, huge, and products that overflow usize are refused
/// with the dims named (never a wrapped element count matching a short buffer).
#[test]
fn dims_are_checked() {
    let t = |dims: Vec<i64>, raw: usize| TensorProto {
        dims,
        data_type: Some(data_type::FLOAT),
        raw_data: Some(vec![0; raw]),
        ..Default::default()
    };
    let m = malformed(&t(vec![-1, 4], 0));
    assert!(m.contains("negative dimension in dims [-1, 4]"), "{m}");
    let m = malformed(&t(vec![i64::MIN], 0));
    assert!(m.contains("negative dimension"), "{m}");
    // A dimension above usize::MAX on 32-bit targets (2^40 elements overflow there anyway).
    let m = malformed(&t(vec![1 << 40, 1 << 40], 0));
    assert!(m.contains("overflow the element count"), "{m}");
    // A quarter of usize's range (2^62 on 64-bit targets, 2^30 on 32-bit ones).
    let quarter = 1i64 << (usize::BITS - 2);
    // 2^62 · 2^2 = 2^64 elements: wraps to 0 without the check.
    let m = malformed(&t(vec![quarter, 4], 0));
    assert!(m.contains("overflow the element count"), "{m}");
    // 2^62 + 1 elements of 4 bytes: 2^64 + 4 bytes, wraps to 4.
    let m = malformed(&t(vec![quarter + 1], 4));
    assert!(m.contains("raw_data has 4 bytes"), "{m}");
}

/// Storage whose length does not match the shape is refused for every element type.
#[test]
fn storage_lengths_must_match() {
    for (dt, width) in [
        (data_type::FLOAT, 4),
        (data_type::UINT8, 1),
        (data_type::INT8, 1),
        (data_type::INT32, 4),
        (data_type::INT64, 8),
    ] {
        let raw = TensorProto {
            dims: vec![2, 3],
            data_type: Some(dt),
            raw_data: Some(vec![0; 6 * width - 1]),
            ..Default::default()
        };
        assert!(malformed(&raw).contains("raw_data has"), "{dt}");
        let typed = TensorProto {
            dims: vec![2, 3],
            data_type: Some(dt),
            float_data: vec![0.0; 5],
            int32_data: vec![0; 5],
            int64_data: vec![0; 5],
            ..Default::default()
        };
        assert!(
            malformed(&typed).contains("has 5 elements, shape [2, 3] needs 6"),
            "{dt}"
        );
    }
}
