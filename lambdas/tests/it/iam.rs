//! IAM is sufficient and not excessive, proven from the Lambdas' own tests.
//!
//! - Every request a handler sends, to moto or to aws-smithy-mocks where moto lacks the API, passes through
//!   [`Recorder`], the HTTP client of the test's SDK config.
//! - [`needs`] maps each request to what IAM authorizes it against: the IAM action (the SigV4 service prefix and
//!   the operation), and the resource ARNs that the Service Authorization Reference lists for it, from the
//!   request's own identifiers.
//! - [`assert_granted`] checks each need against the policy that the template renders from the catalog for
//!   the step the test ran, resolved for moto's region and account, with IAM's `*` and `?` matching.
//! - [`EVIDENCE`] names, for every IAM action of every catalog action, the test whose recorded calls need it
//!   (checked when that test ends, see [`assert_evidence`]), or why no test can.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use catalog::ActionSpec;
use compiler::iam::{Statement, TASK_ROLES_PARAMETER};
use rehearsal_front::sent::{Protocol, Sent};
use serde_json::{Map, Value};

use crate::ACCOUNT;

/// The roles that the ECS tests' task definitions name: what a deployer lists in the template's
/// `TaskRoleArns`.
pub const TASK_ROLES: [&str; 2] = [
    "arn:aws:iam::123456789012:role/web-task",
    "arn:aws:iam::123456789012:role/web-execution",
];

/// The state machine that the tests' executions belong to (see [`crate::STATE_MACHINE`]).
const STATE_MACHINE_NAME: &str = "rollback";

/// One AWS request, as IAM sees it.
#[derive(Clone, Debug)]
pub struct AwsCall {
    /// The IAM service prefix; CloudWatch signs as `monitoring`.
    pub service: String,
    pub operation: String,
    /// JSON bodies as sent; query and CBOR bodies as flat `member → value`.
    pub params: Map<String, Value>,
}

/// What IAM checks for one request: an action on one resource, to one service for `iam:PassRole`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    pub action: String,
    pub resource: String,
    pub passed_to_service: Option<&'static str>,
    /// PutMetricData's namespace, which `cloudwatch:namespace` reads.
    pub metric_namespace: Option<String>,
}

/// The HTTP client of a test's SDK config: records each request while a handler runs, and passes it on.
#[derive(Clone, Debug)]
pub struct Recorder {
    inner: SharedHttpClient,
    recording: Arc<Mutex<Option<Vec<AwsCall>>>>,
    /// `(catalog action, IAM action)` that this test's handlers needed.
    needed: Arc<Mutex<BTreeSet<(String, String)>>>,
    /// What the handlers sent, for the model check.
    sent: Arc<Mutex<Vec<Sent>>>,
    /// Every call the handlers made, as IAM reads it, for tests that read what was sent where moto cannot
    /// show it.
    calls: Arc<Mutex<Vec<AwsCall>>>,
}

impl Recorder {
    /// Around the SDK's own HTTPS client, which talks to moto.
    pub fn new() -> Recorder {
        let inner = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .build_https();
        Recorder {
            inner,
            recording: Arc::default(),
            needed: Arc::default(),
            sent: Arc::default(),
            calls: Arc::default(),
        }
    }

    /// The same recording around aws-smithy-mocks' client, for `mock_client!(…, |c| c.http_client(…))`: a
    /// mocked call is a call the handler made.
    pub fn mocked(&self) -> Recorder {
        Recorder {
            inner: aws_smithy_mocks::create_mock_http_client(),
            ..self.clone()
        }
    }

    /// Runs one invocation of `action` with `params`, and checks every call it made against the policy
    /// rendered for that step.
    pub async fn check<T>(
        &self,
        action: &'static ActionSpec,
        params: &Map<String, Value>,
        invocation: impl Future<Output = T>,
    ) -> T {
        *lock(&self.recording) = Some(Vec::new());
        let out = invocation.await;
        let calls = lock(&self.recording).take().unwrap_or_default();
        let needs = assert_granted(action, params, &calls);
        lock(&self.calls).extend(calls);
        lock(&self.needed).extend(
            needs
                .into_iter()
                .map(|need| (action.name.to_owned(), need.action)),
        );
        out
    }

    /// The handlers' calls of one operation so far, in order.
    pub fn calls_of(&self, operation: &str) -> Vec<AwsCall> {
        self.calls_of_any(&[operation])
    }

    /// The handlers' calls of any of these operations so far, in order.
    pub fn calls_of_any(&self, operations: &[&str]) -> Vec<AwsCall> {
        lock(&self.calls)
            .iter()
            .filter(|c| operations.contains(&c.operation.as_str()))
            .cloned()
            .collect()
    }

    fn record(&self, request: &HttpRequest) {
        if let Some(calls) = lock(&self.recording).as_mut() {
            let sent = Sent::of(request)
                .filter(|sent| !sent.service.is_empty())
                .unwrap_or_else(|| {
                    panic!(
                        "an unsigned request, or one of no operation, to {}",
                        request.uri()
                    )
                });
            calls.push(parse(&sent));
            lock(&self.sent).push(sent);
        }
    }

    /// Every request the handlers sent in this test.
    pub fn sent(&self) -> Vec<Sent> {
        lock(&self.sent).clone()
    }
}

