//! Integration tests: the real server over HTTP, on SQLite and on PostgreSQL.

mod auth;
mod browser;
mod call_logs;
mod cli;
mod cluster;
mod dashboard;
mod dialer;
mod emails;
mod fake_calcom;
mod fake_resend;
mod fake_vapi;
mod helpers;
mod hostile;
mod import;
mod lead_list;
mod leads;
mod lifecycle;
mod pg_cluster;
mod settings;
mod users;
