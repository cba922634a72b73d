//! The `switchyard` binary: CLI, logging, configuration, then `server::run` (or a
//! one-shot command: `translate`, `copy`, `verify`).

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
    /// Copy a table's rows from one backend into a Delta table (or an existing ClickHouse
    /// table): streamed, resumable and exactly once (progress is recorded at the
    /// destination; run it again after a kill).
    Copy(CopyArgs),
    /// Compare a table on two backends: row counts and checksums per day of its time
    /// column, computed by switchyard. Exits 1 when anything differs.
    Verify(VerifyArgs),
}

/// Options shared by `copy` and `verify`.
#[derive(clap::Args)]
struct TableArgs {
    /// TOML configuration file naming the backends.
    #[arg(long, env = "SWITCHYARD_CONFIG")]
    config: PathBuf,
    /// The table.
    #[arg(long)]
    table: String,
    /// Only rows at or after this time: 2025-05-25T00:00:00Z, "2025-05-25 12:00:00" (UTC)
    /// or 2025-05-25.
    #[arg(long)]
    since: Option<String>,
    /// Only rows before this time [copy default: pinned when the run starts].
    #[arg(long)]
    until: Option<String>,
    /// Only rows matching this condition (ClickHouse or Postgres SQL, translated per backend).
    #[arg(long = "where")]
    filter: Option<String>,
    /// The timestamp/date column that orders the table [default: from the ClickHouse
    /// sorting key, else the first timestamp/date column].
    #[arg(long)]
    time_column: Option<String>,
    /// The table's Delta location on a Delta backend, as BACKEND=PATH (repeatable)
    /// [default: [tables.T] location, else <data_dir>/<table>].
    #[arg(long = "location")]
    locations: Vec<String>,
}

#[derive(clap::Args)]
struct CopyArgs {
    #[command(flatten)]
    table: TableArgs,
    /// Source backend (a name under [backends]).
    #[arg(long)]
    from: String,
    /// Destination backend: a Delta backend (the table is created if needed) or a
    /// ClickHouse backend (the table must exist, with the source's columns).
    #[arg(long)]
    to: String,
    /// Most rows per write to the destination.
    #[arg(long, default_value_t = 65_536)]
    batch_rows: usize,
    /// Width of the windows each committed atomically: minute, hour or day [default:
    /// the finest giving at most 1000 windows of 100k rows or more on average, else day].
    #[arg(long)]
    window: Option<String>,
    /// Copy at most this many rows per second (spares a busy source).
    #[arg(long)]
    max_rows_per_second: Option<u64>,
}

#[derive(clap::Args)]
struct VerifyArgs {
    #[command(flatten)]
    table: TableArgs,
    /// The two backends to compare.
    #[arg(long, num_args = 2, value_names = ["A", "B"], required = true)]
    between: Vec<String>,
}

#[derive(clap::Args)]
struct TranslateArgs {
    /// Target dialect: clickhouse, starrocks or datafusion.
    #[arg(long)]
    to: String,
    /// Flavour of the input: clickhouse, postgres or auto (detected) [default: auto].
    #[arg(long, default_value = "auto")]
    from: String,
    /// ClickHouse `CREATE TABLE` statements of the tables the query reads, so that the
    /// translation knows column types (Nullable, map value types…) as it does when serving.
    #[arg(long)]
    schema: Option<std::path::PathBuf>,
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
    let mut context = switchyard::emit::EmitContext::default();
    if let Some(path) = &args.schema {
        let read = std::fs::read_to_string(path)
            .map_err(|e| switchyard::Error::internal(format!("{}: {e}", path.display())))
            .and_then(|text| switchyard::backend::clickhouse::ddl::schemas(&text));
        match read {
            Ok(tables) => context.tables = tables,
            Err(e) => {
                eprintln!("--schema: {e}");
                return std::process::ExitCode::from(2);
            }
        }
    }
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

enum Migration {
    Copy(CopyArgs),
    Verify(VerifyArgs),
}

/// Runs `copy` or `verify`: exit 0 when done/equal, 1 when verify finds a
/// difference, 2 on an error.
fn migrate(migration: Migration) -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("SWITCHYARD_LOG")
                .unwrap_or_else(|_| EnvFilter::new(format!("{QUIET_KERNEL},warn"))),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let outcome = runtime.block_on(async {
        match migration {
            Migration::Copy(args) => {
                let (config, request) = copy_request(args)?;
                switchyard::migrate::copy::run(config, request)
                    .await
                    .map(|_| true)
            }
            Migration::Verify(args) => {
                let (config, request) = verify_request(args)?;
                switchyard::migrate::verify::run(config, request).await
            }
        }
    });
    match outcome {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("ERROR {}: {e}", e.sqlstate());
            std::process::ExitCode::from(2)
        }
    }
}

