//! Test harness shared by the crates' integration tests: a moto server on a free loopback port.
//!
//! `scripts/test` installs moto into the workspace's `.venv` and exports `STEPBACK_MOTO_SERVER`. A test that
//! needs moto fails when it is missing, with the command that installs it: a skipped emulator test would
//! look like a pass.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// moto's region in every test; moto keeps one backend per region.
pub const REGION: &str = "us-east-1";

/// How long moto may take to import its services and answer.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A moto server process, killed on drop. Every server has its own empty state.
pub struct Moto {
    child: Child,
    addr: SocketAddr,
}

impl Moto {
    /// Starts moto with its default settings.
    pub fn start() -> Moto {
        Moto::start_with_env(&[])
    }

    /// Starts moto with extra environment, e.g. `("MOTO_ECS_SERVICE_RUNNING", "2")`.
    pub fn start_with_env(env: &[(&str, &str)]) -> Moto {
        let server = moto_server();
        let port = free_port();
        let mut child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto at {}: {e}; run `scripts/test`",
                    server.display()
                )
            });
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while !answers(addr) {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "moto at {} exited with {status} before answering",
                    server.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "moto did not answer on {addr} within {STARTUP_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto { child, addr }
    }

    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An SDK config for this server: its endpoint, test credentials and [`REGION`].
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new(REGION))
            .test_credentials()
            .load()
            .await
    }

    /// The environment a child process (a Lambda binary, the CLI) needs to talk to this server.
    pub fn env(&self) -> [(&'static str, String); 4] {
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", REGION.into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Ignored: the server may already have exited, and a failing test must keep its own message.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$STEPBACK_MOTO_SERVER`, else the one `scripts/test` installs into the workspace's `.venv`.
fn moto_server() -> PathBuf {
    let path = std::env::var_os("STEPBACK_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server")
        });
    assert!(
        path.is_file(),
        "moto is not installed at {}: run `scripts/test`, which installs it into .venv",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    // The OS picks a free port; it stays free for the instant until moto binds it.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("no free loopback port");
    listener
        .local_addr()
        .expect("bound listener has an address")
        .port()
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
