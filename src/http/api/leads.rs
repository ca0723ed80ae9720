//! `/api/leads`: list, create, read, edit and delete (bulk actions and the CSV export live
//! beside this file).

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use uuid::Uuid;

use super::{Paged, page_params};
use crate::{
    domain::{
        FieldError,
        email::Email,
        lead::{LeadInput, LeadPatch, LeadStatus, MAX_ATTEMPTS_EDIT, MAX_TEXT, NewLead},
        phone::{Phone, Region},
        required_text,
        timezone::TimeZoneName,
    },
    http::{
        AppState,
        auth::CurrentUser,
        error::{AppError, AppResult, ErrorBody, OrNotFound},
        extract::{Json, Path, Query, non_null},
    },
    store::{
        lead_list::{LeadFilter, LeadListQuery, LeadSort, Order},
        leads::Lead,
    },
};

/// Filters shared by the list and the export.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeadListParams {
    /// Comma-separated statuses, e.g. `pending,no_answer`.
    pub status: Option<String>,
    /// Case-insensitive text found in company, contact, email or phone.
    pub q: Option<String>,
    /// company_name, contact_name, phone, email, status, timezone, call_attempts,
    /// last_called_at, next_call_at or created_at (default).
    pub sort: Option<String>,
    /// asc or desc (default desc).
    pub order: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// 10 (default), 20, 50 or 100.
    pub per_page: Option<u32>,
}

impl LeadListParams {
    /// The page the dashboard asked for, with `sort`/`per_page` from its remembered choice
    /// when the request names none.
    pub fn with_defaults(mut self, sort: Option<(String, String)>, per_page: Option<u32>) -> Self {
        if self.sort.is_none()
            && let Some((column, order)) = sort
        {
            self.sort = Some(column);
            self.order = Some(order);
        }
        if self.per_page.is_none() {
            self.per_page = per_page;
        }
        self
    }

    /// The store query these parameters describe.
    pub fn query(&self) -> Result<LeadListQuery, AppError> {
        let (page, per_page) = page_params(self.page, self.per_page)?;
        let (sort, order) = self.sort()?;
        Ok(LeadListQuery {
            filter: self.filter()?,
            sort,
            order,
            page,
            per_page,
        })
    }

    pub fn status(&self) -> &str {
        self.status.as_deref().unwrap_or("")
    }

    pub fn q(&self) -> &str {
        self.q.as_deref().unwrap_or("")
    }

    /// Whether the request named a sort column (no column means the default order).
    pub fn sorted_by(&self) -> Option<&str> {
        self.sort.as_deref()
    }
}

impl LeadListParams {
    pub fn filter(&self) -> Result<LeadFilter, AppError> {
        let mut statuses = Vec::new();
        for part in self
            .status
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let status = LeadStatus::parse(part).ok_or_else(|| {
                AppError::invalid("status", format!("unknown status {part:?}; use pending, calling, no_answer, scheduled, not_interested or error"))
            })?;
            if !statuses.contains(&status) {
                statuses.push(status);
            }
        }
        let q = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if q.is_some_and(|q| q.chars().count() > MAX_TEXT) {
            return Err(AppError::invalid(
                "q",
                format!("must be at most {MAX_TEXT} characters"),
            ));
        }
        if q.is_some_and(|q| q.chars().any(char::is_control)) {
            return Err(AppError::invalid(
                "q",
                "must not contain control characters",
            ));
        }
        Ok(LeadFilter {
            statuses,
            q: q.map(str::to_owned),
        })
    }

    pub fn sort(&self) -> Result<(LeadSort, Order), AppError> {
        let name = self.sort.as_deref().unwrap_or("created_at");
        let sort = LeadSort::parse(name).ok_or_else(|| {
            AppError::invalid(
                "sort",
                format!(
                    "cannot sort by {name:?}; use company_name, contact_name, phone, email, status, timezone, call_attempts, last_called_at, next_call_at or created_at"
                ),
            )
        })?;
        let order = match self.order.as_deref().unwrap_or("desc") {
            "asc" => Order::Asc,
            "desc" => Order::Desc,
            other => {
                return Err(AppError::invalid(
                    "order",
                    format!("{other:?} is not asc or desc"),
                ));
            }
        };
        Ok((sort, order))
    }
}

