//! One MessagePack-RPC connection over a socket: the [`Outbox`] writer, the
//! connection's end, and what the reader (which runs on the JavaScript
//! thread, see [`crate::reader`]) calls to frame what it read, answer broken
//! requests, pause, and report how reading ended.
//!
//! A connection has no task of its own: a writer task runs only while
//! bytes wait for the socket, and the connection closes from whichever
//! thread ends its writing (an `end()` with nothing queued shuts the socket
//! down from the caller's thread). Its events go to the [`EventSink`] it
//! reports to.
//!
//! The connection answers requests whose envelope is broken (when their msgid
//! can be read) by itself; anything else that is not MessagePack-RPC ends the
//! connection with an [`Event::Error`]. The peer ending its side is
//! reported as [`Event::End`] and leaves ours open until [`Connection::end`].
//! The last event is always [`Event::Close`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::BytesMut;

use crate::budget::{BudgetSlot, PartialBudget};
use crate::deframer::Deframer;
use crate::error::{Error, Result};
use crate::framer::Limits;
use crate::guard::panic_message;
use crate::outbox::{Next, Outbox, WriterExit, DEFAULT_HIGH_WATER_MARK};
use crate::shutdown::Stop;
use crate::transport::SharedSocket;

/// What a connection reports, in order; [`Event::Close`] is always last.
#[derive(Debug)]
pub enum Event {
    /// The transport is connected (reported by [`Connection::connected`]
    /// for a client, before any other event).
    Connect,
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
    /// Called from any thread (a runtime thread, or the one that ended or
    /// read the connection) for every event; must not call back into the
    /// connection.
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

/// Where a connection's events go and where its tasks run.
struct Reporting {
    sink: Arc<dyn EventSink>,
    /// `None`: the process-wide runtime, started when a task first needs
    /// it (a connection whose writes the socket always takes at once, and
    /// that connects from the JavaScript thread, never does).
    runtime: Option<tokio::runtime::Handle>,
}

impl Reporting {
    fn runtime(&self) -> &tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .unwrap_or_else(|| crate::runtime::handle())
    }
}

/// How far the connection's two directions got.
#[derive(Debug, Default)]
struct Ends {
    /// The reader reported how reading ended (the first report counts).
    read_over: bool,
    /// That report, until the connection closes and takes it.
    read: Option<ReadOutcome>,
    /// Close was reported.
    closed: bool,
}

/// The handle to a running connection.
pub struct Connection {
    options: Options,
    outbox: Outbox,
    stop: Stop,
    reporting: OnceLock<Reporting>,
    /// The connected socket, for the reader; dropped when the connection
    /// closes so the descriptor does not outlive it.
    socket: parking_lot::Mutex<Option<SharedSocket>>,
    ends: parking_lot::Mutex<Ends>,
    /// Why the connection was failed from outside (see `fail`).
    failure: parking_lot::Mutex<Option<Error>>,
    /// This connection's share of its server's budget for incomplete
    /// messages. Shared so that a report runs without this lock held: the
    /// budget may fail this very connection, which then closes on the
    /// reporting thread and releases its slot.
    budget: parking_lot::Mutex<Option<Arc<BudgetSlot>>>,
    /// Bytes of an incomplete message the reader held after its last read
    /// (JavaScript's `maxMessageTime` check reads it).
    partial: AtomicUsize,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("outbox", &self.outbox)
            .field("ends", &*self.ends.lock())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection whose outbox accepts writes already; it reports to
    /// nobody until [`Connection::report_to`], and writes reach the socket
    /// from [`Connection::start`] (a client may write while it is still
    /// connecting).
    pub fn new(options: Options) -> Self {
        Connection {
            options,
            outbox: Outbox::with_threshold(options.backlog_threshold()),
            stop: Stop::new(),
            reporting: OnceLock::new(),
            socket: parking_lot::Mutex::new(None),
            ends: parking_lot::Mutex::default(),
            failure: parking_lot::Mutex::new(None),
            budget: parking_lot::Mutex::new(None),
            partial: AtomicUsize::new(0),
        }
    }

