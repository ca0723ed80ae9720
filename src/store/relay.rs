//! Live updates across processes: several servers on one PostgreSQL database tell each
//! other what changed with `NOTIFY`, so a dashboard connected to any of them sees every
//! change, whichever server (or dialer) made it. SQLite has one process; nothing to relay.

use std::time::Duration;

use sqlx::{PgPool, postgres::PgListener};
use tokio::task::JoinHandle;

use super::{
    Pools, Store,
    changes::{Changes, Topic},
};

/// The channel every server listens on.
const CHANNEL: &str = "ai_dialer_changes";

impl Store {
    /// Starts relaying changes between the servers sharing this PostgreSQL database; `None`
    /// on SQLite. Abort the handle to stop.
    pub fn spawn_change_relay(&self) -> Option<JoinHandle<()>> {
        let Pools::Postgres(pool) = &self.pools else {
            return None;
        };
        // Tells our own notifications from the others'.
        let me = uuid::Uuid::new_v4().simple().to_string();
        let (pool, changes) = (pool.clone(), self.changes.clone());
        Some(tokio::spawn(async move {
            tokio::join!(
                announce(pool.clone(), changes.clone(), me.clone()),
                listen(pool, changes, me),
            );
        }))
    }
}

/// Sends one notification per topic this process changed; bursts coalesce, as the
/// counters do.
async fn announce(pool: PgPool, changes: Changes, me: String) {
    let mut local = changes.subscribe_local();
    let mut seen = *local.borrow();
    while local.changed().await.is_ok() {
        let now = *local.borrow_and_update();
        for topic in now.moved_since(&seen) {
            let sent = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(format!("{me}:{}", topic.name()))
                .execute(&pool)
                .await;
            if let Err(err) = sent {
                tracing::warn!(error.cause_chain = ?err, "could not tell other servers about a change");
            }
        }
        seen = now;
    }
}

/// Applies the other servers' notifications; reconnects when the connection drops.
async fn listen(pool: PgPool, changes: Changes, me: String) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(err) => {
                tracing::warn!(error.cause_chain = ?err, "change listener could not connect; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if let Err(err) = listener.listen(CHANNEL).await {
            tracing::warn!(error.cause_chain = ?err, "change listener could not subscribe; retrying");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        // Something may have changed while we were not listening.
        for topic in [Topic::Leads, Topic::Calls, Topic::Settings] {
            changes.bump_remote(topic);
        }
        loop {
            match listener.recv().await {
                Ok(note) => {
                    let Some((sender, topic)) = note.payload().split_once(':') else {
                        continue;
                    };
                    if sender != me
                        && let Some(topic) = Topic::parse(topic)
                    {
                        changes.bump_remote(topic);
                    }
                }
                Err(err) => {
                    tracing::warn!(error.cause_chain = ?err, "change listener lost its connection; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}
