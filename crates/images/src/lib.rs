//! Photos the practice shows: read a therapist's upload, keep only its pixels, and make
//! the few sizes and formats the site serves.
//!
//! [`process`] accepts JPEG, PNG and WebP (HEIC is named and refused with a way round: no
//! maintained decoder builds here without system libraries). Nothing of the file but its
//! pixels survives: the image is decoded, turned the way its EXIF orientation says, flattened
//! onto white if it has transparency, its colours converted to sRGB from the ICC profile it
//! came with (a phone's Display P3, say), and encoded again by us, so EXIF (and the GPS
//! position in it), XMP, IPTC, comments and colour profiles are all left behind, and the
//! copies, with no profile, are sRGB as browsers assume. Each photo becomes
//! up to [`WIDTHS`] wide (never wider than it came), as lossy WebP and as JPEG for browsers
//! without WebP. Decoding is bounded: [`MAX_UPLOAD_BYTES`] of file and [`MAX_PIXELS`] of
//! picture, checked from the header before the pixels are read.
//!
//! [`draw`] makes the demo practice's pictures (drawn by code, nothing photographed), and
//! [`card`] the social preview card shown for a shared link when there is no portrait.

pub mod card;
pub mod draw;
#[cfg(feature = "testing")]
pub mod testing;

/// A picture of eight-bit red, green and blue (what [`draw`] makes and [`variants`] takes).
pub use image::RgbImage;

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

/// Largest file accepted: a 12-megapixel phone photo is 3–6 MB.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

/// Most pixels accepted (24 megapixels: 6000 × 4000). The decoded picture is three bytes a
/// pixel, so this bounds one job's memory.
pub const MAX_PIXELS: u64 = 24_000_000;

/// Shortest side accepted, in pixels: anything smaller looks blurred at the sizes shown.
pub const MIN_SIDE: u32 = 200;

/// The widths made of every photo (those narrower than the photo, and the photo's own width
/// when it is narrower than the last).
pub const WIDTHS: [u32; 4] = [320, 640, 1024, 1600];

/// JPEG quality of the fallback copies.
const JPEG_QUALITY: u8 = 80;
/// WebP quality (libwebp's 0–100 scale).
const WEBP_QUALITY: f32 = 76.0;

/// A format the site serves photos in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Webp,
    Jpeg,
}

impl Format {
    /// The file extension, also the stored name.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Webp => "webp",
            Self::Jpeg => "jpg",
        }
    }
    /// Parse a file extension.
    pub fn from_extension(raw: &str) -> Option<Self> {
        match raw {
            "webp" => Some(Self::Webp),
            "jpg" => Some(Self::Jpeg),
            _ => None,
        }
    }
    /// The media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Webp => "image/webp",
            Self::Jpeg => "image/jpeg",
        }
    }
}

/// One size of a photo in one format.
#[derive(Clone, PartialEq, Eq)]
pub struct Variant {
    pub width: u32,
    pub height: u32,
    pub format: Format,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Variant")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// A photo as the site stores it.
#[derive(Debug, Clone)]
pub struct Processed {
    /// Width and height of the largest variant (the photo's shape).
    pub width: u32,
    pub height: u32,
    /// Every variant, widest first, WebP before JPEG at each width.
    pub variants: Vec<Variant>,
    /// 20 hex digits of the SHA-256 of every variant: names the photo in URLs, so a new
    /// photo has new addresses and each can be cached for good.
    pub key: String,
}

/// Why an upload was refused, in words for the person who chose the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Choose a photo to upload")]
    Empty,
    #[error("The file is larger than 20 MB: choose a smaller copy of the photo")]
    TooLarge,
    #[error(
        "HEIC photos cannot be read here yet: export the photo as JPEG (on an iPhone, \
         Settings › Camera › Formats › Most Compatible takes JPEG photos from then on)"
    )]
    Heic,
    #[error("The file must be a JPEG, PNG or WebP photo")]
    Unsupported,
    #[error("The file could not be read as a photo: it may be damaged or not a photo at all")]
    Undecodable,
    #[error(
        "The photo is {megapixels} megapixels, more than the {limit} taken here: export a \
         smaller copy"
    )]
    TooManyPixels { megapixels: u64, limit: u64 },
    #[error(
        "The photo is too small ({width} × {height} pixels): choose one at least 200 pixels on each side"
    )]
    TooSmall { width: u32, height: u32 },
}

