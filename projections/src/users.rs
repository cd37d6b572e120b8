//! The `users` read model: what login checks against.

use facewatch_domain::user::UserEvent;
use sqlx::PgConnection;

pub(crate) async fn apply(
    db: &mut PgConnection,
    id: &str,
    e: &UserEvent,
) -> Result<(), sqlx::Error> {
    let query = match e {
        UserEvent::UserCreated {
            username,
            password_hash,
            role,
            at,
        } => sqlx::query("INSERT INTO users VALUES ($1, $2, $3, false, $4, $4)")
            .bind(username)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(at),
        UserEvent::PasswordChanged { password_hash, at } => {
            sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE username = $1")
                .bind(id)
                .bind(password_hash)
                .bind(at)
        }
        UserEvent::RoleChanged { role, at } => {
            sqlx::query("UPDATE users SET role = $2, updated_at = $3 WHERE username = $1")
                .bind(id)
                .bind(role.as_str())
                .bind(at)
        }
        UserEvent::UserDisabled { at } => {
            sqlx::query("UPDATE users SET disabled = true, updated_at = $2 WHERE username = $1")
                .bind(id)
                .bind(at)
        }
    };
    query.execute(db).await?;
    Ok(())
}
