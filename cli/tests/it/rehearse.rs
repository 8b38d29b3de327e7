//! `stepback rehearse`: the examples run whole in moto's interpreter with the real handlers, and moto's state
//! afterwards. Each rehearsal starts its own moto (its interpreter must know the rehearsal's Lambda port at
//! start), so the cases are few and each checks much.

use std::path::Path;
use std::time::Duration;

use audit::StepEvent;
use cli::approval::Decision;
use cli::rehearsal::{Event, Outcome, Plan, Rehearsal};
use serde_json::Value;

use crate::{root, stepback_with};

pub fn plan(example: &str, inputs: &[(&str, &str)], fail: &[(&str, &str)]) -> Plan {
    plan_of(&Path::new("examples").join(example), inputs, fail)
}

/// The plan of the workflow at `path`, from the workspace's root.
pub fn plan_of(path: &Path, inputs: &[(&str, &str)], fail: &[(&str, &str)]) -> Plan {
    let source = std::fs::read_to_string(root().join(path)).expect("the workflow");
    let workflow = workflow::check(&source).workflow.expect("a valid example");
    let inputs: Vec<(String, String)> = inputs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let input = cli::execution::build_input(&workflow, &inputs, None).expect("a valid input");
    Plan {
        workflow,
        source,
        input,
        speed: cli::rehearsal::DEFAULT_SPEED,
        endpoint: None,
        fail: fail
            .iter()
            .map(|(s, e)| {
                let error = catalog::ErrorName::from_name(e).expect("an error name");
                ((*s).to_owned(), error)
            })
            .collect(),
        slow: Vec::new(),
        chaos: None,
        breach: Vec::new(),
        lambda_port: None,
    }
}

/// A step's event, and when it happened after the execution started.
type Seen = (String, StepEvent, Duration);

/// Prepares the rehearsal, lets `before` look at the world, then runs it: approving every approval but `reject`.
/// `after` sees the steps' events too; then every request the handlers sent goes through the model check.
fn rehearse<T>(
    plan: Plan,
    reject: Option<&str>,
    before: impl AsyncFnOnce(&Rehearsal) -> T,
    after: impl AsyncFnOnce(&Rehearsal, &Outcome, T, Vec<Seen>),
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let rehearsal = Rehearsal::prepare(plan, |_| {})
            .await
            .expect("the rehearsal is prepared");
        let seen = before(&rehearsal).await;
        let mut steps = Vec::new();
        let outcome = rehearsal
            .run(
                |step| {
                    Some(if Some(step) == reject {
                        Decision::Reject
                    } else {
                        Decision::Approve
                    })
                },
                |event| {
                    if let Event::Step {
                        step,
                        event,
                        elapsed,
                    } = event
                    {
                        steps.push((step, event, elapsed));
                    }
                },
            )
            .await
            .expect("the rehearsal runs");
        after(&rehearsal, &outcome, seen, steps).await;
        tests::models::assert_accepted(&rehearsal.sent());
    });
}

/// The seed rollback with the default input, as the README's first command runs it: every step that runs
/// succeeds, and moto shows one snapshot, the service on the previous revision and the targets registered again.
/// The output, times masked, is stable; every request the process's handlers sent passes the model check.
#[test]
fn the_seed_rehearses_to_success() {
    let (code, out, err) = rehearse_checked(&[
        "rehearse",
        "examples/webapp-rollback.toml",
        "--approve",
        "all",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    in_dependency_order(&out, "examples/webapp-rollback.toml");
    insta::assert_snapshot!(mask(&out));
}

/// Runs `stepback rehearse` as a process (`args`), then puts every request its handlers sent, and each Lambda
/// Invoke, through the model check (`STEPBACK_SAVE_REQUESTS`).
fn rehearse_checked(args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let saved = dir.path().join("requests.json");
    let (code, out, err) = stepback_with(
        args,
        &[("STEPBACK_SAVE_REQUESTS", saved.display().to_string())],
        "",
    );
    let text = std::fs::read_to_string(&saved).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let requests: Vec<Value> = serde_json::from_str(&text).expect("the requests as JSON");
    assert!(
        requests.iter().any(|r| r["operation"] == "Invoke")
            && requests.iter().any(|r| r["service"] == "rds"),
        "{requests:?}"
    );
    tests::models::assert_accepted(&requests);
    (code, out, err)
}

/// The progress lines of `out` (which the snapshot sorts) as they came: every step's first line after the last
/// line of each step it comes after, a step's own lines in order (running, polling, done), and a skipped step
/// only `skipped`.
fn in_dependency_order(out: &str, workflow: &str) {
    let source = std::fs::read_to_string(root().join(workflow)).expect("the workflow");
    let workflow = workflow::check(&source).workflow.expect("a valid workflow");
    let lines: Vec<(String, String)> = out
        .lines()
        .skip_while(|l| !l.starts_with("execution "))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            // elapsed, simulated, step, event; an approval's answer is `step: approved`.
            (words.len() >= 4).then(|| (words[2].to_owned(), words[3..].join(" ")))
        })
        .collect();
    let at = |step: &str| -> Vec<usize> {
        lines
            .iter()
            .enumerate()
            .filter(|(_, (s, _))| s == step)
            .map(|(i, _)| i)
            .collect()
    };
    for step in &workflow.steps {
        let own = at(&step.id);
        let events: Vec<&str> = own.iter().map(|&i| lines[i].1.as_str()).collect();
        let Some(&first) = own.first() else { continue };
        match events.last().copied() {
            Some("skipped") => assert_eq!(events, ["skipped"], "{}", step.id),
            Some("done") => {
                assert_eq!(events.first().copied(), Some("running"), "{}", step.id);
            }
            other => panic!("{} ended {other:?}: {events:?}", step.id),
        }
        for after in &step.after {
            let Some(&last) = at(after).last() else {
                panic!("{} ran before {after} was seen", step.id)
            };
            assert!(
                last < first,
                "{} started (line {first}) before {after} ended (line {last}):\n{out}",
                step.id
            );
        }
    }
}

