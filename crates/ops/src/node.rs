//! An operator as ONNX describes it: a type name and attributes.

use std::collections::BTreeMap;

/// An ONNX attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Attribute {
    /// `INT`.
    Int(i64),
    /// `INTS`.
    Ints(Vec<i64>),
    /// `FLOAT`.
    Float(f32),
    /// `FLOATS`.
    Floats(Vec<f32>),
    /// `STRING`.
    String(String),
}

/// One ONNX node: `op_type` (`Conv`, `QLinearConv`, ...), its domain (empty for the default
/// domain) and attributes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Node {
    /// Operator type.
    pub op_type: String,
    /// Operator domain (`""` or `ai.onnx` for the default domain).
    pub domain: String,
    /// Attributes by name.
    pub attributes: BTreeMap<String, Attribute>,
}

impl Node {
    /// A node of `op_type` in the default domain, without attributes.
    pub fn new(op_type: &str) -> Node {
        Node {
            op_type: op_type.to_string(),
            ..Node::default()
        }
    }
    /// Adds an attribute (builder style).
    pub fn with(mut self, name: &str, value: Attribute) -> Node {
        self.attributes.insert(name.to_string(), value);
        self
    }
}
