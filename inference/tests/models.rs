//! The real detector, landmark and embedding models on real photos.

mod common;

use common::{config, engine, photo, photo_bytes};
use facewatch_inference::embed::cosine;
use facewatch_inference::{
    align_face, enrol_image, enrol_photo, EnrolError, Provider, QualityGate, QualityIssue,
};
use image::RgbImage;

#[test]
fn engine_runs_on_cpu() {
    assert_eq!(engine().provider(), Provider::Cpu);
}

#[test]
fn accelerators_missing_from_the_runtime_fall_back_to_cpu() {
    // The pinned onnxruntime wheel is the CPU build: TensorRT and CUDA are
    // skipped and the default provider list still gives a working engine.
    let cfg = facewatch_inference::InferenceConfig {
        providers: vec![Provider::Tensorrt, Provider::Cuda, Provider::Cpu],
        ..config()
    };
    let e = facewatch_inference::FaceEngine::new(&cfg).unwrap();
    assert_eq!(e.provider(), Provider::Cpu);
    assert_eq!(e.detect(&photo("obama.jpg")).unwrap().len(), 1);
}

#[test]
fn missing_models_give_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = facewatch_inference::InferenceConfig {
        models_dir: dir.path().to_path_buf(),
        onnxruntime_library: Some(common::models_dir().join("libonnxruntime.so")),
        ..config()
    };
    let err = facewatch_inference::FaceEngine::new(&cfg).err().unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "model {}/fr_detect.onnx not found (run scripts/fetch-models.sh)",
            dir.path().display()
        )
    );
}

#[test]
fn detects_two_people_with_landmarks_inside_their_boxes() {
    let img = photo("debate.jpg");
    let faces = engine().detect(&img).unwrap();
    assert_eq!(faces.len(), 2, "{faces:?}");
    for f in &faces {
        assert!(f.score > 0.9);
        assert!(f.bbox.min_side() > 150.0, "{:?}", f.bbox);
        for p in f.landmarks {
            assert!(p[0] > f.bbox.x1 && p[0] < f.bbox.x2 && p[1] > f.bbox.y1 && p[1] < f.bbox.y2);
        }
        // Eyes above nose above mouth; left eye left of right eye.
        let [le, re, nose, lm, rm] = f.landmarks;
        assert!(le[0] < re[0] && lm[0] < rm[0]);
        assert!(le[1] < nose[1] && nose[1] < lm[1] && nose[1] < rm[1]);
    }
    assert!(engine().detect(&photo("coffee.png")).unwrap().is_empty());
}

#[test]
fn same_person_matches_and_different_people_do_not() {
    let cfg = config();
    let e = engine();
    let emb = |name: &str| {
        enrol_photo(&e, &cfg, &photo_bytes(name)).unwrap_or_else(|err| panic!("{name}: {err}"))
    };
    let obama = [emb("obama.jpg"), emb("obama2.jpg"), emb("obama3.jpg")];
    let biden = emb("biden.jpg");
    let astronaut = emb("astronaut.png");
    for v in obama.iter().chain([&biden, &astronaut]) {
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
        assert_eq!(v.len(), 512);
    }
    for i in 0..3 {
        for j in i + 1..3 {
            let s = cosine(&obama[i], &obama[j]);
            assert!(s > cfg.recognition_threshold + 0.1, "obama {i} vs {j}: {s}");
        }
        for (who, other) in [("biden", &biden), ("astronaut", &astronaut)] {
            let s = cosine(&obama[i], other);
            assert!(
                s < cfg.recognition_threshold - 0.1,
                "obama {i} vs {who}: {s}"
            );
        }
    }
    assert!(cosine(&biden, &astronaut) < cfg.recognition_threshold - 0.1);
}

#[test]
fn real_faces_pass_the_quality_gate() {
    let cfg = config();
    let gate = QualityGate::from_config(&cfg);
    for name in [
        "obama.jpg",
        "obama2.jpg",
        "obama3.jpg",
        "biden.jpg",
        "astronaut.png",
    ] {
        let img = photo(name);
        let face = engine().detect(&img).unwrap().remove(0);
        let aligned = align_face(&img, &face.landmarks).unwrap();
        let q = gate
            .check(&face.bbox, &aligned)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        eprintln!("{name}: {q:?}");
    }
}

#[test]
fn enrolment_rejects_photos_without_exactly_one_good_face() {
    let cfg = config();
    let e = engine();
    assert!(matches!(
        enrol_photo(&e, &cfg, &photo_bytes("coffee.png")),
        Err(EnrolError::NoFace)
    ));
    match enrol_photo(&e, &cfg, &photo_bytes("debate.jpg")) {
        Err(EnrolError::SeveralFaces { count: 2 }) => {}
        other => panic!("debate.jpg: {other:?}"),
    }
    match enrol_photo(&e, &cfg, &photo_bytes("group.jpg")) {
        Err(err @ EnrolError::SeveralFaces { .. }) => {
            assert!(
                err.to_string().contains("faces found in the photo"),
                "{err}"
            )
        }
        other => panic!("group.jpg: {other:?}"),
    }
    let err = enrol_photo(&e, &cfg, b"not an image").unwrap_err();
    assert!(matches!(err, EnrolError::Unreadable(_)), "{err}");

    let obama = photo("obama.jpg");
    let dark = RgbImage::from_fn(obama.width(), obama.height(), |x, y| {
        image::Rgb(obama.get_pixel(x, y).0.map(|v| v / 8))
    });
    match enrol_image(&e, &cfg, &dark) {
        Err(EnrolError::PoorQuality(QualityIssue::TooDark { .. })) => {}
        other => panic!("dark photo: {other:?}"),
    }
    let blurred = image::imageops::blur(&obama, 12.0);
    match enrol_image(&e, &cfg, &blurred) {
        Err(EnrolError::PoorQuality(QualityIssue::Blurred { .. })) => {}
        other => panic!("blurred photo: {other:?}"),
    }
    let tiny = image::imageops::resize(&obama, 60, 75, image::imageops::FilterType::Triangle);
    match enrol_image(&e, &cfg, &tiny) {
        Err(EnrolError::PoorQuality(QualityIssue::TooSmall { .. })) => {}
        other => panic!("tiny photo: {other:?}"),
    }
}
