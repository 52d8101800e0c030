//! The table of frame names that the JSON answers send once (`names`):
//! their stacks are indexes into it, so a name that many stacks share
//! costs its bytes once.

use rustc_hash::FxHashMap as HashMap;
use serde::{Serialize, Serializer};

/// Distinct names in the order first seen; serialized as the list of them.
#[derive(Default)]
pub(crate) struct NameTable {
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

impl NameTable {
    /// Names in the table.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// The index of `name`, which is added at the end when new.
    pub(crate) fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }
}

impl Serialize for NameTable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.names.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_once_in_the_order_first_seen() {
        let mut table = NameTable::default();
        let ids: Vec<u32> = ["main", "parse", "main", "gc", "parse"]
            .into_iter()
            .map(|name| table.id(name))
            .collect();
        assert_eq!(ids, [0, 1, 0, 2, 1]);
        assert_eq!(
            serde_json::to_string(&table).unwrap(),
            r#"["main","parse","gc"]"#
        );
    }
}
