//! `rds.snapshot` and `rds.restore` of an Aurora DB cluster against moto, which implements CreateDBCluster,
//! CreateDBClusterSnapshot, RestoreDBClusterFromSnapshot, ModifyDBCluster renames and CreateDBInstance in a
//! cluster, each complete at once. Where moto differs: a renamed cluster's members keep the old cluster id
//! (moto keys membership by the instance's stale `DBClusterIdentifier`), so these tests find writers by their
//! own ids, never through the renamed cluster's members.

use aws_sdk_rds::types::DbCluster;
use catalog::ErrorName;
use serde_json::json;

use crate::rds::{Rename, instance, network, refusing_renames_to};
use crate::{Aws, Step, error, failure, output, str_of};

const ENGINE: &str = "aurora-postgresql";

/// A cluster with every setting `rds.restore` copies (engine version, subnet group, security group, cluster
/// parameter group) and a writer with its own class and parameter group.
async fn cluster(aws: &Aws, id: &str) -> DbCluster {
    let (subnets, group) = network(aws, "aurora").await;
    let rds = &aws.clients.aws(aws_sdk_rds::Client::new);
    rds.create_db_subnet_group()
        .db_subnet_group_name("aurora-subnets")
        .db_subnet_group_description("aurora")
        .set_subnet_ids(Some(subnets))
        .send()
        .await
        .expect("subnet group");
    rds.create_db_cluster_parameter_group()
        .db_cluster_parameter_group_name("cluster-tuned")
        .db_parameter_group_family("aurora-postgresql15")
        .description("tuned")
        .send()
        .await
        .expect("cluster parameter group");
    rds.create_db_parameter_group()
        .db_parameter_group_name("writer-tuned")
        .db_parameter_group_family("aurora-postgresql15")
        .description("tuned")
        .send()
        .await
        .expect("parameter group");
    rds.create_db_cluster()
        .db_cluster_identifier(id)
        .engine(ENGINE)
        .engine_version("15.4")
        .master_username("admin")
        .master_user_password("secret-password")
        .db_subnet_group_name("aurora-subnets")
        .vpc_security_group_ids(&group)
        .db_cluster_parameter_group_name("cluster-tuned")
        .send()
        .await
        .expect("cluster");
    rds.create_db_instance()
        .db_instance_identifier(format!("{id}-1"))
        .db_cluster_identifier(id)
        .engine(ENGINE)
        .db_instance_class("db.r6g.large")
        .db_parameter_group_name("writer-tuned")
        .send()
        .await
        .expect("writer");
    find(aws, id).await.expect("the created cluster")
}

async fn find(aws: &Aws, id: &str) -> Option<DbCluster> {
    let found = aws
        .clients
        .aws(aws_sdk_rds::Client::new)
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await;
    match found {
        Ok(output) => output.db_clusters.unwrap_or_default().into_iter().next(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_db_cluster_not_found_fault()) =>
        {
            None
        }
        Err(e) => panic!("describe {id}: {e:?}"),
    }
}

