//! Background jobs that run at a fixed period (the absence watcher, key expiry) share one loop.

use std::future::Future;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

/// Runs `job` now and then every `period` until `shutdown` resolves. A run that overruns the
/// period delays the next one instead of triggering a burst; a run in progress is finished.
pub async fn every<Job, Run>(period: Duration, shutdown: impl Future<Output = ()>, mut job: Job)
where
    Job: FnMut() -> Run,
    Run: Future<Output = ()>,
{
    tokio::pin!(shutdown);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = ticker.tick() => job().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn the_job_runs_at_once_then_every_period_until_shutdown() {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut stop = Some(stop);
        let mut runs = 0;
        let started = Instant::now();
        let shutdown = async {
            let _ = stopped.await;
        };
        every(Duration::from_millis(20), shutdown, || {
            runs += 1;
            if runs == 3 {
                let _ = stop.take().map(|stop| stop.send(()));
            }
            async {}
        })
        .await;
        // Shutdown came during the third run: there is no fourth.
        assert_eq!(runs, 3);
        // Runs at 0, 20 and 40 ms.
        assert!(started.elapsed() >= Duration::from_millis(40));
    }
}
