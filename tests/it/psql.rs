//! The real psql client against switchyard. Skips, loudly, where psql is not installed.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::{server, DEMO_ROWS};

pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub success: bool,
}

/// Runs psql with `args`, feeding `script` on stdin; `None` (after a loud SKIPPED
/// line) when psql is not installed.
pub fn psql(args: &[&str], script: &str) -> Option<Output> {
    if Command::new("psql").arg("--version").output().is_err() {
        eprintln!("SKIPPED: psql is not installed (the README's test command installs it)");
        return None;
    }
    let addr = server().addr;
    let mut child = Command::new("psql")
        .args([
            "-X",
            "-h",
            &addr.ip().to_string(),
            "-p",
            &addr.port().to_string(),
        ])
        .args(["-U", "tester", "-d", "switchyard"])
        .args(args)
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let output = child.wait_with_output().expect("psql ends");
    Some(Output {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        success: output.status.success(),
    })
}

#[test]
fn psql_runs_a_query_in_unaligned_mode() {
    let Some(out) = psql(&["-A", "-t", "-c", "SELECT count(*) FROM llm_requests"], "") else {
        return;
    };
    assert!(out.success, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), DEMO_ROWS.to_string());
}

#[test]
fn psql_prints_tables_and_reports_errors_without_disconnecting() {
    let script = "SELECT provider, count(*) FROM llm_requests GROUP BY provider ORDER BY provider LIMIT 2;\n\
                  SELECT * FROM missing_table;\n\
                  SHOW server_version;\n";
    let Some(out) = psql(&["-f", "-"], script) else {
        return;
    };
    let header = out.stdout.lines().next().unwrap_or_default();
    assert!(
        header.contains("provider") && header.contains("| count"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("(2 rows)"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("ERROR:  relation \"missing_table\" does not exist"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("15.8 (switchyard"), "{}", out.stdout);
}