/// Every cluster with its status.
async fn clusters(aws: &Aws) -> Vec<(String, String)> {
    let output = aws
        .clients
        .aws(aws_sdk_rds::Client::new)
        .describe_db_clusters()
        .send()
        .await
        .expect("describe clusters");
    let mut all: Vec<_> = output
        .db_clusters()
        .iter()
        .map(|c| {
            (
                c.db_cluster_identifier().unwrap_or_default().to_owned(),
                c.status().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    all.sort();
    all
}

/// What `rds.restore` copies from a cluster.
type Settings<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Vec<Option<&'a str>>,
    Option<&'a str>,
);

fn settings(c: &DbCluster) -> Settings<'_> {
    (
        c.engine(),
        c.engine_version(),
        c.db_subnet_group(),
        c.vpc_security_groups()
            .iter()
            .map(|g| g.vpc_security_group_id())
            .collect(),
        c.db_cluster_parameter_group(),
    )
}

fn is_stepbacks(c: &DbCluster) -> bool {
    c.tag_list()
        .iter()
        .any(|t| t.key() == Some("stepback:execution"))
}

async fn snapshot(aws: &Aws, cluster: &str) -> String {
    let out = output(
        Step::new("rds.snapshot", json!({"cluster": cluster}))
            .run(aws)
            .await,
    );
    str_of(&out, "snapshot_id").to_owned()
}

#[tokio::test]
async fn cluster_snapshot_is_taken_once_under_an_id_from_the_execution() {
    let aws = Aws::start().await;
    cluster(&aws, "orders").await;
    let step = Step::new("rds.snapshot", json!({"cluster": "orders"}));
    crate::check_ok(&aws, &step).await;
    let out = output(step.run(&aws).await);
    let id = str_of(&out, "snapshot_id");
    assert!(id.starts_with("stepback-orders-"), "{id}");
    assert_eq!(
        (str_of(&out, "cluster"), str_of(&out, "instance")),
        ("orders", "")
    );
    // A retry after a lost reply finds the first snapshot.
    assert_eq!(output(step.run(&aws).await), out);
    let rds = aws.clients.aws(aws_sdk_rds::Client::new);
    let all = rds
        .describe_db_cluster_snapshots()
        .db_cluster_identifier("orders")
        .snapshot_type("manual")
        .send()
        .await
        .expect("describe");
    let taken: Vec<_> = all
        .db_cluster_snapshots()
        .iter()
        .map(|s| (s.db_cluster_snapshot_identifier(), s.status()))
        .collect();
    assert_eq!(taken, [(Some(id), Some("available"))]);
    // Another execution takes its own.
    let other = output(step.in_execution("run-2").run(&aws).await);
    assert_ne!(str_of(&other, "snapshot_id"), id);
}

#[tokio::test]
async fn a_cluster_snapshot_id_someone_else_holds_is_refused_and_a_missing_cluster_named() {
    let aws = Aws::start().await;
    cluster(&aws, "orders").await;
    aws.clients
        .aws(aws_sdk_rds::Client::new)
        .create_db_cluster_snapshot()
        .db_cluster_snapshot_identifier("before-deploy")
        .db_cluster_identifier("orders")
        .send()
        .await
        .expect("an old snapshot");
    let taken = Step::new(
        "rds.snapshot",
        json!({"cluster": "orders", "snapshot_id": "before-deploy"}),
    );
    let refused = error(taken.start(&aws).await);
    assert_eq!(refused.name, ErrorName::Precondition, "{refused}");
    assert!(refused.message.contains("before-deploy"), "{refused}");
    let missing = error(
        Step::new("rds.snapshot", json!({"cluster": "nope"}))
            .start(&aws)
            .await,
    );
    assert_eq!(missing.name, ErrorName::NotFound, "{missing}");
    assert!(
        missing.message.contains("Aurora cluster `nope`")
            && missing.message.contains("DBClusterNotFound"),
        "{missing}"
    );
}

#[tokio::test]
async fn cluster_restore_with_swap_copies_the_settings_and_keeps_the_original() {
    let aws = Aws::start().await;
    let original = cluster(&aws, "orders").await;
    let snapshot = snapshot(&aws, "orders").await;
    let restore = Step::new(
        "rds.restore",
        json!({"cluster": "orders", "snapshot": snapshot, "swap": true}),
    );
    crate::check_ok(&aws, &restore).await;
    let out = output(restore.run(&aws).await);
    assert_eq!(str_of(&out, "cluster_id"), "orders");
    assert_eq!(str_of(&out, "new_cluster_id"), "orders");
    let parked = str_of(&out, "replaced_cluster_id");
    assert!(parked.starts_with("orders-pre-rollback-"), "{parked}");

    let now = find(&aws, "orders").await.expect("orders exists");
    assert!(is_stepbacks(&now), "`orders` is now the restored cluster");
    assert_eq!(settings(&now), settings(&original));
    assert_eq!(Some(str_of(&out, "endpoint")), now.endpoint());
    let kept = find(&aws, parked).await.expect("the original is kept");
    assert!(!is_stepbacks(&kept));
    assert_eq!(kept.status(), Some("stopped"), "the parked original takes no writes");
    assert_eq!(str_of(&out, "snapshot"), snapshot);
    assert!(
        str_of(&out, "notes").contains(&format!("aws rds start-db-cluster --db-cluster-identifier {parked}")),
        "{out:?}"
    );
    assert_eq!(
        kept.db_cluster_resource_id(),
        original.db_cluster_resource_id()
    );
    assert_eq!(clusters(&aws).await.len(), 2);

    // The restored cluster's writer, with the original writer's class and parameter group.
    let writer = str_of(&out, "instance_id");
    assert_eq!(str_of(&out, "replaced_instance_id"), "orders-1");
    let writer = instance(&aws, writer).await.expect("the writer");
    assert_eq!(writer.db_instance_status(), Some("available"));
    assert_eq!(writer.db_instance_class(), Some("db.r6g.large"));
    let groups: Vec<_> = writer
        .db_parameter_groups()
        .iter()
        .map(|g| g.db_parameter_group_name())
        .collect();
    assert_eq!(groups, [Some("writer-tuned")]);
    assert!(
        instance(&aws, "orders-1").await.is_some(),
        "the original writer is kept"
    );
}

#[tokio::test]
async fn cluster_restore_without_swap_leaves_the_original_alone_and_restores_once() {
    let aws = Aws::start().await;
    let original = cluster(&aws, "orders").await;
    let snapshot = snapshot(&aws, "orders").await;
    let restore = Step::new(
        "rds.restore",
        json!({"cluster": "orders", "snapshot": snapshot, "new_cluster": "orders-restored"}),
    );
    // A retried start (its reply lost) finds the restore of the first, and restores nothing twice.
    restore.start(&aws).await.expect("first start");
    restore.start(&aws).await.expect("retried start");
    let out = output(restore.run(&aws).await);
    assert_eq!(str_of(&out, "cluster_id"), "orders-restored");
    assert_eq!(str_of(&out, "replaced_cluster_id"), "orders");
    assert_eq!(str_of(&out, "instance_id"), "orders-restored");
    let restored = find(&aws, "orders-restored").await.expect("restored");
    assert_eq!(settings(&restored), settings(&original));
    assert_eq!(
        clusters(&aws).await,
        [
            ("orders".to_owned(), "available".to_owned()),
            ("orders-restored".to_owned(), "available".to_owned())
        ]
    );
    let untouched = find(&aws, "orders").await.expect("original");
    assert_eq!(
        untouched.db_cluster_resource_id(),
        original.db_cluster_resource_id()
    );
}

#[tokio::test]
async fn cluster_restore_of_a_missing_snapshot_is_not_found_and_makes_nothing() {
    let aws = Aws::start().await;
    cluster(&aws, "orders").await;
    let restore = Step::new(
        "rds.restore",
        json!({"cluster": "orders", "snapshot": "gone"}),
    );
    let failure = error(restore.start(&aws).await);
    assert_eq!(failure.name, ErrorName::NotFound, "{failure}");
    assert!(failure.message.contains("`gone`"), "{failure}");
    assert_eq!(clusters(&aws).await.len(), 1);
}

const RENAME_CLUSTER: Rename = Rename {
    operation: "ModifyDBCluster",
    from: "DBClusterIdentifier",
    to: "NewDBClusterIdentifier",
    refusal: "InvalidDBClusterStateFault",
};

#[tokio::test]
async fn a_cluster_swap_that_cannot_finish_puts_the_original_back_and_says_where_each_is() {
    let mut aws = Aws::start().await;
    let original = cluster(&aws, "orders").await;
    let snapshot = snapshot(&aws, "orders").await;
    // Only the restored cluster's rename is refused; renaming the original back goes through.
    let proxy = refusing_renames_to(
        &mut aws,
        RENAME_CLUSTER,
        Some("orders-restored"),
        "orders",
        None,
    )
    .await;
    let restore = Step::new(
        "rds.restore",
        json!({"cluster": "orders", "snapshot": snapshot, "swap": true, "new_cluster": "orders-restored"}),
    );
    let (error, cause) = failure(restore.run(&aws).await);
    assert_eq!(error, "Stepback.Failed");
    assert_eq!(proxy.injected(), 3, "tried three times before giving up");
    let named = find(&aws, "orders")
        .await
        .expect("a cluster carries the name");
    assert_eq!(
        named.db_cluster_resource_id(),
        original.db_cluster_resource_id(),
        "the original carries its name again"
    );
    assert_eq!(
        clusters(&aws).await,
        [
            ("orders".to_owned(), "available".to_owned()),
            ("orders-restored".to_owned(), "available".to_owned())
        ]
    );
    assert!(
        cause.contains("could not swap in the restored cluster")
            && cause.contains("`orders` is the original cluster (available)")
            && cause.contains("`orders-restored` is the restored cluster (available)")
            && cause.contains("InvalidDBClusterStateFault"),
        "{cause}"
    );
}
