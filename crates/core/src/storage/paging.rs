//! Identifiers and pages of lists. An identifier starts with its creation time in
//! hex, so ordering rows by id is ordering them by age and an id is also a list's
//! cursor: a page ends where the next one starts after.

use serde::Serialize;

/// A new identifier: creation time (Unix seconds, 8 hex digits) then 12 random
/// hex digits.
pub fn new_id(now: i64, random: &[u8; 6]) -> String {
    format!("{:08x}{}", now.max(0), hex::encode(random))
}

/// Identifiers one isolate makes many of a second (download events): one random
/// draw, then counting up from it in the 12 hex digits. They never repeat within
/// the isolate (for 2^48 ids), and two isolates' ids meet only when their runs
/// overlap — less likely than for ids drawn one by one — while the random source
/// is asked once rather than for every id.
pub struct IdSequence {
    next: u64,
}

impl IdSequence {
    const SPAN: u64 = 1 << 48;

    pub fn starting_at(random: &[u8; 6]) -> IdSequence {
        let mut bytes = [0u8; 8];
        bytes[2..].copy_from_slice(random);
        IdSequence {
            next: u64::from_be_bytes(bytes),
        }
    }

    /// The next identifier, made at `now`.
    pub fn next_id(&mut self, now: i64) -> String {
        let bytes = self.next.to_be_bytes();
        self.next = (self.next + 1) % Self::SPAN;
        new_id(now, bytes[2..].try_into().expect("six bytes"))
    }
}

/// A page of a list and the cursor of the next one: the management API's lists,
/// and `/v2/` tags and catalog, whose cursor is the last name (`last`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The page of at most `limit` from `items`, fetched with one more than that
    /// to tell whether more follow; the cursor is the last item's `id`.
    pub fn of(items: Vec<T>, limit: u32, id: impl Fn(&T) -> &str) -> Page<T> {
        Page::keyed(items, limit.into(), |i| id(i).to_owned())
    }

    /// Like `of`, with a cursor made from the last item by `key`.
    pub fn keyed(mut items: Vec<T>, limit: u64, key: impl Fn(&T) -> String) -> Page<T> {
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = more.then(|| items.last().map(key)).flatten();
        Page { items, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

impl Page<String> {
    /// A page of at most `n` from `names`, which holds up to `n + 1` so that one
    /// more tells whether more follow; the cursor is the last name.
    pub fn of_names(names: Vec<String>, n: u64) -> Page<String> {
        Page::keyed(names, n, String::clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sequence_counts_up_from_its_draw_and_wraps_in_its_twelve_digits() {
        let mut ids = IdSequence::starting_at(&[0, 0, 0, 0, 0, 0xfe]);
        assert_eq!(ids.next_id(0x10), "000000100000000000fe");
        assert_eq!(ids.next_id(0x10), "000000100000000000ff");
        assert_eq!(ids.next_id(0x11), "00000011000000000100");
        let mut last = IdSequence::starting_at(&[0xff; 6]);
        assert_eq!(last.next_id(1), "00000001ffffffffffff");
        assert_eq!(last.next_id(1), "00000001000000000000");
    }

    #[test]
    fn a_page_names_its_cursor_only_when_more_follow() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let full = Page::of_names(names(&["a", "b", "c"]), 2);
        assert_eq!(full.items, names(&["a", "b"]));
        assert_eq!(full.next_cursor.as_deref(), Some("b"));
        let last = Page::of_names(names(&["a", "b"]), 2);
        assert_eq!((last.items.len(), last.next_cursor), (2, None));
        assert_eq!(new_id(0x10, &[0xab; 6]), "00000010abababababab");
    }
}
