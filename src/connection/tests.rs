//! Socket-level tests of a connection over real TCP: the connection runs as
//! the binding runs it, its socket read by [`reader_task`] through the same
//! [`crate::reader`] code as the JavaScript-thread reader, with libuv's
//! poll replaced by Tokio's readiness.

use super::*;
use crate::framer::Framer;
use crate::reader::{self, Filled};
use crate::test_support::encode;
use crate::transport::{self, Acceptor, Addr, SharedSocket, Socket};
use rmpv::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// What a test sees: the connection's events, and the message batches the
/// reader hands on (which go to JavaScript in the binding).
#[derive(Debug)]
enum Got {
    Messages(Vec<u8>),
    Drain,
    End,
    Error(Error),
    Close,
}

struct Channel(mpsc::UnboundedSender<Got>);

impl EventSink for Channel {
    fn emit(&self, event: Event) {
        let _ = self.0.send(match event {
            Event::Connect => return,
            Event::Drain => Got::Drain,
            Event::End => Got::End,
            Event::Error(e) => Got::Error(e),
            Event::Close => Got::Close,
        });
    }
}

fn request(id: u32, method: &str) -> Vec<u8> {
    encode(&Value::Array(vec![
        0.into(),
        id.into(),
        method.into(),
        Value::Array(vec![1.into(), 2.into()]),
    ]))
}

/// Reads `conn`'s socket as `src/js/uv_reader.rs` does (without its pause
/// by JavaScript): fill, frame and hand on, pause while the outbox is over
/// its limit, report how reading ended.
async fn reader_task(conn: Arc<Connection>, messages: mpsc::UnboundedSender<Got>) {
    let socket = conn.socket().expect("started with a socket");
    let mut deframer = Deframer::new(conn.options().limits);
    let mut buf = BytesMut::new();
    let outcome = loop {
        if conn.is_destroyed() {
            break ReadOutcome::Stopped;
        }
        if conn.should_pause_reading() {
            // The binding resumes on the drain event; polling is enough here.
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            continue;
        }
        let filled = reader::fill(&socket, &mut buf);
        let drained = conn.drain_messages(&mut deframer, &mut buf, 64 * 1024, |batch| {
            let _ = messages.send(Got::Messages(batch.to_vec()));
            true
        });
        if let Err(e) = drained {
            break ReadOutcome::Failed(e);
        }
        conn.holding_partial(buf.len());
        match filled {
            Filled::Empty | Filled::More => {}
            Filled::Eof => break reader::at_end(buf.len()),
            Filled::Failed(e) => break ReadOutcome::Failed(e),
        }
        tokio::select! {
            _ = socket.readable() => {}
            _ = conn.destroyed() => {}
        }
    };
    conn.holding_partial(0);
    conn.read_finished(outcome);
}

/// Starts `socket` as the binding starts an accepted connection (of a
/// server with `budget`).
fn start(
    socket: SharedSocket,
    options: Options,
    budget: Option<&Arc<crate::budget::PartialBudget>>,
) -> (Arc<Connection>, mpsc::UnboundedReceiver<Got>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let conn = Arc::new(Connection::new(options));
    if let Some(budget) = budget {
        conn.join_budget(budget);
    }
    conn.report_to(
        Arc::new(Channel(tx.clone())),
        Some(tokio::runtime::Handle::current()),
    );
    conn.start(socket);
    tokio::spawn(reader_task(conn.clone(), tx));
    (conn, rx)
}

/// A TCP listener on an ephemeral loopback port.
fn loopback_acceptor() -> Acceptor {
    Acceptor::bind_with(
        &Addr::Tcp {
            host: "127.0.0.1".into(),
            port: 0,
        },
        16,
        false,
    )
    .unwrap()
}

/// The connection waiting on `acceptor` (a connect has returned, so it waits).
fn accepted(acceptor: &Acceptor) -> SharedSocket {
    acceptor
        .accept_now()
        .unwrap()
        .expect("a connection waiting")
}

