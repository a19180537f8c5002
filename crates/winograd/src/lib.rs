//! # winograd
//!
//! Winograd convolution for 3x3 stride-1 layers: fp32 F(6x6,3x3), F(4x4,3x3), F(2x2,3x3) over
//! NCHW, and an exact int8 F(2x2,3x3).
//!
//! This crate currently holds the F(2,3) transform matrices ([`f2x3`]); the plans land with the
//! winograd issue.

pub mod int8;

/// F(2,3): `y = Aᵀ [(G g) ⊙ (Bᵀ d)]` for a 4-point input `d`, 3-tap kernel `g`, 2 outputs.
pub mod f2x3 {
    /// Input transform Bᵀ (4×4), entries 0/±1.
    pub const BT: [[i32; 4]; 4] = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]];
    /// Kernel transform G scaled by 2 (4×3), so it is integral: 2·G.
    pub const G2: [[i32; 3]; 4] = [[2, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 2]];
    /// Output transform Aᵀ (2×4), entries 0/±1.
    pub const AT: [[i32; 4]; 2] = [[1, 1, 1, 0], [0, 1, -1, -1]];

    /// 1-D F(2,3) in exact integer arithmetic: returns 2·(correlation of `d` with `g`).
    pub fn correlate_1d_times2(d: [i32; 4], g: [i32; 3]) -> [i32; 2] {
        let mut u = [0i32; 4];
        let mut v = [0i32; 4];
        for i in 0..4 {
            u[i] = (0..3).map(|j| G2[i][j] * g[j]).sum();
            v[i] = (0..4).map(|j| BT[i][j] * d[j]).sum();
        }
        let m: Vec<i32> = (0..4).map(|i| u[i] * v[i]).collect();
        [0, 1].map(|r| (0..4).map(|i| AT[r][i] * m[i]).sum())
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn matches_direct_correlation() {
            let d = [3, -7, 11, 5];
            let g = [2, -1, 4];
            let direct = [0, 1].map(|o| (0..3).map(|j| d[o + j] * g[j]).sum::<i32>());
            assert_eq!(super::correlate_1d_times2(d, g), direct.map(|x| 2 * x));
        }
    }
}
