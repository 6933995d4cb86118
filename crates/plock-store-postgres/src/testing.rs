//! The test server of a test suite that runs against PostgreSQL: its connection string from
//! [`SERVER`], or a printed notice and a skipped test when none is configured, so `cargo test`
//! alone never fails for want of a server.

/// The environment variable naming the test server (a connection string).
pub const SERVER: &str = "PLOCK_TEST_POSTGRES";

/// The test server's connection string, or `None` after printing why `test` is skipped.
pub fn server(test: &str) -> Option<String> {
    match std::env::var(SERVER) {
        Ok(config) if !config.trim().is_empty() => Some(config),
        _ => {
            // Written to the process's stderr, not through `eprintln!`, which the test harness
            // captures and hides for a passing test.
            let notice = format!(
                "skipped {test}: {SERVER} is not set (`.ci/postgres.sh run cargo test` runs \
                 the tests against a throwaway server)\n"
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), notice.as_bytes());
            None
        }
    }
}
