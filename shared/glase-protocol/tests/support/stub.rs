//! A scripted HTTP/1.1 stub on 127.0.0.1 with an ephemeral port, standing in for Glase.
//!
//! Each connection serves one request and is then closed (`Connection: close`); the stub answers the
//! n-th request with the n-th scripted reply (the last one repeats) and records every request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the stub does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Answer with this status and body (`text/xml`).
    Body(u16, String),
    /// Wait, then act.
    After(Duration, Box<Reply>),
    /// Close the connection without answering.
    Drop,
    /// Send the headers and part of the body (announcing more), then close.
    Truncated(String),
}

impl Reply {
    /// HTTP 200 with this body.
    pub fn ok(body: String) -> Self {
        Reply::Body(200, body)
    }

    /// This reply, after a delay.
    pub fn after(delay: Duration, reply: Reply) -> Self {
        Reply::After(delay, Box::new(reply))
    }
}

/// One received request.
#[derive(Clone, Debug)]
pub struct Received {
    /// `POST /service HTTP/1.1`.
    pub request_line: String,
    /// The raw header block.
    pub headers: String,
    /// The body as text.
    pub body: String,
}

/// A running stub.
pub struct Stub {
    /// `http://127.0.0.1:<port>/service`.
    pub endpoint: String,
    received: Arc<Mutex<Vec<Received>>>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl Stub {
    /// Starts the stub with a script.
    pub async fn start(script: Vec<Reply>) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}/service", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let seen = received.clone();
        let acceptor = tokio::spawn(async move {
            let mut index = 0_usize;
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let reply = script
                    .get(index)
                    .or(script.last())
                    .cloned()
                    .unwrap_or(Reply::Drop);
                index += 1;
                let seen = seen.clone();
                tokio::spawn(async move { serve(socket, reply, seen).await });
            }
        });
        Stub {
            endpoint,
            received,
            acceptor,
        }
    }

    /// Stops accepting: the listening socket closes, so later connects are refused. Requests already
    /// accepted are still served.
    pub async fn stop_listening(&self) {
        self.acceptor.abort();
        while !self.acceptor.is_finished() {
            tokio::task::yield_now().await;
        }
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

/// A URL on 127.0.0.1 where nothing listens (the port was bound and released).
pub async fn closed_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/service")
}

async fn serve(mut socket: TcpStream, reply: Reply, seen: Arc<Mutex<Vec<Received>>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    let (request_line, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
    seen.lock().unwrap().push(Received {
        request_line: request_line.to_owned(),
        headers: headers.to_owned(),
        body: String::from_utf8_lossy(&buffer[head_end..head_end + length]).to_string(),
    });
    let mut reply = reply;
    while let Reply::After(delay, inner) = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    match reply {
        Reply::Body(status, body) => {
            let response = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: text/xml;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
        Reply::Truncated(part) => {
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{part}",
                part.len() + 1000
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
        Reply::Drop | Reply::After(..) => {}
    }
    let _ = socket.shutdown().await;
}
