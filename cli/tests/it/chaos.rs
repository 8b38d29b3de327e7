//! `stepback rehearse --chaos`: the examples rehearsed under throttling, 5xx answers and dropped replies in a
//! fifth of the handlers' AWS calls, seed after seed, against one moto that the test starts and passes as
//! `--endpoint` (which each rehearsal resets). Every run succeeds, and nothing that a step creates exists twice.

use std::time::Instant;

use cli::approval::Decision;
use cli::rehearsal::Rehearsal;
use rehearsal_front::faults::{Chaos, Counts, Fault};

use crate::rehearse::plan;

/// What the steps created, counted in moto's state after a run.
#[derive(Debug, Default, PartialEq, Eq)]
struct Created {
    snapshots: usize,
    db_instances: usize,
    task_definitions: usize,
    images: usize,
    commands: usize,
}

#[test]
fn chaos_rehearsals_succeed_and_create_nothing_twice() {
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let began = Instant::now();
    let mut total = Counts::default();
    // The seed rollback ten times, restoring the database on three of them; the EC2 example three times.
    let webapp = (1..=10).map(|seed| {
        let restore = seed % 3 == 0;
        let inputs: &[(&str, &str)] = if restore {
            &[
                ("restore_data", "true"),
                ("restore_snapshot", "webapp-db-0312"),
            ]
        } else {
            &[]
        };
        let expected = Created {
            snapshots: 1,
            // The restored instance under the original name, and the original parked beside it.
            db_instances: if restore { 2 } else { 1 },
            // The world's two revisions of `webapp` and the migration's one: `previous` registers none.
            task_definitions: 3,
            images: 0,
            commands: 0,
        };
        (seed, "webapp-rollback.toml", inputs, expected)
    });
    let ec2 = (11..=13).map(|seed| {
        let expected = Created {
            images: 1,
            commands: 2,
            ..Created::default()
        };
        let inputs: &[(&str, &str)] = &[("to_version", "v3.1.1")];
        (seed, "ec2-compose-rollback.toml", inputs, expected)
    });
    for (seed, example, inputs, expected) in webapp.chain(ec2) {
        runtime.block_on(async {
            let mut plan = plan(example, inputs, &[]);
            plan.endpoint = Some(moto.endpoint());
            plan.lambda_port = Some(lambda_port);
            plan.chaos = Some(Chaos {
                probability: 0.2,
                seed,
            });
            let rehearsal = Rehearsal::prepare(plan, |_| {})
                .await
                .expect("the rehearsal is prepared");
            let outcome = rehearsal
                .run(|_| Some(Decision::Approve), |_| {})
                .await
                .expect("the rehearsal runs");
            let counts = rehearsal.faults();
            assert!(
                outcome.succeeded,
                "{example} --seed {seed} ({counts:?}):\n{}",
                audit::render::text(&outcome.report)
            );
            let created = created(&rehearsal).await;
            assert_eq!(created, expected, "{example} --seed {seed} ({counts:?})");
            tests::models::assert_accepted(&rehearsal.sent());
            // Every fault is counted against the step whose handler's call it hit.
            let by_step: usize = counts.by_step.values().flat_map(|f| f.values()).sum();
            assert_eq!(by_step, counts.faults.values().sum::<usize>(), "{counts:?}");
            total.calls += counts.calls;
            for (fault, n) in counts.faults {
                *total.faults.entry(fault).or_default() += n;
            }
        });
    }
    eprintln!(
        "13 chaos rehearsals in {:.1?}: {} handler calls, faults {:?}",
        began.elapsed(),
        total.calls,
        total.faults
    );
    for fault in Fault::ALL {
        assert!(
            total.faults.get(&fault).copied().unwrap_or(0) > 0,
            "no {fault:?} among {total:?}"
        );
    }
}

async fn created(rehearsal: &Rehearsal) -> Created {
    let config = &rehearsal.session.config;
    let rds = aws_sdk_rds::Client::new(config);
    let snapshots = rds
        .describe_db_snapshots()
        .snapshot_type("manual")
        .send()
        .await
        .expect("snapshots");
    let instances = rds.describe_db_instances().send().await.expect("instances");
    let task_definitions = aws_sdk_ecs::Client::new(config)
        .list_task_definitions()
        .send()
        .await
        .expect("task definitions");
    let images = lambdas::ec2::Client::new(config)
        .describe_own_images(&[])
        .await
        .expect("images");
    let commands = aws_sdk_ssm::Client::new(config)
        .list_commands()
        .send()
        .await
        .expect("commands");
    Created {
        // The world's own snapshot to restore from is not the step's.
        snapshots: snapshots
            .db_snapshots()
            .iter()
            .filter(|s| {
                s.db_snapshot_identifier()
                    .is_some_and(|id| id.starts_with("stepback-"))
            })
            .count(),
        db_instances: instances.db_instances().len(),
        task_definitions: task_definitions.task_definition_arns().len(),
        images: images.len(),
        commands: commands.commands().len(),
    }
}
