//! Serde adapters that write epoch milliseconds as RFC 3339 UTC strings in the API.

use serde::Serializer;

use super::{Millis, millis_to_rfc3339};

pub fn serialize<S: Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&millis_to_rfc3339(*ms))
}

/// For optional instants: `null` when absent.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => s.serialize_str(&millis_to_rfc3339(*ms)),
            None => s.serialize_none(),
        }
    }
}
