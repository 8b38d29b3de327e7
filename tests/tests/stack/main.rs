//! The webapp example's stack, deployed by moto 5.2.5's CloudFormation: what it creates, how it updates, and the
//! alarm rule matching real event documents.
//!
//! What is adapted for moto, and why (`../shared/AWS-FACTS.md`, measured):
//! - The template goes through [`compiler::template::with_definition_string`], as `stepback deploy` sends it:
//!   moto ignores a `Definition` object and `DefinitionSubstitutions` (the machine comes back empty), so the same
//!   definition becomes a `DefinitionString` with `Fn::Sub`. The `Definition` object stays in `infra/`, where
//!   cfn-lint checks the ASL.
//! - Nothing else: the template refers to its state machine with `Ref`, which moto resolves (its
//!   `Fn::GetAtt StateMachine.Arn` fails the whole stack; real CloudFormation has both).
//! - The change set is made with `ChangeSetType=UPDATE`, which moto does not infer for an existing stack. moto
//!   leaves `Replacement` empty, so the physical ids before and after are what prove nothing was replaced.
//! - moto stores a role's inline policy as Python's text of the dict, single quotes and all; [`policy`] reads it.
//! - moto's log group `Arn` has no `:*` suffix; [`Stack::resolve`] resolves it the same way.
//! - moto's EventBridge answers 500 for a Step Functions target and starts nothing, so the rule's target is
//!   checked, then swapped for an SQS queue that observes what the rule matches. The compiled machine runs with
//!   the same event in `tests/tests/state_machine` (moto's interpreter cannot run our functions from here).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_cloudformation::types::{
    Capability, ChangeAction, ChangeSetStatus, ChangeSetType, Parameter, Replacement, StackStatus,
};
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value as Json, json};

const ACCOUNT: &str = "123456789012";
const STACK: &str = "webapp-rollback";
const CODE_BUCKET: &str = "stepback-code";
const CODE_KEY: &str = "stepback/bootstrap.zip";
const TASK_ROLE: &str = "arn:aws:iam::123456789012:role/webapp-task";

struct Aws {
    cloudformation: aws_sdk_cloudformation::Client,
    s3: aws_sdk_s3::Client,
    lambda: aws_sdk_lambda::Client,
    iam: aws_sdk_iam::Client,
    sfn: aws_sdk_sfn::Client,
    events: aws_sdk_eventbridge::Client,
    sqs: aws_sdk_sqs::Client,
}

impl Aws {
    async fn new(moto: &tests::Moto) -> Aws {
        let config = moto.sdk_config().await;
        // moto serves buckets by path: a virtual-host bucket name would not resolve to the loopback address.
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build();
        Aws {
            cloudformation: aws_sdk_cloudformation::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3),
            lambda: aws_sdk_lambda::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            sfn: aws_sdk_sfn::Client::new(&config),
            events: aws_sdk_eventbridge::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
        }
    }
}

/// The example, compiled as `stepback template` compiles it, with `edit` applied to its source first.
struct Build {
    workflow: workflow::Workflow,
    compiled: compiler::Compiled,
    template: Json,
}

fn build(edit: impl Fn(&str) -> String) -> Build {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/webapp-rollback.toml"
    );
    let source = edit(&std::fs::read_to_string(path).expect("the example"));
    let workflow = workflow::check(&source)
        .workflow
        .expect("the example is valid");
    let compiled =
        compiler::compile(&workflow, &compiler::Options::default()).expect("the example compiles");
    let template = compiler::template::template(&workflow, &compiled, &source);
    Build {
        workflow,
        compiled,
        template,
    }
}

/// The stack's resources as CloudFormation reports them.
struct Stack {
    /// Logical id → (type, physical id).
    resources: BTreeMap<String, (String, String)>,
}

