//! Photos as phones and cameras make them, for tests here and in the crates that take
//! uploads (the `testing` feature).

use image::RgbImage;

/// The parts of a phone photo's EXIF that matter here: where it was taken and which way up.
pub struct Exif {
    pub orientation: u16,
    /// Degrees, minutes and hundredths of seconds; north and west.
    pub latitude: [u32; 3],
    pub longitude: [u32; 3],
}

impl Exif {
    /// The APP1 payload: `Exif\0\0` and a big-endian TIFF with IFD0 (Orientation, a pointer
    /// to the GPS IFD) and the GPS IFD (latitude and longitude with their references).
    pub fn app1(&self) -> Vec<u8> {
        fn entry(out: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]) {
            out.extend_from_slice(&tag.to_be_bytes());
            out.extend_from_slice(&kind.to_be_bytes());
            out.extend_from_slice(&count.to_be_bytes());
            out.extend_from_slice(&value);
        }
        const SHORT: u16 = 3;
        const LONG: u16 = 4;
        const ASCII: u16 = 2;
        const RATIONAL: u16 = 5;
        let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
        // IFD0 at 8: two entries, then the next-IFD offset (none).
        let gps_ifd: u32 = 8 + 2 + 2 * 12 + 4;
        tiff.extend_from_slice(&2u16.to_be_bytes());
        let o = self.orientation.to_be_bytes();
        entry(&mut tiff, 0x0112, SHORT, 1, [o[0], o[1], 0, 0]);
        entry(&mut tiff, 0x8825, LONG, 1, gps_ifd.to_be_bytes());
        tiff.extend_from_slice(&0u32.to_be_bytes());
        // GPS IFD: four entries; the rationals follow it.
        let rationals = gps_ifd + 2 + 4 * 12 + 4;
        tiff.extend_from_slice(&4u16.to_be_bytes());
        entry(&mut tiff, 0x0001, ASCII, 2, *b"N\0\0\0");
        entry(&mut tiff, 0x0002, RATIONAL, 3, rationals.to_be_bytes());
        entry(&mut tiff, 0x0003, ASCII, 2, *b"W\0\0\0");
        entry(
            &mut tiff,
            0x0004,
            RATIONAL,
            3,
            (rationals + 24).to_be_bytes(),
        );
        tiff.extend_from_slice(&0u32.to_be_bytes());
        for [d, m, s] in [self.latitude, self.longitude] {
            for (n, denominator) in [(d, 1u32), (m, 1), (s, 100)] {
                tiff.extend_from_slice(&n.to_be_bytes());
                tiff.extend_from_slice(&denominator.to_be_bytes());
            }
        }
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        app1
    }
}

/// A JPEG marker segment: the marker, the length, the payload.
fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xff, marker];
    s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    s.extend_from_slice(payload);
    s
}

/// The APP2 segment that carries an ICC profile (in one piece).
fn icc_segment(profile: &[u8]) -> Vec<u8> {
    let mut app2 = b"ICC_PROFILE\0\x01\x01".to_vec();
    app2.extend_from_slice(profile);
    segment(0xe2, &app2)
}

/// A JPEG of `picture` with segments put in after SOI, as a phone writes them: EXIF (with
/// GPS), the Display P3 profile its colours are in, an XMP packet naming the place, and a
/// comment.
pub fn phone_jpeg(picture: &RgbImage, exif: &Exif) -> Vec<u8> {
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 92)
        .encode_image(picture)
        .unwrap();
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend_from_slice(
        br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description exif:GPSLatitude="51,30.2N" photoshop:City="Little Snoring"/></rdf:RDF></x:xmpmeta>"#,
    );
    let mut out = plain[..2].to_vec();
    out.extend(segment(0xe1, &exif.app1()));
    out.extend(icc_segment(&display_p3_profile()));
    out.extend(segment(0xe1, &xmp));
    out.extend(segment(0xfe, b"Taken at 14 Acacia Avenue"));
    out.extend_from_slice(&plain[2..]);
    out
}

/// Where the test photos were "taken", with the way up they were stored.
pub const HOME: Exif = Exif {
    orientation: 1,
    latitude: [51, 30, 2617],
    longitude: [0, 7, 4012],
};

