//! QR codes drawn as inline SVG, made here so the set-up page asks no other server for an
//! image (SECURITY.md R7: no third-party requests; the secret must never leave the page).
//!
//! `qrcodegen` (no dependencies) does the encoding; this draws its modules as ONE `<path>`,
//! a row's dark run at a time, inside the 4-module quiet zone the standard asks for.

use qrcodegen::{QrCode, QrCodeEcc};

/// Modules of light border around the code (ISO/IEC 18004 §6.3.8).
const QUIET_ZONE: i32 = 4;

/// An SVG QR code for `text`, labelled for screen readers; `None` if the text is too long
/// for any QR code.
pub(crate) fn svg(text: &str, label: &str) -> Option<String> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = code.size();
    let full = size + 2 * QUIET_ZONE;
    let mut path = String::new();
    for y in 0..size {
        let mut x = 0;
        while x < size {
            if !code.get_module(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < size && code.get_module(x, y) {
                x += 1;
            }
            let run = x - start;
            path.push_str(&format!(
                "M{},{}h{run}v1h-{run}z",
                start + QUIET_ZONE,
                y + QUIET_ZONE
            ));
        }
    }
    Some(format!(
        r##"<svg class="qr-code" viewBox="0 0 {full} {full}" width="{px}" height="{px}" role="img" aria-label="{label}" shape-rendering="crispEdges"><rect width="{full}" height="{full}" fill="#fff"/><path fill="#000" d="{path}"/></svg>"##,
        px = full * 6,
        label = escape(label),
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dark cells a path draws, read back from its `M x,y h n` commands.
    fn dark_cells(svg: &str) -> Vec<(i32, i32)> {
        let d = svg
            .split(r#" d=""#)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let mut cells = Vec::new();
        for command in d.split('M').filter(|c| !c.is_empty()) {
            let (at, rest) = command.split_once('h').unwrap();
            let (x, y) = at.split_once(',').unwrap();
            let run: i32 = rest.split('v').next().unwrap().parse().unwrap();
            let (x, y): (i32, i32) = (x.parse().unwrap(), y.parse().unwrap());
            cells.extend((x..x + run).map(|x| (x, y)));
        }
        cells
    }

    #[test]
    fn a_short_text_makes_a_version_1_code_with_its_quiet_zone() {
        let svg = svg("HELLO WORLD", "A QR code").unwrap();
        // Version 1 is 21 modules a side; with 4 on every side, 29.
        assert!(svg.contains(r#"viewBox="0 0 29 29""#), "{svg}");
        assert!(svg.contains(r#"role="img" aria-label="A QR code""#));
        assert_eq!(
            svg.matches("<path").count(),
            1,
            "one path for every dark module"
        );

        let code = QrCode::encode_text("HELLO WORLD", QrCodeEcc::Medium).unwrap();
        let expected: Vec<(i32, i32)> = (0..21)
            .flat_map(|y| (0..21).map(move |x| (x, y)))
            .filter(|&(x, y)| code.get_module(x, y))
            .map(|(x, y)| (x + 4, y + 4))
            .collect();
        let mut drawn = dark_cells(&svg);
        drawn.sort_by_key(|&(x, y)| (y, x));
        assert_eq!(drawn, expected, "exactly the dark modules, each once");
        // The top-left finder pattern: a full row of 7, then dark, light ×5, dark.
        assert!(svg.contains(r#"d="M4,4h7v1h-7z"#), "{svg}");
        assert!(drawn.contains(&(4, 5)) && !drawn.contains(&(5, 5)) && drawn.contains(&(10, 5)));
        assert!(
            drawn
                .iter()
                .all(|&(x, y)| (4..25).contains(&x) && (4..25).contains(&y))
        );
    }

    #[test]
    fn an_otpauth_address_fits_and_nothing_is_fetched() {
        let url = "otpauth://totp/Larchwood%20Psychotherapy:alex%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Larchwood%20Psychotherapy&algorithm=SHA1&digits=6&period=30";
        let drawn = svg(url, "Scan <this> & \"that\"").unwrap();
        for outside in ["http", "href", "url(", "<image", "<script", "xlink"] {
            assert!(!drawn.contains(outside), "{outside} in {drawn}");
        }
        assert!(drawn.contains(r#"aria-label="Scan &lt;this&gt; &amp; &quot;that&quot;""#));
        assert!(svg("x".repeat(5000).as_str(), "too long").is_none());
    }
}
