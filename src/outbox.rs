//! The write side of a connection: a coalescing byte queue and its writer.
//!
//! JavaScript appends every message it encoded during one tick with a single
//! [`Outbox::write`]. When no writer runs, that write goes straight to the
//! socket from the calling thread (no thread hop); what does not fit is
//! queued, and the caller starts a writer task ([`Next::StartWriter`]) that
//! takes everything queued in one swap, writes it as the socket allows, and
//! ends once the queue is empty: an idle connection has no task. Ending an
//! idle outbox shuts the socket down from the calling thread. A sync mutex
//! is right here: it is never held across an `.await`.

use std::io;

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::shutdown::Stop;
use crate::transport::{Io, SharedSocket};

/// Queue size past which a writer reports backpressure (`write` returns the
/// queued size and callers compare it with their high-water mark).
pub const DEFAULT_HIGH_WATER_MARK: usize = 1024 * 1024;

#[derive(Default)]
struct Queue {
    /// The socket, once connected.
    socket: Option<SharedSocket>,
    bytes: Vec<u8>,
    /// Bytes taken by the writer and not yet written.
    in_flight: usize,
    /// A writer task owns the queue (it was told to start and has not
    /// finished): only it writes, and only it reports the end of writing.
    writing: bool,
    /// `end()` was called: write what is queued, then shut the socket down.
    ending: bool,
    /// Nothing more may be queued.
    closed: bool,
    /// The write side is over and whoever ended it reported so.
    finished: bool,
    /// The queue went over the backlog threshold since it last emptied:
    /// the writer owes a drain. Kept under the queue's lock so that the
    /// writer emptying the queue and a write going over the threshold
    /// cannot interleave and lose the drain.
    backlogged: bool,
}

/// Bytes waiting to be written to one connection.
pub struct Outbox {
    queue: Mutex<Queue>,
    /// Pending size past which the queue is backlogged (a drain follows).
    threshold: usize,
    /// Triggered by `close()`: interrupts a write blocked on a peer that does not read.
    aborted: Stop,
}

/// How writing finished.
#[derive(Debug)]
pub enum WriterExit {
    /// Everything queued was written and the write side shut down.
    Ended,
    /// The connection was closed without flushing.
    Aborted,
    /// Writing failed.
    Failed(Error),
}

/// What the caller of an outbox method must do next.
#[must_use]
#[derive(Debug)]
pub enum Next {
    /// Nothing (a writer runs, or nothing waits).
    Nothing,
    /// Bytes wait and no writer runs: run [`Outbox::write_queued`] on a
    /// task with the outbox's socket.
    StartWriter,
    /// The write side is over, and the caller is the one to report it.
    Finished(WriterExit),
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl Default for Outbox {
    fn default() -> Self {
        Self::with_threshold(DEFAULT_HIGH_WATER_MARK)
    }
}

impl Outbox {
    /// An empty outbox that reports a drain once its queue, having held
    /// more than `threshold` bytes, empties.
    pub fn with_threshold(threshold: usize) -> Self {
        Outbox {
            queue: Mutex::default(),
            threshold,
            aborted: Stop::new(),
        }
    }

    /// Writes `data` straight to the socket when no writer runs and
    /// `direct` allows (no thread hop: lowest latency); otherwise queues it
    /// for a writer task (the syscall then runs on a runtime thread, in
    /// parallel with the caller: best for bursts).
    ///
    /// Returns the bytes now waiting to be written (queued and in flight);
    /// more than the threshold marks the queue backlogged, and the writer
    /// reports a drain when it empties.
    ///
    /// # Errors
    /// [`Error::Closed`] once the connection was ended or closed.
    pub fn write(&self, data: &[u8], direct: bool) -> Result<(usize, Next)> {
        let mut q = self.queue.lock();
        if q.closed || q.ending {
            return Err(Error::Closed);
        }
        let mut data = data;
        if direct && !q.writing && q.bytes.is_empty() {
            if let Some(socket) = &q.socket {
                // Errors other than WouldBlock are left for the writer to report.
                if let Ok(n) = socket.try_write(data) {
                    if n == data.len() {
                        return Ok((0, Next::Nothing));
                    }
                    data = &data[n..];
                }
            }
        }
        q.bytes.extend_from_slice(data);
        let pending = q.bytes.len() + q.in_flight;
        if pending > self.threshold {
            q.backlogged = true;
        }
        Ok((pending, Self::start_writer(&mut q)))
    }

