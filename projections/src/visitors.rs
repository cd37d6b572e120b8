//! The `unknown_faces` read model: unknown visitors, grouped. A new face joins the group of the
//! most similar open face seen in the 30 days before it (at least
//! [`SAME_VISITOR_SIMILARITY`]), else starts its own group. Only the log decides (event times,
//! log order), so a replay groups the same way.

use chrono::{DateTime, Duration, Utc};
use facewatch_domain::visitor::{
    similarity, Resolution, UnknownFaceEvent, SAME_VISITOR_SIMILARITY,
};
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool};

/// How far back a new face looks for its group.
const GROUPING_WINDOW_DAYS: i64 = 30;
/// The most faces the Visitors page lists (newest first).
pub const MAX_LISTED_FACES: i64 = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VisitorStatus {
    Open,
    Enrolled,
    Attached,
    Dismissed,
}

impl VisitorStatus {
    /// The value in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            VisitorStatus::Open => "OPEN",
            VisitorStatus::Enrolled => "ENROLLED",
            VisitorStatus::Attached => "ATTACHED",
            VisitorStatus::Dismissed => "DISMISSED",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown visitor status {0:?}")]
pub struct BadStatus(String);

impl TryFrom<String> for VisitorStatus {
    type Error = BadStatus;

    fn try_from(value: String) -> Result<Self, BadStatus> {
        [
            VisitorStatus::Open,
            VisitorStatus::Enrolled,
            VisitorStatus::Attached,
            VisitorStatus::Dismissed,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
        .ok_or(BadStatus(value))
    }
}

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct UnknownFaceView {
    pub id: String,
    pub camera_id: String,
    pub seen_at: DateTime<Utc>,
    pub track_id: i64,
    pub snapshot_ref: Option<String>,
    pub group_id: String,
    #[sqlx(try_from = "String")]
    pub status: VisitorStatus,
}

/// One stranger: their open faces, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct VisitorGroupView {
    pub id: String,
    pub faces: Vec<UnknownFaceView>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// An open face of a group with what enrolling it needs.
#[derive(Debug, Clone, FromRow)]
pub struct GroupFace {
    pub id: String,
    pub model_id: String,
    pub embedding: Vec<f32>,
    pub snapshot_ref: Option<String>,
}

pub(crate) async fn apply(
    db: &mut PgConnection,
    id: &str,
    e: &UnknownFaceEvent,
) -> Result<(), sqlx::Error> {
    match e {
        UnknownFaceEvent::Seen {
            camera_id,
            at,
            track_id,
            snapshot_ref,
            embedding,
            model_id,
        } => {
            let group_id = group_of(db, *at, model_id, embedding)
                .await?
                .unwrap_or_else(|| id.to_string());
            sqlx::query(
                "INSERT INTO unknown_faces
                     (id, camera_id, seen_at, track_id, snapshot_ref, model_id, embedding, group_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(camera_id)
            .bind(at)
            .bind(*track_id as i64)
            .bind(snapshot_ref)
            .bind(model_id)
            .bind(embedding)
            .bind(group_id)
            .execute(&mut *db)
            .await?;
        }
        UnknownFaceEvent::Resolved { resolution, at } => {
            let (status, employee_id) = match resolution {
                Resolution::Enrolled { employee_id } => {
                    (VisitorStatus::Enrolled, Some(employee_id))
                }
                Resolution::Attached { employee_id } => {
                    (VisitorStatus::Attached, Some(employee_id))
                }
                Resolution::Dismissed => (VisitorStatus::Dismissed, None),
            };
            sqlx::query(
                "UPDATE unknown_faces SET status = $2, employee_id = $3, resolved_at = $4
                 WHERE id = $1",
            )
            .bind(id)
            .bind(status.as_str())
            .bind(employee_id)
            .bind(at)
            .execute(&mut *db)
            .await?;
        }
    }
    Ok(())
}

/// The group of the most similar open face of the same model seen shortly before `at`.
async fn group_of(
    db: &mut PgConnection,
    at: DateTime<Utc>,
    model_id: &str,
    embedding: &[f32],
) -> Result<Option<String>, sqlx::Error> {
    let candidates: Vec<(String, Vec<f32>)> = sqlx::query_as(
        "SELECT group_id, embedding FROM unknown_faces
         WHERE status = 'OPEN' AND model_id = $1 AND seen_at BETWEEN $2 AND $3
         ORDER BY seen_at, id",
    )
    .bind(model_id)
    .bind(at - Duration::days(GROUPING_WINDOW_DAYS))
    .bind(at)
    .fetch_all(&mut *db)
    .await?;
    let best = candidates
        .into_iter()
        .map(|(group, other)| (similarity(embedding, &other), group))
        .filter(|(s, _)| *s >= SAME_VISITOR_SIMILARITY)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    Ok(best.map(|(_, group)| group))
}

/// Open visitor groups, most recently seen first.
pub async fn visitor_groups(pool: &PgPool) -> Result<Vec<VisitorGroupView>, sqlx::Error> {
    let faces: Vec<UnknownFaceView> = sqlx::query_as(
        "SELECT id, camera_id, seen_at, track_id, snapshot_ref, group_id, status
         FROM (SELECT * FROM unknown_faces WHERE status = 'OPEN'
               ORDER BY seen_at DESC, id LIMIT $1) newest
         ORDER BY group_id, seen_at, id",
    )
    .bind(MAX_LISTED_FACES)
    .fetch_all(pool)
    .await?;
    let mut groups: Vec<VisitorGroupView> = Vec::new();
    for face in faces {
        match groups.last_mut().filter(|g| g.id == face.group_id) {
            Some(group) => {
                group.last_seen = face.seen_at;
                group.faces.push(face);
            }
            None => groups.push(VisitorGroupView {
                id: face.group_id.clone(),
                first_seen: face.seen_at,
                last_seen: face.seen_at,
                faces: vec![face],
            }),
        }
    }
    groups.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(a.id.cmp(&b.id)));
    Ok(groups)
}

/// The open faces of one group, oldest first (empty when there is no such open group).
pub async fn group_faces(pool: &PgPool, group_id: &str) -> Result<Vec<GroupFace>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, model_id, embedding, snapshot_ref FROM unknown_faces
         WHERE group_id = $1 AND status = 'OPEN' ORDER BY seen_at, id",
    )
    .bind(group_id)
    .fetch_all(pool)
    .await
}
