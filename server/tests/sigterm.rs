//! The real binary, stopped the way a service manager stops it: SIGTERM
//! while a client holds a half-sent request open. The drain must end and
//! the process exit within its bound, whatever that client does.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigterm_stops_the_server_within_its_bound_despite_a_stalled_client() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_fushi-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("server.db"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();

    // A client that starts a push and never finishes it, and one that
    // never finishes its request head.
    let mut body = TcpStream::connect(&addr).unwrap();
    body.write_all(
        b"POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"sites\":[",
    )
    .unwrap();
    let mut head = TcpStream::connect(&addr).unwrap();
    head.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let asked = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The drain bound is 8 s; allow for a slow machine, but not forever.
    let deadline = Duration::from_secs(20);
    loop {
        if let Some(status) = server.try_wait().unwrap() {
            assert!(status.success(), "the server exited with {status}");
            break;
        }
        if asked.elapsed() > deadline {
            let _ = server.kill();
            panic!("the server was still running {deadline:?} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop((body, head));
}
