//! How far an import has come, for the progress bar of a large file: rows read while the
//! upload streams in, then rows saved while the staged leads are written.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU8, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde::Serialize;
use uuid::Uuid;

/// Counters an import updates as it goes; cheap to share between threads.
#[derive(Debug, Default)]
pub struct ImportProgress {
    phase: AtomicU8,
    rows_read: AtomicU64,
    to_save: AtomicU64,
    saved: AtomicU64,
}

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading and checking rows as the file arrives.
    Reading,
    /// Looking for numbers already stored (a dry run's last step).
    Checking,
    /// Writing the valid rows.
    Saving,
    Done,
}

/// A moment's view of an import's progress.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProgressView {
    pub phase: Phase,
    /// Data rows read so far.
    pub rows_read: u64,
    /// Rows being written, once saving has started.
    pub to_save: u64,
    pub saved: u64,
}

impl ImportProgress {
    pub(crate) fn read(&self, rows: u64) {
        self.rows_read.store(rows, Ordering::Relaxed);
    }

    pub(crate) fn phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    pub(crate) fn saving(&self, to_save: u64) {
        self.to_save.store(to_save, Ordering::Relaxed);
        self.phase(Phase::Saving);
    }

    pub(crate) fn saved(&self, rows: u64) {
        self.saved.store(rows, Ordering::Relaxed);
    }

    pub fn view(&self) -> ProgressView {
        ProgressView {
            phase: match self.phase.load(Ordering::Relaxed) {
                0 => Phase::Reading,
                1 => Phase::Checking,
                2 => Phase::Saving,
                _ => Phase::Done,
            },
            rows_read: self.rows_read.load(Ordering::Relaxed),
            to_save: self.to_save.load(Ordering::Relaxed),
            saved: self.saved.load(Ordering::Relaxed),
        }
    }
}

/// How long a finished import's progress stays readable.
const KEEP_FINISHED: Duration = Duration::from_secs(60);
/// Imports watched at once per server; older entries make room.
const MAX_WATCHED: usize = 256;

/// The imports running on this server, by the user who started them and the key their
/// page chose, so the page can poll for progress while its upload runs.
#[derive(Clone, Default)]
pub struct ImportWatch {
    inner: Arc<Mutex<HashMap<(Uuid, String), Watched>>>,
}

/// An import's counters and, once it ended, when.
type Watched = (Arc<ImportProgress>, Option<Instant>);

impl ImportWatch {
    /// Starts watching `key` for `user`; the import reports into the returned counters,
    /// and is marked finished when the returned guard is dropped (even if the request is
    /// abandoned half-way).
    pub fn start(&self, user: Uuid, key: &str) -> (Arc<ImportProgress>, Watching) {
        let progress = Arc::new(ImportProgress::default());
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (_, ended)| ended.is_none_or(|at| at.elapsed() < KEEP_FINISHED));
        if map.len() >= MAX_WATCHED {
            let oldest = map.keys().next().cloned();
            if let Some(k) = oldest {
                map.remove(&k);
            }
        }
        map.insert((user, key.to_owned()), (progress.clone(), None));
        let guard = Watching {
            watch: self.clone(),
            user,
            key: key.to_owned(),
        };
        (progress, guard)
    }

    /// Marks the import finished; its last figures stay readable for a minute.
    fn finish(&self, user: Uuid, key: &str) {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((progress, ended)) = map.get_mut(&(user, key.to_owned())) {
            progress.phase(Phase::Done);
            *ended = Some(Instant::now());
        }
    }

    pub fn view(&self, user: Uuid, key: &str) -> Option<ProgressView> {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(user, key.to_owned())).map(|(p, _)| p.view())
    }
}

/// Marks its import finished when dropped.
pub struct Watching {
    watch: ImportWatch,
    user: Uuid,
    key: String,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.watch.finish(self.user, &self.key);
    }
}

/// A progress key a page may choose: 8 to 64 letters, digits, `-` or `_`.
pub fn valid_key(key: &str) -> bool {
    (8..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watched_imports_report_and_finish() {
        let watch = ImportWatch::default();
        let user = Uuid::now_v7();
        let (p, guard) = watch.start(user, "abcdefgh");
        p.read(10);
        p.saving(8);
        p.saved(4);
        let v = watch.view(user, "abcdefgh").unwrap();
        assert_eq!(
            (v.phase, v.rows_read, v.to_save, v.saved),
            (Phase::Saving, 10, 8, 4)
        );
        assert!(watch.view(Uuid::now_v7(), "abcdefgh").is_none(), "per user");
        drop(guard);
        assert_eq!(watch.view(user, "abcdefgh").unwrap().phase, Phase::Done);
        assert!(valid_key("a1-b2_c3d4") && !valid_key("short") && !valid_key("bad key!"));
    }
}
