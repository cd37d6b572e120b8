//! The MQTT publisher, a follower of the event log (see `facewatch_store::follow_log`):
//! 1. plans the alerts of new events into the outbox and moves its cursor, in one transaction;
//! 2. after new events, and every `refresh_sec` anyway, compares the retained state the read
//!    models call for with the state last planned, and plans the differences (clearing topics no
//!    longer wanted);
//! 3. sends the outbox in order, deleting messages once the broker acknowledged them.
//!
//! So a dropped connection or a restart loses nothing (the outbox is in PostgreSQL), and a
//! restart republishes nothing that is unchanged.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use facewatch_projections::projector::ProjectionError;
use facewatch_projections::Projector;
use facewatch_store::{EventFeed, FeedError, LogFollower};

use crate::link::{Link, Message};
use crate::notices::{notices, NoticeType};
use crate::outbox::{self, Outbox};
use crate::topics::{desired_state, CameraLiveness, Topics};

/// The publisher's name among the integration cursors.
const CURSOR: &str = "mqtt";
/// Events read per transaction.
const EVENT_BATCH: i64 = 200;
/// Messages per acknowledged batch (fits the client's request queue).
const SEND_BATCH: i64 = 100;
/// Pause before sending again while the broker is unreachable.
const SEND_RETRY: Duration = Duration::from_secs(1);
/// At most one comparison of the retained state per this long, however fast events come (every
/// sighting moves someone's `last_seen`); alerts are planned per event regardless.
const MIN_REFRESH_GAP: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("MQTT publisher database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Feed(#[from] FeedError),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}

pub struct Publisher {
    outbox: Outbox,
    feed: EventFeed,
    projector: Projector,
    link: Link,
    topics: Topics,
    cameras: Arc<dyn CameraLiveness>,
    refresh: Duration,
    cursor: i64,
    /// What `mqtt_retained` holds (this publisher is its only writer).
    retained: HashMap<String, String>,
    last_refresh: Option<Instant>,
    /// Events arrived since the last comparison of the retained state.
    stale: bool,
}

impl Publisher {
    /// Loads the cursor (the head of the log on the very first start) and the retained state.
    pub async fn load(
        outbox: Outbox,
        projector: Projector,
        link: Link,
        topics: Topics,
        cameras: Arc<dyn CameraLiveness>,
        refresh: Duration,
    ) -> Result<Self, PublishError> {
        let feed = EventFeed::new(outbox.pool().clone());
        let cursor = outbox::cursor(outbox.pool(), CURSOR, feed.head().await?).await?;
        let retained = outbox.retained().await?;
        Ok(Self {
            outbox,
            feed,
            projector,
            link,
            topics,
            cameras,
            refresh,
            cursor,
            retained,
            last_refresh: None,
            stale: false,
        })
    }

    /// Plans the alerts of the events after the cursor; true if there were any events.
    async fn plan_events(&mut self) -> Result<bool, PublishError> {
        let mut any = false;
        loop {
            let events = self.feed.read_after(self.cursor, EVENT_BATCH).await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                return Ok(any);
            };
            any = true;
            // Alert verdicts and names come from the read models.
            self.projector.wait_until_applied(last).await?;
            let mut messages = Vec::new();
            for event in &events {
                for notice in notices(self.outbox.pool(), event).await? {
                    let topic = match notice.kind {
                        NoticeType::AlertRaised | NoticeType::AlertResolved => self.topics.alerts(),
                        NoticeType::UnknownFaceSeen => self.topics.unknown(),
                        _ => continue,
                    };
                    messages.push(Message {
                        topic,
                        payload: notice.data.to_string(),
                        retain: false,
                    });
                }
            }
            let mut tx = self.outbox.pool().begin().await?;
            Outbox::plan(&mut tx, &messages).await?;
            outbox::move_cursor(&mut tx, CURSOR, last).await?;
            tx.commit().await?;
            self.cursor = last;
        }
    }

    /// Plans the retained topics whose wanted payload differs from the one last planned.
    async fn refresh_state(&mut self) -> Result<(), PublishError> {
        let now = chrono::Utc::now();
        let pool = self.outbox.pool();
        let wanted = desired_state(pool, &self.topics, self.cameras.as_ref(), now).await?;
        let mut messages: Vec<Message> = wanted
            .iter()
            .filter(|(topic, payload)| self.retained.get(*topic) != Some(*payload))
            .map(|(topic, payload)| Message {
                topic: topic.clone(),
                payload: payload.clone(),
                retain: true,
            })
            .collect();
        // An empty retained message deletes the topic (and a discovery config, the entity).
        messages.extend(
            self.retained
                .keys()
                .filter(|topic| !wanted.contains_key(*topic))
                .map(|topic| Message {
                    topic: topic.clone(),
                    payload: String::new(),
                    retain: true,
                }),
        );
        if messages.is_empty() {
            return Ok(());
        }
        let mut tx = pool.begin().await?;
        Outbox::plan(&mut tx, &messages).await?;
        tx.commit().await?;
        tracing::debug!(changed = messages.len(), "MQTT retained state planned");
        self.retained = wanted.into_iter().collect();
        Ok(())
    }

    /// Sends the outbox; false if the broker could not take all of it now.
    async fn deliver(&self) -> Result<bool, PublishError> {
        if let Err(e) = self.link.announce().await {
            tracing::debug!("MQTT status not published yet: {e}");
            return Ok(false);
        }
        loop {
            let batch = self.outbox.pending(SEND_BATCH).await?;
            if batch.is_empty() {
                return Ok(true);
            }
            let messages: Vec<Message> = batch.iter().map(|p| p.message.clone()).collect();
            if let Err(e) = self.link.publish_confirmed(&messages).await {
                tracing::debug!(
                    pending = messages.len(),
                    "MQTT messages kept for later: {e}"
                );
                return Ok(false);
            }
            let ids: Vec<i64> = batch.iter().map(|p| p.id).collect();
            self.outbox.acknowledged(&ids).await?;
        }
    }
}

impl LogFollower for Publisher {
    type Error = PublishError;

    async fn step(&mut self) -> Result<Option<Duration>, PublishError> {
        self.stale |= self.plan_events().await?;
        let since = self.last_refresh.map(|at| at.elapsed());
        let due = match since {
            None => true,
            Some(since) => since >= self.refresh || (self.stale && since >= MIN_REFRESH_GAP),
        };
        if due {
            self.refresh_state().await?;
            self.last_refresh = Some(Instant::now());
            self.stale = false;
        }
        let delivered = self.deliver().await?;
        let since = self.last_refresh.map_or(Duration::ZERO, |at| at.elapsed());
        let mut wait = self.refresh.saturating_sub(since);
        if self.stale {
            wait = wait.min(MIN_REFRESH_GAP.saturating_sub(since));
        }
        if !delivered {
            wait = wait.min(SEND_RETRY);
        }
        Ok(Some(wait))
    }
}
