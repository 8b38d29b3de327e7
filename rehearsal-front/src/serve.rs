//! The Lambda Invoke API on a loopback port, answered in process by the real handlers: what moto cannot do
//! (it runs no Lambda code without Docker). `stepback rehearse` points moto's `MOTO_PORT` at it, so that moto's
//! Step Functions interpreter invokes the real handlers, and every other request is passed on to `upstream`,
//! bridged by [`moto_gaps`] where moto lacks something, and faulted by [`faults`] when the handlers sent them;
//! `stepback preflight`'s test invokes the checks through it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::faults::{self, Faults, Injection};
use crate::kubernetes::{AccessConfig, ApiServer};
use crate::loopback::{self, Request};
use crate::moto_gaps;
use crate::sent::Sent;
use lambdas::{Clients, Function};

/// The path of an Invoke: `POST /2015-03-31/functions/{FunctionName}/invocations`.
const INVOKE_PREFIX: &str = "/2015-03-31/functions/";
const INVOKE_SUFFIX: &str = "/invocations";

/// The server's handle: its address, and the functions it answers for, which may be added while it runs (a
/// stack's function names are known only once the stack exists, after the emulator, which must know this
/// server's port, has started).
#[derive(Clone)]
pub struct Served {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    functions: RwLock<BTreeMap<String, Function>>,
    /// Steps whose invocations fail with this error name and message instead of running the handler.
    failing: RwLock<BTreeMap<String, (String, String)>>,
    faults: RwLock<Arc<Faults>>,
    /// Every request the handlers sent, for the model check of the tests that rehearse.
    sent: Mutex<Vec<Sent>>,
    /// The API server of each EKS cluster created through this front, by cluster name.
    clusters: RwLock<BTreeMap<String, ApiServer>>,
    /// The role each function runs as, by function name, for those [`Served::run_as`] names.
    roles: RwLock<BTreeMap<String, String>>,
    /// The credentials of the roles assumed so far, which every cluster's API server trusts.
    assumed: RwLock<Vec<Credentials>>,
    /// Held while a DynamoDB request is with the emulator ([`moto_gaps::one_at_a_time`]).
    dynamodb: tokio::sync::Mutex<()>,
    stop: Notify,
}

