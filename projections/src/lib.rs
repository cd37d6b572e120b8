//! Read models (attendance, presence, alerts, employees, cameras, schedule history, event log,
//! unknown visitors),
//! projected from the event log in global order. Replaying the log from zero into a fresh schema
//! must give identical tables; `replay::verify` proves it.

mod apply;
pub mod changes;
pub mod checksum;
mod deferred;
mod hot;
mod pending;
pub mod projector;
pub mod queries;
pub mod rebuild;
pub mod relay;
pub mod replay;
pub mod schema;
pub mod synthetic;
mod users;
pub mod visitors;

pub use changes::Change;
pub use projector::Projector;
