//! The Lambda Invoke API on a loopback port, answered in process by the real handlers: what moto cannot do
//! (it runs no Lambda code without Docker). `stepback preflight`'s test invokes the checks through it; a verb that
//! runs a rollback in moto's Step Functions interpreter would point moto's `MOTO_PORT` at it, which is why every
//! other request is passed on to `upstream`.
//!
//! Just enough HTTP/1.1: one request per connection, `Content-Length` bodies, `Connection: close` answers.

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;

use aws_config::SdkConfig;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{Clients, Function};

/// The path of an Invoke: `POST /2015-03-31/functions/{FunctionName}/invocations`.
const INVOKE_PREFIX: &str = "/2015-03-31/functions/";
const INVOKE_SUFFIX: &str = "/invocations";

/// Serves `functions` (by function name) on a free loopback port, from a thread of its own that lives as long as
/// the process: the handlers' futures are not `Send`, so they run on that thread's runtime. Their AWS calls use
/// `config`; requests that are not invocations go to `upstream`, or get a 404 without one.
pub fn spawn(
    functions: BTreeMap<String, Function>,
    config: &SdkConfig,
    upstream: Option<SocketAddr>,
) -> io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let config = config.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async move {
            let Ok(listener) = TcpListener::from_std(listener) else {
                return;
            };
            let server = Rc::new(Server {
                functions,
                clients: Clients::new(&config),
                upstream,
            });
            while let Ok((stream, _)) = listener.accept().await {
                let server = Rc::clone(&server);
                tokio::task::spawn_local(async move {
                    // A broken connection fails only the call that made it, which its caller reports.
                    let _ = server.answer(stream).await;
                });
            }
        });
    });
    Ok(addr)
}

struct Server {
    functions: BTreeMap<String, Function>,
    clients: Clients,
    upstream: Option<SocketAddr>,
}

struct Request {
    method: String,
    path: String,
    head: String,
    body: Vec<u8>,
}

impl Server {
    async fn answer(&self, mut stream: TcpStream) -> io::Result<()> {
        let request = read_request(&mut stream).await?;
        let invoked = request
            .path
            .strip_prefix(INVOKE_PREFIX)
            .and_then(|rest| rest.split('?').next())
            .and_then(|rest| rest.strip_suffix(INVOKE_SUFFIX))
            .filter(|_| request.method == "POST");
        match (invoked, self.upstream) {
            (Some(name), _) => self.invoke(&mut stream, &decode(name), &request.body).await,
            (None, Some(upstream)) => {
                let mut moto = TcpStream::connect(upstream).await?;
                moto.write_all(&closing(&request)).await?;
                let mut response = Vec::new();
                moto.read_to_end(&mut response).await?;
                stream.write_all(&response).await
            }
            (None, None) => {
                let body = json!({ "message": format!("no route for {} {}", request.method, request.path) });
                respond(&mut stream, "404 Not Found", &[], &body).await
            }
        }
    }

    /// Answers as Lambda does: the handler's response with 200, or its error with 200 and
    /// `X-Amz-Function-Error: Unhandled`; an unknown function is Lambda's ResourceNotFoundException.
    async fn invoke(&self, stream: &mut TcpStream, name: &str, body: &[u8]) -> io::Result<()> {
        // A function is named by its name, its ARN, or its partial ARN.
        let short = name
            .rsplit_once(":function:")
            .map_or(name, |(_, rest)| rest)
            .split(':')
            .next()
            .unwrap_or(name);
        let Some(function) = self.functions.get(short) else {
            let body = json!({ "Type": "User", "message": format!("Function not found: {name}") });
            let headers = [("X-Amzn-ErrorType", "ResourceNotFoundException")];
            return respond(stream, "404 Not Found", &headers, &body).await;
        };
        let payload = serde_json::from_slice(body).unwrap_or(Value::Null);
        match function.handle(&self.clients, payload).await {
            Ok(response) => {
                let body = serde_json::to_value(&response).unwrap_or(Value::Null);
                respond(stream, "200 OK", &[], &body).await
            }
            Err(error) => {
                let diagnostic = lambda_runtime::Diagnostic::from(error);
                let body = json!({ "errorType": diagnostic.error_type, "errorMessage": diagnostic.error_message });
                let headers = [("X-Amz-Function-Error", "Unhandled")];
                respond(stream, "200 OK", &headers, &body).await
            }
        }
    }
}

/// Reads one request: the head, then `Content-Length` bytes of body.
async fn read_request(stream: &mut TcpStream) -> io::Result<Request> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
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
    let length = head
        .lines()
        .skip(1)
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or_default().to_owned();
    let path = words.next().unwrap_or_default().to_owned();
    Ok(Request {
        method,
        path,
        head,
        body,
    })
}

/// The request again with `Connection: close`, so that the upstream's answer ends at EOF.
fn closing(request: &Request) -> Vec<u8> {
    let mut lines = request.head.trim_end().lines();
    let mut out = format!("{}\r\n", lines.next().unwrap_or_default());
    for line in lines.filter(|l| !l.to_ascii_lowercase().starts_with("connection:")) {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&request.body);
    bytes
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> io::Result<()> {
    let body = body.to_string();
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await
}

/// Percent-decoding of a path segment: the SDK escapes the `:` of an ARN.
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| segment.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
