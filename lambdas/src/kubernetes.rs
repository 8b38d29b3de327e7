//! An EKS cluster's Kubernetes API from a Lambda: the endpoint and CA that `eks:DescribeCluster` gives, the bearer
//! token that `aws eks get-token` builds, and the few apps/v1 calls `eks.deploy` makes, typed.
//!
//! A small client on reqwest rather than kube-rs: the action reads a Deployment and its ReplicaSets and sends one
//! merge patch, and kube 5 with k8s-openapi 0.29 more than doubled a binary that does the same on reqwest (13.5
//! to 30.3 MB, dev profile; BENCHMARKS.md, "Kubernetes client"). Only the fields read here are typed; a pod
//! template stays JSON, since it is written back whole.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings};
use aws_sigv4::sign::v4;
use base64::Engine;
use catalog::ErrorName;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{ActionError, Clients};

/// What a token starts with: "k8s-aws-v1." and the presigned URL in base64url without padding (aws-iam-authenticator,
/// `pkg/token`: `base64.RawURLEncoding`).
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header the presigned URL signs, naming the cluster the token is for: a token for one cluster is refused
/// by another.
pub const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// How long the presigned URL is valid for, as `aws eks get-token` signs it (`X-Amz-Expires=60`); the
/// authenticator accepts a token for 15 minutes after its `X-Amz-Date` whatever this says.
const TOKEN_EXPIRES: Duration = Duration::from_secs(60);
/// The revision a Deployment and each of its ReplicaSets carry, counted by the deployment controller.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// The label the controller adds to a ReplicaSet's template; `kubectl rollout undo` removes it before applying
/// the template to the Deployment.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// A Kubernetes call's own timeout: the function's is 30 s, and the API server answers in milliseconds.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The bearer token of the function's credentials for `cluster`: a GetCallerIdentity URL of the region's STS
/// endpoint, presigned with `x-k8s-aws-id: <cluster>` among its signed headers, which the cluster's authenticator
/// calls to learn who the caller is.
pub async fn token(
    clients: &Clients,
    cluster: &str,
    now: SystemTime,
) -> Result<String, ActionError> {
    let config = clients.config();
    let region = config
        .region()
        .map(|r| r.as_ref().to_owned())
        .ok_or_else(|| {
            ActionError::new(
                ErrorName::Failed,
                "build a token for EKS: the function has no AWS region",
            )
        })?;
    let refused = |e: &dyn std::fmt::Display| {
        ActionError::new(
            ErrorName::Failed,
            format!("build a token for EKS cluster `{cluster}`: {e}"),
        )
    };
    let credentials = config
        .credentials_provider()
        .ok_or_else(|| refused(&"the function has no AWS credentials"))?
        .provide_credentials()
        .await
        .map_err(|e| refused(&e))?;
    let identity = credentials.into();
    let url = format!(
        "{}/?Action=GetCallerIdentity&Version=2011-06-15",
        sts_endpoint(config.endpoint_url(), &region)
    );
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_EXPIRES);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| refused(&e))?
        .into();
    // The host is signed from the URL; the cluster's name beside it.
    let headers = [(CLUSTER_ID_HEADER, cluster)];
    let signable = SignableRequest::new(
        "GET",
        url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| refused(&e))?;
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|e| refused(&e))?
        .into_parts();
    let mut presigned = url.clone();
    for (name, value) in instructions.params() {
        let value = percent_encoding::utf8_percent_encode(value, QUERY_VALUE);
        presigned.push_str(&format!("&{name}={value}"));
    }
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presigned)
    ))
}

/// What a query value escapes: everything but SigV4's unreserved characters.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The STS endpoint a token names: the function's own endpoint when its config has one (a VPC endpoint, the
/// rehearsal's emulator), else the region's, which the authenticator accepts for the cluster's partition.
fn sts_endpoint(configured: Option<&str>, region: &str) -> String {
    match configured {
        Some(endpoint) => endpoint.trim_end_matches('/').to_owned(),
        None if region.starts_with("cn-") => format!("https://sts.{region}.amazonaws.com.cn"),
        None => format!("https://sts.{region}.amazonaws.com"),
    }
}

