//! Accepting: takes the connections waiting on a listening socket, a
//! bounded batch each time the socket is reported readable, and paces the
//! retries after an accept error (such as running out of file
//! descriptors), which never ends the server. The JavaScript thread polls
//! the socket (`src/js/server.rs`); this part knows nothing of libuv.

use std::time::Duration;

use crate::transport::{Acceptor, Endpoints, SharedSocket};

/// Connections accepted per readiness report at most: the poll is
/// level-triggered, so more waiting are taken on the next loop iteration,
/// after the loop's other work.
pub const BATCH: usize = 64;
const FIRST_RETRY: Duration = Duration::from_millis(1);
const LAST_RETRY: Duration = Duration::from_secs(1);

/// How a round of accepting ended.
#[derive(Debug)]
pub enum Round {
    /// No connection is waiting.
    Drained,
    /// [`BATCH`] were accepted; more may wait.
    Full,
    /// The handler asked to stop (the server is closing).
    Stopped,
    /// Accepting failed; try again after `retry_in` (doubling from 1 ms to
    /// 1 s while it keeps failing).
    Failed {
        error: std::io::Error,
        retry_in: Duration,
    },
}

/// A listening server's accepting state.
#[derive(Debug)]
pub struct Listener {
    acceptor: Acceptor,
    retry_in: Duration,
}

impl Listener {
    pub fn new(acceptor: Acceptor) -> Self {
        Listener {
            acceptor,
            retry_in: FIRST_RETRY,
        }
    }

    /// Where the server listens.
    pub fn local(&self) -> Endpoints {
        self.acceptor.local()
    }

    /// See [`Acceptor::take_socket_file`].
    pub fn take_socket_file(&mut self) -> Option<std::path::PathBuf> {
        self.acceptor.take_socket_file()
    }

    pub fn acceptor(&self) -> &Acceptor {
        &self.acceptor
    }

    /// Accepts up to [`BATCH`] waiting connections, handing each to
    /// `accepted`, which returns false to stop.
    pub fn accept_round(&mut self, mut accepted: impl FnMut(SharedSocket) -> bool) -> Round {
        for _ in 0..BATCH {
            match self.acceptor.accept_now() {
                Ok(Some(socket)) => {
                    self.retry_in = FIRST_RETRY;
                    if !accepted(socket) {
                        return Round::Stopped;
                    }
                }
                Ok(None) => return Round::Drained,
                // The peer gave up before it was accepted (or a signal came):
                // nothing to report, as Node does.
                Err(e) if is_skippable(&e) => {}
                Err(error) => {
                    let retry_in = self.back_off();
                    return Round::Failed { error, retry_in };
                }
            }
        }
        Round::Full
    }

    /// Accepting failed (a failed accept, or a poll error on the socket):
    /// how long to wait before trying again, doubling while it keeps failing.
    pub fn back_off(&mut self) -> Duration {
        let retry_in = self.retry_in;
        self.retry_in = (retry_in * 2).min(LAST_RETRY);
        retry_in
    }
}

fn is_skippable(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Addr;

    fn listener() -> (Listener, u16) {
        let addr = Addr::Tcp {
            host: "127.0.0.1".into(),
            port: 0,
        };
        let listener = Listener::new(Acceptor::bind_with(&addr, 512, false).unwrap());
        let port = listener.local().local_port.unwrap();
        (listener, port)
    }

    #[test]
    fn a_round_takes_every_waiting_connection_then_reports_drained() {
        let (mut listener, port) = listener();
        let _clients: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        let mut sockets = Vec::new();
        let round = listener.accept_round(|s| {
            sockets.push(s);
            true
        });
        assert!(matches!(round, Round::Drained), "{round:?}");
        assert_eq!(sockets.len(), 3);
    }

    #[test]
    fn a_round_is_bounded_and_stops_when_asked() {
        let (mut listener, port) = listener();
        let _clients: Vec<_> = (0..BATCH + 2)
            .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        let mut taken = 0;
        let round = listener.accept_round(|_| {
            taken += 1;
            true
        });
        assert!(matches!(round, Round::Full), "{round:?}");
        assert_eq!(taken, BATCH);
        let round = listener.accept_round(|_| false);
        assert!(matches!(round, Round::Stopped), "{round:?}");
        let mut rest = 0;
        let round = listener.accept_round(|_| {
            rest += 1;
            true
        });
        assert!(matches!(round, Round::Drained), "{round:?}");
        assert_eq!(rest, 1);
    }

    #[test]
    fn failures_back_off_doubling_to_a_second() {
        // A listening socket whose accept fails: shut down, accept reports
        // EINVAL on Linux at once, every time.
        let (mut listener, _) = listener();
        socket2::SockRef::from(listener.acceptor())
            .shutdown(std::net::Shutdown::Both)
            .unwrap();
        let mut delays = Vec::new();
        for _ in 0..12 {
            match listener.accept_round(|_| true) {
                Round::Failed { retry_in, .. } => delays.push(retry_in.as_millis()),
                other => panic!("accept should fail, got {other:?}"),
            }
        }
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1000]);
    }
}
