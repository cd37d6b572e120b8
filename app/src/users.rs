//! Dashboard users: create, change password or role, disable. The last active admin can be
//! neither disabled nor demoted ([`AdminSeats`]), and a changed or disabled account loses its
//! sessions at once.

use facewatch_domain::admin_seats::{AdminSeats, AdminSeatsCommand, ADMIN_SEATS_ID};
use facewatch_domain::user::{Role, User, UserCommand};
use facewatch_projections::queries;
use facewatch_store::Outcome;

use crate::passwords::PasswordError;
use crate::{Actor, App, AppError, CommandContext, Result};

impl From<PasswordError> for AppError {
    fn from(error: PasswordError) -> Self {
        match error {
            PasswordError::TooShort | PasswordError::TooSimple => {
                AppError::invalid(error.to_string())
            }
            PasswordError::Hash(_) => AppError::internal(error),
        }
    }
}

/// Ends every session of `username` (after a password change or when disabled), in the database
/// and in this process's memory of recently checked sessions.
async fn end_sessions(app: &App, username: &str) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM public.sessions WHERE username = $1")
        .bind(username)
        .execute(app.pool())
        .await?;
    app.sessions().forget_user(username);
    Ok(done.rows_affected())
}

impl App {
    /// Creates a user. Fails if the name is taken.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), username, ?role))]
    pub async fn create_user(
        &self,
        ctx: &CommandContext,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<()> {
        let create = UserCommand::Create {
            username: username.to_string(),
            password_hash: self.passwords().hash(password).await?,
            role,
            now: ctx.now(),
        };
        let mut outcomes = vec![
            self.execute::<User>(ctx, "create", username, create)
                .await?,
        ];
        if role == Role::Admin {
            outcomes.push(self.grant_admin(ctx, username).await?);
        }
        self.settle(&outcomes).await
    }

    /// Creates `username` as an admin unless that user already exists (first start with
    /// `FACEWATCH_ADMIN_PASSWORD`). Returns whether it was created; an existing user is left alone.
    pub async fn ensure_admin(
        &self,
        ctx: &CommandContext,
        username: &str,
        password: &str,
    ) -> Result<bool> {
        if self.load::<User>(username).await?.exists {
            return Ok(false);
        }
        self.create_user(ctx, username, password, Role::Admin)
            .await?;
        Ok(true)
    }

    /// Sets a new password and signs the user out everywhere.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), username))]
    pub async fn change_password(
        &self,
        ctx: &CommandContext,
        username: &str,
        password: &str,
    ) -> Result<()> {
        let change = UserCommand::ChangePassword {
            password_hash: self.passwords().hash(password).await?,
            now: ctx.now(),
        };
        let outcome = self
            .execute::<User>(ctx, "password", username, change)
            .await?;
        end_sessions(self, username).await?;
        self.settle(&[outcome]).await
    }

    /// Makes a user admin or viewer. Demoting the last active admin is refused.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), username, ?role))]
    pub async fn set_user_role(
        &self,
        ctx: &CommandContext,
        username: &str,
        role: Role,
    ) -> Result<()> {
        let user = self.existing_user(username).await?;
        if role != Role::Admin && user.role == Role::Admin {
            refuse_self(ctx, username, "demote")?;
        }
        let change = UserCommand::ChangeRole {
            role,
            now: ctx.now(),
        };
        let outcomes = if role == Role::Admin {
            let changed = self.execute::<User>(ctx, "role", username, change).await?;
            vec![changed, self.grant_admin(ctx, username).await?]
        } else {
            let mut outcomes = Vec::new();
            if user.role == Role::Admin {
                outcomes.push(self.revoke_admin(ctx, username).await?);
            }
            outcomes.push(self.execute::<User>(ctx, "role", username, change).await?);
            outcomes
        };
        // Sessions carry the role as the read model shows it: forget them once it shows the new one.
        let settled = self.settle(&outcomes).await;
        self.sessions().forget_user(username);
        settled
    }

    /// Disables the account and ends its sessions; its history stays in the log. Disabling the
    /// last active admin is refused.
    #[tracing::instrument(skip_all, fields(actor = %ctx.actor(), username))]
    pub async fn disable_user(&self, ctx: &CommandContext, username: &str) -> Result<()> {
        let user = self.existing_user(username).await?;
        refuse_self(ctx, username, "disable")?;
        let mut outcomes = Vec::new();
        if user.role == Role::Admin && !user.disabled {
            outcomes.push(self.revoke_admin(ctx, username).await?);
        }
        let disable = UserCommand::Disable { now: ctx.now() };
        outcomes.push(
            self.execute::<User>(ctx, "disable", username, disable)
                .await?,
        );
        end_sessions(self, username).await?;
        self.settle(&outcomes).await
    }

    /// Every account (enabled or not) with its role, for the users table.
    pub async fn users(&self) -> Result<Vec<queries::UserRow>> {
        Ok(queries::users(self.pool()).await?)
    }

    async fn existing_user(&self, username: &str) -> Result<User> {
        let user = self.load::<User>(username).await?;
        if user.exists {
            Ok(user)
        } else {
            Err(AppError::not_found("user", username))
        }
    }

    async fn grant_admin(&self, ctx: &CommandContext, username: &str) -> Result<Outcome> {
        self.count_admin_seats(ctx).await?;
        let grant = AdminSeatsCommand::Grant {
            username: username.to_string(),
            now: ctx.now(),
        };
        self.execute::<AdminSeats>(ctx, "grant-admin", ADMIN_SEATS_ID, grant)
            .await
    }

    async fn revoke_admin(&self, ctx: &CommandContext, username: &str) -> Result<Outcome> {
        self.count_admin_seats(ctx).await?;
        let revoke = AdminSeatsCommand::Revoke {
            username: username.to_string(),
            now: ctx.now(),
        };
        self.execute::<AdminSeats>(ctx, "revoke-admin", ADMIN_SEATS_ID, revoke)
            .await
    }

    /// The seats start from the enabled admins of the user accounts the first time they are
    /// needed (existing installations had no seats).
    async fn count_admin_seats(&self, ctx: &CommandContext) -> Result<()> {
        if self.load::<AdminSeats>(ADMIN_SEATS_ID).await?.counted {
            return Ok(());
        }
        let admins: Vec<String> =
            sqlx::query_scalar("SELECT username FROM users WHERE role = 'ADMIN' AND NOT disabled")
                .fetch_all(self.pool())
                .await?;
        let count = AdminSeatsCommand::Count {
            admins: admins.into_iter().collect(),
            now: ctx.now(),
        };
        self.execute::<AdminSeats>(ctx, "count-admins", ADMIN_SEATS_ID, count)
            .await?;
        Ok(())
    }
}

/// Nobody disables or demotes their own account: another admin has to (so a slip of the mouse
/// cannot lock the only person at the screen out).
fn refuse_self(ctx: &CommandContext, username: &str, what: &str) -> Result<()> {
    if *ctx.actor() == Actor::user(username) {
        return Err(AppError::invalid(format!(
            "you cannot {what} your own account; ask another admin"
        )));
    }
    Ok(())
}
