//! `rds.snapshot` and `rds.restore` against moto, where RDS operations complete at once.

use aws_sdk_rds::types::{DbInstance, Tag};
use catalog::ErrorName;
use serde_json::json;

use crate::fault::{Fault, FaultProxy};
use crate::{Aws, Step, error, failure, output, str_of};

/// A VPC with two subnets in two zones, for a subnet group, and a security group: what a database's network
/// settings name.
pub async fn network(aws: &Aws, name: &str) -> (Vec<String>, String) {
    let ec2 = &aws.clients.aws(lambdas::ec2::Client::new);
    let vpc = ec2.create_vpc("10.0.0.0/16").await.expect("vpc");
    let mut subnets = Vec::new();
    for (cidr, zone) in [("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b")] {
        let subnet = ec2.create_subnet(&vpc, cidr, Some(zone)).await;
        subnets.push(subnet.expect("subnet"));
    }
    let group = ec2
        .create_security_group(&vpc, name, name)
        .await
        .expect("security group");
    (subnets, group)
}

/// A production-like instance: every setting of [`COPIED`] away from its default (tags of its own, deletion
/// protection, 7 days of backups, Multi-AZ, log exports, IAM authentication, encrypted under a customer-managed
/// key).
pub async fn database(aws: &Aws, id: &str) -> DbInstance {
    let key = crate::kms::key(aws).await;
    let (subnets, group) = network(aws, "db").await;
    let rds = &aws.clients.aws(aws_sdk_rds::Client::new);
    rds.create_db_subnet_group()
        .db_subnet_group_name("db-subnets")
        .db_subnet_group_description("db")
        .set_subnet_ids(Some(subnets))
        .send()
        .await
        .expect("subnet group");
    rds.create_db_parameter_group()
        .db_parameter_group_name("tuned")
        .db_parameter_group_family("postgres16")
        .description("tuned")
        .send()
        .await
        .expect("parameter group");
    rds.create_db_instance()
        .db_instance_identifier(id)
        .db_instance_class("db.r6g.large")
        .engine("postgres")
        .master_username("admin")
        .master_user_password("secret-password")
        .allocated_storage(20)
        .db_subnet_group_name("db-subnets")
        .vpc_security_group_ids(&group)
        .db_parameter_group_name("tuned")
        .multi_az(true)
        .storage_encrypted(true)
        .kms_key_id(key)
        .deletion_protection(true)
        .backup_retention_period(7)
        .preferred_backup_window("03:00-04:00")
        .enable_cloudwatch_logs_exports("postgresql")
        .enable_iam_database_authentication(true)
        .copy_tags_to_snapshot(true)
        .tags(Tag::builder().key("backup-plan").value("daily").build())
        .tags(Tag::builder().key("cost-center").value("orders").build())
        .send()
        .await
        .expect("instance")
        .db_instance
        .expect("the created instance")
}

pub async fn instance(aws: &Aws, id: &str) -> Option<DbInstance> {
    let found = aws
        .clients
        .aws(aws_sdk_rds::Client::new)
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await;
    match found {
        Ok(output) => output.db_instances.unwrap_or_default().into_iter().next(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_db_instance_not_found_fault()) =>
        {
            None
        }
        Err(e) => panic!("describe {id}: {e:?}"),
    }
}

async fn instance_ids(aws: &Aws) -> Vec<String> {
    let output = aws
        .clients
        .aws(aws_sdk_rds::Client::new)
        .describe_db_instances()
        .send()
        .await
        .expect("describe instances");
    let mut ids: Vec<_> = output
        .db_instances()
        .iter()
        .filter_map(|i| i.db_instance_identifier.clone())
        .collect();
    ids.sort();
    ids
}

