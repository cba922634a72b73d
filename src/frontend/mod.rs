//! The Postgres wire frontend (pgwire): startup and ParameterStatus, the simple and
//! extended query protocols, cancel requests, and mapping `Error` to ErrorResponse.
//! It never plans or runs a query itself — that is `engine` — and never formats
//! values by hand — that is `encode` (arrow-pg underneath).

mod cursors;
mod datarow;
pub mod encode;
mod hooks;
mod params;
mod prepared;
mod send;
pub mod session;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata,
    ServerParameterProvider, StartupHandler,
};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{send_describe_response, ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{DescribePortalResponse, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireServerHandlers, Type, DEFAULT_NAME};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::extendedquery::{Describe, TARGET_TYPE_BYTE_PORTAL};
use pgwire::messages::response::TransactionStatus;
use pgwire::messages::startup::{ParameterStatus, SecretKey};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use sqlparser::ast::Statement;
use tokio_util::sync::CancellationToken;

use crate::backend::ResultStream;
use crate::catalog::{Catalog, Piece, SessionView};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::sql;
use hooks::{Answer, TxEffect};
use prepared::Prepared;
pub use send::WRITE_BUFFER;
use session::{Changed, Session};

/// Shared by every connection: the engine and the cancel-key registry.
pub struct Frontend {
    engine: Arc<Engine>,
    catalog: Arc<Catalog>,
    cancels: Arc<CancelRegistry>,
    next_pid: AtomicI32,
    parser: Arc<StatementParser>,
    /// Accepted sockets not yet started: peer → the token cancelled when that client
    /// goes away (the server watches the socket; see `server::watch_departure`).
    departures: Mutex<HashMap<SocketAddr, CancellationToken>>,
}

impl Frontend {
    pub fn new(engine: Arc<Engine>) -> Arc<Frontend> {
        // Built from tables compiled into the binary: failing is a bug, not a condition.
        let catalog = Arc::new(Catalog::new(engine.clone()).expect("catalog emulation starts"));
        Arc::new(Frontend {
            parser: Arc::new(StatementParser {
                engine: engine.clone(),
                catalog: catalog.clone(),
            }),
            engine,
            catalog,
            cancels: Arc::default(),
            next_pid: AtomicI32::new(1000),
            departures: Mutex::default(),
        })
    }

    /// The server accepted `peer`; `gone` is cancelled when that client disconnects,
    /// which cancels whatever query the connection is running.
    pub(crate) fn expect_client(&self, peer: SocketAddr, gone: CancellationToken) {
        self.departures.lock().unwrap().insert(peer, gone);
    }

    /// The connection from `peer` ended (whether or not it ever started up).
    pub(crate) fn forget_client(&self, peer: SocketAddr) {
        self.departures.lock().unwrap().remove(&peer);
    }
}

/// Per-connection state, kept in pgwire's session extensions.
#[derive(Default)]
struct Connection {
    session: Mutex<Session>,
    /// Cancels the query in flight; replaced for every query.
    current: Mutex<CancellationToken>,
    /// Removes the connection's cancel key when the connection is dropped.
    registration: Mutex<Option<Registration>>,
    /// Cancelled when the client disconnects; every query's token is its child, so a
    /// client that leaves mid-query stops the backend's work too.
    departed: Mutex<CancellationToken>,
    cursors: Mutex<cursors::Cursors>,
    /// NOTICEs for the statement being answered, sent before its results.
    notices: Mutex<Vec<String>>,
}

impl Connection {
    fn start_query(&self) -> CancellationToken {
        let token = self.departed.lock().unwrap().child_token();
        *self.current.lock().unwrap() = token.clone();
        token
    }

    /// What catalog functions (`current_setting`, `current_user`) read.
    fn session_view(&self) -> SessionView {
        let session = self.session.lock().unwrap();
        SessionView {
            settings: session
                .all()
                .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
                .collect(),
            user: session
                .get("session_authorization")
                .unwrap_or("switchyard")
                .to_owned(),
        }
    }
}

fn connection<C: ClientInfo + ?Sized>(client: &C) -> Arc<Connection> {
    client
        .session_extensions()
        .get_or_insert_with(Connection::default)
}

/// Cancel keys (pid + secret) → the connection they cancel.
#[derive(Default)]
struct CancelRegistry {
    connections: Mutex<HashMap<i32, CancelKey>>,
}

struct CancelKey {
    secret: Vec<u8>,
    connection: std::sync::Weak<Connection>,
}

struct Registration {
    pid: i32,
    registry: Arc<CancelRegistry>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.connections.lock().unwrap().remove(&self.pid);
    }
}