impl Served {
    /// Answers invocations of `name` (a function's name) with `function`.
    pub fn add(&self, name: String, function: Function) {
        self.shared
            .functions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name, function);
    }

    /// Invocations of function `name` run with the credentials of `role` (an IAM role ARN), assumed through the
    /// emulator's STS as Lambda assumes a function's execution role, instead of the server's: the Kubernetes API
    /// servers then authorize the handler's calls by the role's access entry, as EKS does.
    pub fn run_as(&self, name: String, role: String) {
        self.shared
            .roles
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name, role);
    }

    /// Every invocation for `step` (the payload's `execution.step`) fails with the error `name` and `message`
    /// without running the handler: for a step whose action calls no AWS API that [`Served::inject`] could fail.
    pub fn fail(&self, step: &str, name: &str, message: &str) {
        self.shared
            .failing
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(step.to_owned(), (name.to_owned(), message.to_owned()));
    }

    /// Injects `faults` into the handlers' AWS calls from now on.
    pub fn inject(&self, faults: Faults) {
        *self
            .shared
            .faults
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(faults);
    }

    /// The handlers' calls and the faults injected so far.
    pub fn counts(&self) -> faults::Counts {
        self.faults().counts()
    }

    /// Every AWS request that the handlers sent so far (faulted ones too: a handler built them), and every Lambda
    /// Invoke answered (from the emulator's interpreter, as Step Functions would send it, or a caller's).
    pub fn sent(&self) -> Vec<Sent> {
        self.shared
            .sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The Kubernetes API server of EKS cluster `name`, made when the cluster was created through this front.
    pub fn cluster(&self, name: &str) -> Option<ApiServer> {
        self.shared
            .clusters
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Stops serving and frees the port (invocations under way are dropped), and the clusters' API servers.
    pub fn stop(&self) {
        self.shared.stop.notify_one();
        for cluster in self
            .shared
            .clusters
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            cluster.stop();
        }
    }

    fn faults(&self) -> Arc<Faults> {
        Arc::clone(
            &self
                .shared
                .faults
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

/// Serves `functions` (by function name) on `listener`, a loopback port bound by the caller (so that the emulator
/// can be told it before this starts), from a thread of its own that lives as long as the process: the handlers'
/// futures are not `Send`, so they run on that thread's runtime, until [`Served::stop`]. Their AWS calls use
/// `config`, with each step's requests [tagged](faults::Tagged) with its id; requests that are not invocations go
/// to `upstream` through [`moto_gaps`] (and the [`faults`] injected), or get a 404 without one.
pub fn spawn(
    listener: TcpListener,
    functions: BTreeMap<String, Function>,
    config: &SdkConfig,
    upstream: Option<SocketAddr>,
) -> io::Result<Served> {
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        functions: RwLock::new(functions),
        ..Shared::default()
    });
    let served = Served {
        addr,
        shared: Arc::clone(&shared),
    };
    let config = config.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            let server = Rc::new(Server {
                shared: Arc::clone(&shared),
                clients_of_server: Clients::new(&config),
                upstream_clients: upstream.map(|upstream| {
                    Clients::new(
                        &config
                            .to_builder()
                            .endpoint_url(format!("http://{upstream}"))
                            .build(),
                    )
                }),
                service_tasks: moto_gaps::ServiceTasks::default(),
                clients: RefCell::default(),
                upstream,
                addr,
            });
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    () = shared.stop.notified() => break,
                };
                let Ok((stream, _)) = accepted else { break };
                let server = Rc::clone(&server);
                tokio::task::spawn_local(async move {
                    // A broken connection fails only the call that made it, which its caller reports.
                    let _ = server.answer(stream).await;
                });
            }
        });
    });
    Ok(served)
}

/// A loopback listener on a free port, for [`spawn`].
pub fn bind() -> io::Result<TcpListener> {
    TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
}

struct Server {
    shared: Arc<Shared>,
    clients_of_server: Clients,
    /// Each step's clients, whose requests name the step.
    clients: RefCell<BTreeMap<String, Rc<Clients>>>,
    upstream: Option<SocketAddr>,
    /// Clients that reach the upstream directly, for what [`moto_gaps`] does on ECS's behalf.
    upstream_clients: Option<Clients>,
    service_tasks: moto_gaps::ServiceTasks,
    /// This front's own address: the STS endpoint that the handlers' EKS tokens name.
    addr: SocketAddr,
}

impl Server {
    async fn answer(&self, mut stream: TcpStream) -> io::Result<()> {
        let request = loopback::read_request(&mut stream).await?;
        let invoked = request
            .path
            .strip_prefix(INVOKE_PREFIX)
            .and_then(|rest| rest.split('?').next())
            .and_then(|rest| rest.strip_suffix(INVOKE_SUFFIX))
            .filter(|_| request.method == "POST");
        match (invoked, self.upstream) {
            (Some(name), _) => {
                // What Step Functions' `lambda:invoke` (or `stepback preflight`) would send Lambda.
                let sent = Sent::rest_json("lambda", "Invoke", &request.head, &request.body);
                self.shared
                    .sent
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend(sent);
                self.invoke(&mut stream, &decode(name), &request.body).await
            }
            (None, Some(upstream)) => self.forward(&mut stream, &request, upstream).await,
            (None, None) => not_found(&mut stream, &request).await,
        }
    }

