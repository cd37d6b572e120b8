//! Face embeddings: the aligned 112x112 face goes through `fr_feature.onnx`
//! (input `[1, 3, 112, 112]` RGB scaled to `(v - 127) / 128`, output
//! `[1, 512]`), and the vector is L2-normalised so that cosine similarity is
//! a dot product.

use image::RgbImage;
use ort::session::Session;
use ort::value::TensorRef;

use crate::engine::EngineError;
use crate::geometry::ALIGNED_SIZE;

/// Scales `v` to unit length (left as is when it is all zeros).
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// CHW floats of an aligned face, as the embedder expects.
pub fn preprocess(aligned: &RgbImage) -> Vec<f32> {
    let plane = (aligned.width() * aligned.height()) as usize;
    let mut data = vec![0.0f32; 3 * plane];
    for (i, p) in aligned.pixels().enumerate() {
        for c in 0..3 {
            data[c * plane + i] = (p.0[c] as f32 - 127.0) / 128.0;
        }
    }
    data
}

/// Fails unless the embedding model takes an aligned face.
pub(crate) fn check(session: &Session) -> Result<(), EngineError> {
    let s = ALIGNED_SIZE as i64;
    crate::engine::check_input_shape(session, "fr_feature.onnx", &[1, 3, s, s])
}

/// Fails unless the batch embedding model takes any number of aligned faces.
pub(crate) fn check_batch(session: &Session) -> Result<(), EngineError> {
    let name = crate::engine::EMBEDDING_BATCH_MODEL;
    let s = ALIGNED_SIZE as i64;
    let dims = crate::engine::input_dims(session, name)?;
    if dims.len() != 4 || dims[0] >= 0 || dims[1..] != [3, s, s] {
        return Err(EngineError::ModelOutput(format!(
            "{name} takes input {dims:?}, not [batch, 3, {s}, {s}] with a dynamic batch \
             (run scripts/fetch-models.sh)"
        )));
    }
    Ok(())
}

/// The unit-length embedding of an aligned 112x112 face.
pub(crate) fn embed(session: &mut Session, aligned: &RgbImage) -> Result<Vec<f32>, EngineError> {
    if aligned.dimensions() != (ALIGNED_SIZE, ALIGNED_SIZE) {
        return Err(EngineError::ModelOutput(format!(
            "aligned face must be {ALIGNED_SIZE}x{ALIGNED_SIZE}, got {:?}",
            aligned.dimensions()
        )));
    }
    let input = preprocess(aligned);
    let s = ALIGNED_SIZE as usize;
    let outputs = session.run(ort::inputs![TensorRef::from_array_view((
        [1usize, 3, s, s],
        &input[..]
    ))?])?;
    let (_, raw) = outputs[0].try_extract_tensor::<f32>()?;
    let mut embedding = raw.to_vec();
    if embedding.is_empty() || embedding.iter().any(|v| !v.is_finite()) {
        return Err(EngineError::ModelOutput(
            "fr_feature.onnx gave an empty or non-finite embedding".into(),
        ));
    }
    l2_normalize(&mut embedding);
    Ok(embedding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_vectors_have_unit_length_and_cosine_one_with_themselves() {
        let mut v = vec![3.0, 4.0];
        l2_normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        assert!((cosine(&v, &v) - 1.0).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[0.0, 1.0])).abs() < 1e-6);
        let mut zero = vec![0.0; 4];
        l2_normalize(&mut zero);
        assert_eq!(zero, vec![0.0; 4]);
    }

    #[test]
    fn preprocess_is_planar_rgb_centred_on_127() {
        let img = RgbImage::from_fn(2, 1, |x, _| {
            if x == 0 {
                image::Rgb([255, 127, 0])
            } else {
                image::Rgb([127, 127, 127])
            }
        });
        let d = preprocess(&img);
        assert_eq!(d, vec![1.0, 0.0, 0.0, 0.0, -127.0 / 128.0, 0.0]);
    }
}
