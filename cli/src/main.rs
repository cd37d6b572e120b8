//! `facewatch`: one binary for every process of the system.

mod audit;
mod config;
mod demo;
mod import;
mod integrations;
mod logging;
mod wiring;
mod worker;

/// mimalloc instead of glibc's malloc: see cli/Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use facewatch_api::captures_job;
use facewatch_api::AppState;
use facewatch_app::absence::{self, AbsencePolicy};
use facewatch_app::{Actor, App, CommandContext};
use facewatch_cameras::Vision;
use facewatch_captures::CapturePolicy;
use facewatch_domain::camera::StreamScheme;
use facewatch_domain::user::Role;
use facewatch_projections::{schema, Projector};
use facewatch_store::{EventStore, PgPool, READ_SCHEMA};
use tokio::sync::watch;

use crate::config::Settings;

#[derive(Parser)]
#[command(
    version,
    about = "Event-sourced face-recognition attendance and workplace monitoring"
)]
struct Cli {
    /// TOML settings file (default: config/facewatch.toml if it exists).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the database if needed, apply the event-store migrations, install the read models.
    Migrate,
    /// Run the API, the projections, the presence watcher and the cameras.
    Serve,
    /// Run camera pipelines only, sharing the cameras with the other workers (and `serve`) of the
    /// same database through leases (README "Deployment").
    Worker,
    /// Serve with a demo camera playing a bundled video of enrolled people (see README).
    Demo {
        /// Folder with the demo face photos (filled by scripts/setup-inference.sh).
        #[arg(long, default_value = "models/test-images")]
        photos: PathBuf,
        /// Smoke mode: stop after this long (e.g. 60s, 2m) and exit 0 only if the demo camera
        /// delivered frames and recognised every cast member.
        #[arg(long = "for", value_name = "DURATION", value_parser = demo::parse_duration)]
        run_for: Option<Duration>,
        /// Seconds unseen before a present person counts as gone (the video loops every 18 s,
        /// so people leave and come back).
        #[arg(long, default_value_t = 6)]
        present_timeout_sec: u32,
    },
    /// Rebuild every read model from the log into a scratch schema and compare with the live one.
    /// Exits with status 1 if any read model differs. A matching replay is kept (schema
    /// `audit_snapshot`) as the starting point of the next `--from-snapshot` audit.
    Replay {
        /// Replay only the events after the last audit, starting from its kept read models.
        #[arg(long)]
        from_snapshot: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Walk the event log's hash chain and name the first event that was altered, removed or
    /// inserted. Exits with status 1 if the chain is broken. Prints the chain head to keep
    /// outside the database.
    Verify {
        /// A head printed by an earlier run (`POSITION:HEX`): the chain must still pass through it
        /// (catches a log rewritten from some point on, or cut short).
        #[arg(long, value_name = "POSITION:HASH")]
        expect: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Drop the live read models and rebuild them from the event log (e.g. after a restore).
    Rebuild,
    /// Run the Telegram bot (token from TELEGRAM_BOT_TOKEN; needs `serve` running for the
    /// read models).
    Bot,
    /// Manage dashboard/API users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Add the cameras described by seed-style `DIR/CAM{ID}/config.json` files.
    ImportCameras {
        #[arg(default_value = "config/camera_configs")]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. The password is read from FACEWATCH_PASSWORD, or from the first line of
    /// standard input.
    Add {
        username: String,
        #[arg(long, value_enum, default_value = "viewer")]
        role: RoleArg,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Admin,
    Viewer,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    logging::init()?;
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.or_else(config::default_file).as_deref())?;
    let pool = facewatch_store::connect_with(&settings.database_url, settings.database_pool_size)
        .await
        .with_context(|| {
            format!(
                "cannot open the event store at {}",
                redacted(&settings.database_url)
            )
        })?;
    match cli.command {
        Command::Migrate => {
            schema::install(&pool, READ_SCHEMA, false).await?;
            let projected = Projector::new(pool, READ_SCHEMA).catch_up(None).await?;
            println!("event store and read models ready (projected up to event {projected})");
        }
        Command::Rebuild => {
            schema::install(&pool, READ_SCHEMA, true).await?;
            let projected = Projector::new(pool, READ_SCHEMA).catch_up(None).await?;
            println!("read models rebuilt from the log (up to event {projected})");
        }
        Command::Replay {
            from_snapshot,
            json,
        } => {
            if !audit::replay(&pool, from_snapshot, settings.audit.replay_batch, json).await? {
                std::process::exit(1);
            }
        }
        Command::Verify { expect, json } => {
            if !audit::verify(&pool, expect.as_deref(), json).await? {
                std::process::exit(1);
            }
        }
        Command::Bot => {
            // The token is a password: it is never printed, and the bot redacts it in errors.
            let token = std::env::var("TELEGRAM_BOT_TOKEN").context("set TELEGRAM_BOT_TOKEN")?;
            let mut bot = settings.bot.clone();
            bot.data_dir = settings.data_dir.clone();
            facewatch_bot::run(bot, token, pool, stop_signal()).await?;
        }
        Command::User {
            command: UserCommand::Add { username, role },
        } => {
            let password = match std::env::var("FACEWATCH_PASSWORD") {
                Ok(password) => password,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::Viewer => Role::Viewer,
            };
            let running = Running::start(&settings, pool).await?;
            let cli = CommandContext::new(Actor::cli());
            let created = running
                .app
                .create_user(&cli, &username, &password, role)
                .await;
            running.stop().await;
            created?;
            println!("user {username} created");
        }
        Command::ImportCameras { dir } => {
            let running = Running::start(&settings, pool).await?;
            let cli = CommandContext::new(Actor::cli());
            let added = import::import_cameras(&running.app, &cli, &dir).await;
            running.stop().await;
            println!("{} camera(s) added", added?.len());
        }
        Command::Serve => {
            select_decoder(&settings)?;
            let vision = load_vision(&settings);
            serve(settings, pool, vision, None, None).await?
        }
        Command::Worker => worker::run(settings, pool).await?,
        Command::Demo {
            photos,
            run_for,
            present_timeout_sec,
        } => {
            let started = chrono::Utc::now();
            let photos = config::absolute(&photos)?;
            let mut settings = settings;
            // People leave and come back within one loop of the video; their exits are alerts.
            settings.presence.present_timeout_sec = present_timeout_sec.max(2);
            settings.presence.absence_check_interval_sec = 1;
            settings.attendance.last_out_delay_sec = settings.attendance.last_out_delay_sec.min(5);
            // The demo camera plays a local file; demo users may add file/HTTP sources too.
            settings.cameras.allowed_url_schemes = StreamScheme::ALL.to_vec();
            let mut ai = config::load_ai_params(&settings.cameras.ai_params_file)?;
            // Whoever stays in view is reported often enough for the short demo timeout.
            ai.sighting_interval_sec = ai
                .sighting_interval_sec
                .min(settings.presence.present_timeout_sec / 2);
            settings.presence.check_sighting_interval(&ai)?;
            let video = demo::ensure_video(&ai, &photos, &settings.data_dir)?;
            select_decoder(&settings)?;
            let vision = Vision::load(ai, settings.data_dir.clone())?;
            println!("demo: camera {} plays {}", demo::CAMERA_ID, video.display());
            let frames_seen = Arc::new(AtomicBool::new(false));
            let stop_after = run_for.map(|after| {
                let (vision, frames_seen) = (vision.clone(), frames_seen.clone());
                let stop: StopAfter = Box::pin(async move {
                    tokio::time::sleep(after).await;
                    let seen = vision
                        .health(demo::CAMERA_ID)
                        .is_some_and(|h| h.last_frame_at.is_some());
                    frames_seen.store(seen, Ordering::SeqCst);
                    tracing::info!("demo: {after:?} elapsed, stopping");
                });
                stop
            });
            let demo = Demo { photos, video };
            serve(settings, pool.clone(), Some(vision), Some(demo), stop_after).await?;
            if run_for.is_some() {
                demo::verify_run(&pool, frames_seen.load(Ordering::SeqCst), started).await?;
            }
        }
    }
    Ok(())
}

/// Ranks the video decoders as `cameras.decoder` says, before any pipeline starts.
fn select_decoder(settings: &Settings) -> anyhow::Result<()> {
    if settings.cameras.enabled {
        facewatch_cameras::decoder::select(settings.cameras.decoder)?;
    }
    Ok(())
}

/// The face models for the cameras; without them the rest of the system still serves.
fn load_vision(settings: &Settings) -> Option<Arc<Vision>> {
    if !settings.cameras.enabled {
        return None;
    }
    let loaded = config::load_ai_params(&settings.cameras.ai_params_file).and_then(|ai| {
        settings.presence.check_sighting_interval(&ai)?;
        Ok(Vision::load(ai, settings.data_dir.clone())?)
    });
    match loaded {
        Ok(vision) => Some(vision),
        Err(e) => {
            tracing::error!(
                "cameras disabled: {e:#} (run scripts/setup-inference.sh, or set cameras.enabled = false)"
            );
            None
        }
    }
}

/// The application of this process with its projector following the log (one projector task per
/// read-model schema and process; writes wait for it instead of projecting themselves).
struct Running {
    app: App,
    stop: watch::Sender<bool>,
    /// Resolves once the projector's thread has stopped.
    projector: tokio::sync::oneshot::Receiver<()>,
}

impl Running {
    async fn start(settings: &Settings, pool: PgPool) -> anyhow::Result<Self> {
        Self::start_with(settings, pool, |app| app).await
    }

    async fn start_with(
        settings: &Settings,
        pool: PgPool,
        configure: impl FnOnce(App) -> App,
    ) -> anyhow::Result<Self> {
        schema::install(&pool, READ_SCHEMA, false).await?;
        let projector = Projector::new(pool.clone(), READ_SCHEMA);
        projector.catch_up(None).await?;
        let app = App::new(
            EventStore::with_appender_on_own_thread(pool)?,
            projector.clone(),
        )
        .with_read_wait(Duration::from_secs(settings.read_wait_sec.into()))
        .with_stream_schemes(settings.cameras.allowed_url_schemes.clone());
        let app = configure(app);
        let (stop, stopped) = watch::channel(false);
        let projector = projector.spawn_on_own_thread(until(stopped))?;
        Ok(Self {
            app,
            stop,
            projector,
        })
    }

    fn until_stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        until(self.stop.subscribe())
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.projector.await;
    }
}

/// Resolves once `true` is sent on the channel.
async fn until(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// What `facewatch demo` adds to `serve`.
struct Demo {
    photos: PathBuf,
    video: PathBuf,
}

/// Resolves when `serve` should stop by itself (`demo --for`).
type StopAfter = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

async fn serve(
    settings: Settings,
    pool: PgPool,
    vision: Option<Arc<Vision>>,
    demo: Option<Demo>,
    stop_after: Option<StopAfter>,
) -> anyhow::Result<()> {
    let running = Running::start_with(&settings, pool, |app| match &vision {
        Some(vision) => app.with_embedder(Arc::new(wiring::Cameras(vision.clone()))),
        None => app,
    })
    .await?;
    let app = running.app.clone();
    let bootstrap = CommandContext::new(Actor::system("bootstrap"));
    let claimed = app.claim_existing_codes(&bootstrap).await?;
    if claimed > 0 {
        tracing::info!(claimed, "reserved the codes of existing employees");
    }
    // First start: an admin from the environment, so that somebody can log in.
    if let Ok(password) = std::env::var("FACEWATCH_ADMIN_PASSWORD") {
        let username = std::env::var("FACEWATCH_ADMIN_USER").unwrap_or_else(|_| "admin".into());
        if app.ensure_admin(&bootstrap, &username, &password).await? {
            tracing::info!(username, "admin user created from FACEWATCH_ADMIN_PASSWORD");
        }
    }
    if let Some(demo) = &demo {
        demo::seed(&app, &demo.photos, &demo.video).await?;
        demo::seed_schedule(&app, 10).await?;
    }
    let stop = running.stop.clone();
    let until_stopped = || running.until_stopped();
    let hooks = wiring::Hooks {
        vision: vision.clone(),
        stop: stop.clone(),
    };
    let mut state = AppState::new(app.clone())
        .with_data_dir(&settings.data_dir)
        .with_capture_policy(CapturePolicy {
            first_in_overwrite_enabled: settings.attendance.first_in_overwrite_enabled,
            last_out_delay_sec: settings.attendance.last_out_delay_sec,
        })
        .with_params_file(&settings.cameras.ai_params_file)
        .with_params_validator(wiring::params_validator(settings.presence.clone()))
        .with_hooks(Arc::new(hooks))
        .with_policy(settings.server.policy());
    // Cameras run here or in other processes (workers): both reach the API.
    let lease = settings.cameras.leases();
    let shared =
        facewatch_cameras::SharedCameras::new(app.pool().clone(), lease.lease + lease.heartbeat());
    let cameras = Arc::new(wiring::ClusterCameras {
        local: vision.clone(),
        shared: shared.clone(),
    });
    state = state.with_camera_monitor(cameras.clone());
    let policy = AbsencePolicy {
        present_timeout_sec: settings.presence.present_timeout_sec,
        check_every: Duration::from_secs(settings.presence.absence_check_interval_sec.into()),
    };
    let mut tasks = vec![
        tokio::spawn(shared.refresh(until_stopped())),
        tokio::spawn(absence::watch(app.clone(), policy, until_stopped())),
        tokio::spawn(captures_job::run_capture_writer(
            state.clone(),
            until_stopped(),
        )),
        tokio::spawn(captures_job::run_retention(
            state.clone(),
            settings.attendance.captures_retention_days,
            until_stopped(),
        )),
    ];
    if settings.idempotency_key_hours > 0 {
        let keep = Duration::from_secs(u64::from(settings.idempotency_key_hours) * 3600);
        tasks.push(tokio::spawn(
            facewatch_app::housekeeping::expire_idempotency_keys(
                app.clone(),
                keep,
                until_stopped(),
            ),
        ));
    }
    tasks.extend(integrations::spawn(&settings, &app, cameras, until_stopped));
    match vision {
        Some(vision) if settings.cameras.max_cameras > 0 => tasks.push(tokio::spawn(
            facewatch_cameras::supervise_leased(vision, app.clone(), lease, until_stopped()),
        )),
        _ => {}
    }
    let listener = tokio::net::TcpListener::bind(settings.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.server.listen))?;
    tracing::info!("facewatch listening on http://{}", listener.local_addr()?);
    let mut shutdown_requested = stop.subscribe();
    let shutdown_stop = stop.clone();
    let stop_after = async move {
        match stop_after {
            Some(after) => after.await,
            None => std::future::pending().await,
        }
    };
    let service =
        facewatch_api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = stop_signal() => {}
                _ = shutdown_requested.wait_for(|s| *s) => {}
                _ = stop_after => {}
            }
            tracing::info!("shutting down");
            // Stops the cameras now, which also ends open live streams (graceful shutdown waits
            // for every open response).
            let _ = shutdown_stop.send(true);
        })
        .await?;
    let _ = stop.send(true);
    for task in tasks {
        task.await?;
    }
    running.stop().await;
    Ok(())
}

/// A database URL without its password, for error messages.
fn redacted(url: &str) -> String {
    facewatch_domain::redact::redact_url(url)
}

/// Ctrl-C, or SIGTERM (systemd, `docker stop`): `serve` then stops the cameras, the jobs and the
/// projector and closes its sockets; the bot finishes or hands over the work in progress instead
/// of dying mid-upload.
async fn stop_signal() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
}
