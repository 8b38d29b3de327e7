//! `asg.suspend` and `asg.resume` against moto, which keeps each group's suspended processes and tags.

use aws_sdk_autoscaling::Client;
use catalog::ErrorName;
use serde_json::{Value, json};

use crate::{Aws, Step, error, output};

/// Every process Auto Scaling knows: what a suspend with no `processes` suspends.
const EVERY_PROCESS: &[&str] = catalog::AUTO_SCALING_PROCESSES;

/// The group `web`, with `suspended` suspended before the rollback.
async fn group(aws: &Aws, suspended: &[&str]) -> Client {
    let asg = aws.clients.aws(Client::new);
    asg.create_launch_configuration()
        .launch_configuration_name("web")
        .image_id("ami-12c6146b")
        .instance_type("t3.micro")
        .send()
        .await
        .expect("launch configuration");
    asg.create_auto_scaling_group()
        .auto_scaling_group_name("web")
        .launch_configuration_name("web")
        .min_size(0)
        .max_size(2)
        .desired_capacity(0)
        .availability_zones("us-east-1a")
        .send()
        .await
        .expect("group");
    if !suspended.is_empty() {
        asg.suspend_processes()
            .auto_scaling_group_name("web")
            .set_scaling_processes(Some(suspended.iter().map(|p| p.to_string()).collect()))
            .send()
            .await
            .expect("suspended before");
    }
    asg
}

/// The group's suspended processes, sorted, and its tags.
async fn state(asg: &Client) -> (Vec<String>, Vec<(String, String)>) {
    let groups = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names("web")
        .send()
        .await
        .expect("describe");
    let group = &groups.auto_scaling_groups()[0];
    let mut suspended: Vec<_> = group
        .suspended_processes()
        .iter()
        .filter_map(|p| p.process_name())
        .map(str::to_owned)
        .collect();
    suspended.sort();
    let tags = group
        .tags()
        .iter()
        .map(|t| {
            let text = |s: Option<&str>| s.unwrap_or_default().to_owned();
            (text(t.key()), text(t.value()))
        })
        .collect();
    (suspended, tags)
}

fn names(processes: &[&str]) -> Vec<String> {
    processes.iter().map(|p| p.to_string()).collect()
}

#[tokio::test]
async fn resume_undoes_exactly_what_suspend_did() {
    let aws = Aws::start().await;
    let asg = group(&aws, &["AZRebalance"]).await;
    let out = output(
        Step::new("asg.suspend", json!({"group": "web"}))
            .run(&aws)
            .await,
    );
    let by_the_step: Vec<_> = EVERY_PROCESS
        .iter()
        .copied()
        .filter(|p| *p != "AZRebalance")
        .collect();
    assert_eq!(out["suspended"], json!(by_the_step));
    assert_eq!(state(&asg).await.0, names(EVERY_PROCESS));
    let resumed = output(
        Step::new(
            "asg.resume",
            json!({"group": "web", "processes": out["suspended"]}),
        )
        .run(&aws)
        .await,
    );
    assert_eq!(resumed["resumed"], out["suspended"]);
    // What was suspended before the rollback stays suspended.
    assert_eq!(state(&asg).await.0, names(&["AZRebalance"]));
}

#[tokio::test]
async fn a_retried_suspend_answers_the_same_list_and_changes_nothing_twice() {
    let aws = Aws::start().await;
    let asg = group(&aws, &["Terminate"]).await;
    let step = Step::new(
        "asg.suspend",
        json!({"group": "web", "processes": ["Terminate", "Launch"]}),
    );
    let first = output(step.run(&aws).await);
    assert_eq!(first["suspended"], json!(["Launch"]));
    let after_first = state(&asg).await;
    assert_eq!(after_first.0, names(&["Launch", "Terminate"]));
    // The retry sees Launch suspended already, yet answers it: the first attempt recorded its choice.
    let retried = output(step.run(&aws).await);
    assert_eq!(retried, first);
    assert_eq!(state(&asg).await, after_first);
    // Another execution suspends nothing, so its resume will not undo this one's suspension.
    let other = output(step.in_execution("run-2").run(&aws).await);
    assert_eq!(other["suspended"], json!([]));
    assert_eq!(state(&asg).await.0, names(&["Launch", "Terminate"]));
}

#[tokio::test]
async fn resuming_an_empty_list_resumes_nothing() {
    let aws = Aws::start().await;
    let asg = group(&aws, &["AZRebalance"]).await;
    let out = output(
        Step::new("asg.resume", json!({"group": "web", "processes": []}))
            .run(&aws)
            .await,
    );
    assert_eq!(out["resumed"], json!([]));
    assert_eq!(state(&asg).await.0, names(&["AZRebalance"]));
}

#[tokio::test]
async fn a_missing_group_is_not_found_and_an_unknown_process_is_refused_before_any_change() {
    let aws = Aws::start().await;
    for (action, params) in [
        ("asg.suspend", json!({"group": "gone"})),
        (
            "asg.resume",
            json!({"group": "gone", "processes": ["Launch"]}),
        ),
    ] {
        let failure = error(Step::new(action, params).start(&aws).await);
        assert_eq!(failure.name, ErrorName::NotFound, "{action}: {failure}");
        assert!(failure.message.contains("`gone`"), "{failure}");
    }
    let asg = group(&aws, &[]).await;
    let before = state(&asg).await;
    let typo: Value = json!({"group": "web", "processes": ["Launch", "Lunch"]});
    let failure = error(Step::new("asg.suspend", typo).start(&aws).await);
    assert_eq!(failure.name, ErrorName::InvalidInput, "{failure}");
    assert!(failure.message.contains("`Lunch`"), "{failure}");
    assert_eq!(state(&asg).await, before);
}
