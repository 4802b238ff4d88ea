//! Pictures drawn by code for the demo practice: a portrait of nobody and two consulting
//! rooms, in flat shapes with soft edges, so the demo ships nothing photographed and no
//! one's likeness.
//!
//! Shapes are filled by their signed distance (a pixel half inside is half covered), only
//! over their bounding box, so a picture takes milliseconds.

use image::{Rgb, RgbImage};

/// A colour as `0xRRGGBB`.
type Hex = u32;

fn rgb(hex: Hex) -> [f32; 3] {
    [
        ((hex >> 16) & 0xff) as f32,
        ((hex >> 8) & 0xff) as f32,
        (hex & 0xff) as f32,
    ]
}

/// A shape to fill, in pixels.
#[derive(Clone, Copy)]
enum Shape {
    /// Centre and radii.
    Ellipse { cx: f32, cy: f32, rx: f32, ry: f32 },
    /// Corners and corner radius.
    Rect {
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
        r: f32,
    },
}

impl Shape {
    fn bounds(self) -> (f32, f32, f32, f32) {
        match self {
            Self::Ellipse { cx, cy, rx, ry } => (cx - rx, cy - ry, cx + rx, cy + ry),
            Self::Rect { x0, y0, x1, y1, .. } => (x0, y0, x1, y1),
        }
    }

    /// Signed distance from the edge (negative inside), close enough for edges a pixel wide.
    fn distance(self, x: f32, y: f32) -> f32 {
        match self {
            Self::Ellipse { cx, cy, rx, ry } => {
                let (dx, dy) = ((x - cx) / rx, (y - cy) / ry);
                ((dx * dx + dy * dy).sqrt() - 1.0) * rx.min(ry)
            }
            Self::Rect { x0, y0, x1, y1, r } => {
                let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
                let (hx, hy) = ((x1 - x0) / 2.0 - r, (y1 - y0) / 2.0 - r);
                let qx = (x - cx).abs() - hx;
                let qy = (y - cy).abs() - hy;
                let outside = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt();
                outside + qx.max(qy).min(0.0) - r
            }
        }
    }
}

struct Canvas {
    picture: RgbImage,
}

impl Canvas {
    /// A canvas shaded from `top` to `bottom`.
    fn new(width: u32, height: u32, top: Hex, bottom: Hex) -> Self {
        let (top, bottom) = (rgb(top), rgb(bottom));
        let picture = RgbImage::from_fn(width, height, |_, y| {
            let t = y as f32 / height.max(1) as f32;
            Rgb(std::array::from_fn(|i| {
                (top[i] + (bottom[i] - top[i]) * t).round() as u8
            }))
        });
        Self { picture }
    }

    fn fill(&mut self, shape: Shape, colour: Hex) {
        self.fill_with(shape, colour, 1.0);
    }

    /// Fill `shape` with `colour` at `opacity`, edges softened over a pixel.
    fn fill_with(&mut self, shape: Shape, colour: Hex, opacity: f32) {
        let colour = rgb(colour);
        let (width, height) = self.picture.dimensions();
        let (x0, y0, x1, y1) = shape.bounds();
        let clamp = |v: f32, max: u32| (v.max(0.0) as u32).min(max);
        for y in clamp(y0 - 1.0, height)..clamp(y1 + 2.0, height) {
            for x in clamp(x0 - 1.0, width)..clamp(x1 + 2.0, width) {
                let d = shape.distance(x as f32 + 0.5, y as f32 + 0.5);
                let cover = (0.5 - d).clamp(0.0, 1.0) * opacity;
                if cover > 0.0 {
                    let pixel = self.picture.get_pixel_mut(x, y);
                    for (c, new) in pixel.0.iter_mut().zip(colour) {
                        *c = (f32::from(*c) * (1.0 - cover) + new * cover).round() as u8;
                    }
                }
            }
        }
    }
}

fn ellipse(cx: f32, cy: f32, rx: f32, ry: f32) -> Shape {
    Shape::Ellipse { cx, cy, rx, ry }
}

fn rect(x0: f32, y0: f32, x1: f32, y1: f32, r: f32) -> Shape {
    Shape::Rect { x0, y0, x1, y1, r }
}