/// The seed before it halted at the listener fails in the rehearsal where AWS fails it: its migration, which has
/// no network, is refused (ECS: a network configuration "is required for task definitions that use the awsvpc
/// network mode"); and its `undrain` puts back the addresses of the tasks that the deploy replaced, which no
/// longer exist (ECS registers and deregisters a service's tasks itself), instead of waiting 30 minutes for
/// them to become healthy. The examples as they are now rehearse green (the tests above and below).
#[test]
fn the_seed_that_drained_a_service_fails_where_aws_would() {
    let old = root().join("cli/tests/data/seed-draining-a-service.toml");
    for (inputs, step, expected) in [
        (&[][..], "undrain", "no longer exist"),
        (
            &[("schema_changed", "true")][..],
            "migrate_down",
            "the task runs in the awsvpc network mode",
        ),
    ] {
        rehearse(
            plan_of(&old, inputs, &[]),
            None,
            async |_| {},
            async |_, outcome, (), _| {
                let failure = outcome.report.failure.as_ref().expect("a failure");
                assert_eq!(failure.step.as_deref(), Some(step), "{failure:?}");
                let cause = failure.cause.as_deref().unwrap_or_default();
                assert!(cause.contains(expected), "{step}: {cause}");
            },
        );
    }
}

/// The EC2 example: an AMI of the host, the two Run Command steps, the smoke test against the world's web app.
#[test]
fn the_ec2_example_rehearses_to_success() {
    rehearse(
        plan(
            "ec2-compose-rollback.toml",
            &[("to_version", "v3.1.1")],
            &[],
        ),
        None,
        async |_| (),
        async |rehearsal, outcome, (), _| {
            assert_succeeded(outcome);
            let config = &rehearsal.session.config;
            let images = lambdas::ec2::Client::new(config)
                .describe_own_images(&[])
                .await
                .expect("images");
            assert_eq!(images.len(), 1, "one AMI: {images:?}");
            let commands = aws_sdk_ssm::Client::new(config)
                .list_commands()
                .send()
                .await
                .expect("commands");
            assert_eq!(
                commands.commands().len(),
                2,
                "compose_previous and restart_web"
            );
        },
    );
}

/// `--input restore_data=true --approve all` restores through the swap: the original instance is renamed and
/// kept, and the restored one carries the original name.
#[test]
fn a_restore_swaps_the_instances() {
    rehearse(
        plan(
            "webapp-rollback.toml",
            &[
                ("restore_data", "true"),
                ("restore_snapshot", "webapp-db-0312"),
            ],
            &[],
        ),
        None,
        async |_| (),
        async |rehearsal, outcome, (), _| {
            assert_succeeded(outcome);
            let rds = aws_sdk_rds::Client::new(&rehearsal.session.config);
            let instances = rds.describe_db_instances().send().await.expect("instances");
            let mut ids: Vec<&str> = instances
                .db_instances()
                .iter()
                .filter_map(|i| i.db_instance_identifier())
                .collect();
            ids.sort_unstable();
            assert_eq!(ids.len(), 2, "{ids:?}");
            assert_eq!(ids[0], "webapp-db");
            assert!(ids[1].starts_with("webapp-db-pre-rollback-"), "{ids:?}");
            let restored = instances
                .db_instances()
                .iter()
                .find(|i| i.db_instance_identifier() == Some("webapp-db"))
                .expect("webapp-db");
            assert_ne!(
                restored.db_instance_arn(),
                instances
                    .db_instances()
                    .iter()
                    .find(|i| i.db_instance_identifier() == Some(ids[1]))
                    .and_then(|i| i.db_instance_arn()),
                "the restored instance is another instance"
            );
        },
    );
}

/// The EKS example, as a user runs it (`to_version = "previous"`, what `kubectl rollout undo` does): every step
/// succeeds and the Deployment runs the revision before the bad release again, as a new revision.
#[test]
fn the_eks_example_rehearses_to_success() {
    rehearse(
        plan("eks-rollback.toml", &[], &[]),
        None,
        async |_| (),
        async |rehearsal, outcome, (), _| {
            assert_succeeded(outcome);
            let deployments: Vec<String> = rehearsal
                .world_state()
                .await
                .into_iter()
                .filter(|line| line.resource.starts_with("Deployment"))
                .map(|line| format!("{}: {}", line.resource, line.state))
                .collect();
            assert_eq!(
                deployments,
                [
                    "Deployment shop/web of EKS cluster shop-prod: revision 3, runs registry.rehearsal/web:v1"
                ],
                "{deployments:#?}"
            );
        },
    );
}

