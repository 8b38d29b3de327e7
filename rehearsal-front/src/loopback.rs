//! Just enough HTTP/1.1 for the loopback servers in front of the emulator (`serve`, the world's web app, and the
//! tests' fault proxies): one request per connection, `Content-Length` bodies, `Connection: close` answers.
//! Heads are parsed by `httparse` (hyper's parser). The framing is ours because hyper's `server` feature is off
//! in the dependency graph, and turning it on would rebuild every crate above hyper (the SDK's among them).

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// One request, as read from a connection.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The request line and the headers, up to and with the blank line.
    pub head: String,
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.head, name)
    }

    /// The request again with `Connection: close`, so that the upstream's answer ends at EOF; `body` replaces
    /// the body (and its `Content-Length`) when given.
    pub fn closing(&self) -> Vec<u8> {
        let mut lines = self.head.trim_end().lines();
        let mut out = format!("{}\r\n", lines.next().unwrap_or_default());
        for line in lines.filter(|l| !l.to_ascii_lowercase().starts_with("connection:")) {
            out.push_str(line);
            out.push_str("\r\n");
        }
        out.push_str("Connection: close\r\n\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// The most headers a head may carry here (the SDK sends about a dozen).
const MAX_HEADERS: usize = 64;

/// A header's value in a complete HTTP head (a request's or an answer's), by case-insensitive name.
pub fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let complete = if head.starts_with("HTTP/") {
        httparse::Response::new(&mut headers).parse(head.as_bytes())
    } else {
        httparse::Request::new(&mut headers).parse(head.as_bytes())
    };
    if !complete.is_ok_and(|status| status.is_complete()) {
        return None;
    }
    let found = headers.iter().find(|h| h.name.eq_ignore_ascii_case(name))?;
    std::str::from_utf8(found.value).ok().map(str::trim)
}

/// Reads one request: the head, then `Content-Length` bytes of body.
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> io::Result<Request> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let (method, path, head_end) = loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&buffer) {
            Ok(httparse::Status::Complete(end)) => {
                let method = parsed.method.unwrap_or_default().to_owned();
                break (method, parsed.path.unwrap_or_default().to_owned(), end);
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before a request",
            ));
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length = header(&head, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Request {
        method,
        path,
        head,
        body,
    })
}

/// Sends raw request bytes to `upstream` and reads the raw answer to EOF.
pub async fn exchange(upstream: SocketAddr, request: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(upstream).await?;
    stream.write_all(request).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    Ok(response)
}

/// An answer read whole: its status code, head and body.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Response {
    /// Splits a raw answer; `None` when it has no complete head.
    pub fn parse(raw: &[u8]) -> Option<Response> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut headers);
        let httparse::Status::Complete(end) = parsed.parse(raw).ok()? else {
            return None;
        };
        Some(Response {
            status: parsed.code?,
            head: String::from_utf8_lossy(&raw[..end]).into_owned(),
            body: raw[end..].to_vec(),
        })
    }

    /// The answer with `body` in place of its own, `content_type` and the length said again.
    pub fn with_body(&self, content_type: &str, extra: &[(&str, &str)], body: Vec<u8>) -> Vec<u8> {
        let mut lines = self.head.trim_end().lines();
        let mut out = format!("{}\r\n", lines.next().unwrap_or_default());
        let replaced = [
            "content-length:",
            "content-type:",
            "connection:",
            "transfer-encoding:",
        ];
        for line in lines.filter(|l| {
            let lower = l.to_ascii_lowercase();
            !replaced.iter().any(|r| lower.starts_with(r))
        }) {
            out.push_str(line);
            out.push_str("\r\n");
        }
        for (name, value) in extra {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&body);
        bytes
    }
}

/// Writes a whole answer and ends it.
pub async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: &str,
    headers: &[(&str, &str)],
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    // A TLS stream sends its close_notify here; a plain one closes.
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_from_request_and_answer_heads_by_any_case() {
        let request = "POST /x HTTP/1.1\r\nX-Amz-Target: A.B\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(header(request, "x-amz-target"), Some("A.B"));
        assert_eq!(header(request, "content-length"), Some("2"));
        let answer =
            Response::parse(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/xml\r\n\r\n<E/>")
                .expect("a complete answer");
        assert_eq!(answer.status, 400);
        assert_eq!(header(&answer.head, "CONTENT-TYPE"), Some("text/xml"));
        assert_eq!(answer.body, b"<E/>");
        assert!(Response::parse(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n").is_none());
        assert_eq!(header("", "content-type"), None);
    }
}
