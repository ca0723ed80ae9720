//! The dialer's idea of "now", injectable so tests can stand on a DST change day.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use crate::domain::{Millis, now_millis};

/// Wall-clock time, or a time a test has set.
#[derive(Clone, Default)]
pub struct Clock {
    fixed: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that reads `at` (epoch ms), which the test may move.
    pub fn manual(at: Arc<AtomicI64>) -> Clock {
        Clock { fixed: Some(at) }
    }

    pub fn now(&self) -> Millis {
        match &self.fixed {
            Some(at) => at.load(Ordering::SeqCst),
            None => now_millis(),
        }
    }
}
