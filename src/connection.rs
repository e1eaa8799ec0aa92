//! One MessagePack-RPC connection over a socket: the [`Outbox`] writer, the
//! connection's end, and what the reader (which runs on the JavaScript
//! thread, see [`crate::reader`]) calls to frame what it read, answer broken
//! requests, pause, and report how reading ended.
//!
//! The connection answers requests whose envelope is broken (when their msgid
//! can be read) by itself; anything else that is not MessagePack-RPC ends the
//! connection with an [`Event::Error`]. The peer ending its side is
//! reported as [`Event::End`] and leaves ours open until [`Connection::end`].
//! The last event is always [`Event::Close`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use tokio::sync::Notify;

use crate::budget::{BudgetSlot, PartialBudget};
use crate::deframer::Deframer;
use crate::error::{Error, Result};
use crate::framer::Limits;
use crate::guard::panic_message;
use crate::outbox::{Outbox, WriterExit, DEFAULT_HIGH_WATER_MARK};
use crate::shutdown::Stop;
use crate::transport::{Endpoints, SharedSocket};

/// What a connection reports, in order; [`Event::Close`] is always last.
#[derive(Debug)]
pub enum Event {
    /// The transport is connected (sent by whoever dials it, before any
    /// other event).
    Connect(Endpoints),
    /// The outbox emptied after having been over its high-water mark.
    Drain,
    /// The peer ended its side of the connection.
    End,
    /// The connection failed; it closes next.
    Error(Error),
    /// The connection is closed.
    Close,
}

/// Receives a connection's events (the binding forwards them to JavaScript).
pub trait EventSink: Send + Sync + 'static {
    /// Called from a runtime thread for every event.
    fn emit(&self, event: Event);
}

/// Settings of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub limits: Limits,
    /// Stop reading while more than this many bytes wait to be written.
    /// Servers set it so a peer that sends requests but does not read the
    /// responses cannot grow our memory; `None` reads regardless.
    pub max_queued_replies: Option<usize>,
    /// Backlog size past which the caller should wait for [`Event::Drain`].
    pub high_water_mark: usize,
}

impl Options {
    /// Pending size past which the outbox reports a drain when it empties:
    /// writers wait for one past the high-water mark, and a paused reader
    /// past `max_queued_replies`, whichever is lower.
    pub fn backlog_threshold(&self) -> usize {
        self.max_queued_replies
            .map_or(self.high_water_mark, |p| p.min(self.high_water_mark))
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            max_queued_replies: None,
            high_water_mark: DEFAULT_HIGH_WATER_MARK,
        }
    }
}

/// The handle to a running connection.
#[derive(Debug)]
pub struct Connection {
    options: Options,
    outbox: Arc<Outbox>,
    stop: Arc<Stop>,
    /// The connected socket, for the reader; dropped when the connection
    /// closes so the descriptor does not outlive it.
    socket: parking_lot::Mutex<Option<SharedSocket>>,
    /// How the reader ended, and the signal that it did.
    read_exit: parking_lot::Mutex<Option<ReadOutcome>>,
    read_done: Notify,
    /// Why the connection was failed from outside (see `fail_with`).
    failure: parking_lot::Mutex<Option<Error>>,
    /// This connection's share of its server's budget for incomplete messages.
    budget: parking_lot::Mutex<Option<BudgetSlot>>,
    /// Bytes of an incomplete message the reader held after its last read
    /// (JavaScript's `maxMessageTime` check reads it).
    partial: AtomicUsize,
}

impl Connection {
    /// A connection whose outbox accepts writes already; [`Connection::run`]
    /// starts it once the transport is there (a client may write while it
    /// is still connecting).
    pub fn new(options: Options) -> Self {
        Connection {
            options,
            outbox: Arc::new(Outbox::with_threshold(options.backlog_threshold())),
            stop: Arc::new(Stop::new()),
            socket: parking_lot::Mutex::new(None),
            read_exit: parking_lot::Mutex::new(None),
            read_done: Notify::new(),
            failure: parking_lot::Mutex::new(None),
            budget: parking_lot::Mutex::new(None),
            partial: AtomicUsize::new(0),
        }
    }

    /// Counts this connection's incomplete messages against `budget`.
    pub fn join_budget(self: &Arc<Self>, budget: &Arc<PartialBudget>) {
        *self.budget.lock() = Some(budget.join(Arc::downgrade(self)));
    }

    /// Reports how many bytes of incomplete messages the reader holds
    /// (after each read). Over the server's budget, the connection holding
    /// the most is failed, which may be this one.
    pub fn holding_partial(&self, bytes: usize) {
        self.partial.store(bytes, Ordering::Relaxed);
        let slot = self.budget.lock();
        if let Some(slot) = slot.as_ref() {
            slot.hold(bytes);
        }
    }

    /// Bytes of an incomplete message held after the last read.
    pub fn partial_bytes(&self) -> usize {
        self.partial.load(Ordering::Relaxed)
    }

    /// Fails the connection from outside its tasks: `error` is reported,
    /// then it closes.
    pub fn fail_with(&self, error: Error) {
        {
            let mut failure = self.failure.lock();
            if failure.is_some() || self.stop.is_triggered() {
                return;
            }
            *failure = Some(error);
        }
        self.destroy();
    }

    /// Writes or queues encoded messages (see [`Outbox::write`] for
    /// `direct`). Returns the bytes now waiting to be written (0 when the
    /// socket took everything); past the high-water mark the caller should
    /// wait for [`Event::Drain`], which is then sure to come.
    ///
    /// # Errors
    /// [`Error::Closed`] once the connection is ending or closed.
    pub fn write(&self, data: &[u8], direct: bool) -> Result<usize> {
        self.outbox.write(data, direct)
    }