#[async_trait]
impl CancelHandler for Frontend {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let target = {
            let map = self.cancels.connections.lock().unwrap();
            map.get(&request.pid)
                .filter(|key| key.secret == request.secret_key.to_bytes().as_ref())
                .and_then(|key| key.connection.upgrade())
        };
        match target {
            Some(conn) => {
                tracing::info!(pid = request.pid, "cancel request");
                conn.current.lock().unwrap().cancel();
            }
            None => tracing::info!(pid = request.pid, "cancel request for no known query"),
        }
    }
}

struct ReportedParameters(Vec<(String, String)>);

impl ServerParameterProvider for ReportedParameters {
    fn server_parameters<C: ClientInfo>(&self, _client: &C) -> Option<HashMap<String, String>> {
        Some(self.0.iter().cloned().collect())
    }
}

#[async_trait]
impl StartupHandler for Frontend {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let PgWireFrontendMessage::Startup(startup) = message else {
            return Ok(());
        };
        protocol_negotiation(client, &startup).await?;
        save_startup_parameters_to_metadata(client, &startup);

        let pid = self.next_pid.fetch_add(1, Ordering::Relaxed);
        let secret = SecretKey::I32(uuid::Uuid::new_v4().as_u128() as i32);
        client.set_pid_and_secret_key(pid, secret.clone());

        let conn = connection(client);
        if let Some(gone) = self
            .departures
            .lock()
            .unwrap()
            .remove(&client.socket_addr())
        {
            *conn.departed.lock().unwrap() = gone;
        }
        let params: BTreeMap<String, String> = startup.parameters.clone().into_iter().collect();
        {
            let dialect = self.engine.session_dialect(
                params.get("user").map(String::as_str),
                params.get("database").map(String::as_str),
            );
            let mut session = conn.session.lock().unwrap();
            // Validated with the config; the startup packet may still override it.
            let _ = session.set("switchyard.dialect", &dialect);
            session.apply_startup(&params);
        }
        self.cancels.connections.lock().unwrap().insert(
            pid,
            CancelKey {
                secret: secret.to_bytes().to_vec(),
                connection: Arc::downgrade(&conn),
            },
        );
        *conn.registration.lock().unwrap() = Some(Registration {
            pid,
            registry: self.cancels.clone(),
        });
        tracing::debug!(
            pid,
            user = params.get("user").map(String::as_str).unwrap_or(""),
            application = params
                .get("application_name")
                .map(String::as_str)
                .unwrap_or(""),
            "connection started"
        );

        let reported = ReportedParameters(conn.session.lock().unwrap().reported());
        finish_authentication(client, &reported).await
    }
}

/// Maps our error to an ErrorResponse, once, here.
pub(crate) fn to_error_info(error: &Error) -> ErrorInfo {
    let mut info = ErrorInfo::new("ERROR".into(), error.sqlstate().into(), error.to_string());
    if let Error::Syntax {
        position: Some(position),
        ..
    } = error
    {
        info.position = Some(position.to_string());
    }
    info
}

pub(crate) fn to_pg_error(error: &Error) -> PgWireError {
    PgWireError::UserError(Box::new(to_error_info(error)))
}

fn log_failure(query: &str, error: &Error) {
    tracing::info!(sqlstate = error.sqlstate(), error = %error, query, "query failed");
}

/// Sends what the statements just answered tell the client besides their results: the
/// connection's pending NOTICEs and a ParameterStatus for each reported setting change.
async fn report_changes<C>(client: &mut C, changed: Vec<Changed>) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let notices = std::mem::take(&mut *connection(client).notices.lock().unwrap());
    for notice in notices {
        let info = ErrorInfo::new("NOTICE".into(), "00000".into(), notice);
        client
            .feed(PgWireBackendMessage::NoticeResponse(info.into()))
            .await?;
    }
    for change in changed.into_iter().filter(|c| c.reported) {
        client
            .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                change.name,
                change.value,
            )))
            .await?;
    }
    Ok(())
}

