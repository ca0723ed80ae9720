//! Password hashing (argon2id) and the random secrets behind sessions and API tokens.

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::{Rng, RngCore, distributions::Alphanumeric};
use sha2::{Digest, Sha256};

/// Shortest password we accept for a user.
pub const MIN_PASSWORD_LEN: usize = 10;
/// Prefix that makes our API tokens recognisable (e.g. to secret scanners).
pub const TOKEN_PREFIX: &str = "dlr_";

/// Argon2 runs at most this many at once: each takes ~19 MiB and a core for tens of
/// milliseconds, so a flood of sign-ins queues here instead of exhausting memory.
const MAX_CONCURRENT_HASHES: usize = 4;

fn hash_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(MAX_CONCURRENT_HASHES))
}

/// Hashes a password with argon2id on a blocking thread (it is deliberately slow).
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    let _permit = hash_permits().acquire().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await?
}

/// Checks a password against a stored hash. A malformed hash counts as a mismatch.
pub async fn verify_password(password: String, hash: String) -> bool {
    let Ok(_permit) = hash_permits().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, verified against when the email is unknown so that a
/// failed sign-in takes as long whether or not the account exists.
pub async fn dummy_verify(password: String) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = match DUMMY.get() {
        Some(h) => h.clone(),
        None => {
            let h = hash_password(random_password()).await.unwrap_or_default();
            DUMMY.get_or_init(|| h).clone()
        }
    };
    let _ = verify_password(password, hash).await;
}

/// Checks a new password is long enough to be worth hashing.
pub fn check_new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(format!("must be at least {MIN_PASSWORD_LEN} characters"));
    }
    if password.len() > 1024 {
        return Err("must be at most 1024 bytes".into());
    }
    Ok(())
}

/// A random 20-character password for generated accounts.
pub fn random_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// 32 random bytes, URL-safe base64: session cookies and CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API token as shown to its owner once.
pub fn new_api_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_token())
}

/// The digest under which a session or API token is stored.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), hash.clone()).await);
        assert!(!verify_password("wrong horse battery".into(), hash).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
    }

    #[test]
    fn tokens_are_random_and_digested() {
        let a = new_api_token();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_ne!(a, new_api_token());
        assert_eq!(token_digest(&a).len(), 64);
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough pw").is_ok());
    }
}
