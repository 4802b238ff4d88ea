//! The practice's look: one of the designed themes, and an accent colour of the therapist's
//! choosing, refused when text on it or it on the page could not be read (WCAG 2.2 AA).
//!
//! The accent fills buttons and panels (white text on it in light mode), marks the header
//! and cards, and colours a few words on the page. So an accent must give white text 4.5:1
//! and itself stand 4.5:1 on the theme's page (AA for text, which covers the 3:1 that
//! controls need). In dark mode the site uses a lighter version of the same hue, made here
//! ([`Accent::for_dark`]), with dark text on it, held to the same two rules. A refused colour comes back with the nearest that passes: the same hue and
//! saturation, darker or lighter by as little as will do.

use std::fmt;

use serde::Serialize;

/// A designed theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// The present calm, plain look: system fonts, square corners, green.
    #[default]
    Plain,
    /// Quiet and literary: a book face, cream paper, a narrow column.
    Literary,
    /// Warm and rounded: soft corners, terracotta and sand.
    Warm,
    /// Clean and modern: a crisp sans-serif, white space, a strong blue.
    Modern,
}

impl Theme {
    /// Every theme, in the order the settings offer them.
    pub const ALL: [Theme; 4] = [Self::Plain, Self::Literary, Self::Warm, Self::Modern];

    /// The stored and URL form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Literary => "literary",
            Self::Warm => "warm",
            Self::Modern => "modern",
        }
    }

    /// Parse the stored form.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    /// Its name in the settings.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "Plain",
            Self::Literary => "Literary",
            Self::Warm => "Warm",
            Self::Modern => "Modern",
        }
    }

    /// What it is like, in a sentence.
    pub fn description(self) -> &'static str {
        match self {
            Self::Plain => "Calm and plain: clear system lettering, square edges, a quiet green.",
            Self::Literary => {
                "Quiet and literary: a book typeface on warm paper, like a well-made pamphlet."
            }
            Self::Warm => {
                "Warm and rounded: soft corners, sand and terracotta, friendly lettering."
            }
            Self::Modern => {
                "Clean and modern: crisp lettering, plenty of white space, a clear blue."
            }
        }
    }

    /// The page's background in light mode.
    pub fn light_background(self) -> Colour {
        match self {
            Self::Plain => Colour(0xfd, 0xfc, 0xfa),
            Self::Literary => Colour(0xfb, 0xf7, 0xef),
            Self::Warm => Colour(0xfd, 0xf8, 0xf3),
            Self::Modern => Colour(0xff, 0xff, 0xff),
        }
    }

    /// The page's background in dark mode.
    pub fn dark_background(self) -> Colour {
        match self {
            Self::Plain => Colour(0x16, 0x18, 0x17),
            Self::Literary => Colour(0x1b, 0x19, 0x16),
            Self::Warm => Colour(0x1f, 0x1a, 0x17),
            Self::Modern => Colour(0x12, 0x14, 0x18),
        }
    }

    /// Text in light mode.
    pub fn text(self) -> Colour {
        match self {
            Self::Plain => Colour(0x1d, 0x1d, 0x1b),
            Self::Literary => Colour(0x2a, 0x26, 0x23),
            Self::Warm => Colour(0x2b, 0x23, 0x20),
            Self::Modern => Colour(0x11, 0x14, 0x18),
        }
    }

    /// Quieter text in light mode (hints, subtitles).
    pub fn muted(self) -> Colour {
        match self {
            Self::Plain => Colour(0x4a, 0x4f, 0x55),
            Self::Literary => Colour(0x5a, 0x53, 0x4c),
            Self::Warm => Colour(0x5e, 0x51, 0x4a),
            Self::Modern => Colour(0x4b, 0x55, 0x63),
        }
    }

    /// The theme's own accent.
    pub fn accent(self) -> Colour {
        match self {
            Self::Plain => Colour(0x2f, 0x6b, 0x4f),
            Self::Literary => Colour(0x6b, 0x3a, 0x2e),
            Self::Warm => Colour(0xa8, 0x4a, 0x2a),
            Self::Modern => Colour(0x1f, 0x5f, 0xbf),
        }
    }
}

impl fmt::Display for Theme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An sRGB colour, eight bits a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Colour(pub u8, pub u8, pub u8);

/// Dark text on light buttons in dark mode (the stylesheet's own).
const DARK_TEXT: Colour = Colour(0x0b, 0x0c, 0x0c);
const WHITE: Colour = Colour(0xff, 0xff, 0xff);

/// Contrast for text (WCAG AA, normal size).
pub const TEXT_CONTRAST: f64 = 4.5;

