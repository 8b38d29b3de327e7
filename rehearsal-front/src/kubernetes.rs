//! A Kubernetes API server for each EKS cluster of the rehearsal and the tests: moto 5.2.5 creates clusters, but
//! its endpoint is a made-up host that nothing answers, and no Kubernetes API server can be installed here.
//!
//! [`ApiServer`] serves, over TLS under a CA of its own (the `certificateAuthority` that DescribeCluster then
//! gives, see [`serve`](crate::serve)), what `eks.deploy` and the world call, as the Kubernetes API reference
//! documents them: a Deployment read, created and merge-patched (a `resourceVersion` in the patch must be the
//! object's, else 409), and ReplicaSets listed by label selector. It plays the deployment controller's part: a
//! new pod template gets a ReplicaSet of its own (or the old one whose template it equals, renumbered as the
//! newest revision, as an undo makes it), and the rollout advances one replica at each read of the Deployment,
//! except for an image that is [stalled](ApiServer::stall), whose rollout ends in `ProgressDeadlineExceeded`,
//! and a rollout [held](ApiServer::hold) for a while (`stepback rehearse --slow`).
//!
//! Every request is authenticated as EKS does it (aws-iam-authenticator, `pkg/token`): the bearer token must be
//! `k8s-aws-v1.` and a presigned GetCallerIdentity URL of the emulator's STS, with `x-k8s-aws-id` among its signed
//! headers, dated within 15 minutes, and `X-Amz-Expires` at most 900; the URL is then called with this cluster's
//! name in `x-k8s-aws-id`, and STS's answer names the caller. moto's STS checks no signature, as AWS's does: the
//! signature is checked here against the [trusted](ApiServer::trust) credentials, so that a token for another
//! cluster, or signed with another secret, is refused (401). The caller is then authorized by its access entry:
//! the cluster's creator is its admin (EKS's `bootstrapClusterCreatorAdminPermissions`, on by default), and a
//! principal with an [access entry](ApiServer::access_entry) of AmazonEKSEditPolicy on namespaces may only touch
//! those (403 elsewhere). An access entry is refused, as EKS refuses it, on a cluster whose authentication mode
//! has no `API` (the default of CreateCluster through the API, `CONFIG_MAP`).
//!
//! What the [`serve`](crate::serve) front makes of moto's clusters, which are ACTIVE at once with a made-up endpoint
//! and CA, and keep no `accessConfig`: a cluster is [`CREATING`](ApiServer::describe) in CreateCluster's answer and
//! the first DescribeCluster after, without endpoint or CA, then ACTIVE with this server's.
//! Where AWS differs: the STS URL is the emulator's, over http on loopback, not `https://sts.<region>...`.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use base64::Engine;
use lambdas::kubernetes::{POD_TEMPLATE_HASH, REVISION};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, ServerConfig};

use crate::loopback::{self, Request};

mod setup;
mod token;

pub use setup::{REPLICAS, create_deployment, wait_until_active};

/// The CA that signs every API server's certificate: DescribeCluster's `certificateAuthority.data` is its base64.
pub const CA_PEM: &str = include_str!("kubernetes/ca.pem");
/// The servers' certificate (for 127.0.0.1 and localhost) and its key: made once with openssl for these tests.
const SERVER_PEM: &str = include_str!("kubernetes/server.pem");
const SERVER_KEY: &str = include_str!("kubernetes/server.key");
/// One cluster's API server, on a loopback port, until [`ApiServer::stop`].
#[derive(Clone)]
pub struct ApiServer {
    pub addr: SocketAddr,
    cluster: Arc<Mutex<Cluster>>,
    stop: Arc<Notify>,
}

/// How a cluster authenticates (CreateCluster's `accessConfig`): "If you create a cluster by using the EKS API,
/// AWS SDKs, or AWS CloudFormation, the default is CONFIG_MAP" (EKS API reference, CreateAccessConfigRequest),
/// and the creator is made admin unless `bootstrapClusterCreatorAdminPermissions` is false ("The default value is
/// true").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessConfig {
    pub authentication_mode: String,
    pub bootstrap_creator_admin: bool,
}