    /// A writer is needed when bytes wait (or an end does), the socket is
    /// there, and none runs.
    fn start_writer(q: &mut Queue) -> Next {
        if q.writing || q.finished || q.socket.is_none() || (q.bytes.is_empty() && !q.ending) {
            return Next::Nothing;
        }
        q.writing = true;
        Next::StartWriter
    }

    /// The transport connected: what was queued meanwhile can be written.
    pub fn attach(&self, socket: SharedSocket) -> Next {
        let mut q = self.queue.lock();
        if q.finished {
            return Next::Nothing;
        }
        q.socket = Some(socket);
        Self::start_writer(&mut q)
    }

    /// The socket writes go to, while writing is not over.
    pub fn socket(&self) -> Option<SharedSocket> {
        self.queue.lock().socket.clone()
    }

    /// Bytes waiting to be written.
    pub fn pending(&self) -> usize {
        let q = self.queue.lock();
        q.bytes.len() + q.in_flight
    }

    /// Whether more than `limit` bytes wait; if so the queue is marked
    /// backlogged (in the same critical section), so a drain follows.
    pub fn over(&self, limit: usize) -> bool {
        let mut q = self.queue.lock();
        let over = q.bytes.len() + q.in_flight > limit;
        if over {
            q.backlogged = true;
        }
        over
    }

    /// Writes what is queued, then shuts the write side down: at once, from
    /// this thread, when nothing is queued.
    pub fn end(&self) -> Next {
        let mut q = self.queue.lock();
        if q.closed || q.ending {
            return Next::Nothing;
        }
        q.ending = true;
        if q.writing {
            return Next::Nothing;
        }
        if q.socket.is_none() || !q.bytes.is_empty() {
            // Still connecting: the writer started on connect ends it.
            return Next::Nothing;
        }
        let Some(socket) = q.socket.take() else {
            return Next::Nothing;
        };
        q.finished = true;
        drop(q);
        Next::Finished(shut_down(&*socket))
    }

    /// Refuses further writes and drops what is queued.
    pub fn close(&self) -> Next {
        let mut q = self.queue.lock();
        q.closed = true;
        q.bytes = Vec::new();
        self.aborted.trigger();
        if q.writing || q.finished {
            return Next::Nothing;
        }
        q.finished = true;
        q.socket = None;
        Next::Finished(WriterExit::Aborted)
    }

    /// The writer panicked: writing is over (closed), reported by the
    /// caller unless it already was.
    pub fn abandon(&self) -> bool {
        let mut q = self.queue.lock();
        q.closed = true;
        q.bytes = Vec::new();
        q.socket = None;
        !std::mem::replace(&mut q.finished, true)
    }