impl Colour {
    /// Parse `#rrggbb`, `rrggbb` or `#rgb` (any case, spaces around ignored).
    pub fn parse(raw: &str) -> Option<Self> {
        let hex = raw.trim().trim_start_matches('#');
        let digit = |i: usize| u8::from_str_radix(hex.get(i..=i)?, 16).ok();
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        match hex.len() {
            6 => {
                let pair = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
                Some(Self(pair(0)?, pair(2)?, pair(4)?))
            }
            3 => Some(Self(digit(0)? * 17, digit(1)? * 17, digit(2)? * 17)),
            _ => None,
        }
    }

    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// Relative luminance (WCAG 2.2).
    pub fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2)
    }

    /// Contrast ratio with another colour, 1 to 21.
    pub fn contrast(self, other: Colour) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (light, dark) = if a > b { (a, b) } else { (b, a) };
        (light + 0.05) / (dark + 0.05)
    }

    /// Hue (0–360), saturation and lightness (0–1).
    fn hsl(self) -> (f64, f64, f64) {
        let (r, g, b) = (
            f64::from(self.0) / 255.0,
            f64::from(self.1) / 255.0,
            f64::from(self.2) / 255.0,
        );
        let max = r.max(g).max(b);
        let min = r.min(g).min(b);
        let l = (max + min) / 2.0;
        let d = max - min;
        if d == 0.0 {
            return (0.0, 0.0, l);
        }
        let s = d / (1.0 - (2.0 * l - 1.0).abs());
        let h = if max == r {
            60.0 * (((g - b) / d).rem_euclid(6.0))
        } else if max == g {
            60.0 * ((b - r) / d + 2.0)
        } else {
            60.0 * ((r - g) / d + 4.0)
        };
        (h, s, l)
    }

    fn from_hsl(h: f64, s: f64, l: f64) -> Self {
        let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
        let x = c * (1.0 - ((h / 60.0).rem_euclid(2.0) - 1.0).abs());
        let m = l - c / 2.0;
        let (r, g, b) = match (h / 60.0) as u32 {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
        Self(byte(r), byte(g), byte(b))
    }

    /// The same hue and saturation at lightness `l`.
    fn with_lightness(self, l: f64) -> Self {
        let (h, s, _) = self.hsl();
        Self::from_hsl(h, s, l.clamp(0.0, 1.0))
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

/// An accent colour that passes on its theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accent(Colour);

/// Why an accent colour was refused, with the nearest that passes.
#[derive(Debug, Clone, PartialEq)]
pub struct AccentRefused {
    /// White text on it.
    pub text_contrast: f64,
    /// It against the page.
    pub page_contrast: f64,
    pub suggestion: Colour,
}

impl fmt::Display for AccentRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "This colour is too light to read easily: white writing on it has a contrast of \
             {:.1} to 1, and it has {:.1} to 1 on the page, where at least 4.5 to 1 is needed \
             for both. The nearest colour that passes is {}",
            self.text_contrast, self.page_contrast, self.suggestion
        )?;
        Ok(())
    }
}

/// Whether `colour` works as the light-mode accent on `theme`.
fn passes(theme: Theme, colour: Colour) -> bool {
    colour.contrast(WHITE) >= TEXT_CONTRAST
        && colour.contrast(theme.light_background()) >= TEXT_CONTRAST
}

impl Accent {
    /// Check a colour against the theme (see the module's comment).
    pub fn check(theme: Theme, colour: Colour) -> Result<Self, AccentRefused> {
        if passes(theme, colour) {
            return Ok(Self(colour));
        }
        Err(AccentRefused {
            text_contrast: colour.contrast(WHITE),
            page_contrast: colour.contrast(theme.light_background()),
            suggestion: nearest_passing(theme, colour),
        })
    }

    /// The colour.
    pub fn colour(self) -> Colour {
        self.0
    }

    /// The theme's own accent (which passes: a test checks each).
    pub fn of_theme(theme: Theme) -> Self {
        Self(theme.accent())
    }

    /// A darker shade for hovering (its lightness less by a sixth, so white text keeps
    /// its contrast).
    pub fn hover(self) -> Colour {
        let (_, _, l) = self.0.hsl();
        self.0.with_lightness(l * 0.82)
    }

    /// The light-mode accent's partner in dark mode: the same hue, light enough for dark
    /// text on it and to stand on the dark page, 4.5:1 each.
    pub fn for_dark(self, theme: Theme) -> Colour {
        let (_, _, l) = self.0.hsl();
        let background = theme.dark_background();
        let mut lightness = l.max(0.5);
        loop {
            let candidate = self.0.with_lightness(lightness);
            if (candidate.contrast(DARK_TEXT) >= TEXT_CONTRAST
                && candidate.contrast(background) >= TEXT_CONTRAST)
                || lightness >= 1.0
            {
                return candidate;
            }
            lightness += 0.01;
        }
    }
}

