//! The facewatch domain: every fact the system knows is one of the events defined here.
//!
//! Aggregates (`Employee`, `Camera`, `Schedule`, `Presence`, `Maintenance`) decide which events a
//! command produces; pure rules (`schedule::ScheduleSnapshot::state_at`, `alerts::judge_exit`) are
//! shared by the command side and the projections so that live and replayed verdicts agree.
//! Nothing here touches a clock, a database, HTTP or video: times come in with the commands.

pub mod admin_seats;
pub mod alert;
pub mod alerts;
pub mod camera;
pub mod employee;
pub mod employee_code;
pub mod event;
pub mod face_check;
pub mod maintenance;
pub mod presence;
pub mod redact;
pub mod schedule;
pub mod user;
pub mod visitor;

pub use event::AnyEvent;

/// The single schedule aggregate's id: a workplace has one schedule, its history is its stream.
pub const SCHEDULE_ID: &str = "workplace";
/// The single maintenance aggregate's id.
pub const MAINTENANCE_ID: &str = "maintenance";

/// Implements `cqrs_es::DomainEvent` for an event enum: the type is the variant name.
macro_rules! domain_event {
    ($event:ty, $version:literal) => {
        impl cqrs_es::DomainEvent for $event {
            fn event_type(&self) -> String {
                let json = serde_json::to_value(self).expect("events always serialize");
                json.as_object()
                    .and_then(|o| o.keys().next().cloned())
                    .expect("events are externally tagged enums")
            }
            fn event_version(&self) -> String {
                $version.to_string()
            }
        }
    };
}
pub(crate) use domain_event;

/// Implements `cqrs_es::Aggregate` for an aggregate whose rules are two plain methods:
/// `decide(&self, Command) -> Result<impl IntoIterator<Item = Event>, Error>` (no I/O, no clock)
/// and `evolve(&mut self, Event)`. Every aggregate is wired to the framework the same way.
macro_rules! aggregate {
    ($aggregate:ty, $type:literal, $command:ty, $event:ty, $error:ty) => {
        impl cqrs_es::Aggregate for $aggregate {
            const TYPE: &'static str = $type;
            type Command = $command;
            type Event = $event;
            type Error = $error;
            type Services = ();

            async fn handle(
                &mut self,
                command: $command,
                _: &(),
                sink: &cqrs_es::event_sink::EventSink<Self>,
            ) -> Result<(), $error> {
                for event in IntoIterator::into_iter(self.decide(command)?) {
                    sink.write(event, self).await;
                }
                Ok(())
            }

            fn apply(&mut self, event: $event) {
                self.evolve(event)
            }
        }
    };
}
pub(crate) use aggregate;

#[cfg(test)]
pub(crate) mod testing {
    use cqrs_es::test::TestFramework;
    use cqrs_es::Aggregate;

    /// Given `given`, when `command`: what the aggregate emitted (cqrs-es's test framework).
    pub fn when<A: Aggregate<Services = ()>>(
        given: Vec<A::Event>,
        command: A::Command,
    ) -> Result<Vec<A::Event>, A::Error> {
        TestFramework::<A>::with(())
            .given(given)
            .when(command)
            .inspect_result()
    }
}
