//! The write side of a connection: a coalescing byte queue and its writer task.
//!
//! JavaScript appends every message it encoded during one tick with a single
//! [`Outbox::write`]. When the writer is idle that write goes straight to the
//! socket from the calling thread (no thread hop); what does not fit is
//! queued, and the writer task takes everything queued in one swap and writes
//! it as the socket allows. A sync mutex is right here: it is never held
//! across an `.await`.

use std::io;
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
    /// The queue went over the backlog threshold since it last emptied:
    /// the writer owes a drain. Kept under the queue's lock so that the
    /// writer emptying the queue and a write going over the threshold
    /// cannot interleave and lose the drain.
    backlogged: bool,
}

/// Bytes waiting to be written to one connection.
pub struct Outbox {
    queue: Mutex<Queue>,
    wake: Notify,
    /// Pending size past which the queue is backlogged (a drain follows).
    threshold: usize,
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
            wake: Notify::new(),
            threshold,
            aborted: Stop::new(),
        }
    }

    /// Writes `data` straight to the socket when the writer is idle and
    /// `direct` allows (no thread hop: lowest latency); otherwise queues it
    /// for the writer task (the syscall then runs on a runtime thread, in
    /// parallel with the caller: best for bursts).
    ///
    /// Returns the bytes now waiting to be written (queued and in flight);
    /// more than the threshold marks the queue backlogged, and the writer
    /// reports a drain when it empties.
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
        if pending > self.threshold {
            q.backlogged = true;
        }
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
            let idle = {
                let mut q = self.queue.lock();
                q.in_flight = 0;
                if q.closed {
                    return WriterExit::Aborted;
                }
                if q.bytes.is_empty() {
                    q.writing = false;
                    Some((q.ending, std::mem::take(&mut q.backlogged)))
                } else {
                    // Swap buffers so the lock is never held while writing.
                    batch.clear();
                    std::mem::swap(&mut batch, &mut q.bytes);
                    q.in_flight = batch.len();
                    None
                }
            };
            if let Some((ending, was_backlogged)) = idle {
                if was_backlogged {
                    on_drain();
                }
                if ending {
                    return match io.shutdown_write() {
                        Ok(()) => WriterExit::Ended,
                        Err(source) => WriterExit::Failed(Error::Sys {
                            syscall: "shutdown",
                            source,
                        }),
                    };
                }
                self.wake.notified().await;
                continue;
            }
            tokio::select! {
                written = write_all(io, &batch) => {
                    if let Err(source) = written {
                        self.close();
                        return WriterExit::Failed(Error::Sys { syscall: "write", source });
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
    use crate::transport::{Socket, WriteOnly};
    use tokio::io::AsyncReadExt;
    use tokio::net::UnixStream;

    /// `socket` as connections write it.
    fn write_only(socket: UnixStream) -> Arc<WriteOnly> {
        Arc::new(WriteOnly::new(Socket::Unix(socket)).unwrap())
    }

    #[tokio::test]
    async fn writes_everything_queued_then_ends() {
        let (ours, mut peer) = UnixStream::pair().unwrap();
        let outbox = Arc::new(Outbox::default());
        // Queued before the writer runs, then written directly once it does.
        outbox.write(b"hello ", true).unwrap();
        let writer = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.run(write_only(ours), || {}).await }
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
        let outbox = Arc::new(Outbox::default());
        outbox.write(&vec![1; 8 * 1024 * 1024], true).unwrap();
        let writer = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.run(write_only(ours), || {}).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(outbox.pending() > 0);
        outbox.close();
        assert!(matches!(writer.await.unwrap(), WriterExit::Aborted));
    }

    /// Writes from a plain thread race the writer task emptying the queue;
    /// every write that leaves the queue over the threshold must be followed
    /// by a drain, or a caller waiting for one waits forever.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_backlogged_episode_ends_in_a_drain() {
        const THRESHOLD: usize = 64;
        const WRITES: usize = 4000;
        const PAIRS: usize = 3;
        let mut threads = Vec::new();
        for _ in 0..PAIRS {
            let (ours, mut peer) = UnixStream::pair().unwrap();
            tokio::spawn(async move {
                let mut sink = vec![0u8; 64 * 1024];
                while peer.read(&mut sink).await.is_ok_and(|n| n > 0) {}
            });
            let outbox = Arc::new(Outbox::with_threshold(THRESHOLD));
            let (drains, drained) = std::sync::mpsc::channel();
            tokio::spawn({
                let outbox = outbox.clone();
                async move {
                    outbox
                        .run(write_only(ours), move || drains.send(()).unwrap())
                        .await
                }
            });
            threads.push(std::thread::spawn(move || {
                for i in 0..WRITES {
                    // Alternate direct and queued writes, of sizes on both
                    // sides of the threshold.
                    let size = [THRESHOLD * 2, THRESHOLD / 2, THRESHOLD * 4][i % 3];
                    let pending = outbox.write(&vec![0xc0; size], i % 2 == 0).unwrap();
                    if pending > THRESHOLD {
                        drained
                            .recv_timeout(std::time::Duration::from_secs(5))
                            .unwrap_or_else(|_| panic!("write {i} was never followed by a drain"));
                    }
                }
                outbox.close();
            }));
        }
        for t in threads {
            tokio::task::spawn_blocking(move || t.join().unwrap())
                .await
                .unwrap();
        }
    }
}
