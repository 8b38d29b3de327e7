//! What moto 5.2.5 lacks for the real handlers, bridged on the way to it (`serve` forwards through here):
//! - aws-sdk-cloudwatch speaks rpc-v2-cbor, which moto answers with 404; moto speaks CloudWatch's JSON 1.0
//!   protocol, so the request is carried over as JSON and the answer back as CBOR, value for value (a client
//!   that puts many datapoints turns off its request compression: the bridge reads CBOR, not gzip);
//! - moto answers 500 to GetMetricData with a percentile statistic (`p99`): the bridge asks for each period's
//!   `Minimum` and `Maximum` instead, and answers the percentile where they determine it (every sample of the
//!   period equal, which is how a rehearsal's world seeds a metric; `p0` and `p100` always), and
//!   `InvalidParameterCombination` naming the gap where they do not;
//! - moto's `UpdateService` leaves the service's PRIMARY deployment on the revision it was created with, so
//!   `DescribeServices` answers with the PRIMARY deployment on the service's task definition, as ECS shows a
//!   completed rollout;
//! - moto's ECS services start no tasks, so a service with `loadBalancers` registers nothing in its target
//!   groups: [`ServiceTasks`] plays ECS's part after CreateService and UpdateService.
//!
//! - moto reads a request's service and caller from its `Authorization` header only: a presigned URL (SigV4 in
//!   its query, as an EKS token holds one for STS's GetCallerIdentity) would reach S3, as an unknown caller. The
//!   bridge writes the query's credential into the header moto reads; the signature is checked by whoever
//!   relies on it ([`crate::kubernetes`]), as moto checks none.
//!
//! And it refuses what AWS refuses and moto accepts ([`refused`]).
//!
//! Everything else passes unchanged.

use std::collections::BTreeMap;

use aws_smithy_cbor::data::Type;
use aws_smithy_cbor::{Decoder, Encoder};
use aws_smithy_types::DateTime;
use serde_json::{Map, Value};

use crate::faults;
use crate::loopback::{Request, Response};

/// rpc-v2-cbor's path: `/service/{ServiceShape}/operation/{Operation}`.
const CBOR_SERVICE: &str = "/service/";
const ECS_DESCRIBE_SERVICES: &str = "AmazonEC2ContainerServiceV20141113.DescribeServices";
const ECS_RUN_TASK: &str = "AmazonEC2ContainerServiceV20141113.RunTask";
const ECS_CHANGES_SERVICE: [&str; 2] = [
    "AmazonEC2ContainerServiceV20141113.CreateService",
    "AmazonEC2ContainerServiceV20141113.UpdateService",
];

/// AWS's answer to a request that moto would accept, if AWS refuses it:
/// - RunTask on Fargate without a network configuration. The RunTask API reference: `networkConfiguration`
///   "is required for task definitions that use the awsvpc network mode to receive their own elastic network
///   interface", and Fargate tasks always use it ("This structure is required if LaunchType is FARGATE because
///   the awsvpc mode is required for Fargate tasks", EventBridge's EcsParameters, which starts RunTask). moto
///   refuses it only when the task definition says `awsvpc`, and runs a bridge-mode one on FARGATE.
/// - RunTask with both a launch type and a capacity provider strategy: "If a capacityProviderStrategy is
///   specified, the launchType parameter must be omitted" (RunTask API reference).
pub fn refused(request: &Request) -> Option<Vec<u8>> {
    if request.header("x-amz-target") != Some(ECS_RUN_TASK) {
        return None;
    }
    let body: Value = serde_json::from_slice(&request.body).ok()?;
    let strategy = body["capacityProviderStrategy"]
        .as_array()
        .filter(|s| !s.is_empty());
    let fargate = body["launchType"] == "FARGATE"
        || strategy.is_some_and(|s| {
            s.iter().any(|item| {
                item["capacityProvider"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("FARGATE"))
            })
        });
    let message = if body["launchType"].is_string() && strategy.is_some() {
        "The launchType parameter must be omitted when a capacityProviderStrategy is specified."
    } else if fargate && body["networkConfiguration"].is_null() {
        "Network Configuration must be provided when networkMode 'awsvpc' is specified."
    } else {
        return None;
    };
    Some(faults::answer(
        request,
        false,
        400,
        "InvalidParameterException",
        message,
    ))
}

