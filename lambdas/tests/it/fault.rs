//! A loopback proxy in front of moto that answers chosen requests with an AWS error instead of forwarding them:
//! the refusals moto never gives (its operations complete at once), injected into a real moto run.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::{BehaviorVersion, Region};
use lambdas::Clients;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// Requests of the AWS query protocol (RDS) whose form has every one of `params`, answered `status` with an
/// XML error `code` instead of reaching moto: `times` times, or always.
pub struct Fault {
    pub params: Vec<(&'static str, String)>,
    pub status: u16,
    pub code: &'static str,
    pub message: &'static str,
    pub times: Option<usize>,
}

impl Fault {
    fn matches(&self, body: &str) -> bool {
        let form: Vec<(&str, &str)> = body
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .collect();
        self.params
            .iter()
            .all(|(key, value)| form.contains(&(key, value.as_str())))
    }

    fn answer(&self) -> String {
        let body = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error>\
             <RequestId>injected</RequestId></ErrorResponse>",
            self.code, self.message
        );
        format!(
            "HTTP/1.1 {} Injected\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.status,
            body.len()
        )
    }
}

pub struct FaultProxy {
    port: u16,
    injected: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(moto: &tests::Moto, fault: Fault) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let port = listener.local_addr().expect("an address").port();
        let upstream = moto.endpoint().trim_start_matches("http://").to_owned();
        let injected = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&injected);
        let fault = Arc::new(fault);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (fault, counter, upstream) =
                    (Arc::clone(&fault), Arc::clone(&counter), upstream.clone());
                tokio::spawn(async move {
                    // A broken connection fails only the call that made it, which the test then reports.
                    let _ = relay(stream, &upstream, &fault, &counter).await;
                });
            }
        });
        FaultProxy {
            port,
            injected,
            task,
        }
    }

    /// The function's clients, talking to moto through this proxy.
    pub async fn clients(&self) -> Clients {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(format!("http://127.0.0.1:{}", self.port))
            .region(Region::new(tests::REGION))
            .test_credentials()
            .load()
            .await;
        Clients::new(&config)
    }

    /// How many requests got the injected error.
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request per connection: answered with the fault, or sent to moto with `Connection: close` and moto's
/// answer copied back to its end.
async fn relay(
    mut client: TcpStream,
    upstream: &str,
    fault: &Fault,
    injected: &AtomicUsize,
) -> std::io::Result<()> {
    let request = rehearsal_front::loopback::read_request(&mut client).await?;
    let text = String::from_utf8_lossy(&request.body);
    let allowed = fault
        .times
        .is_none_or(|n| injected.load(Ordering::SeqCst) < n);
    if allowed && fault.matches(&text) {
        injected.fetch_add(1, Ordering::SeqCst);
        return client.write_all(fault.answer().as_bytes()).await;
    }
    let upstream = upstream.parse().map_err(std::io::Error::other)?;
    let answer = rehearsal_front::loopback::exchange(upstream, &request.closing()).await?;
    client.write_all(&answer).await
}
