//! `stepback deploy` without the printing: upload the Lambda zip by its content hash, then create or update the
//! stack through a change set, and follow it until it settles. Progress goes to a callback as data.

use std::time::Duration;

use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, StackStatus,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::aws::{self, AwsError, Call, Session};

/// The command that writes the zip `deploy` uploads by default (`lambdas/README.md`).
pub const BUILD_ZIP: &str =
    "cargo lambda build -p lambdas --bin bootstrap --arm64 --profile lambda --output-format zip";
/// Where that command writes it, relative to the workspace.
pub const DEFAULT_ZIP: &str = "target/lambda/bootstrap/bootstrap.zip";

/// How often the stack is looked at while it changes: soon at first (an emulator, or a small change, is done in
/// moments), then every 2 s.
const POLL: [Duration; 4] = [
    Duration::from_millis(100),
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(2),
];

/// The wait before the `n`th look.
fn poll(n: &mut usize) -> Duration {
    let wait = POLL[(*n).min(POLL.len() - 1)];
    *n += 1;
    wait
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(
        "stack `{stack}` is in ROLLBACK_COMPLETE: its first creation failed and CloudFormation cannot update it; delete it (`aws cloudformation delete-stack --stack-name {stack}`) and deploy again"
    )]
    RollbackComplete { stack: String },
    #[error("stack `{stack}` is busy ({status}); wait until it settles and deploy again")]
    Busy { stack: String, status: String },
    #[error(
        "bucket `{bucket}` belongs to another account or denies this one; pass --bucket with a bucket of yours"
    )]
    ForeignBucket { bucket: String },
    #[error(
        "`{workflow}` has ECS steps, whose functions pass the task's roles, and none could be read from its services and task definitions\n  help: pass --task-role ARN for each task and execution role its task definitions name"
    )]
    NoTaskRoles { workflow: String },
    #[error("the change set failed: {reason}")]
    ChangeSetFailed { reason: String },
    #[error("the stack ended in {status}: {resource}: {reason}")]
    StackFailed {
        status: String,
        resource: String,
        reason: String,
    },
}

/// What to deploy.
pub struct Deployment<'a> {
    pub stack: &'a str,
    /// The template `stepback template` writes.
    pub template: &'a Json,
    pub zip: &'a [u8],
    /// Without it, `stepback-artifacts-<account>-<region>`, created once.
    pub bucket: Option<&'a str>,
    /// `TaskRoleArns`, for workflows with ECS steps.
    pub task_roles: &'a [String],
}

/// CREATE for a new stack, UPDATE for one that can take it; a stack that cannot is the user's to clear.
fn change_set_type(
    stack: &str,
    existing: Option<&StackStatus>,
) -> Result<ChangeSetType, DeployError> {
    match existing {
        None => Ok(ChangeSetType::Create),
        Some(StackStatus::RollbackComplete) => Err(DeployError::RollbackComplete {
            stack: stack.to_owned(),
        }),
        Some(status) if status.as_str().ends_with("_IN_PROGRESS") => Err(DeployError::Busy {
            stack: stack.to_owned(),
            status: status.as_str().to_owned(),
        }),
        // moto, like CloudFormation, wants UPDATE said for an existing stack.
        Some(_) => Ok(ChangeSetType::Update),
    }
}

/// One resource change of the change set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Add, Modify, Remove, Import, Dynamic.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False` or `Conditional`, for a Modify.
    pub replacement: Option<String>,
}

/// Progress, as it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    BucketCreated(String),
    Uploaded {
        key: String,
        bytes: usize,
    },
    AlreadyUploaded(String),
    /// A stack event: time, logical id, status, reason.
    Event {
        time: String,
        resource: String,
        status: String,
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to change: the stack already is what the template says.
    NoChanges,
    Deployed {
        status: String,
        outputs: Vec<(String, String)>,
    },
    /// The caller declined the change set.
    Declined,
}

