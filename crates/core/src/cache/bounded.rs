//! A map whose entries expire, bounded in total weight: the storage under every
//! read-path cache.

use std::collections::HashMap;
use std::hash::Hash;

struct Entry<V> {
    value: V,
    expires_ms: u64,
    weight: usize,
}

/// Entries are served until their expiry, never after. The total weight stays
/// within `capacity`: when a new entry would pass it, expired entries go first,
/// then everything.
pub struct Bounded<K, V> {
    entries: HashMap<K, Entry<V>>,
    weight: usize,
    capacity: usize,
}

impl<K: Hash + Eq, V: Clone> Bounded<K, V> {
    pub fn new(capacity: usize) -> Self {
        Bounded {
            entries: HashMap::new(),
            weight: 0,
            capacity,
        }
    }

    /// The value under `key`, if it has not expired by `now_ms`.
    pub fn get(&mut self, key: &K, now_ms: u64) -> Option<V> {
        let entry = self.entries.get(key)?;
        if now_ms < entry.expires_ms {
            return Some(entry.value.clone());
        }
        self.remove(key);
        None
    }

    /// Keeps `value` until `expires_ms`; an entry that alone outweighs the
    /// capacity is not kept.
    pub fn put(&mut self, key: K, value: V, weight: usize, expires_ms: u64, now_ms: u64) {
        if weight > self.capacity || expires_ms <= now_ms {
            return;
        }
        self.remove(&key);
        if self.weight + weight > self.capacity {
            self.evict(now_ms);
        }
        if self.weight + weight > self.capacity {
            self.clear();
        }
        self.weight += weight;
        let entry = Entry {
            value,
            expires_ms,
            weight,
        };
        self.entries.insert(key, entry);
    }

    /// Drops the entries whose key fails `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.entries.retain(|key, _| keep(key));
        self.weight = self.entries.values().map(|e| e.weight).sum();
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.weight = 0;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn remove(&mut self, key: &K) {
        if let Some(old) = self.entries.remove(key) {
            self.weight -= old.weight;
        }
    }

    fn evict(&mut self, now_ms: u64) {
        self.entries.retain(|_, e| now_ms < e.expires_ms);
        self.weight = self.entries.values().map(|e| e.weight).sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_served_until_its_expiry() {
        let mut cache = Bounded::new(10);
        cache.put("k", 1, 1, 6_000, 1_000);
        assert_eq!(cache.get(&"k", 1_000), Some(1));
        assert_eq!(cache.get(&"k", 5_999), Some(1));
        assert_eq!(cache.get(&"k", 6_000), None);
        assert!(cache.is_empty(), "an expired entry is dropped when seen");
    }

    #[test]
    fn an_entry_already_expired_is_not_kept() {
        let mut cache = Bounded::new(10);
        cache.put("k", 1, 1, 1_000, 1_000);
        assert_eq!((cache.get(&"k", 0), cache.len()), (None, 0));
    }

    #[test]
    fn weight_stays_within_capacity() {
        let mut cache = Bounded::new(10);
        cache.put("old", 1, 6, 100, 0);
        cache.put("a", 2, 4, 5_000, 200);
        assert_eq!(cache.get(&"a", 200), Some(2));
        // "old" expired: making room drops it and keeps "a".
        cache.put("b", 3, 6, 5_000, 200);
        assert_eq!(
            (cache.get(&"a", 200), cache.get(&"b", 200)),
            (Some(2), Some(3))
        );
        // Nothing expired: making room empties the cache.
        cache.put("c", 4, 5, 5_000, 300);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get(&"c", 300), Some(4));
        // Heavier than the whole cache: never kept, nothing dropped.
        cache.put("huge", 5, 11, 5_000, 300);
        assert_eq!((cache.get(&"huge", 300), cache.len()), (None, 1));
    }

    #[test]
    fn replacing_an_entry_does_not_count_it_twice() {
        let mut cache = Bounded::new(10);
        for value in 0..100 {
            cache.put("k", value, 6, 5_000, 0);
        }
        cache.put("other", 0, 4, 5_000, 0);
        assert_eq!(cache.len(), 2);
    }
}
