//! Request tracing. Spans carry the method and path only: query strings can hold search
//! text (names, phone numbers, emails) that must not reach logs.

use std::time::Duration;

use axum::{body::Body, http::Request, response::Response};
use tower_http::{
    classify::{ServerErrorsAsFailures, SharedClassifier},
    trace::TraceLayer,
};
use tracing::Span;

type MakeSpan = fn(&Request<Body>) -> Span;
type OnResponse = fn(&Response, Duration, &Span);

pub fn layer() -> TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    MakeSpan,
    tower_http::trace::DefaultOnRequest,
    OnResponse,
> {
    TraceLayer::new_for_http()
        .make_span_with(make_span as MakeSpan)
        .on_response(on_response as OnResponse)
}

fn make_span(req: &Request<Body>) -> Span {
    tracing::info_span!("request", http.method = %req.method(), http.path = %req.uri().path())
}

fn on_response(res: &Response, latency: Duration, _span: &Span) {
    tracing::debug!(
        http.status = res.status().as_u16(),
        latency_ms = latency.as_millis() as u64,
        "response"
    );
}
