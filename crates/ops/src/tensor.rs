//! Tensors as `ops` takes and returns them: an element type, a shape, and owned data.

use crate::OpsError;

/// Element type of a tensor (the ONNX types `ops` runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataType {
    /// `float`.
    F32,
    /// `uint8`.
    U8,
    /// `int8`.
    I8,
    /// `int32`.
    I32,
    /// `int64` (shapes, axes).
    I64,
}

impl DataType {
    /// The ONNX name (`tensor(float)` style without the wrapper).
    pub fn name(self) -> &'static str {
        match self {
            DataType::F32 => "float",
            DataType::U8 => "uint8",
            DataType::I8 => "int8",
            DataType::I32 => "int32",
            DataType::I64 => "int64",
        }
    }
}

/// Tensor storage.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    /// `float` elements.
    F32(Vec<f32>),
    /// `uint8` elements.
    U8(Vec<u8>),
    /// `int8` elements.
    I8(Vec<i8>),
    /// `int32` elements.
    I32(Vec<i32>),
    /// `int64` elements.
    I64(Vec<i64>),
}

/// A dense row-major tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: TensorData,
}

impl Tensor {
    /// A tensor from a shape and data; `Err` if the element count does not match the shape, or
    /// if the shape's element count overflows `usize` (every partial product of the dimensions,
    /// ignoring zeros, must fit: code that walks the tensor multiplies them).
    ///
    /// ```
    /// use ops::Tensor;
    /// assert!(Tensor::f32(vec![2, 2], vec![0.0; 4]).is_ok());
    /// assert!(Tensor::f32(vec![2, 2], vec![0.0; 3]).is_err());
    /// // 2^63 + 1 squared wraps to 2^63·2 + 1 ≡ 1 in a 64-bit usize (2^31 + 1 squared likewise
    /// // in a 32-bit one): refused, not accepted as 1 element.
    /// let d = usize::MAX / 2 + 2;
    /// assert!(Tensor::f32(vec![d, d], vec![0.0]).is_err());
    /// ```
    pub fn new(shape: Vec<usize>, data: TensorData) -> Result<Tensor, OpsError> {
        let n = crate::limits::elements(&shape, "tensor")?;
        let len = match &data {
            TensorData::F32(v) => v.len(),
            TensorData::U8(v) => v.len(),
            TensorData::I8(v) => v.len(),
            TensorData::I32(v) => v.len(),
            TensorData::I64(v) => v.len(),
        };
        if n != len {
            return Err(OpsError::Shape(format!(
                "a tensor of shape {shape:?} needs {n} elements, the data has {len}"
            )));
        }
        Ok(Tensor { shape, data })
    }

    /// A `float` tensor.
    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Result<Tensor, OpsError> {
        Tensor::new(shape, TensorData::F32(data))
    }
    /// A `uint8` tensor.
    pub fn u8(shape: Vec<usize>, data: Vec<u8>) -> Result<Tensor, OpsError> {
        Tensor::new(shape, TensorData::U8(data))
    }
    /// An `int8` tensor.
    pub fn i8(shape: Vec<usize>, data: Vec<i8>) -> Result<Tensor, OpsError> {
        Tensor::new(shape, TensorData::I8(data))
    }
    /// An `int32` tensor.
    pub fn i32(shape: Vec<usize>, data: Vec<i32>) -> Result<Tensor, OpsError> {
        Tensor::new(shape, TensorData::I32(data))
    }
    /// An `int64` tensor.
    pub fn i64(shape: Vec<usize>, data: Vec<i64>) -> Result<Tensor, OpsError> {
        Tensor::new(shape, TensorData::I64(data))
    }
    /// A scalar `float`.
    pub fn scalar_f32(v: f32) -> Tensor {
        Tensor {
            shape: Vec::new(),
            data: TensorData::F32(vec![v]),
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The element type.
    pub fn dtype(&self) -> DataType {
        match &self.data {
            TensorData::F32(_) => DataType::F32,
            TensorData::U8(_) => DataType::U8,
            TensorData::I8(_) => DataType::I8,
            TensorData::I32(_) => DataType::I32,
            TensorData::I64(_) => DataType::I64,
        }
    }
    /// The data.
    pub fn data(&self) -> &TensorData {
        &self.data
    }
    /// The data, by value.
    pub fn into_data(self) -> TensorData {
        self.data
    }
    /// The `float` elements, or `Err` naming `what` and the actual type.
    pub fn as_f32(&self, what: &str) -> Result<&[f32], OpsError> {
        match &self.data {
            TensorData::F32(v) => Ok(v),
            _ => Err(OpsError::Type(format!(
                "{what} must be float, got {}",
                self.dtype().name()
            ))),
        }
    }
    /// The `int32` elements, or `Err`.
    pub fn as_i32(&self, what: &str) -> Result<&[i32], OpsError> {
        match &self.data {
            TensorData::I32(v) => Ok(v),
            _ => Err(OpsError::Type(format!(
                "{what} must be int32, got {}",
                self.dtype().name()
            ))),
        }
    }
    /// The `int64` elements, or `Err`.
    pub fn as_i64(&self, what: &str) -> Result<&[i64], OpsError> {
        match &self.data {
            TensorData::I64(v) => Ok(v),
            _ => Err(OpsError::Type(format!(
                "{what} must be int64, got {}",
                self.dtype().name()
            ))),
        }
    }
}
