//! Writing back what a run of hot events changed: one statement per table, gathered in `writes`
//! (sent by the caller, with the batch's other writes).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Arguments;

use super::Rows;
use crate::deferred::Deferred;

pub(super) fn write_rows(writes: &mut Deferred, mut rows: Rows) -> Result<(), sqlx::Error> {
    if !rows.changed_presence.is_empty() {
        type Columns = (
            Vec<String>,
            Vec<bool>,
            Vec<Option<DateTime<Utc>>>,
            Vec<DateTime<Utc>>,
            Vec<String>,
            Vec<Option<String>>,
        );
        let mut c: Columns = Default::default();
        for id in rows.changed_presence {
            let row = rows.presence.remove(&id).expect("changed rows exist");
            c.1.push(row.present);
            c.2.push(row.since);
            c.3.push(row.last_seen);
            c.4.push(row.camera_id);
            c.5.push(row.snapshot_ref);
            c.0.push(id);
        }
        writes.push(
            "INSERT INTO presence SELECT * FROM unnest($1::text[], $2::bool[], $3::timestamptz[], \
                                                    $4::timestamptz[], $5::text[], $6::text[]) \
             ON CONFLICT (employee_id) DO UPDATE SET present = excluded.present, \
                 since = excluded.since, last_seen = excluded.last_seen, \
                 camera_id = excluded.camera_id, snapshot_ref = excluded.snapshot_ref",
            |a| {
                a.add(c.0)?;
                a.add(c.1)?;
                a.add(c.2)?;
                a.add(c.3)?;
                a.add(c.4)?;
                a.add(c.5)?;
                Ok(())
            },
        )?;
    }
    if !rows.changed_attendance.is_empty() {
        type Times = Vec<Option<DateTime<Utc>>>;
        type Texts = Vec<Option<String>>;
        let mut c: (Times, Texts, Texts, Times, Texts, Texts, Vec<String>) = Default::default();
        let (mut ids, mut days, mut notes): (Vec<String>, Vec<NaiveDate>, Vec<String>) =
            Default::default();
        for key in rows.changed_attendance {
            let row = rows.attendance.remove(&key).expect("changed rows exist");
            ids.push(key.0);
            days.push(key.1);
            c.0.push(row.first_in);
            c.1.push(row.first_in_camera);
            c.2.push(row.first_in_photo);
            c.3.push(row.last_out);
            c.4.push(row.last_out_camera);
            c.5.push(row.last_out_photo);
            c.6.push(row.entry_type);
            notes.push(row.note);
        }
        writes.push(
            "INSERT INTO attendance SELECT * FROM unnest($1::text[], $2::date[], \
                 $3::timestamptz[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], \
                 $8::text[], $9::text[], $10::text[]) \
             ON CONFLICT (employee_id, day) DO UPDATE SET first_in = excluded.first_in, \
                 first_in_camera = excluded.first_in_camera, first_in_photo = excluded.first_in_photo, \
                 last_out = excluded.last_out, last_out_camera = excluded.last_out_camera, \
                 last_out_photo = excluded.last_out_photo, entry_type = excluded.entry_type, \
                 note = excluded.note",
            |a| {
                a.add(ids)?;
                a.add(days)?;
                a.add(c.0)?;
                a.add(c.1)?;
                a.add(c.2)?;
                a.add(c.3)?;
                a.add(c.4)?;
                a.add(c.5)?;
                a.add(c.6)?;
                a.add(notes)?;
                Ok(())
            },
        )?;
    }
    if !rows.new_alerts.is_empty() {
        let alerts = std::mem::take(&mut rows.new_alerts);
        let reason = vec!["EXIT_DURING_WORK_HOURS"; alerts.len()];
        writes.push(
            "INSERT INTO alerts (id, employee_id, camera_id, raised_at, detected_at, resolved_at, \
                 reason, schedule_effective_at, schedule, snapshot_ref) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], \
                 $4::timestamptz[], $5::timestamptz[], $6::timestamptz[], $7::text[], \
                 $8::timestamptz[], $9::jsonb[], $10::text[])",
            |a| {
                a.add(column(&alerts, |a| a.id))?;
                a.add(column(&alerts, |a| a.employee_id.clone()))?;
                a.add(column(&alerts, |a| a.camera_id.clone()))?;
                a.add(column(&alerts, |a| a.raised_at))?;
                a.add(column(&alerts, |a| a.detected_at))?;
                a.add(column(&alerts, |a| a.resolved_at))?;
                a.add(reason)?;
                a.add(column(&alerts, |a| a.schedule_effective_at))?;
                a.add(column(&alerts, |a| a.schedule.clone()))?;
                a.add(column(&alerts, |a| a.snapshot_ref.clone()))?;
                Ok(())
            },
        )?;
    }
    if !rows.resolved.is_empty() {
        let (ids, ats): (Vec<i64>, Vec<DateTime<Utc>>) = rows.resolved.into_iter().unzip();
        writes.push(
            "UPDATE alerts SET resolved_at = r.at FROM unnest($1::bigint[], $2::timestamptz[]) \
             AS r(id, at) WHERE alerts.id = r.id",
            |a| {
                a.add(ids)?;
                a.add(ats)?;
                Ok(())
            },
        )?;
    }
    if !rows.changed_alert_state.is_empty() {
        let (ids, ats): (Vec<String>, Vec<DateTime<Utc>>) = rows
            .changed_alert_state
            .into_iter()
            .map(|id| {
                let at = rows.alert_state[&id];
                (id, at)
            })
            .unzip();
        writes.push(
            "INSERT INTO alert_state SELECT * FROM unnest($1::text[], $2::timestamptz[]) \
             ON CONFLICT (employee_id) DO UPDATE SET last_alert_at = excluded.last_alert_at",
            |a| {
                a.add(ids)?;
                a.add(ats)?;
                Ok(())
            },
        )?;
    }
    Ok(())
}

/// One column of `rows`, for binding as an array.
fn column<T, U>(rows: &[T], field: impl Fn(&T) -> U) -> Vec<U> {
    rows.iter().map(field).collect()
}