/// The settings the restored instance shares with the original, written once: the member of
/// RestoreDBInstanceFromDBSnapshot that carries each, and how DescribeDBInstances shows it.
type Read = fn(&DbInstance) -> String;
const COPIED: &[(&str, Read)] = &[
    ("DBInstanceClass", |i| {
        format!("{:?}", i.db_instance_class())
    }),
    ("DBSubnetGroupName", |i| {
        format!(
            "{:?}",
            i.db_subnet_group().and_then(|g| g.db_subnet_group_name())
        )
    }),
    ("VpcSecurityGroupIds", |i| {
        let ids: Vec<_> = i
            .vpc_security_groups()
            .iter()
            .map(|g| g.vpc_security_group_id())
            .collect();
        format!("{ids:?}")
    }),
    ("DBParameterGroupName", |i| {
        let names: Vec<_> = i
            .db_parameter_groups()
            .iter()
            .map(|g| g.db_parameter_group_name())
            .collect();
        format!("{names:?}")
    }),
    ("MultiAZ", |i| format!("{:?}", i.multi_az())),
    ("Port", |i| {
        format!("{:?}", i.endpoint().and_then(|e| e.port()))
    }),
    ("PubliclyAccessible", |i| {
        format!("{:?}", i.publicly_accessible())
    }),
    ("AutoMinorVersionUpgrade", |i| {
        format!("{:?}", i.auto_minor_version_upgrade())
    }),
    ("AllocatedStorage", |i| {
        format!("{:?}", i.allocated_storage())
    }),
    ("StorageType", |i| format!("{:?}", i.storage_type())),
    ("DeletionProtection", |i| {
        format!("{:?}", i.deletion_protection())
    }),
    ("EnableIAMDatabaseAuthentication", |i| {
        format!("{:?}", i.iam_database_authentication_enabled())
    }),
    ("EnableCloudwatchLogsExports", |i| {
        format!("{:?}", i.enabled_cloudwatch_logs_exports())
    }),
    ("CACertificateIdentifier", |i| {
        format!("{:?}", i.ca_certificate_identifier())
    }),
    ("BackupRetentionPeriod", |i| {
        format!("{:?}", i.backup_retention_period())
    }),
    ("PreferredBackupWindow", |i| {
        format!("{:?}", i.preferred_backup_window())
    }),
    ("CopyTagsToSnapshot", |i| {
        format!("{:?}", i.copy_tags_to_snapshot())
    }),
    ("Tags", |i| {
        let mut tags: Vec<_> = i
            .tag_list()
            .iter()
            .filter(|t| !t.key().is_some_and(|k| k.starts_with("stepback:")))
            .map(|t| (t.key(), t.value()))
            .collect();
        tags.sort();
        format!("{tags:?}")
    }),
];

/// The fields of [`COPIED`] on which two instances differ, with both values.
fn differences(original: &DbInstance, restored: &DbInstance) -> Vec<String> {
    COPIED
        .iter()
        .filter(|(_, read)| read(original) != read(restored))
        .map(|(field, read)| format!("{field}: {} != {}", read(original), read(restored)))
        .collect()
}

async fn snapshot(aws: &Aws, instance: &str) -> String {
    let out = output(
        Step::new("rds.snapshot", json!({"instance": instance}))
            .run(aws)
            .await,
    );
    str_of(&out, "snapshot_id").to_owned()
}

#[tokio::test]
async fn snapshot_is_taken_under_an_id_from_the_execution_and_is_available() {
    let aws = Aws::start().await;
    database(&aws, "orders").await;
    crate::check_ok(
        &aws,
        &Step::new("rds.snapshot", json!({"instance": "orders"})),
    )
    .await;
    let out = output(
        Step::new("rds.snapshot", json!({"instance": "orders"}))
            .run(&aws)
            .await,
    );
    let id = str_of(&out, "snapshot_id");
    assert!(id.starts_with("stepback-orders-"), "{id}");
    assert_eq!(str_of(&out, "instance"), "orders");
    let found = aws
        .clients
        .aws(aws_sdk_rds::Client::new)
        .describe_db_snapshots()
        .db_snapshot_identifier(id)
        .send()
        .await
        .expect("describe");
    let snapshot = &found.db_snapshots()[0];
    assert_eq!(snapshot.db_instance_identifier(), Some("orders"));
    assert_eq!(snapshot.status(), Some("available"));
    // Another execution makes its own snapshot. Its name holds characters that an execution's name may hold and
    // an RDS tag's value may not (the model check refuses the request otherwise); a retry still finds its work.
    let step = Step::new("rds.snapshot", json!({"instance": "orders"})).in_execution("hotfix(2)!");
    let other = output(step.run(&aws).await);
    assert_ne!(str_of(&other, "snapshot_id"), id);
    assert_eq!(output(step.run(&aws).await), other);
    let found = aws
        .clients
        .aws(aws_sdk_rds::Client::new)
        .describe_db_snapshots()
        .db_snapshot_identifier(str_of(&other, "snapshot_id"))
        .send()
        .await
        .expect("describe");
    let tags = found.db_snapshots()[0].tag_list();
    assert!(
        tags.iter().any(|t| t.key() == Some("stepback:execution")
            && t.value()
                == Some("arn:aws:states:us-east-1:123456789012:execution:rollback:hotfix_2__")),
        "{tags:?}"
    );
}

