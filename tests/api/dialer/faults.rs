//! Each provider down, slow (past our timeouts), rate limited with `Retry-After`, or
//! answering garbage: the dialer keeps the lead, the email stays in the outbox, the call
//! gets an answer the agent can use, and everything recovers once the provider is back.

use std::sync::{Arc, Mutex};

use ai_dialer::{
    config::Secret,
    dialer::Dialer,
    integrations::{
        calcom::CalcomConfig,
        resend::{ResendClient, ResendConfig},
        vapi::{VapiClient, VapiConfig},
    },
};
use axum::{Router, body::Body, http::Response, routing::any};

use super::*;
use crate::helpers::Engine;

/// How a broken provider misbehaves.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// Nothing listens.
    Down,
    /// Answers after the client gave up.
    Slow,
    /// 429 with `Retry-After: 120`.
    RateLimited,
    /// 200 with a body that is not what the API sends.
    Garbage,
    /// Works again (Cal.com only: a few slots).
    Healthy,
}

const FAULTS: [Fault; 4] = [Fault::Down, Fault::Slow, Fault::RateLimited, Fault::Garbage];

/// A provider stand-in whose fault can be changed while it runs; `Down` is a closed port.
struct Broken {
    base: String,
    fault: Arc<Mutex<Fault>>,
}

