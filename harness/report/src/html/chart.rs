//! One small chart description and its SVG rendering with plotters. Every chart in the
//! report is a [`Chart`]: data goes in as plain `(x, y)` points, and odd data (NaN, an
//! empty series, a zero-width range) becomes a sane axis instead of a panic.

use std::ops::Range;

use plotters::prelude::*;
use plotters::style::Color as _;

use super::esc;

/// A colour of the report's palette.
pub(super) type Color = RGBColor;

pub(super) const BLUE: Color = RGBColor(31, 119, 180);
pub(super) const ORANGE: Color = RGBColor(255, 127, 14);
pub(super) const GREEN: Color = RGBColor(44, 160, 44);
pub(super) const RED: Color = RGBColor(214, 39, 40);
pub(super) const PURPLE: Color = RGBColor(148, 103, 189);
pub(super) const BROWN: Color = RGBColor(140, 86, 75);
pub(super) const PINK: Color = RGBColor(227, 119, 194);
pub(super) const GREY: Color = RGBColor(127, 127, 127);
pub(super) const OLIVE: Color = RGBColor(188, 189, 34);
pub(super) const CYAN: Color = RGBColor(23, 190, 207);
pub(super) const DARK: Color = RGBColor(40, 40, 40);

/// Colours for series without a meaning of their own (tools, callers).
pub(super) const PALETTE: [Color; 8] = [BLUE, ORANGE, PURPLE, BROWN, PINK, OLIVE, CYAN, GREY];

/// How a series is drawn.
pub(super) enum Mark {
    Line,
    Dashed,
    Points,
    /// Line and points.
    LinePoints,
    /// Filled down to zero.
    Area,
    /// A bar per point, `half_width` either side of x, from the matching `base` value
    /// (0 where `base` is shorter).
    Bars {
        half_width: f64,
        base: Vec<f64>,
    },
    /// A horizontal line across the whole chart at the first point's y.
    Level,
    /// A vertical line across the whole chart at the first point's x.
    Marker,
}

pub(super) struct Series {
    pub(super) name: String,
    pub(super) color: Color,
    pub(super) mark: Mark,
    pub(super) points: Vec<(f64, f64)>,
}

impl Series {
    pub(super) fn new(name: impl Into<String>, color: Color, mark: Mark) -> Series {
        Series {
            name: name.into(),
            color,
            mark,
            points: Vec::new(),
        }
    }

    pub(super) fn with_points(mut self, points: Vec<(f64, f64)>) -> Series {
        self.points = points;
        self
    }
}

/// A shaded stretch of the x axis, e.g. an alarm state or a warm-up phase.
pub(super) struct Band {
    pub(super) x: Range<f64>,
    pub(super) color: Color,
}

/// A chart: title, axis labels, series and shaded bands, with a legend on the right.
pub(super) struct Chart<'a> {
    pub(super) title: String,
    pub(super) x_label: String,
    pub(super) y_label: String,
    pub(super) series: Vec<Series>,
    pub(super) bands: Vec<Band>,
    /// Legend entries for the bands: (label, colour).
    pub(super) band_legend: Vec<(String, Color)>,
    /// Ranges to use instead of the data's own.
    pub(super) x_range: Option<Range<f64>>,
    pub(super) y_range: Option<Range<f64>>,
    pub(super) x_format: Option<&'a dyn Fn(&f64) -> String>,
    pub(super) x_ticks: Option<usize>,
    pub(super) size: (u32, u32),
}

const LEGEND_WIDTH: u32 = 220;