/// A photo-like picture: a left half of red, so its way up can be seen, and shading.
pub fn picture(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        if x < width / 2 {
            image::Rgb([200, 30, 30])
        } else {
            image::Rgb([
                30,
                u8::try_from(y * 255 / height.max(1)).unwrap_or(255),
                160,
            ])
        }
    })
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Byte strings that would give away where (or of what) a photo was taken, had any of an
/// upload's metadata survived: markers of EXIF, TIFF, XMP and ICC, and [`HOME`]'s words and
/// latitude seconds as stored.
pub fn telltales() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = [
        &b"Exif"[..],
        b"MM\0\x2a",
        b"II\x2a\0",
        b"GPS",
        b"xmp",
        b"xap",
        b"Snoring",
        b"Acacia",
        b"ICC_PROFILE",
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    all.push(HOME.latitude[2].to_be_bytes().to_vec());
    all
}

/// An ICC (version 2) profile of Display P3, the colours an iPhone photographs in: its
/// primaries adapted to D50 as ICC has them, the D65 white point, and sRGB's tone curve.
pub fn display_p3_profile() -> Vec<u8> {
    fn s15(value: f64) -> [u8; 4] {
        // s15Fixed16: a signed number with sixteen bits after the point.
        #[allow(clippy::cast_possible_truncation)]
        ((value * 65536.0).round() as i32).to_be_bytes()
    }
    fn xyz(values: [f64; 3]) -> Vec<u8> {
        let mut tag = b"XYZ \0\0\0\0".to_vec();
        for v in values {
            tag.extend_from_slice(&s15(v));
        }
        tag
    }
    // The sRGB tone curve as ICC's parametric function 3.
    let mut curve = b"para\0\0\0\0\0\x03\0\0".to_vec();
    for v in [2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045] {
        curve.extend_from_slice(&s15(v));
    }
    let tags: Vec<(&[u8; 4], Vec<u8>)> = vec![
        (b"wtpt", xyz([0.9642, 1.0, 0.8249])),
        (b"rXYZ", xyz([0.5151, 0.2412, -0.0011])),
        (b"gXYZ", xyz([0.2920, 0.6922, 0.0419])),
        (b"bXYZ", xyz([0.1571, 0.0666, 0.7841])),
        (b"rTRC", curve.clone()),
        (b"gTRC", curve.clone()),
        (b"bTRC", curve),
    ];
    let table_end = 128 + 4 + 12 * tags.len();
    let mut data = Vec::new();
    let mut table = u32::try_from(tags.len()).unwrap().to_be_bytes().to_vec();
    for (signature, tag) in &tags {
        let offset = table_end + data.len();
        table.extend_from_slice(*signature);
        table.extend_from_slice(&u32::try_from(offset).unwrap().to_be_bytes());
        table.extend_from_slice(&u32::try_from(tag.len()).unwrap().to_be_bytes());
        data.extend_from_slice(tag);
        while data.len() % 4 != 0 {
            data.push(0);
        }
    }
    let size = table_end + data.len();
    let mut header = vec![0u8; 128];
    header[0..4].copy_from_slice(&u32::try_from(size).unwrap().to_be_bytes());
    header[8..12].copy_from_slice(&0x0210_0000u32.to_be_bytes());
    header[12..16].copy_from_slice(b"mntr");
    header[16..20].copy_from_slice(b"RGB ");
    header[20..24].copy_from_slice(b"XYZ ");
    header[36..40].copy_from_slice(b"acsp");
    for (n, v) in [0.9642, 1.0, 0.8249].into_iter().enumerate() {
        header[68 + 4 * n..72 + 4 * n].copy_from_slice(&s15(v));
    }
    let mut profile = header;
    profile.extend_from_slice(&table);
    profile.extend_from_slice(&data);
    profile
}

/// A JPEG of `picture` tagged with the ICC `profile` (in an APP2 segment, as cameras write
/// it): its pixels are in the profile's colours.
pub fn jpeg_with_profile(picture: &RgbImage, profile: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 95)
        .encode_image(picture)
        .unwrap();
    let mut out = plain[..2].to_vec();
    out.extend(icc_segment(profile));
    out.extend_from_slice(&plain[2..]);
    out
}