/// A head-and-shoulders portrait of no one, 960 × 1200: a figure in a knitted jumper before
/// a sage wall, drawn in flat shapes.
pub fn portrait() -> RgbImage {
    let (w, h) = (960.0, 1200.0);
    let mut c = Canvas::new(960, 1200, 0xdfe6dc, 0xb9c7b6);
    // Soft light behind the head.
    c.fill_with(ellipse(w * 0.5, h * 0.38, 380.0, 380.0), 0xeef2ea, 0.6);
    // A plant's leaves at the edge of the frame.
    for (cx, cy, rx, ry) in [
        (90.0, 700.0, 60.0, 150.0),
        (150.0, 760.0, 50.0, 130.0),
        (40.0, 820.0, 55.0, 140.0),
    ] {
        c.fill(ellipse(cx, cy, rx, ry), 0x6f8f6a);
    }
    // Shoulders and jumper.
    c.fill(rect(150.0, 880.0, 810.0, 1300.0, 260.0), 0x4d6a7a);
    c.fill(rect(190.0, 900.0, 770.0, 1300.0, 230.0), 0x557587);
    // Neck.
    c.fill(rect(410.0, 640.0, 550.0, 930.0, 60.0), 0xc99b7e);
    c.fill(ellipse(480.0, 905.0, 120.0, 55.0), 0x4d6a7a);
    // Hair behind, face, hair over.
    c.fill(ellipse(480.0, 470.0, 235.0, 270.0), 0x3d2f2a);
    c.fill(ellipse(480.0, 520.0, 185.0, 230.0), 0xd7a98a);
    c.fill(ellipse(480.0, 330.0, 215.0, 120.0), 0x3d2f2a);
    c.fill(ellipse(330.0, 420.0, 70.0, 150.0), 0x3d2f2a);
    c.fill(ellipse(630.0, 420.0, 70.0, 150.0), 0x3d2f2a);
    // Ears.
    c.fill(ellipse(296.0, 540.0, 26.0, 48.0), 0xc99b7e);
    c.fill(ellipse(664.0, 540.0, 26.0, 48.0), 0xc99b7e);
    // A kind, simple face: eyes, brows, the hint of a smile.
    for x in [410.0, 550.0] {
        c.fill(ellipse(x, 530.0, 17.0, 12.0), 0x2b211d);
        c.fill(rect(x - 38.0, 480.0, x + 38.0, 491.0, 5.0), 0x3d2f2a);
    }
    c.fill(ellipse(480.0, 655.0, 58.0, 20.0), 0xa8624f);
    c.fill(ellipse(480.0, 645.0, 62.0, 17.0), 0xd7a98a);
    c.fill_with(ellipse(400.0, 610.0, 40.0, 24.0), 0xe59f8a, 0.35);
    c.fill_with(ellipse(560.0, 610.0, 40.0, 24.0), 0xe59f8a, 0.35);
    c.picture
}

/// The colours of one consulting room.
struct Palette {
    wall: (Hex, Hex),
    floor: Hex,
    chair: Hex,
    chair_shade: Hex,
    rug: Hex,
}