/// Read an upload and make the variants the site serves (see the module's comment).
/// Takes a second or two for a large photo: call it off the async threads, a bounded number
/// at a time.
pub fn process(bytes: &[u8]) -> Result<Processed, Refusal> {
    process_within(bytes, MAX_PIXELS)
}

/// [`process`] with a lower bound on the picture's pixels (and so on the memory and time it
/// takes): for pictures read from other sites, which need be no larger than they are shown.
pub fn process_within(bytes: &[u8], max_pixels: u64) -> Result<Processed, Refusal> {
    let picture = decode(bytes, max_pixels.min(MAX_PIXELS))?;
    Ok(variants(picture))
}

/// The upload's pixels, turned upright and without transparency.
fn decode(bytes: &[u8], max_pixels: u64) -> Result<RgbImage, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(Refusal::TooLarge);
    }
    if is_heif(bytes) {
        return Err(Refusal::Heic);
    }
    let format = image::guess_format(bytes).map_err(|_| Refusal::Unsupported)?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP
    ) {
        return Err(Refusal::Unsupported);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(max_pixels * 8 + 16 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| Refusal::Undecodable)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(Refusal::TooManyPixels {
            megapixels: pixels.div_ceil(1_000_000),
            limit: max_pixels / 1_000_000,
        });
    }
    if width.min(height) < MIN_SIDE {
        return Err(Refusal::TooSmall { width, height });
    }
    // A photo whose orientation tag cannot be read is shown as stored.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let profile = decoder.icc_profile().ok().flatten();
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|_| Refusal::Undecodable)?;
    picture.apply_orientation(orientation);
    let mut picture = opaque(picture);
    if let Some(profile) = profile {
        to_srgb(&mut picture, &profile);
    }
    Ok(picture)
}

/// Turn a picture whose colours are described by the ICC `profile` it came with (a phone's
/// Display P3, a camera's Adobe RGB) into sRGB, the colours every browser assumes of a
/// picture without one, so that it looks as it did on the phone although its profile is
/// not kept. A profile that is not RGB, or cannot be read, leaves the picture as stored.
///
/// A nonsense profile can at worst give odd colours (the library refuses what it cannot
/// compute, and bounds a profile's size); if it ever trips one of the library's own
/// assertions, the picture is kept as it is rather than the upload failing.
fn to_srgb(picture: &mut RgbImage, profile: &[u8]) {
    if profile.get(16..20) != Some(b"RGB ") {
        return;
    }
    let Some(input) = qcms::Profile::new_from_slice(profile, false) else {
        return;
    };
    let transform = std::panic::catch_unwind(|| {
        let mut srgb = qcms::Profile::new_sRGB();
        srgb.precache_output_transform();
        qcms::Transform::new(
            &input,
            &srgb,
            qcms::DataType::RGB8,
            qcms::Intent::Perceptual,
        )
    });
    if let Ok(Some(transform)) = transform {
        // An RgbImage is exactly three bytes a pixel, as the transform takes.
        transform.apply(picture);
    }
}

/// HEIF and its HEIC and AVIF kin: an ISO box file whose `ftyp` names one of their brands.
fn is_heif(bytes: &[u8]) -> bool {
    bytes.get(4..8) == Some(b"ftyp")
        && bytes.get(8..12).is_some_and(|brand| {
            [
                b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif",
                b"avis",
            ]
            .iter()
            .any(|known| brand == *known)
        })
}

/// Eight bits of red, green and blue; anything transparent laid on white.
fn opaque(picture: DynamicImage) -> RgbImage {
    if !picture.color().has_alpha() {
        return picture.into_rgb8();
    }
    let rgba = picture.into_rgba8();
    let (width, height) = rgba.dimensions();
    RgbImage::from_fn(width, height, |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over_white = |c: u8| {
            let c = u32::from(c) * u32::from(a) + 255 * (255 - u32::from(a));
            u8::try_from((c + 127) / 255).unwrap_or(u8::MAX)
        };
        image::Rgb([over_white(r), over_white(g), over_white(b)])
    })
}