struct Common {
    config: Config,
    since: Option<i64>,
    until: Option<i64>,
    locations: std::collections::BTreeMap<String, String>,
}

fn common(args: &TableArgs) -> switchyard::Result<Common> {
    use switchyard::migrate;
    let config = Config::load(&args.config)?;
    let instant = |text: &Option<String>| text.as_deref().map(migrate::parse_instant).transpose();
    let locations = migrate::parse_locations(&args.locations)?
        .into_iter()
        .map(|(backend, path)| (backend, migrate::copy::absolute(&path)))
        .collect();
    Ok(Common {
        config,
        since: instant(&args.since)?,
        until: instant(&args.until)?,
        locations,
    })
}

fn copy_request(
    args: CopyArgs,
) -> switchyard::Result<(Config, switchyard::migrate::copy::CopyRequest)> {
    use switchyard::migrate::copy::{CopyRequest, Granularity};
    let common = common(&args.table)?;
    let window = match &args.window {
        Some(text) => Some(Granularity::parse(text).ok_or_else(|| {
            switchyard::Error::InvalidParameter(format!(
                "--window must be minute, hour or day, not {text:?}"
            ))
        })?),
        None => None,
    };
    let request = CopyRequest {
        table: args.table.table,
        from: args.from,
        to: args.to,
        since: common.since,
        until: common.until,
        filter: args.table.filter,
        time_column: args.table.time_column,
        window,
        batch_rows: args.batch_rows,
        max_rows_per_second: args.max_rows_per_second,
        locations: common.locations,
    };
    Ok((common.config, request))
}

fn verify_request(
    args: VerifyArgs,
) -> switchyard::Result<(Config, switchyard::migrate::verify::VerifyRequest)> {
    let common = common(&args.table)?;
    let [a, b] = <[String; 2]>::try_from(args.between)
        .map_err(|_| switchyard::Error::InvalidParameter("--between takes two backends".into()))?;
    let request = switchyard::migrate::verify::VerifyRequest {
        table: args.table.table,
        a,
        b,
        since: common.since,
        until: common.until,
        filter: args.table.filter,
        time_column: args.table.time_column,
        locations: common.locations,
    };
    Ok((common.config, request))
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
    /// Log filter, e.g. `info` or `switchyard=debug`. By default the Delta kernel's
    /// snapshot errors are off: creating a table first looks for one and logs its
    /// absence as an ERROR, and real failures reach us as errors anyway.
    #[arg(long, env = "SWITCHYARD_LOG", default_value = DEFAULT_LOG)]
    log: String,
}

/// The Delta kernel's snapshot builder, which logs a missing table as an ERROR.
const QUIET_KERNEL: &str = "buoyant_kernel::snapshot=off";
const DEFAULT_LOG: &str = "warn,switchyard=info,buoyant_kernel::snapshot=off";

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Command::Serve(args) => args,
        Command::Translate(args) => return translate(args),
        Command::Copy(args) => return migrate(Migration::Copy(args)),
        Command::Verify(args) => return migrate(Migration::Verify(args)),
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
