//! The leads page (`/`): the automation panel and the lead table. The table is also served
//! alone (`/leads/table`) so the page's script can swap it in place when the user sorts,
//! filters or pages, or when leads change elsewhere; without the script every control still
//! works as a plain link or form.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{AppendHeaders, IntoResponse, Response},
};

use super::{format, render, shell::Shell};
use crate::{
    domain::lead::LeadStatus,
    http::{
        AppState,
        api::{
            PAGE_SIZES,
            leads::LeadListParams,
            status::{StatusResponse, live_status},
        },
        auth::{cookie, url_encode},
        error::{AppError, AppResult},
    },
    store::{
        lead_list::{LeadSort, Order},
        leads::Lead,
    },
};

const SORT_COOKIE: &str = "lead_sort";
const PER_PAGE_COOKIE: &str = "lead_per_page";
const REMEMBER: &str = "Path=/; Max-Age=31536000; SameSite=Lax";

/// Column labels, in the table's order (the original's columns plus next call).
const COLUMNS: [(LeadSort, &str); 9] = [
    (LeadSort::CompanyName, "Company"),
    (LeadSort::ContactName, "Contact"),
    (LeadSort::Phone, "Phone"),
    (LeadSort::Email, "Email"),
    (LeadSort::Status, "Status"),
    (LeadSort::Timezone, "Time zone"),
    (LeadSort::CallAttempts, "Attempts"),
    (LeadSort::LastCalledAt, "Last called"),
    (LeadSort::NextCallAt, "Next call"),
];

struct Column {
    key: &'static str,
    label: &'static str,
    href: String,
    /// `ascending`, `descending` or `none`, for `aria-sort`.
    aria_sort: &'static str,
}

struct Row {
    id: String,
    company: String,
    contact: String,
    phone: String,
    email: String,
    status: &'static str,
    status_label: String,
    status_reason: String,
    timezone: String,
    attempts: i64,
    last_called: String,
    last_called_iso: String,
    next_call: String,
    next_call_iso: String,
    dnc: bool,
    /// A lead on a call cannot be edited until the call ends.
    locked: bool,
}

impl Row {
    fn new(l: Lead) -> Row {
        Row {
            id: l.id.to_string(),
            status: l.status.as_str(),
            status_label: format::label(l.status.as_str()),
            status_reason: l.status_reason.unwrap_or_default(),
            attempts: l.call_attempts,
            last_called: format::local_time(l.last_called_at, &l.timezone),
            last_called_iso: format::iso(l.last_called_at),
            next_call: match l.status {
                LeadStatus::Pending | LeadStatus::NoAnswer => match l.next_call_at {
                    Some(_) => format::local_time(l.next_call_at, &l.timezone),
                    None => "When due".into(),
                },
                _ => "—".into(),
            },
            next_call_iso: format::iso(l.next_call_at),
            dnc: l.do_not_call,
            locked: l.status == LeadStatus::Calling,
            company: l.company_name,
            contact: l.contact_name,
            phone: l.phone,
            email: l.email,
            timezone: l.timezone,
        }
    }
}

/// The lead table with its pagination.
#[derive(Template)]
#[template(path = "leads_table.html")]
struct LeadsTable {
    rows: Vec<Row>,
    columns: Vec<Column>,
    total: i64,
    page: u32,
    pages: u64,
    /// "1,234" or, for a search counted only so far, "10,000+".
    total_label: String,
    pages_label: String,
    /// Whether the last page is known (the "last" link needs it).
    last_known: bool,
    page_sizes: Vec<(u32, bool)>,
    has_next: bool,
    first_item: u64,
    last_item: u64,
    /// The current view as a query string (what the script re-fetches on live updates).
    query: String,
    first_href: String,
    prev_href: String,
    next_href: String,
    last_href: String,
    filtered: bool,
}

