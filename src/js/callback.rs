//! A connection's JavaScript callback, as native code calls it: a strong
//! reference to the function and the async context it runs in (made when
//! the connection was created, so `AsyncLocalStorage` and async hooks see
//! its events as coming from the code that made it).
//!
//! The reader (messages) and the event hub (everything else) share one per
//! connection.

use std::ffi::c_char;
use std::ptr;

use napi::bindgen_prelude::ToNapiValue;
use napi::sys;

use super::teardown;

pub struct JsCallback {
    env: sys::napi_env,
    function: sys::napi_ref,
    context: sys::napi_async_context,
}

impl JsCallback {
    /// References `function` and opens an async context named `name`.
    ///
    /// # Errors
    /// When N-API refuses either.
    pub fn new(
        env: sys::napi_env,
        function: sys::napi_value,
        name: &'static [u8],
    ) -> napi::Result<Self> {
        // SAFETY: N-API calls on the JS thread that owns `env`.
        unsafe {
            let mut reference = ptr::null_mut();
            check(sys::napi_create_reference(env, function, 1, &mut reference))?;
            let mut resource_name = ptr::null_mut();
            let mut context = ptr::null_mut();
            let opened = check(sys::napi_create_string_latin1(
                env,
                name.as_ptr().cast::<c_char>(),
                name.len() as isize,
                &mut resource_name,
            ))
            .and_then(|()| {
                check(sys::napi_async_init(
                    env,
                    ptr::null_mut(),
                    resource_name,
                    &mut context,
                ))
            });
            if let Err(e) = opened {
                sys::napi_delete_reference(env, reference);
                return Err(e);
            }
            Ok(JsCallback {
                env,
                function: reference,
                context,
            })
        }
    }

    pub fn env(&self) -> sys::napi_env {
        self.env
    }

    /// Calls the function with `argv` in the connection's async context
    /// (the microtask and nextTick queues run after it, as for any event
    /// Node delivers). A throw is reported like any uncaught exception.
    /// Returns the function's result; `None` if it threw or could not be
    /// called.
    ///
    /// # Safety
    /// On the JS thread, inside a handle scope, with values of this env.
    pub unsafe fn call(&self, argv: &[sys::napi_value]) -> Option<sys::napi_value> {
        let env = self.env;
        // SAFETY: the caller's contract.
        unsafe {
            let (mut function, mut recv) = (ptr::null_mut(), ptr::null_mut());
            let ready = sys::napi_get_reference_value(env, self.function, &mut function)
                == sys::Status::napi_ok
                && !function.is_null()
                // napi_make_callback wants an object as `this`.
                && sys::napi_get_global(env, &mut recv) == sys::Status::napi_ok;
            if !ready {
                return None;
            }
            let mut result = ptr::null_mut();
            let status = sys::napi_make_callback(
                env,
                self.context,
                recv,
                function,
                argv.len(),
                argv.as_ptr(),
                &mut result,
            );
            if status == sys::Status::napi_pending_exception {
                report_pending_exception(env);
                return None;
            }
            (status == sys::Status::napi_ok && !result.is_null()).then_some(result)
        }
    }
}

impl JsCallback {
    /// Calls the function with `(kind, payload)`, the shape every native
    /// object's events take. A payload that cannot be made reports its
    /// exception as uncaught: nothing else can run on this thread while it
    /// is pending.
    ///
    /// # Safety
    /// As [`JsCallback::call`].
    pub unsafe fn emit<P: ToNapiValue>(&self, kind: u32, payload: P) {
        let env = self.env;
        // SAFETY: the caller's contract.
        unsafe {
            let mut kind_value = ptr::null_mut();
            let converted =
                if sys::napi_create_uint32(env, kind, &mut kind_value) == sys::Status::napi_ok {
                    P::to_napi_value(env, payload).ok()
                } else {
                    None
                };
            match converted {
                Some(payload) => {
                    self.call(&[kind_value, payload]);
                }
                None => report_pending_exception(env),
            }
        }
    }
}

impl Drop for JsCallback {
    fn drop(&mut self) {
        // References die with their environment (a worker ending).
        if teardown::torn_down() {
            return;
        }
        // SAFETY: dropped on the JS thread (every owner is thread-bound).
        unsafe {
            sys::napi_delete_reference(self.env, self.function);
            sys::napi_async_destroy(self.env, self.context);
        }
    }
}

/// Reports the exception pending on `env`, if any, like any uncaught
/// exception: N-API calls on an env with one pending all fail.
///
/// # Safety
/// On the JS thread that owns `env`.
pub unsafe fn report_pending_exception(env: sys::napi_env) {
    // SAFETY: the caller's contract.
    unsafe {
        let mut pending = false;
        if sys::napi_is_exception_pending(env, &mut pending) == sys::Status::napi_ok && pending {
            let mut exception = ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut exception);
            sys::napi_fatal_exception(env, exception);
        }
    }
}

pub fn check(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::from_reason(format!(
            "N-API call failed with status {status}"
        )))
    }
}
