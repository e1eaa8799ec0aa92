//! The one process-wide Tokio runtime every socket runs on.
//!
//! Created on first use with a small fixed number of workers (the JavaScript
//! thread does the value work; the runtime only moves bytes). Set
//! `MSGPACK_RPC_THREADS` to change the count.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

/// Workers used when `MSGPACK_RPC_THREADS` is not set.
pub const DEFAULT_WORKER_THREADS: usize = 1;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The shared runtime's handle.
///
/// # Panics
/// If the operating system refuses to start a thread at first use.
pub fn handle() -> &'static Handle {
    RUNTIME
        .get_or_init(|| {
            let workers = std::env::var("MSGPACK_RPC_THREADS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|&n: &usize| n > 0)
                .unwrap_or(DEFAULT_WORKER_THREADS);
            Builder::new_multi_thread()
                .worker_threads(workers)
                .thread_name("msgpack-rpc")
                .enable_all()
                .build()
                .expect("cannot start the msgpack-rpc runtime")
        })
        .handle()
}
