//! The analysis of one camera's frames, on its own thread: detect, track, recognise (only while
//! a track's identity is unsettled, then now and then), report settled employees (at a bounded rate
//! while they stay, see [`crate::sightings`]) and unknown faces, publish the annotated frame.

use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use image::RgbImage;
use tokio::sync::{mpsc, watch};

use crate::engine::{lock, EngineError, FaceEngine};
use crate::frame::AnalysedFrame;
use crate::gallery::Gallery;
use crate::geometry::{align_face, BBox};
use crate::keyframes::KeyFrameGate;
use crate::motion::{Decision, MotionGate};
use crate::pipeline::{FaceLabel, FaceOverlay, Recognition, UnknownFace};
use crate::pool::FrameJob;
use crate::quality::QualityGate;
use crate::sightings::{face_snapshot, SightingClock};
use crate::stream::FpsMeter;
use crate::track::{TrackEvent, Tracker, Vote};
use crate::video::CameraHealth;

/// The per-camera analysis state; the inference workers run it one frame at a time.
pub(crate) struct Analyzer {
    pub(crate) camera_id: String,
    pub(crate) engine: Arc<FaceEngine>,
    pub(crate) gallery: Arc<RwLock<Gallery>>,
    pub(crate) gate: QualityGate,
    pub(crate) tracker: Tracker,
    pub(crate) sightings: SightingClock,
    /// How often a settled track's face is embedded again.
    pub(crate) reverify: chrono::Duration,
    pub(crate) recognition_threshold: f32,
    pub(crate) jpeg_quality: u8,
    pub(crate) tx: mpsc::Sender<Recognition>,
    pub(crate) unknown_tx: mpsc::Sender<UnknownFace>,
    pub(crate) health: Arc<watch::Sender<CameraHealth>>,
    pub(crate) latest: Arc<Mutex<Option<AnalysedFrame>>>,
    pub(crate) ticks: watch::Sender<u64>,
    pub(crate) motion: MotionGate,
    /// Asks the decoder for key frames only while idle (see [`crate::keyframes`]).
    pub(crate) key_frames: Arc<KeyFrameGate>,
    pub(crate) idle_key_frames_only: bool,
    pub(crate) fps: FpsMeter,
}

/// What a face needs before it can be labelled.
enum Prepared {
    /// Its label and shown similarity are known without embedding it.
    Labelled(FaceLabel, Option<f32>),
    /// Its aligned face is to be embedded.
    Embed(RgbImage),
}

impl FrameJob for Analyzer {
    fn process(&mut self, frame: RgbImage, at: DateTime<Utc>) {
        let _span = tracing::debug_span!("analyse", camera = %self.camera_id).entered();
        let decision = self
            .motion
            .decide(&frame, at, !self.tracker.tracks().is_empty());
        let detect = decision.runs_detector();
        if detect {
            self.analyse(frame, at);
        } else {
            // Nothing moved and nobody is tracked: the frame is still shown, without faces.
            self.publish(frame, Vec::new(), at);
        }
        // Idle: nothing moved (a refresh found nobody either) and no face is followed.
        let idle = matches!(decision, Decision::Still | Decision::Refresh)
            && self.tracker.tracks().is_empty();
        self.key_frames.request(self.idle_key_frames_only && idle);
        let undecoded = self.key_frames.skipped();
        let fps = self.fps.tick();
        self.health.send_modify(|h| {
            h.analysed_frames += 1;
            h.detector_skips += u64::from(!detect);
            h.undecoded_frames = undecoded;
            h.idle = self.motion.enabled() && idle;
            if let Some(fps) = fps {
                h.fps = fps;
            }
        });
    }
}

