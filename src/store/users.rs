//! Users, their sessions and their API tokens. Secrets are stored only as SHA-256 digests.

use serde::Serialize;
use sqlx::FromRow;
use uuid::Uuid;

use super::{Store, StoreError, StoreResult, read, write};
use crate::domain::{Millis, now_millis, user::Role};

/// A dashboard or API user (never carries the password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    #[serde(with = "crate::domain::serde_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

#[derive(FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    role: String,
    created_at: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            email: r.email,
            role: Role::parse(&r.role).unwrap_or(Role::Member),
            created_at: r.created_at,
        }
    }
}

/// A user together with the password hash, for verifying a sign-in.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// A live session: who it belongs to and the token its writes must echo.
pub struct SessionInfo {
    pub user: User,
    pub csrf_token: String,
}

/// An API token's public description (the secret itself is shown once, at creation).
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "crate::domain::serde_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    #[serde(with = "crate::domain::serde_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Millis>,
}

/// Token use is recorded at most this often, so busy scripts don't write on every request.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

impl Store {
    /// Creates a user; emails are unique case-insensitively (stored lower-case).
    pub async fn create_user(
        &self,
        email: &str,
        password_hash: &str,
        role: Role,
    ) -> StoreResult<User> {
        let now = now_millis();
        let row: UserRow = write!(self, pool => sqlx::query_as::<_, UserRow>(
            "INSERT INTO users (id, email, password_hash, role, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id, email, role, created_at",
        )
        .bind(Uuid::now_v7())
        .bind(email.to_lowercase())
        .bind(password_hash)
        .bind(role.as_str())
        .bind(now)
        .fetch_one(pool)
        .await?);
        Ok(row.into())
    }

    pub async fn count_users(&self) -> StoreResult<i64> {
        Ok(read!(self, pool =>
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(pool).await?))
    }

    pub async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = read!(self, pool => sqlx::query_as::<_, UserRow>(
            "SELECT id, email, role, created_at FROM users ORDER BY email, id",
        )
        .fetch_all(pool)
        .await?);
        Ok(rows.into_iter().map(User::from).collect())
    }

    pub async fn get_user(&self, id: Uuid) -> StoreResult<User> {
        let row: Option<UserRow> = read!(self, pool => sqlx::query_as::<_, UserRow>(
            "SELECT id, email, role, created_at FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?);
        row.map(User::from).ok_or(StoreError::NotFound)
    }

    pub async fn user_credentials(&self, email: &str) -> StoreResult<Option<Credentials>> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: String,
        }
        let row: Option<Row> = read!(self, pool => sqlx::query_as::<_, Row>(
            "SELECT id, email, role, created_at, password_hash FROM users WHERE email = $1",
        )
        .bind(email.trim().to_lowercase())
        .fetch_optional(pool)
        .await?);
        Ok(row.map(|r| Credentials {
            password_hash: r.password_hash,
            user: r.user.into(),
        }))
    }

    /// Changes a role, refusing (with [`StoreError::Conflict`] on `last_admin`) to demote
    /// the last admin. The check and the change happen in one serialised transaction, so two
    /// admins demoting each other at once cannot leave none.
    pub async fn set_user_role(&self, id: Uuid, role: Role) -> StoreResult<User> {
        self.guard_last_admin(id, Some(role))
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Deletes a user, refusing to delete the last admin (see [`Store::set_user_role`]).
    pub async fn delete_user(&self, id: Uuid) -> StoreResult<()> {
        self.guard_last_admin(id, None).await?;
        Ok(())
    }

    /// Sets `id`'s role (`Some`) or deletes it (`None`) unless that would leave no admin.
    async fn guard_last_admin(&self, id: Uuid, role: Option<Role>) -> StoreResult<Option<User>> {
        write!(self, pool => {
            let mut tx = pool.begin_with(self.begin_read_write()).await?;
            if self.engine() == super::Engine::Postgres {
                // Serialises admin changes across instances; SQLite has one writer anyway.
                sqlx::query("SELECT pg_advisory_xact_lock(4200001)").execute(&mut *tx).await?;
            }
            let current: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(current) = current else { return Err(StoreError::NotFound) };
            let stays_admin = role == Some(Role::Admin);
            if current == "admin" && !stays_admin {
                let others: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND id <> $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                if others == 0 {
                    return Err(StoreError::Conflict { what: "last_admin".into() });
                }
            }
            let user = match role {
                Some(role) => Some(User::from(sqlx::query_as::<_, UserRow>(
                    "UPDATE users SET role = $1, updated_at = $2 WHERE id = $3 RETURNING id, email, role, created_at",
                )
                .bind(role.as_str())
                .bind(now_millis())
                .bind(id)
                .fetch_one(&mut *tx)
                .await?)),
                None => {
                    sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *tx).await?;
                    None
                }
            };
            tx.commit().await?;
            Ok(user)
        })
    }

    /// Replaces a password and signs the user out everywhere.
    pub async fn set_user_password(&self, id: Uuid, password_hash: &str) -> StoreResult<()> {
        write!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(password_hash)
                .bind(now_millis())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn create_session(
        &self,
        user_id: Uuid,
        token_hash: &str,
        csrf_token: &str,
        expires_at: Millis,
    ) -> StoreResult<()> {
        let now = now_millis();
        write!(self, pool => {
            // Expired sessions are swept whenever someone signs in, keeping the table small.
            sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now).execute(pool).await?;
            sqlx::query(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(user_id)
            .bind(csrf_token)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn find_session(&self, token_hash: &str) -> StoreResult<Option<SessionInfo>> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            csrf_token: String,
        }
        let row: Option<Row> = read!(self, pool => sqlx::query_as::<_, Row>(
            "SELECT u.id, u.email, u.role, u.created_at, s.csrf_token FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_millis())
        .fetch_optional(pool)
        .await?);
        Ok(row.map(|r| SessionInfo {
            csrf_token: r.csrf_token,
            user: r.user.into(),
        }))
    }

    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        write!(self, pool => sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn create_api_token(
        &self,
        user_id: Uuid,
        name: &str,
        token_hash: &str,
    ) -> StoreResult<ApiToken> {
        Ok(write!(self, pool => sqlx::query_as::<_, ApiToken>(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, name, created_at, last_used_at",
        )
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(now_millis())
        .fetch_one(pool)
        .await?))
    }

    pub async fn list_api_tokens(&self, user_id: Uuid) -> StoreResult<Vec<ApiToken>> {
        Ok(read!(self, pool => sqlx::query_as::<_, ApiToken>(
            "SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await?))
    }

    pub async fn delete_api_token(&self, user_id: Uuid, id: Uuid) -> StoreResult<()> {
        let done = write!(self, pool => sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(pool)
            .await?
            .rows_affected());
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The user a bearer token belongs to, if the token exists.
    pub async fn user_for_token(&self, token_hash: &str) -> StoreResult<Option<User>> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            token_id: Uuid,
            last_used_at: Option<i64>,
        }
        let row: Option<Row> = read!(self, pool => sqlx::query_as::<_, Row>(
            "SELECT u.id, u.email, u.role, u.created_at, t.id AS token_id, t.last_used_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await?);
        let Some(r) = row else { return Ok(None) };
        let now = now_millis();
        if r.last_used_at
            .is_none_or(|t| now - t > LAST_USED_GRANULARITY_MS)
        {
            write!(self, pool => sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(r.token_id)
                .execute(pool)
                .await?
                .rows_affected());
        }
        Ok(Some(r.user.into()))
    }
}