    /// Bytes waiting to be written.
    pub fn pending_bytes(&self) -> usize {
        self.outbox.pending()
    }

    /// Writes what is queued, then closes.
    pub fn end(&self) {
        self.outbox.end();
    }

    /// Closes at once, dropping what is queued.
    pub fn destroy(&self) {
        self.outbox.close();
        self.stop.trigger();
    }

    /// Whether the connection was destroyed (or failed).
    pub fn is_destroyed(&self) -> bool {
        self.stop.is_triggered()
    }

    /// Records the connected socket (for the reader to read from).
    pub fn set_socket(&self, socket: SharedSocket) {
        *self.socket.lock() = Some(socket);
    }

    /// The connected socket, while the connection is open.
    pub fn socket(&self) -> Option<SharedSocket> {
        self.socket.lock().clone()
    }

    /// The reader stopped; `run` finishes the connection.
    pub fn read_finished(&self, outcome: ReadOutcome) {
        let mut exit = self.read_exit.lock();
        if exit.is_none() {
            *exit = Some(outcome);
            self.read_done.notify_one();
        }
    }

    /// For the reader: hands the complete messages in `buf` to
    /// `deliver` in batches of at most `max` bytes (see
    /// [`Deframer::drain`]), and answers broken requests.
    ///
    /// # Errors
    /// Bytes that are not MessagePack-RPC; the connection cannot go on.
    pub fn drain_messages(
        &self,
        deframer: &mut Deframer,
        buf: &mut BytesMut,
        max: usize,
        deliver: impl FnMut(&[u8]) -> bool,
    ) -> Result<()> {
        deframer.drain(buf, max, deliver, |reply| {
            // A closed outbox means the connection is going away anyway.
            let _ = self.outbox.write(reply, false);
        })
    }

    /// For the reader: whether to stop reading until
    /// [`Event::Drain`] because too many replies wait to be written.
    pub fn should_pause_reading(&self) -> bool {
        self.options
            .max_queued_replies
            .is_some_and(|limit| self.outbox.over(limit))
    }

    /// The settings this connection was made with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Resolves once the connection is destroyed or has failed.
    pub async fn destroyed(&self) {
        self.stop.wait().await
    }

    /// Writes `socket` until the connection closes (the reader reports
    /// how reading ended with [`Connection::read_finished`]), then emits
    /// [`Event::Close`].
    pub async fn run(&self, socket: SharedSocket, sink: Arc<dyn EventSink>) {
        let reading = async {
            let exit = self.read_exit().await;
            match &exit {
                // Half-close: the peer may still read. The consumer ends our
                // side once it has answered what it received.
                ReadOutcome::Eof => sink.emit(Event::End),
                ReadOutcome::Failed(_) => self.outbox.close(),
                ReadOutcome::Stopped => {}
            }
            exit
        };
        let writing = async {
            let exit = self.outbox.run(socket, || sink.emit(Event::Drain)).await;
            self.stop.trigger();
            exit
        };
        let (read_exit, write_exit) = tokio::join!(reading, writing);
        self.stop.trigger();
        self.socket.lock().take();
        self.budget.lock().take();
        let failure = self.failure.lock().take();
        match (read_exit, write_exit, failure) {
            (_, _, Some(e)) | (ReadOutcome::Failed(e), _, _) | (_, WriterExit::Failed(e), _)
                if !e.is_peer_gone() =>
            {
                sink.emit(Event::Error(e))
            }
            // The peer closed (or reset) the connection: a close, not a failure.
            _ => {}
        }
        sink.emit(Event::Close);
    }

    /// Runs `task` (which drives this connection) on `runtime`; should it
    /// panic, the panic is reported as [`Error::Internal`] and the
    /// connection closed, so the consumer always sees [`Event::Close`].
    pub fn spawn_supervised<F>(
        self: &Arc<Self>,
        runtime: &tokio::runtime::Handle,
        sink: Arc<dyn EventSink>,
        task: F,
    ) where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        // One task, not a second one awaiting it: a task per connection fewer.
        let conn = self.clone();
        runtime.spawn(async move {
            if let Err(payload) = (CatchUnwind { task }).await {
                conn.fail(&*sink, Error::Internal(panic_message(payload)));
            }
        });
    }

    /// Reports a failure to start (a refused connect) and closes.
    pub fn fail(&self, sink: &dyn EventSink, error: Error) {
        self.destroy();
        sink.emit(Event::Error(error));
        sink.emit(Event::Close);
    }

    async fn read_exit(&self) -> ReadOutcome {
        loop {
            let done = self.read_done.notified();
            if let Some(outcome) = self.read_exit.lock().take() {
                return outcome;
            }
            tokio::select! {
                _ = done => {}
                _ = self.stop.wait() => return ReadOutcome::Stopped,
            }
        }
    }
}

/// Polls `task`, turning a panic into its payload.
struct CatchUnwind<F> {
    task: F,
}

impl<F: std::future::Future> std::future::Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        // SAFETY: `task` is pinned with `self` and never moved out.
        let task = unsafe { self.map_unchecked_mut(|s| &mut s.task) };
        // AssertUnwindSafe: after a panic the task is dropped, not polled again.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.poll(cx))) {
            Ok(poll) => poll.map(Ok),
            Err(payload) => std::task::Poll::Ready(Err(payload)),
        }
    }
}

/// How reading a connection ended.
#[derive(Debug)]
pub enum ReadOutcome {
    Eof,
    Stopped,
    Failed(Error),
}

#[cfg(test)]
mod tests;