impl Analyzer {
    fn analyse(&mut self, frame: RgbImage, at: DateTime<Utc>) {
        // Boxes only: landmarks are found later, for the faces that are embedded.
        let faces = self.engine.detect_boxes(&frame).unwrap_or_else(|e| {
            tracing::warn!(camera = %self.camera_id, error = %e, "face detection failed");
            Vec::new()
        });
        let boxes: Vec<BBox> = faces.iter().map(|(bbox, _)| *bbox).collect();
        let track_ids = self.tracker.update(&boxes);
        // The faces to embed go to the engine together (one batch with `embedding_batch`).
        let mut labels = Vec::with_capacity(faces.len());
        let mut aligned = Vec::new();
        let mut to_embed = Vec::new();
        for (i, (face, &track_id)) in boxes.iter().zip(&track_ids).enumerate() {
            match self.prepare(&frame, face, track_id, at) {
                Prepared::Labelled(label, similarity) => labels.push(Some((label, similarity))),
                Prepared::Embed(face) => {
                    labels.push(None);
                    aligned.push(face);
                    to_embed.push(i);
                }
            }
        }
        let embeddings = self.engine.embed_faces(&aligned);
        for (i, embedding) in to_embed.into_iter().zip(embeddings) {
            labels[i] = Some(self.recognise(&frame, &boxes[i], track_ids[i], at, embedding));
        }
        let overlays = boxes
            .iter()
            .zip(track_ids)
            .zip(labels)
            .map(|((bbox, track_id), label)| {
                let (label, similarity) = label.unwrap_or((FaceLabel::Pending, None));
                FaceOverlay {
                    bbox: *bbox,
                    track_id,
                    label,
                    similarity,
                }
            })
            .collect::<Vec<_>>();
        self.report_still_in_view(&overlays, at);
        self.publish(frame, overlays, at);
    }

    /// Makes `frame` the camera's newest analysed frame.
    fn publish(&mut self, frame: RgbImage, faces: Vec<FaceOverlay>, at: DateTime<Utc>) {
        let seq = *self.ticks.borrow() + 1;
        *lock(&self.latest) = Some(AnalysedFrame {
            image: Arc::new(frame),
            faces,
            captured_at: at,
            analysed_at: Utc::now(),
            seq,
        });
        self.ticks.send_replace(seq);
    }

    /// Settled tracks in view whose employee is due another sighting (see [`crate::sightings`]).
    fn report_still_in_view(&mut self, faces: &[FaceOverlay], at: DateTime<Utc>) {
        self.sightings.forget_stale(at);
        for face in faces {
            let FaceLabel::Known(employee_id) = &face.label else {
                continue;
            };
            let settled = self
                .tracker
                .track(face.track_id)
                .is_some_and(|t| t.is_settled());
            if settled && self.sightings.due(employee_id, at) {
                let similarity = face.similarity.unwrap_or(self.recognition_threshold);
                self.send(Recognition {
                    camera_id: self.camera_id.clone(),
                    employee_id: employee_id.clone(),
                    at,
                    similarity,
                    track_id: face.track_id,
                    snapshot_jpeg: None,
                });
            }
        }
    }

    /// The label of a face that needs no embedding, else its aligned face. A settled track is
    /// embedded only now and then ([`crate::track::Track::needs_embedding`]); in between its
    /// settled label is shown.
    fn prepare(&self, frame: &RgbImage, face: &BBox, track_id: u64, at: DateTime<Utc>) -> Prepared {
        let (settled, shown_similarity) = match self.tracker.track(track_id) {
            Some(track) if !track.needs_embedding(at, self.reverify) => {
                (self.settled_label(track_id), track.similarity())
            }
            Some(track) => (None, track.similarity()),
            None => (None, None),
        };
        if let Some(label) = settled {
            return Prepared::Labelled(label, shown_similarity);
        }
        match self.aligned_face(frame, face) {
            Ok(aligned) => Prepared::Embed(aligned),
            Err(label) => Prepared::Labelled(
                self.settled_label(track_id).unwrap_or(label),
                shown_similarity,
            ),
        }
    }

