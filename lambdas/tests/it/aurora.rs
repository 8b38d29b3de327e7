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
    assert_eq!(
        kept.status(),
        Some("stopped"),
        "the parked original takes no writes"
    );
    assert_eq!(str_of(&out, "snapshot"), snapshot);
    assert!(
        str_of(&out, "notes").contains(&format!(
            "aws rds start-db-cluster --db-cluster-identifier {parked}"
        )),
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

/// An instance of `cluster` that joins it as a reader (the writer exists).
async fn reader(aws: &Aws, cluster: &str, id: &str, class: &str, tier: i32) {
    aws.clients
        .aws(aws_sdk_rds::Client::new)
        .create_db_instance()
        .db_instance_identifier(id)
        .db_cluster_identifier(cluster)
        .engine(ENGINE)
        .db_instance_class(class)
        .db_parameter_group_name("writer-tuned")
        .promotion_tier(tier)
        .send()
        .await
        .expect("reader");
}

#[tokio::test]
async fn cluster_restore_recreates_each_reader_with_its_class_and_promotion_tier_after_the_writer()
{
    let aws = Aws::start().await;
    cluster(&aws, "orders").await;
    reader(&aws, "orders", "orders-2", "db.r6g.xlarge", 2).await;
    reader(&aws, "orders", "orders-3", "db.r6g.large", 5).await;
    let snapshot = snapshot(&aws, "orders").await;
    let restore = Step::new(
        "rds.restore",
        json!({"cluster": "orders", "snapshot": snapshot, "swap": true}),
    );
    let out = output(restore.run(&aws).await);
    let notes = str_of(&out, "notes");
    assert!(!notes.contains("reader"), "{notes}");

    // The writer first, in the restored cluster under its own id: the first instance of a cluster is its writer.
    let created: Vec<(String, String, String, String)> = aws
        .recorder
        .calls_of("CreateDBInstance")
        .iter()
        .map(|c| {
            let member = |name: &str| c.params[name].as_str().unwrap_or_default().to_owned();
            (
                member("DBInstanceIdentifier"),
                member("DBClusterIdentifier"),
                member("DBInstanceClass"),
                member("PromotionTier"),
            )
        })
        .collect();
    let restored_cluster = created[0].1.clone();
    assert!(restored_cluster.starts_with("orders-rb-"), "{created:?}");
    let key = restored_cluster.trim_start_matches("orders-rb-");
    let expected = [
        (restored_cluster.clone(), "db.r6g.large", "1"),
        (format!("orders-rb-reader-1-{key}"), "db.r6g.xlarge", "2"),
        (format!("orders-rb-reader-2-{key}"), "db.r6g.large", "5"),
    ];
    assert_eq!(created.len(), expected.len(), "{created:?}");
    for ((id, cluster, class, tier), (want_id, want_class, want_tier)) in
        created.iter().zip(&expected)
    {
        assert_eq!(
            (id, class.as_str(), tier.as_str()),
            (want_id, *want_class, *want_tier)
        );
        assert_eq!(
            cluster, &restored_cluster,
            "{id} joins the restored cluster"
        );
    }
    for (id, class, tier) in &expected[1..] {
        let made = instance(&aws, id).await.expect("the reader");
        assert_eq!(made.db_instance_status(), Some("available"));
        assert_eq!(made.db_instance_class(), Some(*class));
        assert_eq!(
            made.promotion_tier().map(|t| t.to_string()).as_deref(),
            Some(*tier)
        );
        let groups: Vec<_> = made
            .db_parameter_groups()
            .iter()
            .map(|g| g.db_parameter_group_name())
            .collect();
        assert_eq!(groups, [Some("writer-tuned")]);
    }
    // Each reader exists before the swap: the clusters' renames come after every CreateDBInstance.
    let order: Vec<String> = aws
        .recorder
        .calls_of_any(&["CreateDBInstance", "ModifyDBCluster"])
        .into_iter()
        .map(|c| c.operation)
        .collect();
    assert_eq!(
        order,
        [
            "CreateDBInstance",
            "CreateDBInstance",
            "CreateDBInstance",
            "ModifyDBCluster",
            "ModifyDBCluster"
        ]
    );
    for original in ["orders-1", "orders-2", "orders-3"] {
        assert!(
            instance(&aws, original).await.is_some(),
            "{original} is kept"
        );
    }
}

/// Aurora Serverless v2: "If you have an Aurora cluster, you must set this attribute before you add a DB instance
/// that uses the db.serverless DB instance class" (CloudFormation reference, `AWS::RDS::DBCluster
/// ServerlessV2ScalingConfiguration`, citing the Aurora user guide). moto's RestoreDBClusterFromSnapshot copies the snapshot's cluster whole, and it
/// takes a `db.serverless` instance into a cluster without one, so the restored cluster's state cannot show the
/// copy: the requests do.
#[tokio::test]
async fn a_serverless_v2_cluster_gets_its_capacity_range_before_its_db_serverless_writer() {
    use aws_sdk_rds::types::ServerlessV2ScalingConfiguration;

    let aws = Aws::start().await;
    let rds = aws.clients.aws(aws_sdk_rds::Client::new);
    rds.create_db_cluster()
        .db_cluster_identifier("orders")
        .engine(ENGINE)
        .engine_version("15.4")
        .master_username("admin")
        .master_user_password("secret-password")
        .serverless_v2_scaling_configuration(
            ServerlessV2ScalingConfiguration::builder()
                .min_capacity(0.5)
                .max_capacity(8.0)
                .build(),
        )
        .send()
        .await
        .expect("cluster");
    rds.create_db_instance()
        .db_instance_identifier("orders-1")
        .db_cluster_identifier("orders")
        .engine(ENGINE)
        .db_instance_class("db.serverless")
        .send()
        .await
        .expect("writer");
    let snapshot = snapshot(&aws, "orders").await;
    let restore = Step::new(
        "rds.restore",
        json!({"cluster": "orders", "snapshot": snapshot, "new_cluster": "orders-restored"}),
    );
    output(restore.run(&aws).await);
    let calls = aws
        .recorder
        .calls_of_any(&["RestoreDBClusterFromSnapshot", "CreateDBInstance"]);
    let sequence: Vec<(&str, Option<&str>, Option<&str>, Option<&str>)> = calls
        .iter()
        .map(|c| {
            (
                c.operation.as_str(),
                c.params
                    .get("ServerlessV2ScalingConfiguration.MinCapacity")
                    .and_then(|v| v.as_str()),
                c.params
                    .get("ServerlessV2ScalingConfiguration.MaxCapacity")
                    .and_then(|v| v.as_str()),
                c.params.get("DBInstanceClass").and_then(|v| v.as_str()),
            )
        })
        .collect();
    assert_eq!(
        sequence,
        [
            (
                "RestoreDBClusterFromSnapshot",
                Some("0.5"),
                Some("8.0"),
                None
            ),
            ("CreateDBInstance", None, None, Some("db.serverless")),
        ]
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