/// The widths to make of a photo `width` wide, widest first.
pub fn widths_for(width: u32) -> Vec<u32> {
    let largest = width.min(WIDTHS[WIDTHS.len() - 1]);
    let mut widths: Vec<u32> = WIDTHS.iter().copied().filter(|w| *w < largest).collect();
    widths.push(largest);
    widths.reverse();
    widths
}

/// Every variant of an upright, opaque picture. Each size is made from the one before
/// (the largest from the picture itself), which is far quicker than from the original each
/// time and looks the same at these ratios.
pub fn variants(picture: RgbImage) -> Processed {
    let (full_width, full_height) = picture.dimensions();
    let mut source = picture;
    let mut variants = Vec::new();
    for width in widths_for(full_width) {
        let height = scaled_height(full_width, full_height, width);
        if source.dimensions() != (width, height) {
            source = image::imageops::thumbnail(&source, width, height);
        }
        variants.push(Variant {
            width,
            height,
            format: Format::Webp,
            bytes: webp(&source),
        });
        variants.push(Variant {
            width,
            height,
            format: Format::Jpeg,
            bytes: jpeg(&source),
        });
    }
    let mut hash = Sha256::new();
    for variant in &variants {
        hash.update(&variant.bytes);
    }
    let key: String = hash
        .finalize()
        .iter()
        .take(10)
        .map(|b| format!("{b:02x}"))
        .collect();
    Processed {
        width: variants[0].width,
        height: variants[0].height,
        variants,
        key,
    }
}

/// `width` scaled to keep the shape of `full_width` × `full_height`, at least one pixel.
fn scaled_height(full_width: u32, full_height: u32, width: u32) -> u32 {
    let height = (u64::from(full_height) * u64::from(width) + u64::from(full_width) / 2)
        / u64::from(full_width);
    u32::try_from(height).unwrap_or(u32::MAX).max(1)
}

/// A baseline JPEG with no metadata but the JFIF header.
pub fn jpeg(picture: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(picture)
        .expect("encoding RGB8 to a Vec cannot fail");
    out
}

/// A lossy WebP with no metadata chunks.
fn webp(picture: &RgbImage) -> Vec<u8> {
    let (width, height) = picture.dimensions();
    webp::Encoder::from_rgb(picture.as_raw(), width, height)
        .encode_simple(false, WEBP_QUALITY)
        .map(|memory| memory.to_vec())
        // libwebp refuses only pictures wider or taller than 16383, which no variant is.
        .unwrap_or_else(|_| jpeg(picture))
}

/// A PNG of a picture (the demo's drawings go through [`process`] as PNGs, as an upload
/// would).
pub fn png(picture: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    picture
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .expect("encoding RGB8 to a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_never_exceed_the_photo() {
        assert_eq!(widths_for(4000), vec![1600, 1024, 640, 320]);
        assert_eq!(widths_for(1600), vec![1600, 1024, 640, 320]);
        assert_eq!(widths_for(800), vec![800, 640, 320]);
        assert_eq!(widths_for(640), vec![640, 320]);
        assert_eq!(widths_for(250), vec![250]);
    }

    #[test]
    fn heights_keep_the_shape() {
        assert_eq!(scaled_height(4000, 3000, 1600), 1200);
        assert_eq!(scaled_height(3000, 4000, 320), 427);
        assert_eq!(scaled_height(10_000, 1, 320), 1);
    }

    #[test]
    fn heic_and_avif_are_named() {
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        assert_eq!(process(&heic).unwrap_err(), Refusal::Heic);
        let mut mp4 = vec![0, 0, 0, 24];
        mp4.extend_from_slice(b"ftypisom\0\0\0\0isomiso2");
        assert_eq!(process(&mp4).unwrap_err(), Refusal::Unsupported);
    }

    #[test]
    fn transparency_is_laid_on_white() {
        let mut rgba = image::RgbaImage::new(2, 1);
        rgba.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
        rgba.put_pixel(1, 0, image::Rgba([0, 0, 0, 255]));
        let rgb = opaque(DynamicImage::ImageRgba8(rgba));
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(1, 0).0, [0, 0, 0]);
    }
}
