//! A change feed for live dashboards: after each committed write the store bumps a counter
//! for what changed, and every open event stream watches the counters. Watching counters
//! (rather than queueing events) coalesces bursts for free: a dialer tick that settles fifty
//! calls wakes each dashboard once, and a slow dashboard never holds memory.

use std::sync::Arc;

use tokio::sync::watch;

/// What a write touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Leads,
    Calls,
    Settings,
}

/// One counter per topic; a counter that moved means "read it again".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Versions {
    pub leads: u64,
    pub calls: u64,
    pub settings: u64,
}

impl Versions {
    /// The topics whose counters differ between `self` and `earlier`.
    pub fn moved_since(&self, earlier: &Versions) -> Vec<Topic> {
        let mut moved = Vec::new();
        if self.leads != earlier.leads {
            moved.push(Topic::Leads);
        }
        if self.calls != earlier.calls {
            moved.push(Topic::Calls);
        }
        if self.settings != earlier.settings {
            moved.push(Topic::Settings);
        }
        moved
    }
}

/// Shared by every clone of a store.
#[derive(Clone)]
pub struct Changes(Arc<watch::Sender<Versions>>);

impl Default for Changes {
    fn default() -> Self {
        Changes(Arc::new(watch::Sender::new(Versions::default())))
    }
}

impl Changes {
    /// Records that `topic` changed; wakes every watcher.
    pub fn bump(&self, topic: Topic) {
        self.0.send_modify(|v| match topic {
            Topic::Leads => v.leads += 1,
            Topic::Calls => v.calls += 1,
            Topic::Settings => v.settings += 1,
        });
    }

    pub fn subscribe(&self) -> watch::Receiver<Versions> {
        self.0.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bumps_are_seen_as_moved_topics() {
        let changes = Changes::default();
        let rx = changes.subscribe();
        let before = *rx.borrow();
        changes.bump(Topic::Calls);
        changes.bump(Topic::Calls);
        assert_eq!(rx.borrow().moved_since(&before), vec![Topic::Calls]);
    }
}
