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

/// Shared by every clone of a store. `all` counts every change, this process's and those
/// other processes on the same database report (see `relay`); `local` counts only this
/// process's, which are the ones to tell the others about.
#[derive(Clone)]
pub struct Changes {
    all: Arc<watch::Sender<Versions>>,
    local: Arc<watch::Sender<Versions>>,
}

impl Default for Changes {
    fn default() -> Self {
        Changes {
            all: Arc::new(watch::Sender::new(Versions::default())),
            local: Arc::new(watch::Sender::new(Versions::default())),
        }
    }
}

fn add(v: &mut Versions, topic: Topic) {
    match topic {
        Topic::Leads => v.leads += 1,
        Topic::Calls => v.calls += 1,
        Topic::Settings => v.settings += 1,
    }
}

impl Topic {
    pub fn name(self) -> &'static str {
        match self {
            Topic::Leads => "leads",
            Topic::Calls => "calls",
            Topic::Settings => "settings",
        }
    }

    pub fn parse(s: &str) -> Option<Topic> {
        [Topic::Leads, Topic::Calls, Topic::Settings]
            .into_iter()
            .find(|t| t.name() == s)
    }
}

impl Changes {
    /// Records that this process changed `topic`; wakes every watcher.
    pub fn bump(&self, topic: Topic) {
        self.all.send_modify(|v| add(v, topic));
        self.local.send_modify(|v| add(v, topic));
    }

    /// Records that another process changed `topic`.
    pub fn bump_remote(&self, topic: Topic) {
        self.all.send_modify(|v| add(v, topic));
    }

    /// The current counters.
    pub fn versions(&self) -> Versions {
        *self.all.borrow()
    }

    /// Every change, wherever it was made.
    pub fn subscribe(&self) -> watch::Receiver<Versions> {
        self.all.subscribe()
    }

    /// Changes made by this process.
    pub fn subscribe_local(&self) -> watch::Receiver<Versions> {
        self.local.subscribe()
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

    #[test]
    fn remote_changes_wake_watchers_but_are_not_local() {
        let changes = Changes::default();
        let (all, local) = (changes.subscribe(), changes.subscribe_local());
        let (a, l) = (*all.borrow(), *local.borrow());
        changes.bump_remote(Topic::Leads);
        assert_eq!(all.borrow().moved_since(&a), vec![Topic::Leads]);
        assert!(local.borrow().moved_since(&l).is_empty());
        assert_eq!(Topic::parse("calls"), Some(Topic::Calls));
    }
}
