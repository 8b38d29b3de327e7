//! The HTTP client of a `check`: it lets through only AWS operations that read (`Describe*`, `List*`,
//! `Get*`, `FilterLogEvents`) and refuses any other before it leaves the process, so a check cannot change anything whatever
//! its code or its role allow. [`operation`] names the operation of a signed request, for tests that record
//! what a handler called.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// One AWS request, as IAM names it: `rds:DescribeDBInstances`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AwsOperation {
    /// The SigV4 signing name (CloudWatch signs as `monitoring`); empty for an unsigned request.
    pub service: String,
    pub name: String,
}

impl AwsOperation {
    /// Whether the operation only reads: by AWS's naming convention, which every service stepback calls keeps,
    /// or one of the few reads named otherwise.
    pub fn reads(&self) -> bool {
        ["Describe", "List", "Get"]
            .iter()
            .any(|verb| self.name.starts_with(verb))
            || READS_NAMED_OTHERWISE.contains(&self.name.as_str())
    }
}

/// `check.logs`'s search.
const READS_NAMED_OTHERWISE: [&str; 1] = ["FilterLogEvents"];

impl std::fmt::Display for AwsOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.service, self.name)
    }
}

/// The operation of a request in the protocols stepback's services speak: awsJson's `X-Amz-Target`
/// (ECS, SSM, Step Functions), rpc-v2-cbor's `/operation/<name>` path (CloudWatch), the query protocols'
/// `Action` form field (RDS, ELB, SNS, EC2), and restJson's method and path ([`REST_JSON`]: EKS). `None` for
/// anything else.
pub fn operation(request: &HttpRequest) -> Option<AwsOperation> {
    let headers = request.headers();
    named(
        request.method(),
        |name| headers.get(name).unwrap_or_default(),
        request.uri(),
        request.body().bytes().unwrap_or_default(),
    )
}

/// The restJson operations the handlers call: the signing name, the method and the model's `requestUri`, whose
/// `{labels}` bind members, and the operation. A request of these services that is none of them is named by no
/// operation, so a check's client refuses it.
pub const REST_JSON: &[(&str, &str, &str, &str)] =
    &[("eks", "GET", "/clusters/{name}", "DescribeCluster")];

/// The members that `path` (with or without its query) binds by `uri`'s `{labels}`, or `None` when it does not match.
pub fn path_members(uri: &str, path: &str) -> Option<Vec<(String, String)>> {
    let path = path.split('?').next().unwrap_or(path);
    let (wanted, given): (Vec<&str>, Vec<&str>) =
        (uri.split('/').collect(), path.split('/').collect());
    if wanted.len() != given.len() {
        return None;
    }
    let mut members = Vec::new();
    for (w, g) in wanted.iter().zip(&given) {
        match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            Some(label) if !g.is_empty() => members.push((
                label.to_owned(),
                percent_encoding::percent_decode_str(g)
                    .decode_utf8_lossy()
                    .into_owned(),
            )),
            Some(_) => return None,
            None if w != g => return None,
            None => {}
        }
    }
    Some(members)
}

/// A URI's path and query: `http://host:80/clusters/x?y` → `/clusters/x?y`; a path stays as it is.
pub fn path_of(uri: &str) -> &str {
    uri.split_once("://").map_or(uri, |(_, rest)| {
        &rest[rest.find('/').unwrap_or(rest.len())..]
    })
}

/// [`operation`], from a request's parts: its method, its headers (by name; `""` when absent), its URI (or path)
/// and its body.
pub fn named<'r>(
    method: &str,
    header: impl Fn(&str) -> &'r str,
    uri: &str,
    body: &[u8],
) -> Option<AwsOperation> {
    let service = header("authorization")
        .split_once("Credential=")
        .and_then(|(_, credential)| credential.split('/').nth(3))
        .unwrap_or_default()
        .to_owned();
    let name = if let Some((_, name)) = header("x-amz-target").rsplit_once('.') {
        name.to_owned()
    } else if let Some((_, name)) = uri.split_once("/operation/") {
        name.split(['?', '/']).next().unwrap_or_default().to_owned()
    } else if let Some(action) = String::from_utf8_lossy(body)
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
    {
        action.to_owned()
    } else {
        let path = path_of(uri);
        REST_JSON
            .iter()
            .find(|(of, verb, pattern, _)| {
                *of == service && *verb == method && path_members(pattern, path).is_some()
            })?
            .3
            .to_owned()
    };
    (!name.is_empty()).then_some(AwsOperation { service, name })
}

