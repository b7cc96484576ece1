//! HTTP byte ranges on blobs (`Range: bytes=…`), resolved against the blob's size.

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

    /// The `Content-Range` value for this range of a blob of `size` bytes.
    pub fn content_range(&self, size: u64) -> String {
        format!("bytes {}-{}/{size}", self.start, self.end)
    }
}

/// Resolves a `Range` header against a blob of `size` bytes. `Ok(None)` means serve
/// the whole blob (no header, or a form we do not serve partially, such as several
/// ranges, which RFC 9110 lets a server ignore).
pub fn resolve(header: Option<&str>, size: u64) -> Result<Option<ByteRange>> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let unsatisfiable = Error::RangeNotSatisfiable { size };
    let (start, end) = spec.split_once('-').ok_or(unsatisfiable.clone())?;
    let (start, end) = (start.trim(), end.trim());
    let range = if start.is_empty() {
        let suffix: u64 = end.parse().map_err(|_| unsatisfiable.clone())?;
        if suffix == 0 || size == 0 {
            return Err(unsatisfiable);
        }
        ByteRange {
            start: size.saturating_sub(suffix),
            end: size - 1,
        }
    } else {
        let start: u64 = start.parse().map_err(|_| unsatisfiable.clone())?;
        let end = if end.is_empty() {
            u64::MAX
        } else {
            end.parse().map_err(|_| unsatisfiable.clone())?
        };
        if start >= size || end < start {
            return Err(unsatisfiable);
        }
        ByteRange {
            start,
            end: end.min(size - 1),
        }
    };
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, end: u64) -> Option<ByteRange> {
        Some(ByteRange { start, end })
    }

    #[test]
    fn resolves_every_form() {
        assert_eq!(resolve(None, 10), Ok(None));
        assert_eq!(resolve(Some("bytes=0-3"), 10), Ok(r(0, 3)));
        assert_eq!(resolve(Some("bytes=5-"), 10), Ok(r(5, 9)));
        assert_eq!(resolve(Some("bytes=-4"), 10), Ok(r(6, 9)));
        assert_eq!(resolve(Some("bytes=-40"), 10), Ok(r(0, 9)));
        assert_eq!(resolve(Some("bytes=8-100"), 10), Ok(r(8, 9)));
        assert_eq!(resolve(Some("bytes=0-1,4-5"), 10), Ok(None));
        assert_eq!(resolve(Some("items=0-1"), 10), Ok(None));
        assert_eq!(r(2, 5).unwrap().len(), 4);
        assert_eq!(r(2, 5).unwrap().content_range(10), "bytes 2-5/10");
    }

    #[test]
    fn refuses_ranges_outside_the_blob() {
        for bad in [
            "bytes=10-",
            "bytes=10-12",
            "bytes=5-2",
            "bytes=-0",
            "bytes=x-1",
            "bytes=1",
        ] {
            assert_eq!(
                resolve(Some(bad), 10),
                Err(Error::RangeNotSatisfiable { size: 10 }),
                "{bad}"
            );
        }
        assert!(resolve(Some("bytes=0-"), 0).is_err());
    }
}
