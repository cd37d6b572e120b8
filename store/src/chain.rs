//! The hash chain over the event log (migrations/0006_hash_chain.sql): PostgreSQL chains each
//! event as it is appended; [`verify_chain`] recomputes every hash here, independently of the
//! database's functions, and names the first event that was altered, removed or inserted.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};

/// The hash the first event chains to.
pub const GENESIS: [u8; 32] = [0; 32];
/// Good events remembered for naming an insertion (an event that chains to one further back).
const RECENT: usize = 256;
/// Rows between two progress calls.
const PROGRESS_EVERY: i64 = 10_000;

/// The columns an event's hash covers.
#[derive(Debug, Clone)]
pub struct ChainedEvent {
    pub position: i64,
    /// The position of the event this one chains to (0 for the first).
    pub chain_prev: i64,
    pub hash: Vec<u8>,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// The stored `json` texts, byte for byte.
    pub payload: String,
    pub metadata: String,
    pub recorded_at_micros: i64,
}

impl ChainedEvent {
    /// The hash this event must have if it follows an event with hash `prev_hash`.
    pub fn expected_hash(&self, prev_hash: &[u8]) -> [u8; 32] {
        fn field(h: &mut Sha256, text: &str) {
            h.update((text.len() as u32).to_be_bytes());
            h.update(text.as_bytes());
        }
        let mut h = Sha256::new();
        h.update(prev_hash);
        h.update(self.position.to_be_bytes());
        h.update(self.chain_prev.to_be_bytes());
        field(&mut h, &self.aggregate_type);
        field(&mut h, &self.aggregate_id);
        h.update(self.sequence.to_be_bytes());
        field(&mut h, &self.event_type);
        field(&mut h, &self.event_version);
        field(&mut h, &self.payload);
        field(&mut h, &self.metadata);
        h.update(self.recorded_at_micros.to_be_bytes());
        h.finalize().into()
    }

    fn follows(&self, prev: &Link) -> bool {
        self.chain_prev == prev.position && self.expected_hash(&prev.hash) == self.hash.as_slice()
    }
}

/// A position and its hash: the head of the log, or a head held outside the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub position: i64,
    pub hash: [u8; 32],
}

impl Link {
    /// `POSITION:HEX`, the form `facewatch verify` prints and `--expect` reads.
    pub fn parse(text: &str) -> Result<Self, ChainError> {
        let bad = || ChainError::BadLink(text.to_string());
        let (position, hash) = text.trim().split_once(':').ok_or_else(bad)?;
        let hash = hex::decode(hash).map_err(|_| bad())?;
        Ok(Link {
            position: position.parse().map_err(|_| bad())?,
            hash: hash.try_into().map_err(|_| bad())?,
        })
    }
}

impl std::fmt::Display for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.position, hex::encode(self.hash))
    }
}

/// What broke the chain, at the position it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChainProblem {
    /// The event at `position` is not what was appended (payload, metadata, any hashed column).
    Altered { position: i64 },
    /// The event at `position` was deleted (its successor still chains to it).
    Removed { position: i64 },
    /// The event at `position` was slipped in between two chained events.
    Inserted { position: i64 },
    /// The chain holds together but disagrees with a head held outside: the log was rewritten
    /// from some point on, or cut short, before `position`.
    Rewritten { position: i64 },
}

impl ChainProblem {
    pub fn kind(self) -> &'static str {
        match self {
            ChainProblem::Altered { .. } => "ALTERED",
            ChainProblem::Removed { .. } => "REMOVED",
            ChainProblem::Inserted { .. } => "INSERTED",
            ChainProblem::Rewritten { .. } => "REWRITTEN",
        }
    }

    pub fn position(self) -> i64 {
        match self {
            ChainProblem::Altered { position }
            | ChainProblem::Removed { position }
            | ChainProblem::Inserted { position }
            | ChainProblem::Rewritten { position } => position,
        }
    }
}

