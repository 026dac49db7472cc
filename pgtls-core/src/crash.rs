//! Named crash points in the store's write paths, for the crash tests only.
//!
//! With the `crash-points` feature, `PGTLS_CRASH_AT=<point>[:<n>]` makes the process
//! abort (SIGABRT: no destructor runs, no buffer is flushed, no temporary is removed;
//! to the file system it is the same as SIGKILL) the n-th time (default 1) it passes
//! `point`. The tests walk every point and every n an operation reaches, so each
//! intermediate state a kill can leave is produced on purpose instead of by luck.
//! Without the feature `hit` is an empty inline function.

/// Every crash point, in the order an issuance, a revocation or a CRL passes them.
#[cfg(feature = "crash-points")]
pub const POINTS: &[&str] = &[
    "tmp.written",
    "tmp.renamed",
    "issue.staged",
    "issue.committed",
    "issue.moved",
    "crl.numbered",
    "recover.moved",
    "create.staged",
];

#[cfg(feature = "crash-points")]
pub(crate) fn hit(point: &'static str) {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static TARGET: OnceLock<Option<(String, usize)>> = OnceLock::new();
    static HITS: AtomicUsize = AtomicUsize::new(0);
    let target = TARGET.get_or_init(|| {
        let spec = std::env::var("PGTLS_CRASH_AT").ok()?;
        match spec.split_once(':') {
            Some((name, n)) => Some((name.to_owned(), n.parse().ok()?)),
            None => Some((spec, 1)),
        }
    });
    if let Some((name, n)) = target
        && name == point
        && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        std::process::abort();
    }
}

#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub(crate) fn hit(_point: &'static str) {}