impl Stack {
    async fn read(aws: &Aws) -> Stack {
        let listed = aws
            .cloudformation
            .list_stack_resources()
            .stack_name(STACK)
            .send()
            .await
            .expect("ListStackResources");
        let resources = listed
            .stack_resource_summaries()
            .iter()
            .map(|r| {
                (
                    r.logical_resource_id().unwrap_or_default().to_owned(),
                    (
                        r.resource_type().unwrap_or_default().to_owned(),
                        r.physical_resource_id().unwrap_or_default().to_owned(),
                    ),
                )
            })
            .collect();
        Stack { resources }
    }

    fn physical(&self, id: &str) -> &str {
        &self
            .resources
            .get(id)
            .unwrap_or_else(|| panic!("the stack has no {id}: {:?}", self.resources.keys()))
            .1
    }

    /// `Fn::GetAtt [id, Arn]` as this stack resolves it.
    fn arn(&self, id: &str) -> String {
        let (kind, physical) = &self.resources[id];
        match kind.as_str() {
            "AWS::IAM::Role" => format!("arn:aws:iam::{ACCOUNT}:role/{physical}"),
            "AWS::Lambda::Function" => {
                format!(
                    "arn:aws:lambda:{}:{ACCOUNT}:function:{physical}",
                    tests::REGION
                )
            }
            // Real CloudFormation appends `:*`; moto does not.
            "AWS::Logs::LogGroup" => {
                format!(
                    "arn:aws:logs:{}:{ACCOUNT}:log-group:{physical}",
                    tests::REGION
                )
            }
            other => panic!("no Arn for {id} of type {other}"),
        }
    }

    /// The intrinsics that the template's policies use, filled as this stack fills them.
    fn resolve(&self, value: &Json) -> Json {
        match value {
            Json::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().expect("one entry");
                match key.as_str() {
                    "Fn::Sub" => json!(
                        arg.as_str()
                            .expect("Fn::Sub of a string")
                            .replace("${AWS::Partition}", "aws")
                            .replace("${AWS::Region}", tests::REGION)
                            .replace("${AWS::AccountId}", ACCOUNT)
                            .replace("${AWS::URLSuffix}", "amazonaws.com")
                    ),
                    "Fn::GetAtt" => {
                        assert_eq!(arg[1], "Arn", "{value}");
                        json!(self.arn(arg[0].as_str().unwrap_or_default()))
                    }
                    "Ref" if arg == compiler::iam::TASK_ROLES_PARAMETER => json!([TASK_ROLE]),
                    "Ref" => json!(self.physical(arg.as_str().unwrap_or_default())),
                    _ => json!({ key: self.resolve(arg) }),
                }
            }
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.resolve(v)))
                    .collect(),
            ),
            Json::Array(items) => Json::Array(items.iter().map(|v| self.resolve(v)).collect()),
            other => other.clone(),
        }
    }
}

fn parameters() -> Vec<Parameter> {
    [
        ("CodeBucket", CODE_BUCKET),
        ("CodeKey", CODE_KEY),
        (compiler::iam::TASK_ROLES_PARAMETER, TASK_ROLE),
    ]
    .into_iter()
    .map(|(key, value)| {
        Parameter::builder()
            .parameter_key(key)
            .parameter_value(value)
            .build()
    })
    .collect()
}