    /// Passes `request` on to the emulator through [`moto_gaps`], unless a fault is injected: a handler's
    /// request may be answered with an error instead, or forwarded and its answer dropped, and the answer to a
    /// slowed step [held](Faults::hold) in progress.
    async fn forward(
        &self,
        stream: &mut TcpStream,
        request: &Request,
        upstream: SocketAddr,
    ) -> io::Result<()> {
        let faults = Arc::clone(
            &self
                .shared
                .faults
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if let Some(refused) = moto_gaps::refused(request) {
            return stream.write_all(&refused).await;
        }
        let step = request.header(faults::STEP_HEADER);
        if step.is_some() {
            let sent = Sent::new(
                &request.method,
                |name| request.header(name).unwrap_or_default(),
                &request.path,
                &request.body,
            );
            self.shared
                .sent
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(sent);
        }
        let injection = step.and_then(|step| faults.draw(step, request));
        let (outbound, bridge) = moto_gaps::outbound(request);
        let _turn = if moto_gaps::one_at_a_time(request) {
            Some(self.shared.dynamodb.lock().await)
        } else {
            None
        };
        let raw = match injection {
            Some(Injection::Answer(raw)) => raw,
            Some(Injection::Drop) => {
                // Acted on, the answer lost: ECS starts the service's tasks all the same.
                let raw = loopback::exchange(upstream, &outbound).await?;
                self.settle(&bridge, &raw).await.ok();
                return Ok(());
            }
            None => loopback::exchange(upstream, &outbound).await?,
        };
        if let Err(reason) = self.settle(&bridge, &raw).await {
            let failed = faults::answer(
                request,
                false,
                500,
                "ServerException",
                &format!("the rehearsal could not start the service's tasks: {reason}"),
            );
            return stream.write_all(&failed).await;
        }
        let mut answer = self.eks(request, moto_gaps::inbound(&bridge, raw)).await;
        if let Some(step) = step {
            answer = faults.hold(step, request, answer);
        }
        stream.write_all(&answer).await
    }

    /// What EKS does beyond moto: a cluster created gets an API server ([`ApiServer`]), which says what
    /// CreateCluster and DescribeCluster answer ([`ApiServer::describe`]: CREATING, then ACTIVE with its endpoint
    /// and CA).
    async fn eks(&self, request: &Request, answer: Vec<u8>) -> Vec<u8> {
        let is_eks = request
            .header("authorization")
            .is_some_and(|auth| auth.contains("/eks/aws4_request"));
        let Some(response) =
            loopback::Response::parse(&answer).filter(|r| is_eks && r.status == 200)
        else {
            return answer;
        };
        let Ok(mut body) = serde_json::from_slice::<Value>(&response.body) else {
            return answer;
        };
        let name = body["cluster"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let created =
            request.method == "POST" && request.path.split('?').next() == Some("/clusters");
        if created {
            let credentials = match self.clients_of_server.config().credentials_provider() {
                Some(provider) => provider.provide_credentials().await.ok(),
                None => None,
            };
            let asked = serde_json::from_slice::<Value>(&request.body).unwrap_or(Value::Null);
            let spawned = credentials
                .ok_or_else(|| "no credentials to trust".to_owned())
                .and_then(|c| {
                    ApiServer::spawn(&name, self.addr, c, AccessConfig::requested(&asked))
                        .map_err(|e| e.to_string())
                });
            match spawned {
                Ok(server) => {
                    for assumed in self
                        .shared
                        .assumed
                        .read()
                        .unwrap_or_else(PoisonError::into_inner)
                        .iter()
                    {
                        server.trust(assumed.clone());
                    }
                    self.shared
                        .clusters
                        .write()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(name.clone(), server);
                }
                Err(e) => {
                    return faults::answer(
                        request,
                        false,
                        500,
                        "ServerException",
                        &format!("the rehearsal could not serve the cluster's API: {e}"),
                    );
                }
            }
        }
        let clusters = self
            .shared
            .clusters
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(server) = clusters.get(&name) else {
            return answer;
        };
        server.describe(&mut body["cluster"], created);
        response.with_body("application/json", &[], body.to_string().into_bytes())
    }

    /// What ECS does after a service changed, when the answer says one did ([`moto_gaps::ServiceTasks`]).
    async fn settle(&self, bridge: &moto_gaps::Bridge, raw: &[u8]) -> Result<(), String> {
        match (bridge, &self.upstream_clients) {
            (moto_gaps::Bridge::EcsServiceChanged, Some(clients)) => {
                self.service_tasks.settle(clients, raw).await
            }
            _ => Ok(()),
        }
    }

    /// The clients of `step`'s handler: the server's, or with the credentials of `role` when its function runs
    /// as one, with an HTTP client that names the step.
    async fn clients(&self, step: &str, role: Option<&str>) -> Result<Rc<Clients>, String> {
        if let Some(made) = self.clients.borrow().get(step) {
            return Ok(Rc::clone(made));
        }
        let config = match role {
            Some(role) => {
                let credentials = self.assume(role).await?;
                self.clients_of_server
                    .config()
                    .to_builder()
                    .credentials_provider(SharedCredentialsProvider::new(credentials))
                    .build()
            }
            None => self.clients_of_server.config().clone(),
        };
        let made = Rc::new(Clients::new(&config).wrapped(|inner| faults::Tagged::new(inner, step)));
        self.clients
            .borrow_mut()
            .insert(step.to_owned(), Rc::clone(&made));
        Ok(made)
    }

    /// The credentials of `role`, from the emulator's AssumeRole (moto's assumed-role session, whose caller
    /// GetCallerIdentity names), trusted by every cluster's API server.
    async fn assume(&self, role: &str) -> Result<Credentials, String> {
        let assumed = self
            .clients_of_server
            .aws(aws_sdk_sts::Client::new)
            .assume_role()
            .role_arn(role)
            .role_session_name("stepback-rehearsal")
            .send()
            .await
            .map_err(|e| {
                format!(
                    "assume the function's role {role}: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(e)
                )
            })?;
        let given = assumed
            .credentials()
            .ok_or_else(|| format!("assume the function's role {role}: STS gave no credentials"))?;
        let credentials = Credentials::new(
            given.access_key_id(),
            given.secret_access_key(),
            Some(given.session_token().to_owned()),
            None,
            "assumed-role",
        );
        self.shared
            .assumed
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(credentials.clone());
        for cluster in self
            .shared
            .clusters
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            cluster.trust(credentials.clone());
        }
        Ok(credentials)
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
        let function = self
            .shared
            .functions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(short)
            .cloned();
        let Some(function) = function else {
            let body = json!({ "Type": "User", "message": format!("Function not found: {name}") });
            let headers = [("X-Amzn-ErrorType", "ResourceNotFoundException")];
            return respond(stream, "404 Not Found", &headers, &body).await;
        };
        let payload: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let step = payload["execution"]["step"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let failing = self
            .shared
            .failing
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&step)
            .cloned();
        if let Some((name, message)) = failing {
            let body = json!({ "errorType": name, "errorMessage": message });
            let headers = [("X-Amz-Function-Error", "Unhandled")];
            return respond(stream, "200 OK", &headers, &body).await;
        }
        let role = self
            .shared
            .roles
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(short)
            .cloned();
        let clients = match self.clients(&step, role.as_deref()).await {
            Ok(clients) => clients,
            Err(message) => {
                let error = lambdas::ActionError::new(catalog::ErrorName::Failed, message);
                let diagnostic = lambda_runtime::Diagnostic::from(error);
                let body = json!({ "errorType": diagnostic.error_type, "errorMessage": diagnostic.error_message });
                let headers = [("X-Amz-Function-Error", "Unhandled")];
                return respond(stream, "200 OK", &headers, &body).await;
            }
        };
        match function.handle(&clients, payload).await {
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

async fn not_found(stream: &mut TcpStream, request: &Request) -> io::Result<()> {
    let body = json!({ "message": format!("no route for {} {}", request.method, request.path) });
    respond(stream, "404 Not Found", &[], &body).await
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> io::Result<()> {
    let body = body.to_string();
    loopback::respond(stream, status, headers, "application/json", body.as_bytes()).await
}

/// A path segment percent-decoded: the SDK escapes the `:` of an ARN.
fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}
