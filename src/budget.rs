//! A server-wide cap on the bytes its connections hold for messages not yet
//! complete.
//!
//! Each connection's limit on one message (`maxMessageSize`) does not bound
//! the server: many connections, each part-way through a big message, add
//! up. Every connection of a server reports what its read buffer holds to
//! one shared [`PartialBudget`] whenever that changes (once per read, not per
//! message); when the total passes the limit, the connection holding the
//! most is failed with [`Error::BufferBudget`] and its share released.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::connection::Connection;
use crate::error::Error;

/// Default for `maxBufferedBytes`.
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 256 * 1024 * 1024;

/// The bytes of incomplete messages all of one server's connections hold.
#[derive(Debug)]
pub struct PartialBudget {
    limit: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    next_id: u64,
    held: HashMap<u64, Holder>,
}

#[derive(Debug)]
struct Holder {
    bytes: usize,
    conn: Weak<Connection>,
}

/// One connection's place in a [`PartialBudget`]; leaves it when dropped.
#[derive(Debug)]
pub struct BudgetSlot {
    budget: Arc<PartialBudget>,
    id: u64,
}

impl PartialBudget {
    /// A budget of `limit` bytes (at least 1).
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(PartialBudget {
            limit: limit.max(1),
            state: Mutex::default(),
        })
    }

    /// The limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes currently held, all connections together.
    pub fn total(&self) -> usize {
        self.state.lock().total
    }

    /// Adds `conn` (holding nothing yet).
    pub fn join(self: &Arc<Self>, conn: Weak<Connection>) -> BudgetSlot {
        let mut state = self.state.lock();
        let id = state.next_id;
        state.next_id += 1;
        state.held.insert(id, Holder { bytes: 0, conn });
        BudgetSlot {
            budget: self.clone(),
            id,
        }
    }
}

impl BudgetSlot {
    /// This connection now holds `bytes` of incomplete messages. Should the
    /// total pass the limit, the connections holding the most (this one,
    /// perhaps) are failed until it fits again.
    pub fn hold(&self, bytes: usize) {
        let budget = &self.budget;
        let mut victims = Vec::new();
        {
            let mut state = budget.state.lock();
            let Some(holder) = state.held.get_mut(&self.id) else {
                return; // already evicted
            };
            if holder.bytes == bytes {
                return;
            }
            let before = std::mem::replace(&mut holder.bytes, bytes);
            state.total = state.total - before + bytes;
            while state.total > budget.limit {
                let Some((&id, _)) = state.held.iter().max_by_key(|(_, h)| h.bytes) else {
                    break;
                };
                let evicted = state.held.remove(&id).expect("the key was just found");
                state.total -= evicted.bytes;
                victims.push((evicted.conn, evicted.bytes));
            }
        }
        // Failed outside the lock: failing runs the connection's own code.
        for (conn, held) in victims {
            if let Some(conn) = conn.upgrade() {
                conn.fail(Error::BufferBudget {
                    limit: budget.limit,
                    held,
                });
            }
        }
    }
}

impl Drop for BudgetSlot {
    fn drop(&mut self) {
        let mut state = self.budget.state.lock();
        if let Some(holder) = state.held.remove(&self.id) {
            state.total -= holder.bytes;
        }
    }
}
