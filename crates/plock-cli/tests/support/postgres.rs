//! The test server (`PLOCK_TEST_POSTGRES`, as the store's own tests use it) and a fresh
//! schema on it for each test, dropped with its guard, so tests never see each other's data
//! and leave nothing behind.

use std::sync::atomic::{AtomicU32, Ordering};

pub use plock_store_postgres::testing::server;

/// A schema of its own on the test server; dropped, with everything in it, when dropped.
pub struct Schema {
    server: String,
    name: String,
}

impl Schema {
    /// A new, empty schema.
    pub fn fresh(server: &str) -> Schema {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "plock_cli_{}_{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = postgres::Client::connect(server, postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .unwrap();
        Schema {
            server: server.to_owned(),
            name,
        }
    }

    /// The connection string whose `search_path` is this schema, with the server settings
    /// `settings` (`("lock_timeout", "300")`) on top.
    pub fn config(&self, settings: &[(&str, &str)]) -> String {
        let mut options = vec![format!("-csearch_path={}", self.name)];
        options.extend(settings.iter().map(|(k, v)| format!("-c{k}={v}")));
        let options = options.join(" ");
        if self.server.starts_with("postgres://") || self.server.starts_with("postgresql://") {
            let sep = if self.server.contains('?') { '&' } else { '?' };
            let encoded = options.replace('=', "%3D").replace(' ', "%20");
            format!("{}{sep}options={encoded}", self.server)
        } else {
            format!("{} options='{options}'", self.server)
        }
    }

    /// A client on this schema.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.config(&[]), postgres::NoTls).unwrap()
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