/// A connection to one cluster's API server, as the function's role.
pub struct Cluster {
    pub name: String,
    endpoint: String,
    token: String,
    http: reqwest::Client,
}

impl Cluster {
    /// DescribeCluster for the endpoint and CA (an ACTIVE cluster only), then a token for it.
    pub async fn connect(clients: &Clients, name: &str) -> Result<Cluster, ActionError> {
        let attempted = format!("describe EKS cluster `{name}`");
        let described = clients
            .aws(aws_sdk_eks::Client::new)
            .describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(|e| ActionError::aws(&attempted, e))?;
        let cluster = described.cluster.ok_or_else(|| {
            ActionError::new(
                ErrorName::NotFound,
                format!("{attempted}: AWS returned none"),
            )
        })?;
        let status = cluster
            .status()
            .map(|s| s.as_str())
            .unwrap_or("in an unknown state");
        if status != "ACTIVE" {
            return Err(ActionError::new(
                ErrorName::Precondition,
                format!("{attempted}: it is {status}, and its API server answers only when ACTIVE"),
            ));
        }
        let endpoint = cluster
            .endpoint()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        // EKS gives the CA as base64 of its PEM.
        let ca = cluster
            .certificate_authority()
            .and_then(|ca| ca.data())
            .and_then(|data| base64::engine::general_purpose::STANDARD.decode(data).ok())
            .and_then(|pem| reqwest::Certificate::from_pem(&pem).ok())
            .ok_or_else(|| {
                ActionError::new(
                    ErrorName::Failed,
                    format!("{attempted}: its certificate authority is not a PEM certificate"),
                )
            })?;
        // The cluster's CA is the only one its API server's certificate is checked against.
        let http = reqwest::Client::builder()
            .tls_certs_only([ca])
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|e| ActionError::new(ErrorName::Failed, format!("{attempted}: {e}")))?;
        let token = token(clients, name, SystemTime::now()).await?;
        Ok(Cluster {
            name: name.to_owned(),
            endpoint,
            token,
            http,
        })
    }

    pub async fn deployment(&self, namespace: &str, name: &str) -> Result<Deployment, ActionError> {
        let path = deployment_path(namespace, name);
        let attempted = format!(
            "read Deployment `{namespace}/{name}` of EKS cluster `{}`",
            self.name
        );
        self.send(self.http.get(self.url(&path)), &attempted).await
    }

    /// The ReplicaSets that the Deployment controls: those its selector's labels find, owned by it.
    pub async fn replica_sets(
        &self,
        deployment: &Deployment,
    ) -> Result<Vec<ReplicaSet>, ActionError> {
        let namespace = &deployment.metadata.namespace;
        let selector: Vec<String> = deployment
            .spec
            .selector
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let attempted = format!(
            "list the ReplicaSets of Deployment `{namespace}/{}` of EKS cluster `{}`",
            deployment.metadata.name, self.name
        );
        let selector = selector.join(",");
        let selector = percent_encoding::utf8_percent_encode(&selector, QUERY_VALUE);
        let request = self.http.get(self.url(&format!(
            "/apis/apps/v1/namespaces/{namespace}/replicasets?labelSelector={selector}"
        )));
        let list: List<ReplicaSet> = self.send(request, &attempted).await?;
        Ok(list
            .items
            .into_iter()
            .filter(|rs| {
                rs.metadata
                    .owner_references
                    .iter()
                    .any(|owner| owner.controller && owner.uid == deployment.metadata.uid)
            })
            .collect())
    }

    /// A JSON merge patch (RFC 7386) of the Deployment; one that names a `resourceVersion` is refused with 409
    /// when the Deployment changed since.
    pub async fn patch_deployment(
        &self,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> Result<Deployment, ActionError> {
        let path = deployment_path(namespace, name);
        let attempted = format!(
            "patch Deployment `{namespace}/{name}` of EKS cluster `{}`",
            self.name
        );
        let request = self
            .http
            .patch(self.url(&path))
            .header("content-type", "application/merge-patch+json")
            .body(patch.to_string());
        self.send(request, &attempted).await
    }

    /// Creates a Deployment in `namespace`: the rehearsal's world makes its own with it.
    pub async fn create_deployment(
        &self,
        namespace: &str,
        manifest: &Value,
    ) -> Result<Deployment, ActionError> {
        let attempted = format!(
            "create a Deployment in `{namespace}` of EKS cluster `{}`",
            self.name
        );
        let request = self
            .http
            .post(self.url(&format!("/apis/apps/v1/namespaces/{namespace}/deployments")))
            .header("content-type", "application/json")
            .body(manifest.to_string());
        self.send(request, &attempted).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        attempted: &str,
    ) -> Result<T, ActionError> {
        let answer = request
            .bearer_auth(&self.token)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| {
                ActionError::new(
                    ErrorName::Transient,
                    format!("{attempted}: {}", crate::error::causes(&e)),
                )
            })?;
        let status = answer.status().as_u16();
        let body = answer
            .bytes()
            .await
            .map_err(|e| ActionError::new(ErrorName::Transient, format!("{attempted}: {e}")))?;
        if status == 200 || status == 201 {
            return serde_json::from_slice(&body).map_err(|e| {
                ActionError::new(
                    ErrorName::Failed,
                    format!("{attempted}: the answer is not what apps/v1 documents: {e}"),
                )
            });
        }
        let message = serde_json::from_slice::<Status>(&body)
            .map(|s| s.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
        Err(ActionError::new(
            refusal(status),
            format!(
                "{attempted}: Kubernetes answered {status}: {}{}",
                crate::error::cut(message, 300),
                help(status)
            ),
        ))
    }
}

