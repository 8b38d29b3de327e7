//! What moto 5.2.5 lacks for the real handlers, bridged on the way to it (`serve` forwards through here):
//! - aws-sdk-cloudwatch speaks rpc-v2-cbor, which moto answers with 404; moto speaks CloudWatch's JSON 1.0
//!   protocol, so the request is carried over as JSON and the answer back as CBOR, value for value (a client
//!   that puts many datapoints turns off its request compression: the bridge reads CBOR, not gzip);
//! - moto's `UpdateService` leaves the service's PRIMARY deployment on the revision it was created with, so
//!   `DescribeServices` answers with the PRIMARY deployment on the service's task definition, as ECS shows a
//!   completed rollout.
//!
//! Everything else passes unchanged.

use std::collections::BTreeMap;

use aws_smithy_cbor::data::Type;
use aws_smithy_cbor::{Decoder, Encoder};
use aws_smithy_types::DateTime;
use serde_json::{Map, Value};

use crate::loopback::{Request, Response};

/// rpc-v2-cbor's path: `/service/{ServiceShape}/operation/{Operation}`.
const CBOR_SERVICE: &str = "/service/";
const ECS_DESCRIBE_SERVICES: &str = "AmazonEC2ContainerServiceV20141113.DescribeServices";

/// How a request is carried to moto, and its answer back.
pub enum Bridge {
    Unchanged,
    /// Sent as JSON 1.0; the JSON answer goes back as CBOR.
    Cbor,
    /// The answer's PRIMARY deployments follow their service's task definition.
    EcsServices,
}

