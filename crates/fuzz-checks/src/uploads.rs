//! Photo uploads (issue 16): the `multipart/form-data` reader (`web::upload`) and the photo
//! decoders behind `images::process`, both fed whatever arrives.
//!
//! Properties: neither panics on any input; a form read has at most one file and no more
//! parts than the limit; a photo accepted comes out as the promised widths, each in WebP and
//! JPEG, none wider than the largest, with no EXIF in any of them.

/// The first byte picks what the rest is: a form body, or a photo.
pub fn check(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    if which % 2 == 0 {
        if let Some((fields, file)) = web::fuzzing::upload_form(rest, "XyZ") {
            assert!(fields <= 16, "{fields} fields read");
            assert!(
                file.is_none_or(|length| length <= rest.len()),
                "a file longer than the body it came in"
            );
        }
    } else if let Ok(processed) = images::process(rest) {
        assert!(!processed.variants.is_empty());
        assert_eq!(processed.variants.len() % 2, 0, "each width in two formats");
        for variant in &processed.variants {
            assert!(variant.width <= processed.width);
            assert!(variant.width <= *images::WIDTHS.last().unwrap_or(&0));
            assert!(
                !variant.bytes.windows(4).any(|w| w == b"Exif"),
                "a variant carries EXIF"
            );
        }
    }
}
