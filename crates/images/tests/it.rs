//! Uploads as phones and cameras make them, through `images::process`.

use anteroom_images::{
    Format, MAX_UPLOAD_BYTES, Refusal, process,
    testing::{
        Exif, HOME, contains, display_p3_profile, jpeg_with_profile, phone_jpeg, picture, telltales,
    },
};
use image::ImageDecoder;

#[test]
fn a_gps_tagged_photo_comes_out_with_no_location_in_any_byte() {
    let upload = phone_jpeg(&picture(1200, 900), &HOME);
    // The upload really does carry it all, as the decoder sees it.
    let mut decoder = image::ImageReader::new(std::io::Cursor::new(&upload))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    assert!(decoder.exif_metadata().unwrap().is_some());
    assert!(decoder.icc_profile().unwrap().is_some());
    assert!(contains(&upload, b"Acacia"));

    let processed = process(&upload).unwrap();
    assert_eq!(processed.variants.len(), 8, "{:?}", processed.variants);
    for variant in &processed.variants {
        let bytes = &variant.bytes;
        for needle in telltales() {
            assert!(
                !contains(bytes, &needle),
                "{:?} {}x{} contains {:?}",
                variant.format,
                variant.width,
                variant.height,
                String::from_utf8_lossy(&needle)
            );
        }
        let format = match variant.format {
            Format::Jpeg => image::ImageFormat::Jpeg,
            Format::Webp => image::ImageFormat::WebP,
        };
        let mut decoder = image::ImageReader::with_format(std::io::Cursor::new(bytes), format)
            .into_decoder()
            .unwrap();
        assert_eq!(decoder.dimensions(), (variant.width, variant.height));
        assert_eq!(decoder.exif_metadata().unwrap(), None);
        assert_eq!(decoder.icc_profile().unwrap(), None);
    }
}

#[test]
fn sizes_and_formats_are_as_served() {
    let processed = process(&phone_jpeg(&picture(1800, 1200), &HOME)).unwrap();
    let made: Vec<_> = processed
        .variants
        .iter()
        .map(|v| (v.width, v.height, v.format))
        .collect();
    assert_eq!(
        made,
        [
            (1600, 1067, Format::Webp),
            (1600, 1067, Format::Jpeg),
            (1024, 683, Format::Webp),
            (1024, 683, Format::Jpeg),
            (640, 427, Format::Webp),
            (640, 427, Format::Jpeg),
            (320, 213, Format::Webp),
            (320, 213, Format::Jpeg),
        ]
    );
    assert_eq!((processed.width, processed.height), (1600, 1067));
    assert!(processed.variants[0].bytes.starts_with(b"RIFF"));
    assert!(processed.variants[1].bytes.starts_with(&[0xff, 0xd8]));
    // WebP is the smaller at every width, which is why it is offered first.
    for pair in processed.variants.chunks(2) {
        assert!(pair[0].bytes.len() < pair[1].bytes.len(), "{pair:?}");
    }
    // The key names the content: the same photo again has it, another does not.
    let again = process(&phone_jpeg(&picture(1800, 1200), &HOME)).unwrap();
    assert_eq!(again.key, processed.key);
    let other = process(&phone_jpeg(&picture(1800, 1201), &HOME)).unwrap();
    assert_ne!(other.key, processed.key);
    assert_eq!(processed.key.len(), 20);
    assert!(processed.key.bytes().all(|b| b.is_ascii_hexdigit()));
}

/// The colour in the middle of each variant of `upload`, as a browser shows it (no profile:
/// sRGB).
fn middle_colours(upload: &[u8]) -> Vec<[u8; 3]> {
    let processed = process(upload).unwrap();
    processed
        .variants
        .iter()
        .map(|v| {
            let shown = image::load_from_memory(&v.bytes).unwrap().into_rgb8();
            shown.get_pixel(shown.width() / 2, shown.height() / 2).0
        })
        .collect()
}

#[test]
fn a_photo_in_display_p3_is_shown_in_the_same_colours_without_its_profile() {
    let flat = |rgb: [u8; 3]| image::RgbImage::from_pixel(400, 300, image::Rgb(rgb));
    let p3 = display_p3_profile();
    let near = |a: [u8; 3], b: [u8; 3], by: u8| a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= by);
    // A warm brick red as an iPhone stores it: in sRGB it is redder (about 194, 83, 75).
    let brick = [180, 90, 80];
    for shown in middle_colours(&jpeg_with_profile(&flat(brick), &p3)) {
        assert!(
            shown[0] >= 188 && shown[1] <= 87 && shown[2] <= 78,
            "converted to sRGB: {shown:?}"
        );
    }
    // Without a profile it is taken as sRGB already, and kept.
    for shown in middle_colours(&jpeg_with_profile(&flat(brick), &[])) {
        assert!(near(shown, brick, 3), "as it came: {shown:?}");
    }
    // Greys are the same in both.
    for shown in middle_colours(&jpeg_with_profile(&flat([128, 128, 128]), &p3)) {
        assert!(near(shown, [128, 128, 128], 3), "grey: {shown:?}");
    }
    // A profile that is not one (or not RGB) leaves the colours as stored.
    let mut grey_profile = p3.clone();
    grey_profile[16..20].copy_from_slice(b"GRAY");
    for broken in [b"not a profile at all".to_vec(), grey_profile] {
        for shown in middle_colours(&jpeg_with_profile(&flat(brick), &broken)) {
            assert!(near(shown, brick, 3), "left as stored: {shown:?}");
        }
    }
}

