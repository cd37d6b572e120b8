//! Which video decoders the camera pipelines use. Pipelines decode with `uridecodebin`, which
//! picks the highest-ranked decoder for the stream's codec (H.264 or H.265); this module sets the
//! ranks of NVIDIA's NVDEC decoders (`nvh264dec`, `nvh265dec` from gst-plugins-bad's nvcodec) once
//! per process, before the first pipeline starts, so that the choice is configuration rather than
//! whatever plugins happen to be installed.

use gstreamer as gst;
use gstreamer::prelude::*;
use serde::{Deserialize, Serialize};

/// The NVDEC decoders, by codec.
pub const NVDEC_DECODERS: [&str; 2] = ["nvh264dec", "nvh265dec"];

/// `[cameras] decoder` in the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecoderChoice {
    /// CPU decoding (libav) even where NVDEC is installed: the default, right for CPU machines.
    #[default]
    Software,
    /// NVDEC where the element exists, software for the other codecs and everywhere else.
    Auto,
    /// NVDEC wanted: the same as `auto`, but a missing element is worth a warning.
    Nvdec,
}

/// What [`select`] did: the NVDEC decoders now preferred (empty: software decoding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderSelection {
    pub hardware: Vec<&'static str>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot initialise GStreamer: {0}")]
pub struct DecoderError(#[source] gst::glib::Error);

/// Ranks the NVDEC decoders above the software ones (`auto`, `nvdec`) or out of automatic
/// selection (`software`). Process-wide: call once at start.
pub fn select(choice: DecoderChoice) -> Result<DecoderSelection, DecoderError> {
    gst::init().map_err(DecoderError)?;
    let registry = gst::Registry::get();
    let mut hardware = Vec::new();
    for name in NVDEC_DECODERS {
        let Some(feature) = registry.find_feature(name, gst::ElementFactory::static_type()) else {
            if choice == DecoderChoice::Nvdec {
                tracing::warn!(
                    decoder = name,
                    "NVDEC decoder not installed: decoding in software"
                );
            }
            continue;
        };
        match choice {
            DecoderChoice::Software => feature.set_rank(gst::Rank::NONE),
            DecoderChoice::Auto | DecoderChoice::Nvdec => {
                // Above libav's decoders (PRIMARY), which uridecodebin would pick otherwise.
                feature.set_rank(gst::Rank::PRIMARY + 10);
                hardware.push(name);
            }
        }
    }
    tracing::info!(?choice, ?hardware, "video decoders selected");
    Ok(DecoderSelection { hardware })
}
