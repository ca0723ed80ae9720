//! The in-process scheduler: a tick every `DIALER_TICK_SECONDS` (upkeep, then claims and
//! dials), and between ticks a refill whenever a call ends, so a freed slot is used at once
//! instead of at the next tick. Stopping it lets the dials in progress finish and be
//! recorded, so a process that is told to stop leaves no half-placed call behind.

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use tokio::{sync::watch, task::JoinHandle};

use super::{Dialer, TickSummary};

/// How long a refill waits after the first call ends, so calls ending together are
/// refilled by one claim.
const REFILL_PAUSE: Duration = Duration::from_millis(25);

/// The running scheduler; [`Scheduler::stop`] ends it cleanly.
pub struct Scheduler {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

fn log(what: &str, result: anyhow::Result<TickSummary>) {
    match result {
        Ok(s) if s.claimed > 0 || s.reconciled > 0 || s.emails_sent > 0 || s.emails_failed > 0 => {
            tracing::info!(
                claimed = s.claimed,
                dialed = s.dialed,
                failed = s.failed,
                reconciled = s.reconciled,
                emails_sent = s.emails_sent,
                emails_failed = s.emails_failed,
                "dialer {what}"
            );
        }
        Ok(_) => {}
        Err(err) => tracing::warn!(error.cause_chain = ?err, "dialer {what} failed"),
    }
}

impl Scheduler {
    /// Starts ticking every `every` and refilling when calls end.
    pub fn spawn(dialer: Dialer, every: Duration) -> Scheduler {
        dialer
            .schedule
            .1
            .store(every.as_millis() as i64, Ordering::Relaxed);
        let (stop, stopped) = watch::channel(false);
        let ticks = {
            let dialer = dialer.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(every);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = interval.tick() => {}
                        _ = stopped.changed() => return,
                    }
                    dialer
                        .schedule
                        .0
                        .store(crate::domain::now_millis(), Ordering::Relaxed);
                    // Not raced against the stop: a tick that started finishes its dials.
                    log("tick", dialer.tick().await);
                }
            })
        };
        let refills = {
            let mut stopped = stopped;
            tokio::spawn(async move {
                let mut dials = tokio::task::JoinSet::new();
                loop {
                    tokio::select! {
                        _ = dialer.wake.notified() => {}
                        // Finished dials are reaped as they end.
                        Some(_) = dials.join_next(), if !dials.is_empty() => continue,
                        _ = stopped.changed() => break,
                    }
                    let until = Instant::now() + REFILL_PAUSE;
                    tokio::select! {
                        _ = tokio::time::sleep_until(until.into()) => {}
                        _ = stopped.changed() => break,
                    }
                    match dialer.refill(&mut dials).await {
                        Ok(n) if n > 0 => tracing::debug!(claimed = n, "dialer refill"),
                        Ok(_) => {}
                        Err(err) => {
                            tracing::warn!(error.cause_chain = ?err, "dialer refill failed")
                        }
                    }
                }
                // Stopping: the calls being placed are placed and recorded.
                while dials.join_next().await.is_some() {}
            })
        };
        Scheduler {
            stop,
            tasks: vec![ticks, refills],
        }
    }

    /// Takes no new work and waits for the tick or refill in progress, whose dials are
    /// then placed and recorded (or handed back).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