/// The session's `switchyard.dialect` setting.
fn dialect_setting(conn: &Connection) -> sql::DialectSetting {
    let session = conn.session.lock().unwrap();
    session
        .get("switchyard.dialect")
        .ok()
        .and_then(sql::DialectSetting::from_setting)
        .unwrap_or_default()
}

fn aborted_error() -> Error {
    Error::Session {
        code: "25P02",
        message: "current transaction is aborted, commands ignored until end of transaction block"
            .into(),
    }
}

impl Frontend {
    /// Runs a planned query without parameters, telling the client what it should know.
    async fn run_plan(
        &self,
        conn: &Connection,
        plan: &crate::engine::Plan,
        format: &Format,
        cancel: &CancellationToken,
    ) -> Result<Response> {
        conn.notices
            .lock()
            .unwrap()
            .extend(self.engine.notices(plan));
        let result = self.engine.execute(plan, &[]).await?;
        query_response(result, format, cancel.clone())
    }

    /// Runs one statement, read in `flavor`; `status` is the transaction status it runs in;
    /// `text` is the statement as written, when it was the whole query string.
    #[allow(clippy::too_many_arguments)]
    async fn run_statement(
        &self,
        conn: &Connection,
        statement: &Statement,
        flavor: sql::Flavor,
        status: TransactionStatus,
        format: &Format,
        cancel: &CancellationToken,
        changed: &mut Vec<Changed>,
        text: Option<&str>,
    ) -> Result<Response> {
        if status == TransactionStatus::Error && !hooks::ends_failed_transaction(statement) {
            return Err(aborted_error());
        }
        match statement {
            Statement::Query(query) => {
                let plan = self.engine.plan_statement(text, query, flavor)?;
                self.run_plan(conn, &plan, format, cancel).await
            }
            local if hooks::is_local(local) => {
                let answer = {
                    let mut session = conn.session.lock().unwrap();
                    hooks::answer(local, flavor, &mut session, status, &self.engine, changed)?
                };
                if matches!(
                    answer,
                    Answer::Command {
                        tx: TxEffect::End,
                        ..
                    }
                ) {
                    conn.cursors.lock().unwrap().end_transaction();
                }
                answer_response(answer, format, cancel)
            }
            Statement::Declare { .. } => {
                let declare = cursors::declaration(statement, status)?;
                let query = declare
                    .for_query
                    .as_deref()
                    .expect("checked by declaration");
                let result = self.cursor_query(conn, query, flavor).await?;
                open_cursor(conn, declare, result)
            }
            Statement::Fetch {
                name,
                direction,
                into: None,
                ..
            } => {
                let count = cursors::fetch_count(direction)?;
                let rows = conn.cursors.lock().unwrap().fetch(name, count)?;
                let mut response = query_response(rows, format, cancel.clone())?;
                if let Response::Query(q) = &mut response {
                    q.set_command_tag("FETCH");
                }
                Ok(response)
            }
            Statement::Close { cursor } => {
                conn.cursors.lock().unwrap().close(cursor)?;
                Ok(Response::Execution(Tag::new("CLOSE CURSOR")))
            }
            other => Err(Error::unsupported(
                format!(
                    "{} (switchyard serves reads only)",
                    hooks::statement_kind(other)
                ),
                "switchyard",
            )),
        }
    }
}

