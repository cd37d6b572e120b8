//! The batcher's gathering, splitting and failures, over a stand-in for the model: face `i`'s
//! first float is its id, and its "embedding" is `[id, 1]` (so, normalised, `v[0] / v[1]` is the
//! id again).

use super::*;

use std::sync::Barrier;

/// A preprocessed face whose first float is `id`.
fn face(id: f32) -> Vec<f32> {
    let mut f = vec![0.0; FACE_LEN];
    f[0] = id;
    f
}

fn faces(ids: &[f32]) -> Vec<f32> {
    ids.iter().flat_map(|&id| face(id)).collect()
}

fn ids(vectors: &[Vec<f32>]) -> Vec<f32> {
    vectors.iter().map(|v| (v[0] / v[1]).round()).collect()
}

/// Stands in for the model; a face with id 666 makes its run fail.
fn fake_model() -> RunBatch {
    Box::new(|data: &[f32], n: usize| {
        assert_eq!(data.len(), n * FACE_LEN);
        let ids: Vec<f32> = data.chunks(FACE_LEN).map(|f| f[0]).collect();
        if ids.contains(&666.0) {
            return Err(EngineError::ModelOutput("face 666 breaks the model".into()));
        }
        Ok(ids.into_iter().map(|id| vec![id, 1.0]).collect())
    })
}

fn batcher(max_faces: usize, wait_ms: u64) -> EmbeddingBatcher {
    let settings = EmbeddingBatch { max_faces, wait_ms };
    EmbeddingBatcher::start(settings, 4, fake_model()).unwrap()
}

#[test]
fn faces_submitted_together_run_together_and_each_worker_gets_its_own() {
    // The batch closes when its 6 faces are in, long before the window ends.
    let b = batcher(6, 10_000);
    let start = Barrier::new(3);
    let answers: Vec<Vec<f32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|w| {
                let (b, start) = (&b, &start);
                s.spawn(move || {
                    let mine = [10.0 * w as f32 + 1.0, 10.0 * w as f32 + 2.0];
                    start.wait();
                    ids(&b.embed_preprocessed(faces(&mine), 2).unwrap())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        answers,
        vec![vec![1.0, 2.0], vec![11.0, 12.0], vec![21.0, 22.0]]
    );
    assert_eq!(b.stats(), BatchStats { runs: 1, faces: 6 });
}

#[test]
fn a_frame_with_more_faces_than_a_run_takes_is_split_in_order() {
    let b = batcher(2, 0);
    let got = b
        .embed_preprocessed(faces(&[1.0, 2.0, 3.0, 4.0, 5.0]), 5)
        .unwrap();
    assert_eq!(ids(&got), vec![1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(b.stats(), BatchStats { runs: 3, faces: 5 });
    for v in &got {
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "unit length");
    }
}

#[test]
fn a_failing_run_fails_only_its_faces_and_the_batcher_goes_on() {
    let b = batcher(2, 0);
    // Split into [7, 666] and [8]: the frame fails as a whole (one of its faces failed).
    let err = b
        .embed_preprocessed(faces(&[7.0, 666.0, 8.0]), 3)
        .unwrap_err();
    assert!(matches!(err, EngineError::Batch { faces: 3, .. }), "{err}");
    assert_eq!(err.to_string(), "embedding batch of 3 faces failed");
    let source = std::error::Error::source(&err)
        .expect("the cause")
        .to_string();
    assert_eq!(source, "unexpected model output: face 666 breaks the model");
    // Other frames, before and after, are embedded.
    assert_eq!(
        ids(&b.embed_preprocessed(faces(&[9.0]), 1).unwrap()),
        vec![9.0]
    );
    assert_eq!(b.stats(), BatchStats { runs: 3, faces: 4 });
}

#[test]
fn a_failed_run_fails_every_frame_in_it_and_no_other() {
    // Two workers' frames fill one run of 4 faces; one of them holds the bad face.
    let b = batcher(4, 10_000);
    let start = Barrier::new(2);
    let (good, bad) = std::thread::scope(|s| {
        let good = s.spawn(|| {
            start.wait();
            b.embed_preprocessed(faces(&[1.0, 2.0]), 2)
        });
        let bad = s.spawn(|| {
            start.wait();
            b.embed_preprocessed(faces(&[666.0, 3.0]), 2)
        });
        (good.join().unwrap(), bad.join().unwrap())
    });
    assert!(
        matches!(good, Err(EngineError::Batch { faces: 2, .. })),
        "{good:?}"
    );
    assert!(
        matches!(bad, Err(EngineError::Batch { faces: 2, .. })),
        "{bad:?}"
    );
    assert_eq!(b.stats(), BatchStats { runs: 1, faces: 4 });
    // The next run is not touched by it.
    let next = b
        .embed_preprocessed(faces(&[4.0, 5.0, 6.0, 7.0]), 4)
        .unwrap();
    assert_eq!(ids(&next), vec![4.0, 5.0, 6.0, 7.0]);
}

#[test]
fn faces_of_the_wrong_size_are_refused_before_the_batch() {
    let b = batcher(4, 0);
    let err = b.embed(&[RgbImage::new(100, 112)]).unwrap_err();
    assert!(
        err.to_string().contains("aligned face must be 112x112"),
        "{err}"
    );
    assert_eq!(b.stats(), BatchStats::default());
    assert!(b.embed(&[]).unwrap().is_empty());
}