/// The colour nearest `colour` (same hue and saturation, lightness changed by as little as
/// possible) that passes on `theme`.
fn nearest_passing(theme: Theme, colour: Colour) -> Colour {
    let (_, _, l) = colour.hsl();
    (1..=100)
        .flat_map(|step| {
            let delta = f64::from(step) / 100.0;
            [l - delta, l + delta]
        })
        .filter(|l| (0.0..=1.0).contains(l))
        .map(|l| colour.with_lightness(l))
        .find(|c| passes(theme, *c))
        // Lightness 0 of any hue is black, which passes on every theme's page.
        .unwrap_or(Colour(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_read_in_the_usual_forms() {
        assert_eq!(Colour::parse("#2F6B4F"), Some(Colour(0x2f, 0x6b, 0x4f)));
        assert_eq!(Colour::parse(" 2f6b4f "), Some(Colour(0x2f, 0x6b, 0x4f)));
        assert_eq!(Colour::parse("#abc"), Some(Colour(0xaa, 0xbb, 0xcc)));
        for bad in [
            "", "#", "#12345", "#1234567", "#gg0000", "red", "#+12345", "#é12",
        ] {
            assert_eq!(Colour::parse(bad), None, "{bad}");
        }
        assert_eq!(Colour(1, 2, 255).hex(), "#0102ff");
    }

    #[test]
    fn contrast_is_as_wcag_counts_it() {
        assert!((WHITE.contrast(Colour(0, 0, 0)) - 21.0).abs() < 1e-9);
        assert!((WHITE.contrast(WHITE) - 1.0).abs() < 1e-9);
        // #767676 is the lightest grey with 4.5:1 on white.
        assert!(Colour(0x76, 0x76, 0x76).contrast(WHITE) >= 4.5);
        assert!(Colour(0x77, 0x77, 0x77).contrast(WHITE) < 4.5);
    }

    #[test]
    fn every_themes_own_accent_passes_in_both_modes() {
        for theme in Theme::ALL {
            let accent = Accent::check(theme, theme.accent()).unwrap();
            let dark = accent.for_dark(theme);
            assert!(dark.contrast(DARK_TEXT) >= TEXT_CONTRAST, "{theme}");
            assert!(
                dark.contrast(theme.dark_background()) >= TEXT_CONTRAST,
                "{theme}"
            );
            assert!(accent.hover().contrast(WHITE) >= TEXT_CONTRAST, "{theme}");
            assert_eq!(Theme::parse(theme.as_str()), Some(theme));
            // The social card's words on the theme's page.
            assert!(
                theme.text().contrast(theme.light_background()) >= 7.0,
                "{theme}"
            );
            assert!(
                theme.muted().contrast(theme.light_background()) >= TEXT_CONTRAST,
                "{theme}"
            );
        }
    }

    #[test]
    fn a_pale_accent_is_refused_with_the_nearest_that_passes() {
        let pale = Colour::parse("#f4a6c0").unwrap();
        let refused = Accent::check(Theme::Plain, pale).unwrap_err();
        assert!(refused.text_contrast < 4.5);
        let suggestion = refused.suggestion;
        assert!(Accent::check(Theme::Plain, suggestion).is_ok());
        // Same hue, a little darker: no darker than needed.
        let (h0, _, _) = pale.hsl();
        let (h1, _, l1) = suggestion.hsl();
        assert!((h0 - h1).abs() < 4.0, "{h0} {h1}");
        assert!(!passes(Theme::Plain, suggestion.with_lightness(l1 + 0.02)));
        assert!(refused.to_string().contains(&suggestion.hex()));
    }

    #[test]
    fn the_suggestion_always_passes() {
        for r in (0..=255).step_by(17) {
            for g in (0..=255).step_by(51) {
                for b in (0..=255).step_by(51) {
                    let colour = Colour(r, g, b);
                    for theme in Theme::ALL {
                        match Accent::check(theme, colour) {
                            Ok(accent) => {
                                let dark = accent.for_dark(theme);
                                assert!(dark.contrast(DARK_TEXT) >= TEXT_CONTRAST);
                                assert!(dark.contrast(theme.dark_background()) >= TEXT_CONTRAST);
                            }
                            Err(refused) => assert!(passes(theme, refused.suggestion)),
                        }
                    }
                }
            }
        }
    }
}