/// The Aurora example with `--input restore_data=true --approve all`: the world seeds the cluster with its writer
/// and the known-good cluster snapshot; the restore makes a new cluster and its writer, and the swap leaves the
/// original cluster renamed and kept, and the restored one (tagged by the rollback) carrying the original name.
#[test]
fn an_aurora_restore_swaps_the_clusters() {
    rehearse(
        plan("aurora-rollback.toml", &[("restore_data", "true")], &[]),
        None,
        async |_| (),
        async |rehearsal, outcome, (), _| {
            assert_succeeded(outcome);
            let rds = aws_sdk_rds::Client::new(&rehearsal.session.config);
            let clusters = rds.describe_db_clusters().send().await.expect("clusters");
            let mut ids: Vec<&str> = clusters
                .db_clusters()
                .iter()
                .filter_map(|c| c.db_cluster_identifier())
                .collect();
            ids.sort_unstable();
            assert_eq!(ids.len(), 2, "{ids:?}");
            assert_eq!(ids[0], "orders-aurora");
            assert!(ids[1].starts_with("orders-aurora-pre-rollback-"), "{ids:?}");
            let restored_by_the_rollback = |id: &str| {
                clusters
                    .db_clusters()
                    .iter()
                    .find(|c| c.db_cluster_identifier() == Some(id))
                    .is_some_and(|c| {
                        c.tag_list()
                            .iter()
                            .any(|t| t.key() == Some("stepback:execution"))
                    })
            };
            assert!(restored_by_the_rollback("orders-aurora"));
            assert!(!restored_by_the_rollback(ids[1]), "the original is kept");
            // The writers: the world's, and the restored cluster's, named as the cluster it was created in.
            let instances = rds.describe_db_instances().send().await.expect("instances");
            let mut writers: Vec<&str> = instances
                .db_instances()
                .iter()
                .filter_map(|i| i.db_instance_identifier())
                .collect();
            writers.sort_unstable();
            assert_eq!(writers.len(), 2, "{writers:?}");
            assert!(writers[0].starts_with("orders-aurora-rb-"), "{writers:?}");
            assert_eq!(writers[1], "orders-aurora-writer");
        },
    );
}

/// `--slow backup_db=10m` holds the snapshot `creating` for 10 simulated minutes: the step polls it again and
/// again (it is done at the first poll when not slowed, as the seed's snapshot shows), and still takes exactly
/// one snapshot (moto adds an automated one of its own when it creates the instance).
#[test]
fn a_slowed_step_polls_until_its_time_is_up() {
    let mut slowed = plan("webapp-rollback.toml", &[], &[]);
    slowed.slow = vec![("backup_db".to_owned(), Duration::from_secs(10 * 60))];
    rehearse(
        slowed,
        None,
        async |_| (),
        async |rehearsal, outcome, (), steps| {
            assert_succeeded(outcome);
            let polls = steps
                .iter()
                .filter_map(|(step, event, _)| match event {
                    StepEvent::Polled(n) if step == "backup_db" => Some(*n),
                    _ => None,
                })
                .max()
                .unwrap_or(0);
            assert!(polls > 1, "backup_db polled {polls} times: {steps:?}");
            let snapshots = aws_sdk_rds::Client::new(&rehearsal.session.config)
                .describe_db_snapshots()
                .snapshot_type("manual")
                .send()
                .await
                .expect("snapshots");
            // The rollback's own; the world holds the example's known-good snapshot besides.
            let taken = snapshots
                .db_snapshots()
                .iter()
                .filter(|s| {
                    s.tag_list()
                        .iter()
                        .any(|t| t.key() == Some("stepback:execution"))
                })
                .count();
            assert_eq!(taken, 1, "{snapshots:?}");
        },
    );
}

