//! The HTTP side of a scrape: one GET, bounded in time and size, on one
//! client (and connection pool) that every scrape shares. Dropping the
//! future of a scrape drops its request, so a stopping server never
//! waits for a target.

use std::time::Duration;

use axum::{
    body::Bytes,
    http::{header::USER_AGENT, Request, Uri},
};
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::TokioExecutor,
};

use super::error::ScrapeError;

/// How much of an error answer's body its message quotes.
const EXCERPT_CHARS: usize = 200;

/// The scrapes' HTTP client; cheap to clone.
#[derive(Clone)]
pub(crate) struct Fetcher {
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl Fetcher {
    /// A client with its own connection pool.
    pub(crate) fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// The body of a 2xx answer to `GET url`, of at most `limit` bytes,
    /// all of it within `timeout`.
    pub(crate) async fn get(
        &self,
        url: &str,
        timeout: Duration,
        limit: usize,
    ) -> Result<Bytes, ScrapeError> {
        tokio::time::timeout(timeout, self.get_unbounded(url, limit))
            .await
            .map_err(|_| ScrapeError::Timeout(timeout))?
    }

    async fn get_unbounded(&self, url: &str, limit: usize) -> Result<Bytes, ScrapeError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| ScrapeError::Internal(format!("URL {url:?}: {e}")))?;
        let request = Request::get(uri)
            .header(USER_AGENT, concat!("brasa/", env!("CARGO_PKG_VERSION")))
            .body(Empty::new())
            .map_err(|e| ScrapeError::Internal(format!("request to {url:?}: {e}")))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(ScrapeError::Request)?;
        let status = response.status();
        let body = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<LengthLimitError>() {
                    ScrapeError::TooLarge { limit }
                } else {
                    ScrapeError::Body(e)
                }
            })?
            .to_bytes();
        if !status.is_success() {
            return Err(ScrapeError::Status {
                status: status.as_u16(),
                excerpt: excerpt(&body),
            });
        }
        Ok(body)
    }
}

/// The start of `body` as one line of text.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let words: Vec<&str> = text.split_whitespace().collect();
    let line = words.join(" ");
    match line.char_indices().nth(EXCERPT_CHARS) {
        _ if line.is_empty() => "(empty body)".to_owned(),
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use std::{
        io::{Read, Write},
        net::TcpListener,
    };

    use super::*;

    /// A peer on a loopback port that answers each connection with
    /// `answer` (or, when `None`, reads and never answers), for at most
    /// four connections, on threads of its own.
    fn peer(answer: Option<Vec<u8>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for socket in listener.incoming().take(4) {
                let Ok(mut socket) = socket else { return };
                let answer = answer.clone();
                std::thread::spawn(move || {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request);
                    match answer {
                        Some(answer) => {
                            let _ = socket.write_all(&answer);
                        }
                        None => std::thread::sleep(Duration::from_secs(30)),
                    }
                });
            }
        });
        format!("http://{address}/debug/pprof/heap")
    }

    fn http(status: &str, body: &[u8]) -> Vec<u8> {
        let mut answer = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        answer.extend_from_slice(body);
        answer
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn a_success_is_its_body() {
        let url = peer(Some(http("200 OK", b"profile bytes")));
        let body = Fetcher::new().get(&url, 5 * SECOND, 1024).await.unwrap();
        assert_eq!(&body[..], b"profile bytes");
    }

    #[tokio::test]
    async fn failures_say_what_happened() {
        let fetcher = Fetcher::new();
        let report = |e: ScrapeError| brasa_profile::error_chain(&e);

        let url = peer(None);
        let error = fetcher.get(&url, SECOND / 5, 1024).await.unwrap_err();
        assert!(matches!(error, ScrapeError::Timeout(_)), "{error:?}");
        assert_eq!(
            error.to_string(),
            "no answer within 200ms; the target hangs or is slow: check it, or raise scrape_timeout"
        );

        let body = b"unknown profile:   nope\n\n".repeat(20);
        let url = peer(Some(http("404 Not Found", &body)));
        let error = report(fetcher.get(&url, 5 * SECOND, 1024).await.unwrap_err());
        assert!(
            error.starts_with("the target answered HTTP 404: unknown profile: nope unknown"),
            "{error}"
        );
        assert!(
            error.contains("…; check the path in pprof_config"),
            "{error}"
        );

        let url = peer(Some(http("200 OK", &[b'x'; 2000])));
        let error = fetcher.get(&url, 5 * SECOND, 1000).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "the answer is larger than 1000 bytes, the server's body limit"
        );

        let url = peer(Some(b"garbage, not HTTP\r\n\r\n".to_vec()));
        let error = report(fetcher.get(&url, 5 * SECOND, 1000).await.unwrap_err());
        assert!(
            error.starts_with("the request failed; check that the target runs"),
            "{error}"
        );

        // A port nothing listens on: bind one, then let it go.
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = closed.local_addr().unwrap();
        drop(closed);
        let error = fetcher
            .get(&format!("http://{address}/"), 5 * SECOND, 1000)
            .await
            .unwrap_err();
        assert!(matches!(error, ScrapeError::Request(_)), "{error:?}");
    }
}