#[derive(Template)]
#[template(path = "leads.html")]
struct LeadsPage {
    shell: Shell,
    status: StatusResponse,
    table: String,
    statuses: Vec<(&'static str, String, bool)>,
    manual_statuses: Vec<(&'static str, String)>,
    q: String,
    zones: Vec<(String, String)>,
    default_tz: String,
    export_href: String,
}

/// The view the request asks for, after applying the remembered sort and page size; with
/// the cookies to send back when the request changed them.
fn resolve(mut params: LeadListParams, headers: &HeaderMap) -> (LeadListParams, Vec<String>) {
    let mut set = Vec::new();
    match params.sorted_by() {
        Some("none") => {
            params = LeadListParams {
                sort: None,
                order: None,
                ..params
            };
            set.push(format!("{SORT_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax"));
        }
        Some(column) => {
            let order = params.order.clone().unwrap_or_else(|| "desc".into());
            if LeadSort::parse(column).is_some() && matches!(order.as_str(), "asc" | "desc") {
                set.push(format!("{SORT_COOKIE}={column}.{order}; {REMEMBER}"));
            }
        }
        None => {
            let remembered = cookie(headers, SORT_COOKIE).and_then(|v| {
                let (column, order) = v.split_once('.')?;
                (LeadSort::parse(column).is_some() && matches!(order, "asc" | "desc"))
                    .then(|| (column.to_owned(), order.to_owned()))
            });
            params = params.with_defaults(remembered, None);
        }
    }
    match params.per_page {
        Some(n) if PAGE_SIZES.contains(&n) => {
            set.push(format!("{PER_PAGE_COOKIE}={n}; {REMEMBER}"));
        }
        Some(_) => {}
        None => {
            let remembered = cookie(headers, PER_PAGE_COOKIE)
                .and_then(|v| v.parse::<u32>().ok())
                .filter(|n| PAGE_SIZES.contains(n));
            params = params.with_defaults(None, remembered);
        }
    }
    (params, set)
}

/// `key=value&...`, skipping empty values.
fn query_string(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn table(state: &AppState, params: &LeadListParams) -> AppResult<LeadsTable> {
    let mut query = params.query()?;
    let mut result = state.store.list_leads(&query).await?;
    let per_page = u64::from(query.per_page);
    let total = result.total.max(0) as u64;
    let last_page = total.div_ceil(per_page).max(1);
    // Past the end (the list shrank under a live update or a bulk delete): show the last page.
    if result.total_exact && u64::from(query.page) > last_page {
        query.page = last_page as u32;
        result = state.store.list_leads(&query).await?;
    }
    let explicit_sort = params.sorted_by().map(|_| query.sort);
    let order = match query.order {
        Order::Asc => "asc",
        Order::Desc => "desc",
    };
    let base = |sort: Option<(&str, &str)>, page: u64| {
        let (s, o) = sort.unwrap_or(("", ""));
        let qs = query_string(&[
            ("status", params.status().to_owned()),
            ("q", params.q().to_owned()),
            ("sort", s.to_owned()),
            ("order", o.to_owned()),
            (
                "page",
                if page > 1 {
                    page.to_string()
                } else {
                    String::new()
                },
            ),
            ("per_page", query.per_page.to_string()),
        ]);
        format!("?{qs}")
    };
    let current_sort = explicit_sort.map(|s| (s.column(), order));
    let columns = COLUMNS
        .iter()
        .map(|&(key, label)| {
            let active = explicit_sort == Some(key);
            // Click cycles ascending, descending, none (the default order).
            let next = match (active, order) {
                (false, _) => Some((key.column(), "asc")),
                (true, "asc") => Some((key.column(), "desc")),
                (true, _) => Some(("none", "")),
            };
            Column {
                key: key.column(),
                label,
                href: base(next, 1),
                aria_sort: match (active, order) {
                    (false, _) => "none",
                    (true, "asc") => "ascending",
                    (true, _) => "descending",
                },
            }
        })
        .collect();
    let total = result.total.max(0) as u64;
    let pages = total.div_ceil(per_page).max(1);
    let page = u64::from(query.page);
    // An inexact total (a search matching very many leads) is a lower bound: paging on
    // stays possible while pages come back full.
    let has_next = if result.total_exact {
        page < pages
    } else {
        result.items.len() as u64 == per_page
    };
    let more = if result.total_exact { "" } else { "+" };
    let first_item = if total == 0 {
        0
    } else {
        (page - 1) * per_page + 1
    };
    let last_item = (page - 1) * per_page + result.items.len() as u64;
    Ok(LeadsTable {
        rows: result.items.into_iter().map(Row::new).collect(),
        columns,
        total: result.total,
        total_label: format!("{}{more}", thousands(total)),
        page: query.page,
        pages,
        pages_label: format!("{}{more}", thousands(pages.max(page))),
        last_known: result.total_exact,
        page_sizes: PAGE_SIZES
            .iter()
            .map(|&n| (n, n == query.per_page))
            .collect(),
        has_next,
        first_item,
        last_item,
        query: base(current_sort, page).trim_start_matches('?').to_owned(),
        first_href: base(current_sort, 1),
        prev_href: base(current_sort, page.saturating_sub(1).max(1)),
        next_href: base(current_sort, page + 1),
        last_href: base(current_sort, pages),
        filtered: !params.status().is_empty() || !params.q().is_empty(),
    })
}

fn with_cookies(cookies: Vec<String>, response: Response) -> Response {
    let headers: Vec<(header::HeaderName, String)> = cookies
        .into_iter()
        .map(|c| (header::SET_COOKIE, c))
        .collect();
    (AppendHeaders(headers), response).into_response()
}

/// `GET /`: the leads page.
pub async fn leads_page(
    State(state): State<AppState>,
    shell: Shell,
    headers: HeaderMap,
    Query(params): Query<LeadListParams>,
) -> AppResult<Response> {
    let (params, cookies) = resolve(params, &headers);
    let table = match table(&state, &params).await {
        Ok(t) => t,
        // A hand-edited URL with a bad parameter shows the default view, not an error page.
        Err(AppError::Validation(_)) => table(&state, &LeadListParams::default()).await?,
        Err(e) => return Err(e),
    };
    let settings = state.store.settings().await?;
    let page = LeadsPage {
        shell: shell.at("leads"),
        status: live_status(&state).await?,
        table: table
            .render()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering the lead table: {e}")))?,
        statuses: LeadStatus::ALL
            .iter()
            .map(|s| {
                let v = s.as_str();
                (v, format::label(v), params.status() == v)
            })
            .collect(),
        manual_statuses: LeadStatus::ALL
            .iter()
            .filter(|s| s.settable_by_hand())
            .map(|s| (s.as_str(), format::label(s.as_str())))
            .collect(),
        q: params.q().to_owned(),
        zones: format::zone_choices(),
        default_tz: settings.default_timezone,
        export_href: format!(
            "/api/leads/export?{}",
            query_string(&[
                ("status", params.status().to_owned()),
                ("q", params.q().to_owned())
            ])
        ),
    };
    Ok(with_cookies(cookies, render(StatusCode::OK, &page)))
}

/// `GET /leads/table`: the table alone, for the page's script.
pub async fn leads_table(
    State(state): State<AppState>,
    _shell: Shell,
    headers: HeaderMap,
    Query(params): Query<LeadListParams>,
) -> AppResult<Response> {
    let (params, cookies) = resolve(params, &headers);
    let table = table(&state, &params).await?;
    Ok(with_cookies(cookies, render(StatusCode::OK, &table)))
}

/// 1234567 → "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
