//! `stepback rehearse`: the examples run whole in moto's interpreter with the real handlers, and moto's state
//! afterwards. Each rehearsal starts its own moto (its interpreter must know the rehearsal's Lambda port at
//! start), so the cases are few and each checks much.

use std::time::Duration;

use cli::approval::Decision;
use cli::execution::StepEvent;
use cli::rehearsal::{Event, Outcome, Plan, Rehearsal};
use serde_json::Value;

use crate::{root, stepback_with};

pub fn plan(example: &str, inputs: &[(&str, &str)], fail: &[(&str, &str)]) -> Plan {
    plan_of(&root().join("examples").join(example), inputs, fail)
}

fn plan_of(path: &std::path::Path, inputs: &[(&str, &str)], fail: &[(&str, &str)]) -> Plan {
    let source = std::fs::read_to_string(path).expect("the workflow");
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
        lambda_port: None,
    }
}

/// Prepares the rehearsal, lets `before` look at the world, then runs it: approving every approval but `reject`.
/// `after` sees the steps' events too; then every request the handlers sent goes through the model check.
fn rehearse<T>(
    plan: Plan,
    reject: Option<&str>,
    before: impl AsyncFnOnce(&Rehearsal) -> T,
    after: impl AsyncFnOnce(&Rehearsal, &Outcome, T, Vec<(String, StepEvent)>),
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
                    if let Event::Step { step, event, .. } = event {
                        steps.push((step, event));
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
/// The output, times masked, is stable.
#[test]
fn the_seed_rehearses_to_success() {
    let (code, out, err) = stepback_with(
        &[
            "rehearse",
            "examples/webapp-rollback.toml",
            "--approve",
            "all",
        ],
        &[],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    insta::assert_snapshot!(mask(&out));
}

/// The EC2 example: an AMI of the host, the two Run Command steps, the smoke test against the world's web app.
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
            assert!(
                outcome.succeeded,
                "{}",
                audit::render::text(&outcome.report)
            );
            let config = &rehearsal.session.config;
            let images = aws_sdk_ec2::Client::new(config)
                .describe_images()
                .owners("self")
                .send()
                .await
                .expect("images");
            assert_eq!(images.images().len(), 1, "one AMI: {images:?}");
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
            assert!(
                outcome.succeeded,
                "{}",
                audit::render::text(&outcome.report)
            );
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
            assert!(
                outcome.succeeded,
                "{}",
                audit::render::text(&outcome.report)
            );
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
            assert!(
                outcome.succeeded,
                "{}",
                audit::render::text(&outcome.report)
            );
            let polls = steps
                .iter()
                .filter_map(|(step, event)| match event {
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
                .filter(|s| s.tag_list().iter().any(|t| t.key() == Some("stepback:execution")))
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
                    .filter_map(|(s, e)| match e {
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
            },
        );
    }
}

/// An SQS queue subscribed to the example's topic; its URL.
async fn subscribe(rehearsal: &Rehearsal) -> String {
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
        .topic_arn("arn:aws:sns:us-east-1:123456789012:webapp-deploys")
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
