//! A switchyard served in-process for the whole test binary, over demo Delta tables
//! generated once into cargo's per-target temp directory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use switchyard::config::Config;
use switchyard::engine::Engine;
use switchyard::frontend::Frontend;

/// Rows in the test copy of `llm_requests`: enough for several batches and for a
/// cross join that runs long enough to cancel.
pub const DEMO_ROWS: usize = 20_000;

/// A small Delta table the freshness test appends to while the server runs.
pub const FRESHNESS_TABLE: &str = "freshness_probe";

pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
}

pub fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(start)
}

fn start() -> TestServer {
    // Generated afresh each run, so a changed generator never meets stale tables.
    let data_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("it-demo");
    let _ = std::fs::remove_dir_all(&data_dir);
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = data_dir.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            switchyard::demo::ensure_demo_data(&dir, DEMO_ROWS, false)
                .await
                .expect("demo data");
            append_delta_rows(&dir, FRESHNESS_TABLE, vec![1, 2, 3]).await;
            let mut config = Config {
                data_dir: dir,
                ..Config::default()
            };
            config.validate().expect("config");
            let engine = Arc::new(Engine::start(&config).await.expect("engine"));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            switchyard::server::run(listener, Frontend::new(engine), 64, std::future::pending())
                .await;
        });
    });
    let addr = rx.recv().expect("server failed to start");
    TestServer { addr, data_dir }
}

pub async fn connect() -> tokio_postgres::Client {
    let addr = server().addr;
    let (client, connection) = tokio_postgres::connect(
        &format!(
            "host={} port={} user=tester application_name=it",
            addr.ip(),
            addr.port()
        ),
        tokio_postgres::NoTls,
    )
    .await
    .expect("connect");
    tokio::spawn(connection);
    client
}

/// The SQLSTATE of a failed call.
pub fn sqlstate(error: &tokio_postgres::Error) -> String {
    error
        .as_db_error()
        .map(|e| e.code().code().to_owned())
        .unwrap_or_else(|| format!("not a database error: {error}"))
}

/// Appends `values` to the single-column (`n BIGINT`) Delta table at `dir/name`,
/// creating it first if needed — a writer committing while switchyard serves.
pub async fn append_delta_rows(dir: &std::path::Path, name: &str, values: Vec<i64>) {
    use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
    use deltalake::kernel::StructType;
    use deltalake::writer::{DeltaWriter, RecordBatchWriter};

    let schema = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("n", arrow::datatypes::DataType::Int64, true),
    ]));
    let path = dir.join(name);
    let url = deltalake::ensure_table_uri(path.to_str().unwrap()).unwrap();
    let mut table = if path.join("_delta_log").is_dir() {
        deltalake::open_table(url).await.unwrap()
    } else {
        let columns: StructType = schema.as_ref().try_into_kernel().unwrap();
        deltalake::DeltaTable::try_from_url(url)
            .await
            .unwrap()
            .create()
            .with_table_name(name)
            .with_columns(columns.fields().cloned())
            .await
            .unwrap()
    };
    let batch = arrow::record_batch::RecordBatch::try_new(
        schema,
        vec![Arc::new(arrow::array::Int64Array::from(values))],
    )
    .unwrap();
    let mut writer = RecordBatchWriter::for_table(&table).unwrap();
    writer.write(batch).await.unwrap();
    writer.flush_and_commit(&mut table).await.unwrap();
}

/// The rows of a simple-protocol reply, as text.
pub fn simple_rows(messages: &[tokio_postgres::SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}