/// An HTTP client that passes on only the requests whose [`operation`] [reads](AwsOperation::reads).
#[derive(Clone, Debug)]
pub struct ReadOnly {
    inner: SharedHttpClient,
}

impl ReadOnly {
    pub fn new(inner: SharedHttpClient) -> ReadOnly {
        ReadOnly { inner }
    }
}

impl HttpClient for ReadOnly {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(ReadOnlyConnector {
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct ReadOnlyConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for ReadOnlyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        match operation(&request) {
            Some(op) if op.reads() => self.inner.call(request),
            refused => {
                let what = refused.map_or_else(
                    || format!("a request to {} of no known operation", request.uri()),
                    |op| op.to_string(),
                );
                HttpConnectorFuture::ready(Err(ConnectorError::user(
                    format!("a check may only read; refused {what}").into(),
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn request(uri: &str, headers: &[(&str, &str)], body: &str) -> HttpRequest {
        let mut request = HttpRequest::new(SdkBody::from(body));
        request.set_uri(uri).expect("a uri");
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(name.to_string(), value.to_string());
        }
        request
    }

    const SIGNED_RDS: (&str, &str) = (
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/rds/aws4_request, SignedHeaders=host, Signature=0",
    );

    #[test]
    fn operations_are_named_in_each_protocol() {
        let query = request(
            "https://rds.us-east-1.amazonaws.com/",
            &[SIGNED_RDS],
            "Action=CreateDBSnapshot&Version=2014-10-31&DBInstanceIdentifier=db",
        );
        assert_eq!(
            operation(&query).map(|o| o.to_string()),
            Some("rds:CreateDBSnapshot".into())
        );
        let json = request(
            "https://ecs.us-east-1.amazonaws.com/",
            &[(
                "x-amz-target",
                "AmazonEC2ContainerServiceV20141113.UpdateService",
            )],
            "{}",
        );
        assert_eq!(
            operation(&json).map(|o| o.name),
            Some("UpdateService".into())
        );
        let cbor = request(
            "https://monitoring.us-east-1.amazonaws.com/service/GraniteServiceVersion20100801/operation/DescribeAlarms",
            &[],
            "",
        );
        assert_eq!(
            operation(&cbor).map(|o| o.name),
            Some("DescribeAlarms".into())
        );
        assert_eq!(
            operation(&request("https://s3.amazonaws.com/b/k", &[], "")),
            None
        );
    }

    /// Counts what reaches it, and answers 200.
    #[derive(Clone, Debug, Default)]
    struct Counting(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl HttpConnector for Counting {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let ok = aws_smithy_runtime_api::http::StatusCode::try_from(200).expect("200");
            HttpConnectorFuture::ready(Ok(
                aws_smithy_runtime_api::client::orchestrator::HttpResponse::new(
                    ok,
                    SdkBody::empty(),
                ),
            ))
        }
    }

    #[tokio::test]
    async fn a_mutating_call_is_refused_before_it_is_sent() {
        let sent = Counting::default();
        let connector = ReadOnlyConnector {
            inner: SharedHttpConnector::new(sent.clone()),
        };
        let refused = connector
            .call(request(
                "https://rds.us-east-1.amazonaws.com/",
                &[SIGNED_RDS],
                "Action=CreateDBSnapshot&Version=2014-10-31",
            ))
            .await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| format!("{e:?}").contains("refused rds:CreateDBSnapshot")),
            "{refused:?}"
        );
        let unknown = connector
            .call(request("https://s3.amazonaws.com/b/k", &[], ""))
            .await;
        assert!(unknown.is_err());
        assert_eq!(
            sent.0.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "a refused request was sent"
        );
        let read = connector
            .call(request(
                "https://rds.us-east-1.amazonaws.com/",
                &[SIGNED_RDS],
                "Action=DescribeDBInstances&Version=2014-10-31",
            ))
            .await;
        assert!(read.is_ok(), "{read:?}");
        assert_eq!(sent.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