/// `--slow` on a step whose action polls no AWS status is a usage error naming the steps it can hold.
#[test]
fn slow_names_the_steps_it_can_hold() {
    let (code, out, err) = stepback_with(
        &[
            "rehearse",
            "examples/webapp-rollback.toml",
            "--slow",
            "announce=10m",
        ],
        &[],
        "",
    );
    assert_eq!(code, 1, "{out}{err}");
    insta::assert_snapshot!(err, @"
    error: --slow announce: step `announce` polls no AWS status that --slow can hold in progress
      help: the steps --slow can hold are backup_db, migrate_down, deploy
    ");
}

/// `--fail deploy=Stepback.Transient` and `--reject approve_restore` run the failure path: `announce_failure`
/// publishes a message that names the step, which an SQS queue subscribed to the topic receives. `--fail` fails
/// the step's AWS calls, and the handler reports the AWS error it got; the transient error is retried as the
/// step's `Retry` says, and the progress shows each attempt.
#[test]
fn a_failure_is_announced_naming_the_step() {
    for (step, inputs, fail, reject) in [
        (
            "deploy",
            &[][..],
            &[("deploy", "Stepback.Transient")][..],
            None,
        ),
        (
            "approve_restore",
            &[
                ("restore_data", "true"),
                ("restore_snapshot", "webapp-db-0312"),
            ][..],
            &[][..],
            Some("approve_restore"),
        ),
    ] {
        rehearse(
            plan("webapp-rollback.toml", inputs, fail),
            reject,
            async |rehearsal| subscribe(rehearsal).await,
            async |rehearsal, outcome, queue, steps| {
                assert!(!outcome.succeeded, "{step}");
                let retried: Vec<u32> = steps
                    .iter()
                    .filter_map(|(s, e, _)| match e {
                        StepEvent::Retried(attempt) if s == step => Some(*attempt),
                        _ => None,
                    })
                    .collect();
                let expected: &[u32] = if step == "deploy" { &[2, 3, 4] } else { &[] };
                assert_eq!(retried, expected, "{step}: {steps:?}");
                let failure = outcome.report.failure.as_ref().expect("a failure");
                assert_eq!(failure.step.as_deref(), Some(step));
                if let [(_, error)] = fail {
                    assert_eq!(failure.error.as_deref(), Some(*error));
                    let cause = failure.cause.as_deref().unwrap_or_default();
                    assert!(
                        cause.contains("AWS answered ServiceUnavailable (HTTP 503)")
                            && cause.contains("failed by `stepback rehearse --fail deploy`"),
                        "{cause}"
                    );
                }
                let messages = received(rehearsal, &queue).await;
                assert!(
                    messages
                        .iter()
                        .any(|m| m.starts_with(&format!("Step {step} failed: "))),
                    "{step}: {messages:#?}"
                );
                // A person's failure notice holds the AWS error as one readable line, never the SDK's debug dump.
                for message in messages.iter().filter(|m| m.contains(" failed: ")) {
                    assert!(
                        !message.contains('\n')
                            && message.len() < 1024
                            && !message.contains("HttpResponse")
                            && !message.contains("SdkBody"),
                        "{message}"
                    );
                }
            },
        );
    }
}

/// Two services rolled back side by side, the worker's rollback failing (`--fail rollback_worker`): the web
/// service's rollback runs to its end, the world shows web on the old release and the worker on the new one, and
/// the page says so: `${failure.completed}` lists the web rollback with what it deployed, and no worker.
#[test]
fn the_page_says_which_rollback_was_done() {
    let plan = plan_of(
        Path::new("cli/tests/data/rehearse/web-and-worker.toml"),
        &[],
        &[("rollback_worker", "Stepback.Failed")],
    );
    rehearse(
        plan,
        None,
        async |rehearsal| {
            subscribe_to(rehearsal, "arn:aws:sns:us-east-1:123456789012:webapp-ops").await
        },
        async |rehearsal, outcome, queue, _| {
            let failure = outcome.report.failure.as_ref().expect("a failure");
            assert_eq!(failure.step.as_deref(), Some("rollback_worker"));
            let runs = |service: &str, world: &[cli::world::StateLine]| {
                world
                    .iter()
                    .find(|l| l.resource == format!("ECS service prod/{service}"))
                    .map(|l| l.state.clone())
                    .unwrap_or_default()
            };
            let world = rehearsal.world_state().await;
            let [old, new] = cli::world::IMAGE_TAGS;
            assert!(
                runs("webapp-web", &world).ends_with(&format!(":{old})")),
                "{world:#?}"
            );
            assert!(
                runs("webapp-worker", &world).ends_with(&format!(":{new})")),
                "{world:#?}"
            );
            // What a person rehearsing sees: the world's state shows what the topic delivered.
            let delivered: Vec<&str> = world
                .iter()
                .filter(|l| l.resource == "SNS topic webapp-ops delivered")
                .map(|l| l.state.as_str())
                .collect();
            let page = received(rehearsal, &queue).await;
            assert_eq!(
                delivered,
                page.iter()
                    .map(|p| format!("Rollback FAILED at rollback_worker: {p}"))
                    .collect::<Vec<_>>(),
                "{world:#?}"
            );
            let [page] = page.as_slice() else {
                panic!("one page: {page:#?}")
            };
            assert_eq!(
                page,
                &format!(
                    "rollback_worker failed: Stepback.Failed. Done before it: [rollback_web: ecs.deploy \
                     prod/webapp-web → image_tag {old}, task_definition_before webapp-web:2, \
                     task_definition_after webapp-web:1]"
                )
            );
        },
    );
}

/// An SQS queue subscribed to the example's topic; its URL.
async fn subscribe(rehearsal: &Rehearsal) -> String {
    subscribe_to(
        rehearsal,
        "arn:aws:sns:us-east-1:123456789012:webapp-deploys",
    )
    .await
}

/// An SQS queue subscribed to `topic`; its URL.
async fn subscribe_to(rehearsal: &Rehearsal, topic: &str) -> String {
    let config = &rehearsal.session.config;
    let sqs = aws_sdk_sqs::Client::new(config);
    let url = sqs
        .create_queue()
        .queue_name("announcements")
        .send()
        .await
        .expect("a queue")
        .queue_url()
        .expect("its URL")
        .to_owned();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("its attributes")
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("its ARN");
    aws_sdk_sns::Client::new(config)
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .expect("subscribed");
    url
}

/// The messages published to the topic, as the queue received them.
async fn received(rehearsal: &Rehearsal, queue: &str) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(&rehearsal.session.config);
    let mut messages = Vec::new();
    for _ in 0..5 {
        let got = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("messages");
        if got.messages().is_empty() && !messages.is_empty() {
            break;
        }
        for message in got.messages() {
            let envelope: Value =
                serde_json::from_str(message.body().unwrap_or("null")).unwrap_or(Value::Null);
            messages.push(envelope["Message"].as_str().unwrap_or_default().to_owned());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    messages
}

/// Times, ports, execution names and generated ids vary from run to run, and so does the order in which the
/// steps of parallel branches are seen: those are masked, and the step lines sorted.
fn mask(text: &str) -> String {
    let mut lines: Vec<String> = text
        .lines()
        .map(mask_line)
        // The critical path as it happened: which of the fast branches (the halt, the snapshot) ran longest is
        // down to timing.
        .map(|line| match line.split_once("[·] of [·]: ") {
            Some((indent, _)) if indent.trim().is_empty() => format!("{indent}[·] of [·]: [·]"),
            _ => line,
        })
        .collect();
    let first = lines
        .iter()
        .position(|l| l.starts_with("execution "))
        .map_or(0, |i| i + 1);
    let last = lines
        .iter()
        .position(|l| l.starts_with("succeeded in "))
        .unwrap_or(first);
    if first < last {
        // Right-aligned times: the indent follows their width.
        for line in &mut lines[first..last] {
            *line = format!("  {}", line.trim_start());
        }
        lines[first..last].sort();
    }
    // Which parallel branch before `deploy` ended last (its `after` steps were skipped) is down to timing.
    if let Some(path) = lines
        .iter()
        .position(|l| l == "Critical path, as it happened")
        .and_then(|i| lines.get_mut(i + 1))
        && let Some((_, rest)) = path.split_once(" -> deploy ")
    {
        *path = format!("  [·] of [·]: [·] -> deploy {rest}");
    }
    lines.join("\n")
}

/// The line with each varying word masked and the space between words (whose padding follows their widths)
/// reduced to one.
fn mask_line(line: &str) -> String {
    let indent = line.len() - line.trim_start().len();
    let mut out = " ".repeat(indent);
    for (i, word) in line.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let core = word.trim_matches(|c: char| "(),;:\"[]".contains(c));
        // A generated id: a long hex run with a digit, or a name's hex suffix (`stepback-webapp-db-cafdcdda`),
        // which may have none.
        let hex_run = core
            .split(|c: char| !c.is_ascii_hexdigit())
            .any(|run| run.len() >= 8 && run.chars().any(|c| c.is_ascii_digit()))
            || core.rsplit_once('-').is_some_and(|(_, suffix)| {
                suffix.len() == 8 && suffix.chars().all(|c| c.is_ascii_hexdigit())
            });
        let duration = core.chars().any(|c| c.is_ascii_digit())
            && core.chars().any(|c| "msh".contains(c))
            && core
                .trim_start_matches(['+', '-'])
                .chars()
                .all(|c| c.is_ascii_digit() || ".msh".contains(c));
        let latency = line.trim_start().starts_with("latency_ms =") && i == 2;
        // Which of the fast steps ran longest against its estimate is down to timing.
        let longest = line
            .trim_start()
            .starts_with("longest against its estimate:")
            && i == 4;
        let varying = latency
            || longest
            || hex_run
            || duration
            || core.contains("127.0.0.1:")
            || core.contains("2026-")
            || core.starts_with("i-")
            // A task's address, which the emulator picks.
            || core.parse::<std::net::Ipv4Addr>().is_ok();
        if varying {
            out.push_str(&word.replace(core, "[·]"));
        } else {
            out.push_str(word);
        }
    }
    out.trim_end().to_owned()
}

/// Four workflows written as users outside this repo write them (`cli/tests/data/rehearse`), rehearsed one after
/// another against one moto started as the README says and reached with `--endpoint`: each rehearsal after the
/// first runs in an emulator that an earlier one used.
#[test]
fn workflows_from_outside_rehearse_to_success_in_one_emulator() {
    let lambda_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let tasks = cli::world::SERVICE_TASKS.to_string();
    let moto = emulator::Moto::start(&[
        ("MOTO_PORT", &lambda_port.to_string()),
        ("MOTO_ECS_SERVICE_RUNNING", &tasks),
    ])
    .expect("moto starts");
    let on_moto = |file: &str, inputs: &[(&str, &str)]| {
        let mut plan = plan_of(
            &Path::new("cli/tests/data/rehearse").join(file),
            inputs,
            &[],
        );
        plan.endpoint = Some(moto.endpoint());
        plan.lambda_port = Some(lambda_port);
        plan
    };
    legacy_ec2(on_moto("legacy-ec2.toml", &[("to_version", "v2.3.0")]));
    fleet(on_moto("fleet.toml", &[]));
    django(on_moto("django.toml", &[]));
    migration(on_moto("migration.toml", &[]));
    // `--breach`: the log lines a check.logs step looks for, and alarms in ALARM for a check.alarms step.
    for (file, step, topic) in [
        ("fleet.toml", "no_errors", "fleet-ops"),
        ("django.toml", "alarms_ok", "shop-ops"),
    ] {
        let mut plan = on_moto(file, &[]);
        plan.breach = vec![step.to_owned()];
        breached(
            plan,
            step,
            &format!("arn:aws:sns:us-east-1:123456789012:{topic}"),
        );
    }
}

/// A breached check fails, and the failure path runs and says so: the audit, the progress line (what
/// `start --follow` prints too) and the notice that `tell` publishes each name the error and the cause.
fn breached(plan: Plan, step: &str, topic: &str) {
    rehearse(
        plan,
        None,
        async |rehearsal| subscribe_to(rehearsal, topic).await,
        async |rehearsal, outcome, queue, steps| {
            assert!(!outcome.succeeded, "{step}");
            let failure = outcome.report.failure.as_ref().expect("a failure");
            assert_eq!(failure.step.as_deref(), Some(step));
            let error = failure.error.as_deref().unwrap_or_default();
            let cause = failure.cause.as_deref().unwrap_or_default();
            // check.logs fails in its one call, naming the lines; check.alarms waits for OK until its timeout,
            // and says what its last poll saw.
            if step == "no_errors" {
                assert!(
                    cause.contains("(written by stepback rehearse --breach no_errors)"),
                    "{cause}"
                );
            } else {
                assert_eq!(error, "Stepback.Timeout");
                let (within, saw) = cause
                    .split_once("; the last poll saw: ")
                    .unwrap_or_else(|| panic!("{cause}"));
                assert!(
                    within.starts_with(&format!("{step} did not finish within "))
                        && within.ends_with(" polls)"),
                    "{cause}"
                );
                assert!(saw.contains("ALARM"), "{cause}");
            }
            let shown: Vec<String> = steps
                .iter()
                .filter(|(s, e, _)| s == step && matches!(e, StepEvent::Failed(_)))
                .map(|(_, e, _)| e.to_string())
                .collect();
            assert_eq!(shown, [format!("failed: {error}: {cause}")]);
            assert_eq!(
                received(rehearsal, &queue).await,
                [format!("Step {step} failed: {error}: {cause}")]
            );
            let told = outcome.report.steps.iter().find(|s| s.id == "tell");
            assert_eq!(
                told.map(|s| s.outcome),
                Some(audit::report::Outcome::Succeeded),
                "{step}"
            );
        },
    );
}

/// What the world's state says of the EC2 images made (`none`, or `<count>: <ids>`).
async fn images_line(rehearsal: &Rehearsal) -> String {
    let world = rehearsal.world_state().await;
    world
        .iter()
        .find(|l| l.resource == "EC2 images")
        .unwrap_or_else(|| panic!("{world:#?}"))
        .state
        .clone()
}

/// Fails with the audit unless the rehearsal succeeded.
fn assert_succeeded(outcome: &Outcome) {
    assert!(
        outcome.succeeded,
        "{}",
        audit::render::text(&outcome.report)
    );
}

/// The step's output `name`.
fn output<'o>(outcome: &'o Outcome, step: &str, name: &str) -> &'o Value {
    outcome
        .report
        .steps
        .iter()
        .find(|s| s.id == step)
        .and_then(|s| s.outputs.get(name))
        .unwrap_or(&Value::Null)
}