impl AccessConfig {
    /// The `accessConfig` of a CreateCluster request's body, with EKS's defaults.
    pub fn requested(create_cluster: &Value) -> AccessConfig {
        let asked = &create_cluster["accessConfig"];
        AccessConfig {
            authentication_mode: asked["authenticationMode"]
                .as_str()
                .unwrap_or("CONFIG_MAP")
                .to_owned(),
            bootstrap_creator_admin: asked["bootstrapClusterCreatorAdminPermissions"]
                .as_bool()
                .unwrap_or(true),
        }
    }

    /// "To begin using access entries, you must change the authentication mode of the cluster to either the
    /// API_AND_CONFIG_MAP or API modes" (EKS user guide, "Change authentication mode to use access entries").
    fn has_access_entries(&self) -> bool {
        matches!(
            self.authentication_mode.as_str(),
            "API" | "API_AND_CONFIG_MAP"
        )
    }
}

/// Who may do what in a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Access {
    /// AmazonEKSClusterAdminPolicy, cluster-wide.
    Admin,
    /// AmazonEKSEditPolicy in these namespaces (`catalog::kubernetes::CLUSTER_ACCESS`).
    Edit(BTreeSet<String>),
}

/// A rollout: replicas of the newest ReplicaSet up, reads of the Deployment since it began, and until when it
/// is [held](ApiServer::hold).
#[derive(Clone, Copy, Default)]
struct Rollout {
    up: i64,
    reads: u32,
    held_until: Option<Instant>,
}

struct Cluster {
    name: String,
    access_config: AccessConfig,
    /// DescribeCluster answers still to say CREATING.
    creating: u32,
    /// `host:port` of the only STS a token may name.
    sts: SocketAddr,
    /// The credentials whose signatures are checked, by access key id.
    trusted: BTreeMap<String, Credentials>,
    /// The access key of the cluster's creator, whose principal is its admin when the access config says so.
    creator_key: Option<String>,
    access: BTreeMap<String, Access>,
    deployments: BTreeMap<(String, String), Value>,
    replica_sets: BTreeMap<(String, String), Value>,
    /// Each Deployment's rollout to its newest ReplicaSet.
    rolling: BTreeMap<(String, String), Rollout>,
    stalled: BTreeSet<String>,
    /// The next rollout of each Deployment makes no progress for this long (`stepback rehearse --slow`).
    holds: BTreeMap<(String, String), Duration>,
    /// The next patch is applied and its answer lost.
    lose_patch_answer: bool,
    /// Counts resource versions and uids.
    counter: u64,
}

