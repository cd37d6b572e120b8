//! Tracking faces across frames (IOU association) and voting over each
//! track's latest recognitions, so that a person walking past a camera is
//! reported once, when their identity is stable, not on every frame.
//! Votes keep being collected, so a track that another person takes over
//! (IOU tracking cannot tell) is reported again under the new identity.
//! Once settled, a track is embedded again only now and then ([`Track::needs_embedding`]).

use std::collections::VecDeque;
use std::hash::{BuildHasher, RandomState};

use chrono::{DateTime, Utc};

use crate::config::InferenceConfig;
use crate::gallery::Match;
use crate::geometry::BBox;

/// The outcome of recognising one face in one frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Vote {
    /// The face matched an enrolled employee above the threshold.
    Known(Match),
    /// The face matched nobody.
    Unknown,
}

/// What a vote settled for a track.
#[derive(Debug, Clone, PartialEq)]
pub enum TrackEvent {
    /// The track's identity became stable: report it (once per track).
    Recognized {
        track_id: u64,
        employee_id: String,
        /// Mean similarity of the winning votes.
        similarity: f32,
    },
    /// The track was voted unknown (counted once per track).
    Unknown { track_id: u64 },
}

/// The tracker's thresholds from [`InferenceConfig`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackerConfig {
    pub iou_threshold: f32,
    pub max_misses: u32,
    pub window: usize,
    pub min_votes: usize,
}

impl TrackerConfig {
    pub fn from_config(cfg: &InferenceConfig) -> Self {
        Self {
            iou_threshold: cfg.tracker_iou_threshold,
            max_misses: cfg.tracker_max_misses,
            window: cfg.smoothing_window,
            min_votes: cfg.smoothing_min_votes,
        }
    }
}

/// One face followed across frames.
#[derive(Debug, Clone)]
pub struct Track {
    pub id: u64,
    /// Box of the latest matching detection.
    pub bbox: BBox,
    misses: u32,
    votes: VecDeque<Vote>,
    reported: Option<String>,
    unknown: bool,
    /// The latest vote disagreed with the settled identity: recognise every frame again.
    doubt: bool,
    /// When and where the face was last embedded.
    embedded: Option<(DateTime<Utc>, BBox)>,
    /// Best gallery similarity at the last embedding (shown on the overlays).
    similarity: Option<f32>,
    /// This track's share of the re-verification interval, in [`REVERIFY_SPREAD`]: tracks that
    /// begin on the same frame (a group at a door, cameras that see one scene) are then embedded
    /// again on different frames, not all at once, which would overflow the frame queues.
    reverify_scale: f64,
}

/// A settled track is embedded again after this share of `reverify_interval_ms` (drawn once per
/// track; on average the interval itself).
pub const REVERIFY_SPREAD: std::ops::Range<f64> = 0.875..1.125;

/// A box that overlaps the box of the last embedding less than this has jumped: someone else may
/// stand there now.
pub const BOX_JUMP_IOU: f32 = 0.5;

impl Track {
    /// The employee this track was last reported as.
    pub fn identity(&self) -> Option<&str> {
        self.reported.as_deref()
    }

    /// Whether the track's latest settled state is "unknown face".
    pub fn is_unknown(&self) -> bool {
        self.unknown
    }

    /// Whether the identity is settled (known or unknown) and the latest vote agreed with it.
    pub fn is_settled(&self) -> bool {
        (self.reported.is_some() || self.unknown) && !self.doubt
    }

    /// Best gallery similarity at the latest embedding of this track's face.
    pub fn similarity(&self) -> Option<f32> {
        self.similarity
    }

    /// Whether this frame's face must be embedded: always while the identity is unsettled or in
    /// doubt; once settled, only every `reverify` (scaled by the track's share of
    /// [`REVERIFY_SPREAD`]) and when the box jumps (so a person who takes over the track is still
    /// caught).
    pub fn needs_embedding(&self, at: DateTime<Utc>, reverify: chrono::Duration) -> bool {
        if !self.is_settled() {
            return true;
        }
        match self.embedded {
            Some((last_at, last_box)) => {
                let due = (reverify.num_microseconds().unwrap_or(i64::MAX) as f64
                    * self.reverify_scale) as i64;
                at - last_at >= chrono::Duration::microseconds(due)
                    || self.bbox.iou(&last_box) < BOX_JUMP_IOU
            }
            None => true,
        }
    }
}

/// IOU tracker with per-track identity voting.
#[derive(Debug, Clone)]
pub struct Tracker {
    cfg: TrackerConfig,
    tracks: Vec<Track>,
    next_id: u64,
    /// Draws each track's `reverify_scale`; seeded per tracker, so that cameras differ too.
    spread: RandomState,
}

impl Tracker {
    pub fn new(cfg: TrackerConfig) -> Self {
        Self {
            cfg,
            tracks: Vec::new(),
            next_id: 1,
            spread: RandomState::new(),
        }
    }

