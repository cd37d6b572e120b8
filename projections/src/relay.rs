//! Changes across processes: the active projector announces each committed batch (its position
//! and what it changed) with `NOTIFY` inside the batch's transaction, so PostgreSQL delivers it
//! only after commit; every other process listening relays it to its own subscribers (GraphQL
//! subscriptions, the camera supervisor, the capture writer) and moves its own `applied` position,
//! which writes wait on. A missed notification (lost connection) costs at most one change to the
//! subscribers, which reload on demand anyway; the position is re-read from the checkpoint every
//! second regardless.

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use sqlx::{Arguments, PgConnection};

use crate::deferred::Deferred;
use crate::projector::{ProjectionError, Projector};
use crate::Change;

/// The channel projectors announce committed batches on.
pub const CHANGES_CHANNEL: &str = "facewatch_changes";
/// NOTIFY payloads must stay under 8000 bytes; an announcement is split to fit.
const MAX_PAYLOAD: usize = 7000;
/// Longest wait between two reads of the checkpoint.
const IDLE: Duration = Duration::from_secs(1);

/// One committed batch of a projector, as announced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Announcement {
    /// The read-model schema the batch was applied to.
    pub schema: String,
    /// The announcing process's projector.
    pub origin: String,
    /// The checkpoint after the batch.
    pub position: i64,
    pub changes: Vec<Change>,
}

/// Moves the checkpoint of `tx`'s schema to the announcement's position and queues the
/// announcement (delivered at commit), split into payloads that fit NOTIFY, in one statement with
/// the batch's gathered `writes`: every batch does it.
pub(crate) async fn advance_and_announce(
    tx: &mut PgConnection,
    announcement: &Announcement,
    mut writes: Deferred,
) -> Result<(), ProjectionError> {
    writes.push("UPDATE checkpoint SET last_seq = $1", |a| {
        a.add(announcement.position)
    })?;
    writes
        .send_with(
            tx,
            "SELECT pg_notify($1, payload) FROM unnest($2::text[]) WITH ORDINALITY AS p(payload, n) \
             ORDER BY n",
            |a| {
                a.add(CHANGES_CHANNEL)?;
                a.add(payloads(announcement))
            },
        )
        .await?;
    Ok(())
}

/// The announcement as one or more JSON payloads under [`MAX_PAYLOAD`] bytes each (at least one,
/// so that the position always travels).
fn payloads(announcement: &Announcement) -> Vec<String> {
    let encode = |changes: &[Change]| {
        serde_json::to_string(&Announcement {
            changes: changes.to_vec(),
            ..announcement.clone()
        })
        .expect("an announcement serialises")
    };
    let mut out = Vec::new();
    let mut start = 0;
    let changes = &announcement.changes;
    while start < changes.len() || out.is_empty() {
        let mut end = changes.len();
        let mut payload = encode(&changes[start..end]);
        while payload.len() > MAX_PAYLOAD && end > start + 1 {
            end = start + (end - start) / 2;
            payload = encode(&changes[start..end]);
        }
        out.push(payload);
        start = end;
    }
    out
}

/// Relays the announcements of other processes' projectors of `projector`'s schema until `stop`
/// resolves.
pub(crate) async fn follow(projector: Projector, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    let mut listener: Option<PgListener> = None;
    loop {
        if listener.is_none() {
            listener = listen(&projector).await;
        }
        // The checkpoint, whoever moved it (also covers missed notifications).
        match projector.checkpoint().await {
            Ok(position) => projector.publish(position),
            Err(e) => tracing::warn!("cannot read the read-model checkpoint: {e}"),
        }
        let next = async {
            match listener.as_mut() {
                Some(l) => loop {
                    match tokio::time::timeout(IDLE, l.recv()).await {
                        Err(_) => return true,
                        Ok(Err(e)) => {
                            tracing::warn!("lost the changes connection: {e}");
                            return false;
                        }
                        Ok(Ok(notification)) => relay(&projector, notification.payload()),
                    }
                },
                None => {
                    tokio::time::sleep(IDLE).await;
                    true
                }
            }
        };
        tokio::select! {
            biased;
            () = &mut stop => return,
            keep = next => if !keep { listener = None },
        }
    }
}

async fn listen(projector: &Projector) -> Option<PgListener> {
    facewatch_store::listen_on(projector.pool(), CHANGES_CHANNEL)
        .await
        .inspect_err(|e| {
            tracing::warn!("cannot LISTEN for changes, polling the checkpoint instead: {e}")
        })
        .ok()
}

/// Hands an announcement of another process to this process's subscribers.
fn relay(projector: &Projector, payload: &str) {
    let announcement: Announcement = match serde_json::from_str(payload) {
        Ok(a) => a,
        Err(e) => return tracing::warn!("ignoring a malformed change announcement: {e}"),
    };
    if announcement.schema != projector.schema() || announcement.origin == projector.origin() {
        return;
    }
    projector.publish(announcement.position);
    for change in announcement.changes {
        projector.forward(change);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_announcement_is_split_into_payloads_that_fit_notify() {
        let changes: Vec<Change> = (0..2000)
            .map(|i| Change::Employee {
                id: format!("employee-{i:05}"),
            })
            .collect();
        let announcement = Announcement {
            schema: "read".into(),
            origin: "o".into(),
            position: 42,
            changes: changes.clone(),
        };
        let split = payloads(&announcement);
        assert!(split.len() > 1);
        let mut joined = Vec::new();
        for p in &split {
            assert!(p.len() <= MAX_PAYLOAD, "{}", p.len());
            let a: Announcement = serde_json::from_str(p).unwrap();
            assert_eq!(a.position, 42);
            joined.extend(a.changes);
        }
        assert_eq!(joined, changes);
        let empty = Announcement {
            changes: vec![],
            ..announcement
        };
        assert_eq!(payloads(&empty).len(), 1, "the position travels alone");
    }
}
