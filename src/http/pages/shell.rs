//! What every dashboard page shares: who is signed in, the theme, the navigation.

use axum::{extract::FromRequestParts, http::request::Parts};

use crate::http::{
    AppState,
    auth::{AuthVia, CurrentUser, cookie},
    error::AppError,
};

/// The cookie holding the chosen theme; read on the server so the first paint is right.
pub const THEME_COOKIE: &str = "theme";

/// Light, dark, or whatever the system prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Light,
    Dark,
    System,
}

impl Theme {
    pub fn parse(s: &str) -> Option<Theme> {
        match s {
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            "system" => Some(Theme::System),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
            Theme::System => "system",
        }
    }

    /// The theme a request's cookie names (system when none).
    pub fn of(headers: &axum::http::HeaderMap) -> Theme {
        cookie(headers, THEME_COOKIE)
            .and_then(Theme::parse)
            .unwrap_or(Theme::System)
    }
}

/// The page frame: navigation, theme switch, the signed-in user, and the CSRF token the
/// page's script sends with every write.
pub struct Shell {
    pub theme: Theme,
    pub email: String,
    pub is_admin: bool,
    pub csrf_token: String,
    pub sandbox: bool,
    /// Which navigation entry is current (set by the page).
    pub active: &'static str,
}

impl Shell {
    pub fn at(mut self, active: &'static str) -> Self {
        self.active = active;
        self
    }

    /// `aria-current` for the navigation link named `name`.
    pub fn current(&self, name: &str) -> &'static str {
        if self.active == name { "page" } else { "false" }
    }
}

impl FromRequestParts<AppState> for Shell {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let current = CurrentUser::from_request_parts(parts, state).await?;
        Ok(Shell::new(current, Theme::of(&parts.headers), state))
    }
}

impl Shell {
    /// The frame for `current`'s pages.
    pub fn new(current: CurrentUser, theme: Theme, state: &AppState) -> Shell {
        let csrf_token = match current.via {
            AuthVia::Session { csrf_token, .. } => csrf_token,
            AuthVia::Token => String::new(),
        };
        Shell {
            theme,
            email: current.user.email,
            is_admin: current.user.role == crate::domain::user::Role::Admin,
            csrf_token,
            sandbox: state.sandbox.is_some(),
            active: "",
        }
    }
}