#[tokio::test]
async fn a_retried_snapshot_start_finds_the_first_snapshot() {
    let aws = Aws::start().await;
    database(&aws, "orders").await;
    let step = Step::new("rds.snapshot", json!({"instance": "orders"}));
    let first = output(step.run(&aws).await);
    let second = output(step.run(&aws).await);
    assert_eq!(first, second);
    let all = aws
        .clients
        .aws(aws_sdk_rds::Client::new)
        .describe_db_snapshots()
        .db_instance_identifier("orders")
        .snapshot_type("manual")
        .send()
        .await;
    let all = all.expect("describe");
    assert_eq!(all.db_snapshots().len(), 1, "{:?}", all.db_snapshots());
}

#[tokio::test]
async fn an_existing_snapshot_of_that_name_is_not_taken_for_a_fresh_one() {
    let aws = Aws::start().await;
    database(&aws, "orders").await;
    let rds = &aws.clients.aws(aws_sdk_rds::Client::new);
    rds.create_db_snapshot()
        .db_snapshot_identifier("before-deploy")
        .db_instance_identifier("orders")
        .send()
        .await
        .expect("an old snapshot");
    let step = Step::new(
        "rds.snapshot",
        json!({"instance": "orders", "snapshot_id": "before-deploy"}),
    );
    let failure = error(step.start(&aws).await);
    assert_eq!(failure.name, ErrorName::Precondition, "{failure}");
    assert!(failure.message.contains("before-deploy"), "{failure}");
}

#[tokio::test]
async fn snapshot_of_a_missing_instance_is_not_found_and_names_it() {
    let aws = Aws::start().await;
    let failure = error(
        Step::new("rds.snapshot", json!({"instance": "nope"}))
            .start(&aws)
            .await,
    );
    assert_eq!(failure.name, ErrorName::NotFound, "{failure}");
    assert!(
        failure.message.contains("`nope`") && failure.message.contains("DBInstanceNotFound"),
        "{failure}"
    );
}

#[tokio::test]
async fn restore_with_swap_keeps_the_id_copies_the_settings_and_keeps_the_original() {
    let aws = Aws::start().await;
    let original = database(&aws, "orders").await;
    let snapshot = snapshot(&aws, "orders").await;
    let restore = Step::new(
        "rds.restore",
        json!({"instance": "orders", "snapshot": snapshot, "swap": true}),
    );
    let out = output(restore.run(&aws).await);
    assert_eq!(str_of(&out, "instance_id"), "orders");
    assert_eq!(str_of(&out, "new_instance_id"), "orders");
    let parked = str_of(&out, "replaced_instance_id");
    assert!(parked.starts_with("orders-pre-rollback-"), "{parked}");

    let now = instance(&aws, "orders").await.expect("orders exists");
    assert_ne!(
        now.instance_create_time(),
        original.instance_create_time(),
        "`orders` is now the restored instance"
    );
    assert_eq!(differences(&original, &now), Vec::<String>::new());
    let endpoint = str_of(&out, "endpoint");
    assert_eq!(
        Some(endpoint),
        now.endpoint().and_then(|e| e.address()),
        "the output's endpoint is the one `orders` has now"
    );
    assert!(endpoint.starts_with("orders."), "{endpoint}");
    assert_eq!(str_of(&out, "snapshot"), snapshot);
    let kept = instance(&aws, parked)
        .await
        .expect("the original is kept, never deleted");
    assert_eq!(kept.instance_create_time(), original.instance_create_time());
    assert_eq!(
        kept.db_instance_status(),
        Some("stopped"),
        "the parked original takes no writes"
    );
    let notes = str_of(&out, "notes");
    assert!(
        notes.contains(&format!(
            "aws rds start-db-instance --db-instance-identifier {parked}"
        )) && notes.contains("DNS: up to 10 min."),
        "{notes}"
    );
    assert_eq!(instance_ids(&aws).await.len(), 2);
    // moto copies the snapshot's instance whole, so the comparison above would pass without the copy: the
    // request itself must carry every setting, as AWS restores only what it is given.
    let sent = aws.recorder.calls_of("RestoreDBInstanceFromDBSnapshot");
    let [restore] = sent.as_slice() else {
        panic!("one restore call: {sent:?}")
    };
    // (A setting the original does not show, such as moto's PubliclyAccessible, has nothing to copy.)
    let missing: Vec<&str> = COPIED
        .iter()
        .filter(|(_, read)| read(&original) != "None")
        .map(|(member, _)| *member)
        .filter(|member| {
            !restore
                .params
                .keys()
                .any(|k| k == member || k.starts_with(&format!("{member}.")))
        })
        .collect();
    assert_eq!(missing, Vec::<&str>::new(), "{:?}", restore.params);
}

