//! Latency statistics: the distribution, not one number.

use serde::Serialize;

/// Summary of a latency sample, in microseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Number of timed runs.
    pub n: usize,
    /// Fastest run.
    pub min: f64,
    /// 10th percentile.
    pub p10: f64,
    /// Median.
    pub median: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Slowest run.
    pub max: f64,
    /// Sample standard deviation (n − 1 in the denominator; 0 for a single run).
    pub stddev: f64,
}

/// Linear-interpolated percentile `q` in `[0, 1]` of an ascending-sorted, non-empty slice.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    debug_assert!(!sorted.is_empty());
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

impl Summary {
    /// Summarises samples (µs). `None` for an empty sample.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(|a, b| a.total_cmp(b));
        let n = s.len();
        let mean = s.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            s.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Some(Summary {
            n,
            min: s[0],
            p10: percentile(&s, 0.10),
            median: percentile(&s, 0.5),
            mean,
            p90: percentile(&s, 0.90),
            max: s[n - 1],
            stddev: var.sqrt(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_sample() {
        let s = Summary::of(&[4.0, 1.0, 3.0, 2.0, 5.0]).unwrap();
        assert_eq!(
            (s.n, s.min, s.median, s.max, s.mean),
            (5, 1.0, 3.0, 5.0, 3.0)
        );
        assert!((s.p10 - 1.4).abs() < 1e-12);
        assert!((s.p90 - 4.6).abs() < 1e-12);
        assert!((s.stddev - 2.5f64.sqrt()).abs() < 1e-12);
        assert!(Summary::of(&[]).is_none());
        assert_eq!(Summary::of(&[7.0]).unwrap().stddev, 0.0);
    }
}
