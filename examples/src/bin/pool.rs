//! A deadpool-postgres pool built from one conninfo string with pgtls-postgres:
//! `pgtls_postgres::config` gives the `tokio_postgres::Config` and the
//! `MakeTlsConnect` that judges every server certificate as libpq would, for
//! the host each pooled connection goes to.
//!
//! ```text
//! pool 'host=db.example.com sslmode=verify-full sslrootcert=root.crt user=app dbname=app'
//! ```
//!
//! Four tasks share a pool of two connections; each prints whether its
//! session is TLS. Exit 1 with the refusal (libpq's text) when the pool cannot
//! connect.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

const QUERY: &str =
    "select ssl::text || ' ' || version from pg_stat_ssl where pid = pg_backend_pid()";

/// An error and its sources on one line (the last is libpq's text for a
/// refused certificate or a server's `FATAL`).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        text.push_str(": ");
        text.push_str(&s.to_string());
        next = s.source();
    }
    text
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(conninfo) = std::env::args().nth(1) else {
        eprintln!("usage: pool CONNINFO");
        std::process::exit(2);
    };
    // The conninfo's refusal (a bad keyword, a weak sslmode under
    // sslnegotiation=direct, ...) before any connection.
    let (config, tls) = match pgtls_postgres::config(&conninfo) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("pool: {e}");
            std::process::exit(1);
        }
    };
    let manager = Manager::from_config(
        config,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = match Pool::builder(manager).max_size(2).build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("pool: {e}");
            std::process::exit(1);
        }
    };
    let mut tasks = Vec::new();
    for i in 0..4 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let client = pool.get().await.map_err(|e| chain(&e))?;
            let row = client
                .query_one(QUERY, &[])
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(format!("task {i}: ssl {}", row.get::<_, String>(0)))
        }));
    }
    let mut failed = false;
    for t in tasks {
        match t.await {
            Ok(Ok(line)) => println!("{line}"),
            Ok(Err(e)) => {
                eprintln!("pool: {e}");
                failed = true;
            }
            Err(e) => {
                eprintln!("pool: task: {e}");
                failed = true;
            }
        }
    }
    println!("pool: {:?}", pool.status());
    if failed {
        std::process::exit(1);
    }
}
