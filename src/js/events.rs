//! Event kinds and payloads as JavaScript receives them.
//!
//! Callbacks get `(kind, payload)`; the kinds are exported to JavaScript
//! (`lib/binding.js` re-exports them).

use napi::bindgen_prelude::{Env, FromNapiValue, Null, ToNapiValue, Unknown};
use napi::sys;
use napi_derive::napi;

use crate::error::Error;
use crate::transport::Endpoints;

#[napi]
pub const MESSAGES: u32 = 0;
#[napi]
pub const CONNECT: u32 = 1;
#[napi]
pub const DRAIN: u32 = 2;
#[napi]
pub const END: u32 = 3;
#[napi]
pub const ERROR: u32 = 4;
#[napi]
pub const CLOSE: u32 = 5;
#[napi]
pub const CONNECTION: u32 = 6;

/// `{ code, message }` of a failure, and for OS errors what Node adds:
/// `errno` (negative), `syscall`, `address` and `port` (connect, listen),
/// `hostname` (getaddrinfo).
#[napi(object)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
    pub errno: Option<i32>,
    pub syscall: Option<String>,
    pub address: Option<String>,
    pub port: Option<u32>,
    pub hostname: Option<String>,
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        let details = e.details();
        ErrorInfo {
            code: e.code(),
            message: e.to_string(),
            errno: details.errno,
            syscall: details.syscall.map(str::to_string),
            address: details.address,
            port: details.port.map(u32::from),
            hostname: details.hostname,
        }
    }
}

/// `e` as a thrown JavaScript `Error` whose `code` (and, for OS errors,
/// `errno`, `syscall`, `address`, `port`, `hostname`) are own properties,
/// like the errors of Node's `net`. The one conversion for native methods.
pub fn to_js_error(env: &Env, e: &Error) -> napi::Error {
    match create_error(env.raw(), ErrorInfo::from(e)) {
        // SAFETY: a value just created on this env, on its thread.
        Ok(value) => match unsafe { Unknown::from_napi_value(env.raw(), value) } {
            Ok(unknown) => napi::Error::from(unknown),
            Err(failed) => failed,
        },
        Err(failed) => failed,
    }
}

fn create_error(env: sys::napi_env, info: ErrorInfo) -> napi::Result<sys::napi_value> {
    let mut error = std::ptr::null_mut();
    // SAFETY: N-API calls on the env's own thread; every value is checked.
    unsafe {
        let code = String::to_napi_value(env, info.code.clone())?;
        let message = String::to_napi_value(env, info.message.clone())?;
        napi::check_status!(sys::napi_create_error(env, code, message, &mut error))?;
        let fields = ErrorInfo::to_napi_value(env, info)?;
        // Copy every field present (`code` and `message` again: harmless).
        let mut names = std::ptr::null_mut();
        napi::check_status!(sys::napi_get_property_names(env, fields, &mut names))?;
        let mut count = 0;
        napi::check_status!(sys::napi_get_array_length(env, names, &mut count))?;
        for i in 0..count {
            let (mut name, mut value) = (std::ptr::null_mut(), std::ptr::null_mut());
            napi::check_status!(sys::napi_get_element(env, names, i, &mut name))?;
            napi::check_status!(sys::napi_get_property(env, fields, name, &mut value))?;
            napi::check_status!(sys::napi_set_property(env, error, name, value))?;
        }
    }
    Ok(error)
}

/// Socket addresses in `net.Socket`'s terms.
#[napi(object)]
pub struct EndpointInfo {
    pub remote_address: Option<String>,
    pub remote_port: Option<u32>,
    pub remote_family: Option<String>,
    pub local_address: Option<String>,
    pub local_port: Option<u32>,
}

impl From<&Endpoints> for EndpointInfo {
    fn from(e: &Endpoints) -> Self {
        EndpointInfo {
            remote_address: e.remote_address.clone(),
            remote_port: e.remote_port.map(u32::from),
            remote_family: e.remote_family.clone(),
            local_address: e.local_address.clone(),
            local_port: e.local_port.map(u32::from),
        }
    }
}

/// The second callback argument (a server's new connection is added by
/// `server.rs`, so this module needs nothing of the connection's).
pub enum Payload {
    Error(ErrorInfo),
    Nothing,
}

impl ToNapiValue for Payload {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        match val {
            Payload::Error(e) => ErrorInfo::to_napi_value(env, e),
            Payload::Nothing => Null::to_napi_value(env, Null),
        }
    }
}