    /// The writer task: writes what is queued until the queue is empty
    /// (`None`: the task ends, the next write starts another) or writing is
    /// over (`Some`: the task reports how). `on_drain` is called when a
    /// backlogged queue empties. Run it only after [`Next::StartWriter`].
    pub async fn write_queued<S: Io>(&self, io: &S, on_drain: impl Fn()) -> Option<WriterExit> {
        let mut batch = Vec::new();
        loop {
            let idle = {
                let mut q = self.queue.lock();
                q.in_flight = 0;
                if q.closed {
                    q.finished = true;
                    q.socket = None;
                    return Some(WriterExit::Aborted);
                }
                if q.bytes.is_empty() {
                    if q.ending {
                        q.finished = true;
                        q.socket = None;
                    } else {
                        q.writing = false;
                    }
                    Some((q.ending, std::mem::take(&mut q.backlogged)))
                } else {
                    // Swap buffers so the lock is never held while writing.
                    std::mem::swap(&mut batch, &mut q.bytes);
                    q.in_flight = batch.len();
                    None
                }
            };
            if let Some((ending, was_backlogged)) = idle {
                if was_backlogged {
                    on_drain();
                }
                return ending.then(|| shut_down(io));
            }
            tokio::select! {
                written = write_all(io, &batch) => {
                    if let Err(source) = written {
                        let mut q = self.queue.lock();
                        q.closed = true;
                        q.finished = true;
                        q.bytes = Vec::new();
                        q.socket = None;
                        return Some(WriterExit::Failed(Error::Sys { syscall: "write", source }));
                    }
                }
                _ = self.aborted.wait() => {
                    let mut q = self.queue.lock();
                    q.finished = true;
                    q.socket = None;
                    return Some(WriterExit::Aborted);
                }
            }
            batch.clear();
            // Do not keep a huge buffer around after a burst.
            if batch.capacity() > 4 * 1024 * 1024 {
                batch = Vec::new();
            }
        }
    }
}

fn shut_down<S: Io + ?Sized>(io: &S) -> WriterExit {
    match io.shutdown_write() {
        Ok(()) => WriterExit::Ended,
        Err(source) => WriterExit::Failed(Error::Sys {
            syscall: "shutdown",
            source,
        }),
    }
}

async fn write_all<S: Io>(io: &S, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match io.try_write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => io.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{Socket, WriteOnly};
    use std::sync::Arc;
    use tokio::io::AsyncReadExt;
    use tokio::net::UnixStream;
    use tokio::sync::mpsc;

    /// `socket` as connections write it.
    fn write_only(socket: UnixStream) -> SharedSocket {
        Arc::new(WriteOnly::new(Socket::Unix(socket)).unwrap())
    }

    /// Does with `next` what a connection does: starts a writer task (which
    /// may end idle, or report how writing finished), or reports at once.
    fn follow(
        outbox: &Arc<Outbox>,
        next: Next,
        exits: &mpsc::UnboundedSender<WriterExit>,
        on_drain: Arc<dyn Fn() + Send + Sync>,
    ) {
        match next {
            Next::Nothing => {}
            Next::Finished(exit) => exits.send(exit).unwrap(),
            Next::StartWriter => {
                let (outbox, exits) = (outbox.clone(), exits.clone());
                let socket = outbox.socket().expect("a writer starts with a socket");
                tokio::spawn(async move {
                    if let Some(exit) = outbox.write_queued(&*socket, || on_drain()).await {
                        exits.send(exit).unwrap();
                    }
                });
            }
        }
    }

    fn no_drain() -> Arc<dyn Fn() + Send + Sync> {
        Arc::new(|| {})
    }

    #[tokio::test]
    async fn writes_everything_queued_then_ends() {
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let outbox = Arc::new(Outbox::default());
        let (exits, mut exited) = mpsc::unbounded_channel();
        // Queued while connecting: no writer until the socket is attached.
        let (_, next) = outbox.write(b"hello ", true).unwrap();
        assert!(matches!(next, Next::Nothing));
        follow(&outbox, outbox.attach(write_only(ours)), &exits, no_drain());
        let (_, next) = outbox.write(&[b'x'; 1000], true).unwrap();
        follow(&outbox, next, &exits, no_drain());
        let (_, next) = outbox.write(&[b'y'; 300_000], false).unwrap();
        follow(&outbox, next, &exits, no_drain());
        follow(&outbox, outbox.end(), &exits, no_drain());
        assert!(matches!(outbox.write(b"late", true), Err(Error::Closed)));
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await.unwrap();
        assert_eq!(got.len(), 301_006);
        assert_eq!(&got[..6], b"hello ");
        assert!(matches!(exited.recv().await.unwrap(), WriterExit::Ended));
        assert!(exited.try_recv().is_err(), "writing finished twice");
    }

    #[tokio::test]
    async fn an_idle_outbox_writes_and_ends_from_the_calling_thread() {
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let outbox = Arc::new(Outbox::default());
        assert!(matches!(outbox.attach(write_only(ours)), Next::Nothing));
        // The socket takes it all: no writer task.
        assert!(matches!(
            outbox.write(b"abc", true).unwrap(),
            (0, Next::Nothing)
        ));
        // Nothing queued: shut down here, reported by the caller.
        assert!(matches!(outbox.end(), Next::Finished(WriterExit::Ended)));
        assert!(matches!(outbox.close(), Next::Nothing));
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"abc");
    }

