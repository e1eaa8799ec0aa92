//! A plain Tokio MessagePack-RPC client and server: the practical limit of
//! this machine that `bench/run.js` compares every implementation with.
//!
//!     rust_peer serve tcp|unix
//!     rust_peer client '<address json>' <workload> <seconds>
//!     rust_peer client '<address json>' ccc <seconds>
//!
//! `ccc` runs 32 loops of connect, one call, close (the floor of
//! `npm run bench:scale`'s connect-call-close row) and prints the cycles and
//! the process's CPU time.
//!
//! Both ends pipeline: every read is answered with one write. Messages are
//! framed with this crate's own framer and decoded with rmpv, so every reply
//! is checked like the JavaScript clients check theirs.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use msgpack_rpc::framer::{Framer, Limits};
use rmpv::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

fn encode(v: &Value, out: &mut Vec<u8>) {
    rmpv::encode::write_value(out, v).expect("encode into a Vec");
}

/// Reads at least one complete message; returns every complete one.
async fn read_messages<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    framer: &mut Framer,
) -> Option<Vec<Value>> {
    loop {
        let mut out = Vec::new();
        while let Some(len) = framer.next_frame(buf).expect("valid msgpack-rpc") {
            let v = rmpv::decode::read_value(&mut &buf[..len]).expect("decodable");
            buf.advance(len);
            out.push(v);
        }
        if !out.is_empty() {
            return Some(out);
        }
        buf.reserve(64 * 1024);
        if rd.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
}

/// Writes what `rx` yields; reading and writing run at once so neither
/// side can block the other on full socket buffers.
fn spawn_writer<W: AsyncWrite + Unpin + Send + 'static>(
    mut wr: W,
) -> tokio::sync::mpsc::Sender<Vec<u8>> {
    // Bounded: a flood waits for the socket instead of filling memory.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if wr.write_all(&bytes).await.is_err() {
                return;
            }
        }
    });
    tx
}

async fn serve_conn<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(stream: S) {
    let (mut rd, wr) = tokio::io::split(stream);
    let wr = spawn_writer(wr);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut framer = Framer::new(Limits::default());
    let mut notes: i64 = 0;
    let mut out = Vec::with_capacity(64 * 1024);
    while let Some(msgs) = read_messages(&mut rd, &mut buf, &mut framer).await {
        for msg in msgs {
            let Value::Array(parts) = msg else { continue };
            match parts[0].as_u64() {
                Some(0) => {
                    let id = parts[1].clone();
                    let params = parts[3].as_array().cloned().unwrap_or_default();
                    let result = match parts[2].as_str() {
                        Some("add") => Value::from(
                            params[0].as_i64().unwrap_or(0) + params[1].as_i64().unwrap_or(0),
                        ),
                        Some("echo") => params.into_iter().next().unwrap_or(Value::Nil),
                        Some("count") => Value::from(notes),
                        _ => Value::Nil,
                    };
                    encode(
                        &Value::Array(vec![1.into(), id, Value::Nil, result]),
                        &mut out,
                    );
                }
                Some(2) => notes += 1,
                _ => {}
            }
        }
        if !out.is_empty() && wr.send(std::mem::take(&mut out)).await.is_err() {
            return;
        }
    }
}

