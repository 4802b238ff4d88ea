//! Structured values out of the fuzzer's bytes: numbers take raw bytes, text runs to the
//! next 0x1F (unit separator) byte. Once the bytes run out every read gives zero or "".

/// A cursor over the fuzzer's input.
pub struct Input<'a> {
    data: &'a [u8],
}

/// Ends a text field.
pub const SEPARATOR: u8 = 0x1f;

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    pub fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u32) -> u32 {
        self.u32() % n
    }

    /// Text up to the next separator, invalid UTF-8 replaced.
    pub fn text(&mut self) -> String {
        let end = self
            .data
            .iter()
            .position(|&b| b == SEPARATOR)
            .unwrap_or(self.data.len());
        let text = String::from_utf8_lossy(&self.data[..end]).into_owned();
        self.data = self.data.get(end + 1..).unwrap_or_default();
        text
    }
}
