//! User management (admin only, like every mutation: see `auth::AdminMutations`).

use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use facewatch_domain::user::Role;

use super::caller::caller;
use super::errors::app_error;
use crate::auth::{Session, FORBIDDEN};
use crate::AppState;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "facewatch_domain::user::Role")]
pub enum UserRole {
    Admin,
    Viewer,
}

#[derive(SimpleObject)]
pub struct UserAccount {
    pub username: String,
    pub role: UserRole,
}

/// A row of the users table.
#[derive(SimpleObject)]
pub struct UserEntry {
    pub username: String,
    pub role: UserRole,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct UserQuery;

#[Object]
impl UserQuery {
    /// Every account with its role and status (admins only).
    async fn users(&self, ctx: &Context<'_>) -> Result<Vec<UserEntry>> {
        if ctx.data::<Session>()?.role != Role::Admin {
            return Err(async_graphql::Error::new(FORBIDDEN));
        }
        let users = ctx
            .data::<AppState>()?
            .app()
            .users()
            .await
            .map_err(app_error)?;
        Ok(users
            .into_iter()
            .map(|u| UserEntry {
                role: Role::parse(&u.role).unwrap_or(Role::Viewer).into(),
                username: u.username,
                disabled: u.disabled,
                created_at: u.created_at,
                updated_at: u.updated_at,
            })
            .collect())
    }
}

pub struct UserMutation;

#[Object]
impl UserMutation {
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
        role: UserRole,
    ) -> Result<UserAccount> {
        let (app, caller) = caller(ctx)?;
        let created = app.create_user(&caller, &username, &password, role.into());
        created.await.map_err(app_error)?;
        Ok(UserAccount { username, role })
    }

    /// Sets a new password and signs the user out everywhere.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
    ) -> Result<bool> {
        let (app, caller) = caller(ctx)?;
        let changed = app.change_password(&caller, &username, &password);
        changed.await.map_err(app_error)?;
        Ok(true)
    }

    /// Makes a user admin or viewer; the last active admin cannot be demoted.
    async fn set_user_role(
        &self,
        ctx: &Context<'_>,
        username: String,
        role: UserRole,
    ) -> Result<UserAccount> {
        let (app, caller) = caller(ctx)?;
        let changed = app.set_user_role(&caller, &username, Role::from(role));
        changed.await.map_err(app_error)?;
        Ok(UserAccount { username, role })
    }

    /// Disables the account and ends its sessions; its history stays in the log. The last active
    /// admin cannot be disabled.
    async fn disable_user(&self, ctx: &Context<'_>, username: String) -> Result<bool> {
        let (app, caller) = caller(ctx)?;
        app.disable_user(&caller, &username)
            .await
            .map_err(app_error)?;
        Ok(true)
    }
}
