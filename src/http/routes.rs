//! Every route in one place. API routes are registered with their OpenAPI descriptions, so
//! `/api/openapi.json` is generated from this table and cannot drift from it.

use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::header,
    middleware::{from_fn, from_fn_with_state},
    response::IntoResponse,
    routing::{get, post},
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme},
};
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouterExt},
    routes,
};

use super::{
    AppState,
    api::{
        auth, call_logs, checks, dnc, events, health, import, integrations, leads, leads_bulk,
        leads_export, settings, status, tokens, users,
    },
    auth::{require_page_user, require_user},
    error::AppError,
    pages, security,
};

/// Largest JSON body accepted anywhere (imports stream and have their own limit).
pub const MAX_JSON_BYTES: usize = 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "AI Dialer API", description = "Leads, calls, settings and users of an AI Dialer server."),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    tags(
        (name = "leads"), (name = "calls"), (name = "settings"), (name = "auth"),
        (name = "users"), (name = "tokens"), (name = "dialer"), (name = "dnc"), (name = "health"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "cron_secret",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "vapi_secret",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-vapi-secret"))),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                super::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// Routes anyone may call.
fn public_api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(auth::login))
        .routes(routes!(integrations::cron, integrations::cron_post))
        .routes(routes!(integrations::vapi_webhook))
        .routes(routes!(integrations::calcom_webhook))
}

/// Routes that need a signed-in user (enforced by one layer in [`build`]).
fn private_api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::me))
        .routes(routes!(auth::logout))
        .routes(routes!(leads::list_leads, leads::create_lead))
        .routes(routes!(
            leads::get_lead,
            leads::update_lead,
            leads::delete_lead
        ))
        .routes(routes!(leads::lead_emails))
        .routes(routes!(leads_bulk::bulk_leads))
        .routes(routes!(leads_export::export_leads))
        .routes(
            routes!(import::import_leads)
                .layer(DefaultBodyLimit::max(import::MAX_UPLOAD_BYTES as usize)),
        )
        .routes(routes!(import::import_progress))
        .routes(routes!(call_logs::list_call_logs))
        .routes(routes!(call_logs::call_totals))
        .routes(routes!(call_logs::get_call_log))
        .routes(routes!(call_logs::get_call_report))
        .routes(routes!(settings::get_settings, settings::update_settings))
        .routes(routes!(settings::email_preview))
        .routes(routes!(checks::test_integration))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::update_user, users::delete_user))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::delete_token))
        .routes(routes!(dnc::list_dnc, dnc::add_dnc))
        .routes(routes!(dnc::remove_dnc))
        .routes(routes!(dnc::import_dnc).layer(DefaultBodyLimit::max(dnc::MAX_DNC_UPLOAD)))
        .routes(routes!(status::status))
        .routes(routes!(status::set_automation))
        .routes(routes!(events::events))
        .routes(routes!(status::sandbox_emails))
}

/// Splits the API routers into axum routers and the OpenAPI document describing them.
pub fn api_parts() -> (Router<AppState>, Router<AppState>, utoipa::openapi::OpenApi) {
    let (public, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(public_api())
        .split_for_parts();
    let (private, mut private_doc) = private_api().split_for_parts();
    document_common_errors(&mut private_doc, true);
    document_common_errors(&mut doc, false);
    doc.merge(private_doc);
    (public, private, doc)
}

/// Adds the answers any operation can give, whatever its handler does, to every operation
/// that does not document them already: 400 (a path parameter, query or body that cannot be
/// read), 413 and 415 (a body too large or not of its type), 401 (private operations
/// without a session or token) and 503 (the database unreachable). All carry `ErrorBody`.
fn document_common_errors(doc: &mut utoipa::openapi::OpenApi, private: bool) {
    use utoipa::openapi::{Content, RefOr, ResponseBuilder, path::Operation};
    let error = |text: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(text)
                .content(
                    "application/json",
                    Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        "ErrorBody",
                    )))),
                )
                .build(),
        )
    };
    let add = |op: &mut Operation| {
        let mut answers = vec![
            (
                "400",
                "The request could not be read: a malformed path parameter, query or body.",
            ),
            ("503", "The database is unreachable; try again shortly."),
        ];
        if op.request_body.is_some() {
            answers.push(("413", "The body is larger than this operation accepts."));
            answers.push(("415", "The body is not of the type this operation reads."));
        }
        if private {
            answers.push(("401", "No valid session or API token."));
        }
        for (code, text) in answers {
            op.responses
                .responses
                .entry(code.to_owned())
                .or_insert_with(|| error(text));
        }
    };
    for item in doc.paths.paths.values_mut() {
        let ops = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ];
        ops.into_iter().flatten().for_each(add);
    }
}

/// Assembles the whole application around `state`.
pub fn build(
    state: AppState,
    public_api: Router<AppState>,
    private_api: Router<AppState>,
) -> Router {
    let private_api = private_api
        .route("/api/openapi.json", get(openapi_json))
        // Unknown API paths answer 401 to strangers and 404 to users, revealing nothing.
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .layer(from_fn_with_state(state.clone(), require_user));
    let pages = Router::new()
        .route("/", get(pages::leads::leads_page))
        .route("/leads/table", get(pages::leads::leads_table))
        .route("/leads/{id}", get(pages::lead_detail::lead_page))
        .route("/calls", get(pages::calls::calls_page))
        .route("/import", get(pages::import::import_page))
        .route("/settings", get(pages::settings::settings_page))
        .route("/logout", post(pages::login::logout_submit))
        .layer(from_fn_with_state(
            state.clone(),
            pages::errors::html_errors,
        ))
        .layer(from_fn_with_state(state.clone(), require_page_user));
    Router::new()
        .merge(public_api)
        .merge(private_api)
        .merge(pages)
        .route(
            "/login",
            get(pages::login::login_page).post(pages::login::login_submit),
        )
        .route("/static/app.css", get(pages::app_css))
        .route("/static/app.js", get(pages::app_js))
        .route("/theme", post(pages::set_theme))
        .fallback(pages::errors::not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        .layer(from_fn(refuse_oversized_bodies))
        .layer(from_fn(security::security_headers))
        .layer(super::trace::layer())
        .with_state(state)
}

async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi_json.as_str().to_owned(),
    )
}

/// Answers 413 from the announced `Content-Length`, before reading any of the body, so an
/// oversized upload is refused at once instead of after it has been sent. The import route
/// streams and enforces its own, larger limit.
async fn refuse_oversized_bodies(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = match req.uri().path() {
        "/api/leads/import" => import::MAX_UPLOAD_BYTES,
        "/api/dnc/import" => dnc::MAX_DNC_UPLOAD as u64,
        _ => MAX_JSON_BYTES as u64,
    };
    if announced.is_some_and(|len| len > limit) {
        return AppError::BadRequest {
            status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            code: "payload_too_large",
            message: format!("request bodies are limited to {limit} bytes"),
        }
        .into_response();
    }
    next.run(req).await
}

async fn method_not_allowed() -> AppError {
    AppError::BadRequest {
        status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
        code: "method_not_allowed",
        message: "this route does not accept that method".into(),
    }
}

async fn api_not_found() -> AppError {
    AppError::NotFound("no such API route".into())
}