#[test]
fn a_photo_taken_sideways_is_turned_upright() {
    // Stored 400 × 300 with the red half on the left; orientation 6 says "turn a quarter
    // clockwise to show", so it shows 300 × 400 with the red half on top.
    let sideways = Exif {
        orientation: 6,
        ..HOME
    };
    let processed = process(&phone_jpeg(&picture(400, 300), &sideways)).unwrap();
    assert_eq!((processed.width, processed.height), (300, 400));
    let shown = image::load_from_memory(&processed.variants[1].bytes)
        .unwrap()
        .into_rgb8();
    let top = shown.get_pixel(150, 40).0;
    let bottom = shown.get_pixel(150, 360).0;
    assert!(top[0] > 150 && top[2] < 90, "top {top:?}");
    assert!(bottom[2] > 120, "bottom {bottom:?}");
}

#[test]
fn png_and_webp_uploads_are_taken_and_transparency_goes_white() {
    let mut rgba = image::RgbaImage::from_pixel(500, 400, image::Rgba([0, 0, 0, 0]));
    for y in 0..200 {
        for x in 0..500 {
            rgba.put_pixel(x, y, image::Rgba([20, 40, 200, 255]));
        }
    }
    let mut png = Vec::new();
    rgba.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let processed = process(&png).unwrap();
    let shown = image::load_from_memory(&processed.variants[1].bytes)
        .unwrap()
        .into_rgb8();
    assert!(shown.get_pixel(250, 350).0.iter().all(|c| *c > 240));
    assert!(shown.get_pixel(250, 50).0[2] > 170);

    let rgb = picture(600, 400);
    let webp = webp::Encoder::from_rgb(rgb.as_raw(), 600, 400).encode(90.0);
    let processed = process(&webp).unwrap();
    assert_eq!((processed.width, processed.height), (600, 400));
}

/// A PNG whose header says `width` × `height` and has no pixels: enough to be judged by.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for b in bytes {
            crc ^= u32::from(*b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    // The decoder reads up to the first image data before it says how large the image is.
    png.extend_from_slice(&0u32.to_be_bytes());
    png.extend_from_slice(b"IDAT");
    png.extend_from_slice(&crc32(b"IDAT").to_be_bytes());
    png
}

#[test]
fn anything_else_is_refused_with_its_reason() {
    assert_eq!(process(b"").unwrap_err(), Refusal::Empty);
    assert_eq!(
        process(b"GIF89a\x01\0\x01\0\0\0\0;").unwrap_err(),
        Refusal::Unsupported
    );
    assert_eq!(
        process(b"%PDF-1.7 a letter, not a photo").unwrap_err(),
        Refusal::Unsupported
    );
    let mut broken = vec![0xff, 0xd8, 0xff, 0xe0];
    broken.extend(std::iter::repeat_n(0x5a, 4000));
    assert_eq!(process(&broken).unwrap_err(), Refusal::Undecodable);
    assert_eq!(
        process(&png_header(8000, 6000)).unwrap_err(),
        Refusal::TooManyPixels {
            megapixels: 48,
            limit: 24
        }
    );
    assert_eq!(
        anteroom_images::process_within(&phone_jpeg(&picture(2400, 2000), &HOME), 4_000_000)
            .unwrap_err(),
        Refusal::TooManyPixels {
            megapixels: 5,
            limit: 4
        },
        "a lower bound for pictures read from elsewhere"
    );
    assert_eq!(
        process(&png_header(u32::MAX / 2, u32::MAX / 2)).unwrap_err(),
        Refusal::Undecodable,
        "dimensions beyond the format's own limits are a damaged file"
    );
    let small = phone_jpeg(&picture(300, 150), &HOME);
    assert_eq!(
        process(&small).unwrap_err(),
        Refusal::TooSmall {
            width: 300,
            height: 150
        }
    );
    let mut huge = phone_jpeg(&picture(400, 300), &HOME);
    huge.resize(MAX_UPLOAD_BYTES + 1, 0);
    assert_eq!(process(&huge).unwrap_err(), Refusal::TooLarge);
    // Every reason is a sentence someone can act on.
    for refusal in [
        Refusal::Heic,
        Refusal::TooManyPixels {
            megapixels: 48,
            limit: 24,
        },
    ] {
        let words = refusal.to_string();
        assert!(words.contains("export"), "{words}");
    }
}

#[test]
fn the_demo_drawings_go_through_like_uploads() {
    let portrait = process(&anteroom_images::png(&anteroom_images::draw::portrait())).unwrap();
    assert_eq!((portrait.width, portrait.height), (960, 1200));
    let room = process(&anteroom_images::png(&anteroom_images::draw::room(1))).unwrap();
    assert_eq!((room.width, room.height), (1600, 1067));
    // Flat drawings compress well: the phone-sized portrait is a few kilobytes.
    let phone = portrait
        .variants
        .iter()
        .find(|v| v.width == 640 && v.format == Format::Webp)
        .unwrap();
    assert!(phone.bytes.len() < 30_000, "{}", phone.bytes.len());
}