/// The host's id is an input's default: the world makes one instance for it, and the execution's input names
/// that instance. The commands SSM received are in the world's state; the progress clock starts with the
/// execution.
fn legacy_ec2(plan: Plan) {
    rehearse(
        plan,
        None,
        async |_| (),
        async |rehearsal, outcome, (), steps| {
            assert_succeeded(outcome);
            let host = rehearsal
                .renames()
                .get("i-0123456789abcdef0")
                .expect("the default's instance is the world's")
                .clone();
            let audit::report::Trigger::Manual { inputs } = &outcome.report.trigger else {
                panic!("{:?}", outcome.report.trigger)
            };
            let given = inputs.iter().find(|i| i.name == "instance_id");
            assert_eq!(given.map(|i| &i.value), Some(&Value::from(host.clone())));
            let instances = lambdas::ec2::Client::new(&rehearsal.session.config)
                .describe_instances(&[], &[])
                .await
                .expect("instances");
            let ids: Vec<&str> = instances.iter().map(|i| i.instance_id.as_str()).collect();
            assert_eq!(ids, [host.as_str()], "one instance, named by two steps");
            let image = images_line(rehearsal).await;
            assert!(
                image.starts_with("1: ami-") && !image.contains(','),
                "{image}"
            );
            let world = rehearsal.world_state().await;
            let script = world
                .iter()
                .find(|l| l.resource == "SSM command from compose_previous")
                .unwrap_or_else(|| panic!("{world:#?}"));
            // The script as SSM received it: the workflow's lines, the input's value apart from the text.
            assert_eq!(
                script.state,
                r#"STEPBACK_VALUE_1='v2.3.0'
cd /srv/app
sed -i 's/:v[0-9.]*$/:'"${STEPBACK_VALUE_1}"'/' docker-compose.yml
docker-compose pull
docker-compose up -d"#
            );
            // A CPU share under 70%: half of it.
            assert_eq!(output(outcome, "cpu_settled", "value"), &Value::from(35.0));
            // The first step's progress line is when the history says it started (to the millisecond, which the
            // audit rounds), not when the rehearsal saw it.
            let (step, _, elapsed) = steps.first().expect("a step event");
            let record = outcome.report.steps.iter().find(|s| &s.id == step);
            let started =
                record.and_then(|s| s.start).expect("its start") - outcome.report.execution.start;
            let shown = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
            assert!(
                (shown - started).abs() <= 1,
                "{step}: shown at {shown} ms, started at {started} ms"
            );
        },
    );
}