/// Whether `request` must wait for the emulator to finish the one before it: DynamoDB's. "Individual write
/// operations such as UpdateItem are atomic and always operate on the most recent version of the item, regardless
/// of concurrency" (DynamoDB developer guide, "Best practices for handling concurrent updates"); moto's threaded
/// server checks a condition and writes without a lock, so two conditional writes of one missing item both
/// succeeded in 3 of 20 runs of the guard's race test (`lambdas/tests/it/guard.rs`).
pub fn one_at_a_time(request: &Request) -> bool {
    request
        .header("x-amz-target")
        .is_some_and(|target| target.starts_with("DynamoDB_"))
}

/// How a request is carried to moto, and its answer back.
pub enum Bridge {
    Unchanged,
    /// Sent as JSON 1.0; the JSON answer goes back as CBOR, with each percentile query's answer made from its
    /// period's extremes.
    Cbor(Vec<Percentile>),
    /// The answer's PRIMARY deployments follow their service's task definition.
    EcsServices,
    /// A service created or updated: its tasks are [registered](ServiceTasks::settle) once moto answered.
    EcsServiceChanged,
}

/// The request moto can answer, and how to bring its answer back.
pub fn outbound(request: &Request) -> (Vec<u8>, Bridge) {
    if let Some((service, operation)) = request
        .path
        .strip_prefix(CBOR_SERVICE)
        .and_then(|rest| rest.split_once("/operation/"))
    {
        let mut json = cbor_to_json(&request.body).unwrap_or(Value::Object(Map::new()));
        let percentiles = if operation == "GetMetricData" {
            extremes_for_percentiles(&mut json)
        } else {
            Vec::new()
        };
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
        return (bytes, Bridge::Cbor(percentiles));
    }
    if let Some(signed) = presigned(request) {
        return (signed, Bridge::Unchanged);
    }
    match request.header("x-amz-target") {
        Some(ECS_DESCRIBE_SERVICES) => return (request.closing(), Bridge::EcsServices),
        Some(target) if ECS_CHANGES_SERVICE.contains(&target) => {
            return (request.closing(), Bridge::EcsServiceChanged);
        }
        _ => {}
    }
    (request.closing(), Bridge::Unchanged)
}

