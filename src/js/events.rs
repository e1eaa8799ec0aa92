//! Event kinds and payloads as JavaScript receives them.
//!
//! Callbacks get `(kind, payload)`; the numbers are mirrored in
//! `lib/binding.js`.

use napi::bindgen_prelude::{Null, ToNapiValue};
use napi::sys;
use napi_derive::napi;

use crate::error::Error;
use crate::transport::Endpoints;

use super::connection::NativeConnection;

pub const MESSAGES: u32 = 0;
pub const CONNECT: u32 = 1;
pub const DRAIN: u32 = 2;
pub const END: u32 = 3;
pub const ERROR: u32 = 4;
pub const CLOSE: u32 = 5;
pub const CONNECTION: u32 = 6;

/// `{ code, message }` of a failure.
#[napi(object)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        ErrorInfo {
            code: e.code(),
            message: e.to_string(),
        }
    }
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

/// The second callback argument.
pub enum Payload {
    /// Copied into a new JS Buffer: cheaper than an external buffer for
    /// the small batches that dominate RPC traffic.
    Bytes(Vec<u8>),
    Endpoints(EndpointInfo),
    Error(ErrorInfo),
    Connection(NativeConnection),
    Nothing,
}

impl ToNapiValue for Payload {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        match val {
            Payload::Bytes(bytes) => {
                let mut data = std::ptr::null_mut();
                let mut value = std::ptr::null_mut();
                napi::check_status!(
                    unsafe {
                        sys::napi_create_buffer_copy(
                            env,
                            bytes.len(),
                            bytes.as_ptr().cast(),
                            &mut data,
                            &mut value,
                        )
                    },
                    "cannot create a Buffer of {} bytes",
                    bytes.len()
                )?;
                Ok(value)
            }
            Payload::Endpoints(e) => EndpointInfo::to_napi_value(env, e),
            Payload::Error(e) => ErrorInfo::to_napi_value(env, e),
            Payload::Connection(c) => NativeConnection::to_napi_value(env, c),
            Payload::Nothing => Null::to_napi_value(env, Null),
        }
    }
}
