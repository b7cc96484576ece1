//! Byte ranges of blobs: the span a client asks for (from an offset, or the last
//! so many bytes) resolved against the blob's size, and the span of bytes an upload
//! holds. The edge reads and writes the headers that carry them.

use crate::error::{Error, Result};

/// An inclusive byte range within a blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }
}

/// A byte range as a client asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// From `start` to `end` inclusive, or to the end of the blob.
    From { start: u64, end: Option<u64> },
    /// The last so many bytes.
    Last(u64),
}

/// Resolves a wanted range against a blob of `size` bytes: an end past the blob is
/// cut to it; a range that starts past it, or holds no byte, is not satisfiable.
pub fn resolve(wanted: Wanted, size: u64) -> Result<ByteRange> {
    let unsatisfiable = Error::RangeNotSatisfiable { size };
    match wanted {
        Wanted::Last(0) => Err(unsatisfiable),
        _ if size == 0 => Err(unsatisfiable),
        Wanted::Last(suffix) => Ok(ByteRange {
            start: size.saturating_sub(suffix),
            end: size - 1,
        }),
        Wanted::From { start, end } => {
            let end = end.unwrap_or(u64::MAX);
            if start >= size || end < start {
                return Err(unsatisfiable);
            }
            Ok(ByteRange {
                start,
                end: end.min(size - 1),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    fn from(start: u64, end: Option<u64>) -> Wanted {
        Wanted::From { start, end }
    }

    #[test]
    fn resolves_every_form() {
        assert_eq!(resolve(from(0, Some(3)), 10), Ok(r(0, 3)));
        assert_eq!(resolve(from(5, None), 10), Ok(r(5, 9)));
        assert_eq!(resolve(Wanted::Last(4), 10), Ok(r(6, 9)));
        assert_eq!(resolve(Wanted::Last(40), 10), Ok(r(0, 9)));
        assert_eq!(resolve(from(8, Some(100)), 10), Ok(r(8, 9)));
        assert_eq!(r(2, 5).len(), 4);
    }

    #[test]
    fn refuses_ranges_outside_the_blob() {
        for bad in [
            from(10, None),
            from(10, Some(12)),
            from(5, Some(2)),
            Wanted::Last(0),
        ] {
            assert_eq!(
                resolve(bad, 10),
                Err(Error::RangeNotSatisfiable { size: 10 }),
                "{bad:?}"
            );
        }
        assert!(resolve(from(0, None), 0).is_err());
        assert!(resolve(Wanted::Last(1), 0).is_err());
    }
}