/// A GET presigned with SigV4 in its query, with the query's credential, signed headers and signature in an
/// `Authorization` header too.
fn presigned(request: &Request) -> Option<Vec<u8>> {
    let query = request
        .path
        .split_once('?')
        .map(|(_, q)| q)
        .filter(|_| request.method == "GET")?;
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .map(|v| {
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
    };
    let credential = param("X-Amz-Credential")?;
    let authorization = format!(
        "Authorization: AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={}, Signature={}\r\n",
        param("X-Amz-SignedHeaders").unwrap_or_default(),
        param("X-Amz-Signature").unwrap_or_default()
    );
    let mut bytes = request.closing();
    let line_end = bytes.windows(2).position(|w| w == b"\r\n")? + 2;
    bytes.splice(line_end..line_end, authorization.into_bytes());
    Some(bytes)
}

/// moto's raw answer, brought back as the caller's protocol expects it.
pub fn inbound(bridge: &Bridge, raw: Vec<u8>) -> Vec<u8> {
    let Some(response) = Response::parse(&raw) else {
        return raw;
    };
    match bridge {
        Bridge::Unchanged | Bridge::EcsServiceChanged => raw,
        Bridge::Cbor(percentiles) => {
            let json: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
            let mut json = match json {
                // JSON 1.0 names an error `__type`, as rpc-v2-cbor does.
                Value::Object(object) => Value::Object(object),
                _ => Value::Object(Map::new()),
            };
            let mut response = response;
            if let Err(message) = percentiles_from_extremes(&mut json, percentiles) {
                json = serde_json::json!({
                    "__type": "InvalidParameterCombination",
                    "message": message,
                });
                response.status = 400;
                response.head = response.head.replacen(
                    response.head.lines().next().unwrap_or_default(),
                    "HTTP/1.1 400 Bad Request",
                    1,
                );
            }
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

/// The tasks of the services with `loadBalancers`, as ECS runs them: each revision's tasks have their own
/// network interface (awsvpc) in the service's first subnet, whose address ECS registers in each target group
/// of the service; a deploy registers the new revision's tasks and then deregisters the old ones, whose
/// interfaces go away with them ("Amazon ECS automatically registers and deregisters containers with the
/// target groups", ECS `LoadBalancer` API reference; a service's tasks are replaced on every deployment). So a
/// target that a rollback deregistered is not the one that serves after a deploy, and its address no longer
/// exists.
#[derive(Default)]
pub struct ServiceTasks {
    /// Service ARN → the revision its tasks run, and their interfaces.
    running: std::cell::RefCell<BTreeMap<String, (String, Vec<TaskInterface>)>>,
}

/// A task's network interface: its id and its address.
type TaskInterface = (String, String);

impl ServiceTasks {
    /// After moto's answer to CreateService or UpdateService (`answer`), through `clients`, which reach moto
    /// directly: starts the tasks of a new revision of a service with `loadBalancers`, registers them, and
    /// retires the old ones.
    pub async fn settle(&self, clients: &lambdas::Clients, answer: &[u8]) -> Result<(), String> {
        let Some(response) = Response::parse(answer) else {
            return Ok(());
        };
        let Ok(json) = serde_json::from_slice::<Value>(&response.body) else {
            return Ok(());
        };
        let service = &json["service"];
        let (Some(arn), Some(revision), Some(groups)) = (
            service["serviceArn"].as_str(),
            service["taskDefinition"].as_str(),
            service["loadBalancers"]
                .as_array()
                .filter(|l| !l.is_empty()),
        ) else {
            return Ok(());
        };
        let awsvpc = &service["networkConfiguration"]["awsvpcConfiguration"];
        let Some(subnet) = awsvpc["subnets"][0].as_str() else {
            return Ok(());
        };
        if self
            .running
            .borrow()
            .get(arn)
            .is_some_and(|(running, _)| running == revision)
        {
            return Ok(());
        }
        let security_groups: Vec<String> = awsvpc["securityGroups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        let ec2 = clients.aws(lambdas::ec2::Client::new);
        let elb = clients.aws(aws_sdk_elasticloadbalancingv2::Client::new);
        let mut started = Vec::new();
        for _ in 0..service["desiredCount"].as_i64().unwrap_or(1) {
            let description = format!("ECS task of {arn} on {revision}");
            let made = ec2
                .create_network_interface(subnet, &security_groups, Some(&description))
                .await
                .map_err(|e| format!("ec2:CreateNetworkInterface: {e:?}"))?;
            let address = made.private_ip_addresses.into_iter().next();
            started.push((made.network_interface_id, address.unwrap_or_default()));
        }
        let targets = |tasks: &[TaskInterface], port: Option<i32>| {
            tasks
                .iter()
                .map(|(_, address)| {
                    aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                        .id(address)
                        .set_port(port)
                        .build()
                })
                .collect::<Vec<_>>()
        };
        let retired = self
            .running
            .borrow_mut()
            .insert(arn.to_owned(), (revision.to_owned(), started.clone()));
        for group in groups {
            let (Some(group_arn), port) = (
                group["targetGroupArn"].as_str(),
                group["containerPort"]
                    .as_i64()
                    .and_then(|p| i32::try_from(p).ok()),
            ) else {
                continue;
            };
            elb.register_targets()
                .target_group_arn(group_arn)
                .set_targets(Some(targets(&started, port)))
                .send()
                .await
                .map_err(|e| format!("elasticloadbalancing:RegisterTargets: {e:?}"))?;
            // Only the old tasks still registered: a person may have deregistered some.
            let registered: Vec<String> = elb
                .describe_target_health()
                .target_group_arn(group_arn)
                .send()
                .await
                .map_err(|e| format!("elasticloadbalancing:DescribeTargetHealth: {e:?}"))?
                .target_health_descriptions()
                .iter()
                .filter_map(|d| d.target().and_then(|t| t.id()))
                .map(str::to_owned)
                .collect();
            let old: Vec<TaskInterface> = retired
                .iter()
                .flat_map(|(_, old)| old)
                .filter(|(_, address)| registered.contains(address))
                .cloned()
                .collect();
            if !old.is_empty() {
                elb.deregister_targets()
                    .target_group_arn(group_arn)
                    .set_targets(Some(targets(&old, port)))
                    .send()
                    .await
                    .map_err(|e| format!("elasticloadbalancing:DeregisterTargets: {e:?}"))?;
            }
        }
        for (interface, _) in retired.map(|(_, old)| old).unwrap_or_default() {
            ec2.delete_network_interface(&interface)
                .await
                .map_err(|e| format!("ec2:DeleteNetworkInterface: {e:?}"))?;
        }
        Ok(())
    }
}

/// A percentile query of a GetMetricData request, asked of moto as its `Minimum` (under its own id) and its
/// `Maximum` (under [`MAXIMUM_ID`]).
#[derive(Debug)]
pub struct Percentile {
    id: String,
    statistic: String,
    percent: f64,
}

/// The id of a percentile query's `Maximum` twin.
const MAXIMUM_ID: &str = "_stepback_maximum";

/// Rewrites each percentile query of a GetMetricData request (JSON) to its `Minimum`, adds its `Maximum`, and
/// says which they were.
fn extremes_for_percentiles(request: &mut Value) -> Vec<Percentile> {
    let Some(queries) = request["MetricDataQueries"].as_array_mut() else {
        return Vec::new();
    };
    let mut percentiles = Vec::new();
    let mut twins = Vec::new();
    for query in queries.iter_mut() {
        let statistic = query["MetricStat"]["Stat"].as_str().unwrap_or_default();
        let Some(percent) = statistic
            .strip_prefix('p')
            .and_then(|p| p.parse::<f64>().ok())
        else {
            continue;
        };
        let id = query["Id"].as_str().unwrap_or_default().to_owned();
        percentiles.push(Percentile {
            id: id.clone(),
            statistic: statistic.to_owned(),
            percent,
        });
        query["MetricStat"]["Stat"] = Value::from("Minimum");
        let mut twin = query.clone();
        twin["Id"] = Value::from(format!("{id}{MAXIMUM_ID}"));
        twin["MetricStat"]["Stat"] = Value::from("Maximum");
        twins.push(twin);
    }
    queries.extend(twins);
    percentiles
}

/// Each percentile query's values from its periods' extremes, in a GetMetricData answer (JSON); the `Maximum`
/// twins removed. An error message when a period's samples differ and the percentile is neither 0 nor 100.
fn percentiles_from_extremes(answer: &mut Value, asked: &[Percentile]) -> Result<(), String> {
    if asked.is_empty() {
        return Ok(());
    }
    let Some(results) = answer["MetricDataResults"].as_array_mut() else {
        return Ok(());
    };
    let maxima: BTreeMap<String, Vec<Value>> = results
        .iter()
        .filter_map(|r| {
            let id = r["Id"].as_str()?.strip_suffix(MAXIMUM_ID)?;
            Some((id.to_owned(), r["Values"].as_array()?.clone()))
        })
        .collect();
    results.retain(|r| !r["Id"].as_str().is_some_and(|id| id.ends_with(MAXIMUM_ID)));
    for result in results.iter_mut() {
        let Some(percentile) = asked.iter().find(|p| result["Id"] == p.id.as_str()) else {
            continue;
        };
        let maxima = maxima.get(&percentile.id).cloned().unwrap_or_default();
        let Some(values) = result["Values"].as_array_mut() else {
            continue;
        };
        for (value, maximum) in values.iter_mut().zip(maxima) {
            let (low, high) = (value.as_f64(), maximum.as_f64());
            *value = match (low, high) {
                (Some(low), Some(high)) if low == high || percentile.percent <= 0.0 => {
                    Value::from(low)
                }
                (_, Some(high)) if percentile.percent >= 100.0 => Value::from(high),
                _ => {
                    return Err(format!(
                        "the emulator cannot compute {} of a period whose samples differ (moto 5.2.5 has no \
                         percentiles; the bridge knows only each period's minimum and maximum)",
                        percentile.statistic
                    ));
                }
            };
        }
    }
    Ok(())
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

    fn run_task(body: serde_json::Value) -> Request {
        Request {
            method: "POST".to_owned(),
            path: "/".to_owned(),
            head: format!(
                "POST / HTTP/1.1\r\nX-Amz-Target: {ECS_RUN_TASK}\r\nContent-Type: application/x-amz-json-1.1\r\n\r\n"
            ),
            body: body.to_string().into_bytes(),
        }
    }

    #[test]
    fn fargate_run_task_without_a_network_is_refused_as_ecs_refuses_it() {
        let network = serde_json::json!({"awsvpcConfiguration": {"subnets": ["subnet-1"]}});
        let refused = |body| {
            refused(&run_task(body)).map(|answer| String::from_utf8_lossy(&answer).into_owned())
        };
        let answer = refused(serde_json::json!({"taskDefinition": "m", "launchType": "FARGATE"}))
            .expect("refused");
        assert!(
            answer.starts_with("HTTP/1.1 400")
                && answer.contains("InvalidParameterException")
                && answer.contains("Network Configuration must be provided"),
            "{answer}"
        );
        let spot = serde_json::json!({"taskDefinition": "m",
            "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]});
        assert!(refused(spot).is_some());
        let both = serde_json::json!({"taskDefinition": "m", "launchType": "EC2", "networkConfiguration": network,
            "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]});
        assert!(refused(both).is_some_and(|a| a.contains("launchType parameter must be omitted")));
        let fine = serde_json::json!({"taskDefinition": "m", "launchType": "FARGATE", "networkConfiguration": network});
        assert_eq!(refused(fine), None);
        assert_eq!(refused(serde_json::json!({"taskDefinition": "m"})), None);
    }

    /// A p99 query goes to moto as its minimum and maximum, and comes back as the value they agree on; where
    /// they differ, the bridge says it cannot know.
    #[test]
    fn a_percentile_is_answered_from_the_extremes_where_they_determine_it() {
        let mut request = serde_json::json!({ "MetricDataQueries": [
            { "Id": "m", "MetricStat": { "Metric": { "MetricName": "TargetResponseTime" }, "Period": 60, "Stat": "p99" } },
            { "Id": "a", "MetricStat": { "Metric": { "MetricName": "CPUUtilization" }, "Period": 60, "Stat": "Average" } },
        ] });
        let asked = extremes_for_percentiles(&mut request);
        let stats: Vec<(&str, &str)> = request["MetricDataQueries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|q| {
                (
                    q["Id"].as_str().unwrap_or_default(),
                    q["MetricStat"]["Stat"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            stats,
            [
                ("m", "Minimum"),
                ("a", "Average"),
                ("m_stepback_maximum", "Maximum")
            ]
        );
        let answer = |maxima: [f64; 2]| {
            serde_json::json!({ "MetricDataResults": [
                { "Id": "m", "Values": [0.4, 0.4], "Timestamps": [60, 120] },
                { "Id": "a", "Values": [3.0], "Timestamps": [60] },
                { "Id": "m_stepback_maximum", "Values": maxima, "Timestamps": [60, 120] },
            ] })
        };
        let mut agreed = answer([0.4, 0.4]);
        assert_eq!(percentiles_from_extremes(&mut agreed, &asked), Ok(()));
        assert_eq!(
            agreed,
            serde_json::json!({ "MetricDataResults": [
                { "Id": "m", "Values": [0.4, 0.4], "Timestamps": [60, 120] },
                { "Id": "a", "Values": [3.0], "Timestamps": [60] },
            ] })
        );
        let mut differing = answer([0.4, 0.9]);
        let refused = percentiles_from_extremes(&mut differing, &asked);
        assert!(
            refused
                .as_ref()
                .is_err_and(|m| m.contains("cannot compute p99")),
            "{refused:?}"
        );
    }

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