    #[tokio::test]
    async fn closing_an_idle_outbox_finishes_writing_once() {
        let outbox = Outbox::default();
        assert!(matches!(
            outbox.close(),
            Next::Finished(WriterExit::Aborted)
        ));
        assert!(matches!(outbox.close(), Next::Nothing));
        assert!(matches!(outbox.end(), Next::Nothing));
        assert!(!outbox.abandon(), "already reported");
    }

    #[tokio::test]
    async fn close_aborts_a_writer_blocked_on_a_peer_that_does_not_read() {
        let (ours, _peer) = UnixStream::pair().unwrap();
        let outbox = Arc::new(Outbox::default());
        let (exits, mut exited) = mpsc::unbounded_channel();
        assert!(matches!(outbox.attach(write_only(ours)), Next::Nothing));
        let (_, next) = outbox.write(&vec![1; 8 * 1024 * 1024], true).unwrap();
        assert!(matches!(next, Next::StartWriter));
        follow(&outbox, next, &exits, no_drain());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(outbox.pending() > 0);
        // The running writer reports the end, not `close`.
        assert!(matches!(outbox.close(), Next::Nothing));
        assert!(matches!(exited.recv().await.unwrap(), WriterExit::Aborted));
    }

    /// Writes from a plain thread race writer tasks emptying the queue and
    /// ending; every write that leaves the queue over the threshold must be
    /// followed by a drain, or a caller waiting for one waits forever.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_backlogged_episode_ends_in_a_drain() {
        const THRESHOLD: usize = 64;
        const WRITES: usize = 4000;
        const PAIRS: usize = 3;
        let mut threads = Vec::new();
        let runtime = tokio::runtime::Handle::current();
        for _ in 0..PAIRS {
            let (ours, mut peer) = UnixStream::pair().unwrap();
            tokio::spawn(async move {
                let mut sink = vec![0u8; 64 * 1024];
                while peer.read(&mut sink).await.is_ok_and(|n| n > 0) {}
            });
            let outbox = Arc::new(Outbox::with_threshold(THRESHOLD));
            let (exits, _exited) = mpsc::unbounded_channel();
            let (drains, drained) = std::sync::mpsc::channel();
            let drains = std::sync::Mutex::new(drains);
            let on_drain: Arc<dyn Fn() + Send + Sync> =
                Arc::new(move || drains.lock().unwrap().send(()).unwrap());
            assert!(matches!(outbox.attach(write_only(ours)), Next::Nothing));
            let runtime = runtime.clone();
            threads.push(std::thread::spawn(move || {
                let _entered = runtime.enter();
                for i in 0..WRITES {
                    // Alternate direct and queued writes, of sizes on both
                    // sides of the threshold.
                    let size = [THRESHOLD * 2, THRESHOLD / 2, THRESHOLD * 4][i % 3];
                    let (pending, next) = outbox.write(&vec![0xc0; size], i % 2 == 0).unwrap();
                    follow(&outbox, next, &exits, on_drain.clone());
                    if pending > THRESHOLD {
                        drained
                            .recv_timeout(std::time::Duration::from_secs(5))
                            .unwrap_or_else(|_| panic!("write {i} was never followed by a drain"));
                    }
                }
                let _ = outbox.close();
            }));
        }
        for t in threads {
            tokio::task::spawn_blocking(move || t.join().unwrap())
                .await
                .unwrap();
        }
    }
}
