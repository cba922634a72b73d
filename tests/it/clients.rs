//! Real clients against switchyard: psql's backslash commands (its catalog queries),
//! and the driver scripts under tests/clients/ (psycopg 3, psycopg2, asyncpg,
//! SQLAlchemy + pandas, node-postgres, pgjdbc). Each skips, loudly, when its client is
//! not installed; scripts/services/clients.sh installs them and names them in
//! SWITCHYARD_TEST_PYTHON, SWITCHYARD_TEST_NODE_PATH and SWITCHYARD_TEST_JDBC_JAR.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{server, DEMO_ROWS};

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Runs `command` to completion (at most two minutes) and fails the test with its
/// output unless it succeeds.
fn run(mut command: Command, what: &str) -> String {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} starts: {e}"));
    drop(child.stdin.take());
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("{what} did not finish in two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    stdout
}

fn server_args() -> [String; 3] {
    let addr = server().addr;
    [
        addr.ip().to_string(),
        addr.port().to_string(),
        DEMO_ROWS.to_string(),
    ]
}

fn env_or_skip(var: &str, client: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            eprintln!(
                "SKIPPED: {client}: {var} is not set (scripts/services/clients.sh installs it)"
            );
            None
        }
    }
}

fn python_client(script: &str, client: &str) {
    let Some(python) = env_or_skip("SWITCHYARD_TEST_PYTHON", client) else {
        return;
    };
    let mut command = Command::new(python);
    command
        .current_dir(scripts())
        .arg(script)
        .args(server_args());
    let out = run(command, client);
    assert!(out.contains("all checks passed"), "{out}");
}

#[test]
fn psycopg3() {
    python_client("psycopg3_client.py", "psycopg 3");
}

#[test]
fn psycopg2() {
    python_client("psycopg2_client.py", "psycopg2");
}

#[test]
fn asyncpg() {
    python_client("asyncpg_client.py", "asyncpg");
}

#[test]
fn sqlalchemy_and_pandas() {
    python_client("sqlalchemy_client.py", "SQLAlchemy");
}

#[test]
fn node_postgres() {
    let Some(node_path) = env_or_skip("SWITCHYARD_TEST_NODE_PATH", "node-postgres") else {
        return;
    };
    let mut command = Command::new("node");
    command
        .current_dir(scripts())
        .env("NODE_PATH", node_path)
        .arg("node_pg_client.js")
        .args(server_args());
    let out = run(command, "node-postgres");
    assert!(out.contains("all checks passed"), "{out}");
}

#[test]
fn pgjdbc() {
    let Some(jar) = env_or_skip("SWITCHYARD_TEST_JDBC_JAR", "pgjdbc") else {
        return;
    };
    let mut command = Command::new("java");
    command
        .current_dir(scripts())
        .args(["-cp", &jar, "JdbcClient.java"])
        .args(server_args());
    let out = run(command, "pgjdbc");
    assert!(out.contains("all checks passed"), "{out}");
}

/// psql's stdout for `args` and `script`, stopping at the first error (which fails the
/// test); `None` when psql is not installed (see `crate::psql::psql`).
fn psql(args: &[&str], script: &str) -> Option<String> {
    let args: Vec<&str> = ["-v", "ON_ERROR_STOP=1"]
        .iter()
        .chain(args)
        .copied()
        .collect();
    let output = crate::psql::psql(&args, script)?;
    assert!(
        output.success,
        "psql failed\n--- stdout\n{}\n--- stderr\n{}",
        output.stdout, output.stderr
    );
    Some(output.stdout)
}

#[test]
fn psql_lists_databases_schemas_and_tables() {
    let Some(out) = psql(&["-f", "-"], "\\l\n\\dn\n\\dt\n\\d\n\\dt+\n") else {
        return;
    };
    assert!(out.contains("List of databases"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("switchyard ") && l.contains("UTF")),
        "{out}"
    );
    assert!(out.contains("List of schemas"), "{out}");
    assert!(out.contains(" public "), "{out}");
    assert!(out.contains("List of relations"), "{out}");
    for table in ["llm_requests", "llm_feedback"] {
        assert!(
            out.lines()
                .any(|l| l.contains(" public ") && l.contains(table) && l.contains("table")),
            "{table}: {out}"
        );
    }
    // \dt+ adds persistence, access method, size (unknown: empty) and description.
    assert!(out.contains("| Persistence |"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("llm_requests") && l.contains("permanent")),
        "{out}"
    );
}