#[tokio::test]
async fn a_restore_from_an_empty_snapshot_name_is_refused_before_any_call() {
    let aws = Aws::start().await;
    database(&aws, "orders").await;
    snapshot(&aws, "orders").await;
    let restore = Step::new("rds.restore", json!({"instance": "orders", "snapshot": ""}));
    let failure = error(restore.start(&aws).await);
    assert_eq!(failure.name, ErrorName::InvalidInput, "{failure}");
    assert!(failure.message.contains("`snapshot` is empty"), "{failure}");
    assert_eq!(instance_ids(&aws).await, ["orders"]);
}

/// RDS stores identifiers lowercase and allows 63 characters: the ids `rds.restore` derives, and the ARNs its
/// role names, come from `catalog::names` alike, so every call (each checked against the step's policy by the
/// recorder) stays within the role.
#[tokio::test]
async fn upper_case_and_63_character_names_get_ids_their_role_covers() {
    let long = format!("orders-{}", "x".repeat(56));
    for name in ["Orders", long.as_str()] {
        let aws = Aws::start().await;
        database(&aws, name).await;
        let snapshot = snapshot(&aws, name).await;
        let restore = Step::new(
            "rds.restore",
            json!({"instance": name, "snapshot": snapshot, "swap": true}),
        );
        let out = output(restore.run(&aws).await);
        let parked = str_of(&out, "replaced_instance_id");
        assert!(
            parked.len() <= 63
                && parked == parked.to_ascii_lowercase()
                && parked.contains("-pre-rollback-"),
            "{parked}"
        );
        assert!(instance(&aws, parked).await.is_some(), "{parked}");
    }
}

#[tokio::test]
async fn restore_without_swap_leaves_the_original_alone() {
    let aws = Aws::start().await;
    let original = database(&aws, "orders").await;
    let snapshot = snapshot(&aws, "orders").await;
    let restore = Step::new(
        "rds.restore",
        json!({"instance": "orders", "snapshot": snapshot, "new_instance": "orders-restored"}),
    );
    let out = output(restore.run(&aws).await);
    assert_eq!(str_of(&out, "instance_id"), "orders-restored");
    assert_eq!(str_of(&out, "replaced_instance_id"), "orders");
    let restored = instance(&aws, "orders-restored").await.expect("restored");
    assert_eq!(differences(&original, &restored), Vec::<String>::new());
    let untouched = instance(&aws, "orders").await.expect("original");
    assert_eq!(
        untouched.instance_create_time(),
        original.instance_create_time()
    );
}

#[tokio::test]
async fn a_retried_restore_start_restores_once() {
    let aws = Aws::start().await;
    database(&aws, "orders").await;
    let snapshot = snapshot(&aws, "orders").await;
    let restore = Step::new(
        "rds.restore",
        json!({"instance": "orders", "snapshot": snapshot}),
    );
    let first = restore.start(&aws).await.expect("first start");
    let second = restore.start(&aws).await.expect("retried start");
    assert_eq!(first.state, second.state);
    assert_eq!(
        instance_ids(&aws).await.len(),
        2,
        "{:?}",
        instance_ids(&aws).await
    );
    // An instance of that name that this step did not restore is not taken over.
    let other = Step::new(
        "rds.restore",
        json!({"instance": "orders", "snapshot": snapshot}),
    )
    .in_execution("run-2");
    let taken = json!({"instance": "orders", "snapshot": snapshot, "new_instance": instance_ids(&aws).await[1]});
    let failure = error(
        Step {
            params: taken,
            ..other
        }
        .start(&aws)
        .await,
    );
    assert_eq!(failure.name, ErrorName::Precondition, "{failure}");
}