    /// Matches a face's embedding and votes for its track; returns the face's label and the
    /// similarity of the track's latest embedding.
    fn recognise(
        &mut self,
        frame: &RgbImage,
        face: &BBox,
        track_id: u64,
        at: DateTime<Utc>,
        embedding: Result<Vec<f32>, EngineError>,
    ) -> (FaceLabel, Option<f32>) {
        let embedding = match embedding {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(camera = %self.camera_id, error = %e, "face embedding failed");
                let shown = self.tracker.track(track_id).and_then(|t| t.similarity());
                let label = self.settled_label(track_id).unwrap_or(FaceLabel::Pending);
                return (label, shown);
            }
        };
        let best = self
            .gallery
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .best(&embedding);
        tracing::debug!(camera = %self.camera_id, track_id, ?best, "face vote");
        let similarity = best.as_ref().map(|m| m.similarity);
        self.tracker.embedded(track_id, at, similarity);
        let vote = match best {
            Some(m) if m.similarity >= self.recognition_threshold => Vote::Known(m),
            _ => Vote::Unknown,
        };
        match self.tracker.vote(track_id, vote) {
            Some(TrackEvent::Recognized {
                employee_id,
                similarity,
                ..
            }) => self.emit(frame, face, track_id, at, employee_id, similarity),
            Some(TrackEvent::Unknown { .. }) => {
                self.health.send_modify(|h| h.unknown_faces += 1);
                self.send_unknown(UnknownFace {
                    camera_id: self.camera_id.clone(),
                    track_id,
                    at,
                    embedding,
                    snapshot_jpeg: face_snapshot(frame, face, self.jpeg_quality),
                });
            }
            None => {}
        }
        let label = self.settled_label(track_id).unwrap_or(FaceLabel::Pending);
        (label, similarity)
    }

    /// The aligned face of a face that passes the quality gates, else the label to show. Its
    /// landmarks are found here, only for the faces that are embedded.
    fn aligned_face(&self, frame: &RgbImage, face: &BBox) -> Result<RgbImage, FaceLabel> {
        self.gate
            .check_size(face)
            .map_err(|_| FaceLabel::PoorQuality)?;
        let landmarks = self.engine.landmarks(frame, face).map_err(|e| {
            tracing::warn!(camera = %self.camera_id, error = %e, "face landmarks failed");
            FaceLabel::Pending
        })?;
        let aligned = align_face(frame, &landmarks).ok_or(FaceLabel::PoorQuality)?;
        if let Err(issue) = self.gate.check(face, &aligned) {
            tracing::trace!(camera = %self.camera_id, %issue, "face skipped");
            return Err(FaceLabel::PoorQuality);
        }
        Ok(aligned)
    }

    /// Known or Unknown once the track's votes have settled.
    fn settled_label(&self, track_id: u64) -> Option<FaceLabel> {
        let track = self.tracker.track(track_id)?;
        if track.is_unknown() {
            return Some(FaceLabel::Unknown);
        }
        track.identity().map(|id| FaceLabel::Known(id.to_string()))
    }

    /// Reports a track that just settled on an employee, with a snapshot of the face.
    fn emit(
        &mut self,
        frame: &RgbImage,
        face: &BBox,
        track_id: u64,
        at: DateTime<Utc>,
        employee_id: String,
        similarity: f32,
    ) {
        self.sightings.reported(&employee_id, at);
        self.send(Recognition {
            camera_id: self.camera_id.clone(),
            employee_id,
            at,
            similarity,
            track_id,
            snapshot_jpeg: Some(face_snapshot(frame, face, self.jpeg_quality)),
        });
    }

    fn send(&self, recognition: Recognition) {
        let track_id = recognition.track_id;
        // The camera supervisor logs the recorded sighting (one line per recognition).
        tracing::debug!(
            camera = %recognition.camera_id,
            employee = %recognition.employee_id,
            similarity = recognition.similarity,
            track_id,
            "employee recognised"
        );
        match self.tx.try_send(recognition) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(camera = %self.camera_id, "recognition channel full, recognition dropped");
                self.health.send_modify(|h| h.dropped_recognitions += 1);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::debug!(camera = %self.camera_id, "nobody listens for recognitions");
            }
        }
    }

    fn send_unknown(&self, face: UnknownFace) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.unknown_tx.try_send(face) {
            tracing::warn!(camera = %self.camera_id, "unknown-face channel full, face dropped");
        }
    }
}
