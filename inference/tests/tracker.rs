//! The IOU tracker and its identity voting: association, expiry, settling, take-overs, and when
//! a settled track's face is embedded again.

use chrono::{DateTime, Duration, Utc};
use facewatch_inference::track::{TrackEvent, Tracker, TrackerConfig, Vote, REVERIFY_SPREAD};
use facewatch_inference::{BBox, Match};

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

fn t0() -> DateTime<Utc> {
    "2026-11-25T09:00:00Z".parse().unwrap()
}

#[test]
fn a_settled_track_is_embedded_again_once_a_second_or_when_its_box_jumps() {
    let mut t = tracker();
    let second = Duration::seconds(1);
    t.update(&[b(0.0)]);
    for i in 0..3 {
        let at = t0() + Duration::milliseconds(100 * i);
        assert!(t.track(1).unwrap().needs_embedding(at, second), "unsettled");
        t.vote(1, known("alice", 0.8));
        t.embedded(1, at, Some(0.8));
    }
    let track = t.track(1).unwrap();
    assert!(track.is_settled());
    assert_eq!(track.similarity(), Some(0.8));
    // Last embedded at 200 ms: due again 875–1125 ms later (the track's share of the interval).
    let soon = t0() + Duration::milliseconds(700);
    assert!(!track.needs_embedding(soon, second), "settled, same place");
    assert!(!track.needs_embedding(t0() + Duration::milliseconds(1070), second));
    assert!(track.needs_embedding(t0() + Duration::milliseconds(1330), second));
    // A few pixels of drift keep the box; a jump to elsewhere asks for a new look.
    t.update(&[b(5.0)]);
    assert!(!t.track(1).unwrap().needs_embedding(soon, second));
    t.update(&[b(25.0)]);
    assert!(t.track(1).unwrap().needs_embedding(soon, second));
}

#[test]
fn a_disagreeing_vote_unsettles_the_track_until_votes_agree_again() {
    let mut t = tracker();
    let second = Duration::seconds(1);
    t.update(&[b(0.0)]);
    for _ in 0..3 {
        t.vote(1, known("alice", 0.8));
    }
    t.embedded(1, t0(), Some(0.8));
    assert!(!t.track(1).unwrap().needs_embedding(t0(), second));
    // Bob took Alice's place: every frame is embedded until the track settles on him.
    t.vote(1, known("bob", 0.7));
    assert!(!t.track(1).unwrap().is_settled());
    assert!(t.track(1).unwrap().needs_embedding(t0(), second));
    t.vote(1, known("bob", 0.7));
    t.vote(1, known("bob", 0.7));
    let track = t.track(1).unwrap();
    assert_eq!(track.identity(), Some("bob"));
    assert!(track.is_settled());
    // A single odd vote is doubt, the next agreeing one ends it.
    t.vote(1, Vote::Unknown);
    assert!(!t.track(1).unwrap().is_settled());
    t.vote(1, known("bob", 0.7));
    assert!(t.track(1).unwrap().is_settled());
}

#[test]
fn an_unknown_track_is_settled_too() {
    let mut t = tracker();
    t.update(&[b(0.0)]);
    for _ in 0..3 {
        t.vote(1, Vote::Unknown);
    }
    t.embedded(1, t0(), Some(0.1));
    let track = t.track(1).unwrap();
    assert!(track.is_settled() && track.is_unknown());
    assert!(!track.needs_embedding(t0() + Duration::milliseconds(500), Duration::seconds(1)));
}

/// The first millisecond after `t0` at which track `id` (embedded at `t0`) must be embedded again.
fn due_ms(t: &Tracker, id: u64, reverify: Duration) -> i64 {
    let track = t.track(id).unwrap();
    (0..10_000)
        .find(|ms| track.needs_embedding(t0() + Duration::milliseconds(*ms), reverify))
        .unwrap()
}

#[test]
fn tracks_that_begin_together_are_embedded_again_on_different_frames() {
    // Twelve faces (say six cameras' worth, or a group at a door) appear on the same frame and
    // settle together: re-embedding them all on one frame would be a burst of work that overflows
    // the frame queues, so each track takes its own share of the interval.
    let mut t = tracker();
    let faces: Vec<BBox> = (0..12).map(|i| b(i as f32 * 100.0)).collect();
    let ids = t.update(&faces);
    for id in &ids {
        for _ in 0..3 {
            t.vote(*id, known(&format!("e{id}"), 0.8));
        }
        t.embedded(*id, t0(), Some(0.8));
    }
    let second = Duration::seconds(1);
    let dues: Vec<i64> = ids.iter().map(|id| due_ms(&t, *id, second)).collect();
    let (low, high) = (
        (REVERIFY_SPREAD.start * 1000.0) as i64,
        (REVERIFY_SPREAD.end * 1000.0).ceil() as i64,
    );
    assert!(
        dues.iter().all(|d| (low..=high).contains(d)),
        "every track is due within the spread of the interval: {dues:?}"
    );
    let mut distinct = dues.clone();
    distinct.sort();
    distinct.dedup();
    // 12 draws over 250 ms: at 8 fps (125 ms frames) they land on both frames of the spread.
    assert!(
        distinct.len() >= 6,
        "re-embeddings are spread out: {dues:?}"
    );
}