impl HttpClient for Recorder {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RecordingConnector {
            recorder: self.clone(),
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct RecordingConnector {
    recorder: Recorder,
    inner: SharedHttpConnector,
}

impl HttpConnector for RecordingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.recorder.record(&request);
        self.inner.call(request)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The call as IAM reads it: the service from the SigV4 scope, the operation, and the members.
fn parse(sent: &Sent) -> AwsCall {
    let service = match sent.service.as_str() {
        "monitoring" => "cloudwatch",
        other => other,
    };
    let params = match sent.protocol {
        Protocol::Json | Protocol::Cbor => serde_json::from_str(&sent.body).unwrap_or_default(),
        Protocol::Query => {
            let mut params = form(sent.body.as_bytes());
            params.remove("Action");
            params
        }
        // The members its path binds, by the operation's `requestUri` (the handlers' restJson calls carry no
        // others).
        Protocol::RestJson => {
            let (_, _, uri, _) = lambdas::read_only::REST_JSON
                .iter()
                .find(|(of, _, _, name)| *of == sent.service && *name == sent.operation)
                .unwrap_or_else(|| {
                    panic!("a restJson request IAM's reading here does not bind: {sent:?}")
                });
            let path = sent.http.as_ref().map_or("", |http| http.path.as_str());
            lambdas::read_only::path_members(uri, path)
                .unwrap_or_default()
                .into_iter()
                .map(|(name, value)| (name, Value::String(value)))
                .collect()
        }
    };
    AwsCall {
        service: service.to_owned(),
        operation: sent.operation.clone(),
        params,
    }
}

/// A form-encoded body (awsQuery, ec2Query) as `member → value`.
fn form(body: &[u8]) -> Map<String, Value> {
    let text = String::from_utf8_lossy(body);
    let url = reqwest::Url::parse(&format!("http://form/?{text}")).expect("a form body");
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect()
}

/// A member's strings: a JSON string or array, or the query's `Name.member.N` / `Name.N` entries in order.
fn strings(params: &Map<String, Value>, name: &str) -> Vec<String> {
    match params.get(name) {
        Some(Value::String(s)) => return vec![s.clone()],
        Some(Value::Array(items)) => {
            return items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect();
        }
        _ => {}
    }
    let mut listed: Vec<(u32, String)> = params
        .iter()
        .filter_map(|(key, value)| {
            let rest = key.strip_prefix(name)?.strip_prefix('.')?;
            let index = rest.strip_prefix("member.").unwrap_or(rest);
            Some((index.parse().ok()?, value.as_str()?.to_owned()))
        })
        .collect();
    listed.sort();
    listed.into_iter().map(|(_, v)| v).collect()
}

fn one(params: &Map<String, Value>, name: &str) -> Option<String> {
    strings(params, name).into_iter().next()
}

/// Whether any query member name starts with `prefix`, e.g. `Tags.member.`.
fn has_members(params: &Map<String, Value>, prefix: &str) -> bool {
    params.keys().any(|k| k.starts_with(prefix))
}

/// What IAM authorizes `call` against: its action on each resource type that the Service Authorization
/// Reference lists for it, named from the request, plus the actions that AWS checks besides (tagging on
/// create, passing a role). A part of an ARN that the request does not fix (the id of an image being created)
/// is `*`, which only a pattern with a wildcard there covers; an action that AWS does not scope needs `*`.
pub fn needs(call: &AwsCall) -> Vec<Need> {
    let p = &call.params;
    let action = format!("{}:{}", call.service, call.operation);
    let arn = |service: &str, rest: &str| format!("arn:aws:{service}:us-east-1:{ACCOUNT}:{rest}");
    // RDS stores instance and cluster identifiers lowercase, and their ARNs name that form (`catalog::names`).
    let rds = |rest: String| {
        let stored = if rest.starts_with("db:") || rest.starts_with("cluster:") {
            rest.to_ascii_lowercase()
        } else {
            rest
        };
        arn("rds", &stored)
    };
    let ecs = |rest: String| arn("ecs", &rest);
    let named = |name: &str| one(p, name).unwrap_or_else(|| panic!("{action} without {name}"));
    // A cluster is named or given as ARN; ECS takes `default` when none is.
    let cluster = || {
        one(p, "cluster").map_or_else(
            || "default".to_owned(),
            |c| c.rsplit('/').next().unwrap_or_default().to_owned(),
        )
    };
    let mut needs: Vec<(String, String)> = Vec::new();
    let mut on = |action: &str, resource: String| needs.push((action.to_owned(), resource));
    let mut passed = Vec::new();
    match (call.service.as_str(), call.operation.as_str()) {
        ("rds", "CreateDBSnapshot") => {
            let snapshot = rds(format!("snapshot:{}", named("DBSnapshotIdentifier")));
            on(
                &action,
                rds(format!("db:{}", named("DBInstanceIdentifier"))),
            );
            on(&action, snapshot.clone());
            if has_members(p, "Tags.") {
                on("rds:AddTagsToResource", snapshot);
            }
        }
        ("rds", "DescribeDBSnapshots") => {
            let resource = match (
                one(p, "DBSnapshotIdentifier"),
                one(p, "DBInstanceIdentifier"),
            ) {
                (Some(snapshot), _) => rds(format!("snapshot:{snapshot}")),
                (None, Some(db)) => rds(format!("db:{db}")),
                (None, None) => "*".to_owned(),
            };
            on(&action, resource);
        }
        ("rds", "DescribeDBInstances") => {
            let resource = one(p, "DBInstanceIdentifier")
                .map_or_else(|| "*".to_owned(), |db| rds(format!("db:{db}")));
            on(&action, resource);
        }
        ("rds", "RestoreDBInstanceFromDBSnapshot") => {
            let db = rds(format!("db:{}", named("DBInstanceIdentifier")));
            on(&action, db.clone());
            on(
                &action,
                rds(format!("snapshot:{}", named("DBSnapshotIdentifier"))),
            );
            // The groups named, else the engine's defaults, whose names the request does not fix.
            for (kind, member) in [
                ("og", "OptionGroupName"),
                ("pg", "DBParameterGroupName"),
                ("subgrp", "DBSubnetGroupName"),
            ] {
                let group = one(p, member).unwrap_or_else(|| "default*".to_owned());
                on(&action, rds(format!("{kind}:{group}")));
            }
            if has_members(p, "Tags.") {
                on("rds:AddTagsToResource", db);
            }
        }
        ("rds", "CreateDBClusterSnapshot") => {
            let snapshot = rds(format!(
                "cluster-snapshot:{}",
                named("DBClusterSnapshotIdentifier")
            ));
            on(
                &action,
                rds(format!("cluster:{}", named("DBClusterIdentifier"))),
            );
            on(&action, snapshot.clone());
            if has_members(p, "Tags.") {
                on("rds:AddTagsToResource", snapshot);
            }
        }
        ("rds", "DescribeDBClusterSnapshots") => {
            let resource = match (
                one(p, "DBClusterSnapshotIdentifier"),
                one(p, "DBClusterIdentifier"),
            ) {
                (Some(snapshot), _) => rds(format!("cluster-snapshot:{snapshot}")),
                (None, Some(cluster)) => rds(format!("cluster:{cluster}")),
                (None, None) => "*".to_owned(),
            };
            on(&action, resource);
        }
        ("rds", "DescribeDBClusters") => {
            let resource = one(p, "DBClusterIdentifier")
                .map_or_else(|| "*".to_owned(), |c| rds(format!("cluster:{c}")));
            on(&action, resource);
        }
        ("rds", "RestoreDBClusterFromSnapshot") => {
            let cluster = rds(format!("cluster:{}", named("DBClusterIdentifier")));
            on(&action, cluster.clone());
            on(
                &action,
                rds(format!("cluster-snapshot:{}", named("SnapshotIdentifier"))),
            );
            for (kind, member) in [
                ("cluster-pg", "DBClusterParameterGroupName"),
                ("og", "OptionGroupName"),
                ("subgrp", "DBSubnetGroupName"),
            ] {
                let group = one(p, member).unwrap_or_else(|| "default*".to_owned());
                on(&action, rds(format!("{kind}:{group}")));
            }
            if has_members(p, "Tags.") {
                on("rds:AddTagsToResource", cluster);
            }
        }
        // An instance created in a cluster: the cluster, and the groups named, else the defaults.
        ("rds", "CreateDBInstance") => {
            let db = rds(format!("db:{}", named("DBInstanceIdentifier")));
            on(&action, db.clone());
            if let Some(cluster) = one(p, "DBClusterIdentifier") {
                on(&action, rds(format!("cluster:{cluster}")));
            }
            for (kind, member) in [
                ("og", "OptionGroupName"),
                ("pg", "DBParameterGroupName"),
                ("subgrp", "DBSubnetGroupName"),
            ] {
                let group = one(p, member).unwrap_or_else(|| "default*".to_owned());
                on(&action, rds(format!("{kind}:{group}")));
            }
            if has_members(p, "Tags.") {
                on("rds:AddTagsToResource", db);
            }
        }
        // A rename is authorized on the cluster renamed, the one required resource type.
        ("rds", "ModifyDBCluster") => {
            on(
                &action,
                rds(format!("cluster:{}", named("DBClusterIdentifier"))),
            );
        }
        ("rds", "StopDBInstance") => {
            on(
                &action,
                rds(format!("db:{}", named("DBInstanceIdentifier"))),
            );
        }
        ("rds", "StopDBCluster") => {
            on(
                &action,
                rds(format!("cluster:{}", named("DBClusterIdentifier"))),
            );
        }
        // A rename is authorized on the instance renamed, the one resource type the reference lists.
        ("rds", "ModifyDBInstance") => {
            on(
                &action,
                rds(format!("db:{}", named("DBInstanceIdentifier"))),
            );
        }
        ("ecs", "DescribeServices") => {
            for service in strings(p, "services") {
                on(&action, ecs(format!("service/{}/{service}", cluster())));
            }
        }
        ("ecs", "UpdateService") => {
            on(
                &action,
                ecs(format!("service/{}/{}", cluster(), named("service"))),
            );
        }
        ("ecs", "RegisterTaskDefinition") => {
            on(
                &action,
                ecs(format!("task-definition/{}:*", named("family"))),
            );
            for role in ["taskRoleArn", "executionRoleArn"] {
                passed.extend(one(p, role));
            }
        }
        ("ecs", "RunTask") => {
            let definition = named("taskDefinition");
            let resource = if definition.starts_with("arn:") {
                definition
            } else if definition.contains(':') {
                ecs(format!("task-definition/{definition}"))
            } else {
                // A family alone runs its latest revision, which the request does not fix.
                ecs(format!("task-definition/{definition}:*"))
            };
            on(&action, resource);
        }
        // By the task's id within its cluster: moto's task ARNs lack the cluster that AWS's carry.
        ("ecs", "DescribeTasks") => {
            for task in strings(p, "tasks") {
                let id = task.rsplit('/').next().unwrap_or_default();
                on(&action, ecs(format!("task/{}/{id}", cluster())));
            }
        }
        ("ecs", "ListTasks") => {
            on(&action, ecs(format!("container-instance/{}/*", cluster())));
        }
        ("elasticloadbalancing", "RegisterTargets" | "DeregisterTargets") => {
            on(&action, named("TargetGroupArn"));
        }
        ("elasticloadbalancing", "CreateRule") => on(&action, named("ListenerArn")),
        ("elasticloadbalancing", "DeleteRule") => on(&action, named("RuleArn")),
        ("ecr", "DescribeImages") => {
            let registry = one(p, "registryId").unwrap_or_else(|| ACCOUNT.to_owned());
            on(
                &action,
                format!(
                    "arn:aws:ecr:us-east-1:{registry}:repository/{}",
                    named("repositoryName")
                ),
            );
        }
        ("sns", "Publish") => on(&action, named("TopicArn")),
        ("cloudwatch", "DescribeAlarms") => {
            let alarms = strings(p, "AlarmNames");
            if alarms.is_empty() {
                on(&action, "*".to_owned());
            }
            for alarm in alarms {
                on(&action, arn("cloudwatch", &format!("alarm:{alarm}")));
            }
        }
        ("ssm", "SendCommand") => {
            let document = named("DocumentName");
            // AWS's own documents have no account in their ARN.
            let owner = if document.starts_with("AWS-") {
                ""
            } else {
                ACCOUNT
            };
            on(
                &action,
                format!("arn:aws:ssm:us-east-1:{owner}:document/{document}"),
            );
            let instances = strings(p, "InstanceIds");
            if instances.is_empty() {
                // Sent to tags: the instances are not known before AWS resolves them.
                on(&action, arn("ec2", "instance/*"));
            }
            for instance in instances {
                on(&action, arn("ec2", &format!("instance/{instance}")));
            }
        }
        ("ec2", "CreateImage") => {
            on(&action, "arn:aws:ec2:us-east-1::image/*".to_owned());
            on(
                &action,
                arn("ec2", &format!("instance/{}", named("InstanceId"))),
            );
            on(&action, "arn:aws:ec2:us-east-1::snapshot/*".to_owned());
            for (key, value) in p {
                if key.starts_with("TagSpecification.") && key.ends_with(".ResourceType") {
                    let kind = value.as_str().unwrap_or_default();
                    on("ec2:CreateTags", format!("arn:aws:ec2:us-east-1::{kind}/*"));
                }
            }
        }
        ("states", "DescribeExecution") => on(&action, named("executionArn")),
        ("dynamodb", "GetItem" | "UpdateItem") => {
            on(
                &action,
                arn("dynamodb", &format!("table/{}", named("TableName"))),
            );
        }
        // A group's ARN holds an id that the request does not fix.
        ("autoscaling", "SuspendProcesses" | "ResumeProcesses") => on(
            &action,
            arn(
                "autoscaling",
                &format!(
                    "autoScalingGroup:*:autoScalingGroupName/{}",
                    named("AutoScalingGroupName")
                ),
            ),
        ),
        ("autoscaling", "CreateOrUpdateTags") => on(
            &action,
            arn(
                "autoscaling",
                &format!(
                    "autoScalingGroup:*:autoScalingGroupName/{}",
                    named("Tags.member.1.ResourceId")
                ),
            ),
        ),
        // IAM matches a log group by its ARN with the trailing `:*`.
        ("logs", "FilterLogEvents") => on(
            &action,
            arn("logs", &format!("log-group:{}:*", named("logGroupName"))),
        ),
        ("ecs", "DescribeTaskDefinition" | "ListTaskDefinitions")
        | ("elasticloadbalancing", "DescribeTargetHealth")
        | ("ssm", "ListCommands" | "ListCommandInvocations" | "GetCommandInvocation")
        | ("ec2", "DescribeImages")
        | ("autoscaling", "DescribeAutoScalingGroups")
        | ("ssm", "DescribeInstanceInformation")
        | ("ec2", "DescribeInstances" | "DescribeNetworkInterfaces")
        | ("ecs", "ListClusters" | "ListServices")
        | ("ecr", "DescribePullThroughCacheRules")
        | ("elasticloadbalancing", "DescribeRules")
        | ("cloudwatch", "GetMetricData" | "PutMetricData") => on(&action, "*".to_owned()),
        ("events", "DescribeRule" | "EnableRule") => {
            on(&action, arn("events", &format!("rule/{}", named("Name"))));
        }
        ("sns", "GetTopicAttributes") => on(&action, named("TopicArn")),
        ("eks", "DescribeCluster") => {
            on(&action, arn("eks", &format!("cluster/{}", named("name"))))
        }
        // By the key's ARN; an alias names a key that the request does not fix.
        ("kms", "DescribeKey") => {
            let key = named("KeyId");
            let resource = if key.starts_with("arn:") && key.contains(":key/") {
                key
            } else if key.starts_with("alias/") || key.contains(":alias/") {
                arn("kms", "key/*")
            } else {
                arn("kms", &format!("key/{key}"))
            };
            on(&action, resource);
        }
        _ => panic!(
            "{action}: which resources does it touch? Add it to `iam::needs` from the Service Authorization \
             Reference"
        ),
    }
    let mut out: Vec<Need> = needs
        .into_iter()
        .map(|(action, resource)| Need {
            metric_namespace: (action == "cloudwatch:PutMetricData")
                .then(|| call.params.get("Namespace").and_then(Value::as_str))
                .flatten()
                .map(str::to_owned),
            action,
            resource,
            passed_to_service: None,
        })
        .collect();
    out.extend(passed.into_iter().map(|role| Need {
        action: "iam:PassRole".to_owned(),
        resource: role,
        passed_to_service: Some("ecs-tasks.amazonaws.com"),
        metric_namespace: None,
    }));
    out
}

/// The policy of `action`'s function for one step with these literal params, as the template renders it,
/// with the deploy-time variables resolved for moto.
pub fn policy(action: &'static ActionSpec, params: &Map<String, Value>) -> Vec<Statement> {
    let step = workflow::model::Step {
        id: "s1".to_owned(),
        id_span: 0..0,
        action,
        action_span: 0..0,
        description: None,
        params: params
            .iter()
            .map(|(k, v)| (k.clone(), workflow::model::Value::Literal(v.clone())))
            .collect(),
        after: Vec::new(),
        when: None,
        retry: action.default_retry,
        timeout_secs: action.default_timeout_secs,
        estimate_secs: action.default_estimate_secs,
        continue_on_error: false,
    };
    let roles = format!("${{{TASK_ROLES_PARAMETER}}}");
    compiler::iam::statements(action, &[&step], STATE_MACHINE_NAME)
        .into_iter()
        .map(|statement| Statement {
            resources: statement
                .resources
                .iter()
                .flat_map(|r| {
                    if *r == roles {
                        return TASK_ROLES.map(str::to_owned).to_vec();
                    }
                    let resolved = r
                        .replace("${AWS::Partition}", "aws")
                        .replace("${AWS::Region}", tests::REGION)
                        .replace("${AWS::AccountId}", ACCOUNT)
                        .replace("${!", "${");
                    vec![resolved]
                })
                .collect(),
            ..statement
        })
        .collect()
}

/// Checks that `policy(action, params)` allows every need of every call; returns the needs.
pub fn assert_granted(
    action: &'static ActionSpec,
    params: &Map<String, Value>,
    calls: &[AwsCall],
) -> Vec<Need> {
    let statements = policy(action, params);
    let needs: Vec<Need> = calls.iter().flat_map(needs).collect();
    let denied: Vec<&Need> = needs
        .iter()
        .filter(|need| !statements.iter().any(|s| allows(s, need)))
        .collect();
    assert!(
        denied.is_empty(),
        "{}'s policy for params {params:?} does not allow what its handler called:\n{denied:#?}\npolicy: \
         {statements:#?}",
        action.name
    );
    needs
}

/// A statement conditioned on `kms:ViaService` allows only what that service asks for on the role's behalf,
/// never a call of the function's own, which is all a test records.
fn allows(statement: &Statement, need: &Need) -> bool {
    statement.via_service.is_none()
        && statement
            .actions
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&need.action))
        && statement
            .resources
            .iter()
            .any(|r| matches(r, &need.resource))
        && (need.passed_to_service.is_none()
            || statement.passed_to_service == need.passed_to_service)
        && statement
            .metric_namespace
            .is_none_or(|namespace| need.metric_namespace.as_deref() == Some(namespace))
}