impl Frontend {
    /// A simple-protocol string that reads the catalog: its queries run in the
    /// catalog context, anything else (SET, BEGIN, …) as usual.
    async fn catalog_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let conn = connection(client);
        let pieces = self
            .catalog
            .split(query, &conn.session_view())
            .map_err(|e| {
                log_failure(query, &e);
                to_pg_error(&e)
            })?;
        if pieces.is_empty() {
            return Ok(vec![Response::EmptyQuery]);
        }
        let cancel = conn.start_query();
        let mut status = client.transaction_status();
        let mut responses = Vec::with_capacity(pieces.len());
        let mut changed = Vec::new();
        for piece in pieces {
            let outcome = match piece {
                Piece::Query(_) if status == TransactionStatus::Error => Err(aborted_error()),
                Piece::Query(statement) => {
                    let view = conn.session_view();
                    match self.catalog.execute(*statement, &view, None, query).await {
                        Ok(result) => query_response(result, &Format::UnifiedText, cancel.clone()),
                        Err(e) => Err(e),
                    }
                }
                Piece::Other(text) => match sql::parse_with(&text, dialect_setting(&conn))
                    .map(|p| (p.flavor, p.statements.into_iter().next()))
                {
                    Ok((flavor, Some(statement))) => {
                        self.run_statement(
                            &conn,
                            &statement,
                            flavor,
                            status,
                            &Format::UnifiedText,
                            &cancel,
                            &mut changed,
                            None,
                        )
                        .await
                    }
                    Ok((_, None)) => Ok(Response::EmptyQuery),
                    Err(e) => Err(e),
                },
            };
            if !record(&mut responses, &mut status, query, outcome) {
                break;
            }
        }
        report_changes(client, changed).await?;
        Ok(responses)
    }
}

fn open_cursor(
    conn: &Connection,
    declare: &sqlparser::ast::Declare,
    result: ResultStream,
) -> Result<Response> {
    let hold = declare.hold == Some(true);
    conn.cursors
        .lock()
        .unwrap()
        .declare(&declare.names[0], hold, result)?;
    Ok(Response::Execution(Tag::new("DECLARE CURSOR")))
}

impl Frontend {
    /// Starts the query a cursor reads: a catalog query or a routed one.
    async fn cursor_query(
        &self,
        conn: &Connection,
        query: &sqlparser::ast::Query,
        flavor: sql::Flavor,
    ) -> Result<ResultStream> {
        let text = query.to_string();
        if self.catalog.claims(&text)? {
            return self
                .catalog
                .execute_text(&text, &conn.session_view(), None)
                .await;
        }
        let plan = self.engine.plan_as(query, flavor)?;
        self.engine.execute(&plan, &[]).await
    }
}

fn query_response(
    result: ResultStream,
    format: &Format,
    cancel: CancellationToken,
) -> Result<Response> {
    let fields = Arc::new(encode::pg_fields(&result.schema, format)?);
    let rows = encode::row_stream(result, fields.clone(), cancel);
    Ok(Response::Query(QueryResponse::new(fields, rows)))
}

fn answer_response(
    answer: Answer,
    format: &Format,
    cancel: &CancellationToken,
) -> Result<Response> {
    match answer {
        Answer::Rows(batch) => {
            let schema = batch.schema();
            let batches = futures::stream::iter([Ok(batch)]);
            let result = ResultStream {
                schema,
                batches: Box::pin(batches),
            };
            let mut response = query_response(result, format, cancel.clone())?;
            if let Response::Query(q) = &mut response {
                q.set_command_tag("SHOW");
            }
            Ok(response)
        }
        Answer::Command { tag, tx } => Ok(match tx {
            TxEffect::None => Response::Execution(Tag::new(tag)),
            TxEffect::Begin => Response::TransactionStart(Tag::new(tag)),
            TxEffect::End => Response::TransactionEnd(Tag::new(tag)),
        }),
    }
}

/// Adds one statement's outcome to a multi-statement reply, tracking the
/// transaction status; false once it failed, as Postgres stops a string at its
/// first error.
fn record(
    responses: &mut Vec<Response>,
    status: &mut TransactionStatus,
    query: &str,
    outcome: Result<Response>,
) -> bool {
    let response = outcome.unwrap_or_else(|e| {
        log_failure(query, &e);
        Response::Error(Box::new(to_error_info(&e)))
    });
    *status = next_status(*status, &response);
    let failed = matches!(response, Response::Error(_));
    responses.push(response);
    !failed
}

fn next_status(status: TransactionStatus, response: &Response) -> TransactionStatus {
    match response {
        Response::TransactionStart(_) => status.to_in_transaction_state(),
        Response::TransactionEnd(_) => status.to_idle_state(),
        Response::Error(_) => status.to_error_state(),
        _ => status,
    }
}

