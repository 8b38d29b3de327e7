//! `stepback preflight` against a stack deployed in moto. moto runs no Lambda code, so the test serves the Lambda
//! Invoke API with the real `lambdas` handlers in process (`rehearsal_front::serve`), and passes every other request to
//! moto; the binary talks to that server as it would to AWS. Every AWS request the checks send is recorded under
//! `Clients::read_only`'s guard; the recording shows that no check calls anything but a read.
//!
//! Not in the workflow: `check.alarms` (moto answers aws-sdk-cloudwatch's rpc-v2-cbor with 404) and
//! `ssm.command` (moto 5.2.5 has no DescribeInstanceInformation); `alb.register` would fail on the same
//! missing target group as `alb.deregister`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, PoisonError};

use aws_config::SdkConfig;
use aws_sdk_ecs::types::{ContainerDefinition, LaunchType};
use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetDescription};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use audit::StepEvent;
use cli::rehearsal::Event;
use lambdas::read_only::{self, AwsOperation};
use rehearsal_front::sent::Sent;
use std::time::Duration;

use crate::stepback_with;

const STACK: &str = "orders-rollback";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:deploys";

/// The HTTP client of the functions' config: records each AWS request that the read-only guard lets through,
/// by its operation and for the model check.
#[derive(Clone, Debug)]
struct Recorder {
    inner: SharedHttpClient,
    seen: Arc<Mutex<Vec<Option<AwsOperation>>>>,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl HttpClient for Recorder {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Recording {
            recorder: self.clone(),
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct Recording {
    recorder: Recorder,
    inner: SharedHttpConnector,
}

impl HttpConnector for Recording {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.recorder
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(read_only::operation(&request));
        self.recorder
            .sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(Sent::of(&request));
        self.inner.call(request)
    }
}

/// A loopback URL that answers 200, for `check.http`.
fn health_server() -> String {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a port");
    let addr = listener.local_addr().expect("bound");
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    format!("http://{addr}/health")
}

/// What the rollback touches, in moto. Returns the target group ARN and the instance id.
async fn seed(config: &SdkConfig) -> (String, String) {
    let sns = aws_sdk_sns::Client::new(config);
    sns.create_topic()
        .name("deploys")
        .send()
        .await
        .expect("topic");
    aws_sdk_rds::Client::new(config)
        .create_db_instance()
        .db_instance_identifier("orders-db")
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("password123")
        .send()
        .await
        .expect("db instance");
    let ec2 = lambdas::ec2::Client::new(config);
    let vpc = Some(ec2.create_vpc("10.3.0.0/16").await.expect("vpc"));
    let instance = ec2
        .run_instances("ami-12c6146b", 1)
        .await
        .expect("instance")
        .remove(0);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(config);
    let group = elb
        .create_target_group()
        .name("orders")
        .protocol(ProtocolEnum::Http)
        .port(80)
        .set_vpc_id(vpc)
        .send()
        .await
        .expect("target group")
        .target_groups()[0]
        .target_group_arn()
        .expect("arn")
        .to_owned();
    elb.register_targets()
        .target_group_arn(&group)
        .targets(TargetDescription::builder().id(&instance).port(80).build())
        .send()
        .await
        .expect("register");
    let ecs = aws_sdk_ecs::Client::new(config);
    ecs.create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .expect("cluster");
    for (family, image) in [
        ("orders", "registry.local:5000/orders:v1"),
        ("orders", "registry.local:5000/orders:v2"),
        ("orders-migrate", "registry.local:5000/orders:v2"),
    ] {
        ecs.register_task_definition()
            .family(family)
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image(image)
                    .essential(true)
                    .memory(512)
                    .build(),
            )
            .send()
            .await
            .expect("task definition");
    }
    ecs.create_service()
        .cluster("prod")
        .service_name("orders")
        .task_definition("orders:2")
        .desired_count(1)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .expect("service");
    let asg = aws_sdk_autoscaling::Client::new(config);
    asg.create_launch_configuration()
        .launch_configuration_name("orders")
        .image_id("ami-12c6146b")
        .instance_type("t3.micro")
        .send()
        .await
        .expect("launch configuration");
    asg.create_auto_scaling_group()
        .auto_scaling_group_name("orders")
        .launch_configuration_name("orders")
        .min_size(0)
        .max_size(2)
        .desired_capacity(0)
        .availability_zones("us-east-1a")
        .send()
        .await
        .expect("group");
    aws_sdk_cloudwatchlogs::Client::new(config)
        .create_log_group()
        .log_group_name("/ecs/orders")
        .send()
        .await
        .expect("log group");
    (group, instance)
}

fn workflow(target_group: &str, instance: &str, url: &str) -> String {
    format!(
        r#"version = 1
name = "orders-rollback"

[input]
to_version = {{ type = "string" }}
restore_data = {{ type = "bool", default = false }}
restore_snapshot = {{ type = "string", default = "orders-db-known-good" }}

[resources]
topic = "{TOPIC}"
database = "orders-db"
target_group = "{target_group}"

[steps.announce]
action = "notify"
topic = "${{resources.topic}}"
message = "Rolling orders back to ${{input.to_version}}"

[steps.backup_db]
action = "rds.snapshot"
instance = "${{resources.database}}"

[steps.hold_scaling]
action = "asg.suspend"
group = "orders"
processes = ["Launch", "Terminate"]

[steps.image_host]
action = "ec2.image"
instance_id = "{instance}"

[steps.drain]
action = "alb.deregister"
after = ["announce"]
target_group = "${{resources.target_group}}"

[steps.migrate]
action = "ecs.run_task"
after = ["backup_db"]
cluster = "prod"
task_definition = "orders-migrate"

[steps.approve_restore]
action = "approval"
after = ["backup_db"]
when = "input.restore_data"
topic = "${{resources.topic}}"
message = "Restore orders-db from ${{input.restore_snapshot}}?"

[steps.restore_db]
action = "rds.restore"
after = ["approve_restore", "drain"]
when = "input.restore_data"
instance = "${{resources.database}}"
snapshot = "${{input.restore_snapshot}}"

[steps.deploy]
action = "ecs.deploy"
after = ["migrate", "drain", "restore_db"]
cluster = "prod"
service = "orders"
container = "app"
image_tag = "${{input.to_version}}"

[steps.smoke_test]
action = "check.http"
after = ["deploy"]
url = "{url}"

[steps.errors_calm]
action = "check.logs"
after = ["deploy"]
log_groups = ["/ecs/orders"]
pattern = "ERROR"

[on_failure.announce_failure]
action = "notify"
topic = "${{resources.topic}}"
message = "Rollback failed at ${{failure.step}}"
"#
    )
}

/// `(step, status)` of each table row that names a step, from the binary's output.
fn statuses(out: &str) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut step = String::new();
    let column = out
        .lines()
        .next()
        .and_then(|h| h.find("status"))
        .unwrap_or(0);
    for line in out.lines().skip(1).take_while(|l| !l.is_empty()) {
        if !line.starts_with(' ') {
            step = line
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
        let rest = line.get(column..).unwrap_or_default();
        if rest.trim_start().starts_with("fix:") {
            continue;
        }
        let status = [
            "not yet knowable",
            "not ready",
            "missing",
            "denied",
            "error",
            "ok",
            "skipped",
        ]
        .into_iter()
        .find(|s| rest.starts_with(s))
        .unwrap_or("?");
        rows.push((step.clone(), status.to_owned()));
    }
    rows
}

#[test]
fn preflight_passes_on_a_ready_world_and_names_the_two_broken_steps() {
    let moto = tests::Moto::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let config = runtime.block_on(moto.sdk_config());
    let (target_group, instance) = runtime.block_on(seed(&config));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("orders-rollback.toml");
    std::fs::write(&file, workflow(&target_group, &instance, &health_server())).expect("written");
    let zip = dir.path().join("bootstrap.zip");
    std::fs::write(&zip, b"not really a zip: moto does not run the code").expect("zip");
    let file = file.display().to_string();
    let (code, out, err) = stepback_with(
        &[
            "deploy",
            &file,
            "--stack",
            STACK,
            "--code",
            &zip.display().to_string(),
            "--task-role",
            "arn:aws:iam::123456789012:role/orders-task",
            "--yes",
        ],
        &moto.env(),
        "",
    );
    assert_eq!(code, 0, "deploy: {out}{err}");

    // The stack's functions, served by the real handlers; their AWS calls go to moto through the recorder.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let recorder = Recorder {
        inner: lambdas::tls::https_client(),
        seen: Arc::clone(&seen),
        sent: Arc::clone(&sent),
    };
    let functions_config = config.to_builder().http_client(recorder).build();
    let functions: BTreeMap<String, lambdas::Function> = runtime.block_on(async {
        let resources = aws_sdk_cloudformation::Client::new(&config)
            .describe_stack_resources()
            .stack_name(STACK)
            .send()
            .await
            .expect("stack resources");
        resources
            .stack_resources()
            .iter()
            .filter_map(|r| {
                let action = catalog::ACTIONS.iter().find(|a| {
                    Some(compiler::template::function_id(a).as_str()) == r.logical_resource_id()
                })?;
                let function = lambdas::Function::new(action).expect("a Lambda action");
                Some((r.physical_resource_id()?.to_owned(), function))
            })
            .collect()
    });
    assert!(functions.len() >= 8, "functions: {:?}", functions.keys());
    let moto_addr: SocketAddr = moto
        .endpoint()
        .trim_start_matches("http://")
        .parse()
        .expect("moto's address");
    let listener = rehearsal_front::serve::bind().expect("a loopback port");
    let served =
        rehearsal_front::serve::spawn(listener, functions, &functions_config, Some(moto_addr))
            .expect("the Invoke server");
    let server = served.addr;
    let env: Vec<(&str, String)> = moto
        .env()
        .into_iter()
        .map(|(k, v)| match k {
            "AWS_ENDPOINT_URL" => (k, format!("http://{server}")),
            _ => (k, v),
        })
        .collect();
    let preflight = |extra: &[&str]| {
        let mut args = vec!["preflight", file.as_str(), "--stack", STACK];
        args.extend_from_slice(extra);
        let (code, out, err) = stepback_with(&args, &env, "");
        println!("$ stepback {}\n{out}{err}(exit {code})\n", args.join(" "));
        (code, out, err)
    };

