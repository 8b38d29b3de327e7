//! A handler's AWS request as the model check (`tools/check_requests.py`) reads it: the service and operation,
//! the protocol and the body. The Lambdas' tests record what their handlers send; `serve` records what each
//! step's handler sends in a rehearsal ([`crate::serve::Served::sent`]).

use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{moto_gaps, read_only};

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
    /// The body as text: a form (query), JSON, or rpc-v2-cbor's CBOR as JSON (the values the model describes).
    pub body: String,
}

/// The wire protocols of the services the handlers call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// awsQuery and ec2Query: a form with `Action` and `Version`.
    Query,
    /// awsJson 1.0 and 1.1.
    Json,
    /// rpc-v2-cbor (CloudWatch).
    Cbor,
}

impl Sent {
    /// What a request sends, from its headers (by name; `""` when absent), its URI and its body; `None` for a
    /// request that names no AWS operation.
    pub fn new<'r>(header: impl Fn(&str) -> &'r str, uri: &str, body: &[u8]) -> Option<Sent> {
        let operation = read_only::named(&header, uri, body)?;
        let target = Some(header("x-amz-target")).filter(|t| !t.is_empty());
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
            body,
        })
    }

    /// What an SDK request sends.
    pub fn of(request: &HttpRequest) -> Option<Sent> {
        let headers = request.headers();
        Sent::new(
            |name| headers.get(name).unwrap_or_default(),
            request.uri(),
            request.body().bytes().unwrap_or_default(),
        )
    }
}