/// A consulting room, 1600 × 1067: a window with daylight, two armchairs facing, a rug, a
/// small table and a plant. `which` (0 or 1) picks the room's colours and arrangement.
pub fn room(which: u8) -> RgbImage {
    let palette = if which.is_multiple_of(2) {
        Palette {
            wall: (0xe9e2d6, 0xd9cfbf),
            floor: 0x9c7a5b,
            chair: 0x7a8f6e,
            chair_shade: 0x647759,
            rug: 0xc9a98a,
        }
    } else {
        Palette {
            wall: (0xdde4e8, 0xc8d2d8),
            floor: 0x8b7d6f,
            chair: 0xb7735a,
            chair_shade: 0x9a5f4a,
            rug: 0x9fb1b9,
        }
    };
    let mut c = Canvas::new(1600, 1067, palette.wall.0, palette.wall.1);
    // Floor and skirting.
    c.fill(rect(0.0, 760.0, 1600.0, 1067.0, 0.0), palette.floor);
    c.fill(rect(0.0, 748.0, 1600.0, 766.0, 0.0), 0xf4f1ea);
    // The window: frame, light, glazing bars.
    let wx = if which.is_multiple_of(2) {
        980.0
    } else {
        260.0
    };
    c.fill(rect(wx, 150.0, wx + 380.0, 600.0, 6.0), 0xf7f5f0);
    c.fill(rect(wx + 18.0, 168.0, wx + 362.0, 582.0, 2.0), 0xcfe3ee);
    c.fill_with(
        rect(wx + 18.0, 168.0, wx + 362.0, 340.0, 2.0),
        0xf3f8fb,
        0.7,
    );
    c.fill(rect(wx + 184.0, 168.0, wx + 196.0, 582.0, 0.0), 0xf7f5f0);
    c.fill(rect(wx + 18.0, 370.0, wx + 362.0, 382.0, 0.0), 0xf7f5f0);
    // A picture on the wall.
    let px = if which.is_multiple_of(2) {
        300.0
    } else {
        1060.0
    };
    c.fill(rect(px, 240.0, px + 240.0, 420.0, 4.0), 0x6b5a4a);
    c.fill(rect(px + 14.0, 254.0, px + 226.0, 406.0, 2.0), 0xe8dcc4);
    c.fill(ellipse(px + 120.0, 370.0, 100.0, 40.0), 0x9fb59a);
    // The rug.
    c.fill(ellipse(800.0, 900.0, 520.0, 95.0), palette.rug);
    // Two armchairs facing each other.
    for (x, flip) in [(260.0, false), (1040.0, true)] {
        let back = if flip { x + 230.0 } else { x };
        c.fill(
            rect(back, 480.0, back + 70.0, 820.0, 30.0),
            palette.chair_shade,
        );
        c.fill(rect(x, 640.0, x + 300.0, 800.0, 34.0), palette.chair);
        c.fill(
            rect(x - 10.0, 600.0, x + 50.0, 800.0, 26.0),
            palette.chair_shade,
        );
        c.fill(
            rect(x + 250.0, 600.0, x + 310.0, 800.0, 26.0),
            palette.chair_shade,
        );
        c.fill(rect(x + 20.0, 800.0, x + 36.0, 860.0, 4.0), 0x4a3b2f);
        c.fill(rect(x + 264.0, 800.0, x + 280.0, 860.0, 4.0), 0x4a3b2f);
    }
    // A small table between them, with a box of tissues and a glass of water.
    c.fill(rect(700.0, 700.0, 900.0, 716.0, 6.0), 0x6b5443);
    c.fill(rect(716.0, 716.0, 730.0, 860.0, 3.0), 0x6b5443);
    c.fill(rect(870.0, 716.0, 884.0, 860.0, 3.0), 0x6b5443);
    c.fill(rect(730.0, 664.0, 810.0, 700.0, 5.0), 0xf2efe8);
    c.fill(ellipse(770.0, 662.0, 18.0, 10.0), 0xffffff);
    c.fill_with(rect(840.0, 640.0, 868.0, 700.0, 4.0), 0xd9eef5, 0.8);
    // A plant in a pot by the wall.
    let plant = if which.is_multiple_of(2) {
        120.0
    } else {
        1440.0
    };
    c.fill(
        rect(plant - 50.0, 640.0, plant + 50.0, 770.0, 12.0),
        0xb36b4e,
    );
    for (dx, dy, rx, ry) in [
        (-40.0, 520.0, 38.0, 110.0),
        (30.0, 500.0, 34.0, 125.0),
        (0.0, 470.0, 30.0, 140.0),
        (-70.0, 580.0, 34.0, 80.0),
        (65.0, 570.0, 30.0, 85.0),
    ] {
        c.fill(ellipse(plant + dx, dy, rx, ry), 0x56764f);
    }
    c.picture
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawings_are_the_promised_sizes_and_not_blank() {
        let portrait = portrait();
        assert_eq!(portrait.dimensions(), (960, 1200));
        for room in [room(0), room(1)] {
            assert_eq!(room.dimensions(), (1600, 1067));
            let first = room.get_pixel(0, 0);
            assert!(room.pixels().filter(|p| *p != first).count() > 100_000);
        }
        assert_ne!(room(0), room(1));
    }

    #[test]
    fn edges_are_soft() {
        let mut c = Canvas::new(10, 10, 0x000000, 0x000000);
        c.fill(rect(2.5, 0.0, 10.0, 10.0, 0.0), 0xffffff);
        let edge = c.picture.get_pixel(2, 5).0[0];
        assert!((100..=155).contains(&edge), "{edge}");
        assert_eq!(c.picture.get_pixel(5, 5).0[0], 255);
        assert_eq!(c.picture.get_pixel(0, 5).0[0], 0);
    }
}
