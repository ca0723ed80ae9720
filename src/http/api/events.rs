//! `/api/events`: a Server-Sent Events stream for live dashboards. It says *what* changed
//! (`leads`, `calls`, `settings`) and pushes the dialer's status (`status`, the same JSON as
//! `GET /api/status`) whenever it moves; pages then re-read only what they show, through the
//! same routes and authorization as everything else.

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use futures_util::{Stream, StreamExt, stream};
use tokio::sync::watch;

use super::status::{StatusResponse, live_status};
use crate::{
    http::{AppState, auth::CurrentUser},
    store::changes::{Topic, Versions},
};

/// How often the status is re-read when nothing was written (calls due move with the clock).
const STATUS_EVERY: Duration = Duration::from_secs(2);
/// Writes arriving within this long of each other reach the page as one event.
const COALESCE: Duration = Duration::from_millis(150);

struct Feed {
    state: AppState,
    changes: watch::Receiver<Versions>,
    seen: Versions,
    status: Option<StatusResponse>,
    ticker: tokio::time::Interval,
}

impl Feed {
    /// The next batch of events; `None` ends the stream (the server is shutting down).
    async fn next(&mut self) -> Option<Vec<Event>> {
        loop {
            let mut events = Vec::new();
            tokio::select! {
                changed = self.changes.changed() => {
                    changed.ok()?;
                    tokio::time::sleep(COALESCE).await;
                    let now = *self.changes.borrow_and_update();
                    for topic in now.moved_since(&self.seen) {
                        let (name, version) = match topic {
                            Topic::Leads => ("leads", now.leads),
                            Topic::Calls => ("calls", now.calls),
                            Topic::Settings => ("settings", now.settings),
                        };
                        events.push(Event::default().event(name).data(version.to_string()));
                    }
                    self.seen = now;
                }
                _ = self.ticker.tick() => {}
            }
            match live_status(&self.state).await {
                Ok(status) if self.status.as_ref() != Some(&status) => {
                    if let Ok(event) = Event::default().event("status").json_data(&status) {
                        events.push(event);
                    }
                    self.status = Some(status);
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "live status unavailable"),
            }
            if !events.is_empty() {
                return Some(events);
            }
        }
    }
}

/// One Server-Sent Event of `/api/events`, as a client reads it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // only describes the stream in the OpenAPI document
pub struct ServerEvent {
    /// `leads`, `calls`, `settings` or `status`.
    event: String,
    /// A counter for the first three; for `status`, the JSON of `GET /api/status`.
    data: String,
}

/// Live updates for the dashboard: `leads`, `calls` and `settings` events name what changed
/// (their data is a counter), and `status` events carry the dialer's status.
#[utoipa::path(get, path = "/api/events", tag = "dialer",
    responses((status = 200, content_type = "text/event-stream", body = ServerEvent)))]
pub async fn events(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let changes = state.store.changes.subscribe();
    let seen = *changes.borrow();
    let mut ticker = tokio::time::interval(STATUS_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let feed = Feed {
        state,
        changes,
        seen,
        status: None,
        ticker,
    };
    let stream = stream::unfold(feed, |mut feed| async move {
        let events = feed.next().await?;
        Some((stream::iter(events.into_iter().map(Ok)), feed))
    })
    .flatten();
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