async fn serve(transport: &str) {
    if transport == "unix" {
        let path = std::env::temp_dir().join(format!(
            "msgpack-rpc-bench-rust-{}.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind");
        println!("{{\"path\":{:?}}}", path.display().to_string());
        loop {
            let (s, _) = listener.accept().await.expect("accept");
            tokio::spawn(serve_conn(s));
        }
    } else {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{{\"port\":{}}}", listener.local_addr().unwrap().port());
        loop {
            let (s, _) = listener.accept().await.expect("accept");
            s.set_nodelay(true).unwrap();
            tokio::spawn(serve_conn(s));
        }
    }
}

/// What one client connection measured.
#[derive(Default)]
struct Tally {
    ops: u64,
    bytes: u64,
    latencies_us: Vec<f64>,
}

fn request(id: u32, workload: &str, blob: &[u8], text: &str) -> Value {
    let (method, params) = match workload {
        "echo1k" => ("echo", vec![Value::from(text)]),
        "echo64k" => ("echo", vec![Value::Binary(blob.to_vec())]),
        "object" => {
            let mut fields = vec![(Value::from("id"), Value::from(id))];
            for i in 1..20 {
                let v = match i % 3 {
                    0 => Value::from(format!("value {i}")),
                    1 => Value::F64(i as f64 * 1.5),
                    _ => Value::Map(vec![
                        (
                            Value::from("inner"),
                            Value::Array(vec![i.into(), (i + 1).into()]),
                        ),
                        (Value::from("flag"), Value::from(true)),
                    ]),
                };
                fields.push((Value::from(format!("field{i}")), v));
            }
            ("echo", vec![Value::Map(fields)])
        }
        _ => ("add", vec![Value::from(id), Value::from(1)]),
    };
    Value::Array(vec![
        0.into(),
        id.into(),
        method.into(),
        Value::Array(params),
    ])
}

fn check(workload: &str, id: u32, result: &Value, blob: &[u8], text: &str) {
    let ok = match workload {
        "echo1k" => result.as_str() == Some(text),
        "echo64k" => matches!(result, Value::Binary(b) if b == blob),
        "object" => result
            .as_map()
            .map(|m| m.len() == 20 && m[0].1.as_u64() == Some(id as u64))
            .unwrap_or(false),
        _ => result.as_u64() == Some(id as u64 + 1),
    };
    assert!(ok, "wrong reply to {workload} #{id}: {result}");
}

async fn run_conn<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    workload: String,
    in_flight: usize,
    deadline: Instant,
) -> Tally {
    let (mut rd, wr) = tokio::io::split(stream);
    let wr = spawn_writer(wr);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut framer = Framer::new(Limits::default());
    let blob: Vec<u8> = (0..64 * 1024).map(|i| (i * 31) as u8).collect();
    let text = format!("{}!", "x".repeat(1023));
    let mut tally = Tally::default();
    let mut out = Vec::new();
    let mut next: u32 = 0;
    let mut sent_at: VecDeque<(u32, Instant)> = VecDeque::new();
    let per_byte = if workload == "echo64k" {
        blob.len()
    } else if workload == "echo1k" {
        text.len()
    } else {
        0
    };

    if workload == "notify" {
        let count = |id: u32| {
            Value::Array(vec![
                0.into(),
                id.into(),
                "count".into(),
                Value::Array(vec![]),
            ])
        };
        encode(&count(0), &mut out);
        wr.send(std::mem::take(&mut out)).await.unwrap();
        let before = read_messages(&mut rd, &mut buf, &mut framer).await.unwrap()[0][3]
            .as_u64()
            .unwrap();
        let mut sent = 0u64;
        while Instant::now() < deadline {
            for i in 0..1000 {
                encode(
                    &Value::Array(vec![
                        2.into(),
                        "note".into(),
                        Value::Array(vec![Value::from(i)]),
                    ]),
                    &mut out,
                );
            }
            wr.send(std::mem::take(&mut out)).await.unwrap();
            sent += 1000;
        }
        encode(&count(1), &mut out);
        wr.send(std::mem::take(&mut out)).await.unwrap();
        let after = read_messages(&mut rd, &mut buf, &mut framer).await.unwrap()[0][3]
            .as_u64()
            .unwrap();
        assert_eq!(after - before, sent, "server counted every notification");
        tally.ops = sent;
        return tally;
    }

    for _ in 0..in_flight {
        encode(&request(next, &workload, &blob, &text), &mut out);
        sent_at.push_back((next, Instant::now()));
        next += 1;
    }
    wr.send(std::mem::take(&mut out)).await.unwrap();
    while !sent_at.is_empty() {
        let msgs = read_messages(&mut rd, &mut buf, &mut framer)
            .await
            .expect("server closed");
        let now = Instant::now();
        for msg in msgs {
            let id = msg[1].as_u64().unwrap() as u32;
            check(&workload, id, &msg[3], &blob, &text);
            // Replies come back in order on one connection.
            let (sent_id, at) = sent_at.pop_front().unwrap();
            assert_eq!(sent_id, id);
            if in_flight == 1 {
                tally.latencies_us.push((now - at).as_secs_f64() * 1e6);
            }
            tally.ops += 1;
            tally.bytes += per_byte as u64;
            if now < deadline {
                encode(&request(next, &workload, &blob, &text), &mut out);
                sent_at.push_back((next, now));
                next = next.wrapping_add(1);
            }
        }
        if !out.is_empty() {
            wr.send(std::mem::take(&mut out)).await.unwrap();
        }
    }
    tally
}

/// One connect, `add` call and close on a fresh connection.
async fn cycle<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, id: u32) {
    let mut out = Vec::new();
    encode(&request(id, "add", &[], ""), &mut out);
    s.write_all(&out).await.expect("write");
    let mut buf = BytesMut::with_capacity(64);
    let mut framer = Framer::new(Limits::default());
    let reply = read_messages(&mut s, &mut buf, &mut framer)
        .await
        .expect("a reply");
    let Some(Value::Array(parts)) = reply.into_iter().next() else {
        panic!("not a response")
    };
    check("add", id, &parts[3], &[], "");
    s.shutdown().await.expect("shutdown");
    // Until the server closes its side too, as a client's close() waits.
    let _ = s.read_buf(&mut buf).await;
}

