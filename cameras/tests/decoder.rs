//! The decoder choice on a machine without NVIDIA's decoders (this one): asking for NVDEC falls
//! back to software decoding, and an H.265 camera still delivers frames through the CPU path.

use std::time::{Duration, Instant};

use facewatch_cameras::decoder::{select, DecoderChoice, NVDEC_DECODERS};
use facewatch_inference::synthetic::file_uri;
use facewatch_inference::video::VideoSource;
use facewatch_inference::InferenceConfig;
use gstreamer as gst;
use gstreamer::prelude::*;

fn installed(name: &str) -> bool {
    gst::ElementFactory::find(name).is_some()
}

#[test]
fn nvdec_falls_back_to_software_and_h265_decodes_on_the_cpu() {
    let selection = select(DecoderChoice::Nvdec).unwrap();
    let nvdec: Vec<&str> = NVDEC_DECODERS
        .into_iter()
        .filter(|d| installed(d))
        .collect();
    // Whatever NVDEC decoders exist are preferred, and none is claimed where none is installed.
    assert_eq!(selection.hardware, nvdec);
    assert!(
        select(DecoderChoice::Software).unwrap().hardware.is_empty(),
        "software decoding prefers no NVDEC decoder"
    );

    // An H.265 file, as an H.265 camera would send.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h265.mp4");
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers=30 ! video/x-raw,width=320,height=240,framerate=10/1 ! \
         x265enc speed-preset=ultrafast ! h265parse ! mp4mux ! filesink location={}",
        path.display()
    ))
    .expect("x265enc and h265parse (gstreamer1.0-plugins-bad/ugly)");
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let done = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(60),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    assert!(matches!(
        done.map(|m| m.type_()),
        Some(gst::MessageType::Eos)
    ));
    pipeline.set_state(gst::State::Null).unwrap();

    let every_frame = std::sync::Arc::new(facewatch_inference::keyframes::KeyFrameGate::default());
    let source = VideoSource::open(
        &file_uri(&path).unwrap(),
        &InferenceConfig::default(),
        &every_frame,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let frame = loop {
        if let Some(frame) = source.next_frame(Duration::from_millis(500)).unwrap() {
            break frame;
        }
        assert!(Instant::now() < deadline, "no frame from the H.265 file");
    };
    assert_eq!((frame.width(), frame.height()), (320, 240));
}
