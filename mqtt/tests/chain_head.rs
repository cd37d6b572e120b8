//! The chain head exported over real Mosquitto (issue 15): the running exporter publishes the
//! head, signed with Ed25519, as a retained message that a client connecting later still gets; it
//! follows the log as events are appended; what it published verifies with the pinned public key
//! and `verify --expect` accepts it; a forged statement does not verify; a log rewritten behind
//! the exported head stops the export.

mod support;

use std::sync::Arc;
use std::time::Duration;

use facewatch_mqtt::chain_head::{
    export_once, run_head_export, ExportError, HeadExport, HeadKey, SignedHead,
};
use facewatch_store::chain::{chain_head, verify_chain};
use facewatch_store::Link;
use ring::signature::{Ed25519KeyPair, KeyPair};
use support::{cameras_online, Watcher, World};
use tokio::sync::oneshot;

const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/// The key a holder pins, derived from the seed on its own.
fn pinned_public_key() -> String {
    let pair = Ed25519KeyPair::from_seed_unchecked(&hex::decode(SEED).unwrap()).unwrap();
    hex::encode(pair.public_key().as_ref())
}

fn statements(seen: &[support::Received], topic: &str) -> Vec<SignedHead> {
    seen.iter()
        .filter(|r| r.topic == topic && !r.payload.is_empty())
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect()
}

/// What a client that connects now gets on `topic` once it shows `head`: the newest statement.
async fn retained_statement_of(topic: &str, head: &Link) -> SignedHead {
    let watcher = Watcher::start(std::slice::from_ref(&topic.to_string())).await;
    let seen = watcher
        .until("the signed head", |seen| {
            statements(seen, topic)
                .iter()
                .any(|s| s.head == head.to_string())
        })
        .await;
    watcher.stop();
    statements(&seen, topic).pop().unwrap()
}

#[tokio::test]
async fn the_signed_head_reaches_mqtt_retained_and_verifies() {
    let world = World::new("chain_head").await;
    world.enrol("a").await;
    let pool = world.app().pool().clone();
    let mut settings = world.mqtt_settings(support::BROKER.1);
    settings.refresh_sec = 1;
    let topic = HeadExport::topic(&settings.topic_prefix);
    let mqtt = world.start_mqtt(settings, cameras_online(&[])).await;

    let key = Arc::new(HeadKey::from_hex_seed(SEED).unwrap());
    assert_eq!(key.public_key_hex(), pinned_public_key());
    let export = HeadExport {
        every: Duration::from_millis(200),
        key,
        mqtt_topic: Some(topic.clone()),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let exporter = tokio::spawn(run_head_export(pool.clone(), export.clone(), async {
        let _ = stopped.await;
    }));

    // A client that connects after the export still gets the head (retained).
    let head = chain_head(&pool)
        .await
        .unwrap()
        .expect("events were appended");
    let first = retained_statement_of(&topic, &head).await;
    assert!(first.verify(&pinned_public_key()), "{first:?}");
    assert_eq!(
        (first.position, first.hash.clone()),
        (head.position, hex::encode(head.hash))
    );
    let held = Link::parse(&first.head).unwrap();
    let checked = verify_chain(&pool, Some(held), |_, _| {}).await.unwrap();
    assert!(
        checked.intact(),
        "verify --expect accepts the exported head"
    );

    // New events: a new head is exported; the broker keeps the newest.
    world.enrol("b").await;
    let newer = chain_head(&pool).await.unwrap().unwrap();
    assert!(newer.position > head.position);
    let latest = retained_statement_of(&topic, &newer).await;
    assert!(latest.verify(&pinned_public_key()));
    assert!(latest.exported_at > first.exported_at);

    // A forged statement (another head, the old signature) or another key does not verify.
    let mut forged = latest.clone();
    forged.position = head.position;
    forged.hash = hex::encode(head.hash);
    forged.head = head.to_string();
    assert!(!forged.verify(&pinned_public_key()));
    let other = HeadKey::from_hex_seed(&"11".repeat(32)).unwrap();
    assert!(!latest.verify(&other.public_key_hex()));
    assert!(HeadKey::from_hex_seed("not hex").is_err());

    let _ = stop.send(());
    exporter.await.unwrap();
    mqtt.stop().await;

    // A log rewritten behind the exported head: nothing more is signed.
    let tampered = Link {
        position: newer.position,
        hash: [7; 32],
    };
    world.enrol("c").await;
    let refused = export_once(&pool, &export, Some(tampered)).await;
    assert!(
        matches!(refused, Err(ExportError::Rewritten { position, .. }) if position == newer.position),
        "{refused:?}"
    );
    let exported = export_once(&pool, &export, Some(newer)).await.unwrap();
    assert_eq!(exported, chain_head(&pool).await.unwrap());
    // Its scratch database was left behind by every run before.
    world.test.finish().await;
}