/// IAM's wildcard match: `*` any run of characters, `?` one character.
pub fn matches(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut i, mut j) = (0, 0);
    // Where the last `*` was, and where in `value` it started matching.
    let mut star: Option<(usize, usize)> = None;
    while j < v.len() {
        if i < p.len() && (p[i] == '?' || p[i] == v[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((at, from)) = star {
            i = at + 1;
            j = from + 1;
            star = Some((at, from + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// Why an IAM action of a catalog action is in its policy.
#[derive(Clone, Copy, Debug)]
pub enum Evidence {
    /// This test's recorded calls need it.
    Called(&'static str),
    /// No test can record it, and why.
    Unobserved(&'static str),
    /// Granted for the calls an AWS service makes with the role's permissions (`kms:ViaService`), which no
    /// recorded call of the function can show, and why the service makes them. The catalog's grant of it must
    /// carry the condition.
    ByService(&'static str),
}

use Evidence::{ByService, Called, Unobserved};

/// For every IAM action of every catalog action: the test that needs it, or why none can.
pub const EVIDENCE: &[(&str, &str, Evidence)] = &[
    (
        "notify",
        "sns:Publish",
        Called("notify::notify_publishes_with_a_subject_sns_accepts"),
    ),
    (
        "approval",
        "sns:Publish",
        Called("notify::approval_says_what_where_and_how_to_answer"),
    ),
    (
        "guard",
        "sns:Publish",
        Called("guard::an_alarm_within_the_cooldown_of_the_last_end_does_not_act"),
    ),
    (
        "readiness",
        "sns:Publish",
        Called("readiness::a_run_records_tells_a_change_once_and_arms_the_trigger_once"),
    ),
    (
        "readiness",
        "cloudwatch:PutMetricData",
        Called("readiness::a_run_records_tells_a_change_once_and_arms_the_trigger_once"),
    ),
    (
        "readiness",
        "dynamodb:GetItem",
        Called("readiness::a_run_records_tells_a_change_once_and_arms_the_trigger_once"),
    ),
    (
        "readiness",
        "dynamodb:UpdateItem",
        Called("readiness::a_run_records_tells_a_change_once_and_arms_the_trigger_once"),
    ),
    (
        "readiness",
        "events:DescribeRule",
        Called("readiness::a_run_records_tells_a_change_once_and_arms_the_trigger_once"),
    ),
    (
        "readiness",
        "events:EnableRule",
        Called("readiness::a_run_records_tells_a_change_once_and_arms_the_trigger_once"),
    ),
    (
        "rds.snapshot",
        "rds:CreateDBSnapshot",
        Called("rds::snapshot_is_taken_under_an_id_from_the_execution_and_is_available"),
    ),
    (
        "rds.snapshot",
        "rds:AddTagsToResource",
        Called("rds::snapshot_is_taken_under_an_id_from_the_execution_and_is_available"),
    ),
    (
        "rds.snapshot",
        "rds:DescribeDBSnapshots",
        Called("rds::snapshot_is_taken_under_an_id_from_the_execution_and_is_available"),
    ),
    (
        "rds.restore",
        "rds:RestoreDBInstanceFromDBSnapshot",
        Called("rds::restore_with_swap_keeps_the_id_copies_the_settings_and_keeps_the_original"),
    ),
    (
        "rds.restore",
        "rds:AddTagsToResource",
        Called("rds::restore_with_swap_keeps_the_id_copies_the_settings_and_keeps_the_original"),
    ),
    (
        "rds.restore",
        "rds:DescribeDBInstances",
        Called("rds::restore_with_swap_keeps_the_id_copies_the_settings_and_keeps_the_original"),
    ),
    (
        "rds.restore",
        "rds:ModifyDBInstance",
        Called("rds::restore_with_swap_keeps_the_id_copies_the_settings_and_keeps_the_original"),
    ),
    (
        "rds.restore",
        "rds:StopDBInstance",
        Called("rds::restore_with_swap_keeps_the_id_copies_the_settings_and_keeps_the_original"),
    ),
    (
        "rds.restore",
        "rds:DescribeDBSnapshots",
        Called("rds::restore_with_swap_keeps_the_id_copies_the_settings_and_keeps_the_original"),
    ),
    (
        "rds.snapshot",
        "rds:CreateDBClusterSnapshot",
        Called("aurora::cluster_snapshot_is_taken_once_under_an_id_from_the_execution"),
    ),
    (
        "rds.snapshot",
        "rds:DescribeDBClusterSnapshots",
        Called("aurora::cluster_snapshot_is_taken_once_under_an_id_from_the_execution"),
    ),
    (
        "rds.snapshot",
        "rds:DescribeDBClusters",
        Called("aurora::cluster_snapshot_is_taken_once_under_an_id_from_the_execution"),
    ),
    (
        "rds.restore",
        "rds:RestoreDBClusterFromSnapshot",
        Called("aurora::cluster_restore_with_swap_copies_the_settings_and_keeps_the_original"),
    ),
    (
        "rds.restore",
        "rds:CreateDBInstance",
        Called("aurora::cluster_restore_with_swap_copies_the_settings_and_keeps_the_original"),
    ),
    (
        "rds.restore",
        "rds:DescribeDBClusters",
        Called("aurora::cluster_restore_with_swap_copies_the_settings_and_keeps_the_original"),
    ),
    (
        "rds.restore",
        "rds:ModifyDBCluster",
        Called("aurora::cluster_restore_with_swap_copies_the_settings_and_keeps_the_original"),
    ),
    (
        "rds.restore",
        "rds:StopDBCluster",
        Called("aurora::cluster_restore_with_swap_copies_the_settings_and_keeps_the_original"),
    ),
    (
        "rds.restore",
        "rds:DescribeDBClusterSnapshots",
        Called("aurora::cluster_restore_with_swap_copies_the_settings_and_keeps_the_original"),
    ),
    (
        "ecs.run_task",
        "ecs:RunTask",
        Called("ecs::run_task_overrides_the_command_and_waits_until_stopped"),
    ),
    (
        "ecs.run_task",
        "ecs:DescribeTasks",
        Called("ecs::run_task_overrides_the_command_and_waits_until_stopped"),
    ),
    (
        "ecs.run_task",
        "ecs:ListTasks",
        Called("ecs::run_task_overrides_the_command_and_waits_until_stopped"),
    ),
    (
        "ecs.run_task",
        "ecs:DescribeServices",
        Called("ecs::run_task_runs_in_the_network_of_the_service_it_names"),
    ),
    (
        "ecs.run_task",
        "iam:PassRole",
        Unobserved(
            "RunTask passes the task definition's roles, which AWS reads from the definition: the request names none",
        ),
    ),
    (
        "eks.deploy",
        "eks:DescribeCluster",
        Called("eks::a_tag_rolls_out_and_is_done_only_once_every_replica_is_updated"),
    ),
    (
        "ecs.deploy",
        "ecs:DescribeServices",
        Called(
            "ecs::deploy_previous_runs_the_revision_below_and_is_not_done_while_the_old_one_runs",
        ),
    ),
    (
        "ecs.deploy",
        "ecs:UpdateService",
        Called(
            "ecs::deploy_previous_runs_the_revision_below_and_is_not_done_while_the_old_one_runs",
        ),
    ),
    (
        "ecs.deploy",
        "ecs:DescribeTaskDefinition",
        Called(
            "ecs::deploy_previous_runs_the_revision_below_and_is_not_done_while_the_old_one_runs",
        ),
    ),
    (
        "ecs.deploy",
        "ecs:ListTaskDefinitions",
        Called(
            "ecs::deploy_previous_runs_the_revision_below_and_is_not_done_while_the_old_one_runs",
        ),
    ),
    (
        "ecs.deploy",
        "ecs:RegisterTaskDefinition",
        Called("ecs::deploy_of_a_new_tag_registers_once_even_when_start_is_retried"),
    ),
    (
        "ecs.deploy",
        "iam:PassRole",
        Called("ecs::deploy_of_a_new_tag_registers_once_even_when_start_is_retried"),
    ),
    (
        "ecs.deploy",
        "ecr:DescribeImages",
        Called("ecs::a_tag_that_ecr_does_not_hold_is_not_found_and_changes_nothing"),
    ),
    (
        "ecs.deploy",
        "ecs:ListTasks",
        Called("ecs::mocked::tasks_that_cannot_start_fail_the_poll_with_their_reason"),
    ),
    (
        "ecs.deploy",
        "ecs:DescribeTasks",
        Called("ecs::mocked::tasks_that_cannot_start_fail_the_poll_with_their_reason"),
    ),
    (
        "alb.deregister",
        "elasticloadbalancing:DeregisterTargets",
        Called("alb::deregister_all_then_register_the_same_targets_again"),
    ),
    (
        "alb.deregister",
        "elasticloadbalancing:DescribeTargetHealth",
        Called("alb::deregister_all_then_register_the_same_targets_again"),
    ),
    (
        "alb.register",
        "elasticloadbalancing:RegisterTargets",
        Called("alb::deregister_all_then_register_the_same_targets_again"),
    ),
    (
        "alb.register",
        "elasticloadbalancing:DescribeTargetHealth",
        Called("alb::deregister_all_then_register_the_same_targets_again"),
    ),
    (
        "ecs.deploy",
        "ecr:DescribePullThroughCacheRules",
        Called("ecs::mocked::ecr_images_that_cannot_be_checked_do_not_stop_the_deploy"),
    ),
    (
        "alb.register",
        "ec2:DescribeInstances",
        Called("alb::register_fails_at_once_on_targets_that_no_longer_exist"),
    ),
    (
        "alb.register",
        "ec2:DescribeNetworkInterfaces",
        Called("alb::register_fails_at_once_on_targets_that_no_longer_exist"),
    ),
    (
        "alb.deregister",
        "ecs:ListClusters",
        Called("alb::the_check_names_the_ecs_service_that_registers_into_the_group"),
    ),
    (
        "alb.deregister",
        "ecs:ListServices",
        Called("alb::the_check_names_the_ecs_service_that_registers_into_the_group"),
    ),
    (
        "alb.deregister",
        "ecs:DescribeServices",
        Called("alb::the_check_names_the_ecs_service_that_registers_into_the_group"),
    ),
    (
        "alb.deregister",
        "autoscaling:DescribeAutoScalingGroups",
        Called("alb::the_check_names_the_ecs_service_that_registers_into_the_group"),
    ),
    (
        "alb.register",
        "ecs:ListClusters",
        Called("alb::the_check_names_the_ecs_service_that_registers_into_the_group"),
    ),
    (
        "alb.register",
        "ecs:ListServices",
        Called("alb::the_check_names_the_ecs_service_that_registers_into_the_group"),
    ),
    (
        "alb.register",
        "ecs:DescribeServices",
        Called("alb::the_check_names_the_ecs_service_that_registers_into_the_group"),
    ),
    (
        "alb.register",
        "autoscaling:DescribeAutoScalingGroups",
        Called("alb::the_check_names_the_ecs_service_that_registers_into_the_group"),
    ),
    (
        "alb.halt",
        "elasticloadbalancing:CreateRule",
        Called("alb::halt_answers_every_request_with_a_503_until_resume_deletes_its_rule"),
    ),
    (
        "alb.halt",
        "elasticloadbalancing:DescribeRules",
        Called("alb::halt_answers_every_request_with_a_503_until_resume_deletes_its_rule"),
    ),
    (
        "alb.resume",
        "elasticloadbalancing:DeleteRule",
        Called("alb::halt_answers_every_request_with_a_503_until_resume_deletes_its_rule"),
    ),
    (
        "alb.resume",
        "elasticloadbalancing:DescribeRules",
        Called("alb::halt_answers_every_request_with_a_503_until_resume_deletes_its_rule"),
    ),
    (
        "check.alarms",
        "cloudwatch:DescribeAlarms",
        Called("check_alarms::done_when_every_alarm_is_in_the_expected_state"),
    ),
    (
        "check.metric",
        "cloudwatch:GetMetricData",
        Called("check_metric::done_after_the_newest_periods_are_good_in_a_row"),
    ),
    (
        "ssm.command",
        "ssm:SendCommand",
        Called("ssm::runs_the_commands_with_run_shell_script_and_reports_the_command"),
    ),
    (
        "ssm.command",
        "ssm:ListCommands",
        Called("ssm::runs_the_commands_with_run_shell_script_and_reports_the_command"),
    ),
    (
        "ssm.command",
        "ssm:GetCommandInvocation",
        Called("ssm::runs_the_commands_with_run_shell_script_and_reports_the_command"),
    ),
    (
        "ssm.command",
        "ssm:ListCommandInvocations",
        Called("ssm::a_command_sent_to_tags_reports_each_instance_it_ran_on"),
    ),
    (
        "ec2.image",
        "ec2:CreateImage",
        Called("ec2::images_the_instance_without_a_reboot"),
    ),
    (
        "ec2.image",
        "ec2:CreateTags",
        Called("ec2::images_the_instance_without_a_reboot"),
    ),
    (
        "ec2.image",
        "ec2:DescribeImages",
        Called("ec2::images_the_instance_without_a_reboot"),
    ),
    (
        "guard",
        "states:DescribeExecution",
        Called("guard::the_first_to_take_the_lock_acts_and_the_others_name_it"),
    ),
    (
        "guard",
        "dynamodb:GetItem",
        Called("guard::passes_when_only_this_execution_runs"),
    ),
    (
        "guard",
        "dynamodb:UpdateItem",
        Called("guard::passes_when_only_this_execution_runs"),
    ),
    (
        "asg.suspend",
        "autoscaling:DescribeAutoScalingGroups",
        Called("asg::resume_undoes_exactly_what_suspend_did"),
    ),
    (
        "asg.suspend",
        "autoscaling:CreateOrUpdateTags",
        Called("asg::resume_undoes_exactly_what_suspend_did"),
    ),
    (
        "asg.suspend",
        "autoscaling:SuspendProcesses",
        Called("asg::resume_undoes_exactly_what_suspend_did"),
    ),
    (
        "asg.resume",
        "autoscaling:DescribeAutoScalingGroups",
        Called("asg::resume_undoes_exactly_what_suspend_did"),
    ),
    (
        "asg.resume",
        "autoscaling:ResumeProcesses",
        Called("asg::resume_undoes_exactly_what_suspend_did"),
    ),
    (
        "check.logs",
        "logs:FilterLogEvents",
        Called("check_logs::counts_the_matches_of_the_window_in_every_group"),
    ),
    // The reads of `check`, the operation `stepback preflight` runs with each step's role.
    (
        "notify",
        "sns:GetTopicAttributes",
        Called("notify::notify_publishes_with_a_subject_sns_accepts"),
    ),
    (
        "approval",
        "sns:GetTopicAttributes",
        Called("notify::approval_says_what_where_and_how_to_answer"),
    ),
    (
        "guard",
        "sns:GetTopicAttributes",
        Called("guard::an_alarm_within_the_cooldown_of_the_last_end_does_not_act"),
    ),
    (
        "rds.snapshot",
        "rds:DescribeDBInstances",
        Called("rds::snapshot_is_taken_under_an_id_from_the_execution_and_is_available"),
    ),
    (
        "ecs.run_task",
        "ecs:DescribeTaskDefinition",
        Called("ecs::run_task_overrides_the_command_and_waits_until_stopped"),
    ),
    (
        "ssm.command",
        "ssm:DescribeInstanceInformation",
        Called("ssm::the_check_names_the_instances_ssm_does_not_manage"),
    ),
    (
        "ec2.image",
        "ec2:DescribeInstances",
        Called("ec2::images_the_instance_without_a_reboot"),
    ), // Customer-managed KMS keys: RDS and SNS use the key with the role's permissions.
    (
        "rds.snapshot",
        "kms:CreateGrant",
        ByService(
            "RDS creates a grant on the key of an encrypted database or snapshot for the role that snapshots or restores it (RDS user guide, \"AWS KMS key management\")",
        ),
    ),
    (
        "rds.restore",
        "kms:CreateGrant",
        ByService(
            "RDS creates a grant on the key of an encrypted database or snapshot for the role that snapshots or restores it (RDS user guide, \"AWS KMS key management\")",
        ),
    ),
    (
        "notify",
        "kms:Decrypt",
        ByService(
            "SNS encrypts each message to a topic encrypted under a customer-managed key with the publisher's permissions (SNS developer guide, \"Key management\")",
        ),
    ),
    (
        "notify",
        "kms:GenerateDataKey",
        ByService(
            "SNS encrypts each message to a topic encrypted under a customer-managed key with the publisher's permissions (SNS developer guide, \"Key management\")",
        ),
    ),
    (
        "approval",
        "kms:Decrypt",
        ByService(
            "SNS encrypts each message to a topic encrypted under a customer-managed key with the publisher's permissions (SNS developer guide, \"Key management\")",
        ),
    ),
    (
        "approval",
        "kms:GenerateDataKey",
        ByService(
            "SNS encrypts each message to a topic encrypted under a customer-managed key with the publisher's permissions (SNS developer guide, \"Key management\")",
        ),
    ),
    (
        "guard",
        "kms:Decrypt",
        ByService(
            "SNS encrypts each message to a topic encrypted under a customer-managed key with the publisher's permissions (SNS developer guide, \"Key management\")",
        ),
    ),
    (
        "guard",
        "kms:GenerateDataKey",
        ByService(
            "SNS encrypts each message to a topic encrypted under a customer-managed key with the publisher's permissions (SNS developer guide, \"Key management\")",
        ),
    ),
    (
        "readiness",
        "kms:Decrypt",
        ByService(
            "SNS encrypts each message to a topic encrypted under a customer-managed key with the publisher's permissions (SNS developer guide, \"Key management\")",
        ),
    ),
    (
        "readiness",
        "kms:GenerateDataKey",
        ByService(
            "SNS encrypts each message to a topic encrypted under a customer-managed key with the publisher's permissions (SNS developer guide, \"Key management\")",
        ),
    ),
    (
        "rds.snapshot",
        "kms:DescribeKey",
        Called("kms::preflight_reports_a_database_key_that_is_disabled_or_pending_deletion"),
    ),
    (
        "rds.restore",
        "kms:DescribeKey",
        Called("kms::preflight_reports_a_database_key_that_is_disabled_or_pending_deletion"),
    ),
    (
        "notify",
        "kms:DescribeKey",
        Called("kms::preflight_reports_an_encrypted_topic_s_disabled_key"),
    ),
    (
        "approval",
        "kms:DescribeKey",
        Called("kms::preflight_reports_an_encrypted_topic_s_disabled_key"),
    ),
    (
        "guard",
        "kms:DescribeKey",
        Unobserved(
            "the guard's check reads its [trigger].topic's key as notify's does (kms::preflight_reports_an_encrypted_topic_s_disabled_key); no test encrypts a trigger topic",
        ),
    ),
];

/// At the end of a test: every IAM action that [`EVIDENCE`] says this test calls, it called.
pub fn assert_evidence(recorder: &Recorder) {
    let current = std::thread::current();
    let Some(test) = current.name() else {
        return;
    };
    let needed = lock(&recorder.needed);
    let missing: Vec<_> = EVIDENCE
        .iter()
        .filter(|(_, _, evidence)| matches!(evidence, Called(by) if *by == test))
        .filter(|(action, iam, _)| !needed.contains(&((*action).to_owned(), (*iam).to_owned())))
        .map(|(action, iam, _)| format!("{action}: {iam}"))
        .collect();
    assert!(
        missing.is_empty(),
        "iam::EVIDENCE says {test} calls {missing:?}, but its handlers needed only {needed:?}"
    );
}

#[test]
fn every_granted_iam_action_has_evidence_and_every_row_is_granted() {
    let tests = test_names();
    let mut rows = BTreeSet::new();
    for (action, iam, evidence) in EVIDENCE {
        let spec = catalog::action(action).unwrap_or_else(|| panic!("no action {action}"));
        assert!(
            spec.iam_actions().contains(iam),
            "{action} is granted no {iam}: drop its row from EVIDENCE"
        );
        assert!(rows.insert((*action, *iam)), "{action}: {iam} twice");
        match evidence {
            Called(test) => assert!(tests.contains(*test), "{action}: {iam}: no test {test}"),
            Unobserved(why) => {
                assert!(!why.is_empty(), "{action}: {iam}: say why no test calls it")
            }
            ByService(why) => {
                assert!(
                    !why.is_empty(),
                    "{action}: {iam}: say why the service calls it"
                );
                assert!(
                    spec.grants
                        .iter()
                        .filter(|g| g.actions.contains(iam))
                        .all(|g| g.via_service.is_some()),
                    "{action}: {iam} is said to be used by a service, but a grant of it lets the function call it"
                );
            }
        }
    }
    for spec in catalog::ACTIONS {
        for iam in spec.iam_actions() {
            assert!(
                rows.contains(&(spec.name, iam)),
                "{}: {iam} is granted, but EVIDENCE names no test that needs it nor why none can",
                spec.name
            );
        }
    }
}

/// The tests of this binary, as libtest lists them.
fn test_names() -> BTreeSet<String> {
    let exe = std::env::current_exe().expect("the test binary");
    let listed = std::process::Command::new(exe)
        .args(["--list", "--format", "terse"])
        .output()
        .expect("the test list");
    String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_owned)
        .collect()
}

/// The readiness function may put metrics into `Stepback/Readiness` and no other namespace: the statement's
/// `cloudwatch:namespace` condition, checked as IAM checks it.
#[test]
fn metrics_go_only_into_the_readiness_namespace() {
    let action = catalog::action(catalog::readiness::ACTION).expect("the readiness action");
    let statements = policy(action, &Map::new());
    let put = |namespace: &str| AwsCall {
        service: "cloudwatch".to_owned(),
        operation: "PutMetricData".to_owned(),
        params: Map::from_iter([("Namespace".to_owned(), Value::from(namespace))]),
    };
    let allowed = |namespace: &str| {
        needs(&put(namespace))
            .iter()
            .all(|need| statements.iter().any(|s| allows(s, need)))
    };
    assert!(allowed(catalog::readiness::NAMESPACE), "{statements:#?}");
    assert!(!allowed("Billing/Mine"), "{statements:#?}");
}

#[test]
fn wildcards_match_as_iam_does() {
    assert!(matches(
        "arn:aws:rds:*:1:db:orders-rb-*",
        "arn:aws:rds:x:1:db:orders-rb-1f"
    ));
    assert!(matches("a?c*", "abc"));
    assert!(matches("*", "*"));
    assert!(!matches(
        "arn:aws:rds:r:1:db:orders",
        "arn:aws:rds:r:1:db:orders-rb-1"
    ));
    assert!(!matches("task-definition/web:3", "task-definition/web:*"));
    assert!(matches("*a*b", "xaab"));
}
