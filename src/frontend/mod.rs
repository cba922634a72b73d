//! The Postgres wire frontend (pgwire): startup and ParameterStatus, the simple and
//! extended query protocols, cancel requests, and mapping `Error` to ErrorResponse.
//! It never plans or runs a query itself — that is `engine` — and never formats
//! values by hand — that is `encode` (arrow-pg underneath).

pub mod encode;
mod hooks;
mod params;
mod prepared;
pub mod session;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
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
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireServerHandlers, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::response::TransactionStatus;
use pgwire::messages::startup::{ParameterStatus, SecretKey};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use sqlparser::ast::Statement;
use tokio_util::sync::CancellationToken;

use crate::backend::ResultStream;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::sql;
use hooks::{Answer, TxEffect};
use prepared::Prepared;
use session::{Changed, Session};

/// Shared by every connection: the engine and the cancel-key registry.
pub struct Frontend {
    engine: Arc<Engine>,
    cancels: Arc<CancelRegistry>,
    next_pid: AtomicI32,
    parser: Arc<StatementParser>,
}

impl Frontend {
    pub fn new(engine: Arc<Engine>) -> Arc<Frontend> {
        Arc::new(Frontend {
            parser: Arc::new(StatementParser {
                engine: engine.clone(),
            }),
            engine,
            cancels: Arc::default(),
            next_pid: AtomicI32::new(1000),
        })
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
}

impl Connection {
    fn start_query(&self) -> CancellationToken {
        let token = CancellationToken::new();
        *self.current.lock().unwrap() = token.clone();
        token
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
        let params: BTreeMap<String, String> = startup.parameters.clone().into_iter().collect();
        conn.session.lock().unwrap().apply_startup(&params);
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

async fn report_changes<C>(client: &mut C, changed: Vec<Changed>) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
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

fn aborted_error() -> Error {
    Error::Session {
        code: "25P02",
        message: "current transaction is aborted, commands ignored until end of transaction block"
            .into(),
    }
}

impl Frontend {
    /// Runs one statement; `status` is the transaction status it runs in.
    async fn run_statement(
        &self,
        conn: &Connection,
        statement: &Statement,
        status: TransactionStatus,
        format: &Format,
        cancel: &CancellationToken,
        changed: &mut Vec<Changed>,
    ) -> Result<Response> {
        if status == TransactionStatus::Error && !hooks::ends_failed_transaction(statement) {
            return Err(aborted_error());
        }
        match statement {
            Statement::Query(query) => {
                let plan = self.engine.plan(query)?;
                let result = self.engine.execute(&plan, &[]).await?;
                query_response(result, format, cancel.clone())
            }
            local if hooks::is_local(local) => {
                let answer = {
                    let mut session = conn.session.lock().unwrap();
                    hooks::answer(local, &mut session, status, &self.engine, changed)?
                };
                answer_response(answer, format, cancel)
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
        let statements = match sql::parse(query) {
            Ok(statements) => statements,
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
        for statement in &statements {
            let outcome = self
                .run_statement(
                    &conn,
                    statement,
                    status,
                    &Format::UnifiedText,
                    &cancel,
                    &mut changed,
                )
                .await;
            let response = outcome.unwrap_or_else(|e| {
                log_failure(query, &e);
                Response::Error(Box::new(to_error_info(&e)))
            });
            status = next_status(status, &response);
            let failed = matches!(response, Response::Error(_));
            responses.push(response);
            if failed {
                // Postgres stops a multi-statement string at its first error.
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
}

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql_text: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        self.prepare(sql_text, types).await.map_err(|e| {
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
        })
    }

    fn get_result_schema(
        &self,
        statement: &Prepared,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        let schema = match statement {
            Prepared::Query { schema, .. } => schema.clone(),
            Prepared::Local(local) => match hooks::schema_of(local) {
                Some(schema) => schema,
                None => return Ok(vec![]),
            },
        };
        encode::pg_fields(&schema, format.unwrap_or(&Format::UnifiedText))
            .map_err(|e| to_pg_error(&e))
    }
}

impl StatementParser {
    async fn prepare(&self, sql_text: &str, types: &[Option<Type>]) -> Result<Option<Prepared>> {
        let mut statements = sql::parse(sql_text)?;
        if statements.len() > 1 {
            return Err(Error::Syntax {
                message: "cannot insert multiple commands into a prepared statement".into(),
                position: None,
            });
        }
        let Some(statement) = statements.pop() else {
            return Ok(None);
        };
        let Statement::Query(query) = &statement else {
            return Ok(Some(Prepared::Local(Arc::new(statement))));
        };
        let plan = self.engine.plan(query)?;
        let description = self.engine.describe(&plan).await?;
        let count = plan.query.param_count().max(types.len());
        let parameter_types = (0..count)
            .map(|i| {
                types
                    .get(i)
                    .cloned()
                    .flatten()
                    .filter(|t| *t != Type::UNKNOWN)
                    .or_else(|| {
                        description
                            .parameter_types
                            .get(i)
                            .cloned()
                            .flatten()
                            .and_then(|dt| arrow_pg::datatypes::into_pg_type(&dt).ok())
                    })
                    .unwrap_or(Type::TEXT)
            })
            .collect();
        Ok(Some(Prepared::Query {
            plan: Arc::new(plan),
            schema: description.schema,
            parameter_types,
        }))
    }
}

#[async_trait]
impl ExtendedQueryHandler for Frontend {
    type Statement = Prepared;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<StatementParser> {
        self.parser.clone()
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
                    Ok(result) => query_response(result, format, cancel),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
            Prepared::Local(statement) => {
                self.run_statement(&conn, statement, status, format, &cancel, &mut changed)
                    .await
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
