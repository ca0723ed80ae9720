//! `/api/users`: user management, for admins.

use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::{check_new_password, hash_password, random_password},
    domain::{FieldError, email::Email, user::Role},
    http::{
        AppState,
        auth::Admin,
        error::{AppError, AppResult, ErrorBody},
        extract::{Json, Path, non_null},
    },
    store::{StoreError, users::User},
};

/// Everyone who can sign in.
#[utoipa::path(get, path = "/api/users", tag = "users", responses((status = 200, body = Vec<User>), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
) -> AppResult<Json<Vec<User>>> {
    Ok(Json(state.store.list_users().await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    email: String,
    role: Role,
    /// At least 10 characters; generated (and returned once) when left out.
    password: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    user: User,
    /// The generated password, shown only in this response.
    #[serde(skip_serializing_if = "Option::is_none")]
    generated_password: Option<String>,
}

/// Add a user (admins only).
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = CreateUserRequest,
    responses((status = 201, body = CreatedUser), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    _admin: Admin,
    Json(body): Json<CreateUserRequest>,
) -> AppResult<(StatusCode, Json<CreatedUser>)> {
    let email = Email::parse(&body.email)?;
    let (password, generated) = match body.password {
        Some(p) => {
            check_new_password(&p).map_err(|m| AppError::invalid("password", m))?;
            (p, None)
        }
        None => {
            let p = random_password();
            (p.clone(), Some(p))
        }
    };
    let hash = hash_password(password).await?;
    let user = state
        .store
        .create_user(email.as_str(), &hash, body.role)
        .await
        .map_err(|e| match e {
            e if e.is_conflict_on("email") => {
                AppError::Conflict("a user with this email already exists".into())
            }
            other => other.into(),
        })?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            user,
            generated_password: generated,
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[serde(default, deserialize_with = "non_null")]
    role: Option<Role>,
    /// A new password (signs the user out everywhere).
    #[serde(default, deserialize_with = "non_null")]
    password: Option<String>,
}

fn user_errors(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound => AppError::not_found("user"),
        e if e.is_conflict_on("last_admin") => {
            AppError::Conflict("the last admin cannot be demoted or removed".into())
        }
        other => other.into(),
    }
}

/// Change a user's role or password (admins only). The last admin cannot be demoted.
#[utoipa::path(patch, path = "/api/users/{id}", tag = "users", params(("id" = Uuid, Path)), request_body = UpdateUserRequest,
    responses((status = 200, body = User), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateUserRequest>,
) -> AppResult<Json<User>> {
    if body.role.is_none() && body.password.is_none() {
        return Err(AppError::Validation(vec![FieldError::new(
            "body",
            "names no field to change",
        )]));
    }
    // Validate everything before writing anything.
    if let Some(p) = &body.password {
        check_new_password(p).map_err(|m| AppError::invalid("password", m))?;
    }
    let mut user = state.store.get_user(id).await.map_err(user_errors)?;
    if let Some(role) = body.role {
        user = state
            .store
            .set_user_role(id, role)
            .await
            .map_err(user_errors)?;
    }
    if let Some(p) = body.password {
        let hash = hash_password(p).await?;
        state
            .store
            .set_user_password(id, &hash)
            .await
            .map_err(user_errors)?;
    }
    Ok(Json(user))
}

/// Remove a user (admins only). The last admin cannot be removed.
#[utoipa::path(delete, path = "/api/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_user(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    state.store.delete_user(id).await.map_err(user_errors)?;
    Ok(StatusCode::NO_CONTENT)
}