async fn stack_status(aws: &Aws) -> StackStatus {
    for _ in 0..100 {
        let described = aws
            .cloudformation
            .describe_stacks()
            .stack_name(STACK)
            .send()
            .await
            .expect("DescribeStacks");
        let stack = &described.stacks()[0];
        let status = stack.stack_status().expect("a status").clone();
        if !status.as_str().ends_with("_IN_PROGRESS") {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{STACK} still in progress after 10 s");
}

#[tokio::test]
async fn webapp_stack_deploys_updates_and_triggers_in_moto() {
    let moto = tests::Moto::start();
    let aws = Aws::new(&moto).await;
    // moto does not run the code, so any bytes serve as the zip; the functions must find it in S3.
    aws.s3
        .create_bucket()
        .bucket(CODE_BUCKET)
        .send()
        .await
        .expect("CreateBucket");
    aws.s3
        .put_object()
        .bucket(CODE_BUCKET)
        .key(CODE_KEY)
        .body(b"PK\x05\x06 not a real zip".to_vec().into())
        .send()
        .await
        .expect("PutObject");

    // What a user deploys: the template kept in infra/ (a compiler test keeps it equal to `stepback template`).
    let original = build(str::to_owned);
    let infra = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/webapp-rollback.template.json"
    );
    let committed: Json =
        serde_json::from_str(&std::fs::read_to_string(infra).expect("infra/ template"))
            .expect("infra/ template is JSON");
    assert_eq!(committed, original.template, "infra/ is stale");
    aws.cloudformation
        .create_stack()
        .stack_name(STACK)
        .template_body(compiler::template::with_definition_string(&committed).to_string())
        .set_parameters(Some(parameters()))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .expect("CreateStack");
    assert_eq!(stack_status(&aws).await, StackStatus::CreateComplete);
    let created = Stack::read(&aws).await;
    let template_ids: Vec<&String> = committed["Resources"]
        .as_object()
        .expect("resources")
        .keys()
        .collect();
    // moto lists each resource it skipped with an empty logical id.
    let stack_ids: Vec<&String> = created
        .resources
        .keys()
        .filter(|id| !id.is_empty())
        .collect();
    let mut sorted_template_ids: Vec<&String> = template_ids
        .iter()
        .copied()
        .filter(|id| {
            !MOTO_SKIPS.contains(
                &committed["Resources"][id.as_str()]["Type"]
                    .as_str()
                    .unwrap_or_default(),
            )
        })
        .collect();
    sorted_template_ids.sort();
    assert_eq!(stack_ids, sorted_template_ids, "every resource is created");

    check_functions(&aws, &created, &original).await;
    check_roles(&aws, &created, &committed).await;
    check_state_machine(&aws, &created, &original).await;
    check_rule(&aws, &created, &original).await;
    check_readiness(&aws, &moto, &created, &committed, &original).await;

    update(&aws, &created).await;
    trigger(&aws, &created, &original).await;
}

/// One function per action the workflow uses: its code, runtime, sizes from the catalog, `STEPBACK_ACTION`,
/// and its own role.
async fn check_functions(aws: &Aws, stack: &Stack, build: &Build) {
    let functions = compiler::template::functions(&build.workflow);
    let deployed = stack
        .resources
        .values()
        .filter(|(kind, _)| kind == "AWS::Lambda::Function")
        .count();
    assert_eq!(deployed, functions.len(), "one function per action");
    for (action, _) in functions {
        let id = compiler::template::function_id(action);
        let got = aws
            .lambda
            .get_function()
            .function_name(stack.physical(&id))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetFunction {id}: {e:?}"));
        let config = got.configuration().expect("a configuration");
        let variables = config
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            variables,
            HashMap::from([("STEPBACK_ACTION".to_owned(), action.name.to_owned())]),
            "{id}"
        );
        assert_eq!(
            config.runtime().map(|r| r.as_str()),
            Some("provided.al2023"),
            "{id}"
        );
        assert_eq!(config.handler(), Some("bootstrap"), "{id}");
        assert_eq!(
            config.memory_size(),
            i32::try_from(action.function.memory_mb).ok(),
            "{id}"
        );
        assert_eq!(
            config.timeout(),
            i32::try_from(action.function.timeout_secs).ok(),
            "{id}"
        );
        assert_eq!(
            config.role(),
            Some(stack.arn(&format!("{id}Role")).as_str()),
            "{id}"
        );
        let role = aws
            .iam
            .get_role()
            .role_name(stack.physical(&format!("{id}Role")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetRole {id}Role: {e:?}"));
        assert_eq!(
            role.role().map(|r| r.arn()),
            config.role(),
            "{id}: the role exists"
        );
    }
}

/// Every role's inline policy is the template's, with the stack's ARNs filled in.
async fn check_roles(aws: &Aws, stack: &Stack, template: &Json) {
    let roles = template["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::Role");
    let mut checked = 0;
    for (id, role) in roles {
        let name = stack.physical(id);
        let listed = aws
            .iam
            .list_role_policies()
            .role_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListRolePolicies {id}: {e:?}"));
        let expected = role["Properties"]["Policies"].as_array().expect("policies");
        let names: Vec<&str> = expected
            .iter()
            .map(|p| p["PolicyName"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(listed.policy_names(), names, "{id}");
        for policy in expected {
            let got = aws
                .iam
                .get_role_policy()
                .role_name(name)
                .policy_name(policy["PolicyName"].as_str().unwrap_or_default())
                .send()
                .await
                .unwrap_or_else(|e| panic!("GetRolePolicy {id}: {e:?}"));
            assert_eq!(
                self::policy(got.policy_document()),
                stack.resolve(&policy["PolicyDocument"]),
                "{id}"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no role checked");
}

/// moto's stored policy text: Python's text of the dict (`{'Effect': 'Allow'}`). The policies hold no quotes
/// of their own, so swapping the quotes gives the JSON; a quote inside would make it fail to parse, not pass.
fn policy(text: &str) -> Json {
    assert!(!text.contains('"'), "{text}");
    serde_json::from_str(&text.replace('\'', "\""))
        .unwrap_or_else(|e| panic!("moto's policy text is not a dict of strings: {e}: {text}"))
}

/// The deployed definition is the compiled one with each `${StepbackXArn}` the stack's function ARN.
fn expected_definition(stack: &Stack, build: &Build) -> Json {
    let mut text = build.compiled.json.clone();
    for (action, _) in compiler::template::functions(&build.workflow) {
        let placeholder = format!("${{{}}}", action.arn_substitution());
        text = text.replace(
            &placeholder,
            &stack.arn(&compiler::template::function_id(action)),
        );
    }
    assert!(!text.contains("${"), "a placeholder is left: {text}");
    serde_json::from_str(&text).expect("the definition is JSON")
}

async fn check_state_machine(aws: &Aws, stack: &Stack, build: &Build) {
    let machine = aws
        .sfn
        .describe_state_machine()
        .state_machine_arn(stack.physical("StateMachine"))
        .send()
        .await
        .expect("DescribeStateMachine");
    let definition: Json =
        serde_json::from_str(machine.definition()).expect("the deployed definition is JSON");
    assert_eq!(definition, expected_definition(stack, build));
    assert_eq!(machine.name(), build.workflow.name);
    assert_eq!(machine.r#type().as_str(), "STANDARD");
    assert_eq!(machine.role_arn(), stack.arn("StateMachineRole"));
}

/// The rule's pattern is the trigger's alarms going to ALARM, and its target starts the machine through the
/// trigger's role.
async fn check_rule(aws: &Aws, stack: &Stack, build: &Build) {
    let rule = stack.physical("Trigger");
    let described = aws
        .events
        .describe_rule()
        .name(rule)
        .send()
        .await
        .expect("DescribeRule");
    let pattern: Json =
        serde_json::from_str(described.event_pattern().expect("a pattern")).expect("JSON pattern");
    let alarms = &build.workflow.trigger.as_ref().expect("a trigger").alarms;
    assert_eq!(
        pattern,
        json!({
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "detail": { "alarmName": alarms, "state": { "value": ["ALARM"] } },
        })
    );
    let targets = aws
        .events
        .list_targets_by_rule()
        .rule(rule)
        .send()
        .await
        .expect("ListTargetsByRule");
    let targets: Vec<(&str, Option<&str>, bool)> = targets
        .targets()
        .iter()
        .map(|t| (t.arn(), t.role_arn(), t.input_transformer().is_some()))
        .collect();
    let role = stack.arn("TriggerRole");
    assert_eq!(
        targets,
        [(stack.physical("StateMachine"), Some(role.as_str()), false)],
        "the event reaches the machine as it is"
    );
}

/// The resource types moto 5.2.5's CloudFormation does not know: it warns ("not supported by moto's
/// CloudFormation implementation") and skips them, and the stack completes without them.
const MOTO_SKIPS: [&str; 1] = ["AWS::CloudWatch::Alarm"];

/// `[readiness]`: the Express machine with the step's checks and the stack's function ARNs, its role; the schedule
/// every 15 minutes through its role; the alarm on the whole rollback's metric, which moto's CloudFormation skips,
/// put with PutMetricAlarm from the template's properties so that CloudWatch (moto, through the bridge) takes them
/// and names the topic for ALARM and OK. The trigger is deployed disabled.
async fn check_readiness(
    aws: &Aws,
    moto: &tests::Moto,
    stack: &Stack,
    template: &Json,
    build: &Build,
) {
    let machine = aws
        .sfn
        .describe_state_machine()
        .state_machine_arn(stack.physical("ReadinessMachine"))
        .send()
        .await
        .expect("DescribeStateMachine");
    let mut expected = compiler::readiness::machine(&build.workflow)
        .to_json()
        .replace(
            &format!("${{{}}}", compiler::readiness::ROLLBACK_MACHINE),
            stack.physical("StateMachine"),
        );
    for (action, _) in compiler::template::functions(&build.workflow) {
        expected = expected.replace(
            &format!("${{{}}}", action.arn_substitution()),
            &stack.arn(&compiler::template::function_id(action)),
        );
    }
    let expected: Json = serde_json::from_str(&expected).expect("JSON");
    let deployed: Json = serde_json::from_str(machine.definition()).expect("JSON");
    assert_eq!(deployed, expected);
    // moto's CloudFormation drops `StateMachineType` (every machine it makes is STANDARD): the template says it.
    assert_eq!(
        template["Resources"]["ReadinessMachine"]["Properties"]["StateMachineType"],
        "EXPRESS"
    );
    assert_eq!(machine.name(), "webapp-rollback-readiness");
    assert_eq!(machine.role_arn(), stack.arn("ReadinessMachineRole"));

    let schedule = aws
        .events
        .describe_rule()
        .name(stack.physical("ReadinessSchedule"))
        .send()
        .await
        .expect("DescribeRule");
    assert_eq!(schedule.schedule_expression(), Some("rate(15 minutes)"));
    assert_eq!(schedule.state().map(|s| s.as_str()), Some("ENABLED"));
    let targets = aws
        .events
        .list_targets_by_rule()
        .rule(stack.physical("ReadinessSchedule"))
        .send()
        .await
        .expect("ListTargetsByRule");
    let targets: Vec<(&str, Option<&str>)> = targets
        .targets()
        .iter()
        .map(|t| (t.arn(), t.role_arn()))
        .collect();
    let role = stack.arn("ReadinessScheduleRole");
    assert_eq!(
        targets,
        [(stack.physical("ReadinessMachine"), Some(role.as_str()))]
    );

    let trigger = aws
        .events
        .describe_rule()
        .name(stack.physical("Trigger"))
        .send()
        .await
        .expect("DescribeRule");
    assert_eq!(trigger.state().map(|s| s.as_str()), Some("DISABLED"));
    assert_eq!(trigger.name(), Some("webapp-rollback"));

    let served = rehearsal_front::serve::spawn(
        rehearsal_front::serve::bind().expect("a loopback port"),
        Default::default(),
        &moto.sdk_config().await,
        Some(moto.addr()),
    )
    .expect("the bridge serves");
    let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(&moto.sdk_config().await)
            .endpoint_url(format!("http://{}", served.addr))
            .build(),
    );
    let alarm = &template["Resources"]["ReadinessAlarm"]["Properties"];
    let text = |key: &str| alarm[key].as_str().unwrap_or_default().to_owned();
    let actions: Vec<String> = alarm["AlarmActions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    let dimension = &alarm["Dimensions"][0];
    cloudwatch
        .put_metric_alarm()
        .alarm_name(text("AlarmName"))
        .alarm_description(text("AlarmDescription"))
        .namespace(text("Namespace"))
        .metric_name(text("MetricName"))
        .dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name(dimension["Name"].as_str().unwrap_or_default())
                .value(dimension["Value"].as_str().unwrap_or_default())
                .build(),
        )
        .statistic(aws_sdk_cloudwatch::types::Statistic::from(
            text("Statistic").as_str(),
        ))
        .period(
            alarm["Period"]
                .as_i64()
                .and_then(|p| i32::try_from(p).ok())
                .unwrap_or_default(),
        )
        .evaluation_periods(1)
        .threshold(alarm["Threshold"].as_f64().unwrap_or_default())
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::from(
            text("ComparisonOperator").as_str(),
        ))
        .treat_missing_data(text("TreatMissingData"))
        .set_alarm_actions(Some(actions.clone()))
        .set_ok_actions(Some(actions.clone()))
        .send()
        .await
        .expect("PutMetricAlarm");
    let alarms = cloudwatch
        .describe_alarms()
        .alarm_names("webapp-rollback-readiness")
        .send()
        .await
        .expect("DescribeAlarms");
    let alarm = &alarms.metric_alarms()[0];
    assert_eq!(alarm.namespace(), Some(catalog::readiness::NAMESPACE));
    assert_eq!(alarm.period(), Some(900));
    assert_eq!(alarm.alarm_actions(), actions);
    assert_eq!(alarm.ok_actions(), actions);
    assert_eq!(
        actions,
        [build
            .workflow
            .readiness
            .as_ref()
            .and_then(|r| r.topic.clone())
            .expect("a topic")]
    );
}

/// A changed message changes the definition in place: the change set modifies only the state machine, and every
/// physical id stays.
async fn update(aws: &Aws, before: &Stack) {
    let changed = build(|source| {
        let edited = source.replace("message = \"Reason: ", "message = \"Why: ");
        assert_ne!(edited, source, "the example's announce message changed");
        edited
    });
    aws.cloudformation
        .create_change_set()
        .stack_name(STACK)
        .change_set_name("why")
        .change_set_type(ChangeSetType::Update)
        .template_body(compiler::template::with_definition_string(&changed.template).to_string())
        .set_parameters(Some(parameters()))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .expect("CreateChangeSet");
    let mut described = None;
    for _ in 0..100 {
        let got = aws
            .cloudformation
            .describe_change_set()
            .stack_name(STACK)
            .change_set_name("why")
            .send()
            .await
            .expect("DescribeChangeSet");
        if got.status() != Some(&ChangeSetStatus::CreatePending)
            && got.status() != Some(&ChangeSetStatus::CreateInProgress)
        {
            described = Some(got);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let described = described.expect("the change set is made within 10 s");
    assert_eq!(described.status(), Some(&ChangeSetStatus::CreateComplete));
    let mut changes: Vec<(Option<&ChangeAction>, Option<&str>)> = described
        .changes()
        .iter()
        .filter_map(|c| c.resource_change())
        .map(|c| (c.action(), c.logical_resource_id()))
        .collect();
    changes.sort_by_key(|(_, id)| *id);
    // The readiness machine's checks carry the step's params, the message among them.
    assert_eq!(
        changes,
        [
            (Some(&ChangeAction::Modify), Some("ReadinessMachine")),
            (Some(&ChangeAction::Modify), Some("StateMachine")),
        ],
        "only the definitions change"
    );
    let replaced: Vec<_> = described
        .changes()
        .iter()
        .filter_map(|c| c.resource_change())
        .filter(|c| c.replacement() == Some(&Replacement::True))
        .collect();
    assert!(replaced.is_empty(), "replaced: {replaced:?}");

    aws.cloudformation
        .execute_change_set()
        .stack_name(STACK)
        .change_set_name("why")
        .send()
        .await
        .expect("ExecuteChangeSet");
    assert_eq!(stack_status(aws).await, StackStatus::UpdateComplete);
    let after = Stack::read(aws).await;
    assert_eq!(after.resources, before.resources, "nothing was replaced");
    let machine = aws
        .sfn
        .describe_state_machine()
        .state_machine_arn(after.physical("StateMachine"))
        .send()
        .await
        .expect("DescribeStateMachine");
    let definition: Json = serde_json::from_str(machine.definition()).expect("JSON definition");
    assert_eq!(definition, expected_definition(&after, &changed));
    assert!(
        machine.definition().contains("Why: "),
        "the new message is deployed"
    );
}

/// The rule against the documented alarm event: the trigger's alarm going to ALARM matches, with its reason
/// intact; the same alarm going to OK, or another alarm, does not.
async fn trigger(aws: &Aws, stack: &Stack, build: &Build) {
    let rule = stack.physical("Trigger");
    // Deployed disabled, it is armed once every step is found ready (the readiness run, or `stepback
    // preflight`: `lambdas/tests/it/readiness.rs`). moto matches events against a disabled rule too; AWS does
    // not ("DISABLED: The rule is disabled. EventBridge does not match any events against the rule", EventBridge
    // API reference, PutRule `State`).
    aws.events
        .enable_rule()
        .name(rule)
        .send()
        .await
        .expect("EnableRule");
    // moto matches every event against a rule that has only a schedule (`matches_event` of an empty pattern), and
    // its Step Functions target answers 500; on AWS a schedule rule matches no event. Its target (checked above)
    // goes, so that the events reach only the trigger.
    aws.events
        .remove_targets()
        .rule(stack.physical("ReadinessSchedule"))
        .ids("CheckReadiness")
        .send()
        .await
        .expect("RemoveTargets");
    // moto answers 500 for a Step Functions target, and would stop before the observer: swap the (checked)
    // target for an SQS queue.
    let queue = aws
        .sqs
        .create_queue()
        .queue_name("matched-alarms")
        .send()
        .await
        .expect("CreateQueue");
    let queue_url = queue.queue_url().expect("a queue URL");
    let attributes = aws
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes");
    let queue_arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .expect("the queue ARN");
    aws.events
        .remove_targets()
        .rule(rule)
        .ids("StartRollback")
        .send()
        .await
        .expect("RemoveTargets");
    aws.events
        .put_targets()
        .rule(rule)
        .targets(
            Target::builder()
                .id("observer")
                .arn(queue_arn)
                .build()
                .expect("a target"),
        )
        .send()
        .await
        .expect("PutTargets");

    let alarms = &build.workflow.trigger.as_ref().expect("a trigger").alarms;
    let matching = tests::alarm_event(&alarms[0], "ALARM", tests::ALARM_REASON);
    let events = [
        tests::alarm_event(&alarms[0], "OK", "Threshold Crossed: back under"),
        tests::alarm_event("billing-estimate", "ALARM", tests::ALARM_REASON),
        matching.clone(),
    ];
    for event in &events {
        let entry = PutEventsRequestEntry::builder()
            .source(event["source"].as_str().unwrap_or_default())
            .detail_type(event["detail-type"].as_str().unwrap_or_default())
            .detail(event["detail"].to_string())
            .resources(event["resources"][0].as_str().unwrap_or_default())
            .build();
        let put = aws
            .events
            .put_events()
            .entries(entry)
            .send()
            .await
            .expect("PutEvents");
        assert_eq!(put.failed_entry_count(), 0, "{event}");
    }

    let mut delivered = Vec::new();
    loop {
        let received = aws
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("ReceiveMessage");
        if received.messages().is_empty() {
            break;
        }
        for message in received.messages() {
            let body: Json = serde_json::from_str(message.body().unwrap_or_default())
                .expect("the event is JSON");
            delivered.push(body);
        }
    }
    assert_eq!(
        delivered.len(),
        1,
        "only the ALARM of a trigger alarm matches: {delivered:#?}"
    );
    let event = &delivered[0];
    for field in ["source", "detail-type", "resources", "detail"] {
        assert_eq!(event[field], matching[field], "{field} arrives unchanged");
    }
    assert_eq!(event["detail"]["state"]["reason"], tests::ALARM_REASON);
}
