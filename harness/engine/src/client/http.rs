//! The HTTP under the client: MCP POSTs go over kept-alive HTTP/1.1 connections of hyper's
//! own (`hyper::client::conn::http1`), one per request in flight, owned by one worker and
//! driven on its thread's runtime. reqwest, which wraps the same hyper in a pool, redirect
//! and timeout layers, a URL parse and header copies per request, measured here at about
//! 30 µs more client CPU and 100–130 µs more latency per call at 100 calls/s (a cold path
//! after each idle gap), which an instrument cannot carry. The rare other requests (the
//! GET that resumes an event stream, the DELETE that ends a session) still go through
//! reqwest.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HOST, HeaderMap, HeaderValue};
use hyper::http::uri::Authority;
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;

/// Bound on opening a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One worker's (or one tool's) HTTP client: its idle connections, the caller address it
/// sends from, and reqwest for the requests that are not POSTs. Clones share both.
#[derive(Clone)]
pub struct Http {
    inner: Arc<Inner>,
}

struct Inner {
    reqwest: reqwest::Client,
    /// Calls to loopback destinations from this address (distinct callers use 127.0.0.N).
    local: Option<IpAddr>,
    idle: Mutex<Vec<(String, SendRequest<Full<Bytes>>)>>,
}

/// Where an endpoint's POSTs go, parsed once from its URL: the path sent in the request
/// line, the authority connected to (and the pool's key), and the `Host` header.
#[derive(Debug, Clone)]
pub struct Destination {
    path: Uri,
    authority: Authority,
    host: HeaderValue,
}

impl Destination {
    pub fn parse(url: &str) -> Result<Destination, String> {
        let uri: Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("{url}: only http:// targets are supported"));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{url}: no host"))?
            .clone();
        let path = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .map_err(|e| format!("{url}: {e}"))?;
        let host = HeaderValue::from_str(authority.as_str()).map_err(|e| format!("{url}: {e}"))?;
        Ok(Destination {
            path,
            authority,
            host,
        })
    }
}

/// The status, headers and body of one exchange.
pub struct Exchange {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When the answer's last byte was read: where a call's latency ends (what the
    /// client does with the answer afterwards is not the server's time).
    pub received: tokio::time::Instant,
}

impl From<reqwest::Client> for Http {
    fn from(reqwest: reqwest::Client) -> Http {
        Http::new(reqwest, None)
    }
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("local", &self.inner.local)
            .finish_non_exhaustive()
    }
}

impl Http {
    /// `reqwest` serves the GET and DELETE requests; POSTs are sent from `local` when set.
    pub fn new(reqwest: reqwest::Client, local: Option<IpAddr>) -> Http {
        Http {
            inner: Arc::new(Inner {
                reqwest,
                local,
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The client for requests other than POST.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner.reqwest
    }

    /// POSTs `body` to `to` and reads the whole answer, within `timeout` when given. A
    /// kept-alive connection the server closed meanwhile is replaced and the request sent
    /// on the new one (it had not been sent).
    pub async fn post(
        &self,
        to: &Destination,
        headers: HeaderMap,
        body: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<Exchange, String> {
        let exchange = self.exchange(to, headers, Bytes::from(body));
        match timeout {
            Some(t) => tokio::time::timeout(t, exchange)
                .await
                .unwrap_or_else(|_| Err(format!("timed out after {t:?}"))),
            None => exchange.await,
        }
    }

    async fn exchange(
        &self,
        to: &Destination,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Exchange, String> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(to.path.clone())
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        *request.headers_mut() = headers;
        request.headers_mut().insert(HOST, to.host.clone());
        let mut reused = self.checkout(to.authority.as_str());
        loop {
            let (mut sender, was_idle) = match reused.take() {
                Some(s) => (s, true),
                None => (self.connect(&to.authority).await?, false),
            };
            match sender.try_send_request(request).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let (parts, incoming) = response.into_parts();
                    let body = incoming
                        .collect()
                        .await
                        .map_err(|e| format!("reading the answer: {e}"))?
                        .to_bytes();
                    let received = tokio::time::Instant::now();
                    if !sender.is_closed() {
                        self.checkin(to.authority.as_str(), sender);
                    }
                    return Ok(Exchange {
                        status,
                        headers: parts.headers,
                        body,
                        received,
                    });
                }
                Err(mut e) => match e.take_message() {
                    // Not sent: a kept-alive connection the server had closed.
                    Some(unsent) if was_idle => request = unsent,
                    _ => return Err(describe(e.error())),
                },
            }
        }
    }

    fn checkout(&self, key: &str) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(i) = idle.iter().rposition(|(k, _)| k == key) {
            let (_, sender) = idle.swap_remove(i);
            if sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    fn checkin(&self, key: &str, sender: SendRequest<Full<Bytes>>) {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.push((key.to_owned(), sender));
    }

    async fn connect(&self, authority: &Authority) -> Result<SendRequest<Full<Bytes>>, String> {
        let port = authority.port_u16().unwrap_or(80);
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let open = async {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| format!("{authority}: {e}"))?
                .collect();
            let mut last = format!("{authority}: no address");
            for addr in addrs {
                let socket = match addr {
                    SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
                    SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
                }
                .map_err(|e| e.to_string())?;
                // A caller's own loopback address reaches loopback destinations only: a
                // remote target sees this machine's address for every caller.
                let own = self
                    .inner
                    .local
                    .filter(|l| l.is_ipv4() == addr.is_ipv4() && addr.ip().is_loopback());
                if let Some(local) = own {
                    socket
                        .bind(SocketAddr::new(local, 0))
                        .map_err(|e| format!("binding {local}: {e}"))?;
                }
                match socket.connect(addr).await {
                    Ok(stream) => {
                        let _ = stream.set_nodelay(true);
                        return Ok(stream);
                    }
                    Err(e) => {
                        last = format!(
                            "error sending request for url ({authority}): connecting to {addr}: {e}"
                        )
                    }
                }
            }
            Err(last)
        };
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, open)
            .await
            .map_err(|_| format!("{authority}: timed out connecting"))??;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| describe(&e))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}

fn describe(e: &hyper::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}
