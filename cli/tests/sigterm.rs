//! `facewatch serve` stops on SIGTERM (systemd, `docker stop`) as gracefully as on Ctrl-C: it
//! finishes its answers, stops its jobs and the projector, and exits 0 instead of being killed.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::Server;

const PASSWORD: &str = "sigterm-admin-password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_serve_gracefully() {
    let bin = Path::new(env!("CARGO_BIN_EXE_facewatch"));
    let database_url = facewatch_store::test_database_url(&support::base_database_url(), "fw_term");
    let (mut server, _admin) = Server::start(bin, &database_url, PASSWORD, Duration::from_secs(60))
        .await
        .unwrap();
    let pid = server.pid().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM {pid}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(status) = server.try_wait() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 30 s after SIGTERM; log:\n{}",
            server.log_tail(20)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let log = server.log_tail(20);
    assert!(exit.success(), "exit {exit} after SIGTERM; log:\n{log}");
    assert_eq!(server.log_lines_with("shutting down", 1).0, 1, "{log}");
    drop(server);
    facewatch_store::drop_database(&database_url).await.unwrap();
}
