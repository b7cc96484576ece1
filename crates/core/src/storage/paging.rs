//! Identifiers and pages of lists. An identifier starts with its creation time in
//! hex, so ordering rows by id is ordering them by age and an id is also a list's
//! cursor: a page ends where the next one starts after.

use serde::Serialize;

/// A new identifier: creation time (Unix seconds, 8 hex digits) then 12 random
/// hex digits.
pub fn new_id(now: i64, random: &[u8; 6]) -> String {
    format!("{:08x}{}", now.max(0), hex::encode(random))
}

/// A page of a list and the cursor of the next one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The page of at most `limit` from `items`, fetched with one more than that
    /// to tell whether more follow; the cursor is the last item's `id`.
    pub fn of(items: Vec<T>, limit: u32, id: impl Fn(&T) -> &str) -> Page<T> {
        Page::keyed(items, limit, |i| id(i).to_owned())
    }

    /// Like `of`, with a cursor made from the last item by `key`.
    pub fn keyed(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Page<T> {
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