#[tokio::test]
async fn restore_of_a_missing_snapshot_is_not_found() {
    let aws = Aws::start().await;
    database(&aws, "orders").await;
    let restore = Step::new(
        "rds.restore",
        json!({"instance": "orders", "snapshot": "gone"}),
    );
    let failure = error(restore.start(&aws).await);
    assert_eq!(failure.name, ErrorName::NotFound, "{failure}");
    assert!(failure.message.contains("`gone`"), "{failure}");
    assert_eq!(instance_ids(&aws).await, ["orders"]);
}

/// Every instance in moto with its status, for the failure messages and the record of what a swap left.
async fn instance_states(aws: &Aws) -> Vec<(String, String)> {
    let output = aws
        .clients
        .aws(aws_sdk_rds::Client::new)
        .describe_db_instances()
        .send()
        .await;
    let mut states: Vec<_> = output
        .expect("describe instances")
        .db_instances()
        .iter()
        .map(|i| {
            (
                i.db_instance_identifier().unwrap_or_default().to_owned(),
                i.db_instance_status().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    states.sort();
    states
}

/// The rename call of an instance or a cluster, and RDS's refusal while it is not available.
pub struct Rename {
    pub operation: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub refusal: &'static str,
}

pub const RENAME_INSTANCE: Rename = Rename {
    operation: "ModifyDBInstance",
    from: "DBInstanceIdentifier",
    to: "NewDBInstanceIdentifier",
    refusal: "InvalidDBInstanceState",
};

/// moto renames at once and never refuses; the proxy answers the rename of `from` to `to` (`from` any instance
/// when `None`) with RDS's refusal for an instance (or cluster) that is not available.
pub async fn refusing_renames_to(
    aws: &mut Aws,
    rename: Rename,
    from: Option<&str>,
    to: &str,
    times: Option<usize>,
) -> FaultProxy {
    let mut params = vec![
        ("Action", rename.operation.to_owned()),
        (rename.to, to.to_owned()),
    ];
    if let Some(from) = from {
        params.push((rename.from, from.to_owned()));
    }
    let proxy = FaultProxy::start(
        &aws.moto,
        Fault {
            params,
            status: 400,
            code: rename.refusal,
            message: "Database instance is not in available state.",
            times,
        },
    )
    .await;
    aws.clients = proxy.clients().await;
    proxy
}

#[tokio::test]
async fn a_rename_refused_while_an_instance_is_modifying_is_tried_again() {
    let mut aws = Aws::start().await;
    let original = database(&aws, "orders").await;
    let snapshot = snapshot(&aws, "orders").await;
    let proxy = refusing_renames_to(
        &mut aws,
        RENAME_INSTANCE,
        Some("orders-restored"),
        "orders",
        Some(1),
    )
    .await;
    let restore = Step::new(
        "rds.restore",
        json!({"instance": "orders", "snapshot": snapshot, "swap": true, "new_instance": "orders-restored"}),
    );
    let out = output(restore.run(&aws).await);
    assert_eq!(proxy.injected(), 1, "the second rename was refused once");
    assert_eq!(str_of(&out, "instance_id"), "orders");
    let now = instance(&aws, "orders").await.expect("orders exists");
    assert_ne!(
        now.instance_create_time(),
        original.instance_create_time(),
        "`orders` is the restored instance: {:?}",
        instance_states(&aws).await
    );
}

#[tokio::test]
async fn a_swap_that_cannot_finish_puts_the_original_back_and_says_where_each_instance_is() {
    let mut aws = Aws::start().await;
    let original = database(&aws, "orders").await;
    let snapshot = snapshot(&aws, "orders").await;
    // Only the restored instance's rename is refused; renaming the original back goes through.
    let proxy = refusing_renames_to(
        &mut aws,
        RENAME_INSTANCE,
        Some("orders-restored"),
        "orders",
        None,
    )
    .await;
    let restore = Step::new(
        "rds.restore",
        json!({"instance": "orders", "snapshot": snapshot, "swap": true, "new_instance": "orders-restored"}),
    );
    let (error, cause) = failure(restore.run(&aws).await);
    let states = instance_states(&aws).await;
    eprintln!("moto after a failed second rename: {states:?}\n{error}: {cause}");
    assert_eq!(error, "Stepback.Failed");
    assert_eq!(proxy.injected(), 3, "tried three times before giving up");
    let named = instance(&aws, "orders").await;
    assert_eq!(
        named.as_ref().and_then(|i| i.instance_create_time()),
        original.instance_create_time(),
        "the original carries its name again: {states:?}"
    );
    assert_eq!(
        states,
        [
            ("orders".to_owned(), "available".to_owned()),
            ("orders-restored".to_owned(), "available".to_owned())
        ]
    );
    assert!(
        cause.contains("the original was renamed back")
            && cause.contains("`orders` is the original instance (available)")
            && cause.contains("`orders-restored` is the restored instance (available)")
            && cause.contains("InvalidDBInstanceState"),
        "{cause}"
    );
}

#[tokio::test]
async fn a_failed_undo_says_first_that_no_instance_has_the_name() {
    let mut aws = Aws::start().await;
    database(&aws, "orders").await;
    let snapshot = snapshot(&aws, "orders").await;
    // Every rename to `orders` is refused, renaming the original back too.
    let _proxy = refusing_renames_to(&mut aws, RENAME_INSTANCE, None, "orders", None).await;
    let restore = Step::new(
        "rds.restore",
        json!({"instance": "orders", "snapshot": snapshot, "swap": true, "new_instance": "orders-restored"}),
    );
    let (error, cause) = failure(restore.run(&aws).await);
    assert_eq!(error, "Stepback.Failed");
    let states = instance_states(&aws).await;
    let parked = &states[0].0;
    assert!(parked.starts_with("orders-pre-rollback-"), "{states:?}");
    assert!(
        cause.contains(&format!(
            "Rename `{parked}` to `orders` by hand: no instance is named `orders`"
        )) && cause.contains(&format!("`{parked}` is the original instance (available)")),
        "{cause}"
    );
}

/// `notes` names every setting the restore could not copy, within the catalog's bound, cut by nothing: the
/// names are short, and what would not fit is counted and said to be in the function's log.
#[tokio::test]
async fn notes_name_every_setting_that_could_not_be_copied_within_their_bound() {
    let aws = Aws::start().await;
    let rds = aws.clients.aws(aws_sdk_rds::Client::new);
    let many_tags: Vec<Tag> = (0..50)
        .map(|i| Tag::builder().key(format!("team-{i}")).value("x").build())
        .collect();
    for id in ["orders", &format!("orders-{}", "x".repeat(56))] {
        rds.create_db_instance()
            .db_instance_identifier(id)
            .db_instance_class("db.r6g.large")
            .engine("postgres")
            .master_username("admin")
            .master_user_password("secret-password")
            .allocated_storage(20)
            .max_allocated_storage(1000)
            .monitoring_interval(60)
            .monitoring_role_arn("arn:aws:iam::123456789012:role/rds-monitoring")
            .set_tags(Some(many_tags.clone()))
            .send()
            .await
            .expect("instance");
    }
    let mut all = Vec::new();
    for (n, id) in ["orders", &format!("orders-{}", "x".repeat(56))]
        .into_iter()
        .enumerate()
    {
        let snapshot = format!("before-{n}");
        rds.create_db_snapshot()
            .db_snapshot_identifier(&snapshot)
            .db_instance_identifier(id)
            .send()
            .await
            .expect("snapshot");
        let restore = Step::new(
            "rds.restore",
            json!({"instance": id, "snapshot": snapshot, "swap": true}),
        );
        let out = output(restore.run(&aws).await);
        let notes = str_of(&out, "notes").to_owned();
        let bound = catalog::action("rds.restore")
            .and_then(|a| a.output("notes"))
            .map(|o| o.max_bytes)
            .expect("a bound");
        assert!(json!(notes).to_string().len() <= bound, "{notes}");
        assert!(!notes.contains('…'), "{notes}");
        all.push(notes);
    }
    // The parked id is RDS's longest for the 63-character original, and every name still fits; more names than
    // fit (Performance Insights too, which moto does not keep) are counted: the unit test of `notes`.
    for (notes, parked) in all.iter().zip([
        "orders-pre-rollback-".to_owned(),
        format!("orders-{}-pre-rollback-", "x".repeat(34)),
    ]) {
        assert!(
            notes.contains(&format!(
                "aws rds start-db-instance --db-instance-identifier {parked}"
            )) && notes.ends_with(
                "DNS: up to 10 min. Not copied: 2 tags, enhanced monitoring, storage autoscaling."
            ),
            "{notes}"
        );
    }
}