impl std::fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self {
            ChainProblem::Altered { .. } => "altered",
            ChainProblem::Removed { .. } => "removed",
            ChainProblem::Inserted { .. } => "inserted",
            ChainProblem::Rewritten { .. } => "rewritten (differs from the head held outside)",
        };
        write!(f, "event #{} was {what}", self.position())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// Events read.
    pub events: i64,
    /// The last event that chains correctly (the head when intact).
    #[serde(serialize_with = "serialize_link")]
    pub head: Option<Link>,
    pub problem: Option<ChainProblem>,
    #[serde(skip)]
    pub elapsed: Duration,
}

fn serialize_link<S: serde::Serializer>(link: &Option<Link>, s: S) -> Result<S::Ok, S::Error> {
    match link {
        Some(link) => s.serialize_str(&link.to_string()),
        None => s.serialize_none(),
    }
}

impl ChainReport {
    pub fn intact(&self) -> bool {
        self.problem.is_none()
    }

    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("reading the event log failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0:?} is not a chain head (expected POSITION:HEX, 64 hex digits)")]
    BadLink(String),
}

/// The newest event's position and hash (None for an empty log).
pub async fn chain_head(pool: &PgPool) -> Result<Option<Link>, ChainError> {
    let row =
        sqlx::query("SELECT global_seq, chain_hash FROM events ORDER BY global_seq DESC LIMIT 1")
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|row| {
        Some(Link {
            position: row.get("global_seq"),
            hash: row.get::<Vec<u8>, _>("chain_hash").try_into().ok()?,
        })
    }))
}

/// Walks the whole chain in log order, recomputing every hash; stops at the first problem.
/// `expected`, a head held outside the database, must be found on the chain. `progress` is called
/// with the position reached and the events read so far, every few thousand events.
#[tracing::instrument(skip_all)]
pub async fn verify_chain(
    pool: &PgPool,
    expected: Option<Link>,
    mut progress: impl FnMut(i64, i64),
) -> Result<ChainReport, ChainError> {
    let started = Instant::now();
    let mut walk = Walk {
        expected,
        ..Walk::default()
    };
    let mut rows = sqlx::query(
        "SELECT global_seq, chain_prev, chain_hash, aggregate_type, aggregate_id, sequence, \
                event_type, event_version, payload::text, metadata::text, recorded_at \
         FROM events ORDER BY global_seq",
    )
    .fetch(pool);
    while let Some(row) = rows.try_next().await? {
        let recorded_at: chrono::DateTime<chrono::Utc> = row.try_get(10)?;
        let event = ChainedEvent {
            position: row.try_get(0)?,
            chain_prev: row.try_get(1)?,
            hash: row.try_get(2)?,
            aggregate_type: row.try_get(3)?,
            aggregate_id: row.try_get(4)?,
            sequence: row.try_get(5)?,
            event_type: row.try_get(6)?,
            event_version: row.try_get(7)?,
            payload: row.try_get(8)?,
            metadata: row.try_get(9)?,
            recorded_at_micros: recorded_at.timestamp_micros(),
        };
        if walk.push(event) {
            break;
        }
        if walk.events % PROGRESS_EVERY == 0 {
            progress(walk.last_good.position, walk.events);
        }
    }
    drop(rows);
    walk.finish();
    if walk.problem.is_none() {
        walk.problem = walk.check_expected();
    }
    progress(walk.last_good.position, walk.events);
    Ok(ChainReport {
        events: walk.events,
        head: (walk.last_good.position > 0).then_some(walk.last_good),
        problem: walk.problem,
        elapsed: started.elapsed(),
    })
}

/// The walk's state. An event that does not chain is judged with one event of lookahead: if the
/// next one chains to the last good event, the suspect was inserted.
struct Walk {
    last_good: Link,
    recent: VecDeque<Link>,
    suspect: Option<ChainedEvent>,
    events: i64,
    problem: Option<ChainProblem>,
    /// A head held outside, and the hash found at its position once passed.
    expected: Option<Link>,
    found_expected: Option<[u8; 32]>,
}

impl Default for Walk {
    fn default() -> Self {
        Self {
            last_good: Link {
                position: 0,
                hash: GENESIS,
            },
            recent: VecDeque::with_capacity(RECENT),
            suspect: None,
            events: 0,
            problem: None,
            expected: None,
            found_expected: None,
        }
    }
}