#[async_trait]
impl SimpleQueryHandler for Frontend {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match self.catalog.claims(query) {
            Ok(true) => return self.catalog_query(client, query).await,
            Ok(false) => {}
            Err(e) => {
                log_failure(query, &e);
                return Err(to_pg_error(&e));
            }
        }
        let setting = dialect_setting(&connection(client));
        let (statements, flavor) = match sql::parse_with(query, setting) {
            Ok(parsed) => (parsed.statements, parsed.flavor),
            // ClickHouse SQL switchyard cannot read may still be ClickHouse's to answer.
            Err(why) if setting != sql::DialectSetting::Postgres => {
                let conn = connection(client);
                let cancel = conn.start_query();
                let mut status = client.transaction_status();
                let outcome = match self.engine.plan_raw(query, why) {
                    Ok(_) if status == TransactionStatus::Error => Err(aborted_error()),
                    Ok(plan) => {
                        self.run_plan(&conn, &plan, &Format::UnifiedText, &cancel)
                            .await
                    }
                    Err(e) => Err(e),
                };
                let mut responses = Vec::with_capacity(1);
                record(&mut responses, &mut status, query, outcome);
                return Ok(responses);
            }
            Err(e) => {
                log_failure(query, &e);
                return Err(to_pg_error(&e));
            }
        };
        if statements.is_empty() {
            return Ok(vec![Response::EmptyQuery]);
        }
        let conn = connection(client);
        let cancel = conn.start_query();
        let mut status = client.transaction_status();
        let mut responses = Vec::with_capacity(statements.len());
        let mut changed = Vec::new();
        let whole = (statements.len() == 1).then_some(query);
        for statement in &statements {
            let outcome = self
                .run_statement(
                    &conn,
                    statement,
                    flavor,
                    status,
                    &Format::UnifiedText,
                    &cancel,
                    &mut changed,
                    whole,
                )
                .await;
            if !record(&mut responses, &mut status, query, outcome) {
                break;
            }
        }
        report_changes(client, changed).await?;
        Ok(responses)
    }
}

/// Plans statements at Parse time, so Describe can answer without running them.
pub struct StatementParser {
    engine: Arc<Engine>,
    catalog: Arc<Catalog>,
}

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        client: &C,
        sql_text: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let prepared = match self.catalog.claims(sql_text) {
            Ok(true) => {
                let view = connection(client).session_view();
                self.prepare_catalog(sql_text, types, &view).await
            }
            Ok(false) => {
                let setting = dialect_setting(&connection(client));
                self.prepare(sql_text, types, setting).await
            }
            Err(e) => Err(e),
        };
        prepared.map_err(|e| {
            log_failure(sql_text, &e);
            to_pg_error(&e)
        })
    }

    fn get_parameter_types(&self, statement: &Prepared) -> PgWireResult<Vec<Type>> {
        Ok(match statement {
            Prepared::Query {
                parameter_types, ..
            } => parameter_types.clone(),
            Prepared::Local(_) => vec![],
            Prepared::Cursor {
                parameter_types, ..
            } => parameter_types.clone(),
            Prepared::Catalog {
                parameter_types, ..
            } => parameter_types.clone(),
        })
    }

    fn get_result_schema(
        &self,
        statement: &Prepared,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        let schema = match statement {
            Prepared::Query { schema, .. } | Prepared::Catalog { schema, .. } => schema.clone(),
            Prepared::Local(local) => match hooks::schema_of(local) {
                Some(schema) => schema,
                None => return Ok(vec![]),
            },
            Prepared::Cursor { .. } => return Ok(vec![]),
        };
        encode::pg_fields(&schema, format.unwrap_or(&Format::UnifiedText))
            .map_err(|e| to_pg_error(&e))
    }
}

/// Each `$n`'s type: what the client declared at Parse, else what planning inferred,
/// else text (as Postgres does for unknown-typed parameters).
fn parameter_types(
    declared: &[Option<Type>],
    count: usize,
    inferred: &[Option<arrow::datatypes::DataType>],
) -> Vec<Type> {
    (0..count.max(declared.len()).max(inferred.len()))
        .map(|i| {
            declared
                .get(i)
                .cloned()
                .flatten()
                .filter(|t| *t != Type::UNKNOWN)
                .or_else(|| {
                    inferred
                        .get(i)
                        .cloned()
                        .flatten()
                        .and_then(|dt| arrow_pg::datatypes::into_pg_type(&dt).ok())
                })
                .unwrap_or(Type::TEXT)
        })
        .collect()
}

