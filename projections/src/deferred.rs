//! Read-model writes gathered and sent as one statement: each becomes a clause of one `WITH`
//! (PostgreSQL runs every data-modifying `WITH` clause exactly once, to completion). A live batch
//! of sightings then writes its presence rows, its `event_log` rows and its checkpoint in one
//! round trip instead of three. Every write waits for the projector, and on a busy machine each
//! round trip is mostly waiting for the projector and its PostgreSQL backend to be scheduled.
//!
//! The clauses of one statement see the database as it was before the statement, not each
//! other's changes: gather writes to different rows only, and send them before anything reads
//! what they change.

use sqlx::error::BoxDynError;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, PgConnection};

#[derive(Default)]
pub(crate) struct Deferred {
    clauses: Vec<String>,
    arguments: PgArguments,
}

impl Deferred {
    /// Gathers the data-modifying statement `sql` (`INSERT`, `UPDATE`, `DELETE`; placeholders
    /// `$1`… numbered within it) with the arguments `bind` adds, in order.
    pub fn push(
        &mut self,
        sql: &str,
        bind: impl FnOnce(&mut PgArguments) -> Result<(), BoxDynError>,
    ) -> Result<(), sqlx::Error> {
        let clause = renumbered(sql, self.arguments.len());
        bind(&mut self.arguments).map_err(sqlx::Error::Encode)?;
        self.clauses.push(clause);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// Sends what was gathered (nothing if nothing was) and starts over empty.
    pub async fn send(&mut self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        let Self {
            mut clauses,
            arguments,
        } = std::mem::take(self);
        let Some(last) = clauses.pop() else {
            return Ok(());
        };
        run(db, combined(&clauses, &last), arguments).await
    }

    /// Sends what was gathered followed by `sql` (any statement, e.g. a `SELECT` of functions
    /// with effects), which is run last and after every gathered clause; starts over empty.
    pub async fn send_with(
        &mut self,
        db: &mut PgConnection,
        sql: &str,
        bind: impl FnOnce(&mut PgArguments) -> Result<(), BoxDynError>,
    ) -> Result<(), sqlx::Error> {
        let Self {
            clauses,
            mut arguments,
        } = std::mem::take(self);
        let last = renumbered(sql, arguments.len());
        bind(&mut arguments).map_err(sqlx::Error::Encode)?;
        run(db, combined(&clauses, &last), arguments).await
    }
}

async fn run(
    db: &mut PgConnection,
    statement: String,
    arguments: PgArguments,
) -> Result<(), sqlx::Error> {
    sqlx::query_with(&statement, arguments).execute(db).await?;
    Ok(())
}

/// `WITH w0 AS (c0), w1 AS (c1) last`, or `last` alone.
fn combined(clauses: &[String], last: &str) -> String {
    if clauses.is_empty() {
        return last.to_string();
    }
    let with: Vec<String> = clauses
        .iter()
        .enumerate()
        .map(|(i, clause)| format!("w{i} AS ({clause})"))
        .collect();
    format!("WITH {} {last}", with.join(", "))
}

/// `sql` with every placeholder `$n` turned into `$(n + offset)`. Our statements hold no dollar
/// quoting, and no `$` elsewhere.
fn renumbered(sql: &str, offset: usize) -> String {
    debug_assert!(
        !sql.contains("$$"),
        "dollar quoting in a gathered statement"
    );
    let mut out = String::with_capacity(sql.len() + 8);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len() - at - 1);
        match rest[at + 1..at + 1 + digits].parse::<usize>() {
            Ok(n) => out.push_str(&format!("${}", n + offset)),
            Err(_) => out.push('$'),
        }
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_after_the_arguments_before_them() {
        assert_eq!(
            renumbered("SELECT $1, $2::text[], $10 FROM t", 3),
            "SELECT $4, $5::text[], $13 FROM t"
        );
        assert_eq!(renumbered("SELECT 1", 7), "SELECT 1");
        assert_eq!(
            combined(&["INSERT INTO a VALUES ($1)".into()], "SELECT $2"),
            "WITH w0 AS (INSERT INTO a VALUES ($1)) SELECT $2"
        );
    }

    #[tokio::test]
    async fn gathered_writes_run_once_each_in_one_statement() {
        let db = facewatch_store::ScratchDatabase::create("fw_deferred")
            .await
            .unwrap();
        let mut conn = db.pool.acquire().await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE a (n bigint PRIMARY KEY, t text); CREATE TABLE b (n bigint);
             INSERT INTO b VALUES (1), (2);",
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        let mut writes = Deferred::default();
        writes
            .push(
                "INSERT INTO a SELECT * FROM unnest($1::bigint[], $2::text[])",
                |a| {
                    a.add(vec![1_i64, 2])?;
                    a.add(vec!["one", "two"])
                },
            )
            .unwrap();
        writes
            .push("UPDATE b SET n = n * $1", |a| a.add(10_i64))
            .unwrap();
        writes
            .push("DELETE FROM b WHERE n = $1", |a| a.add(20_i64))
            .unwrap();
        assert!(!writes.is_empty());
        writes.send(&mut conn).await.unwrap();
        assert!(writes.is_empty(), "sending starts over");
        let a: Vec<(i64, String)> = sqlx::query_as("SELECT n, t FROM a ORDER BY n")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert_eq!(a, [(1, "one".into()), (2, "two".into())]);
        // The clauses saw the table as it was before the statement: the DELETE found no 20.
        let b: Vec<i64> = sqlx::query_scalar("SELECT n FROM b ORDER BY n")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert_eq!(b, [10, 20]);
        writes
            .push("INSERT INTO a VALUES ($1, $2)", |a| {
                a.add(3_i64)?;
                a.add("three")
            })
            .unwrap();
        writes
            .send_with(&mut conn, "SELECT pg_notify($1, $2)", |a| {
                a.add("fw_deferred_test")?;
                a.add("x")
            })
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM a")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(n, 3);
        drop(conn);
        db.drop().await.unwrap();
    }
}