fn deployment_path(namespace: &str, name: &str) -> String {
    format!("/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
}

/// The error name of a Kubernetes refusal: a conflict (the object changed under the patch), throttling and the
/// server's own errors are worth another try.
fn refusal(status: u16) -> ErrorName {
    match status {
        404 => ErrorName::NotFound,
        409 | 429 | 500.. => ErrorName::Transient,
        _ => ErrorName::Failed,
    }
}

/// What fixes a refusal of the function's own making.
fn help(status: u16) -> &'static str {
    match status {
        401 => {
            " (the cluster did not accept the function's token: is the cluster's authentication mode `API` or `API_AND_CONFIG_MAP`?)"
        }
        403 => {
            " (the function's role needs the access entry that `stepback template` writes, with AmazonEKSEditPolicy on the namespace)"
        }
        _ => "",
    }
}

/// A `metav1.Status`, what the API server answers an error with.
#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct List<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub resource_version: String,
    #[serde(default)]
    pub generation: i64,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub owner_references: Vec<OwnerReference>,
}

impl ObjectMeta {
    /// The controller's `deployment.kubernetes.io/revision`; 0 before it has counted one.
    pub fn revision(&self) -> u64 {
        self.annotations
            .get(REVISION)
            .and_then(|r| r.parse().ok())
            .unwrap_or(0)
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    pub uid: String,
    #[serde(default)]
    pub controller: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub metadata: ObjectMeta,
    pub spec: DeploymentSpec,
    #[serde(default)]
    pub status: DeploymentStatus,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSpec {
    /// "Defaults to 1" (apps/v1 DeploymentSpec).
    #[serde(default = "one")]
    pub replicas: i64,
    #[serde(default)]
    pub selector: LabelSelector,
    /// A `PodTemplateSpec`, kept whole: an undo writes a ReplicaSet's back as it is.
    pub template: Value,
}

fn one() -> i64 {
    1
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStatus {
    #[serde(default)]
    pub observed_generation: i64,
    /// Pods of every ReplicaSet of the Deployment, old ones included.
    #[serde(default)]
    pub replicas: i64,
    #[serde(default)]
    pub updated_replicas: i64,
    #[serde(default)]
    pub ready_replicas: i64,
    #[serde(default)]
    pub available_replicas: i64,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ReplicaSet {
    pub metadata: ObjectMeta,
    pub spec: ReplicaSetSpec,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ReplicaSetSpec {
    pub template: Value,
}

/// The image of `container` in a pod template, or of its only container when none is named.
pub fn image<'t>(template: &'t Value, container: Option<&str>) -> Result<&'t str, String> {
    let containers = template["spec"]["containers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let names = || {
        containers
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect::<Vec<_>>()
            .join("`, `")
    };
    let found = match container {
        Some(name) => containers.iter().find(|c| c["name"] == name),
        None if containers.len() == 1 => containers.first(),
        None => {
            return Err(format!(
                "its pods run containers `{}`: name one as `container`",
                names()
            ));
        }
    };
    found.and_then(|c| c["image"].as_str()).ok_or_else(|| {
        format!(
            "its pods have no container `{}`: they run `{}`",
            container.unwrap_or_default(),
            names()
        )
    })
}

/// The template with `container`'s image (the only container's when none is named) set to `image`.
pub fn with_image(template: &Value, container: Option<&str>, image: &str) -> Value {
    let mut changed = template.clone();
    if let Some(containers) = changed
        .pointer_mut("/spec/containers")
        .and_then(Value::as_array_mut)
    {
        let only = containers.len() == 1;
        for c in containers.iter_mut().filter(|c| {
            only && container.is_none() || Some(&c["name"]) == container.map(Value::from).as_ref()
        }) {
            c["image"] = Value::from(image);
        }
    }
    changed
}

/// The JSON merge patch (RFC 7386) that turns `from` into `to`: what `to` changes or adds, and `null` for each
/// member it drops. Lists are replaced whole, as merge patch does.
pub fn merge_patch(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(from), Value::Object(to)) => {
            let mut patch = serde_json::Map::new();
            for (key, old) in from {
                match to.get(key) {
                    None => {
                        patch.insert(key.clone(), Value::Null);
                    }
                    Some(new) if new != old => {
                        patch.insert(key.clone(), merge_patch(old, new));
                    }
                    Some(_) => {}
                }
            }
            for (key, new) in to.iter().filter(|(k, _)| !from.contains_key(*k)) {
                patch.insert(key.clone(), new.clone());
            }
            Value::Object(patch)
        }
        _ => to.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_merge_patch_turns_one_template_into_the_other_exactly() {
        let from = json!({"metadata": {"labels": {"app": "web", "canary": "yes"}},
            "spec": {"containers": [{"name": "app", "image": "web:v2"}], "dnsPolicy": "ClusterFirst"}});
        let to = json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "web:v1", "args": ["-x"]}]}});
        let patch = merge_patch(&from, &to);
        assert_eq!(patch["metadata"]["labels"], json!({"canary": null}));
        assert_eq!(patch["spec"]["dnsPolicy"], Value::Null);
        assert_eq!(patch["spec"]["containers"], to["spec"]["containers"]);
        assert_eq!(merge_patch(&to, &to), json!({}));
    }

    #[test]
    fn images_are_found_by_container_or_as_the_only_one() {
        let template = json!({"spec": {"containers": [{"name": "app", "image": "web:v2"}, {"name": "proxy", "image": "envoy:1"}]}});
        assert_eq!(image(&template, Some("proxy")), Ok("envoy:1"));
        assert!(image(&template, None).is_err_and(|e| e.contains("`app`, `proxy`")));
        assert!(image(&template, Some("db")).is_err());
        let changed = with_image(&template, Some("app"), "web:v1");
        assert_eq!(image(&changed, Some("app")), Ok("web:v1"));
        assert_eq!(image(&changed, Some("proxy")), Ok("envoy:1"));
    }

    #[test]
    fn the_sts_endpoint_is_the_configured_one_or_the_regions() {
        assert_eq!(
            sts_endpoint(None, "eu-west-1"),
            "https://sts.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            sts_endpoint(None, "cn-north-1"),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            sts_endpoint(Some("http://127.0.0.1:5000/"), "us-east-1"),
            "http://127.0.0.1:5000"
        );
    }
}
