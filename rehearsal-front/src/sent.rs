//! A handler's AWS request as the model check (`tools/check_requests.py`) reads it: the service and operation,
//! the protocol and the body. The Lambdas' tests record what their handlers send; `serve` records what each
//! step's handler sends in a rehearsal, and each Lambda Invoke it answers ([`crate::serve::Served::sent`]).

use std::collections::BTreeMap;

use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::moto_gaps;
use lambdas::read_only;

/// One request, as JSON: `{"service", "operation", "protocol", "target", "body"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sent {
    /// The SigV4 signing name (CloudWatch's is `monitoring`).
    pub service: String,
    pub operation: String,
    pub protocol: Protocol,
    /// awsJson's `X-Amz-Target`, which names the service's target prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// restJson's HTTP bindings, which carry members outside the body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<Http>,
    /// The body as text: a form (query), JSON, or rpc-v2-cbor's CBOR as JSON (the values the model describes).
    pub body: String,
}

/// A restJson request's method, path (with its query) and headers: where the model binds members outside the body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Http {
    pub method: String,
    pub path: String,
    /// Every header but `Authorization`, by name as sent.
    pub headers: BTreeMap<String, String>,
}

/// The wire protocols of the services the handlers call, and Lambda's (Invoke, which Step Functions and
/// `stepback preflight` call).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// awsQuery and ec2Query: a form with `Action` and `Version`.
    Query,
    /// awsJson 1.0 and 1.1.
    Json,
    /// rpc-v2-cbor (CloudWatch).
    Cbor,
    /// restJson (Lambda, EKS): members in the path, the query, the headers and the body.
    RestJson,
}

impl Sent {
    /// What a request sends, from its method, its headers (by name; `""` when absent), its URI and its body;
    /// `None` for a request that names no AWS operation.
    pub fn new<'r>(
        method: &str,
        header: impl Fn(&str) -> &'r str,
        uri: &str,
        body: &[u8],
    ) -> Option<Sent> {
        let operation = read_only::named(method, &header, uri, body)?;
        let target = Some(header("x-amz-target")).filter(|t| !t.is_empty());
        let rest_json = read_only::REST_JSON
            .iter()
            .any(|(service, _, _, name)| *service == operation.service && *name == operation.name);
        if rest_json {
            // The members it binds outside the body are in its path (`read_only::REST_JSON`).
            let path = read_only::path_of(uri);
            return Some(Sent {
                service: operation.service,
                operation: operation.name,
                protocol: Protocol::RestJson,
                target: None,
                http: Some(Http {
                    method: method.to_owned(),
                    path: path.to_owned(),
                    headers: BTreeMap::new(),
                }),
                body: String::from_utf8_lossy(body).into_owned(),
            });
        }
        let (protocol, body) = if target.is_some() {
            (Protocol::Json, String::from_utf8_lossy(body).into_owned())
        } else if uri.contains("/operation/") {
            let json = moto_gaps::cbor_to_json(body).unwrap_or_else(|| Value::Object(Map::new()));
            (Protocol::Cbor, json.to_string())
        } else {
            (Protocol::Query, String::from_utf8_lossy(body).into_owned())
        };
        Some(Sent {
            service: operation.service,
            operation: operation.name,
            protocol,
            target: target.map(str::to_owned),
            http: None,
            body,
        })
    }

    /// A restJson request of `operation`, which its method and path name (the model check matches them to the
    /// operation's), from its HTTP head (the request line and the headers) and its body.
    pub fn rest_json(service: &str, operation: &str, head: &str, body: &[u8]) -> Option<Sent> {
        let mut lines = head.lines();
        let mut request_line = lines.next()?.split_whitespace();
        let (method, path) = (request_line.next()?, request_line.next()?);
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .filter(|(name, _)| !name.eq_ignore_ascii_case("authorization"))
            .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
            .collect();
        Some(Sent {
            service: service.to_owned(),
            operation: operation.to_owned(),
            protocol: Protocol::RestJson,
            target: None,
            http: Some(Http {
                method: method.to_owned(),
                path: path.to_owned(),
                headers,
            }),
            body: String::from_utf8_lossy(body).into_owned(),
        })
    }

    /// What an SDK request sends.
    pub fn of(request: &HttpRequest) -> Option<Sent> {
        let headers = request.headers();
        Sent::new(
            request.method(),
            |name| headers.get(name).unwrap_or_default(),
            request.uri(),
            request.body().bytes().unwrap_or_default(),
        )
    }
}