impl Broken {
    async fn start(fault: Fault) -> Broken {
        let mode = Arc::new(Mutex::new(fault));
        if fault == Fault::Down {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            return Broken {
                base: format!("http://127.0.0.1:{port}"),
                fault: mode,
            };
        }
        let state = mode.clone();
        let app = Router::new().fallback(any(move || {
            let state = state.clone();
            async move {
                let fault = *state.lock().unwrap();
                match fault {
                    Fault::Slow => {
                        tokio::time::sleep(Duration::from_secs(4)).await;
                        Response::builder().status(200).body(Body::from("{}")).unwrap()
                    }
                    Fault::RateLimited => Response::builder()
                        .status(429)
                        .header("retry-after", "120")
                        .body(Body::from("{\"message\":\"Too Many Requests\"}"))
                        .unwrap(),
                    Fault::Garbage => Response::builder()
                        .status(200)
                        .header("content-type", "text/html")
                        .body(Body::from("<html><body>Bad gateway, try later</body></html>"))
                        .unwrap(),
                    Fault::Healthy => Response::builder()
                        .status(200)
                        .header("content-type", "application/json")
                        .body(Body::from(
                            json!({"status": "success", "data": {"2026-11-26": [{"start": "2026-11-26T09:00:00.000-05:00"}]}})
                                .to_string(),
                        ))
                        .unwrap(),
                    Fault::Down => unreachable!(),
                }
            }
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Broken { base, fault: mode }
    }
}

fn broken_vapi_dialer(app: &TestApp, base: &str) -> Dialer {
    Dialer::new(
        app.store.clone(),
        Some(VapiClient::new(VapiConfig {
            base_url: base.to_owned(),
            api_key: Secret::new("key"),
            assistant_id: "assistant".into(),
            phone_number_id: "phone".into(),
            timeout: Duration::from_secs(1),
        })),
        None,
        app.state.dialer.clock.clone(),
        app.state.dialer.options.clone(),
    )
}

async fn vapi_faults_keep_the_lead_and_recover(app: TestApp) {
    enable(&app, json!({})).await;
    for (n, fault) in FAULTS.into_iter().enumerate() {
        let id = lead_in(&app, n as u32, "America/New_York").await;
        let broken = Broken::start(fault).await;
        let s = broken_vapi_dialer(&app, &broken.base).tick().await.unwrap();
        assert_eq!((s.claimed, s.dialed, s.failed), (1, 0, 1), "{fault:?}");
        let l = lead(&app, &id).await;
        match fault {
            // VAPI may have placed the call: the lead waits for the call's own webhooks,
            // and none came, so after the dial grace it goes back with its attempt.
            Fault::Slow | Fault::Garbage => {
                assert_eq!(l["status"], "calling", "{fault:?}: {l}");
                app.advance(Duration::from_secs(121));
            }
            // Not placed: back in the queue at once with its attempt, after a back-off
            // (never shorter than VAPI's Retry-After).
            _ => {
                assert_eq!(
                    (l["status"].as_str(), l["call_attempts"].as_i64()),
                    (Some("pending"), Some(0)),
                    "{fault:?}: {l}"
                );
                let wait = if fault == Fault::RateLimited { 120 } else { 60 };
                let due = l["next_call_at"]
                    .as_str()
                    .unwrap()
                    .parse::<jiff::Timestamp>()
                    .unwrap();
                let now = jiff::Timestamp::from_millisecond(app.state.dialer.clock.now()).unwrap();
                assert!(
                    due >= now + jiff::SignedDuration::from_secs(wait),
                    "{fault:?}: due {due}"
                );
                app.advance(Duration::from_secs(wait as u64 + 1));
            }
        }
        // VAPI is back (the app's own fake): the next tick dials it, once.
        let before = app.vapi.requests().len();
        let s = app.tick().await;
        assert_eq!(s["dialed"], 1, "{fault:?}: {s}");
        assert_eq!(app.vapi.requests().len(), before + 1, "{fault:?}");
        let l = lead(&app, &id).await;
        assert_eq!(
            (l["status"].as_str(), l["call_attempts"].as_i64()),
            (Some("calling"), Some(1)),
            "{fault:?}: {l}"
        );
        // Settle it (the second call record: the first was the broken try), so the next
        // round starts from an empty line.
        let call = app.vapi.call(&app.vapi.call_id_for(&id, 2));
        app.vapi_webhook(&report(
            &call,
            "customer-ended-call",
            Some("not_interested"),
        ))
        .await;
        assert_eq!(
            lead(&app, &id).await["status"],
            "not_interested",
            "{fault:?}"
        );
    }
}

async fn resend_faults_keep_the_email_and_recover(app: TestApp) {
    enable(&app, json!({})).await;
    for (n, fault) in FAULTS.into_iter().enumerate() {
        let id = lead_in(&app, n as u32, "America/New_York").await;
        app.tick().await;
        let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));
        app.vapi_webhook(&report(
            &call,
            "customer-ended-call",
            Some("not_interested"),
        ))
        .await;
        let broken = Broken::start(fault).await;
        let dialer = Dialer::new(
            app.store.clone(),
            None,
            Some(ResendClient::new(ResendConfig {
                base_url: broken.base.clone(),
                api_key: Secret::new("re_key"),
                from: "Acme <sales@acme.example>".into(),
                timeout: Duration::from_secs(1),
            })),
            app.state.dialer.clock.clone(),
            app.state.dialer.options.clone(),
        );
        let s = dialer.tick().await.unwrap();
        assert_eq!((s.emails_sent, s.emails_failed), (0, 1), "{fault:?}");
        let emails = app.get_json(&format!("/api/leads/{id}/emails")).await;
        assert_eq!(
            emails[0]["status"], "pending",
            "{fault:?}: kept in the outbox: {emails}"
        );
        // Resend is back: after the back-off (at least its Retry-After) the email goes, once.
        let wait = if fault == Fault::RateLimited { 121 } else { 61 };
        app.advance(Duration::from_secs(wait));
        let before = app.resend.sent().len();
        let s = app.tick().await;
        assert_eq!(s["emails_sent"], 1, "{fault:?}: {s}");
        assert_eq!(app.resend.sent().len(), before + 1, "{fault:?}");
    }
}

/// Cal.com broken during a call: each tool still answers 200 with something the agent can
/// say, the lead stays on its call, and the next question after Cal.com is back works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calcom_faults_leave_the_agent_an_answer_and_recover() {
    for fault in FAULTS {
        let broken = Broken::start(fault).await;
        let base = broken.base.clone();
        let app = TestApp::spawn_with(Engine::Sqlite, move |o| {
            o.calcom = Some(CalcomConfig {
                base_url: base,
                api_key: Secret::new("cal_key"),
                event_type_id: 1,
                timeout: Duration::from_secs(1),
            });
        })
        .await
        .unwrap();
        enable(&app, json!({})).await;
        let id = lead_in(&app, 1, "America/New_York").await;
        app.tick().await;
        let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));
        for (name, args) in [
            (
                "check_availability",
                json!({"timezone": "America/New_York"}),
            ),
            (
                "book_appointment",
                json!({"name": "Jane", "email": "jane@acme.example",
                "startTime": "2026-11-26T09:00", "timezone": "America/New_York"}),
            ),
        ] {
            let res = app.vapi_webhook(&tool_call(&call, "t", name, args)).await;
            assert_eq!(res.status(), StatusCode::OK, "{fault:?} {name}");
            let body: Value = res.json().await.unwrap();
            let said = body["results"][0]["result"]
                .as_str()
                .or(body["results"][0]["error"].as_str())
                .unwrap_or_default()
                .to_owned();
            assert!(!said.is_empty(), "{fault:?} {name}: {body}");
            assert!(!said.contains('\n'), "one line: {said}");
        }
        assert_eq!(lead(&app, &id).await["status"], "calling", "{fault:?}");
        if fault != Fault::Down {
            *broken.fault.lock().unwrap() = Fault::Healthy;
            let res = app
                .vapi_webhook(&tool_call(
                    &call,
                    "t2",
                    "check_availability",
                    json!({"timezone": "America/New_York"}),
                ))
                .await;
            let body: Value = res.json().await.unwrap();
            let said = body["results"][0]["result"].as_str().unwrap_or_default();
            assert!(
                said.contains("9:00"),
                "{fault:?}: back to real slots: {body}"
            );
        }
    }
}

both_engines!(
    vapi_faults_keep_the_lead_and_recover,
    resend_faults_keep_the_email_and_recover
);