impl StatementParser {
    async fn prepare_catalog(
        &self,
        sql_text: &str,
        types: &[Option<Type>],
        view: &SessionView,
    ) -> Result<Option<Prepared>> {
        let described = self.catalog.describe(sql_text, view).await?;
        let parameter_types = parameter_types(types, 0, &described.parameter_types);
        Ok(Some(Prepared::Catalog {
            sql: sql_text.into(),
            schema: described.schema,
            parameter_types,
            parameter_data_types: described.parameter_types,
        }))
    }

    async fn prepare(
        &self,
        sql_text: &str,
        types: &[Option<Type>],
        setting: sql::DialectSetting,
    ) -> Result<Option<Prepared>> {
        let parsed = match sql::parse_with(sql_text, setting) {
            Ok(parsed) => parsed,
            Err(why) if setting != sql::DialectSetting::Postgres => {
                // ClickHouse SQL switchyard cannot read may still be ClickHouse's to answer.
                let plan = self.engine.plan_raw(sql_text, why)?;
                let (plan, schema, parameter_types) = self.typed(plan, types).await?;
                return Ok(Some(Prepared::Query {
                    plan: Arc::new(plan),
                    schema,
                    parameter_types,
                }));
            }
            Err(why) => return Err(why),
        };
        let flavor = parsed.flavor;
        let mut statements = parsed.statements;
        if statements.len() > 1 {
            return Err(Error::Syntax {
                message: "cannot insert multiple commands into a prepared statement".into(),
                position: None,
            });
        }
        let Some(statement) = statements.pop() else {
            return Ok(None);
        };
        let query = match &statement {
            Statement::Query(query) => query,
            Statement::Declare { stmts, .. } => match stmts.as_slice() {
                [declare] if declare.for_query.is_some() => {
                    let query = declare.for_query.as_deref().expect("matched");
                    if self.catalog.claims(&query.to_string())? {
                        return Ok(Some(Prepared::Local(Arc::new(statement))));
                    }
                    let (plan, _, parameter_types) =
                        self.plan_typed(None, query, flavor, types).await?;
                    return Ok(Some(Prepared::Cursor {
                        declare: Arc::new(statement),
                        plan: Arc::new(plan),
                        parameter_types,
                    }));
                }
                _ => return Ok(Some(Prepared::Local(Arc::new(statement)))),
            },
            _ => return Ok(Some(Prepared::Local(Arc::new(statement)))),
        };
        let (plan, schema, parameter_types) = self
            .plan_typed(Some(sql_text), query, flavor, types)
            .await?;
        Ok(Some(Prepared::Query {
            plan: Arc::new(plan),
            schema,
            parameter_types,
        }))
    }

    /// A query's plan, result schema and `$n` types (see `parameter_types`).
    /// `text` is the statement as the client wrote it, when that is all it sent.
    async fn plan_typed(
        &self,
        text: Option<&str>,
        query: &sqlparser::ast::Query,
        flavor: sql::Flavor,
        types: &[Option<Type>],
    ) -> Result<(crate::engine::Plan, arrow::datatypes::SchemaRef, Vec<Type>)> {
        let plan = self.engine.plan_statement(text, query, flavor)?;
        self.typed(plan, types).await
    }

    async fn typed(
        &self,
        plan: crate::engine::Plan,
        types: &[Option<Type>],
    ) -> Result<(crate::engine::Plan, arrow::datatypes::SchemaRef, Vec<Type>)> {
        let description = self.engine.describe(&plan).await?;
        let parameter_types =
            parameter_types(types, plan.parameter_count(), &description.parameter_types);
        Ok((plan, description.schema, parameter_types))
    }
}

#[async_trait]
impl ExtendedQueryHandler for Frontend {
    type Statement = Prepared;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<StatementParser> {
        self.parser.clone()
    }

