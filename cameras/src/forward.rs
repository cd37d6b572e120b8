//! From a camera pipeline to the application layer, as actor `camera:ID`: recognitions become
//! sightings, unknown faces become `UnknownFaceSeen` events. Snapshots are saved first, so an event
//! never points at a photo that does not exist.

use std::collections::HashMap;

use facewatch_app::{Actor, App, AppError, CommandContext, SightingInput, UnknownFaceInput};
use facewatch_captures::SnapshotStore;
use facewatch_inference::{Recognition, UnknownFace};
use tokio::sync::mpsc::Receiver;

use crate::MODEL_ID;

/// What one camera pipeline reports.
pub(crate) struct Reports {
    pub recognitions: Receiver<Recognition>,
    pub unknown_faces: Receiver<UnknownFace>,
}

/// Turns recognitions into sightings through the application layer (the same rules as any other
/// writer: employee active, camera enabled, no future times). The snapshot is saved first, so an
/// event never points at a photo that does not exist; a "still in view" report has no photo of
/// its own and points at the employee's latest snapshot from this camera.
pub(crate) async fn forward(mut reports: Reports, app: App, snapshots: SnapshotStore) {
    // Employee id → their latest snapshot from this camera (bounded by the employees seen).
    let mut latest_snapshot: HashMap<String, String> = HashMap::new();
    loop {
        let r = tokio::select! {
            r = reports.recognitions.recv() => match r {
                Some(r) => r,
                None => return,
            },
            face = reports.unknown_faces.recv() => match face {
                Some(face) => {
                    unknown_face(&app, &snapshots, face).await;
                    continue;
                }
                None => return,
            },
        };
        let snapshot_ref = match &r.snapshot_jpeg {
            Some(jpeg) => match snapshots.save_snapshot(&r.camera_id, r.at, jpeg) {
                Ok(reference) => {
                    let reference = reference.to_string();
                    latest_snapshot.insert(r.employee_id.clone(), reference.clone());
                    Some(reference)
                }
                Err(e) => {
                    tracing::warn!(camera = r.camera_id, "snapshot not saved: {e}");
                    None
                }
            },
            None => latest_snapshot.get(&r.employee_id).cloned(),
        };
        let ctx = CommandContext::new(Actor::camera(&r.camera_id));
        let sighting = SightingInput {
            employee_id: r.employee_id.clone(),
            camera_id: r.camera_id.clone(),
            at: Some(r.at),
            similarity: f64::from(r.similarity.clamp(-1.0, 1.0)),
            track_id: r.track_id,
            snapshot_ref,
        };
        let first_of_track = r.snapshot_jpeg.is_some();
        match app.record_sighting(&ctx, sighting).await {
            Ok(_) if first_of_track => tracing::info!(
                camera = r.camera_id,
                employee = r.employee_id,
                similarity = r.similarity,
                "recognised"
            ),
            Ok(_) => tracing::debug!(
                camera = r.camera_id,
                employee = r.employee_id,
                "still in view"
            ),
            Err(e @ AppError::Internal(_)) => tracing::error!(
                camera = r.camera_id,
                employee = r.employee_id,
                error = &e as &dyn std::error::Error,
                "sighting not stored"
            ),
            Err(e) => tracing::warn!(
                camera = r.camera_id,
                employee = r.employee_id,
                "sighting refused: {e}"
            ),
        }
    }
}

async fn unknown_face(app: &App, snapshots: &SnapshotStore, face: UnknownFace) {
    let snapshot_ref = match snapshots.save_snapshot(&face.camera_id, face.at, &face.snapshot_jpeg)
    {
        Ok(reference) => Some(reference.to_string()),
        Err(e) => {
            tracing::warn!(
                camera = face.camera_id,
                "unknown-face snapshot not saved: {e}"
            );
            None
        }
    };
    let ctx = CommandContext::new(Actor::camera(&face.camera_id));
    let input = UnknownFaceInput {
        camera_id: face.camera_id.clone(),
        at: Some(face.at),
        track_id: face.track_id,
        snapshot_ref,
        embedding: face.embedding,
        model_id: MODEL_ID.to_string(),
    };
    match app.record_unknown_face(&ctx, input).await {
        Ok(_) => tracing::info!(
            camera = face.camera_id,
            track = face.track_id,
            "unknown face"
        ),
        Err(e) => tracing::warn!(camera = face.camera_id, "unknown face not stored: {e}"),
    }
}
