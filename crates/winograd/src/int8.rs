//! Exact int8 Winograd F(2x2,3x3) (in progress).
