//! Dashboard users (aggregate id = username). Passwords arrive already hashed (argon2, by the API):
//! the domain stays free of crypto and never sees a clear-text password.

use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Admin,
    #[default]
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Viewer => "VIEWER",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text.to_ascii_uppercase().as_str() {
            "ADMIN" => Some(Role::Admin),
            "VIEWER" => Some(Role::Viewer),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UserEvent {
    UserCreated {
        username: String,
        password_hash: String,
        role: Role,
        at: DateTime<Utc>,
    },
    PasswordChanged {
        password_hash: String,
        at: DateTime<Utc>,
    },
    RoleChanged {
        role: Role,
        at: DateTime<Utc>,
    },
    UserDisabled {
        at: DateTime<Utc>,
    },
}
crate::domain_event!(UserEvent, "1.0");

impl UserEvent {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            UserEvent::UserCreated { at, .. }
            | UserEvent::PasswordChanged { at, .. }
            | UserEvent::RoleChanged { at, .. }
            | UserEvent::UserDisabled { at } => *at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UserCommand {
    Create {
        username: String,
        password_hash: String,
        role: Role,
        now: DateTime<Utc>,
    },
    ChangePassword {
        password_hash: String,
        now: DateTime<Utc>,
    },
    ChangeRole {
        role: Role,
        now: DateTime<Utc>,
    },
    Disable {
        now: DateTime<Utc>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum UserError {
    #[error("user already exists")]
    AlreadyExists,
    #[error("unknown user")]
    NotFound,
    #[error("user is disabled")]
    Disabled,
    #[error("invalid username: use 1-64 letters, digits, '.', '_', '-' or '@'")]
    InvalidUsername,
}

/// Usernames are aggregate ids and appear in URLs and logs: keep them to a safe alphabet.
pub fn validate_username(username: &str) -> Result<(), UserError> {
    let ok = (1..=64).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(UserError::InvalidUsername)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct User {
    pub exists: bool,
    pub disabled: bool,
    pub role: Role,
}

impl User {
    fn decide(&self, command: UserCommand) -> Result<Option<UserEvent>, UserError> {
        Ok(match command {
            UserCommand::Create {
                username,
                password_hash,
                role,
                now,
            } => {
                if self.exists {
                    return Err(UserError::AlreadyExists);
                }
                validate_username(&username)?;
                Some(UserEvent::UserCreated {
                    username,
                    password_hash,
                    role,
                    at: now,
                })
            }
            UserCommand::ChangePassword { password_hash, now } => {
                self.require_active()?;
                Some(UserEvent::PasswordChanged {
                    password_hash,
                    at: now,
                })
            }
            UserCommand::ChangeRole { role, now } => {
                self.require_active()?;
                (role != self.role).then_some(UserEvent::RoleChanged { role, at: now })
            }
            UserCommand::Disable { now } => {
                self.require_active()?;
                Some(UserEvent::UserDisabled { at: now })
            }
        })
    }

    fn require_active(&self) -> Result<(), UserError> {
        if !self.exists {
            Err(UserError::NotFound)
        } else if self.disabled {
            Err(UserError::Disabled)
        } else {
            Ok(())
        }
    }
}

impl User {
    fn evolve(&mut self, event: UserEvent) {
        match event {
            UserEvent::UserCreated { role, .. } => {
                self.exists = true;
                self.role = role;
            }
            UserEvent::RoleChanged { role, .. } => self.role = role,
            UserEvent::UserDisabled { .. } => self.disabled = true,
            UserEvent::PasswordChanged { .. } => {}
        }
    }
}

crate::aggregate!(User, "user", UserCommand, UserEvent, UserError);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::when;

    fn now() -> DateTime<Utc> {
        "2026-11-23T09:00:00Z".parse().unwrap()
    }

    fn created(role: Role) -> UserEvent {
        UserEvent::UserCreated {
            username: "ana".into(),
            password_hash: "$argon2id$x".into(),
            role,
            at: now(),
        }
    }

    #[test]
    fn create_validates_and_is_unique() {
        let create = |username: &str| UserCommand::Create {
            username: username.into(),
            password_hash: "$argon2id$x".into(),
            role: Role::Admin,
            now: now(),
        };
        assert_eq!(
            when::<User>(vec![], create("ana")).unwrap(),
            vec![created(Role::Admin)]
        );
        assert_eq!(
            when::<User>(vec![], create("a b")),
            Err(UserError::InvalidUsername)
        );
        assert_eq!(
            when::<User>(vec![created(Role::Admin)], create("ana")),
            Err(UserError::AlreadyExists)
        );
    }

    #[test]
    fn changes_need_an_enabled_user_and_same_role_is_a_no_op() {
        let role = |role| UserCommand::ChangeRole { role, now: now() };
        assert_eq!(
            when::<User>(vec![], role(Role::Admin)),
            Err(UserError::NotFound)
        );
        assert_eq!(
            when::<User>(vec![created(Role::Viewer)], role(Role::Viewer)).unwrap(),
            vec![]
        );
        assert_eq!(
            when::<User>(vec![created(Role::Viewer)], role(Role::Admin)).unwrap(),
            vec![UserEvent::RoleChanged {
                role: Role::Admin,
                at: now()
            }]
        );
        let disabled = vec![created(Role::Admin), UserEvent::UserDisabled { at: now() }];
        assert_eq!(
            when::<User>(disabled, UserCommand::Disable { now: now() }),
            Err(UserError::Disabled)
        );
    }
}
