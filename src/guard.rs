//! Keeps panics from unwinding out of the core into a caller that cannot
//! take them: libuv and N-API call our `extern "C"` functions, and a panic
//! unwinding through C aborts the process.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::Error;

/// Runs `f`; a panic inside it becomes [`Error::Internal`] with the panic's
/// message. Callers must leave what `f` touched in a state where reporting
/// the failure is safe: in practice they finish the connection it belonged to.
///
/// # Errors
/// [`Error::Internal`] when `f` panicked.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, Error> {
    // AssertUnwindSafe: after a panic the caller only reports and tears down.
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| Error::Internal(panic_message(payload)))
}

/// The text of a panic payload (`panic!("...")` gives a `&str` or `String`).
pub fn panic_message(payload: Box<dyn Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a connection task panicked".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_closure_becomes_an_internal_error() {
        let n = 3;
        let err = catch_panic(|| -> u32 { panic!("boom {n}") }).unwrap_err();
        assert!(
            matches!(&err, Error::Internal(m) if m == "boom 3"),
            "{err:?}"
        );
        assert_eq!(err.code(), "ERR_MSGPACK_RPC_INTERNAL");
    }

    #[test]
    fn a_closure_that_returns_keeps_its_value() {
        assert_eq!(catch_panic(|| 7).unwrap(), 7);
    }
}
