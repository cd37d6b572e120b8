//! The appender's common case in one round trip: a batch whose requests carry everything needed
//! to check them (each stream's expected end, unused idempotency keys) is written by one call of
//! the `facewatch_append` function (migrations/0009_append_function.sql, 0010) in autocommit: lock,
//! checks, events, keys and snapshots in one implicit transaction. When a check fails the function
//! writes nothing, and the appender decides request by request in a transaction of its own.

use std::collections::{HashMap, HashSet};

use sqlx::{PgExecutor, Row};

use crate::appender::{AppendRequest, Positions};

/// Writes `batch` if every stream still ends where its first request expects and no key is used
/// yet; returns each event's position, or `None` (nothing written) when a check failed or the
/// batch is not one this path takes. On a pool it is one implicit transaction; the careful path
/// calls it inside its own, for the commands it decided to write.
pub(crate) async fn append<'e>(
    db: impl PgExecutor<'e>,
    batch: &[&AppendRequest],
) -> Result<Option<Positions>, sqlx::Error> {
    let Some(streams) = expected_stream_ends(batch) else {
        return Ok(None);
    };
    let events: Vec<_> = batch.iter().flat_map(|r| &r.events).collect();
    let text = |f: fn(&cqrs_es::persist::SerializedEvent) -> &str| {
        events.iter().map(|e| f(e)).collect::<Vec<_>>()
    };
    let keyed: Vec<&&AppendRequest> = batch
        .iter()
        .filter(|r| r.idempotency_key.is_some())
        .collect();
    let snapshots: Vec<(&AppendRequest, &(serde_json::Value, i64, i64))> = batch
        .iter()
        .filter_map(|r| r.snapshot.as_ref().map(|s| (*r, s)))
        .collect();
    let (stream_types, stream_ids, stream_ends) = streams;
    let rows = sqlx::query(
        "SELECT stored_type, stored_id, stored_sequence, stored_position FROM facewatch_append(\
         $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
    )
    .bind(stream_types)
    .bind(stream_ids)
    .bind(stream_ends)
    .bind(text(|e| &e.aggregate_type))
    .bind(text(|e| &e.aggregate_id))
    .bind(events.iter().map(|e| e.sequence as i64).collect::<Vec<_>>())
    .bind(text(|e| &e.event_type))
    .bind(text(|e| &e.event_version))
    .bind(
        events
            .iter()
            .map(|e| e.payload.to_string())
            .collect::<Vec<_>>(),
    )
    .bind(
        events
            .iter()
            .map(|e| e.metadata.to_string())
            .collect::<Vec<_>>(),
    )
    .bind(
        keyed
            .iter()
            .map(|r| r.idempotency_key.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        keyed
            .iter()
            .map(|r| r.aggregate_type.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        keyed
            .iter()
            .map(|r| r.aggregate_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(keyed.iter().map(|r| last_sequence(r)).collect::<Vec<_>>())
    .bind(
        snapshots
            .iter()
            .map(|(r, _)| r.aggregate_type.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        snapshots
            .iter()
            .map(|(r, _)| r.aggregate_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        snapshots
            .iter()
            .map(|(_, (_, _, last))| *last)
            .collect::<Vec<_>>(),
    )
    .bind(
        snapshots
            .iter()
            .map(|(_, (_, number, _))| *number)
            .collect::<Vec<_>>(),
    )
    .bind(
        snapshots
            .iter()
            .map(|(_, (payload, _, _))| payload.to_string())
            .collect::<Vec<_>>(),
    )
    .fetch_all(db)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        rows.into_iter()
            .map(|row| {
                let event = (
                    row.get("stored_type"),
                    row.get("stored_id"),
                    row.get("stored_sequence"),
                );
                (event, row.get("stored_position"))
            })
            .collect(),
    ))
}

fn last_sequence(request: &AppendRequest) -> i64 {
    request.events.last().map_or(0, |e| e.sequence as i64)
}

/// Per stream of the batch: type, id, and the sequence it must end at now (0: a new stream).
type StreamEnds<'a> = (Vec<&'a str>, Vec<&'a str>, Vec<i64>);

/// The end every stream must have now for `batch` to be written as it is: its first request's
/// first sequence less one. `None` when this path cannot check the batch: a request without
/// events, one idempotency key twice, or requests of one stream that do not follow each other.
fn expected_stream_ends<'a>(batch: &[&'a AppendRequest]) -> Option<StreamEnds<'a>> {
    let mut ends: HashMap<(&str, &str), i64> = HashMap::new();
    let mut streams = (Vec::new(), Vec::new(), Vec::new());
    let mut keys = HashSet::new();
    for request in batch {
        let first = request.events.first()?.sequence as i64;
        if let Some(key) = request.idempotency_key.as_deref() {
            if !keys.insert(key) {
                return None;
            }
        }
        let stream = (
            request.aggregate_type.as_str(),
            request.aggregate_id.as_str(),
        );
        match ends.get(&stream) {
            Some(end) if *end + 1 != first => return None,
            Some(_) => {}
            None => {
                streams.0.push(stream.0);
                streams.1.push(stream.1);
                streams.2.push(first - 1);
            }
        }
        ends.insert(stream, last_sequence(request));
    }
    Some(streams)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(stream: &str, sequences: &[usize], key: Option<&str>) -> AppendRequest {
        AppendRequest::for_test(stream, sequences, key)
    }

    #[test]
    fn each_stream_must_end_before_its_first_request_and_later_requests_follow_on() {
        let (a1, b, a2) = (
            request("a", &[4, 5], None),
            request("b", &[1], None),
            request("a", &[6], None),
        );
        let (types, ids, ends) = expected_stream_ends(&[&a1, &b, &a2]).unwrap();
        assert_eq!(
            (types, ids, ends),
            (vec!["test"; 2], vec!["a", "b"], vec![3, 0])
        );
        let gap = request("a", &[7], None);
        assert!(
            expected_stream_ends(&[&a1, &gap]).is_none(),
            "7 does not follow 5"
        );
    }

    #[test]
    fn one_key_twice_or_a_request_without_events_is_left_to_the_checked_path() {
        let (k1, k1_again) = (request("a", &[1], Some("k")), request("b", &[1], Some("k")));
        assert!(expected_stream_ends(&[&k1, &k1_again]).is_none());
        assert!(expected_stream_ends(&[&request("a", &[], None)]).is_none());
    }
}
