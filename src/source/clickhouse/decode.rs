//! Streaming `RowBinary` decoding of planned curve queries straight into a
//! [`CurveStoreBuilder`]: sample arrays are copied from the network buffer into the store's
//! contiguous buffers, with no per-row allocation and no per-value deserializer call.
//!
//! The planner fixes every result column's type with explicit casts (`toString`, `toFloat32`,
//! `toFloat64`, arrays of those), so the row layout is known without the server's type header.
//! Rows may straddle network chunks: an incomplete row waits in [`RowStream`]'s carry buffer.

use crate::curves::{CurveStoreBuilder, Sampling, StoreError};

/// Why a byte stream could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("row {row}: {problem}")]
    Malformed { row: u64, problem: String },
    #[error("the answer ended inside row {row}")]
    Truncated { row: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How the x of an array row is encoded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ArrayXDecode {
    /// `x` holds one Float64 per sample.
    Explicit,
    /// `x` holds `[x0, dx]` read from the row's own columns.
    UniformFromRow,
    /// `x` is empty; the constants apply.
    Uniform { x0: f64, dx: f64 },
}

/// The row shape of a planned query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RowShape {
    /// `key String, labels Array(String)`, then four `(Float64 x, Float32 y)` pairs:
    /// first, minimum, maximum, last of one pixel column.
    M4,
    /// `key String, labels Array(String), x Array(Float64), y Array(Float32)`.
    Arrays(ArrayXDecode),
}

/// A cursor over bytes that answers `None` when the bytes run out.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<usize> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return usize::try_from(value).ok();
            }
        }
        None
    }

    fn bytes(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(len)?;
        let slice = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let len = self.varint()?;
        self.bytes(len)
    }

    fn f64(&mut self) -> Option<f64> {
        self.bytes(8)
            .and_then(|b| b.try_into().ok())
            .map(f64::from_le_bytes)
    }

    fn f32(&mut self) -> Option<f32> {
        self.bytes(4)
            .and_then(|b| b.try_into().ok())
            .map(f32::from_le_bytes)
    }

    /// An array of `width`-byte values, as raw little-endian bytes.
    fn array(&mut self, width: usize) -> Option<&'a [u8]> {
        let len = self.varint()?;
        self.bytes(len.checked_mul(width)?)
    }
}

fn f32s(bytes: &[u8]) -> impl Iterator<Item = f32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

fn f64s(bytes: &[u8]) -> impl Iterator<Item = f64> + '_ {
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
}

/// Decodes a stream of `RowBinary` chunks into a builder.
#[derive(Debug)]
pub struct RowStream {
    shape: RowShape,
    carry: Vec<u8>,
    rows: u64,
    labels: Vec<String>,
}

impl RowStream {
    pub fn new(shape: RowShape) -> Self {
        Self {
            shape,
            carry: Vec::new(),
            rows: 0,
            labels: Vec::new(),
        }
    }

    /// Rows decoded so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Decode every complete row of `chunk` (after what was carried over) into `builder`.
    pub fn push(
        &mut self,
        chunk: &[u8],
        builder: &mut CurveStoreBuilder,
    ) -> Result<(), DecodeError> {
        if self.carry.is_empty() {
            let used = self.decode_rows(chunk, builder)?;
            self.carry.extend_from_slice(&chunk[used..]);
        } else {
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(chunk);
            let used = self.decode_rows(&joined, builder)?;
            joined.drain(..used);
            self.carry = joined;
        }
        Ok(())
    }

    /// The stream ended: anything still carried is a cut-off row.
    pub fn finish(self) -> Result<u64, DecodeError> {
        if self.carry.is_empty() {
            Ok(self.rows)
        } else {
            Err(DecodeError::Truncated { row: self.rows + 1 })
        }
    }

    /// Decode complete rows from the start of `buf`; returns the bytes used.
    fn decode_rows(
        &mut self,
        buf: &[u8],
        builder: &mut CurveStoreBuilder,
    ) -> Result<usize, DecodeError> {
        let mut used = 0;
        loop {
            let mut r = Reader { buf, pos: used };
            let complete = match self.shape {
                RowShape::M4 => self.m4_row(&mut r, builder)?,
                RowShape::Arrays(x) => self.array_row(&mut r, x, builder)?,
            };
            if !complete {
                return Ok(used);
            }
            used = r.pos;
            self.rows += 1;
        }
    }

    fn malformed(&self, problem: impl Into<String>) -> DecodeError {
        DecodeError::Malformed {
            row: self.rows + 1,
            problem: problem.into(),
        }
    }

