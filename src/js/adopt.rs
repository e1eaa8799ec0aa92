//! `NativeAdopter`: turns connections Node accepted into native ones.
//!
//! In a `node:cluster` worker the primary accepts and passes each
//! connection over IPC as a Node socket; to keep Node's sharing semantics
//! and still run the connection natively, JavaScript hands the socket's
//! descriptor here. We work on a duplicate, so JavaScript can destroy its
//! socket (closing the original) without touching ours.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::Arc;

use napi::bindgen_prelude::Env;
use napi_derive::napi;

use crate::budget::PartialBudget;
use crate::connection::Options;
use crate::error::Error;
use crate::transport;

use super::connection::NativeConnection;
use super::events::to_js_error;
use super::options::ConnectionOptions;

/// A duplicate of `fd`, or a Node-style error (`EBADF` when it is not open).
pub(super) fn duplicate(env: &Env, fd: i32, syscall: &'static str) -> napi::Result<OwnedFd> {
    if fd < 0 {
        return Err(napi::Error::new(
            napi::Status::InvalidArg,
            format!("fd should be >= 0, got {fd}"),
        ));
    }
    // SAFETY: only borrowed for the dup below, which fails cleanly with
    // EBADF if `fd` is not open; `fd` is not -1 (checked above).
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    borrowed.try_clone_to_owned().map_err(|source| {
        to_js_error(
            env,
            &Error::Os {
                syscall,
                address: format!("fd {fd}"),
                port: None,
                source,
            },
        )
    })
}

/// Makes `NativeConnection`s from accepted sockets' descriptors, all
/// sharing one budget for incomplete messages, as one server's do.
#[napi]
pub struct NativeAdopter {
    options: Options,
    budget: Arc<PartialBudget>,
}

#[napi]
impl NativeAdopter {
    #[napi(constructor)]
    pub fn new(options: Option<ConnectionOptions>) -> Self {
        let js_options = options.unwrap_or_default();
        NativeAdopter {
            options: Options::from(&js_options),
            budget: js_options.partial_budget(),
        }
    }

    /// The connected stream socket `fd` (duplicated; the original stays
    /// the caller's to close) as the object a server's CONNECTION event
    /// gives: it starts reading on `start()`.
    #[napi]
    pub fn adopt(&self, env: Env, fd: i32) -> napi::Result<NativeConnection> {
        let dup = duplicate(&env, fd, "accept")?;
        let socket = transport::socket_from_fd(dup, fd).map_err(|e| to_js_error(&env, &e))?;
        Ok(NativeConnection::accepted(
            socket,
            self.options,
            &self.budget,
        ))
    }
}
