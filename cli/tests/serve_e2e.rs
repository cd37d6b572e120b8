//! The real `facewatch serve` process with real face models: an admin from the environment logs
//! in, enrols an employee from photos (GraphQL base64 and REST multipart), adds a camera playing a
//! video of that person, and sees the camera's health, its latest annotated frame and the
//! employee's presence change — all through the public API.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use facewatch_inference::synthetic::{file_uri, frames_of, write_video};
use serde_json::{json, Value};
use support::faces::{ai_params, head_shot_of, photo};
use support::{Launch, Outcome, Server};

const PASSWORD: &str = "e2e-admin-password";
const WITHIN: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_enrols_from_photos_and_watches_a_camera() {
    let work = tempfile::tempdir().unwrap();
    // Footage: Obama (enrolled below from other photos of him) walking past the door.
    let mut frames = frames_of(&[head_shot_of("obama2.jpg")], 6);
    frames.extend(frames_of(&[], 2));
    let video = work.path().join("door.mp4");
    write_video(&frames, &video).unwrap();
    let ai_params = ai_params(work.path(), "");

    let bin = Path::new(env!("CARGO_BIN_EXE_facewatch"));
    let database_url =
        facewatch_store::test_database_url(&support::base_database_url(), "fw_serve");
    // The camera plays a file: allowed by configuration, as for the demo.
    let launch = Launch::serve().with_cameras(&ai_params).env(
        "FACEWATCH_CAMERAS__ALLOWED_URL_SCHEMES",
        "[\"rtsp\", \"file\"]",
    );
    let (server, client) = Server::launch(bin, launch, &database_url, PASSWORD, WITHIN)
        .await
        .unwrap();

    let enrolled = client
        .gql_data(
            "mutation { enrollEmployee(input: {name: \"Barack Obama\", code: \"BO-1\"}) { id } }",
            json!({}),
        )
        .await
        .unwrap();
    let id = enrolled["enrollEmployee"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let enrol_photo = "mutation($id: String!, $pose: Pose!, $photo: String!) {
        enrollFacePhoto(employeeId: $id, pose: $pose, photoBase64: $photo) { faceTemplates } }";
    let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(bytes);
    let front = client
        .gql_data(enrol_photo, json!({"id": id, "pose": "FRONT", "photo": format!("data:image/jpeg;base64,{}", b64(photo("obama.jpg")))}))
        .await
        .unwrap();
    assert_eq!(front["enrollFacePhoto"]["faceTemplates"], 1, "{front}");
    let no_face = client
        .gql(
            enrol_photo,
            json!({"id": id, "pose": "LEFT", "photo": b64(photo("coffee.png"))}),
        )
        .await;
    let Outcome::GraphQl(message) = no_face else {
        panic!("a photo without a face is refused: {no_face:?}");
    };
    assert!(message.to_lowercase().contains("face"), "{message}");
    // The seed system's multipart endpoint adds another pose through the same service.
    let form = reqwest::multipart::Form::new().part(
        "left",
        reqwest::multipart::Part::bytes(photo("obama3.jpg")).file_name("left.jpg"),
    );
    let multipart: Value = client
        .http
        .post(format!("{}/api/employees/{id}/face_templates", client.base))
        .bearer_auth(&client.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(multipart["templates"], 2, "{multipart}");

    let add = format!(
        "mutation {{ addCamera(input: {{id: \"DOOR\", name: \"Door\", streamUrl: \"{}\"}}) {{ id }} }}",
        file_uri(&video).unwrap()
    );
    client.gql_data(&add, json!({})).await.unwrap();
    let health = client
        .wait_for(
            "{ cameras { id health { state fps lastFrameAt } } }",
            WITHIN,
            |d| d["cameras"][0]["health"]["lastFrameAt"].is_string(),
        )
        .await
        .unwrap();
    assert_eq!(health["cameras"][0]["id"], "DOOR");
    let present = client
        .wait_for(
            "{ employees { name presence { present cameraName } } }",
            WITHIN,
            |d| d["employees"][0]["presence"]["present"] == true,
        )
        .await
        .unwrap();
    assert_eq!(present["employees"][0]["presence"]["cameraName"], "Door");

    // The supervisor publishes the annotated frame about once a second.
    let deadline = Instant::now() + Duration::from_secs(30);
    let frame = loop {
        let frame = client
            .get("/api/cameras/DOOR/latest.jpg")
            .send()
            .await
            .unwrap();
        if frame.status() == 200 || Instant::now() > deadline {
            break frame;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(frame.status(), 200);
    assert_eq!(frame.headers()["content-type"], "image/jpeg");
    let jpeg = frame.bytes().await.unwrap();
    assert_eq!(image::load_from_memory(&jpeg).unwrap().width(), 720);
    let missing = client
        .get("/api/cameras/NOPE/latest.jpg")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let tested = client
        .gql_data(
            "mutation { testCameraConnection(id: \"DOOR\") { health { state } } }",
            json!({}),
        )
        .await
        .unwrap();
    assert!(
        tested["testCameraConnection"]["health"]["state"].is_string(),
        "{tested}"
    );
    let params = client
        .gql_data("{ aiParameters }", json!({}))
        .await
        .unwrap();
    assert_eq!(
        params["aiParameters"]["params"]["inference_threads"], 1,
        "{params}"
    );

    drop(server);
    facewatch_store::drop_database(&database_url).await.unwrap();
}