/// A server-side connection on an ephemeral port and a raw client socket.
async fn pair(options: Options) -> (Arc<Connection>, mpsc::UnboundedReceiver<Got>, TcpStream) {
    let acceptor = loopback_acceptor();
    let port = acceptor.local().local_port.unwrap();
    let client = transport::connect_tcp("127.0.0.1", port).await.unwrap();
    let socket = accepted(&acceptor);
    let (conn, rx) = start(socket, options, None);
    (conn, rx, client)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Got>) -> Got {
    tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
        .await
        .expect("no event within 5 s")
        .expect("channel closed")
}

/// The next events are an error with `code` whose message holds `text`, then Close.
async fn expect_failure(rx: &mut mpsc::UnboundedReceiver<Got>, code: &str, text: &str) {
    match next(rx).await {
        Got::Error(e) => {
            assert_eq!(e.code(), code);
            assert!(e.to_string().contains(text), "{e}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(next(rx).await, Got::Close));
}

async fn read_value(client: &mut TcpStream) -> Value {
    let mut buf = Vec::new();
    let mut framer = Framer::new(Limits::default());
    loop {
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before a reply");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(len) = framer.next_frame(&buf).unwrap() {
            return rmpv::decode::read_value(&mut &buf[..len]).unwrap();
        }
    }
}

#[tokio::test]
async fn delivers_every_message_of_one_read_in_one_batch() {
    let (_conn, mut rx, mut client) = pair(Options::default()).await;
    let mut bytes = request(1, "a");
    bytes.extend(request(2, "b"));
    bytes.extend(request(3, "c"));
    client.write_all(&bytes).await.unwrap();
    let mut got = Vec::new();
    while got.len() < bytes.len() {
        match next(&mut rx).await {
            Got::Messages(batch) => got.extend(batch),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, bytes);
}

#[tokio::test]
async fn a_peer_that_ends_its_side_still_gets_what_is_written_until_we_end() {
    let (conn, mut rx, mut client) = pair(Options::default()).await;
    conn.write(&request(9, "hello"), true).unwrap();
    let reply = read_value(&mut client).await;
    assert_eq!(reply[1], Value::from(9));
    client.shutdown().await.unwrap();
    assert!(matches!(next(&mut rx).await, Got::End));
    // Half-closed: our side stays open for answers owed.
    conn.write(&request(10, "late answer"), true).unwrap();
    let reply = read_value(&mut client).await;
    assert_eq!(reply[1], Value::from(10));
    conn.end();
    assert!(matches!(next(&mut rx).await, Got::Close));
    let mut buf = [0u8; 8];
    assert_eq!(client.read(&mut buf).await.unwrap(), 0);
    assert!(conn.socket().is_none(), "the socket is released on close");
}

#[tokio::test]
async fn answers_a_request_with_a_broken_envelope_and_goes_on() {
    let (_conn, mut rx, mut client) = pair(Options::default()).await;
    let bad = encode(&Value::Array(vec![
        0.into(),
        4.into(),
        "m".into(),
        1.into(),
    ]));
    client.write_all(&bad).await.unwrap();
    let reply = read_value(&mut client).await;
    assert_eq!(reply[0], Value::from(1));
    assert_eq!(reply[1], Value::from(4));
    assert!(reply[2].as_str().unwrap().contains("params array"));
    client.write_all(&request(5, "ok")).await.unwrap();
    assert!(matches!(next(&mut rx).await, Got::Messages(_)));
}

#[tokio::test]
async fn garbage_reports_a_protocol_error_and_closes() {
    let (_conn, mut rx, mut client) = pair(Options::default()).await;
    client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    match next(&mut rx).await {
        Got::Error(e) => assert_eq!(e.code(), "ERR_MSGPACK_RPC_PROTOCOL"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(next(&mut rx).await, Got::Close));
}

#[tokio::test]
async fn a_huge_length_header_is_refused_at_once() {
    let limits = Limits {
        max_message_size: 1024,
        max_depth: 10,
    };
    let (_conn, mut rx, mut client) = pair(Options {
        limits,
        ..Options::default()
    })
    .await;
    client
        .write_all(&[0x94, 0x00, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff])
        .await
        .unwrap();
    match next(&mut rx).await {
        Got::Error(e) => assert_eq!(e.code(), "ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_peer_closing_mid_message_is_a_protocol_error() {
    let (_conn, mut rx, mut client) = pair(Options::default()).await;
    client.write_all(&request(1, "x")[..5]).await.unwrap();
    client.shutdown().await.unwrap();
    match next(&mut rx).await {
        Got::Error(e) => assert!(e.to_string().contains("middle of a message")),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn destroy_closes_without_waiting_for_the_peer() {
    let (conn, mut rx, mut client) = pair(Options::default()).await;
    conn.destroy();
    assert!(matches!(next(&mut rx).await, Got::Close));
    let mut buf = [0u8; 8];
    assert_eq!(client.read(&mut buf).await.unwrap(), 0);
    assert!(matches!(conn.write(b"x", true), Err(Error::Closed)));
}

#[tokio::test]
async fn stops_reading_while_a_peer_does_not_read_its_replies() {
    let (conn, mut rx, mut client) = pair(Options {
        max_queued_replies: Some(64 * 1024),
        ..Options::default()
    })
    .await;
    // Fill the outbox far past the pause threshold; the client never reads.
    for _ in 0..64 {
        let _ = conn.write(&[0xc0; 64 * 1024], false);
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    client.write_all(&request(1, "x")).await.unwrap();
    let early = tokio::time::timeout(std::time::Duration::from_millis(200), rx.recv()).await;
    assert!(early.is_err(), "read while backlogged: {early:?}");
    assert!(conn.pending_bytes() > 64 * 1024);
    conn.destroy();
}

#[tokio::test]
async fn a_panicking_task_is_reported_and_closes() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn = Arc::new(Connection::new(Options::default()));
    conn.report_to(
        Arc::new(Channel(tx)),
        Some(tokio::runtime::Handle::current()),
    );
    conn.spawn_supervised(async {
        panic!("boom");
    });
    expect_failure(&mut rx, "ERR_MSGPACK_RPC_INTERNAL", "boom").await;
    assert!(conn.is_destroyed());
}

/// A server-side connection sharing `budget`, and its raw client socket.
async fn budgeted(
    acceptor: &Acceptor,
    budget: &Arc<crate::budget::PartialBudget>,
) -> (Arc<Connection>, mpsc::UnboundedReceiver<Got>, TcpStream) {
    let port = acceptor.local().local_port.unwrap();
    let client = transport::connect_tcp("127.0.0.1", port).await.unwrap();
    let socket = accepted(acceptor);
    let (conn, rx) = start(socket, Options::default(), Some(budget));
    (conn, rx, client)
}

/// Waits (bounded) until `budget` counts `bytes`.
async fn until_held(budget: &crate::budget::PartialBudget, bytes: usize) {
    for _ in 0..500 {
        if budget.total() == bytes {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    panic!("the budget holds {} bytes, not {bytes}", budget.total());
}

#[tokio::test]
async fn the_connection_holding_most_of_the_servers_partial_budget_is_failed() {
    let acceptor = loopback_acceptor();
    let budget = crate::budget::PartialBudget::new(1000);
    let (big, mut big_rx, mut big_client) = budgeted(&acceptor, &budget).await;
    let (_small, mut small_rx, mut small_client) = budgeted(&acceptor, &budget).await;
    // One request of about 900 bytes, sent in parts: [0, 1, "m", [bin 880]].
    let whole = encode(&Value::Array(vec![
        0.into(),
        1.into(),
        "m".into(),
        Value::Array(vec![Value::Binary(vec![7; 880])]),
    ]));
    big_client.write_all(&whole[..600]).await.unwrap();
    until_held(&budget, 600).await;
    // The smaller connection's read takes the total over 1000: the bigger one goes.
    small_client.write_all(&whole[..500]).await.unwrap();
    expect_failure(
        &mut big_rx,
        "ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE",
        "maxBufferedBytes (1000 bytes)",
    )
    .await;
    assert!(big.is_destroyed());
    until_held(&budget, 500).await;
    // The other connection goes on: its message completes and is delivered.
    small_client.write_all(&whole[500..]).await.unwrap();
    let mut got = Vec::new();
    while got.len() < whole.len() {
        match next(&mut small_rx).await {
            Got::Messages(batch) => got.extend(batch),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, whole);
    until_held(&budget, 0).await;
}

#[tokio::test]
async fn a_peer_that_resets_the_connection_closes_it_without_an_error() {
    let (_conn, mut rx, client) = pair(Options::default()).await;
    // SO_LINGER 0: closing sends a reset instead of an orderly end.
    socket2::SockRef::from(&client)
        .set_linger(Some(std::time::Duration::ZERO))
        .unwrap();
    drop(client);
    match next(&mut rx).await {
        Got::Close => {}
        other => panic!("expected a plain close, got {other:?}"),
    }
}

#[tokio::test]
async fn a_backlog_over_max_queued_replies_drains_even_under_the_high_water_mark() {
    let (conn, mut rx, mut client) = pair(Options {
        max_queued_replies: Some(100),
        high_water_mark: 1024 * 1024,
        ..Options::default()
    })
    .await;
    // Queued (not direct), well under the high-water mark but over the
    // pause threshold: a paused reader waits for this drain.
    let pending = conn.write(&[0xc0; 200], false).unwrap();
    assert!(pending > 100);
    let mut got = [0u8; 200];
    client.read_exact(&mut got).await.unwrap();
    assert!(matches!(next(&mut rx).await, Got::Drain));
    conn.destroy();
}

#[tokio::test]
async fn a_panic_while_reading_fails_the_connection_with_an_internal_error() {
    // What `guarded` in src/js/uv_reader.rs does around every read callback:
    // catch the panic, report it as how reading ended.
    let (ours, mut peer) = tokio::net::UnixStream::pair().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn = Arc::new(Connection::new(Options::default()));
    let socket = Socket::Unix(ours).into_write_only().unwrap();
    conn.report_to(
        Arc::new(Channel(tx)),
        Some(tokio::runtime::Handle::current()),
    );
    conn.start(socket.clone());
    peer.write_all(&request(1, "x")).await.unwrap();
    let mut buf = BytesMut::new();
    let mut deframer = Deframer::new(Limits::default());
    let mut handed_on = 0;
    for _ in 0..100 {
        socket.readable().await.unwrap();
        let caught = crate::guard::catch_panic(|| {
            reader::fill(&socket, &mut buf);
            conn.drain_messages(&mut deframer, &mut buf, 64 * 1024, |_| {
                panic!("a panic while handing a batch on")
            })
        });
        if let Err(e) = caught {
            conn.read_finished(ReadOutcome::Failed(e));
            handed_on += 1;
            break;
        }
    }
    assert_eq!(handed_on, 1, "the request was never read");
    expect_failure(
        &mut rx,
        "ERR_MSGPACK_RPC_INTERNAL",
        "a panic while handing a batch on",
    )
    .await;
    assert!(conn.is_destroyed());
}

/// Records what a client's binding sees when Connect is reported: whether
/// the socket is there for the reader it starts then.
struct ConnectProbe {
    conn: OnceLock<std::sync::Weak<Connection>>,
    events: mpsc::UnboundedSender<(&'static str, bool)>,
}

impl EventSink for ConnectProbe {
    fn emit(&self, event: Event) {
        let name = match event {
            Event::Connect => "connect",
            Event::Drain => "drain",
            Event::End => "end",
            Event::Error(_) => "error",
            Event::Close => "close",
        };
        let socket = self
            .conn
            .get()
            .and_then(std::sync::Weak::upgrade)
            .is_some_and(|conn| conn.socket().is_some());
        let _ = self.events.send((name, socket));
    }
}

/// A client connection reporting to a [`ConnectProbe`], and its events.
fn probed() -> (
    Arc<Connection>,
    mpsc::UnboundedReceiver<(&'static str, bool)>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let conn = Arc::new(Connection::new(Options::default()));
    let probe = Arc::new(ConnectProbe {
        conn: OnceLock::new(),
        events: tx,
    });
    let _ = probe.conn.set(Arc::downgrade(&conn));
    conn.report_to(probe, Some(tokio::runtime::Handle::current()));
    (conn, rx)
}

#[tokio::test]
async fn a_client_reports_its_connect_once_the_reader_can_read_the_socket() {
    // The binding starts the reader when the Connect event reaches the
    // JavaScript thread, which may be before the connecting thread has run
    // another line: the socket must be in place when Connect is reported.
    let (ours, mut peer) = tokio::net::UnixStream::pair().unwrap();
    let (conn, mut rx) = probed();
    // Written while connecting: goes out once connected.
    conn.write(&request(1, "early"), true).unwrap();
    let socket = Socket::Unix(ours).into_write_only().unwrap();
    conn.connected(socket);
    assert_eq!(rx.recv().await.unwrap(), ("connect", true));
    let mut got = vec![0u8; request(1, "early").len()];
    peer.read_exact(&mut got).await.unwrap();
    assert_eq!(got, request(1, "early"));
    conn.destroy();
    assert_eq!(rx.recv().await.unwrap().0, "close");
}

#[tokio::test]
async fn a_client_destroyed_while_connecting_reports_nothing_after_close_and_lets_the_socket_go() {
    let (ours, mut peer) = tokio::net::UnixStream::pair().unwrap();
    let (conn, mut rx) = probed();
    conn.destroy();
    assert_eq!(rx.recv().await.unwrap().0, "close");
    // The connect finishes after the destroy (they race in the binding).
    let socket = Socket::Unix(ours).into_write_only().unwrap();
    conn.connected(socket);
    assert!(
        conn.socket().is_none(),
        "a closed connection holds a socket"
    );
    // The peer sees the socket closed while the connection is still alive.
    let mut buf = [0u8; 8];
    let read = tokio::time::timeout(std::time::Duration::from_secs(2), peer.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0))),
        "the peer's connection stays open: {read:?}"
    );
    assert!(rx.try_recv().is_err(), "an event after Close");
    drop(conn);
}

#[tokio::test]
async fn a_connection_going_over_the_partial_budget_by_itself_is_failed_from_its_readers_thread() {
    let acceptor = loopback_acceptor();
    let budget = crate::budget::PartialBudget::new(1000);
    let (conn, mut rx, _client) = budgeted(&acceptor, &budget).await;
    // What the reader reports after reading 1500 bytes of one message. It
    // runs on the JavaScript thread, where an idle connection failed by
    // its own report closes at once; a thread of its own here, so that a
    // deadlock fails the test instead of hanging it.
    let (done, finished) = std::sync::mpsc::channel();
    let reader = conn.clone();
    std::thread::spawn(move || {
        reader.holding_partial(1500);
        let _ = done.send(());
    });
    finished
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("the reader's report never returned: deadlocked");
    expect_failure(
        &mut rx,
        "ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE",
        "maxBufferedBytes (1000 bytes)",
    )
    .await;
    until_held(&budget, 0).await;
}

/// Records event names; on Drain, tells the test and then stalls the
/// writer thread reporting it, as a preemption there would.
struct StallingDrain {
    events: std::sync::Mutex<Vec<&'static str>>,
    drain_started: std::sync::Mutex<std::sync::mpsc::Sender<()>>,
}

impl EventSink for StallingDrain {
    fn emit(&self, event: Event) {
        let name = match event {
            Event::Connect => "connect",
            Event::Drain => {
                let _ = self.drain_started.lock().unwrap().send(());
                std::thread::sleep(std::time::Duration::from_millis(100));
                "drain"
            }
            Event::End => "end",
            Event::Error(_) => "error",
            Event::Close => "close",
        };
        self.events.lock().unwrap().push(name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_racing_a_destroy_is_never_reported_after_close() {
    let (ours, _peer) = tokio::net::UnixStream::pair().unwrap();
    let (started, drain_started) = std::sync::mpsc::channel();
    let sink = Arc::new(StallingDrain {
        events: std::sync::Mutex::default(),
        drain_started: std::sync::Mutex::new(started),
    });
    let conn = Arc::new(Connection::new(Options {
        high_water_mark: 16,
        ..Options::default()
    }));
    conn.report_to(sink.clone(), Some(tokio::runtime::Handle::current()));
    conn.start(Socket::Unix(ours).into_write_only().unwrap());
    // Queued past the mark: a writer task writes it and owes a drain.
    assert!(conn.write(&[0xc0; 100], false).unwrap() > 16);
    tokio::task::spawn_blocking(move || {
        drain_started
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("no drain")
    })
    .await
    .unwrap();
    // The writer has emptied the queue and is reporting the drain: the
    // connection is idle, so this destroy closes it from this thread.
    conn.destroy();
    for _ in 0..500 {
        if sink.events.lock().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let events = sink.events.lock().unwrap().clone();
    assert_eq!(events.last(), Some(&"close"), "events: {events:?}");
}
