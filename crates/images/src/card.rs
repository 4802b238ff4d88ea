//! The social preview card: the picture a messaging app shows beside a shared link when the
//! practice has no portrait. 1200 × 630 (the size the apps ask for), the practice's name
//! large, the therapist's name and title under it, and the site's address, in the theme's
//! colours, drawn here with fonts kept in the repository (subsets of DejaVu Sans: see
//! `fonts/LICENSE.txt`), so nothing is fetched and nothing depends on the server's fonts.

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage};

const BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold-latin.ttf");
const REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans-latin.ttf");

/// The card's size.
pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 630;

/// What the card says.
#[derive(Debug, Clone, Copy)]
pub struct CardText<'a> {
    /// The practice's name (up to two lines, then cut short with an ellipsis).
    pub name: &'a str,
    /// The therapist and their title, one line.
    pub who: &'a str,
    /// The site's address, at the foot.
    pub address: &'a str,
}

/// The theme's colours, `[r, g, b]`.
#[derive(Debug, Clone, Copy)]
pub struct CardColours {
    pub background: [u8; 3],
    pub text: [u8; 3],
    pub muted: [u8; 3],
    pub accent: [u8; 3],
}

const MARGIN: f32 = 80.0;

/// The card as a PNG.
pub fn social_card(text: CardText<'_>, colours: CardColours) -> Vec<u8> {
    let mut picture = RgbImage::from_pixel(WIDTH, HEIGHT, Rgb(colours.background));
    // A band of the accent down the left edge, and a short rule under the name.
    fill(&mut picture, 0, 0, 24, HEIGHT, colours.accent);
    let (Ok(bold), Ok(regular)) = (
        FontRef::try_from_slice(BOLD),
        FontRef::try_from_slice(REGULAR),
    ) else {
        // The fonts are built in and tested; a card without words is still a card.
        return crate::png(&picture);
    };
    let width = WIDTH as f32 - 2.0 * MARGIN;
    let name_size = if text.name.chars().count() > 34 {
        60.0
    } else {
        72.0
    };
    let lines = wrap(&bold, name_size, text.name, width, 2);
    let mut baseline = 150.0 + name_size;
    for line in &lines {
        draw_line(
            &mut picture,
            &bold,
            name_size,
            line,
            MARGIN,
            baseline,
            colours.text,
        );
        baseline += name_size * 1.2;
    }
    let rule_top = (baseline - name_size * 0.55) as u32;
    fill(
        &mut picture,
        MARGIN as u32,
        rule_top,
        120,
        8,
        colours.accent,
    );
    let mut baseline = baseline + 50.0;
    for line in wrap(&regular, 38.0, text.who, width, 2) {
        draw_line(
            &mut picture,
            &regular,
            38.0,
            &line,
            MARGIN,
            baseline,
            colours.muted,
        );
        baseline += 48.0;
    }
    let address = wrap(&regular, 30.0, text.address, width, 1);
    if let Some(line) = address.first() {
        draw_line(
            &mut picture,
            &regular,
            30.0,
            line,
            MARGIN,
            HEIGHT as f32 - 70.0,
            colours.muted,
        );
    }
    crate::png(&picture)
}

fn fill(picture: &mut RgbImage, x: u32, y: u32, width: u32, height: u32, colour: [u8; 3]) {
    for py in y..(y + height).min(picture.height()) {
        for px in x..(x + width).min(picture.width()) {
            picture.put_pixel(px, py, Rgb(colour));
        }
    }
}

/// Each glyph of `text` at `size` pixels with where it starts along the line, kerning
/// included, and where the line ends.
fn layout(font: &FontRef<'_>, size: f32, text: &str) -> (Vec<(GlyphId, f32)>, f32) {
    let scaled = font.as_scaled(PxScale::from(size));
    let mut glyphs = Vec::with_capacity(text.len());
    let mut caret = 0.0;
    let mut last = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = last {
            caret += scaled.kern(previous, id);
        }
        glyphs.push((id, caret));
        caret += scaled.h_advance(id);
        last = Some(id);
    }
    (glyphs, caret)
}

/// How wide `text` is at `size` pixels, kerning included.
fn measure(font: &FontRef<'_>, size: f32, text: &str) -> f32 {
    layout(font, size, text).1
}