    /// Describe of a portal that is a SQL cursor (Postgres keeps both in one namespace).
    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        if message.target_type == TARGET_TYPE_BYTE_PORTAL
            && client.portal_store().get_portal(name).is_none()
        {
            let cursor = connection(client)
                .cursors
                .lock()
                .unwrap()
                .schema_of_portal(name);
            if let Some(schema) = cursor {
                let fields = schema
                    .and_then(|schema| encode::pg_fields(&schema, &Format::UnifiedText))
                    .map_err(|e| to_pg_error(&e))?;
                let response = DescribePortalResponse::new(fields);
                return send_describe_response(client, &response).await;
            }
        }
        self._on_describe(client, message).await
    }

    /// A FETCH returns its cursor's columns, which only the connection knows.
    async fn do_describe_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<Prepared>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let format = &portal.result_column_format;
        let statement = &portal.statement.statement;
        // A ClickHouse statement whose result is known only once bound.
        if let Prepared::Query {
            plan,
            schema,
            parameter_types,
        } = statement
        {
            if schema.fields().is_empty() {
                let described = match params::decode(portal, parameter_types) {
                    Ok(values) => self.engine.describe_bound(plan, &values).await,
                    Err(e) => Err(e),
                };
                return described
                    .and_then(|schema| encode::pg_fields(&schema, format))
                    .map(DescribePortalResponse::new)
                    .map_err(|e| to_pg_error(&e));
            }
        }
        if let Prepared::Local(local) = statement {
            if let Statement::Fetch { name, .. } = local.as_ref() {
                let schema = connection(client).cursors.lock().unwrap().schema(name);
                return schema
                    .and_then(|schema| encode::pg_fields(&schema, format))
                    .map(DescribePortalResponse::new)
                    .map_err(|e| to_pg_error(&e));
            }
        }
        self.parser
            .get_result_schema(statement, Some(format))
            .map(DescribePortalResponse::new)
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Prepared>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let conn = connection(client);
        let cancel = conn.start_query();
        let status = client.transaction_status();
        let format = &portal.result_column_format;
        let mut changed = Vec::new();
        let outcome = match &portal.statement.statement {
            Prepared::Query { .. } if status == TransactionStatus::Error => Err(aborted_error()),
            Prepared::Query {
                plan,
                parameter_types,
                ..
            } => match params::decode(portal, parameter_types) {
                Ok(values) => match self.engine.execute(plan, &values).await {
                    Ok(result) => {
                        conn.notices
                            .lock()
                            .unwrap()
                            .extend(self.engine.notices(plan));
                        query_response(result, format, cancel)
                    }
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
            Prepared::Cursor {
                declare,
                plan,
                parameter_types,
            } => match cursors::declaration(declare, status) {
                Ok(declaration) => match params::decode(portal, parameter_types) {
                    Ok(values) => match self.engine.execute(plan, &values).await {
                        Ok(result) => open_cursor(&conn, declaration, result),
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
            Prepared::Local(statement) => {
                // Local statements (SET, SHOW, …) read the same in every flavour.
                self.run_statement(
                    &conn,
                    statement,
                    sql::Flavor::Postgres,
                    status,
                    format,
                    &cancel,
                    &mut changed,
                    None,
                )
                .await
            }
            Prepared::Catalog { .. } if status == TransactionStatus::Error => Err(aborted_error()),
            Prepared::Catalog {
                sql,
                parameter_types,
                parameter_data_types,
                ..
            } => {
                let inferred: Vec<Option<&arrow::datatypes::DataType>> =
                    parameter_data_types.iter().map(Option::as_ref).collect();
                let server: Vec<Option<&Type>> = parameter_types.iter().map(Some).collect();
                match arrow_pg::datatypes::df::deserialize_parameters_with_server_types(
                    portal, &inferred, &server,
                ) {
                    Ok(params) => {
                        let view = conn.session_view();
                        match self.catalog.execute_text(sql, &view, Some(params)).await {
                            Ok(result) => query_response(result, format, cancel),
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(Error::InvalidParameter(e.to_string())),
                }
            }
        };
        report_changes(client, changed).await?;
        outcome.map_err(|e| {
            log_failure(&portal.statement.id, &e);
            to_pg_error(&e)
        })
    }
}

/// Hands pgwire the one `Frontend` for every role it asks about.
#[derive(Clone)]
pub struct Handlers(pub Arc<Frontend>);

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.0.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.0.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.0.clone()
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        self.0.clone()
    }
}