/// The request moto can answer, and how to bring its answer back.
pub fn outbound(request: &Request) -> (Vec<u8>, Bridge) {
    if let Some((service, operation)) = request
        .path
        .strip_prefix(CBOR_SERVICE)
        .and_then(|rest| rest.split_once("/operation/"))
    {
        let json = cbor_to_json(&request.body).unwrap_or(Value::Object(Map::new()));
        let body = json.to_string().into_bytes();
        let mut head = "POST / HTTP/1.1\r\n".to_owned();
        let skipped = [
            "content-length:",
            "content-type:",
            "connection:",
            "accept:",
            "smithy-protocol:",
        ];
        for line in request.head.trim_end().lines().skip(1).filter(|l| {
            let lower = l.to_ascii_lowercase();
            !skipped.iter().any(|s| lower.starts_with(s))
        }) {
            head.push_str(line);
            head.push_str("\r\n");
        }
        head.push_str(&format!(
            "X-Amz-Target: {service}.{operation}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&body);
        return (bytes, Bridge::Cbor);
    }
    if request.header("x-amz-target") == Some(ECS_DESCRIBE_SERVICES) {
        return (request.closing(), Bridge::EcsServices);
    }
    (request.closing(), Bridge::Unchanged)
}

/// moto's raw answer, brought back as the caller's protocol expects it.
pub fn inbound(bridge: &Bridge, raw: Vec<u8>) -> Vec<u8> {
    let Some(response) = Response::parse(&raw) else {
        return raw;
    };
    match bridge {
        Bridge::Unchanged => raw,
        Bridge::Cbor => {
            let json: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
            let json = match json {
                // JSON 1.0 names an error `__type`, as rpc-v2-cbor does.
                Value::Object(object) => Value::Object(object),
                _ => Value::Object(Map::new()),
            };
            let mut encoder = Encoder::new(Vec::new());
            json_to_cbor(&mut encoder, None, &json);
            response.with_body(
                "application/cbor",
                &[("smithy-protocol", "rpc-v2-cbor")],
                encoder.into_writer(),
            )
        }
        Bridge::EcsServices => {
            let Ok(mut json) = serde_json::from_slice::<Value>(&response.body) else {
                return raw;
            };
            for service in json["services"].as_array_mut().into_iter().flatten() {
                let task_definition = service["taskDefinition"].clone();
                for deployment in service["deployments"].as_array_mut().into_iter().flatten() {
                    if deployment["status"] == "PRIMARY" {
                        deployment["taskDefinition"] = task_definition.clone();
                    }
                }
            }
            response.with_body(
                "application/x-amz-json-1.1",
                &[],
                json.to_string().into_bytes(),
            )
        }
    }
}

/// A CBOR item as JSON: timestamps (tag 1) become epoch seconds, as JSON 1.0 writes them.
pub(crate) fn cbor_to_json(bytes: &[u8]) -> Option<Value> {
    let mut decoder = Decoder::new(bytes);
    item(&mut decoder)
}

fn item(decoder: &mut Decoder) -> Option<Value> {
    let value = match decoder.datatype().ok()? {
        Type::Bool => Value::Bool(decoder.boolean().ok()?),
        Type::Null | Type::Undefined => {
            decoder.skip().ok()?;
            Value::Null
        }
        Type::U8
        | Type::U16
        | Type::U32
        | Type::U64
        | Type::I8
        | Type::I16
        | Type::I32
        | Type::I64
        | Type::Int => Value::from(decoder.long().ok()?),
        Type::F16 | Type::F32 | Type::F64 => Value::from(decoder.double().ok()?),
        Type::String | Type::StringIndef => Value::String(decoder.string().ok()?),
        Type::Tag => Value::from(decoder.timestamp().ok()?.as_secs_f64()),
        Type::Array | Type::ArrayIndef => {
            let mut items = Vec::new();
            match decoder.list().ok()? {
                Some(n) => {
                    for _ in 0..n {
                        items.push(item(decoder)?);
                    }
                }
                None => {
                    while !matches!(decoder.datatype().ok()?, Type::Break) {
                        items.push(item(decoder)?);
                    }
                    decoder.skip().ok()?;
                }
            }
            Value::Array(items)
        }
        Type::Map | Type::MapIndef => {
            let mut object = Map::new();
            let mut entry = |decoder: &mut Decoder| -> Option<()> {
                let key = decoder.string().ok()?;
                let value = item(decoder)?;
                object.insert(key, value);
                Some(())
            };
            match decoder.map().ok()? {
                Some(n) => {
                    for _ in 0..n {
                        entry(decoder)?;
                    }
                }
                None => {
                    while !matches!(decoder.datatype().ok()?, Type::Break) {
                        entry(decoder)?;
                    }
                    decoder.skip().ok()?;
                }
            }
            Value::Object(object)
        }
        _ => {
            decoder.skip().ok()?;
            Value::Null
        }
    };
    Some(value)
}

/// JSON as CBOR. JSON 1.0 writes a timestamp as epoch seconds, and CloudWatch names every timestamp member
/// `…Timestamp` (a list of them `…Timestamps`): those become tag 1, which is what the SDK reads.
fn json_to_cbor(encoder: &mut Encoder, key: Option<&str>, value: &Value) {
    match value {
        Value::Null => {
            encoder.null();
        }
        Value::Bool(b) => {
            encoder.boolean(*b);
        }
        Value::Number(n) if key.is_some_and(|k| k.ends_with("Timestamp")) => {
            encoder.timestamp(&DateTime::from_secs_f64(n.as_f64().unwrap_or_default()));
        }
        Value::Number(n) => match n.as_i64() {
            Some(i) => {
                encoder.long(i);
            }
            None => {
                encoder.double(n.as_f64().unwrap_or_default());
            }
        },
        Value::String(s) => {
            encoder.str(s);
        }
        Value::Array(items) => {
            // `…Timestamps` (GetMetricData's) is a list of timestamps.
            let item_key = key
                .filter(|k| k.ends_with("Timestamps"))
                .map(|_| "Timestamp");
            encoder.array(items.len());
            for item in items {
                json_to_cbor(encoder, item_key, item);
            }
        }
        Value::Object(object) => {
            // Members in a stable order; nulls are absent members.
            let members: BTreeMap<&String, &Value> =
                object.iter().filter(|(_, v)| !v.is_null()).collect();
            encoder.map(members.len());
            for (name, member) in members {
                encoder.str(name);
                json_to_cbor(encoder, Some(name), member);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbor_and_json_carry_the_same_values() {
        let json = serde_json::json!({
            "AlarmNames": ["a", "b"], "MaxRecords": 3, "Threshold": 1.5, "ActionsEnabled": true,
            "StateUpdatedTimestamp": 1795782217.5, "Timestamps": [1795782180.0, 1795782240.0],
        });
        let mut encoder = Encoder::new(Vec::new());
        json_to_cbor(&mut encoder, None, &json);
        assert_eq!(cbor_to_json(&encoder.into_writer()), Some(json));
    }
}