/// List leads, filtered, sorted and paginated.
#[utoipa::path(get, path = "/api/leads", tag = "leads", params(LeadListParams),
    responses((status = 200, body = Paged<Lead>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_leads(
    State(state): State<AppState>,
    _user: CurrentUser,
    Query(params): Query<LeadListParams>,
) -> AppResult<Json<Paged<Lead>>> {
    let query = params.query()?;
    let (page, per_page) = (query.page, query.per_page);
    let result = state.store.list_leads(&query).await?;
    Ok(Json(Paged {
        items: result.items,
        total: result.total,
        total_exact: result.total_exact,
        page,
        per_page,
    }))
}

/// A new lead. `timezone` defaults to the settings' default time zone.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLeadRequest {
    company_name: String,
    contact_name: String,
    /// Any common notation; stored as E.164 using the settings' default region.
    phone: String,
    email: String,
    timezone: Option<String>,
}

async fn lead_defaults(state: &AppState) -> AppResult<(Region, TimeZoneName)> {
    let settings = state.store.settings().await?;
    Ok((settings.phone_region(), settings.default_tz()?))
}

fn phone_conflict(err: crate::store::StoreError) -> AppError {
    if err.is_conflict_on("phone") {
        AppError::Conflict("a lead with this phone number already exists".into())
    } else {
        err.into()
    }
}

/// Add one lead.
#[utoipa::path(post, path = "/api/leads", tag = "leads", request_body = CreateLeadRequest,
    responses((status = 201, body = Lead), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_lead(
    State(state): State<AppState>,
    _user: CurrentUser,
    Json(body): Json<CreateLeadRequest>,
) -> AppResult<(StatusCode, Json<Lead>)> {
    let (region, default_tz) = lead_defaults(&state).await?;
    let input = LeadInput {
        company_name: &body.company_name,
        contact_name: &body.contact_name,
        phone: &body.phone,
        email: &body.email,
        timezone: body.timezone.as_deref(),
    };
    let lead = NewLead::parse(&input, region, &default_tz).map_err(AppError::Validation)?;
    let created = state
        .store
        .create_lead(&lead)
        .await
        .map_err(phone_conflict)?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Fetch one lead.
#[utoipa::path(get, path = "/api/leads/{id}", tag = "leads", params(("id" = Uuid, Path)),
    responses((status = 200, body = Lead), (status = 404, body = ErrorBody)))]
pub async fn get_lead(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Lead>> {
    Ok(Json(state.store.get_lead(id).await.or_not_found("lead")?))
}

/// The fields a person may edit. Anything else in the body is refused.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLeadRequest {
    #[serde(default, deserialize_with = "non_null")]
    company_name: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    contact_name: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    phone: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    email: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    timezone: Option<String>,
    /// Any status but `calling`, which only the dialer sets.
    #[serde(default, deserialize_with = "non_null")]
    status: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    call_attempts: Option<i64>,
}

impl UpdateLeadRequest {
    fn validate(&self, region: Region) -> Result<LeadPatch, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check = |r: Result<(), FieldError>| {
            if let Err(e) = r {
                errors.push(e);
            }
        };
        let mut patch = LeadPatch::default();
        if let Some(v) = &self.company_name {
            check(required_text("company_name", v, MAX_TEXT).map(|v| patch.company_name = Some(v)));
        }
        if let Some(v) = &self.contact_name {
            check(required_text("contact_name", v, MAX_TEXT).map(|v| patch.contact_name = Some(v)));
        }
        if let Some(v) = &self.phone {
            check(Phone::parse(v, region).map(|v| patch.phone = Some(v)));
        }
        if let Some(v) = &self.email {
            check(Email::parse(v).map(|v| patch.email = Some(v)));
        }
        if let Some(v) = &self.timezone {
            check(TimeZoneName::parse(v).map(|v| patch.timezone = Some(v)));
        }
        if let Some(v) = &self.status {
            check(LeadStatus::parse_manual("status", v).map(|v| patch.status = Some(v)));
        }
        if let Some(v) = self.call_attempts {
            if (0..=MAX_ATTEMPTS_EDIT).contains(&v) {
                patch.call_attempts = Some(v);
            } else {
                check(Err(FieldError::new(
                    "call_attempts",
                    format!("must be between 0 and {MAX_ATTEMPTS_EDIT}"),
                )));
            }
        }
        if errors.is_empty() && patch.is_empty() {
            errors.push(FieldError::new("body", "names no field to change"));
        }
        if errors.is_empty() {
            Ok(patch)
        } else {
            Err(errors)
        }
    }
}

/// Edit a lead's editable fields.
#[utoipa::path(patch, path = "/api/leads/{id}", tag = "leads", params(("id" = Uuid, Path)), request_body = UpdateLeadRequest,
    responses((status = 200, body = Lead), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_lead(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateLeadRequest>,
) -> AppResult<Json<Lead>> {
    let (region, _) = lead_defaults(&state).await?;
    let patch = body.validate(region).map_err(AppError::Validation)?;
    if patch.status.is_some_and(LeadStatus::is_due) || patch.call_attempts.is_some() {
        let current = state.store.get_lead(id).await.or_not_found("lead")?;
        if current.status == LeadStatus::Calling {
            return Err(AppError::Conflict(
                "the lead is on a call right now; change its status or attempts after the call ends".into(),
            ));
        }
    }
    let lead = state
        .store
        .update_lead(id, &patch)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound => AppError::not_found("lead"),
            other => phone_conflict(other),
        })?;
    Ok(Json(lead))
}

/// Delete a lead and its call history.
#[utoipa::path(delete, path = "/api/leads/{id}", tag = "leads", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_lead(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    state.store.delete_lead(id).await.or_not_found("lead")?;
    Ok(StatusCode::NO_CONTENT)
}

/// The follow-up emails queued for a lead and what became of them, newest first.
#[utoipa::path(get, path = "/api/leads/{id}/emails", tag = "leads", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<crate::store::outbox::EmailRecord>), (status = 404, body = ErrorBody)))]
pub async fn lead_emails(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Vec<crate::store::outbox::EmailRecord>>> {
    state.store.get_lead(id).await.or_not_found("lead")?;
    Ok(Json(state.store.lead_emails(id).await?))
}