    /// Live tracks.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    pub fn track(&self, id: u64) -> Option<&Track> {
        self.tracks.iter().find(|t| t.id == id)
    }

    /// Associates this frame's detections with the tracks (greedy, highest IOU
    /// first), starts tracks for unmatched detections and drops tracks missed
    /// more than `max_misses` frames in a row. Returns the track id of every box.
    pub fn update(&mut self, boxes: &[BBox]) -> Vec<u64> {
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (ti, track) in self.tracks.iter().enumerate() {
            for (bi, b) in boxes.iter().enumerate() {
                let iou = track.bbox.iou(b);
                if iou >= self.cfg.iou_threshold {
                    pairs.push((iou, ti, bi));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut box_track: Vec<Option<usize>> = vec![None; boxes.len()];
        let mut track_taken = vec![false; self.tracks.len()];
        for (_, ti, bi) in pairs {
            if box_track[bi].is_none() && !track_taken[ti] {
                box_track[bi] = Some(ti);
                track_taken[ti] = true;
            }
        }
        for (ti, track) in self.tracks.iter_mut().enumerate() {
            if track_taken[ti] {
                track.misses = 0;
            } else {
                track.misses += 1;
            }
        }
        let mut ids = Vec::with_capacity(boxes.len());
        for (bi, b) in boxes.iter().enumerate() {
            match box_track[bi] {
                Some(ti) => {
                    self.tracks[ti].bbox = *b;
                    ids.push(self.tracks[ti].id);
                }
                None => {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.tracks.push(Track {
                        id,
                        bbox: *b,
                        misses: 0,
                        votes: VecDeque::with_capacity(self.cfg.window),
                        reported: None,
                        unknown: false,
                        doubt: false,
                        embedded: None,
                        similarity: None,
                        reverify_scale: self.reverify_scale(id),
                    });
                    ids.push(id);
                }
            }
        }
        let max_misses = self.cfg.max_misses;
        self.tracks.retain(|t| t.misses <= max_misses);
        ids
    }

    /// A uniform draw from [`REVERIFY_SPREAD`] for track `id`.
    fn reverify_scale(&self, id: u64) -> f64 {
        let unit = (self.spread.hash_one(id) >> 11) as f64 / (1u64 << 53) as f64;
        REVERIFY_SPREAD.start + unit * (REVERIFY_SPREAD.end - REVERIFY_SPREAD.start)
    }

    /// Notes that the track's current face was embedded at `at`, with this best similarity.
    pub fn embedded(&mut self, track_id: u64, at: DateTime<Utc>, similarity: Option<f32>) {
        if let Some(track) = self.tracks.iter_mut().find(|t| t.id == track_id) {
            track.embedded = Some((at, track.bbox));
            track.similarity = similarity;
        }
    }

    /// Records a recognition for a track and settles its identity when one
    /// outcome has `min_votes` of the last `window` votes. Returns an event
    /// when the settled identity changes: a newly recognised employee
    /// (reported once, and again only if the track later settles on someone
    /// else, e.g. another person stepped into the same spot) or a newly
    /// unknown face.
    pub fn vote(&mut self, track_id: u64, vote: Vote) -> Option<TrackEvent> {
        let cfg = self.cfg;
        let track = self.tracks.iter_mut().find(|t| t.id == track_id)?;
        track.doubt = match &vote {
            Vote::Known(m) => track.reported.as_deref() != Some(m.employee_id.as_str()),
            Vote::Unknown => !track.unknown,
        };
        track.votes.push_back(vote);
        while track.votes.len() > cfg.window {
            track.votes.pop_front();
        }
        // (employee, votes, similarity sum)
        let mut tally: Vec<(&str, usize, f32)> = Vec::new();
        let mut unknown = 0;
        for v in &track.votes {
            match v {
                Vote::Known(m) => match tally.iter_mut().find(|(id, _, _)| *id == m.employee_id) {
                    Some(entry) => {
                        entry.1 += 1;
                        entry.2 += m.similarity;
                    }
                    None => tally.push((&m.employee_id, 1, m.similarity)),
                },
                Vote::Unknown => unknown += 1,
            }
        }
        let winner = tally
            .into_iter()
            .filter(|(_, n, _)| *n >= cfg.min_votes)
            .max_by(|a, b| a.1.cmp(&b.1).then(a.2.total_cmp(&b.2)))
            .map(|(id, n, sum)| (id.to_string(), sum / n as f32));
        match winner {
            Some((employee_id, similarity)) => {
                if track.reported.as_deref() == Some(employee_id.as_str()) {
                    return None;
                }
                track.reported = Some(employee_id.clone());
                track.unknown = false;
                track.doubt = false;
                Some(TrackEvent::Recognized {
                    track_id,
                    employee_id,
                    similarity,
                })
            }
            None if unknown >= cfg.min_votes && !track.unknown => {
                track.unknown = true;
                track.reported = None;
                track.doubt = false;
                Some(TrackEvent::Unknown { track_id })
            }
            None => None,
        }
    }
}
