//! Commands in over MQTT (opt-in, `mqtt.commands = true`): `{prefix}/schedule/set` with one of
//! `{"pause": MINUTES}`, `{"resume": true}`, `{"mode": "auto" | "manual"}`. They run the same use
//! cases as the API, as actor `mqtt` (the audit log shows it); the outcome is published on
//! `{prefix}/schedule/result` and the new monitoring state on `{prefix}/monitoring`.

use facewatch_app::{Actor, App, AppError, CommandContext};
use facewatch_domain::schedule::{Mode, ScheduleSnapshot};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use crate::link::{Incoming, Link, Message};
use crate::topics::Topics;

/// Longest command payload accepted.
const MAX_PAYLOAD: usize = 1024;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct ScheduleSet {
    pause: Option<u32>,
    resume: Option<bool>,
    mode: Option<ModeArg>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum ModeArg {
    #[serde(alias = "AUTO")]
    Auto,
    #[serde(alias = "MANUAL")]
    Manual,
}

#[derive(Debug, PartialEq)]
enum ScheduleCommand {
    Pause(u32),
    Resume,
    Mode(Mode),
}

#[derive(Debug, thiserror::Error)]
enum CommandError {
    #[error("the payload is larger than {MAX_PAYLOAD} bytes")]
    TooLarge,
    #[error("the payload is not a schedule command: {0} (send {{\"pause\": MINUTES}}, {{\"resume\": true}} or {{\"mode\": \"auto\"|\"manual\"}})")]
    Malformed(#[source] serde_json::Error),
    #[error("give exactly one of pause, resume and mode")]
    NotOne,
    #[error(transparent)]
    Refused(#[from] AppError),
}

fn parse(payload: &[u8]) -> Result<ScheduleCommand, CommandError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(CommandError::TooLarge);
    }
    let set: ScheduleSet = serde_json::from_slice(payload).map_err(CommandError::Malformed)?;
    match set {
        ScheduleSet {
            pause: Some(minutes),
            resume: None,
            mode: None,
        } => Ok(ScheduleCommand::Pause(minutes)),
        ScheduleSet {
            pause: None,
            resume: Some(true),
            mode: None,
        } => Ok(ScheduleCommand::Resume),
        ScheduleSet {
            pause: None,
            resume: None,
            mode: Some(mode),
        } => Ok(ScheduleCommand::Mode(match mode {
            ModeArg::Auto => Mode::Auto,
            ModeArg::Manual => Mode::Manual,
        })),
        _ => Err(CommandError::NotOne),
    }
}

/// Handles command messages until the connection task is gone.
pub async fn serve(app: App, link: Link, topics: Topics, mut incoming: mpsc::Receiver<Incoming>) {
    while let Some(message) = incoming.recv().await {
        if message.topic != topics.schedule_set() {
            continue;
        }
        let result = run(&app, &message.payload).await;
        let reply = match &result {
            Ok(schedule) => json!({ "ok": true, "schedule": schedule }),
            Err(e) => {
                tracing::warn!("MQTT schedule command refused: {e}");
                json!({ "ok": false, "error": e.to_string() })
            }
        };
        let reply = Message {
            topic: topics.schedule_result(),
            payload: reply.to_string(),
            retain: false,
        };
        // The change itself is in the log whatever happens to this answer.
        if let Err(e) = link.publish_confirmed(&[reply]).await {
            tracing::warn!("cannot publish the MQTT command result: {e}");
        }
    }
}

#[tracing::instrument(skip_all, name = "mqtt_schedule_command")]
async fn run(app: &App, payload: &[u8]) -> Result<ScheduleSnapshot, CommandError> {
    let command = parse(payload)?;
    let ctx = CommandContext::new(Actor::mqtt());
    tracing::info!(?command, "MQTT schedule command");
    Ok(match command {
        ScheduleCommand::Pause(minutes) => app.pause_schedule(&ctx, minutes).await?,
        ScheduleCommand::Resume => app.resume_schedule(&ctx).await?,
        ScheduleCommand::Mode(mode) => app.set_schedule_mode(&ctx, mode).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_command_per_message() {
        assert_eq!(
            parse(br#"{"pause": 30}"#).unwrap(),
            ScheduleCommand::Pause(30)
        );
        assert_eq!(
            parse(br#"{"resume": true}"#).unwrap(),
            ScheduleCommand::Resume
        );
        assert_eq!(
            parse(br#"{"mode": "MANUAL"}"#).unwrap(),
            ScheduleCommand::Mode(Mode::Manual)
        );
        assert!(matches!(
            parse(br#"{"pause": 5, "resume": true}"#),
            Err(CommandError::NotOne)
        ));
        assert!(matches!(
            parse(br#"{"resume": false}"#),
            Err(CommandError::NotOne)
        ));
        assert!(matches!(parse(b"pause"), Err(CommandError::Malformed(_))));
        assert!(matches!(
            parse(br#"{"shutdown": true}"#),
            Err(CommandError::Malformed(_))
        ));
        assert!(matches!(parse(&[b' '; 2000]), Err(CommandError::TooLarge)));
    }
}
