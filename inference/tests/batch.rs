//! Embedding batches (`embedding_batch`) with the real models on the CPU: a batch gives every face
//! the embedding of a run of its own, faces of several workers share one run, and two cameras
//! recognise the same people with batching as without.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier, RwLock};
use std::time::{Duration, Instant};

use common::{config, engine, init_tracing, photo, two_people_video};
use facewatch_inference::embed::cosine;
use facewatch_inference::{
    align_face, enrol_photo, BatchStats, CameraPipeline, EmbeddingBatch, FaceEngine, Gallery,
    InferenceConfig,
};
use image::RgbImage;

fn batch_config(max_faces: usize, wait_ms: u64) -> InferenceConfig {
    InferenceConfig {
        embedding_batch: Some(EmbeddingBatch { max_faces, wait_ms }),
        ..config()
    }
}

/// The aligned faces of the test photos: six people, seven faces.
fn test_faces() -> Vec<RgbImage> {
    let names = [
        "obama.jpg",
        "obama2.jpg",
        "obama3.jpg",
        "biden.jpg",
        "astronaut.png",
        "debate.jpg",
    ];
    let faces: Vec<RgbImage> = names
        .iter()
        .flat_map(|name| {
            let img = photo(name);
            let found = engine().detect(&img).unwrap();
            found
                .iter()
                .map(|f| align_face(&img, &f.landmarks).expect("an aligned face"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(faces.len(), 7);
    faces
}

fn assert_same_embeddings(batched: &[Vec<f32>], single: &[Vec<f32>]) {
    assert_eq!(batched.len(), single.len());
    for (i, (b, s)) in batched.iter().zip(single).enumerate() {
        assert_eq!(b.len(), 512);
        let c = cosine(b, s);
        assert!(
            c > 0.999,
            "face {i}: cosine {c} between batch and single run"
        );
    }
}

#[test]
fn batched_embeddings_equal_single_face_embeddings() {
    let faces = test_faces();
    let single: Vec<Vec<f32>> = faces.iter().map(|f| engine().embed(f).unwrap()).collect();

    // Seven faces in runs of at most 4: one run of 4, one of 3.
    let batched_engine = FaceEngine::new(&batch_config(4, 0)).unwrap();
    let batched: Vec<Vec<f32>> = batched_engine
        .embed_faces(&faces)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_same_embeddings(&batched, &single);
    assert_eq!(
        batched_engine.batch_stats(),
        Some(BatchStats { runs: 2, faces: 7 })
    );

    // Without `embedding_batch` (the default, CPU), the faces of a frame run one at a time.
    let one_by_one: Vec<Vec<f32>> = engine()
        .embed_faces(&faces)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(one_by_one, single);
    assert_eq!(engine().batch_stats(), None);
}

#[test]
fn faces_from_several_workers_share_one_run() {
    let faces = test_faces();
    let single: Vec<Vec<f32>> = faces.iter().map(|f| engine().embed(f).unwrap()).collect();
    // The run closes when all 7 faces are in (long before the window of a second ends).
    let shared = FaceEngine::new(&batch_config(7, 1_000)).unwrap();
    let frames: Vec<&[RgbImage]> = vec![&faces[0..2], &faces[2..4], &faces[4..7]];
    let start = Barrier::new(frames.len());
    let answers: Vec<Vec<Vec<f32>>> = std::thread::scope(|s| {
        let workers: Vec<_> = frames
            .iter()
            .map(|frame| {
                let (shared, start) = (&shared, &start);
                s.spawn(move || {
                    start.wait();
                    shared
                        .embed_faces(frame)
                        .into_iter()
                        .collect::<Result<Vec<_>, _>>()
                        .unwrap()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert_same_embeddings(&answers.concat(), &single);
    assert_eq!(shared.batch_stats(), Some(BatchStats { runs: 1, faces: 7 }));
}

#[test]
fn a_missing_or_fixed_batch_model_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["fr_detect.onnx", "fr_landmark.onnx", "fr_feature.onnx"] {
        std::os::unix::fs::symlink(common::models_dir().join(file), dir.path().join(file)).unwrap();
    }
    let cfg = InferenceConfig {
        models_dir: dir.path().to_path_buf(),
        onnxruntime_library: Some(common::models_dir().join("libonnxruntime.so")),
        ..batch_config(8, 2)
    };
    let err = FaceEngine::new(&cfg).err().unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "model {}/fr_feature_batch.onnx not found (run scripts/fetch-models.sh)",
            dir.path().display()
        )
    );
    // The original model takes one face only.
    std::os::unix::fs::symlink(
        common::models_dir().join("fr_feature.onnx"),
        dir.path().join("fr_feature_batch.onnx"),
    )
    .unwrap();
    let err = FaceEngine::new(&cfg).err().unwrap();
    assert_eq!(
        err.to_string(),
        "unexpected model output: fr_feature_batch.onnx takes input [1, 3, 112, 112], not \
         [batch, 3, 112, 112] with a dynamic batch (run scripts/fetch-models.sh)"
    );
}

/// Who each of two cameras on one engine recognises in a looped video of Obama and Biden side by
/// side: `(camera, employee)` once each camera has recognised both, or whatever was seen in 60 s.
fn recognised_by_two_cameras(
    cfg: &InferenceConfig,
    uri: &str,
) -> (BTreeSet<(String, String)>, Arc<FaceEngine>) {
    let shared = Arc::new(FaceEngine::new(cfg).unwrap());
    let mut gallery = Gallery::new();
    for (id, name) in [("emp-obama", "obama.jpg"), ("emp-biden", "biden.jpg")] {
        let template = enrol_photo(&engine(), cfg, &common::photo_bytes(name)).unwrap();
        gallery.insert(id, template).unwrap();
    }
    let gallery = Arc::new(RwLock::new(gallery));
    let mut cameras: Vec<_> = (0..2)
        .map(|i| {
            CameraPipeline::spawn(
                format!("cam{i}"),
                uri,
                cfg.clone(),
                shared.clone(),
                gallery.clone(),
            )
            .unwrap()
        })
        .collect();
    let mut receivers: Vec<_> = cameras
        .iter_mut()
        .map(|c| c.take_recognitions().unwrap())
        .collect();
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < 4 && Instant::now() < deadline {
        for rx in &mut receivers {
            while let Ok(r) = rx.try_recv() {
                seen.insert((r.camera_id, r.employee_id));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for camera in cameras {
        camera.stop();
    }
    (seen, shared)
}

#[test]
fn two_cameras_recognise_the_same_people_with_batching_as_without() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let uri = two_people_video(dir.path(), 2);

    let plain = InferenceConfig {
        inference_workers: 2,
        ..config()
    };
    let batched = InferenceConfig {
        embedding_batch: Some(EmbeddingBatch {
            max_faces: 8,
            wait_ms: 4,
        }),
        ..plain.clone()
    };
    let (without, _) = recognised_by_two_cameras(&plain, &uri);
    let (with, engine) = recognised_by_two_cameras(&batched, &uri);
    let expected: BTreeSet<(String, String)> = ["cam0", "cam1"]
        .iter()
        .flat_map(|c| ["emp-biden", "emp-obama"].map(|e| (c.to_string(), e.to_string())))
        .collect();
    assert_eq!(without, expected);
    assert_eq!(with, expected);
    // Every vote went through the batcher (3 per person per camera at least), and the two faces
    // of a frame shared a run.
    let stats = engine.batch_stats().unwrap();
    eprintln!("batches: {stats:?}");
    assert!(stats.faces >= 12 && stats.faces > stats.runs, "{stats:?}");
}