/// Uploads the zip, then creates or updates the stack. `confirm` sees the changes before they are executed and
/// may decline them.
pub async fn deploy(
    session: &Session,
    deployment: &Deployment<'_>,
    mut progress: impl FnMut(Progress),
    confirm: impl FnOnce(&[Change]) -> bool,
) -> Result<Outcome, DeployError> {
    let s3 = aws_sdk_s3::Client::new(&session.config);
    let cfn = aws_sdk_cloudformation::Client::new(&session.config);
    let region = session
        .config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let bucket = match deployment.bucket {
        Some(bucket) => bucket.to_owned(),
        None => {
            let account = aws::caller(session).await?.account;
            let bucket = format!("stepback-artifacts-{account}-{region}");
            if ensure_bucket(&s3, &bucket, &region).await? {
                progress(Progress::BucketCreated(bucket.clone()));
            }
            bucket
        }
    };
    let digest: String = Sha256::digest(deployment.zip)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let code_key = format!("stepback/bootstrap-{digest}.zip");
    if upload_once(&s3, &bucket, &code_key, deployment.zip.to_vec()).await? {
        progress(Progress::Uploaded {
            key: code_key.clone(),
            bytes: deployment.zip.len(),
        });
    } else {
        progress(Progress::AlreadyUploaded(code_key.clone()));
    }
    // The definition as a string with `Fn::Sub`, which CloudFormation and the emulator both read (moto ignores
    // a `Definition` object). TemplateBody takes 51,200 bytes, less than a definition can be: the template goes
    // through S3 too.
    let template = compiler::template::with_definition_string(deployment.template).to_string();
    let template_digest: String = Sha256::digest(template.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let template_key = format!(
        "stepback/{}-{template_digest}.template.json",
        deployment.stack
    );
    upload_once(&s3, &bucket, &template_key, template.into_bytes()).await?;
    let template_url = format!("https://{bucket}.s3.{region}.amazonaws.com/{template_key}");

    let existing = stack_status(&cfn, deployment.stack).await?;
    let change_set_type = change_set_type(deployment.stack, existing.as_ref())?;
    let mut parameters = vec![
        parameter("CodeBucket", &bucket),
        parameter("CodeKey", &code_key),
    ];
    if deployment.template["Parameters"]
        .get(compiler::iam::TASK_ROLES_PARAMETER)
        .is_some()
    {
        parameters.push(parameter(
            compiler::iam::TASK_ROLES_PARAMETER,
            &deployment.task_roles.join(","),
        ));
    }
    let name = format!("stepback-{}", &digest[..12]);
    let created = cfn
        .create_change_set()
        .stack_name(deployment.stack)
        .change_set_name(format!("{name}-{}", &template_digest[..8]))
        .change_set_type(change_set_type)
        .template_url(&template_url)
        .set_parameters(Some(parameters))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .map_err(|e| aws::explain(&e, CFN_CREATE_CHANGE_SET))?;
    let change_set = created.id().unwrap_or_default().to_owned();
    // Not the SDK's `wait_until_change_set_create_complete`: the service model's waiter looks every 30 s
    // (`aws cloudformation wait change-set-create-complete`: "It will poll every 30 seconds"), so a change set
    // ready in 3 s would be seen at 30; this loop sees it within 2 s.
    let mut looks = 0;
    let changes = loop {
        let described = cfn
            .describe_change_set()
            .change_set_name(&change_set)
            .stack_name(deployment.stack)
            .send()
            .await
            .map_err(|e| aws::explain(&e, CFN_DESCRIBE_CHANGE_SET))?;
        match described.status() {
            Some(ChangeSetStatus::CreateComplete) => {
                break described
                    .changes()
                    .iter()
                    .filter_map(|c| c.resource_change())
                    .map(|c| Change {
                        action: c
                            .action()
                            .map(|a| a.as_str().to_owned())
                            .unwrap_or_default(),
                        logical_id: c.logical_resource_id().unwrap_or_default().to_owned(),
                        resource_type: c.resource_type().unwrap_or_default().to_owned(),
                        replacement: c.replacement().map(|r| r.as_str().to_owned()),
                    })
                    .collect::<Vec<_>>();
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = described.status_reason().unwrap_or_default().to_owned();
                // CloudFormation's words for an update that changes nothing.
                if reason.contains("didn't contain changes") || reason.contains("No updates") {
                    return Ok(Outcome::NoChanges);
                }
                return Err(DeployError::ChangeSetFailed { reason });
            }
            _ => tokio::time::sleep(poll(&mut looks)).await,
        }
    };
    // moto answers an update that changes nothing with an empty change set instead of a failed one.
    if changes.is_empty() && existing.is_some() {
        return Ok(Outcome::NoChanges);
    }
    if !confirm(&changes) {
        return Ok(Outcome::Declined);
    }
    let started = std::time::SystemTime::now();
    cfn.execute_change_set()
        .change_set_name(&change_set)
        .stack_name(deployment.stack)
        .send()
        .await
        .map_err(|e| aws::explain(&e, CFN_EXECUTE_CHANGE_SET))?;
    follow(&cfn, deployment.stack, started, &mut progress).await
}

const CFN_CREATE_CHANGE_SET: Call = Call::new("CloudFormation", "cloudformation:CreateChangeSet");
const CFN_DESCRIBE_CHANGE_SET: Call =
    Call::new("CloudFormation", "cloudformation:DescribeChangeSet");
const CFN_EXECUTE_CHANGE_SET: Call = Call::new("CloudFormation", "cloudformation:ExecuteChangeSet");
const CFN_DESCRIBE_STACKS: Call = Call::new("CloudFormation", "cloudformation:DescribeStacks");
const CFN_DESCRIBE_STACK_EVENTS: Call =
    Call::new("CloudFormation", "cloudformation:DescribeStackEvents");

fn parameter(key: &str, value: &str) -> Parameter {
    Parameter::builder()
        .parameter_key(key)
        .parameter_value(value)
        .build()
}

/// The stack's status; `None` when there is no such stack.
async fn stack_status(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Result<Option<StackStatus>, AwsError> {
    match cfn.describe_stacks().stack_name(stack).send().await {
        Ok(out) => Ok(out.stacks().first().and_then(|s| s.stack_status()).cloned()),
        // CloudFormation answers a missing stack with a ValidationError that says so.
        Err(e)
            if aws_smithy_types::error::metadata::ProvideErrorMetadata::message(&e)
                .is_some_and(|m| m.contains("does not exist")) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws::explain(&e, CFN_DESCRIBE_STACKS)),
    }
}

/// The stack's outputs, by key.
pub async fn outputs(session: &Session, stack: &str) -> Result<Vec<(String, String)>, AwsError> {
    outputs_of(&aws_sdk_cloudformation::Client::new(&session.config), stack).await
}

/// The ARN of the stack's state machine: its `StateMachineArn` output, else its `StateMachine` resource (moto
/// keeps no outputs for a stack made through a change set).
/// The workflow's TOML source as `stepback deploy` (or `stepback template`) recorded it in the stack's template
/// (`compiler::template::WORKFLOW_METADATA`): the workflow the stack was deployed from.
pub async fn deployed_workflow(session: &Session, stack: &str) -> Result<String, AwsError> {
    let template = aws_sdk_cloudformation::Client::new(&session.config)
        .get_template()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            aws::explain(
                &e,
                Call::new("CloudFormation", "cloudformation:GetTemplate"),
            )
        })?;
    let body: Json = template
        .template_body()
        .and_then(|body| serde_json::from_str(body).ok())
        .unwrap_or(Json::Null);
    compiler::template::workflow_source(&body)
        .map(str::to_owned)
        .ok_or_else(|| AwsError::Other {
            action: "cloudformation:GetTemplate".into(),
            reason: format!(
                "stack `{stack}`'s template keeps no stepback workflow (Metadata.Stepback.Workflow): redeploy it \
                 with `stepback deploy`, or give the workflow FILE"
            ),
        })
}