impl<'a> Chart<'a> {
    pub(super) fn new(title: impl Into<String>, x_label: &str, y_label: &str) -> Chart<'a> {
        Chart {
            title: title.into(),
            x_label: x_label.to_owned(),
            y_label: y_label.to_owned(),
            series: Vec::new(),
            bands: Vec::new(),
            band_legend: Vec::new(),
            x_range: None,
            y_range: None,
            x_format: None,
            x_ticks: None,
            size: (1100, 340),
        }
    }

    pub(super) fn push(&mut self, series: Series) {
        self.series.push(series);
    }

    /// The chart as an inline `<svg>` element, or a short note when it cannot be drawn.
    pub(super) fn to_svg(&self) -> String {
        let mut svg = String::new();
        match self.draw(&mut svg) {
            // Inline SVG in HTML needs no namespace; dropping it keeps the page free of URLs.
            Ok(()) => svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1),
            Err(e) => format!(
                "<p class=\"note\">{}: chart not drawn ({})</p>",
                esc(&self.title),
                esc(&e.to_string())
            ),
        }
    }

    fn draw(&self, svg: &mut String) -> Result<(), Box<dyn std::error::Error>> {
        let x_range = self.x_range.clone().map_or_else(|| self.data_x(), sane);
        let y_range = self.y_range.clone().map_or_else(|| self.data_y(), sane);
        let root = SVGBackend::with_string(svg, self.size).into_drawing_area();
        root.fill(&WHITE)?;
        let (plot, legend) = root.split_horizontally(self.size.0.saturating_sub(LEGEND_WIDTH));
        let mut chart = ChartBuilder::on(&plot)
            .caption(&self.title, ("sans-serif", 21))
            .margin(10)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range.clone(), y_range.clone())?;
        let default_format = |v: &f64| short_number(*v);
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .light_line_style(RGBColor(238, 238, 238))
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 16))
            .y_label_formatter(&default_format)
            .x_label_formatter(self.x_format.unwrap_or(&default_format));
        if let Some(ticks) = self.x_ticks {
            mesh.x_labels(ticks);
        }
        mesh.draw()?;
        for s in &self.series {
            draw_series(&mut chart, s, &x_range, &y_range)?;
        }
        // Bands go over the data, translucent, so filled areas do not hide them.
        for band in &self.bands {
            let (x0, x1) = (band.x.start, band.x.end);
            if x0.is_finite() && x1.is_finite() {
                let corners = [(x0, y_range.start), (x1, y_range.end)];
                let fill = band.color.mix(0.22).filled();
                chart.draw_series(std::iter::once(Rectangle::new(corners, fill)))?;
            }
        }
        draw_legend(&legend, self)?;
        root.present()?;
        Ok(())
    }

    fn data_x(&self) -> Range<f64> {
        let bands = self.bands.iter().flat_map(|b| [b.x.start, b.x.end]);
        let points = self.series.iter().flat_map(|s| {
            let pad = match &s.mark {
                Mark::Bars { half_width, .. } => *half_width,
                _ => 0.0,
            };
            let xs = s.points.iter().flat_map(move |p| [p.0 - pad, p.0 + pad]);
            xs.filter(|_| !matches!(s.mark, Mark::Level))
        });
        span(bands.chain(points))
    }

    fn data_y(&self) -> Range<f64> {
        let ys = self.series.iter().flat_map(|s| {
            let base = match &s.mark {
                Mark::Bars { base, .. } => base.clone(),
                _ => Vec::new(),
            };
            let tops = s
                .points
                .iter()
                .enumerate()
                .map(move |(i, p)| p.1 + base.get(i).copied().unwrap_or(0.0));
            tops.filter(|_| !matches!(s.mark, Mark::Marker))
        });
        let r = span(ys.chain(std::iter::once(0.0)));
        // Headroom so the highest line is not drawn on the frame.
        sane(r.start..r.end + (r.end - r.start) * 0.05)
    }
}