impl Walk {
    /// Takes the next event; true once a problem is known.
    fn push(&mut self, event: ChainedEvent) -> bool {
        self.events += 1;
        if let Some(suspect) = self.suspect.take() {
            self.problem = Some(if event.follows(&self.last_good) {
                ChainProblem::Inserted {
                    position: suspect.position,
                }
            } else {
                self.judge(&suspect)
            });
            return true;
        }
        if event.follows(&self.last_good) {
            let link = Link {
                position: event.position,
                hash: event.hash.as_slice().try_into().unwrap_or(GENESIS),
            };
            self.good(link);
            return false;
        }
        self.suspect = Some(event);
        false
    }

    fn good(&mut self, link: Link) {
        if self.expected.is_some_and(|e| e.position == link.position) {
            self.found_expected = Some(link.hash);
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(self.last_good);
        self.last_good = link;
    }

    /// An event at the end of the log that does not chain.
    fn finish(&mut self) {
        if let Some(suspect) = self.suspect.take() {
            self.problem = Some(self.judge(&suspect));
        }
    }

    /// Why `event` does not follow the last good event.
    fn judge(&self, event: &ChainedEvent) -> ChainProblem {
        let last = self.last_good.position;
        if event.chain_prev > last && event.chain_prev < event.position {
            // It chains to an event that is no longer there.
            return ChainProblem::Removed {
                position: event.chain_prev,
            };
        }
        if event.chain_prev < last {
            // It chains to an earlier good event: what came between was slipped in.
            let good: Vec<&Link> = self.recent.iter().chain([&self.last_good]).collect();
            let anchor = good.iter().position(|l| l.position == event.chain_prev);
            if let Some(anchor) = anchor.filter(|&a| event.follows(good[a])) {
                return ChainProblem::Inserted {
                    position: good[anchor + 1].position,
                };
            }
        }
        ChainProblem::Altered {
            position: event.position,
        }
    }

    /// After a walk without problems: does the chain pass through the head held outside?
    fn check_expected(&self) -> Option<ChainProblem> {
        let expected = self.expected?;
        (self.found_expected != Some(expected.hash)).then_some(ChainProblem::Rewritten {
            position: expected.position,
        })
    }
}

/// The last run of `facewatch verify`, for the Audit page.
#[derive(Debug, Clone, Serialize)]
pub struct ChainVerification {
    pub finished_at: chrono::DateTime<chrono::Utc>,
    pub events: i64,
    pub intact: bool,
    /// `POSITION:HEX` of the last event that chained correctly.
    pub head: Option<String>,
    pub problem: Option<String>,
    pub problem_position: Option<i64>,
    pub events_per_sec: f64,
}

/// Keeps the outcome of a walk (bookkeeping, not an event).
pub async fn record_verification(pool: &PgPool, report: &ChainReport) -> Result<(), ChainError> {
    sqlx::query(
        "INSERT INTO chain_verifications \
             (head_position, head_hash, events, intact, problem, problem_position, events_per_sec) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(report.head.map_or(0, |h| h.position))
    .bind(report.head.map(|h| h.hash.to_vec()))
    .bind(report.events)
    .bind(report.intact())
    .bind(report.problem.map(ChainProblem::kind))
    .bind(report.problem.map(ChainProblem::position))
    .bind(report.events_per_sec())
    .execute(pool)
    .await?;
    Ok(())
}

/// The newest recorded walk, if any.
pub async fn last_verification(pool: &PgPool) -> Result<Option<ChainVerification>, ChainError> {
    let row = sqlx::query(
        "SELECT finished_at, events, intact, head_position, head_hash, problem, problem_position, \
                events_per_sec \
         FROM chain_verifications ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| {
        let hash: Option<Vec<u8>> = row.get("head_hash");
        let position: i64 = row.get("head_position");
        ChainVerification {
            finished_at: row.get("finished_at"),
            events: row.get("events"),
            intact: row.get("intact"),
            head: hash.map(|h| format!("{position}:{}", hex::encode(h))),
            problem: row.get("problem"),
            problem_position: row.get("problem_position"),
            events_per_sec: row.get("events_per_sec"),
        }
    }))
}