pub async fn state_machine_arn(session: &Session, stack: &str) -> Result<String, AwsError> {
    let cfn = aws_sdk_cloudformation::Client::new(&session.config);
    if let Some((_, arn)) = outputs_of(&cfn, stack)
        .await?
        .into_iter()
        .find(|(key, _)| key == "StateMachineArn")
    {
        return Ok(arn);
    }
    // Not DescribeStackResource: moto answers it 500 once the stack holds a resource type its CloudFormation
    // skipped (`AWS::CloudWatch::Alarm`), and then gives the stack no outputs either.
    crate::readiness::resources(session, stack, "AWS::StepFunctions::StateMachine")
        .await?
        .remove("StateMachine")
        .ok_or_else(|| AwsError::Other {
            action: "cloudformation:ListStackResources".into(),
            reason: format!(
                "stack `{stack}` has no state machine: was it made by `stepback deploy`?"
            ),
        })
}

/// Reports each new stack event until the stack settles; a failed stack names its first failed resource.
async fn follow(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
    since: std::time::SystemTime,
    progress: &mut impl FnMut(Progress),
) -> Result<Outcome, DeployError> {
    let mut seen = std::collections::HashSet::new();
    let mut looks = 0;
    let mut first_failure: Option<(String, String)> = None;
    loop {
        let events = cfn
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| aws::explain(&e, CFN_DESCRIBE_STACK_EVENTS))?;
        // Newest first: report them oldest first.
        for event in events.stack_events().iter().rev() {
            let after_start = event
                .timestamp()
                .and_then(|t| std::time::SystemTime::try_from(*t).ok())
                .is_none_or(|t| t + Duration::from_secs(1) >= since);
            let id = event.event_id().unwrap_or_default().to_owned();
            if !after_start || !seen.insert(id) {
                continue;
            }
            let status = event
                .resource_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default();
            let resource = event.logical_resource_id().unwrap_or_default().to_owned();
            let reason = event
                .resource_status_reason()
                .unwrap_or_default()
                .to_owned();
            if status.ends_with("_FAILED") && first_failure.is_none() {
                first_failure = Some((resource.clone(), reason.clone()));
            }
            progress(Progress::Event {
                time: event.timestamp().map(|t| t.to_string()).unwrap_or_default(),
                resource,
                status,
                reason,
            });
        }
        let status = stack_status(cfn, stack).await?;
        let status = status.map(|s| s.as_str().to_owned()).unwrap_or_default();
        if status.ends_with("_IN_PROGRESS") {
            tokio::time::sleep(poll(&mut looks)).await;
            continue;
        }
        if status.ends_with("_COMPLETE") && !status.contains("ROLLBACK") {
            let outputs = outputs_of(cfn, stack).await?;
            return Ok(Outcome::Deployed { status, outputs });
        }
        let (resource, reason) =
            first_failure.unwrap_or_else(|| (stack.to_owned(), status.clone()));
        return Err(DeployError::StackFailed {
            status,
            resource,
            reason,
        });
    }
}

