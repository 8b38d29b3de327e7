//! Customer-managed KMS keys: `stepback preflight` reports a key that RDS or SNS cannot use for the step's role.
//! The use itself (RDS's `kms:CreateGrant`, SNS's `kms:GenerateDataKey`) is made by the service, never by the
//! function, so no test here can record it (`iam::EVIDENCE`); what a check sees is the key's state, in moto, and
//! a refusal, from aws-smithy-mocks (moto does not enforce IAM or key policies).

use serde_json::{Value, json};

use crate::{Aws, Step, output};

/// moto's DisableKey and ScheduleKeyDeletion find a key by its id only (an ARN answers 500).
fn id(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// A customer-managed symmetric key, by ARN as RDS and SNS name it.
pub async fn key(aws: &Aws) -> String {
    aws.clients
        .aws(aws_sdk_kms::Client::new)
        .create_key()
        .description("orders")
        .send()
        .await
        .expect("key")
        .key_metadata
        .expect("metadata")
        .arn
        .expect("arn")
}

async fn findings(aws: &Aws, step: &Step) -> Vec<Value> {
    let out = output(crate::invoke(aws, step.action, step.payload("check", None)).await);
    out["findings"].as_array().expect("findings").clone()
}

/// The finding about `key`, the only one about it.
fn about(findings: &[Value], key: &str) -> Value {
    let about: Vec<&Value> = findings
        .iter()
        .filter(|f| f["resource"] == format!("KMS key `{key}`"))
        .collect();
    assert_eq!(about.len(), 1, "one finding about the key: {findings:#?}");
    about[0].clone()
}

#[tokio::test]
async fn preflight_reports_a_database_key_that_is_disabled_or_pending_deletion() {
    let aws = Aws::start().await;
    let key = crate::rds::database(&aws, "orders")
        .await
        .kms_key_id
        .expect("a key");
    let snapshot = Step::new("rds.snapshot", json!({"instance": "orders"}));
    let restore = Step::new(
        "rds.restore",
        json!({"instance": "orders", "snapshot": "before", "swap": true}),
    );
    aws.clients
        .aws(aws_sdk_rds::Client::new)
        .create_db_snapshot()
        .db_snapshot_identifier("before")
        .db_instance_identifier("orders")
        .send()
        .await
        .expect("snapshot");
    let enabled = about(&findings(&aws, &snapshot).await, &key);
    assert_eq!(enabled["verdict"], "ok", "{enabled}");
    assert_eq!(enabled["detail"], "enabled", "{enabled}");
    // The snapshot, encrypted under the original's key, is said once.
    assert_eq!(
        about(&findings(&aws, &restore).await, &key)["verdict"],
        "ok"
    );

    let kms = aws.clients.aws(aws_sdk_kms::Client::new);
    kms.disable_key()
        .key_id(id(&key))
        .send()
        .await
        .expect("disable");
    for step in [&snapshot, &restore] {
        let disabled = about(&findings(&aws, step).await, &key);
        assert_eq!(disabled["verdict"], "not_ready", "{disabled}");
        assert_eq!(
            disabled["detail"], "disabled: rds cannot use it for this step",
            "{disabled}"
        );
        assert_eq!(
            disabled["fix"],
            format!("enable it (`aws kms enable-key --key-id {key}`)"),
            "{disabled}"
        );
    }
    kms.schedule_key_deletion()
        .key_id(id(&key))
        .pending_window_in_days(7)
        .send()
        .await
        .expect("schedule deletion");
    let deleted = about(&findings(&aws, &snapshot).await, &key);
    assert_eq!(deleted["verdict"], "not_ready", "{deleted}");
    let detail = deleted["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("pending deletion on ")
            && detail.ends_with("what it encrypts is lost with it"),
        "{deleted}"
    );
    assert!(
        deleted["fix"]
            .as_str()
            .is_some_and(|f| f.contains("aws kms cancel-key-deletion")),
        "{deleted}"
    );
}

#[tokio::test]
async fn preflight_reports_an_encrypted_topic_s_disabled_key() {
    let aws = Aws::start().await;
    let key = key(&aws).await;
    let (topic, _subscriber) = crate::notify::topic(&aws).await;
    aws.clients
        .aws(aws_sdk_sns::Client::new)
        .set_topic_attributes()
        .topic_arn(&topic)
        .attribute_name("KmsMasterKeyId")
        .attribute_value(&key)
        .send()
        .await
        .expect("encrypt the topic");
    let notify = Step::new("notify", json!({"topic": topic, "message": "m"}));
    let approval = Step::new("approval", json!({"topic": topic, "message": "m"}));
    for step in [&notify, &approval] {
        assert_eq!(about(&findings(&aws, step).await, &key)["verdict"], "ok");
    }
    aws.clients
        .aws(aws_sdk_kms::Client::new)
        .disable_key()
        .key_id(id(&key))
        .send()
        .await
        .expect("disable");
    let disabled = about(&findings(&aws, &notify).await, &key);
    assert_eq!(disabled["verdict"], "not_ready", "{disabled}");
    assert_eq!(
        disabled["detail"], "disabled: sns cannot use it for this step",
        "{disabled}"
    );
}

/// A key policy that does not let the role in refuses DescribeKey as it refuses RDS's grant: moto enforces no key
/// policy, so KMS's answer comes from aws-smithy-mocks, behind the read-only guard.
#[tokio::test]
async fn preflight_says_which_key_the_role_may_not_use_and_where_to_allow_it() {
    use aws_sdk_kms::Client;
    use aws_smithy_mocks::{RuleMode, mock};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use ::tests::mock_client;

    let aws = Aws::start().await;
    let key = crate::rds::database(&aws, "orders")
        .await
        .kms_key_id
        .expect("a key");
    let refused = mock!(Client::describe_key).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            StatusCode::try_from(400).expect("status"),
            SdkBody::from(
                r#"{"__type":"AccessDeniedException","message":"User: arn:aws:sts::123456789012:assumed-role/FnRdsSnapshotRole/f is not authorized to perform: kms:DescribeKey on this resource because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access"}"#,
            ),
        )
    });
    aws.clients.read_only().insert(mock_client!(
        aws_sdk_kms,
        RuleMode::Sequential,
        [&refused],
        |c| c.http_client(lambdas::read_only::ReadOnly::new(
            aws_smithy_runtime_api::client::http::SharedHttpClient::new(aws.recorder.mocked())
        ))
    ));
    let step = Step::new("rds.snapshot", json!({"instance": "orders"}));
    let denied = about(&findings(&aws, &step).await, &key);
    assert_eq!(denied["verdict"], "denied", "{denied}");
    assert!(
        denied["detail"].as_str().is_some_and(|d| d
            .starts_with("the function's role may not use the key: ")
            && d.contains("AccessDeniedException")),
        "{denied}"
    );
    assert!(
        denied["fix"]
            .as_str()
            .is_some_and(|f| f.contains("key policy") && f.contains("kms:CreateGrant through rds")),
        "{denied}"
    );
    assert_eq!(refused.num_calls(), 1);
}
