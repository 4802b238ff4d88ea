//! A measure's scores as a chart, drawn on the server as SVG: the instrument's bands
//! shaded (deeper for more severe), the clinical cut-off as a dashed line, labelled axes
//! with the sessions along the bottom, and the scores joined in order. The chart is an
//! image with a title and a description in words; the page also gives every score in a
//! table, so nothing is only in the picture.

use std::fmt::Write as _;

use domain::measures::Instrument;

use crate::templates::write_escaped;

/// One score on the chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Point {
    /// The session number (0: the consultation).
    pub session: u32,
    pub total: u32,
}

const WIDTH: f64 = 704.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
/// Room at the right for the bands' names, the longest ("Moderately severe 15–19") in a
/// wide font.
const RIGHT: f64 = 224.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 44.0;
/// At most this many session numbers are written along the bottom.
const MAX_X_LABELS: usize = 12;

/// A coordinate to one decimal place, written with integer formatting (a chart of years of
/// weekly scores writes thousands of them).
struct Tenths(f64);

impl std::fmt::Display for Tenths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Coordinates are inside the picture, far from the limits of an i64.
        #[allow(clippy::cast_possible_truncation)]
        let t = (self.0 * 10.0).round() as i64;
        let sign = if t < 0 { "-" } else { "" };
        write!(f, "{sign}{}.{}", (t / 10).abs(), (t % 10).abs())
    }
}

fn text(out: &mut String, value: &str) {
    // Writing to a String cannot fail.
    let _ = write_escaped(out, value);
}