impl ApiServer {
    /// Serves cluster `name` on a free loopback port: tokens must name `sts` and be signed by `creator` (the
    /// cluster's admin, unless `access_config` says otherwise), or by credentials [trusted](ApiServer::trust) later.
    pub fn spawn(
        name: &str,
        sts: SocketAddr,
        creator: Credentials,
        access_config: AccessConfig,
    ) -> io::Result<ApiServer> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let tls = TlsAcceptor::from(Arc::new(tls_config().map_err(io::Error::other)?));
        let cluster = Arc::new(Mutex::new(Cluster {
            name: name.to_owned(),
            creator_key: access_config
                .bootstrap_creator_admin
                .then(|| creator.access_key_id().to_owned()),
            access_config,
            creating: 1,
            sts,
            trusted: BTreeMap::from([(creator.access_key_id().to_owned(), creator)]),
            access: BTreeMap::new(),
            deployments: BTreeMap::new(),
            replica_sets: BTreeMap::new(),
            rolling: BTreeMap::new(),
            stalled: BTreeSet::new(),
            holds: BTreeMap::new(),
            lose_patch_answer: false,
            counter: 0,
        }));
        let server = ApiServer {
            addr,
            cluster,
            stop: Arc::new(Notify::new()),
        };
        let serving = server.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                loop {
                    let accepted = tokio::select! {
                        accepted = listener.accept() => accepted,
                        () = serving.stop.notified() => break,
                    };
                    let Ok((stream, _)) = accepted else { break };
                    let (serving, tls) = (serving.clone(), tls.clone());
                    tokio::spawn(async move {
                        // A handshake or request that fails ends only its own connection.
                        if let Ok(mut stream) = tls.accept(stream).await {
                            let _ = serving.answer(&mut stream).await;
                        }
                    });
                }
            });
        });
        Ok(server)
    }

    /// The API server's URL, as DescribeCluster gives it.
    pub fn endpoint(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Checks the signatures of tokens signed with `credentials` too.
    pub fn trust(&self, credentials: Credentials) {
        self.lock()
            .trusted
            .insert(credentials.access_key_id().to_owned(), credentials);
    }

    /// An access entry for `principal` (an IAM role or user ARN) with AmazonEKSEditPolicy scoped to `namespaces`,
    /// as CreateAccessEntry (or CloudFormation's `AWS::EKS::AccessEntry`) makes it; refused, with EKS's
    /// InvalidRequestException, on a cluster whose authentication mode has no API.
    pub fn access_entry(&self, principal: &str, namespaces: &[String]) -> Result<(), String> {
        let mut cluster = self.lock();
        if !cluster.access_config.has_access_entries() {
            return Err(format!(
                "InvalidRequestException: the authentication mode of cluster `{}` is {}: it must be API or API_AND_CONFIG_MAP for access entries (`aws eks update-cluster-config --name {} --access-config authenticationMode=API_AND_CONFIG_MAP`)",
                cluster.name, cluster.access_config.authentication_mode, cluster.name
            ));
        }
        let entry = cluster
            .access
            .entry(principal.to_owned())
            .or_insert_with(|| Access::Edit(BTreeSet::new()));
        if let Access::Edit(scope) = entry {
            scope.extend(namespaces.iter().cloned());
        }
        Ok(())
    }

    /// What EKS's CreateCluster and DescribeCluster answer for this cluster, written into moto's `cluster`:
    /// CREATING in CreateCluster's answer and the next DescribeCluster's, then ACTIVE. "The API server endpoint
    /// and certificate authority data aren't available until the cluster reaches the ACTIVE state" (EKS API
    /// reference, DescribeCluster): only then this server's endpoint and CA.
    pub fn describe(&self, cluster: &mut Value, created_now: bool) {
        let mut state = self.lock();
        let creating = if created_now {
            true
        } else if state.creating > 0 {
            state.creating -= 1;
            true
        } else {
            false
        };
        cluster["accessConfig"] = json!({
            "authenticationMode": state.access_config.authentication_mode,
            "bootstrapClusterCreatorAdminPermissions": state.access_config.bootstrap_creator_admin,
        });
        if creating {
            cluster["status"] = json!("CREATING");
            cluster["certificateAuthority"] = json!({});
            if let Some(fields) = cluster.as_object_mut() {
                fields.remove("endpoint");
            }
        } else {
            cluster["status"] = json!("ACTIVE");
            cluster["endpoint"] = json!(self.endpoint());
            cluster["certificateAuthority"] =
                json!({ "data": base64::engine::general_purpose::STANDARD.encode(CA_PEM) });
        }
    }

    /// Pods of `image` never become ready: a rollout to it ends in `ProgressDeadlineExceeded`.
    pub fn stall(&self, image: &str) {
        self.lock().stalled.insert(image.to_owned());
    }

    /// The next rollout of Deployment `namespace/name` brings no replica up for `real` after it begins, as pods
    /// slow to pull or to pass their readiness probes would (`stepback rehearse --slow`).
    pub fn hold(&self, namespace: &str, name: &str, real: Duration) {
        self.lock()
            .holds
            .insert((namespace.to_owned(), name.to_owned()), real);
    }

    /// The next patch is applied, and the connection closed without an answer.
    pub fn lose_next_patch_answer(&self) {
        self.lock().lose_patch_answer = true;
    }

    /// The Deployment as the API server holds it, status included.
    pub fn deployment(&self, namespace: &str, name: &str) -> Option<Value> {
        let cluster = self.lock();
        let key = (namespace.to_owned(), name.to_owned());
        cluster
            .deployments
            .get(&key)
            .map(|d| cluster.with_status(&key, d))
    }

    /// The ReplicaSets of a namespace, by name.
    pub fn replica_sets(&self, namespace: &str) -> Vec<Value> {
        let cluster = self.lock();
        cluster
            .replica_sets
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .map(|(_, rs)| rs.clone())
            .collect()
    }

    pub fn stop(&self) {
        self.stop.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cluster> {
        self.cluster.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn answer<S: AsyncRead + AsyncWrite + Unpin>(&self, stream: &mut S) -> io::Result<()> {
        let request = loopback::read_request(stream).await?;
        let (code, body) = match self.authenticate(&request).await {
            Err(message) => status(401, "Unauthorized", &message),
            Ok(caller) => self.lock().serve(&request, &caller),
        };
        if request.method == "PATCH" && std::mem::take(&mut self.lock().lose_patch_answer) {
            return Ok(());
        }
        let reason = match code {
            200 => "200 OK",
            201 => "201 Created",
            401 => "401 Unauthorized",
            403 => "403 Forbidden",
            404 => "404 Not Found",
            409 => "409 Conflict",
            415 => "415 Unsupported Media Type",
            _ => "400 Bad Request",
        };
        loopback::respond(
            stream,
            reason,
            &[],
            "application/json",
            body.to_string().as_bytes(),
        )
        .await
    }

    /// The caller's canonical ARN, or why its token is refused.
    async fn authenticate(&self, request: &Request) -> Result<String, String> {
        let token = request
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or("no bearer token")?;
        let (cluster, sts, trusted, creator_key) = {
            let c = self.lock();
            (
                c.name.clone(),
                c.sts,
                c.trusted.clone(),
                c.creator_key.clone(),
            )
        };
        let (arn, key) = token::verify(token, &cluster, sts, &trusted).await?;
        if creator_key.as_deref() == Some(key.as_str()) {
            // The creator's access entry, made with the cluster; its ARN is known from its first token.
            self.lock()
                .access
                .entry(arn.clone())
                .or_insert(Access::Admin);
        }
        Ok(arn)
    }
}

impl Cluster {
    fn serve(&mut self, request: &Request, caller: &str) -> (u16, Value) {
        let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (verb, namespace, resource, name) = match (request.method.as_str(), parts.as_slice()) {
            ("GET", ["apis", "apps", "v1", "namespaces", ns, "deployments", name]) => {
                ("get", *ns, "deployments", *name)
            }
            ("PATCH", ["apis", "apps", "v1", "namespaces", ns, "deployments", name]) => {
                ("patch", *ns, "deployments", *name)
            }
            ("POST", ["apis", "apps", "v1", "namespaces", ns, "deployments"]) => {
                ("create", *ns, "deployments", "")
            }
            ("GET", ["apis", "apps", "v1", "namespaces", ns, "replicasets"]) => {
                ("list", *ns, "replicasets", "")
            }
            _ => {
                return status(
                    404,
                    "NotFound",
                    &format!(
                        "the server could not find the requested resource ({} {path})",
                        request.method
                    ),
                );
            }
        };
        let principal = caller;
        let allowed = match self.access.get(principal) {
            Some(Access::Admin) => true,
            Some(Access::Edit(namespaces)) => namespaces.contains(namespace),
            None => false,
        };
        if !allowed {
            let what = if name.is_empty() {
                resource.to_owned()
            } else {
                format!("{resource}.apps \"{name}\"")
            };
            return status(
                403,
                "Forbidden",
                &format!(
                    "{what} is forbidden: User \"{principal}\" cannot {verb} resource \"{resource}\" in API group \"apps\" in the namespace \"{namespace}\""
                ),
            );
        }
        let key = (namespace.to_owned(), name.to_owned());
        match verb {
            "get" => match self.deployments.get(&key) {
                Some(_) => {
                    self.advance(&key);
                    (200, self.with_status(&key, &self.deployments[&key]))
                }
                None => not_found(name),
            },
            "list" => {
                let selector = selector(query);
                let items: Vec<Value> = self
                    .replica_sets
                    .iter()
                    .filter(|((ns, _), rs)| {
                        ns == namespace
                            && selector
                                .iter()
                                .all(|(k, v)| rs["metadata"]["labels"][k] == *v)
                    })
                    .map(|(_, rs)| rs.clone())
                    .collect();
                (
                    200,
                    json!({ "kind": "ReplicaSetList", "apiVersion": "apps/v1", "items": items }),
                )
            }
            "create" => {
                let Ok(mut deployment) = serde_json::from_slice::<Value>(&request.body) else {
                    return status(400, "BadRequest", "the body is not a Deployment");
                };
                let name = deployment["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let key = (namespace.to_owned(), name.clone());
                if self.deployments.contains_key(&key) {
                    return status(
                        409,
                        "AlreadyExists",
                        &format!("deployments.apps \"{name}\" already exists"),
                    );
                }
                deployment["metadata"]["namespace"] = json!(namespace);
                deployment["metadata"]["uid"] = json!(self.next("uid"));
                deployment["metadata"]["generation"] = json!(1);
                deployment["metadata"]["resourceVersion"] = json!(self.next(""));
                deployment["metadata"]["annotations"] = deployment["metadata"]["annotations"]
                    .as_object()
                    .cloned()
                    .map_or(json!({}), Value::Object);
                self.deployments.insert(key.clone(), deployment);
                self.reconcile(&key);
                (201, self.with_status(&key, &self.deployments[&key]))
            }
            _ => self.patch(&key, request),
        }
    }

    /// A JSON merge patch (RFC 7386), the `application/merge-patch+json` of the API conventions.
    fn patch(&mut self, key: &(String, String), request: &Request) -> (u16, Value) {
        if request.header("content-type") != Some("application/merge-patch+json") {
            return status(
                415,
                "UnsupportedMediaType",
                "only application/merge-patch+json is served here",
            );
        }
        let Ok(mut patch) = serde_json::from_slice::<Value>(&request.body) else {
            return status(400, "BadRequest", "the patch is not JSON");
        };
        let Some(deployment) = self.deployments.get(key) else {
            return not_found(&key.1);
        };
        let stored = deployment["metadata"]["resourceVersion"].clone();
        if let Some(version) = patch
            .pointer_mut("/metadata")
            .and_then(Value::as_object_mut)
            .and_then(|m| m.remove("resourceVersion"))
            && version != stored
        {
            return status(
                409,
                "Conflict",
                &format!(
                    "Operation cannot be fulfilled on deployments.apps \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                    key.1
                ),
            );
        }
        let mut patched = deployment.clone();
        apply_merge_patch(&mut patched, &patch);
        if patched["spec"] != deployment["spec"] {
            patched["metadata"]["generation"] =
                json!(deployment["metadata"]["generation"].as_i64().unwrap_or(1) + 1);
        }
        patched["metadata"]["resourceVersion"] = json!(self.next(""));
        self.deployments.insert(key.clone(), patched);
        self.reconcile(key);
        (200, self.with_status(key, &self.deployments[key]))
    }

    /// The deployment controller's part: the ReplicaSet of the Deployment's template, the newest revision.
    fn reconcile(&mut self, key: &(String, String)) {
        let deployment = self.deployments[key].clone();
        let uid = deployment["metadata"]["uid"].clone();
        let template = deployment["spec"]["template"].clone();
        let owned: Vec<(String, Value)> = self
            .replica_sets
            .iter()
            .filter(|((ns, _), rs)| {
                *ns == key.0 && rs["metadata"]["ownerReferences"][0]["uid"] == uid
            })
            .map(|((_, name), rs)| (name.clone(), rs.clone()))
            .collect();
        let newest = owned.iter().map(|(_, rs)| revision(rs)).max().unwrap_or(0);
        let same = owned.iter().find(|(_, rs)| {
            let mut theirs = rs["spec"]["template"].clone();
            if let Some(labels) = theirs
                .pointer_mut("/metadata/labels")
                .and_then(Value::as_object_mut)
            {
                labels.remove(POD_TEMPLATE_HASH);
            }
            theirs == template
        });
        let revision = match same {
            Some((_, rs)) if revision(rs) == newest => newest,
            found => {
                let hash = hex(&Sha256::digest(template.to_string()))[..10].to_owned();
                let name =
                    found.map_or_else(|| format!("{}-{hash}", key.1), |(name, _)| name.clone());
                let mut rs_template = template.clone();
                rs_template["metadata"]["labels"][POD_TEMPLATE_HASH] = json!(hash);
                let rs = json!({
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": name,
                        "namespace": key.0,
                        "labels": rs_template["metadata"]["labels"],
                        "annotations": { REVISION: (newest + 1).to_string() },
                        "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "Deployment", "name": key.1, "uid": uid, "controller": true }],
                    },
                    "spec": { "replicas": deployment["spec"]["replicas"], "selector": deployment["spec"]["selector"], "template": rs_template },
                });
                self.replica_sets.insert((key.0.clone(), name.clone()), rs);
                // A rollout from no pods (a new Deployment) is done at once.
                let from = if newest == 0 {
                    replicas(&deployment)
                } else {
                    0
                };
                let held_until = self.holds.remove(key).map(|real| Instant::now() + real);
                self.rolling.insert(
                    key.clone(),
                    Rollout {
                        up: from,
                        reads: 0,
                        held_until,
                    },
                );
                newest + 1
            }
        };
        if let Some(deployment) = self.deployments.get_mut(key) {
            deployment["metadata"]["annotations"][REVISION] = json!(revision.to_string());
        }
    }

    /// One more replica of the new ReplicaSet up, unless its image is stalled.
    fn advance(&mut self, key: &(String, String)) {
        let deployment = &self.deployments[key];
        let desired = replicas(deployment);
        let stalled = self.is_stalled(deployment);
        if let Some(rollout) = self.rolling.get_mut(key) {
            rollout.reads += 1;
            let held = rollout
                .held_until
                .is_some_and(|until| Instant::now() < until);
            if !stalled && !held {
                rollout.up = (rollout.up + 1).min(desired);
            }
        }
    }

    fn is_stalled(&self, deployment: &Value) -> bool {
        deployment["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| {
                c["image"]
                    .as_str()
                    .is_some_and(|image| self.stalled.contains(image))
            })
    }

    /// The Deployment with the status the controller would report.
    fn with_status(&self, key: &(String, String), deployment: &Value) -> Value {
        let desired = replicas(deployment);
        let Rollout { up, reads, .. } = self.rolling.get(key).copied().unwrap_or(Rollout {
            up: desired,
            reads: 0,
            held_until: None,
        });
        // The deadline passes after the rollout's first look: a step sees it in progress, then stalled.
        let stalled = up < desired && reads > 1 && self.is_stalled(deployment);
        let new_rs = self
            .replica_sets
            .iter()
            .filter(|((ns, _), rs)| {
                *ns == key.0
                    && rs["metadata"]["ownerReferences"][0]["uid"] == deployment["metadata"]["uid"]
            })
            .max_by_key(|(_, rs)| revision(rs))
            .map(|((_, name), _)| name.clone())
            .unwrap_or_default();
        let progressing = if stalled {
            json!({ "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                    "message": format!("ReplicaSet \"{new_rs}\" has timed out progressing.") })
        } else if up < desired {
            json!({ "type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                    "message": format!("ReplicaSet \"{new_rs}\" is progressing.") })
        } else {
            json!({ "type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                    "message": format!("ReplicaSet \"{new_rs}\" has successfully progressed.") })
        };
        let mut shown = deployment.clone();
        // Old pods go as new ones come up: the total stays at the desired count.
        shown["status"] = json!({
            "observedGeneration": deployment["metadata"]["generation"],
            "replicas": desired,
            "updatedReplicas": up,
            "readyReplicas": desired,
            "availableReplicas": desired,
            "conditions": [
                { "type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability." },
                progressing,
            ],
        });
        shown
    }

    fn next(&mut self, prefix: &str) -> String {
        self.counter += 1;
        if prefix.is_empty() {
            self.counter.to_string()
        } else {
            format!("{:08x}-0000-4000-8000-{:012x}", self.counter, self.counter)
        }
    }
}

