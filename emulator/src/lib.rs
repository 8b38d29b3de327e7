//! The AWS emulator, moto server, on a free loopback port: `stepback rehearse` runs a rollback in it, and the
//! tests run every action against it (`tests::Moto`). One way to find it and to start it, for both.
//!
//! `scripts/setup` installs the pinned moto (`tools/requirements.txt`) into the workspace's `.venv`;
//! `STEPBACK_MOTO_SERVER` names another `moto_server`.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The command that installs the emulator, which every error about a missing one names.
pub const INSTALL: &str = "scripts/setup";

/// The variable that names a `moto_server` other than the workspace's.
pub const SERVER_ENV: &str = "STEPBACK_MOTO_SERVER";

/// How long moto may take to import its services and answer.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the AWS emulator (moto) is not installed at {path}; run `{INSTALL}`, which installs it into .venv, or set {SERVER_ENV}"
    )]
    NotInstalled { path: String },
    #[error("cannot start the AWS emulator {path}: {reason}")]
    Start { path: String, reason: String },
    #[error("the AWS emulator {path} exited with {status} before answering")]
    Exited { path: String, status: String },
    #[error("the AWS emulator did not answer on {addr} within {secs} s")]
    Timeout { addr: SocketAddr, secs: u64 },
    #[error("no free loopback port: {0}")]
    Port(std::io::Error),
}

/// A moto server process, with its own empty state; killed on drop.
pub struct Moto {
    child: Child,
    addr: SocketAddr,
}

impl Moto {
    /// Starts moto on a free loopback port with extra environment, e.g. `("MOTO_PORT", "8123")`, and waits until
    /// it answers.
    pub fn start(env: &[(&str, &str)]) -> Result<Moto, Error> {
        let server = server()?;
        let path = server.display().to_string();
        let port = free_port()?;
        let mut child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::Start {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while !answers(addr) {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(Error::Exited {
                    path,
                    status: status.to_string(),
                });
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Timeout {
                    addr,
                    secs: STARTUP_TIMEOUT.as_secs(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Moto { child, addr })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Ignored: the server may already have exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$STEPBACK_MOTO_SERVER`, else the one `scripts/setup` installs into the workspace's `.venv`.
pub fn server() -> Result<PathBuf, Error> {
    let path = std::env::var_os(SERVER_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server")
        });
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::NotInstalled {
            path: path.display().to_string(),
        })
    }
}

/// A port the OS says is free; it stays free for the instant until moto binds it.
fn free_port() -> Result<u16, Error> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(Error::Port)
}

/// Whether moto answers an HTTP request on `addr` (it accepts connections before its services are loaded).
fn answers(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let request = "GET /moto-api/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let mut head = [0u8; 12];
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .is_ok()
        && stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.")
}