/// Two hosts named by the workflow: the target group holds them (not other instances), the command reports on
/// them (not on every instance moto knows), the p99 latency is read (moto has no percentiles) and is a latency,
/// and the Auto Scaling group is resumed.
fn fleet(plan: Plan) {
    rehearse(
        plan,
        None,
        // Two more instances that the workflow does not name.
        async |rehearsal| {
            lambdas::ec2::Client::new(&rehearsal.session.config)
                .run_instances("ami-12c6146b", 2)
                .await
                .expect("two other instances");
        },
        async |rehearsal, outcome, (), _| {
            assert_succeeded(outcome);
            let renames = rehearsal.renames();
            let hosts: Vec<String> = ["i-0aaaaaaaaaaaaaaa1", "i-0bbbbbbbbbbbbbbb2"]
                .iter()
                .map(|h| renames.get(*h).expect("a host of the world").clone())
                .collect();
            assert_eq!(
                output(outcome, "drain", "targets"),
                &Value::from(hosts.clone())
            );
            let config = &rehearsal.session.config;
            let group = renames
                .get("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/fleet/0123456789abcdef")
                .expect("the world's target group");
            let health = aws_sdk_elasticloadbalancingv2::Client::new(config)
                .describe_target_health()
                .target_group_arn(group)
                .send()
                .await
                .expect("the targets");
            let mut registered: Vec<&str> = health
                .target_health_descriptions()
                .iter()
                .filter_map(|d| d.target().and_then(|t| t.id()))
                .collect();
            registered.sort_unstable();
            let mut expected: Vec<&str> = hosts.iter().map(String::as_str).collect();
            expected.sort_unstable();
            assert_eq!(registered, expected);
            let ran = output(outcome, "switch", "output")
                .as_str()
                .unwrap_or_default();
            assert_eq!(ran.matches("== i-").count(), 2, "{ran}");
            assert!(
                hosts
                    .iter()
                    .all(|h| ran.contains(&format!("== {h}: Success =="))),
                "{ran}"
            );
            assert_eq!(output(outcome, "latency", "value"), &Value::from(0.4));
            let groups = aws_sdk_autoscaling::Client::new(config)
                .describe_auto_scaling_groups()
                .auto_scaling_group_names("fleet-asg")
                .send()
                .await
                .expect("the group");
            let group = groups.auto_scaling_groups().first().expect("fleet-asg");
            assert!(group.suspended_processes().is_empty(), "{group:?}");
            // No step made an image: the world's state says so, not `EC2 images 0: `.
            assert_eq!(images_line(rehearsal).await, "none");
        },
    );
}

