//! User management (admin only, like every mutation: see `auth::AdminMutations`).

use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use chrono::Utc;
use facewatch_domain::user::{Role, User, UserCommand};

use super::errors::{bad_input, internal};
use crate::auth::{self, AuthError};
use crate::AppState;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum UserRole {
    Admin,
    Viewer,
}

impl From<UserRole> for Role {
    fn from(role: UserRole) -> Self {
        match role {
            UserRole::Admin => Role::Admin,
            UserRole::Viewer => Role::Viewer,
        }
    }
}

#[derive(SimpleObject)]
pub struct UserAccount {
    pub username: String,
    pub role: UserRole,
}

fn auth_error(error: AuthError) -> async_graphql::Error {
    if error.is_bad_input() {
        bad_input(error.to_string())
    } else {
        internal(error)
    }
}

async fn user_command(state: &AppState, username: &str, command: UserCommand) -> Result<bool> {
    let done = state.store().execute::<User>(username, command).await;
    done.map_err(|e| auth_error(e.into()))?;
    // Changed credentials or a disabled account must not keep old sessions alive.
    auth::end_sessions(state.pool(), username)
        .await
        .map_err(internal)?;
    state.projector().catch_up(None).await.map_err(internal)?;
    Ok(true)
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
        let state = ctx.data::<AppState>()?;
        auth::add_user(state.store(), &username, &password, role.into())
            .await
            .map_err(auth_error)?;
        state.projector().catch_up(None).await.map_err(internal)?;
        Ok(UserAccount { username, role })
    }

    /// Sets a new password and signs the user out everywhere.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
    ) -> Result<bool> {
        let password_hash = auth::hash_password(&password).map_err(auth_error)?;
        let command = UserCommand::ChangePassword {
            password_hash,
            now: Utc::now(),
        };
        user_command(ctx.data::<AppState>()?, &username, command).await
    }

    /// Disables the account and ends its sessions; its history stays in the log.
    async fn disable_user(&self, ctx: &Context<'_>, username: String) -> Result<bool> {
        let command = UserCommand::Disable { now: Utc::now() };
        user_command(ctx.data::<AppState>()?, &username, command).await
    }
}