/// `ccc`: 32 loops of connect, call, close until the deadline.
async fn connect_call_close(address: &str, seconds: f64) {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let path = json_field(address, "path").map(str::to_string);
    let port = json_field(address, "port").map(str::to_string);
    let loops: Vec<_> = (0..32u32)
        .map(|w| {
            let (path, port) = (path.clone(), port.clone());
            tokio::spawn(async move {
                let mut ops = 0u64;
                let mut id = w * 1_000_003;
                while Instant::now() < deadline {
                    if let Some(path) = &path {
                        cycle(UnixStream::connect(path).await.expect("connect"), id).await;
                    } else {
                        let port = port.as_deref().expect("port");
                        let s = TcpStream::connect(format!("127.0.0.1:{port}"))
                            .await
                            .expect("connect");
                        s.set_nodelay(true).unwrap();
                        cycle(s, id).await;
                    }
                    id = id.wrapping_add(1);
                    ops += 1;
                }
                ops
            })
        })
        .collect();
    let mut ops = 0;
    for l in loops {
        ops += l.await.expect("loop");
    }
    println!(
        "{{\"ops\":{ops},\"seconds\":{:.4},\"cpuMicros\":{}}}",
        start.elapsed().as_secs_f64(),
        cpu_micros()
    );
}

/// CPU time this process has used, in µs (Linux; 0 elsewhere).
fn cpu_micros() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let fields: Vec<&str> = s.rsplit(") ").next()?.split(' ').collect();
            // utime and stime, in clock ticks (USER_HZ, 100 on Linux).
            let ticks =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some(ticks * 10_000)
        })
        .unwrap_or(0)
}

async fn client(address: &str, workload: &str, seconds: f64) {
    if workload == "ccc" {
        return connect_call_close(address, seconds).await;
    }
    let (conns, in_flight) = match workload {
        "pingpong" | "notify" => (1, 1),
        "pipelined" => (1, 256),
        "echo1k" | "object" => (1, 64),
        "echo64k" => (1, 16),
        "conns32" => (32, 16),
        other => panic!("unknown workload {other}"),
    };
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let w = workload.to_string();
        if let Some(path) = json_field(address, "path") {
            let s = UnixStream::connect(path).await.expect("connect");
            tasks.push(tokio::spawn(run_conn(s, w, in_flight, deadline)));
        } else {
            let port = json_field(address, "port").expect("port");
            let s = TcpStream::connect(format!("127.0.0.1:{port}"))
                .await
                .expect("connect");
            s.set_nodelay(true).unwrap();
            tasks.push(tokio::spawn(run_conn(s, w, in_flight, deadline)));
        }
    }
    let mut total = Tally::default();
    for t in tasks {
        let t = t.await.expect("connection task");
        total.ops += t.ops;
        total.bytes += t.bytes;
        total.latencies_us.extend(t.latencies_us);
    }
    let secs = start.elapsed().as_secs_f64();
    total.latencies_us.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| {
        let l = &total.latencies_us;
        if l.is_empty() {
            "null".to_string()
        } else {
            format!("{:.1}", l[((l.len() as f64 * p) as usize).min(l.len() - 1)])
        }
    };
    println!(
        "{{\"ops\":{},\"bytes\":{},\"seconds\":{secs:.4},\"p50\":{},\"p99\":{},\"rss\":{}}}",
        total.ops,
        total.bytes,
        pct(0.5),
        pct(0.99),
        peak_rss()
    );
}

/// The value of `"name":` in a flat JSON object (numbers or strings).
fn json_field<'a>(json: &'a str, name: &str) -> Option<&'a str> {
    let start = json.find(&format!("\"{name}\":"))? + name.len() + 3;
    let rest = json[start..].trim_start();
    if let Some(s) = rest.strip_prefix('"') {
        return s.split('"').next();
    }
    rest.split([',', '}']).next().map(str::trim)
}

fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
        })
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    match args.get(1).map(String::as_str) {
        Some("serve") => runtime.block_on(serve(args.get(2).map_or("tcp", String::as_str))),
        Some("client") => runtime.block_on(client(
            &args[2],
            &args[3],
            args[4].parse().expect("seconds"),
        )),
        _ => {
            eprintln!("usage: rust_peer serve tcp|unix | rust_peer client '<address json>' <workload> <seconds>");
            std::process::exit(2);
        }
    }
}
