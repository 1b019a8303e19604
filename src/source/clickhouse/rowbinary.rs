//! [`RowBinaryWriter`]: encodes rows in ClickHouse's `RowBinary` format, the cheapest format
//! for the server to parse. Used for every insert Lyceum makes (demo seeding, CSV import),
//! since those tables' column types depend on the server's capabilities and on the file.

/// Appends values in `RowBinary` encoding (little-endian, LEB128 lengths).
#[derive(Debug, Default)]
pub struct RowBinaryWriter {
    buf: Vec<u8>,
}

impl RowBinaryWriter {
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            buf: Vec::with_capacity(bytes),
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Take the encoded bytes, leaving the writer empty.
    pub fn take(&mut self) -> bytes::Bytes {
        bytes::Bytes::from(std::mem::take(&mut self.buf))
    }

    fn varint(&mut self, mut value: u64) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                self.buf.push(byte);
                return;
            }
            self.buf.push(byte | 0x80);
        }
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn f32(&mut self, v: f32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// `String` (also `LowCardinality(String)`, which travels as a plain string).
    pub fn str(&mut self, v: &str) {
        self.varint(v.len() as u64);
        self.buf.extend_from_slice(v.as_bytes());
    }

    /// A timestamp given in epoch milliseconds, as `DateTime64(3)` (ms) or `DateTime` (s).
    /// Make the last value written, an empty string, `v` instead; false (nothing changed)
    /// where the last byte written is not an empty string's. For a value known only once the
    /// rows before it are written: an import marks its batch on the batch's last row.
    pub fn set_last_str(&mut self, v: &str) -> bool {
        if self.buf.last() != Some(&0) {
            return false;
        }
        self.buf.pop();
        self.str(v);
        true
    }

    pub fn time_ms(&mut self, ms: i64, datetime64: bool) {
        if datetime64 {
            self.i64(ms);
        } else {
            self.u32(u32::try_from(ms.div_euclid(1000)).unwrap_or(0));
        }
    }

    pub fn f32_array(&mut self, values: &[f32]) {
        self.varint(values.len() as u64);
        for v in values {
            self.f32(*v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_arrays_carry_leb128_lengths() {
        let mut w = RowBinaryWriter::default();
        w.str(&"a".repeat(200));
        w.f32_array(&[1.0]);
        let bytes = w.take();
        assert_eq!(&bytes[..2], &[0xc8, 0x01]);
        assert_eq!(bytes.len(), 2 + 200 + 1 + 4);
        assert_eq!(&bytes[202..], &[1, 0, 0, 0x80, 0x3f]);
        assert!(w.is_empty());
    }
}