#[test]
fn psql_describes_a_table() {
    let Some(out) = psql(&["-c", "\\d llm_requests"], "") else {
        return;
    };
    assert!(out.contains("Table \"public.llm_requests\""), "{out}");
    let column = |name: &str| {
        out.lines()
            .find(|l| l.split('|').next().map(str::trim) == Some(name))
            .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>())
            .unwrap_or_else(|| panic!("no column {name}: {out}"))
    };
    assert_eq!(column("timestamp")[1], "timestamp with time zone");
    assert_eq!(column("timestamp")[3], "not null");
    assert_eq!(column("cost_usd")[1], "double precision");
    assert_eq!(column("latency_ms")[1], "bigint");
    assert_eq!(column("http_status")[1], "integer");
    assert_eq!(column("cached")[1], "boolean");
    assert_eq!(column("error_type")[1], "text");
    assert_eq!(column("error_type")[3], "");
}

#[test]
fn psql_lists_functions_and_expands_output() {
    let script = "\\df\n\\x\nSELECT provider, count(*) FROM llm_requests GROUP BY provider ORDER BY 1 LIMIT 1;\n";
    let Some(out) = psql(&["-f", "-"], script) else {
        return;
    };
    assert!(out.contains("List of functions"), "{out}");
    assert!(out.contains("(0 rows)"), "{out}");
    assert!(out.contains("Expanded display is on."), "{out}");
    assert!(out.contains("-[ RECORD 1 ]"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("count ")), "{out}");
}

#[test]
fn psql_lists_roles_with_the_session_user() {
    let Some(out) = psql(&["-c", "\\du"], "") else {
        return;
    };
    assert!(out.contains("List of roles"), "{out}");
    let role = out
        .lines()
        .find(|l| l.contains("Superuser"))
        .unwrap_or_else(|| panic!("no role row: {out}"));
    let cells: Vec<&str> = role.split('|').map(str::trim).collect();
    assert_eq!(cells[0], "tester", "{out}");
    // ARRAY(SELECT …) over no memberships is the empty array, not NULL.
    assert_eq!(cells[2], "{}", "{out}");
}

/// What psql sends for TAB after `SELECT * FROM llm` (tab-complete.c, REL_15_STABLE).
#[test]
fn psql_tab_completion_query_lists_tables() {
    let query = "SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'S', 'v', 'm', 'f', 'p') AND (c.relname) LIKE 'llm%' AND pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog')\n\
                 UNION ALL\n\
                 SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname LIKE 'llm%' AND n.nspname NOT LIKE E'pg\\\\_%'\n\
                 LIMIT 1000";
    let Some(out) = psql(&["-A", "-t", "-c", query], "") else {
        return;
    };
    let names: Vec<&str> = out.lines().map(|l| l.trim_end_matches('|')).collect();
    assert_eq!(names, ["llm_feedback", "llm_requests"], "{out}");
}

/// Real TAB completion: psql on a pseudo-terminal (tests/clients/psql_tab_completion.py)
/// completes `llm_req` from its pg_class query, then runs the completed statement.
#[test]
fn psql_tab_completes_a_table_name() {
    if Command::new("psql").arg("--version").output().is_err() {
        eprintln!("SKIPPED: psql is not installed (the README's test command installs it)");
        return;
    }
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED: psql tab completion needs python3 to drive a pseudo-terminal");
        return;
    }
    let [host, port, _] = server_args();
    let mut command = Command::new("python3");
    command
        .current_dir(scripts())
        .args(["psql_tab_completion.py", &host, &port]);
    let screen = run(command, "psql on a pseudo-terminal");
    assert!(
        screen.contains("FROM llm_requests"),
        "TAB did not complete llm_req:\n{screen}"
    );
    assert!(screen.contains(&DEMO_ROWS.to_string()), "{screen}");
}
