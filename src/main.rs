//! The `switchyard` binary: CLI, logging, configuration, then `server::run`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use switchyard::config::Config;
use switchyard::engine::Engine;
use switchyard::frontend::Frontend;
use tracing_subscriber::EnvFilter;

/// A PostgreSQL-wire endpoint in front of ClickHouse, StarRocks and DataFusion over
/// Delta Lake: keep your dashboards while tables move between engines.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Postgres endpoint. With no configuration, serves DataFusion over the
    /// Delta tables under ./switchyard-data, generating demo LLM-gateway logs there
    /// on first start.
    Serve(ServeArgs),
    /// Print the SQL switchyard would send to a backend for one query, or the 0A000 error
    /// naming every construct that backend cannot run.
    Translate(TranslateArgs),
}

#[derive(clap::Args)]
struct TranslateArgs {
    /// Target dialect: clickhouse, starrocks or datafusion.
    #[arg(long)]
    to: String,
    /// Flavour of the input: clickhouse, postgres or auto (detected) [default: auto].
    #[arg(long, default_value = "auto")]
    from: String,
    /// The query.
    sql: String,
}

fn translate(args: TranslateArgs) -> std::process::ExitCode {
    let Some(target) = switchyard::emit::Target::from_name(&args.to) else {
        eprintln!(
            "--to must be clickhouse, starrocks or datafusion, not {:?}",
            args.to
        );
        return std::process::ExitCode::from(2);
    };
    let Some(from) = switchyard::sql::DialectSetting::from_setting(&args.from) else {
        eprintln!(
            "--from must be clickhouse, postgres or auto, not {:?}",
            args.from
        );
        return std::process::ExitCode::from(2);
    };
    let context = switchyard::emit::EmitContext::default();
    match switchyard::emit::translate(&args.sql, from, target, &context) {
        Ok(sql) => {
            println!("{sql}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ERROR {}: {e}", e.sqlstate());
            std::process::ExitCode::FAILURE
        }
    }
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML configuration file (see deploy/switchyard.example.toml).
    #[arg(long, env = "SWITCHYARD_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:5433].
    #[arg(long, env = "SWITCHYARD_LISTEN")]
    listen: Option<String>,
    /// Directory of local Delta tables [default: ./switchyard-data].
    #[arg(long, env = "SWITCHYARD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Rows of demo data to generate when the data directory holds no table; 0
    /// disables [default: 1000000].
    #[arg(long, env = "SWITCHYARD_DEMO_ROWS")]
    demo_rows: Option<usize>,
    /// Most simultaneous client connections [default: 1024].
    #[arg(long, env = "SWITCHYARD_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Log filter, e.g. `info` or `switchyard=debug`.
    #[arg(long, env = "SWITCHYARD_LOG", default_value = "warn,switchyard=info")]
    log: String,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Command::Serve(args) => args,
        Command::Translate(args) => return translate(args),
    };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&args.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(serve(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The configuration: the file, then flags and environment over it, validated.
fn load_config(args: &ServeArgs) -> switchyard::Result<Config> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(listen) = &args.listen {
        config.listen = listen.clone();
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(rows) = args.demo_rows {
        config.demo_rows = rows;
    }
    if let Some(max) = args.max_connections {
        config.max_connections = max;
    }
    config.validate()?;
    Ok(config)
}

async fn serve(args: ServeArgs) -> switchyard::Result<()> {
    let config = load_config(&args)?;
    if config.demo_rows > 0
        && switchyard::demo::ensure_demo_data(&config.data_dir, config.demo_rows, true).await?
    {
        tracing::info!(dir = %config.data_dir.display(), rows = config.demo_rows, "demo data generated");
    }
    let engine = Arc::new(Engine::start(&config).await?);
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| {
            switchyard::Error::Config(format!("cannot listen on {}: {e}", config.listen))
        })?;
    let address = listener.local_addr()?;
    tracing::info!(
        "switchyard {} listening on {address} — try: psql -h {} -p {} -U switchyard",
        env!("CARGO_PKG_VERSION"),
        address.ip(),
        address.port()
    );
    if let Some(metrics) = &config.metrics_listen {
        let listener = tokio::net::TcpListener::bind(metrics).await.map_err(|e| {
            switchyard::Error::Config(format!("cannot listen on {metrics} for metrics: {e}"))
        })?;
        tracing::info!(
            "Prometheus metrics at http://{}/metrics",
            listener.local_addr()?
        );
        tokio::spawn(switchyard::metrics::serve(listener, engine.clone()));
    }
    let file = args.config.clone();
    tokio::spawn(switchyard::engine::watch_config(
        file,
        move || load_config(&args),
        engine.clone(),
        std::time::Duration::from_secs(2),
    ));
    switchyard::server::run(
        listener,
        Frontend::new(engine),
        config.max_connections,
        shutdown_signal(),
    )
    .await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}