/// `text` in at most `most` lines of `width`, broken between words; what does not fit ends
/// with an ellipsis.
fn wrap(font: &FontRef<'_>, size: f32, text: &str, width: f32, most: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        let fits_on_last = lines
            .last()
            .is_some_and(|line| measure(font, size, &format!("{line} {word}")) <= width);
        if fits_on_last {
            if let Some(line) = lines.last_mut() {
                line.push(' ');
                line.push_str(word);
            }
        } else if lines.len() < most {
            lines.push(word.to_owned());
        } else {
            // No room for another line: end the last one with an ellipsis.
            if let Some(line) = lines.last_mut() {
                line.push_str(" …");
            }
            break;
        }
    }
    for line in &mut lines {
        if measure(font, size, line) <= width {
            continue;
        }
        let mut chars: Vec<char> = line.trim_end_matches('…').trim_end().chars().collect();
        while chars.pop().is_some() {
            let kept: String = chars.iter().collect();
            let candidate = format!("{}…", kept.trim_end());
            if measure(font, size, &candidate) <= width {
                *line = candidate;
                break;
            }
        }
    }
    lines
}

/// Draw one line of text with its baseline at `y`, blending each glyph's coverage.
fn draw_line(
    picture: &mut RgbImage,
    font: &FontRef<'_>,
    size: f32,
    text: &str,
    x: f32,
    y: f32,
    colour: [u8; 3],
) {
    let scale = PxScale::from(size);
    for (id, along) in layout(font, size, text).0 {
        let glyph = id.with_scale_and_position(scale, point(x + along, y));
        let Some(outlined) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            let (Ok(px), Ok(py)) = (u32::try_from(px), u32::try_from(py)) else {
                return;
            };
            if px >= picture.width() || py >= picture.height() {
                return;
            }
            let pixel = picture.get_pixel_mut(px, py);
            for (channel, ink) in pixel.0.iter_mut().zip(colour) {
                let blended = f32::from(*channel) * (1.0 - coverage) + f32::from(ink) * coverage;
                *channel = blended.round().clamp(0.0, 255.0) as u8;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLOURS: CardColours = CardColours {
        background: [0xfd, 0xfc, 0xfa],
        text: [0x1d, 0x1d, 0x1b],
        muted: [0x4a, 0x4f, 0x55],
        accent: [0x2f, 0x6b, 0x4f],
    };

    #[test]
    fn the_card_is_a_png_of_the_size_apps_ask_for_with_words_on_it() {
        let png = social_card(
            CardText {
                name: "Adeyemi-Holt Psychotherapy",
                who: "Dr Tamsin Adeyemi-Holt, psychodynamic psychotherapist",
                address: "adeyemi-holt.example.com",
            },
            COLOURS,
        );
        let picture = image::load_from_memory(&png).unwrap().into_rgb8();
        assert_eq!(picture.dimensions(), (WIDTH, HEIGHT));
        let ink = picture.pixels().filter(|p| p.0 == COLOURS.text).count();
        assert!(ink > 5_000, "the name is drawn: {ink} pixels of ink");
        assert!(png.len() < 100_000, "{} bytes", png.len());
    }

    #[test]
    fn long_names_wrap_then_end_with_an_ellipsis() {
        let bold = FontRef::try_from_slice(BOLD).unwrap();
        let lines = wrap(&bold, 72.0, "The Quiet Room", 1040.0, 2);
        assert_eq!(lines, ["The Quiet Room"]);
        let long = "The Very Long Name of a Counselling and Psychotherapy Practice in the North of England and Wales";
        let lines = wrap(&bold, 72.0, long, 1040.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with('…'), "{lines:?}");
        for line in &lines {
            assert!(measure(&bold, 72.0, line) <= 1040.0, "{line}");
        }
        let one_word = "Supercalifragilisticexpialidocious-Psychotherapy-Limited";
        let lines = wrap(&bold, 72.0, one_word, 1040.0, 2);
        assert!(measure(&bold, 72.0, &lines[0]) <= 1040.0);
        assert!(lines[0].ends_with('…'));
        // Letters beyond the subset draw nothing rather than fail.
        let _ = social_card(
            CardText {
                name: "心理療法 Ψ",
                who: "",
                address: "",
            },
            COLOURS,
        );
    }
}
