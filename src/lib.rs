//! AI Dialer: a self-hosted AI outbound dialer. The binary (`src/main.rs`) is a thin CLI over
//! this library, which the integration tests drive directly.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dialer;
pub mod domain;
pub mod email;
pub mod http;
pub mod import;
pub mod integrations;
pub mod sandbox;
pub mod store;
pub mod telemetry;