    /// Sends this connection's events to `sink` and runs its tasks on
    /// `runtime`, or on the process-wide one (set once, before anything can
    /// happen to it).
    pub fn report_to(&self, sink: Arc<dyn EventSink>, runtime: Option<tokio::runtime::Handle>) {
        let _ = self.reporting.set(Reporting { sink, runtime });
    }

    fn emit(&self, event: Event) {
        if let Some(r) = self.reporting.get() {
            r.sink.emit(event);
        }
    }

    /// The transport is there: the reader may read it, and what was
    /// written meanwhile goes out.
    pub fn start(self: &Arc<Self>, socket: SharedSocket) {
        self.open(socket, false);
    }

    /// A client's transport connected: as [`Connection::start`], reporting
    /// [`Event::Connect`] once the socket is there for the reader (the
    /// binding starts reading when that event arrives, which may be before
    /// this thread runs another line).
    pub fn connected(self: &Arc<Self>, socket: SharedSocket) {
        self.open(socket, true);
    }

    /// A connection closed meanwhile (destroyed while connecting) drops the
    /// socket and reports nothing: Close was its last event, and a socket
    /// kept would hold the peer's side open for as long as the handle lives.
    fn open(self: &Arc<Self>, socket: SharedSocket, connect: bool) {
        {
            let ends = self.ends.lock();
            if ends.closed {
                return;
            }
            *self.socket.lock() = Some(socket.clone());
            if connect {
                // Under the lock: a close racing on another thread comes after.
                self.emit(Event::Connect);
            }
        }
        let next = self.outbox.attach(socket);
        self.follow(next);
    }

    /// Counts this connection's incomplete messages against `budget`.
    pub fn join_budget(self: &Arc<Self>, budget: &Arc<PartialBudget>) {
        *self.budget.lock() = Some(Arc::new(budget.join(Arc::downgrade(self))));
    }

    /// Reports how many bytes of incomplete messages the reader holds
    /// (after each read). Over the server's budget, the connection holding
    /// the most is failed, which may be this one.
    pub fn holding_partial(&self, bytes: usize) {
        // Most reads end on a message boundary, as the one before did: the
        // budget (a lock every connection of the server shares) already
        // holds this figure.
        if self.partial.swap(bytes, Ordering::Relaxed) == bytes {
            return;
        }
        // Cloned out: failing this connection closes it here, which takes
        // the slot under the same lock.
        let slot = self.budget.lock().clone();
        if let Some(slot) = slot {
            slot.hold(bytes);
        }
    }

    /// Bytes of an incomplete message held after the last read.
    pub fn partial_bytes(&self) -> usize {
        self.partial.load(Ordering::Relaxed)
    }

