//! The write side of a connection: a coalescing byte queue and its writer task.
//!
//! JavaScript appends every message it encoded during one tick with a single
//! [`Outbox::write`]. When the writer is idle that write goes straight to the
//! socket from the calling thread (no thread hop); what does not fit is
//! queued, and the writer task takes everything queued in one swap and writes
//! it as the socket allows. A sync mutex is right here: it is never held
//! across an `.await`.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::error::{Error, Result};
use crate::shutdown::Stop;
use crate::transport::{DirectWrite, Io};

/// Queue size past which a writer reports backpressure (`write` returns the
/// queued size and callers compare it with their high-water mark).
pub const DEFAULT_HIGH_WATER_MARK: usize = 1024 * 1024;

#[derive(Default)]
struct Queue {
    /// The socket, once connected, for writes made while the writer is idle.
    direct: Option<Arc<dyn DirectWrite>>,
    bytes: Vec<u8>,
    /// Bytes taken by the writer and not yet written.
    in_flight: usize,
    /// The writer task is busy (or has been woken); no need to notify again.
    writing: bool,
    /// `end()` was called: write what is queued, then shut the socket down.
    ending: bool,
    /// Nothing more may be queued.
    closed: bool,
}

/// Bytes waiting to be written to one connection.
#[derive(Default)]
pub struct Outbox {
    queue: Mutex<Queue>,
    wake: Notify,
    /// Notified whenever the queue empties, for anyone waiting to drain.
    drained: Notify,
    /// Set when the queue went over the high-water mark; cleared on drain.
    backlogged: AtomicBool,
    /// Triggered by `close()`: interrupts a write blocked on a peer that does not read.
    aborted: Stop,
}

/// How the writer task finished.
#[derive(Debug)]
pub enum WriterExit {
    /// Everything queued was written and the write side shut down.
    Ended,
    /// The connection was closed without flushing.
    Aborted,
    /// Writing failed.
    Failed(Error),
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `data` straight to the socket when the writer is idle and
    /// `direct` allows (no thread hop: lowest latency); otherwise queues it
    /// for the writer task (the syscall then runs on a runtime thread, in
    /// parallel with the caller: best for bursts).
    ///
    /// Returns the bytes now waiting to be written (queued and in flight).
    ///
    /// # Errors
    /// [`Error::Closed`] once the connection was ended or closed.
    pub fn write(&self, data: &[u8], direct: bool) -> Result<usize> {
        let mut q = self.queue.lock();
        if q.closed || q.ending {
            return Err(Error::Closed);
        }
        let mut data = data;
        if direct && !q.writing && q.bytes.is_empty() {
            if let Some(direct) = &q.direct {
                // Errors other than WouldBlock are left for the writer task to report.
                if let Ok(n) = direct.try_write(data) {
                    if n == data.len() {
                        return Ok(0);
                    }
                    data = &data[n..];
                }
            }
        }
        q.bytes.extend_from_slice(data);
        let pending = q.bytes.len() + q.in_flight;
        if !q.writing {
            q.writing = true;
            self.wake.notify_one();
        }
        Ok(pending)
    }

    /// Bytes waiting to be written.
    pub fn pending(&self) -> usize {
        let q = self.queue.lock();
        q.bytes.len() + q.in_flight
    }

    /// Marks the outbox as over its high-water mark; `drained` fires later.
    pub fn set_backlogged(&self) {
        self.backlogged.store(true, Ordering::SeqCst);
    }

    /// Resolves when nothing is waiting to be written.
    pub async fn wait_drained(&self) {
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.pending() == 0 || self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    /// Writes what is queued, then shuts the write side down.
    pub fn end(&self) {
        let mut q = self.queue.lock();
        if q.closed || q.ending {
            return;
        }
        q.ending = true;
        if !q.writing {
            q.writing = true;
            self.wake.notify_one();
        }
    }

    /// Refuses further writes and drops what is queued.
    pub fn close(&self) {
        let mut q = self.queue.lock();
        q.closed = true;
        q.bytes = Vec::new();
        drop(q);
        self.aborted.trigger();
        self.wake.notify_one();
        self.drained.notify_waiters();
    }

    /// Whether [`Outbox::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.queue.lock().closed
    }

    /// Runs the writer over `io` until the outbox is ended or closed.
    /// `on_drain` is called when a backlogged queue empties.
    pub async fn run<S: Io>(&self, io: Arc<S>, on_drain: impl Fn()) -> WriterExit {
        self.queue.lock().direct = Some(io.clone() as Arc<dyn DirectWrite>);
        let exit = self.write_loop(&*io, on_drain).await;
        self.queue.lock().direct = None;
        exit
    }

    async fn write_loop<S: Io>(&self, io: &S, on_drain: impl Fn()) -> WriterExit {
        let mut batch = Vec::new();
        loop {
            let idle_ending = {
                let mut q = self.queue.lock();
                q.in_flight = 0;
                if q.closed {
                    return WriterExit::Aborted;
                }
                if q.bytes.is_empty() {
                    q.writing = false;
                    Some(q.ending)
                } else {
                    // Swap buffers so the lock is never held while writing.
                    batch.clear();
                    std::mem::swap(&mut batch, &mut q.bytes);
                    q.in_flight = batch.len();
                    None
                }
            };
            if let Some(ending) = idle_ending {
                self.drained.notify_waiters();
                if self.backlogged.swap(false, Ordering::SeqCst) {
                    on_drain();
                }
                if ending {
                    return match io.shutdown_write() {
                        Ok(()) => WriterExit::Ended,
                        Err(e) => WriterExit::Failed(e.into()),
                    };
                }
                self.wake.notified().await;
                continue;
            }
            tokio::select! {
                written = write_all(io, &batch) => {
                    if let Err(e) = written {
                        self.close();
                        return WriterExit::Failed(e.into());
                    }
                }
                _ = self.aborted.wait() => return WriterExit::Aborted,
            }
            batch.clear();
            // Do not keep a huge buffer around after a burst.
            if batch.capacity() > 4 * 1024 * 1024 {
                batch = Vec::new();
            }
        }
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
    use tokio::io::AsyncReadExt;
    use tokio::net::UnixStream;

    #[tokio::test]
    async fn writes_everything_queued_then_ends() {
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let outbox = Arc::new(Outbox::new());
        // Queued before the writer runs, then written directly once it does.
        outbox.write(b"hello ", true).unwrap();
        let writer = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.run(Arc::new(ours), || {}).await }
        });
        tokio::task::yield_now().await;
        outbox.write(&[b'x'; 1000], true).unwrap();
        outbox.write(&[b'y'; 300_000], false).unwrap();
        outbox.end();
        assert!(matches!(outbox.write(b"late", true), Err(Error::Closed)));
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await.unwrap();
        assert_eq!(got.len(), 301_006);
        assert_eq!(&got[..6], b"hello ");
        assert!(matches!(writer.await.unwrap(), WriterExit::Ended));
    }

    #[tokio::test]
    async fn close_aborts_a_writer_blocked_on_a_peer_that_does_not_read() {
        let (ours, _peer) = UnixStream::pair().unwrap();
        let outbox = Arc::new(Outbox::new());
        outbox.write(&vec![1; 8 * 1024 * 1024], true).unwrap();
        let writer = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.run(Arc::new(ours), || {}).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(outbox.pending() > 0);
        outbox.close();
        assert!(matches!(writer.await.unwrap(), WriterExit::Aborted));
    }
}