type Cartesian<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn draw_series(
    chart: &mut Cartesian<'_, '_>,
    s: &Series,
    x: &Range<f64>,
    y: &Range<f64>,
) -> Result<(), Box<dyn std::error::Error>> {
    let points: Vec<(f64, f64)> = s
        .points
        .iter()
        .copied()
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .collect();
    let line = s.color.stroke_width(2);
    match &s.mark {
        Mark::Line => {
            chart.draw_series(LineSeries::new(points, line))?;
        }
        Mark::Dashed => {
            chart.draw_series(DashedLineSeries::new(points, 6, 4, line))?;
        }
        Mark::Points => {
            let dots = points
                .into_iter()
                .map(|p| Circle::new(p, 4, s.color.filled()));
            chart.draw_series(dots)?;
        }
        Mark::LinePoints => {
            chart.draw_series(LineSeries::new(points.clone(), line))?;
            let dots = points
                .into_iter()
                .map(|p| Circle::new(p, 4, s.color.filled()));
            chart.draw_series(dots)?;
        }
        Mark::Area => {
            let area = AreaSeries::new(points, 0.0, s.color.filled()).border_style(s.color);
            chart.draw_series(area)?;
        }
        Mark::Bars { half_width, base } => {
            let bars = points.into_iter().enumerate().map(|(i, (px, py))| {
                let b = base
                    .get(i)
                    .copied()
                    .filter(|v| v.is_finite())
                    .unwrap_or(0.0);
                Rectangle::new(
                    [(px - half_width, b), (px + half_width, b + py)],
                    s.color.filled(),
                )
            });
            chart.draw_series(bars)?;
        }
        Mark::Level => {
            if let Some(&(_, level)) = points.first() {
                let across = vec![(x.start, level), (x.end, level)];
                chart.draw_series(DashedLineSeries::new(across, 8, 4, line))?;
            }
        }
        Mark::Marker => {
            if let Some(&(at, _)) = points.first() {
                let across = vec![(at, y.start), (at, y.end)];
                chart.draw_series(DashedLineSeries::new(across, 8, 4, line))?;
            }
        }
    }
    Ok(())
}

/// The legend, drawn in the strip right of the plot: a swatch and a name per entry.
fn draw_legend(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    chart: &Chart<'_>,
) -> Result<(), Box<dyn std::error::Error>> {
    let swatch = |mark: &Mark| match mark {
        Mark::Area | Mark::Bars { .. } => Swatch::Block,
        Mark::Points => Swatch::Dot,
        _ => Swatch::Line,
    };
    let entries = chart
        .series
        .iter()
        .map(|s| (s.name.as_str(), s.color, swatch(&s.mark)))
        .chain(
            chart
                .band_legend
                .iter()
                .map(|(n, c)| (n.as_str(), *c, Swatch::Block)),
        );
    let text = ("sans-serif", 16).into_font().color(&DARK);
    for (i, (name, color, kind)) in entries.enumerate() {
        let y = 40 + 22 * i32::try_from(i).unwrap_or(i32::MAX / 44);
        match kind {
            Swatch::Block => area.draw(&Rectangle::new(
                [(6, y - 6), (24, y + 6)],
                color.mix(0.85).filled(),
            ))?,
            Swatch::Dot => area.draw(&Circle::new((15, y), 5, color.filled()))?,
            Swatch::Line => area.draw(&PathElement::new(
                vec![(6, y), (24, y)],
                color.stroke_width(3),
            ))?,
        }
        area.draw(&Text::new(clip(name, 24), (30, y - 7), text.clone()))?;
    }
    Ok(())
}

enum Swatch {
    Block,
    Dot,
    Line,
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// The smallest range holding every finite value; `0..1` when there is none, widened when
/// all values are equal.
pub(super) fn span(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    sane(lo..hi)
}

fn sane(r: Range<f64>) -> Range<f64> {
    let (lo, hi) = (r.start, r.end);
    if !lo.is_finite() || !hi.is_finite() || hi < lo {
        return 0.0..1.0;
    }
    if hi - lo < f64::EPSILON * hi.abs().max(1.0) {
        let pad = if hi == 0.0 {
            1.0
        } else {
            hi.abs().max(1e-6) * 0.1
        };
        return lo - pad..hi + pad;
    }
    lo..hi
}

/// An axis label: `0`, `2.5`, `1.2k`, `3M`.
pub(super) fn short_number(v: f64) -> String {
    let a = v.abs();
    let (value, suffix) = if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let text = if value.fract().abs() < 1e-9 {
        format!("{value:.0}")
    } else {
        let s = format!("{value:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    };
    format!("{text}{suffix}")
}
