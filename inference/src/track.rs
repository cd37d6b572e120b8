//! Tracking faces across frames (IOU association) and voting over each
//! track's latest recognitions, so that a person walking past a camera is
//! reported once, when their identity is stable, not on every frame.
//! Votes keep being collected, so a track that another person takes over
//! (IOU tracking cannot tell) is reported again under the new identity.

use std::collections::VecDeque;

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
}

impl Track {
    /// The employee this track was last reported as.
    pub fn identity(&self) -> Option<&str> {
        self.reported.as_deref()
    }

    /// Whether the track's latest settled state is "unknown face".
    pub fn is_unknown(&self) -> bool {
        self.unknown
    }
}

/// IOU tracker with per-track identity voting.
#[derive(Debug, Clone)]
pub struct Tracker {
    cfg: TrackerConfig,
    tracks: Vec<Track>,
    next_id: u64,
}

impl Tracker {
    pub fn new(cfg: TrackerConfig) -> Self {
        Self {
            cfg,
            tracks: Vec::new(),
            next_id: 1,
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
                    });
                    ids.push(id);
                }
            }
        }
        let max_misses = self.cfg.max_misses;
        self.tracks.retain(|t| t.misses <= max_misses);
        ids
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
                Some(TrackEvent::Recognized {
                    track_id,
                    employee_id,
                    similarity,
                })
            }
            None if unknown >= cfg.min_votes && !track.unknown => {
                track.unknown = true;
                track.reported = None;
                Some(TrackEvent::Unknown { track_id })
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker() -> Tracker {
        Tracker::new(TrackerConfig {
            iou_threshold: 0.3,
            max_misses: 2,
            window: 5,
            min_votes: 3,
        })
    }

    fn known(id: &str, similarity: f32) -> Vote {
        Vote::Known(Match {
            employee_id: id.into(),
            similarity,
        })
    }

    fn b(x: f32) -> BBox {
        BBox::new(x, 10.0, x + 50.0, 70.0)
    }

    #[test]
    fn moving_face_keeps_its_track_and_new_face_gets_a_new_one() {
        let mut t = tracker();
        let first = t.update(&[b(0.0)]);
        assert_eq!(first, vec![1]);
        // Moved by 10 px (IOU 0.67) and a second face far away.
        let second = t.update(&[b(200.0), b(10.0)]);
        assert_eq!(second, vec![2, 1]);
        assert_eq!(t.track(1).unwrap().bbox, b(10.0));
    }

    #[test]
    fn association_prefers_the_best_overlap() {
        let mut t = tracker();
        t.update(&[b(0.0), b(40.0)]);
        // Box at 35 overlaps track 2 (at 40) more than track 1 (at 0).
        let ids = t.update(&[b(35.0), b(2.0)]);
        assert_eq!(ids, vec![2, 1]);
    }

    #[test]
    fn tracks_survive_max_misses_then_disappear() {
        let mut t = tracker();
        t.update(&[b(0.0)]);
        t.update(&[]);
        t.update(&[]);
        assert!(t.track(1).is_some(), "missed twice: still alive");
        assert_eq!(t.update(&[b(0.0)]), vec![1], "re-found after misses");
        t.update(&[]);
        t.update(&[]);
        t.update(&[]);
        assert!(t.tracks().is_empty());
        assert_eq!(t.update(&[b(0.0)]), vec![2], "a new track after expiry");
    }

    #[test]
    fn identity_is_reported_once_after_min_votes() {
        let mut t = tracker();
        t.update(&[b(0.0)]);
        assert_eq!(t.vote(1, known("alice", 0.6)), None);
        assert_eq!(t.vote(1, known("bob", 0.5)), None);
        assert_eq!(t.vote(1, known("alice", 0.7)), None);
        assert_eq!(
            t.vote(1, known("alice", 0.8)),
            Some(TrackEvent::Recognized {
                track_id: 1,
                employee_id: "alice".into(),
                similarity: 0.7,
            })
        );
        assert_eq!(t.track(1).unwrap().identity(), Some("alice"));
        assert_eq!(t.vote(1, known("alice", 0.9)), None, "reported once");
        assert_eq!(t.vote(1, known("bob", 0.9)), None);
    }

    #[test]
    fn a_track_taken_over_by_someone_else_is_reported_again() {
        let mut t = tracker();
        t.update(&[b(0.0)]);
        for _ in 0..3 {
            t.vote(1, known("alice", 0.8));
        }
        assert_eq!(t.track(1).unwrap().identity(), Some("alice"));
        // Alice leaves, Bob steps into the same spot before the track expires.
        assert_eq!(t.vote(1, known("bob", 0.7)), None);
        assert_eq!(t.vote(1, known("bob", 0.7)), None);
        assert_eq!(
            t.vote(1, known("bob", 0.7)),
            Some(TrackEvent::Recognized {
                track_id: 1,
                employee_id: "bob".into(),
                similarity: 0.7,
            })
        );
    }

    #[test]
    fn only_the_last_window_votes_count() {
        let mut t = tracker();
        t.update(&[b(0.0)]);
        for v in [
            known("alice", 0.6),
            known("alice", 0.6),
            Vote::Unknown,
            Vote::Unknown,
        ] {
            assert_eq!(t.vote(1, v), None);
        }
        // Window of 5: alice, alice, ?, ?, bob -> nothing; then bob pushes alice out.
        assert_eq!(t.vote(1, known("bob", 0.6)), None);
        assert_eq!(t.vote(1, known("bob", 0.6)), None);
        let e = t.vote(1, known("bob", 0.6));
        assert!(
            matches!(e, Some(TrackEvent::Recognized { ref employee_id, .. }) if employee_id == "bob")
        );
    }

    #[test]
    fn unknown_tracks_are_counted_once_and_may_still_be_recognised() {
        let mut t = tracker();
        t.update(&[b(0.0)]);
        assert_eq!(t.vote(1, Vote::Unknown), None);
        assert_eq!(t.vote(1, Vote::Unknown), None);
        assert_eq!(
            t.vote(1, Vote::Unknown),
            Some(TrackEvent::Unknown { track_id: 1 })
        );
        assert!(t.track(1).unwrap().is_unknown());
        assert_eq!(t.vote(1, Vote::Unknown), None, "counted once");
        for _ in 0..2 {
            assert_eq!(t.vote(1, known("carol", 0.5)), None);
        }
        assert!(matches!(
            t.vote(1, known("carol", 0.5)),
            Some(TrackEvent::Recognized { .. })
        ));
        assert!(!t.track(1).unwrap().is_unknown());
        // Carol leaves and a stranger takes the spot: unknown again, counted again.
        assert_eq!(t.vote(1, Vote::Unknown), None);
        assert_eq!(t.vote(1, Vote::Unknown), None);
        assert_eq!(
            t.vote(1, Vote::Unknown),
            Some(TrackEvent::Unknown { track_id: 1 })
        );
        assert_eq!(t.track(1).unwrap().identity(), None);
    }

    #[test]
    fn votes_for_dead_tracks_are_ignored() {
        let mut t = tracker();
        assert_eq!(t.vote(42, known("alice", 0.9)), None);
    }
}
