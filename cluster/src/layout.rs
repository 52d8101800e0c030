//! Where each object lives in the bucket: the key layout, here and
//! nowhere else.
//!
//! ```text
//! PREFIX/writers/WRITER.json           heartbeat of a running server
//! PREFIX/segments/WRITER/SEQ.pack      what one server accepted in one flush
//! PREFIX/blocks/GEN-WRITER-N.pack      compacted segments and blocks
//! PREFIX/catalog/GEN-WRITER.json       the blocks, what they cover, garbage
//! PREFIX/lease.json                    which server compacts
//! ```
//!
//! Every key written on the hot path (segments, heartbeats) names its
//! writer, so servers never write the same key. `SEQ` and `GEN` are
//! zero-padded, so keys sort in the order they were written.

use object_store::path::Path as Key;

/// Keys under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    prefix: String,
}

impl Layout {
    pub(crate) fn new(prefix: &str) -> Self {
        let prefix = prefix.trim_matches('/');
        Self {
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        }
    }

    fn key(&self, rest: &str) -> Key {
        Key::from(format!("{}{rest}", self.prefix))
    }

    pub(crate) fn writers(&self) -> Key {
        self.key("writers")
    }

    pub(crate) fn heartbeat(&self, writer: &str) -> Key {
        self.key(&format!("writers/{writer}.json"))
    }

    pub(crate) fn segments(&self, writer: &str) -> Key {
        self.key(&format!("segments/{writer}"))
    }

    pub(crate) fn segment(&self, writer: &str, seq: u64) -> Key {
        self.key(&format!("segments/{writer}/{seq:020}.pack"))
    }

    pub(crate) fn blocks(&self) -> Key {
        self.key("blocks")
    }

    pub(crate) fn block(&self, generation: u64, writer: &str, n: usize) -> Key {
        self.key(&format!("blocks/{generation:020}-{writer}-{n}.pack"))
    }

    pub(crate) fn catalogs(&self) -> Key {
        self.key("catalog")
    }

    pub(crate) fn catalog(&self, generation: u64, writer: &str) -> Key {
        self.key(&format!("catalog/{generation:020}-{writer}.json"))
    }

    pub(crate) fn lease(&self) -> Key {
        self.key("lease.json")
    }
}

/// The writer a heartbeat key names.
pub(crate) fn heartbeat_writer(key: &Key) -> Option<String> {
    key.filename()?.strip_suffix(".json").map(str::to_owned)
}

/// The sequence number a segment key ends with.
pub(crate) fn segment_seq(key: &Key) -> Option<u64> {
    key.filename()?.strip_suffix(".pack")?.parse().ok()
}

/// The writer and sequence number of a segment key (as a string).
pub(crate) fn segment_of(key: &str) -> Option<(&str, u64)> {
    let mut parts = key.rsplit('/');
    let seq = parts.next()?.strip_suffix(".pack")?.parse().ok()?;
    let writer = parts.next()?;
    (parts.next()? == "segments").then_some((writer, seq))
}

/// A new writer id: the start time (so a restarted server sorts after its
/// earlier self) and 32 random bits (so two servers started in the same
/// millisecond differ).
pub(crate) fn new_writer_id() -> String {
    let millis = crate::now_millis();
    let random = getrandom::u32().unwrap_or_else(|_| std::process::id());
    format!("{millis:012x}{random:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_in_write_order_and_parse_back() {
        let l = Layout::new("/prod/");
        assert_eq!(
            l.segment("w1", 7).as_ref(),
            "prod/segments/w1/00000000000000000007.pack"
        );
        assert!(l.segment("w1", 9).as_ref() < l.segment("w1", 10).as_ref());
        assert!(l.catalog(9, "b").as_ref() < l.catalog(10, "a").as_ref());
        assert_eq!(segment_seq(&l.segment("w1", 42)), Some(42));
        assert_eq!(heartbeat_writer(&l.heartbeat("w1")).as_deref(), Some("w1"));
        assert_eq!(segment_of(l.segment("w1", 42).as_ref()), Some(("w1", 42)));
        assert_eq!(segment_of(l.block(1, "w1", 0).as_ref()), None);
        assert_eq!(Layout::new("").lease().as_ref(), "lease.json");
    }
}
