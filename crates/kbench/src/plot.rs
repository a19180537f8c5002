//! SVG plots of a bench report: one latency histogram per workload (the distribution users feel)
//! and a bar chart of % of peak.

use crate::bench::{Report, Row};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

fn err(e: impl std::fmt::Display) -> String {
    format!("plot: {e}")
}

/// Writes `latency-<id>.svg` per workload and `pct-peak.svg` into `dir`; returns the files.
pub fn write_all(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for row in &report.rows {
        let p = dir.join(format!("latency-{}.svg", row.id));
        histogram(row, &p)?;
        files.push(p);
    }
    if !report.rows.is_empty() {
        let p = dir.join("pct-peak.svg");
        pct_peak(report, &p)?;
        files.push(p);
    }
    Ok(files)
}

fn histogram(row: &Row, path: &Path) -> Result<(), String> {
    let s = &row.samples_us;
    let l = &row.latency_us;
    // The x range stops at the 99.5th percentile so that a few interrupted runs do not squeeze
    // the distribution into one bin; the title says how many runs lie beyond it.
    let mut sorted = s.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let cut = if sorted.is_empty() {
        l.max
    } else {
        crate::stats::percentile(&sorted, 0.995)
    };
    let beyond = s.iter().filter(|&&x| x > cut).count();
    let (lo, hi) = (l.min, cut.max(l.min * 1.0001 + 1e-9));
    let bins = 40usize;
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0u32; bins];
    for &x in s.iter().filter(|&&x| x <= hi) {
        let b = (((x - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let ymax = counts.iter().copied().max().unwrap_or(1).max(1);
    let root = SVGBackend::new(path, (800, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let title = format!(
        "{} {} ({}): median {:.1} µs, min {:.1}, max {:.1}, sd {:.1}, n {} ({} beyond p99.5 not drawn)",
        row.id, row.shape, row.kind, l.median, l.min, l.max, l.stddev, l.n, beyond
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(lo..hi, 0u32..(ymax + ymax / 10 + 1))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("latency (µs)")
        .y_desc("runs")
        .draw()
        .map_err(err)?;
    chart
        .draw_series(counts.iter().enumerate().map(|(i, &c)| {
            let x0 = lo + i as f64 * width;
            Rectangle::new([(x0, 0), (x0 + width, c)], BLUE.mix(0.6).filled())
        }))
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(l.median, 0), (l.median, ymax)],
            RED.stroke_width(2),
        )))
        .map_err(err)?
        .label("median")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED.stroke_width(2)));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

fn pct_peak(report: &Report, path: &Path) -> Result<(), String> {
    let n = report.rows.len();
    let ymax = report
        .rows
        .iter()
        .map(|r| r.pct_peak)
        .fold(10.0f64, f64::max)
        .min(1000.0)
        * 1.15;
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "% of measured peak ({} thread(s); fp32 vs FMA peak, int8 vs int8 dot peak)",
                report.threads
            ),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d((0..n).into_segmented(), 0f64..ymax)
        .map_err(err)?;
    let labels: Vec<String> = report.rows.iter().map(|r| r.id.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_desc("% of peak")
        .draw()
        .map_err(err)?;
    chart
        .draw_series(report.rows.iter().enumerate().map(|(i, r)| {
            let color = if r.kind.ends_with("fp32") {
                GREEN.mix(0.7)
            } else {
                BLUE.mix(0.7)
            };
            Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), r.pct_peak),
                ],
                color.filled(),
            )
        }))
        .map_err(err)?;
    root.present().map_err(err)
}
