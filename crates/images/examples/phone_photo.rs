//! Write a photo as a phone takes it: 4000 × 3000 (12 megapixels), with detail like a real
//! scene's (so it is several megabytes, as a phone's is), EXIF with a GPS position and a
//! Display P3 colour profile, as an iPhone's has.
//! `cargo xtask bench photos` uploads it.
//!
//! `cargo run --release -p anteroom-images --features testing --example phone_photo -- OUT.jpg`

use anteroom_images::testing::{HOME, phone_jpeg};

fn main() {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: phone_photo OUT.jpg");
        std::process::exit(2);
    };
    let (width, height) = (4000u32, 3000u32);
    // Broad light and shade, with fine grain that JPEG must keep (like foliage or fabric).
    let picture = anteroom_images::RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let grain = {
            let mut h = x.wrapping_mul(0x9e37_79b9) ^ y.wrapping_mul(0x85eb_ca6b);
            h ^= h >> 15;
            h = h.wrapping_mul(0x2c1b_3c6d);
            h ^= h >> 12;
            (h & 0x1f) as f32 - 16.0
        };
        let wave = ((fx * 23.0).sin() * (fy * 17.0).cos()) * 40.0;
        let channel = |base: f32| (base + wave + grain).clamp(0.0, 255.0) as u8;
        image_rgb([
            channel(90.0 + 120.0 * fy),
            channel(140.0 - 40.0 * fx),
            channel(200.0 - 110.0 * fy),
        ])
    });
    let bytes = phone_jpeg(&picture, &HOME);
    if let Err(error) = std::fs::write(&out, &bytes) {
        eprintln!("cannot write {out}: {error}");
        std::process::exit(1);
    }
    println!("{out}: {width} x {height}, {} bytes", bytes.len());
}

fn image_rgb(channels: [u8; 3]) -> image::Rgb<u8> {
    image::Rgb(channels)
}