async fn outputs_of(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Result<Vec<(String, String)>, AwsError> {
    let out = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| aws::explain(&e, CFN_DESCRIBE_STACKS))?;
    Ok(out
        .stacks()
        .first()
        .map(|s| {
            s.outputs()
                .iter()
                .map(|o| {
                    (
                        o.output_key().unwrap_or_default().to_owned(),
                        o.output_value().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Creates the artifact bucket as `sam deploy --resolve-s3` does: versioned, encrypted, public access blocked.
/// `false` when it exists already and is ours.
async fn ensure_bucket(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    region: &str,
) -> Result<bool, DeployError> {
    const HEAD: Call = Call::new("S3", "s3:ListBucket");
    const CREATE: Call = Call::new("S3", "s3:CreateBucket");
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => return Ok(false),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => {
            return Err(DeployError::ForeignBucket {
                bucket: bucket.to_owned(),
            });
        }
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {}
        Err(e) => return Err(aws::explain(&e, HEAD).into()),
    }
    let mut create = s3.create_bucket().bucket(bucket);
    // us-east-1 takes no location constraint.
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create.send().await.map_err(|e| aws::explain(&e, CREATE))?;
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws::explain(&e, Call::new("S3", "s3:PutBucketVersioning")))?;
    let encryption = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .map_err(|e| AwsError::Other {
            action: "s3:PutEncryptionConfiguration".into(),
            reason: e.to_string(),
        })?;
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(encryption)
                        .build(),
                )
                .build()
                .map_err(|e| AwsError::Other {
                    action: "s3:PutEncryptionConfiguration".into(),
                    reason: e.to_string(),
                })?,
        )
        .send()
        .await
        .map_err(|e| aws::explain(&e, Call::new("S3", "s3:PutEncryptionConfiguration")))?;
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws::explain(&e, Call::new("S3", "s3:PutBucketPublicAccessBlock")))?;
    Ok(true)
}

/// Puts the object unless one is already under the key; keys hold content hashes, so same key = same bytes.
async fn upload_once(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
) -> Result<bool, AwsError> {
    if s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok()
    {
        return Ok(false);
    }
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(|e| aws::explain(&e, Call::new("S3", "s3:PutObject")))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// moto never leaves a stack in ROLLBACK_COMPLETE, so the decision is tested on its own.
    #[test]
    fn a_rolled_back_stack_says_how_to_clear_it() {
        let error = change_set_type("web", Some(&StackStatus::RollbackComplete))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("aws cloudformation delete-stack --stack-name web"),
            "{error}"
        );
        assert!(matches!(
            change_set_type("web", Some(&StackStatus::UpdateInProgress)),
            Err(DeployError::Busy { .. })
        ));
        assert_eq!(
            change_set_type("web", Some(&StackStatus::UpdateRollbackComplete)).ok(),
            Some(ChangeSetType::Update)
        );
        assert_eq!(
            change_set_type("web", None).ok(),
            Some(ChangeSetType::Create)
        );
    }
}
