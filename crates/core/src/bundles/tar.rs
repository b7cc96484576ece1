//! The arithmetic of an uncompressed ustar archive whose members are known by name
//! and size before any byte is read: each member's 512-byte header, its body and
//! the zeros that pad it to a 512-byte block, then two zero blocks. Headers carry
//! fixed mode, owner and time, so the same members always give the same bytes,
//! and a byte range of the archive maps to parts of headers and bodies without
//! reading what comes before it.

use crate::oci::range::ByteRange;

const BLOCK: u64 = 512;
/// The two zero blocks that end an archive.
const TRAILER: u64 = 2 * BLOCK;
/// The longest name a ustar header holds without its prefix field.
pub const MAX_NAME: usize = 100;

/// A member of the archive: a directory, or a file of `size` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub size: u64,
    pub directory: bool,
}

impl Entry {
    pub fn file(name: impl Into<String>, size: u64) -> Entry {
        Entry {
            name: name.into(),
            size,
            directory: false,
        }
    }

    pub fn directory(name: impl Into<String>) -> Entry {
        Entry {
            name: name.into(),
            size: 0,
            directory: true,
        }
    }

    /// The member's ustar header: mode 0644 (0755 for a directory), owner 0,
    /// time 0. Names must fit [`MAX_NAME`] (the caller's names do).
    pub fn header(&self) -> [u8; 512] {
        let mut h = [0u8; 512];
        let name = self.name.as_bytes();
        h[..name.len().min(MAX_NAME)].copy_from_slice(&name[..name.len().min(MAX_NAME)]);
        let mode = if self.directory { "0000755" } else { "0000644" };
        h[100..107].copy_from_slice(mode.as_bytes());
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        write_size(&mut h[124..136], self.size);
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = if self.directory { b'5' } else { b'0' };
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }

    /// Header, body and padding.
    fn span(&self) -> u64 {
        BLOCK + padded(self.size)
    }
}

/// The size field: 11 octal digits, or for 8 GiB and more the base-256 form
/// GNU tar and Go's archive/tar read.
fn write_size(field: &mut [u8], size: u64) {
    if size < 1 << 33 {
        field[..11].copy_from_slice(format!("{size:011o}").as_bytes());
    } else {
        field[0] = 0x80;
        field[4..].copy_from_slice(&size.to_be_bytes());
    }
}

fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK) * BLOCK
}

/// Where a member's body comes from, as the caller knows it.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    Bytes(&'a [u8]),
    /// An object in the object store, read from an offset.
    Object(&'a str),
}

/// A part of the archive's bytes, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Bytes(Vec<u8>),
    Object {
        key: String,
        offset: u64,
        length: u64,
    },
}

/// The archive of `entries`, in their order, with each one's offset.
#[derive(Clone, Debug)]
pub struct Layout {
    entries: Vec<Entry>,
    offsets: Vec<u64>,
    len: u64,
}

impl Layout {
    pub fn new(entries: Vec<Entry>) -> Layout {
        let mut offsets = Vec::with_capacity(entries.len());
        let mut at = 0;
        for e in &entries {
            offsets.push(at);
            at += e.span();
        }
        Layout {
            entries,
            offsets,
            len: at + TRAILER,
        }
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The bytes of `range`, as literal bytes (headers, padding, bodies the caller
    /// holds) and parts of objects; `source` gives the body of entry `i`. Only the
    /// members the range touches are visited.
    pub fn pieces<'a>(&self, range: ByteRange, source: impl Fn(usize) -> Source<'a>) -> Vec<Piece> {
        let mut out = Pieces::default();
        let (start, end) = (range.start, range.end + 1);
        let first = self
            .offsets
            .partition_point(|&o| o <= start)
            .saturating_sub(1);
        for i in first..self.entries.len() {
            let (entry, at) = (&self.entries[i], self.offsets[i]);
            if at >= end {
                break;
            }
            let window = |from: u64, len: u64| clip(at + from, len, start, end);
            if let Some((s, n)) = window(0, BLOCK) {
                out.bytes(&entry.header()[s as usize..(s + n) as usize]);
            }
            if let Some((s, n)) = window(BLOCK, entry.size) {
                match source(i) {
                    Source::Bytes(b) => out.bytes(&b[s as usize..(s + n) as usize]),
                    Source::Object(key) => out.object(key, s, n),
                }
            }
            if let Some((_, n)) = window(BLOCK + entry.size, padded(entry.size) - entry.size) {
                out.zeros(n);
            }
        }
        if let Some((_, n)) = clip(self.len - TRAILER, TRAILER, start, end) {
            out.zeros(n);
        }
        out.0
    }
}

/// The part of `[at, at + len)` inside `[start, end)`, as an offset into the
/// former and a length; `None` when they do not meet.
fn clip(at: u64, len: u64, start: u64, end: u64) -> Option<(u64, u64)> {
    let from = at.max(start);
    let to = (at + len).min(end);
    (from < to).then(|| (from - at, to - from))
}

/// Pieces with neighbouring literal bytes joined.
#[derive(Default)]
struct Pieces(Vec<Piece>);

impl Pieces {
    fn bytes(&mut self, b: &[u8]) {
        match self.0.last_mut() {
            Some(Piece::Bytes(last)) => last.extend_from_slice(b),
            _ => self.0.push(Piece::Bytes(b.to_vec())),
        }
    }

    fn zeros(&mut self, n: u64) {
        self.bytes(&vec![0; n as usize]);
    }

    fn object(&mut self, key: &str, offset: u64, length: u64) {
        self.0.push(Piece::Object {
            key: key.to_owned(),
            offset,
            length,
        });
    }
}
