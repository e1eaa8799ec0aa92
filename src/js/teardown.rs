//! What to close when a JavaScript environment (a worker thread) ends.
//!
//! One environment cleanup hook per thread runs every registered action;
//! handles register when they start and unregister when they close. (A hook
//! per handle would leak: N-API frees nothing when a hook is removed.)

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use napi::Env;

use crate::guard::catch_panic;

#[derive(Default)]
struct Registry {
    next: Cell<u64>,
    actions: RefCell<HashMap<u64, Box<dyn FnOnce()>>>,
}

thread_local! {
    static REGISTRY: RefCell<Option<Rc<Registry>>> = const { RefCell::new(None) };
    static TORN_DOWN: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread's environment is being (or was) torn down: its
/// N-API references are gone with it and must not be released.
pub fn torn_down() -> bool {
    TORN_DOWN.get()
}

/// Runs `action` if this thread's environment is torn down before
/// [`unregister`] is called with the returned id.
///
/// # Errors
/// If N-API refuses the cleanup hook.
pub fn register(env: &Env, action: Box<dyn FnOnce()>) -> napi::Result<u64> {
    let registry = REGISTRY.with(|slot| -> napi::Result<Rc<Registry>> {
        if let Some(r) = slot.borrow().as_ref() {
            return Ok(r.clone());
        }
        let r = Rc::new(Registry::default());
        env.add_env_cleanup_hook(r.clone(), |r: Rc<Registry>| {
            // Called from C: a panic must not unwind into it, and one
            // failing action must not keep the others from running.
            TORN_DOWN.set(true);
            let _ = catch_panic(|| REGISTRY.with(|slot| slot.borrow_mut().take()));
            let actions = catch_panic(|| {
                r.actions
                    .borrow_mut()
                    .drain()
                    .map(|(_, a)| a)
                    .collect::<Vec<_>>()
            });
            for action in actions.unwrap_or_default() {
                let _ = catch_panic(action);
            }
        })?;
        *slot.borrow_mut() = Some(r.clone());
        Ok(r)
    })?;
    let id = registry.next.get();
    registry.next.set(id + 1);
    registry.actions.borrow_mut().insert(id, action);
    Ok(id)
}

/// Forgets the action registered as `id` (the handle closed normally).
pub fn unregister(id: u64) {
    REGISTRY.with(|slot| {
        if let Some(r) = slot.borrow().as_ref() {
            r.actions.borrow_mut().remove(&id);
        }
    });
}