    // Ready: every step that runs is ok; the restore is off with the default input.
    let (code, out, err) = preflight(&["--input", "to_version=v1"]);
    assert_eq!(code, 0, "{out}{err}");
    let expected_ok: Vec<(String, String)> = [
        ("announce", "ok"),
        ("backup_db", "ok"),
        ("hold_scaling", "ok"),
        ("image_host", "ok"),
        ("drain", "ok"),
        ("drain", "ok"),
        ("migrate", "ok"),
        ("migrate", "ok"),
        ("approve_restore", "skipped"),
        ("restore_db", "skipped"),
        ("deploy", "ok"),
        ("deploy", "ok"),
        ("smoke_test", "ok"),
        ("errors_calm", "ok"),
        ("announce_failure", "ok"),
        ("guard", "ok"),
    ]
    .into_iter()
    .map(|(s, v)| (s.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(statuses(&out), expected_ok, "{out}");
    assert!(
        out.contains("would run `registry.local:5000/orders:v1`"),
        "{out}"
    );
    assert!(out.contains("ready: every step"), "{out}");

    // With only the stack: the workflow it was deployed from, which deploy kept in its template, checks the same.
    let args = ["preflight", "--stack", STACK, "--input", "to_version=v1"];
    let (code, by_stack, err) = stepback_with(&args, &env, "");
    println!(
        "$ stepback {}\n{by_stack}{err}(exit {code})\n",
        args.join(" ")
    );
    assert_eq!(code, 0, "{by_stack}{err}");
    assert_eq!(by_stack, out, "--stack alone reads another workflow");
    // A stack that deploy did not make keeps no workflow: said, exit 2.
    let (code, out, err) = stepback_with(&["preflight", "--stack", "not-a-stack"], &env, "");
    assert_eq!(code, 2, "{out}{err}");

    // The tag comes from an input given no value: not yet knowable, which does not fail the preflight.
    let (code, out, err) = preflight(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(
            "not yet knowable  image tag: `image_tag` is known only when the rollback runs"
        ),
        "{out}"
    );
    assert!(
        out.contains("fix: pass --input to_version=... to check it now"),
        "{out}"
    );

    // A stopped database and a deleted target group: exactly those two steps fail, each with its fix.
    runtime.block_on(async {
        aws_sdk_rds::Client::new(&config)
            .stop_db_instance()
            .db_instance_identifier("orders-db")
            .send()
            .await
            .expect("stopped");
        aws_sdk_elasticloadbalancingv2::Client::new(&config)
            .delete_target_group()
            .target_group_arn(&target_group)
            .send()
            .await
            .expect("deleted");
    });
    let (code, out, err) = preflight(&["--input", "to_version=v1"]);
    assert_eq!(code, 1, "{out}{err}");
    let failing: Vec<(String, String)> = statuses(&out)
        .into_iter()
        .filter(|(_, status)| !matches!(status.as_str(), "ok" | "skipped"))
        .collect();
    assert_eq!(
        failing,
        [
            ("backup_db".to_owned(), "not ready".to_owned()),
            ("drain".to_owned(), "missing".to_owned())
        ],
        "{out}"
    );
    assert!(
        out.lines().any(|l| l
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains("not ready RDS instance `orders-db`: stopped, not available")),
        "{out}"
    );
    assert!(
        out.contains("fix: start it or wait until it is available (`aws rds start-db-instance --db-instance-identifier orders-db`"),
        "{out}"
    );
    assert!(out.contains("TargetGroupNotFound"), "{out}");
    assert!(
        out.contains("fix: fix `target_group`: the ARN of an existing target group"),
        "{out}"
    );
    assert!(
        out.contains("not ready: 2 of 13 steps: backup_db, drain"),
        "{out}"
    );

    // What the checks called, through the guard that refuses anything but a read: reads only.
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let called: BTreeSet<String> = seen
        .iter()
        .map(|op| {
            op.as_ref()
                .map_or_else(|| "an unnamed request".to_owned(), |op| op.to_string())
        })
        .collect();
    assert!(
        seen.iter()
            .all(|op| op.as_ref().is_some_and(AwsOperation::reads)),
        "a check sent a request that does not read: {called:?}"
    );
    insta::assert_snapshot!(
        "checks_call_only_reads",
        called.into_iter().collect::<Vec<_>>().join("\n")
    );
    tests::models::assert_accepted(&sent.lock().unwrap_or_else(PoisonError::into_inner));
    // And `stepback preflight`'s own Lambda Invoke of each check (restJson).
    let invoked = served.sent();
    assert!(
        invoked.iter().any(|r| r.operation == "Invoke"),
        "{invoked:?}"
    );
    tests::models::assert_accepted(&invoked);
}

/// Two Deployments of one EKS cluster: `web` in `shop`, which the template's access entry scopes the function's
/// role to, and `console` in a namespace an input names, which no access entry can name before the run.
const EKS_WORKFLOW: &str = r#"version = 1
name = "shop-eks"

[input]
web = { type = "string", default = "web" }
admin_namespace = { type = "string", default = "admin" }

[steps.deploy_web]
action = "eks.deploy"
cluster = "shop-prod"
namespace = "shop"
deployment = "${input.web}"
image_tag = "previous"

[steps.deploy_console]
action = "eks.deploy"
after = ["deploy_web"]
cluster = "shop-prod"
namespace = "${input.admin_namespace}"
deployment = "console"
image_tag = "previous"
"#;

/// `stepback preflight --stack` against an EKS stack deployed in the rehearsal world, its functions served as
/// their roles (AssumeRole in moto) and authorized in the cluster by the stack's access entry, as EKS does: the
/// cluster is ACTIVE and `shop/web` readable with a revision to go back to (ok); `admin/console`, outside the
/// access entry, is denied (403) with its fix; a Deployment that does not exist is missing. Then the rollback runs
/// in the same world: `deploy_web` goes back a revision (its rollout held by `--slow` and polled until it is
/// released), `deploy_console` fails with the 403.
#[test]
fn preflight_checks_eks_steps_as_their_role_through_the_access_entry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("shop-eks.toml");
    std::fs::write(&file, EKS_WORKFLOW).expect("written");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut plan = crate::rehearse::plan_of(&file, &[], &[]);
    // `--slow deploy_web=10m`: the cluster's API server holds its rollout for 2 s (10 min at 300x).
    plan.slow = vec![("deploy_web".to_owned(), Duration::from_secs(10 * 60))];
    let rehearsal = runtime
        .block_on(cli::rehearsal::Rehearsal::prepare(plan, |_| {}))
        .expect("the rehearsal is prepared");
    let env = [
        ("AWS_ENDPOINT_URL", rehearsal.endpoint()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ];
    let preflight = |extra: &[&str]| {
        let mut args = vec!["preflight", "--stack", "shop-eks"];
        args.extend_from_slice(extra);
        let (code, out, err) = stepback_with(&args, &env, "");
        println!("$ stepback {}\n{out}{err}(exit {code})\n", args.join(" "));
        (code, out, err)
    };

    let (code, out, err) = preflight(&[]);
    assert_eq!(code, 1, "{out}{err}");
    let rows = |out: &str| {
        statuses(out)
            .into_iter()
            .filter(|(step, _)| step.starts_with("deploy"))
            .collect::<Vec<_>>()
    };
    let row = |s: &str, v: &str| (s.to_owned(), v.to_owned());
    assert_eq!(
        rows(&out),
        [
            row("deploy_web", "ok"),
            row("deploy_web", "ok"),
            row("deploy_console", "denied")
        ],
        "{out}"
    );
    assert!(
        out.contains("Deployment `shop/web` of EKS cluster `shop-prod`")
            && out.contains("revision 2, 2 replicas")
            && out.contains("what `web` would run: `registry.rehearsal/web:v1`"),
        "{out}"
    );
    let role =
        "cannot get resource \"deployments\" in API group \"apps\" in the namespace \"admin\"";
    assert!(
        out.contains("Kubernetes answered 403") && out.contains(role),
        "{out}"
    );
    assert!(
        out.contains(":role/") && !out.contains("assumed-role"),
        "the cluster names the function's role: {out}"
    );
    assert!(
        out.contains("name this one in the step (not from an input)"),
        "{out}"
    );
    assert!(
        out.contains("not ready: 1 of 3 steps: deploy_console"),
        "{out}"
    );

    // A Deployment that does not exist: missing, with its fix.
    let (code, out, err) = preflight(&["--input", "web=gone"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(rows(&out)[0], row("deploy_web", "missing"), "{out}");
    assert!(
        out.contains("Kubernetes answered 404")
            && out.contains("deployments.apps \"gone\" not found"),
        "{out}"
    );
    assert!(
        out.contains("fix: fix `namespace` or `deployment`"),
        "{out}"
    );

    // The rollback in the same world: the access entry lets `deploy_web` in, not `deploy_console`.
    runtime.block_on(async {
        let mut web = Vec::new();
        let outcome = rehearsal
            .run(
                |_| None,
                |event| {
                    if let Event::Step { step, event, elapsed } = event
                        && step == "deploy_web"
                    {
                        web.push((event, elapsed));
                    }
                },
            )
            .await
            .expect("the rehearsal runs");
        assert!(!outcome.succeeded);
        // Held, the rollout is polled until its 2 s are up, then done.
        let at = |wanted: StepEvent| {
            web.iter()
                .find(|(event, _)| *event == wanted)
                .map(|(_, elapsed)| *elapsed)
        };
        let (started, done) = (at(StepEvent::Started), at(StepEvent::Succeeded));
        assert!(
            started.zip(done).is_some_and(|(s, d)| d - s >= Duration::from_secs(2)),
            "{web:?}"
        );
        assert!(
            web.iter().any(|(event, _)| matches!(event, StepEvent::Polled(n) if *n > 1)),
            "{web:?}"
        );
        let failure = outcome.report.failure.as_ref().expect("a failure");
        assert_eq!(failure.step.as_deref(), Some("deploy_console"), "{failure:?}");
        let cause = failure.cause.as_deref().unwrap_or_default();
        assert!(cause.contains("Kubernetes answered 403") && cause.contains(role), "{cause}");
        let state: Vec<String> = rehearsal
            .world_state()
            .await
            .into_iter()
            .filter(|line| line.resource.starts_with("Deployment"))
            .map(|line| format!("{}: {}", line.resource, line.state))
            .collect();
        assert_eq!(
            state,
            [
                "Deployment admin/console of EKS cluster shop-prod: revision 2, runs registry.rehearsal/console:v2",
                "Deployment shop/web of EKS cluster shop-prod: revision 3, runs registry.rehearsal/web:v1",
            ],
            "{state:#?}"
        );
        tests::models::assert_accepted(&rehearsal.sent());
    });
}