fn replicas(deployment: &Value) -> i64 {
    deployment["spec"]["replicas"].as_i64().unwrap_or(1)
}

fn revision(object: &Value) -> u64 {
    object["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// `labelSelector=a%3Db,c%3Dd` → the labels it requires.
fn selector(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("labelSelector="))
        .flat_map(|s| decode(s).split(',').map(str::to_owned).collect::<Vec<_>>())
        .filter_map(|term| {
            term.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// RFC 7386: `patch` applied to `target`.
pub fn apply_merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(object) = target {
        for (key, value) in members {
            if value.is_null() {
                object.remove(key);
            } else {
                apply_merge_patch(object.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({ "kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason, "code": code }),
    )
}

fn not_found(name: &str) -> (u16, Value) {
    status(
        404,
        "NotFound",
        &format!("deployments.apps \"{name}\" not found"),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn tls_config() -> Result<ServerConfig, rustls::Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(SERVER_PEM.as_bytes())
        .chain(CertificateDer::pem_slice_iter(CA_PEM.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes())
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_patch_from_the_lambdas_client_turns_one_template_into_the_other() {
        let from = json!({"metadata": {"labels": {"app": "web", "canary": "yes"}},
            "spec": {"containers": [{"name": "app", "image": "web:v2"}], "dnsPolicy": "ClusterFirst"}});
        let to = json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "web:v1", "args": ["-x"]}]}});
        let mut patched = from.clone();
        apply_merge_patch(&mut patched, &lambdas::kubernetes::merge_patch(&from, &to));
        assert_eq!(patched, to);
    }
}
