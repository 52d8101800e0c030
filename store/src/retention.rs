//! Deleting profiles older than the retention period.

use crate::{keys::ProfileKey, store::Store, Result};

/// What one retention pass deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    /// Profiles removed.
    pub profiles: usize,
}

impl Store {
    /// Deletes every profile with a time before `cutoff` (unix ns).
    pub fn delete_before(&self, cutoff: u64) -> Result<Deleted> {
        let mut deleted = Deleted::default();
        let profiles = self.profiles_tree();
        for series in self.series_ids() {
            let first = ProfileKey {
                series,
                time_nanos: 0,
            };
            let end = ProfileKey {
                series,
                time_nanos: cutoff,
            };
            for entry in profiles.range(first.encode()..end.encode()) {
                let (key, _) = entry?;
                profiles.remove(&key)?;
                deleted.profiles += 1;
            }
        }
        Ok(deleted)
    }
}