    /// Read `key` and `labels`; `None` when the row is incomplete.
    fn header<'a>(&mut self, r: &mut Reader<'a>) -> Result<Option<&'a str>, DecodeError> {
        let Some(key) = r.string() else {
            return Ok(None);
        };
        let Some(count) = r.varint() else {
            return Ok(None);
        };
        self.labels.clear();
        for _ in 0..count {
            let Some(label) = r.string() else {
                return Ok(None);
            };
            self.labels
                .push(String::from_utf8_lossy(label).into_owned());
        }
        std::str::from_utf8(key)
            .map(Some)
            .map_err(|_| self.malformed("the series key is not UTF-8"))
    }

    fn label_refs(&self) -> Vec<&str> {
        self.labels.iter().map(String::as_str).collect()
    }

    fn array_row(
        &mut self,
        r: &mut Reader<'_>,
        x: ArrayXDecode,
        builder: &mut CurveStoreBuilder,
    ) -> Result<bool, DecodeError> {
        let Some(key) = self.header(r)? else {
            return Ok(false);
        };
        let Some(xs) = r.array(8) else {
            return Ok(false);
        };
        let Some(ys) = r.array(4) else {
            return Ok(false);
        };
        let labels = self.label_refs();
        let sampling = match x {
            ArrayXDecode::Explicit => Sampling::Explicit,
            ArrayXDecode::Uniform { x0, dx } => Sampling::Uniform { x0, dx },
            ArrayXDecode::UniformFromRow => {
                let mut pair = f64s(xs);
                match (pair.next(), pair.next(), pair.next()) {
                    (Some(x0), Some(dx), None) => Sampling::Uniform { x0, dx },
                    _ => return Err(self.malformed(format!("curve `{key}`: expected [x0, dx]"))),
                }
            }
        };
        builder.start_curve(key, &labels, sampling)?;
        if sampling == Sampling::Explicit {
            builder.extend_x(f64s(xs))?;
        }
        builder.extend_y(f32s(ys))?;
        Ok(true)
    }

    fn m4_row(
        &mut self,
        r: &mut Reader<'_>,
        builder: &mut CurveStoreBuilder,
    ) -> Result<bool, DecodeError> {
        let Some(key) = self.header(r)? else {
            return Ok(false);
        };
        let mut points = [(0.0f64, 0.0f32); 4];
        for point in &mut points {
            let (Some(x), Some(y)) = (r.f64(), r.f32()) else {
                return Ok(false);
            };
            *point = (x, y);
        }
        if builder.open_key() != Some(key) {
            let labels = self.label_refs();
            builder.start_curve(key, &labels, Sampling::Explicit)?;
        }
        // The column's four extremes in x order, each sample once.
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut previous: Option<(f64, f32)> = None;
        for point in points {
            if previous != Some(point) {
                builder.push_xy(point.0, point.1)?;
                previous = Some(point);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::clickhouse::rowbinary::RowBinaryWriter;

    fn array_rows() -> Vec<u8> {
        let mut w = RowBinaryWriter::default();
        for (key, n) in [("a", 3usize), ("b", 130)] {
            w.str(key);
            w.u8(1);
            w.str("S1");
            w.u8(2);
            w.f64(10.0);
            w.f64(0.5);
            w.f32_array(&(0..n).map(|i| i as f32).collect::<Vec<_>>());
        }
        w.take().to_vec()
    }

    #[test]
    fn rows_split_anywhere_decode_the_same() {
        let bytes = array_rows();
        let shape = RowShape::Arrays(ArrayXDecode::UniformFromRow);
        let whole = {
            let mut b = CurveStoreBuilder::new(&["station"]);
            let mut s = RowStream::new(shape);
            s.push(&bytes, &mut b).unwrap();
            assert_eq!(s.finish().unwrap(), 2);
            b.finish().unwrap()
        };
        assert_eq!(whole.y(1).len(), 130);
        assert_eq!(whole.sampling(0), Sampling::Uniform { x0: 10.0, dx: 0.5 });
        assert_eq!(whole.label("station", 1), Some("S1"));
        for split in [1, 5, 17, 40, bytes.len() - 1] {
            let mut b = CurveStoreBuilder::new(&["station"]);
            let mut s = RowStream::new(shape);
            s.push(&bytes[..split], &mut b).unwrap();
            s.push(&bytes[split..], &mut b).unwrap();
            s.finish().unwrap();
            assert_eq!(b.finish().unwrap(), whole, "split at {split}");
        }
    }

    #[test]
    fn a_cut_off_answer_is_an_error() {
        let bytes = array_rows();
        let mut b = CurveStoreBuilder::new(&["station"]);
        let mut s = RowStream::new(RowShape::Arrays(ArrayXDecode::UniformFromRow));
        s.push(&bytes[..bytes.len() - 3], &mut b).unwrap();
        assert_eq!(s.finish(), Err(DecodeError::Truncated { row: 2 }));
    }

    #[test]
    fn m4_points_come_out_in_x_order_without_repeats() {
        let mut w = RowBinaryWriter::default();
        w.str("s");
        w.u8(0);
        for (x, y) in [(1.0, 5.0), (3.0, 1.0), (1.0, 5.0), (4.0, 2.0)] {
            w.f64(x);
            w.f32(y);
        }
        let mut b = CurveStoreBuilder::new(&[]);
        let mut s = RowStream::new(RowShape::M4);
        s.push(&w.take(), &mut b).unwrap();
        let store = b.finish().unwrap();
        assert_eq!(store.x_explicit(0), Some(&[1.0, 3.0, 4.0][..]));
        assert_eq!(store.y(0), &[5.0, 1.0, 2.0]);
    }
}
