//! A TCP proxy that can cut connections: it forwards each request to the
//! server and, while `drop_next` is above zero, throws the answer away and
//! closes the connection — the server did the work, the phone never hears.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy.
pub struct CuttingProxy {
    /// Where phones connect.
    pub url: String,
    /// How many of the next connections lose their answer.
    pub drop_next: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
}

impl CuttingProxy {
    /// Proxy to `upstream`.
    pub async fn start(upstream: SocketAddr) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let drop_next = Arc::new(AtomicUsize::new(0));
        let counter = drop_next.clone();
        let accepted = Arc::new(AtomicUsize::new(0));
        let seen = accepted.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                let cut = counter
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                tokio::spawn(handle(client, upstream, cut));
            }
        });
        CuttingProxy {
            url,
            drop_next,
            accepted,
        }
    }

    /// How many connections phones opened through it so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn handle(mut client: TcpStream, upstream: SocketAddr, cut: bool) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    if !cut {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        return;
    }
    // Forward the request; read (and discard) the start of the answer, so the
    // server has surely handled it; then hang up on the phone.
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let forward = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    };
    let mut first = [0u8; 1];
    tokio::select! {
        _ = forward => {},
        _ = sr.read(&mut first) => {},
    }
    let _ = cw.shutdown().await;
}