    /// Fails the connection from outside (a refused connect, a panic, the
    /// server's budget): `error` is reported, then it closes. Nothing is
    /// reported once it has failed or is closing already.
    pub fn fail(self: &Arc<Self>, error: Error) {
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
    pub fn write(self: &Arc<Self>, data: &[u8], direct: bool) -> Result<usize> {
        let (pending, next) = self.outbox.write(data, direct)?;
        self.follow(next);
        Ok(pending)
    }

    /// Bytes waiting to be written.
    pub fn pending_bytes(&self) -> usize {
        self.outbox.pending()
    }

    /// Writes what is queued, then closes.
    pub fn end(self: &Arc<Self>) {
        let next = self.outbox.end();
        self.follow(next);
    }

    /// Closes at once, dropping what is queued.
    pub fn destroy(self: &Arc<Self>) {
        let next = self.outbox.close();
        self.stop.trigger();
        self.follow(next);
    }

    /// Whether the connection was destroyed (or failed, or has closed).
    pub fn is_destroyed(&self) -> bool {
        self.stop.is_triggered()
    }

    /// The connected socket, while the connection is open.
    pub fn socket(&self) -> Option<SharedSocket> {
        self.socket.lock().clone()
    }

    /// The reader stopped. At the peer's end the connection stays open for
    /// writing (half-close: the consumer ends it once it has answered what
    /// it received); a failure closes it.
    pub fn read_finished(self: &Arc<Self>, outcome: ReadOutcome) {
        let mut ends = self.ends.lock();
        if ends.closed || ends.read_over {
            return;
        }
        ends.read_over = true;
        let failed = matches!(outcome, ReadOutcome::Failed(_));
        if matches!(outcome, ReadOutcome::Eof) {
            // Under the lock: a close racing on another thread comes after.
            self.emit(Event::End);
        }
        ends.read = Some(outcome);
        drop(ends);
        if failed {
            self.destroy();
        }
    }

    /// For the reader: hands the complete messages in `buf` to
    /// `deliver` in batches of at most `max` bytes (see
    /// [`Deframer::drain`]), and answers broken requests.
    ///
    /// # Errors
    /// Bytes that are not MessagePack-RPC; the connection cannot go on.
    pub fn drain_messages(
        self: &Arc<Self>,
        deframer: &mut Deframer,
        buf: &mut BytesMut,
        max: usize,
        deliver: impl FnMut(&[u8]) -> bool,
    ) -> Result<()> {
        deframer.drain(buf, max, deliver, |reply| {
            // A closed outbox means the connection is going away anyway.
            let _ = self.write(reply, false);
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

    /// Does what the outbox asks: start a writer, or close.
    fn follow(self: &Arc<Self>, next: Next) {
        match next {
            Next::Nothing => {}
            Next::StartWriter => self.start_writer(),
            Next::Finished(exit) => self.close(exit),
        }
    }

    fn start_writer(self: &Arc<Self>) {
        let (Some(reporting), Some(socket)) = (self.reporting.get(), self.outbox.socket()) else {
            return;
        };
        let conn = self.clone();
        reporting.runtime().spawn(async move {
            let written = CatchUnwind {
                task: conn.outbox.write_queued(&*socket, || conn.emit_drain()),
            }
            .await;
            match written {
                Ok(Some(exit)) => conn.close(exit),
                Ok(None) => {}
                Err(payload) => {
                    conn.failure
                        .lock()
                        .get_or_insert(Error::Internal(panic_message(payload)));
                    if conn.outbox.abandon() {
                        conn.close(WriterExit::Aborted);
                    }
                }
            }
        });
    }

    /// Reports a drain, unless the connection closed meanwhile (the writer
    /// reports it after letting go of the queue, when a destroy on another
    /// thread may already have closed the connection): Close is the last
    /// event.
    fn emit_drain(&self) {
        let ends = self.ends.lock();
        if !ends.closed {
            // Under the lock: a close racing on another thread comes after.
            self.emit(Event::Drain);
        }
    }

    /// Writing is over: the connection closes (reported once, by whoever
    /// ended writing).
    fn close(&self, write_exit: WriterExit) {
        let read_exit = {
            let mut ends = self.ends.lock();
            if std::mem::replace(&mut ends.closed, true) {
                return;
            }
            ends.read.take()
        };
        self.stop.trigger();
        self.socket.lock().take();
        self.budget.lock().take();
        let failure = self.failure.lock().take();
        match (read_exit, write_exit, failure) {
            (_, _, Some(e))
            | (Some(ReadOutcome::Failed(e)), _, _)
            | (_, WriterExit::Failed(e), _)
                if !e.is_peer_gone() =>
            {
                self.emit(Event::Error(e))
            }
            // The peer closed (or reset) the connection: a close, not a failure.
            _ => {}
        }
        self.emit(Event::Close);
    }

    /// Runs `task` (connecting, say) on the connection's runtime; should
    /// it panic, the panic is reported as [`Error::Internal`] and the
    /// connection closed, so the consumer always sees [`Event::Close`].
    pub fn spawn_supervised<F>(self: &Arc<Self>, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let Some(reporting) = self.reporting.get() else {
            return;
        };
        let conn = self.clone();
        reporting.runtime().spawn(async move {
            if let Err(payload) = (CatchUnwind { task }).await {
                conn.fail(Error::Internal(panic_message(payload)));
            }
        });
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
