//! JSON API handlers, one module per resource.

pub mod auth;
pub mod call_logs;
pub mod checks;
pub mod dnc;
pub mod events;
pub mod health;
pub mod import;
pub mod integrations;
pub mod leads;
pub mod leads_bulk;
pub mod leads_export;
pub mod settings;
pub mod status;
pub mod tokens;
pub mod users;

use serde::Serialize;

/// Page sizes the lead and call lists accept (the dashboard offers the same).
pub const PAGE_SIZES: [u32; 4] = [10, 20, 50, 100];

/// Checks `page` (1-based) and `per_page`, applying defaults.
pub fn page_params(
    page: Option<u32>,
    per_page: Option<u32>,
) -> Result<(u32, u32), super::error::AppError> {
    let page = page.unwrap_or(1);
    if page == 0 || page > 1_000_000 {
        return Err(super::error::AppError::invalid(
            "page",
            "must be between 1 and 1000000",
        ));
    }
    let per_page = per_page.unwrap_or(PAGE_SIZES[0]);
    if !PAGE_SIZES.contains(&per_page) {
        return Err(super::error::AppError::invalid(
            "per_page",
            "must be 10, 20, 50 or 100",
        ));
    }
    Ok((page, per_page))
}

/// A page of results.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Items matching the filters across all pages.
    pub total: i64,
    /// False when `total` is a lower bound: a search counts its matches only up to 1,000.
    pub total_exact: bool,
    pub page: u32,
    pub per_page: u32,
}