/// The chart of `points` (in order of answering) for `instrument`; `id` makes its title's
/// and description's ids unique on the page; `description` is the summary in words.
pub(crate) fn svg(
    instrument: &Instrument,
    points: &[Point],
    id: &str,
    description: &str,
) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let max = f64::from(instrument.max_total().max(1));
    let y = |total: f64| TOP + plot_h - total / max * plot_h;
    let first = points.iter().map(|p| p.session).min().unwrap_or(0);
    let last = points.iter().map(|p| p.session).max().unwrap_or(1);
    let (lo, hi) = if first == last {
        (f64::from(first) - 1.0, f64::from(last) + 1.0)
    } else {
        (f64::from(first), f64::from(last))
    };
    let x = |session: u32| LEFT + (f64::from(session) - lo) / (hi - lo) * plot_w;
    let mut out = String::with_capacity(2048 + points.len() * 64);
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">"#
    );
    text(&mut out, &instrument.short);
    out.push_str(" scores by session</title><desc id=\"");
    out.push_str(id);
    out.push_str("-desc\">");
    text(&mut out, description);
    out.push_str("</desc>");
    // Bands, deeper for higher (more severe) ones, each named at the right.
    let bands = instrument.bands.len().max(1);
    for (i, band) in instrument.bands.iter().enumerate() {
        let top = y(f64::from(band.to + 1).min(max));
        let bottom = y(f64::from(band.from));
        let opacity = 0.03 + 0.22 * (i as f64) / (bands as f64);
        let _ = write!(
            out,
            r##"<rect x="{LEFT}" y="{top:.1}" width="{plot_w}" height="{h:.1}" fill="#a34a28" fill-opacity="{opacity:.2}"/><text x="{lx:.1}" y="{my:.1}" class="chart-band" dominant-baseline="middle">"##,
            h = bottom - top,
            lx = LEFT + plot_w + 6.0,
            my = (top + bottom) / 2.0,
        );
        text(&mut out, &band.label);
        let _ = write!(out, " {}–{}</text>", band.from, band.to);
    }
    // The y axis: the start of each band, and the top.
    let mut ticks: Vec<u32> = instrument.bands.iter().map(|b| b.from).collect();
    ticks.push(instrument.max_total());
    for tick in ticks {
        let _ = write!(
            out,
            r#"<text x="{tx:.1}" y="{ty:.1}" class="chart-tick" text-anchor="end" dominant-baseline="middle">{tick}</text>"#,
            tx = LEFT - 6.0,
            ty = y(f64::from(tick)),
        );
    }
    // The cut-off.
    let cy = y(f64::from(instrument.cut_off));
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" y1="{cy:.1}" x2="{x2}" y2="{cy:.1}" stroke="currentColor" stroke-dasharray="6 4" stroke-width="1.5"/><text x="{tx}" y="{ty:.1}" class="chart-note">clinical cut-off ({c})</text>"##,
        x2 = LEFT + plot_w,
        tx = LEFT + 4.0,
        ty = cy - 4.0,
        c = instrument.cut_off,
    );
    // Axes and their titles.
    let _ = write!(
        out,
        r##"<path d="M{LEFT} {TOP}V{b}H{r}" fill="none" stroke="currentColor" stroke-width="1"/><text x="{mx:.1}" y="{ly}" class="chart-axis" text-anchor="middle">Session</text><text transform="translate(12 {my:.1}) rotate(-90)" class="chart-axis" text-anchor="middle">Score</text>"##,
        b = TOP + plot_h,
        r = LEFT + plot_w,
        mx = LEFT + plot_w / 2.0,
        ly = HEIGHT - 6.0,
        my = TOP + plot_h / 2.0,
    );
    // Session numbers along the bottom, thinned to at most MAX_X_LABELS.
    let mut sessions: Vec<u32> = points.iter().map(|p| p.session).collect();
    sessions.sort_unstable();
    sessions.dedup();
    let step = sessions.len().div_ceil(MAX_X_LABELS).max(1);
    for (i, session) in sessions.iter().enumerate() {
        if i % step != 0 && i + 1 != sessions.len() {
            continue;
        }
        let label = if *session == 0 {
            "C".to_owned()
        } else {
            session.to_string()
        };
        let _ = write!(
            out,
            r#"<text x="{tx:.1}" y="{ty:.1}" class="chart-tick" text-anchor="middle">{label}</text>"#,
            tx = x(*session),
            ty = TOP + plot_h + 16.0,
        );
    }
    // The scores, joined in order, each marked with a dot drawn once as a marker (years
    // of weekly scores are hundreds of points: one element, not one each); a single score
    // is its dot alone.
    let r = if points.len() > 60 { 2 } else { 4 };
    match points {
        [only] => {
            let _ = write!(
                out,
                r##"<circle cx="{}" cy="{}" r="{r}" fill="currentColor"/>"##,
                Tenths(x(only.session)),
                Tenths(y(f64::from(only.total)))
            );
        }
        _ => {
            let _ = write!(
                out,
                r##"<marker id="{id}-dot" viewBox="0 0 {d} {d}" refX="{r}" refY="{r}" markerWidth="{d}" markerHeight="{d}" markerUnits="userSpaceOnUse"><circle cx="{r}" cy="{r}" r="{r}" fill="currentColor"/></marker><polyline fill="none" stroke="currentColor" stroke-width="2" marker-start="url(#{id}-dot)" marker-mid="url(#{id}-dot)" marker-end="url(#{id}-dot)" points=""##,
                d = 2 * r,
            );
            for p in points {
                let _ = write!(
                    out,
                    "{},{} ",
                    Tenths(x(p.session)),
                    Tenths(y(f64::from(p.total)))
                );
            }
            out.push_str("\"/>");
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phq() -> Instrument {
        domain::measures::shipped().remove(0)
    }

    #[test]
    fn the_chart_names_itself_and_shades_every_band() {
        let points = [
            Point {
                session: 1,
                total: 18,
            },
            Point {
                session: 6,
                total: 11,
            },
            Point {
                session: 12,
                total: 6,
            },
        ];
        let drawn = svg(&phq(), &points, "phq-9", "From 18 to 6 <fell>");
        assert!(drawn.starts_with("<svg class=\"chart\""));
        assert!(drawn.contains(r#"role="img" aria-labelledby="phq-9-title phq-9-desc""#));
        assert!(drawn.contains("<title id=\"phq-9-title\">PHQ-9 scores by session</title>"));
        assert!(
            drawn.contains("From 18 to 6 &lt;fell&gt;"),
            "the description is escaped"
        );
        assert_eq!(drawn.matches("<rect").count(), 5, "one per band");
        assert!(drawn.contains("Moderately severe 15–19"));
        assert!(drawn.contains("clinical cut-off (10)"));
        assert!(drawn.contains(">Session</text>") && drawn.contains(">Score</text>"));
        // Every score is a point on the line, each marked with the dot; the first at the
        // left edge.
        let line = drawn.split("<polyline").nth(1).unwrap();
        assert!(line.contains(r#"marker-mid="url(#phq-9-dot)""#));
        let coordinates = line.split("points=\"").nth(1).unwrap();
        let coordinates = coordinates.split('"').next().unwrap();
        assert_eq!(coordinates.split_whitespace().count(), 3);
        assert!(coordinates.starts_with("48.0,"));
        assert!(drawn.contains(r#"<marker id="phq-9-dot""#));
    }

    #[test]
    fn tenths_are_written_as_float_formatting_would() {
        for v in [0.0, 48.0, 48.04, 48.05, 123.45, 0.96, -3.25, 207.99] {
            assert_eq!(
                Tenths(v).to_string(),
                format!("{:.1}", (v * 10.0_f64).round() / 10.0),
                "{v}"
            );
        }
    }

    #[test]
    fn a_long_series_labels_at_most_twelve_sessions_and_ends_with_the_last() {
        let points: Vec<Point> = (1..=260)
            .map(|n| Point {
                session: n,
                total: n % 27,
            })
            .collect();
        let drawn = svg(&phq(), &points, "x", "");
        let labels = drawn
            .matches(r#"class="chart-tick" text-anchor="middle""#)
            .count();
        assert!(labels <= MAX_X_LABELS + 1, "{labels}");
        assert!(drawn.contains(">260</text>"));
        let one = svg(&phq(), &points[..1], "y", "");
        assert!(
            !one.contains("<polyline"),
            "one score is a point, not a line"
        );
    }
}