/// Web and worker services, the migration on the web service's task definition: the deploy's `before` is the
/// revision the world runs (the migration registers none), and both services end on `v1`.
fn django(plan: Plan) {
    rehearse(
        plan,
        None,
        async |_| (),
        async |rehearsal, outcome, (), _| {
            assert_succeeded(outcome);
            let before = output(outcome, "deploy_web", "task_definition_before");
            assert!(
                before.as_str().is_some_and(|b| b.ends_with("/shop-web:2")),
                "{before}"
            );
            assert_eq!(
                output(outcome, "migrate_back", "exit_code"),
                &Value::from(0)
            );
            let families = aws_sdk_ecs::Client::new(&rehearsal.session.config)
                .list_task_definitions()
                .family_prefix("shop-web")
                .send()
                .await
                .expect("task definitions");
            assert_eq!(families.task_definition_arns().len(), 2, "{families:?}");
            let world = rehearsal.world_state().await;
            for service in ["shop-web", "shop-worker"] {
                let line = world
                    .iter()
                    .find(|l| l.resource == format!("ECS service shop/{service}"))
                    .unwrap_or_else(|| panic!("{world:#?}"));
                assert_eq!(
                    line.state,
                    format!("runs {service}:1 (registry.rehearsal/{service}:v1)")
                );
            }
        },
    );
}

