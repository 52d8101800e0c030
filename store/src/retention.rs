//! Deleting profiles older than the retention period.

use crate::{keys, store::Store, Result};

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
            for entry in profiles.range(keys::pair(series, 0)..keys::pair(series, cutoff)) {
                let (key, _) = entry?;
                profiles.remove(&key)?;
                deleted.profiles += 1;
            }
        }
        Ok(deleted)
    }
}