/// A one-off Fargate task that names its own subnets and security group (no service): the world makes them in
/// its VPC, RunTask is sent with the world's ids, and the task runs in one of them and exits 0.
fn migration(plan: Plan) {
    rehearse(
        plan,
        None,
        async |_| (),
        async |rehearsal, outcome, (), _| {
            assert_succeeded(outcome);
            assert_eq!(
                output(outcome, "migrate_back", "exit_code"),
                &Value::from(0)
            );
            let renames = rehearsal.renames();
            let world = |id: &str| {
                renames
                    .get(id)
                    .unwrap_or_else(|| panic!("the world made {id}: {renames:?}"))
                    .clone()
            };
            let subnets = [
                world("subnet-0a1b2c3d4e5f60718"),
                world("subnet-0f1e2d3c4b5a69788"),
            ];
            let sent = rehearsal.sent();
            let run = sent
                .iter()
                .find(|r| r.operation == "RunTask")
                .expect("RunTask sent");
            let body: Value = serde_json::from_str(&run.body).expect("JSON");
            let network = &body["networkConfiguration"]["awsvpcConfiguration"];
            assert_eq!(network["subnets"], Value::from(subnets.to_vec()), "{body}");
            assert_eq!(
                network["securityGroups"],
                Value::from(vec![world("sg-0123456789abcdef0")]),
                "{body}"
            );
            let task = output(outcome, "migrate_back", "task_arn")
                .as_str()
                .expect("a task")
                .to_owned();
            let described = aws_sdk_ecs::Client::new(&rehearsal.session.config)
                .describe_tasks()
                .cluster("billing")
                .tasks(&task)
                .send()
                .await
                .expect("the task");
            let subnet = described
                .tasks()
                .iter()
                .flat_map(|t| t.attachments())
                .flat_map(|a| a.details())
                .find(|d| d.name() == Some("subnetId"))
                .and_then(|d| d.value())
                .unwrap_or_else(|| panic!("the task's network interface: {described:?}"));
            assert!(subnets.iter().any(|s| s == subnet), "{subnet}");
        },
    );
}

/// `--drift backup_db`, then `--alarm-event` twice: the database stopped after the deploy, a readiness run finds
/// the step not ready, the readiness alarm goes to ALARM and the topic gets the notice naming it; started again,
/// the next run finds every step ready, the alarm OK, and arms the trigger. Then the first execution starts from
/// the alarm's event (the audit's trigger is the alarm),
/// the second, after it ended, is held back by the trigger's cooldown. Under `--chaos`, each step that met a
/// fault or was retried says so.
#[test]
fn an_alarm_event_starts_the_rollback_and_the_cooldown_holds_the_next_back() {
    let (code, out, err) = rehearse_checked(&[
        "rehearse",
        "examples/webapp-rollback.toml",
        "--approve",
        "all",
        "--alarm-event",
        "webapp-5xx-rate",
        "--alarm-event",
        "webapp-5xx-rate",
        "--drift",
        "backup_db",
        "--chaos",
        "0.3",
        "--seed",
        "7",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    // The drift, found, alarmed and announced; the fix, found, and the trigger armed, which the alarm's event
    // then needs.
    let readiness: Vec<&str> = out
        .lines()
        .filter(|l| {
            ["drift: ", "fix: ", "readiness run: ", "  notice "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    assert_eq!(
        readiness,
        [
            "drift: DB instance `webapp-db` stopped",
            "readiness run: not ready: backup_db; alarm webapp-rollback-readiness: INSUFFICIENT_DATA -> ALARM",
            "  notice \"stepback: webapp-rollback could not run: backup_db\":",
            "fix: start `webapp-db` (aws rds start-db-instance)",
            "readiness run: ready; alarm webapp-rollback-readiness: ALARM -> OK",
            "  notice \"stepback: webapp-rollback is ready\":",
        ],
        "{out}"
    );
    assert!(
        out.contains("    backup_db (as an alarm would start it, and with the input's defaults)"),
        "{out}"
    );
    assert!(
        out.contains("    The alarm trigger (EventBridge rule `webapp-rollback`) is armed now"),
        "{out}"
    );
    assert!(
        out.contains("started by the event of alarm webapp-5xx-rate going into ALARM"),
        "{out}"
    );
    assert!(out.contains("alarm webapp-5xx-rate went to ALARM"), "{out}");
    assert!(
        out.lines().any(|l| l
            .starts_with("alarm webapp-5xx-rate again: held back, nothing rolled back: ")
            && l.contains("cooldown")),
        "{out}"
    );
    // The faults line, then one line per step that met one: `  <step>  <faults>; <retries> (<outcome>)`.
    let faulted: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("faults injected into the handlers' "))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert!(!faulted.is_empty(), "{out}");
    for line in faulted {
        assert!(
            line.contains("; ")
                && line.ends_with(')')
                && (line.contains(" throttled")
                    || line.contains(" answered 5xx")
                    || line.contains(" replies dropped")
                    || line.contains("retried")),
            "{line}"
        );
    }
}

/// `--endpoint` to a moto started without `MOTO_ECS_SERVICE_RUNNING`, whose services run no task, so that no
/// deployment would ever complete: refused while the world is made, naming the fix.
#[test]
fn an_emulator_whose_services_run_no_task_is_refused_with_the_fix() {
    let moto = emulator::Moto::start(&[]).expect("moto starts");
    let (code, out, err) = stepback_with(
        &[
            "rehearse",
            "examples/webapp-rollback.toml",
            "--endpoint",
            &moto.endpoint(),
        ],
        &[],
        "",
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("start moto with MOTO_ECS_SERVICE_RUNNING=2"),
        "{err}"
    );
    assert!(!out.contains("execution "), "{out}");
}
