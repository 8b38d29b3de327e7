//! The deployable stack as one CloudFormation template: the state machine, one function and role per action the
//! workflow uses, their log groups, the guard's lock table, and the EventBridge rule of `[trigger]`. A pure function of the workflow.

use std::collections::BTreeMap;

use catalog::{ActionSpec, Runtime};
use serde_json::{Map, Value as Json, json};
use workflow::Workflow;
use workflow::model::Step;

use crate::Compiled;
use crate::iam::{self, Statement, TASK_ROLES_PARAMETER};
use crate::partition::{PARTITIONS, Partition};

/// Days that the functions' and the state machine's logs are kept.
pub const LOG_RETENTION_DAYS: u32 = 90;

/// The actions the workflow runs through a Lambda function, in catalog order, with the steps that use each.
pub fn functions(workflow: &Workflow) -> Vec<(&'static ActionSpec, Vec<&Step>)> {
    catalog::ACTIONS
        .iter()
        .filter(|a| a.runtime != Runtime::Native)
        .filter_map(|action| {
            let steps: Vec<&Step> = workflow
                .steps
                .iter()
                .chain(&workflow.on_failure)
                .filter(|s| s.action.name == action.name)
                .collect();
            // The guard runs in every machine, though no step names it.
            let placed = !steps.is_empty() || !action.user_facing;
            placed.then_some((action, steps))
        })
        .collect()
}

/// The params that the compiler, not a step, gives the one function no step names (the guard): the ones its
/// grants read.
fn compiler_params(workflow: &Workflow) -> BTreeMap<String, workflow::model::Value> {
    let topic = workflow.trigger.as_ref().and_then(|t| t.topic.as_ref());
    topic
        .map(|topic| {
            (
                catalog::GUARD_TOPIC.to_owned(),
                workflow::model::Value::Literal(json!(topic)),
            )
        })
        .into_iter()
        .collect()
}

/// The logical id stem of an action's function: `rds.snapshot` → `FnRdsSnapshot`.
pub fn function_id(action: &ActionSpec) -> String {
    format!("Fn{}", action.pascal_name())
}

/// Where the template keeps the workflow's TOML source: `Metadata.Stepback.Workflow`. `stepback preflight --stack`
/// reads the deployed workflow back from there (GetTemplate), as it was deployed.
pub const WORKFLOW_METADATA: [&str; 2] = ["Stepback", "Workflow"];

/// The workflow's source as a template keeps it ([`WORKFLOW_METADATA`]).
pub fn workflow_source(template: &Json) -> Option<&str> {
    template["Metadata"][WORKFLOW_METADATA[0]][WORKFLOW_METADATA[1]].as_str()
}

/// The template, as CloudFormation JSON; `source` is the workflow's TOML, kept in the template's `Metadata`.
pub fn template(workflow: &Workflow, compiled: &Compiled, source: &str) -> Json {
    let functions = functions(workflow);
    let passes_roles = functions
        .iter()
        .any(|(a, _)| a.grants.iter().any(|g| g.passed_to_service.is_some()));
    let mut parameters = Map::new();
    parameters.insert(
        "CodeBucket".into(),
        json!({ "Type": "String", "Description": "S3 bucket of the Lambda zip (lambdas/README.md builds it)" }),
    );
    parameters.insert(
        "CodeKey".into(),
        json!({ "Type": "String", "Description": "S3 key of the Lambda zip" }),
    );
    parameters.insert(
        "CodeObjectVersion".into(),
        json!({ "Type": "String", "Default": "", "Description": "S3 object version of the zip; empty for the latest" }),
    );
    if passes_roles {
        parameters.insert(
            TASK_ROLES_PARAMETER.into(),
            json!({
                "Type": "CommaDelimitedList",
                "Description": "ARNs of the ECS task and execution roles that the rollback's task definitions name: the only roles the ECS functions may pass",
            }),
        );
    }

    let mut resources = Map::new();
    let mut substitutions = Map::new();
    for (action, steps) in &functions {
        let id = function_id(action);
        let statements = if steps.is_empty() {
            iam::statements_for(action, &[&compiler_params(workflow)], &workflow.name)
        } else {
            iam::statements(action, steps, &workflow.name)
        };
        resources.insert(format!("{id}Logs"), log_group());
        resources.insert(format!("{id}Role"), function_role(&id, &statements));
        resources.insert(id.clone(), function(action, &id, &workflow.name));
        substitutions.insert(
            action.arn_substitution(),
            json!({ "Fn::GetAtt": [id, "Arn"] }),
        );
    }
    resources.insert("LockTable".into(), lock_table(&workflow.name));
    resources.insert("StateMachineLogs".into(), log_group());
    resources.insert("StateMachineRole".into(), state_machine_role(&functions));
    resources.insert(
        "StateMachine".into(),
        state_machine(workflow, compiled, substitutions),
    );
    if let Some(trigger) = &workflow.trigger {
        resources.insert(
            "TriggerRole".into(),
            role(
                "events.amazonaws.com",
                vec![json!({ "Effect": "Allow", "Action": "states:StartExecution", "Resource": { "Ref": "StateMachine" } })],
            ),
        );
        resources.insert(
            "Trigger".into(),
            json!({
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Description": format!("start {} when one of its alarms goes to ALARM", workflow.name),
                    "State": "ENABLED",
                    "EventPattern": alarm_pattern(&trigger.alarms),
                    // No InputTransformer: it does not escape an alarm reason's quotes, so the machine reads the
                    // event as it arrives and fills its inputs in its first states.
                    "Targets": [{
                        "Id": "StartRollback",
                        "Arn": { "Ref": "StateMachine" },
                        "RoleArn": { "Fn::GetAtt": ["TriggerRole", "Arn"] },
                    }],
                },
            }),
        );
    }

    let mut outputs = Map::new();
    outputs.insert(
        "StateMachineArn".into(),
        json!({ "Description": "the rollback's state machine", "Value": { "Ref": "StateMachine" } }),
    );
    outputs.insert(
        "ConsoleUrl".into(),
        json!({
            "Description": "start a rollback here",
            "Value": { "Fn::Sub": [
                "https://${Console}/states/home?region=${AWS::Region}#/statemachines/view/${StateMachine}",
                { "Console": console_host() },
            ] },
        }),
    );
    outputs.insert(
        "FunctionNames".into(),
        json!({
            "Description": "the Lambda functions, one per action",
            "Value": { "Fn::Join": [",", functions.iter().map(|(a, _)| json!({ "Ref": function_id(a) })).collect::<Vec<_>>()] },
        }),
    );
    outputs.insert(
        "ExampleInput".into(),
        json!({
            "Description": "an execution input with every default",
            "Value": crate::example_input(workflow).to_string(),
        }),
    );

    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "stepback rollback `{}`{}",
            workflow.name,
            workflow.description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
        ),
        "Metadata": { WORKFLOW_METADATA[0]: { WORKFLOW_METADATA[1]: source } },
        "Parameters": parameters,
        "Conditions": conditions(),
        "Resources": resources,
        "Outputs": outputs,
    })
}

fn conditions() -> Json {
    let mut conditions = Map::new();
    conditions.insert(
        "HasCodeObjectVersion".into(),
        json!({ "Fn::Not": [{ "Fn::Equals": [{ "Ref": "CodeObjectVersion" }, ""] }] }),
    );
    for partition in PARTITIONS.iter().filter(|p| !p.condition.is_empty()) {
        conditions.insert(
            partition.condition.into(),
            json!({ "Fn::Equals": [{ "Ref": "AWS::Partition" }, partition.name] }),
        );
    }
    Json::Object(conditions)
}

/// The console's host in the stack's partition: one `Fn::If` per partition with a console of its own, the
/// commercial per-region host last.
fn console_host() -> Json {
    Partition::own_consoles().fold(
        json!({ "Fn::Sub": "${AWS::Region}.console.aws.amazon.com" }),
        |otherwise, (condition, host)| json!({ "Fn::If": [condition, host, otherwise] }),
    )
}

/// EventBridge's pattern for the named alarms entering ALARM.
pub fn alarm_pattern(alarms: &[String]) -> Json {
    json!({
        "source": ["aws.cloudwatch"],
        "detail-type": [catalog::ALARM_DETAIL_TYPE],
        "detail": { "alarmName": alarms, "state": { "value": ["ALARM"] } },
    })
}

/// The guard's lock ([`catalog::LOCK_KEY`]): one item, written a few times per rollback, so on demand. Deleted
/// with the stack: it holds only who took the lock last (the execution histories keep the record), and a kept
/// table, whose name is fixed so that the guard can find it, would make the stack fail to create again.
fn lock_table(workflow: &str) -> Json {
    json!({
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "TableName": catalog::names::lock_table(workflow),
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{ "AttributeName": catalog::LOCK_KEY, "AttributeType": "S" }],
            "KeySchema": [{ "AttributeName": catalog::LOCK_KEY, "KeyType": "HASH" }],
            "Tags": tags(workflow),
        },
    })
}

fn log_group() -> Json {
    json!({
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": { "RetentionInDays": LOG_RETENTION_DAYS },
    })
}

fn function(action: &ActionSpec, id: &str, workflow: &str) -> Json {
    json!({
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Description": format!("stepback {}: {}", action.name, action.summary),
            "Runtime": "provided.al2023",
            "Architectures": ["arm64"],
            "Handler": "bootstrap",
            "Code": {
                "S3Bucket": { "Ref": "CodeBucket" },
                "S3Key": { "Ref": "CodeKey" },
                "S3ObjectVersion": { "Fn::If": ["HasCodeObjectVersion", { "Ref": "CodeObjectVersion" }, { "Ref": "AWS::NoValue" }] },
            },
            "MemorySize": action.function.memory_mb,
            "Timeout": action.function.timeout_secs,
            "Role": { "Fn::GetAtt": [format!("{id}Role"), "Arn"] },
            "Environment": { "Variables": { "STEPBACK_ACTION": action.name } },
            "LoggingConfig": { "LogGroup": { "Ref": format!("{id}Logs") } },
            "Tags": tags(workflow),
        },
    })
}

fn function_role(id: &str, statements: &[Statement]) -> Json {
    let mut policy: Vec<Json> = statements.iter().map(statement).collect();
    policy.push(json!({
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": { "Fn::GetAtt": [format!("{id}Logs"), "Arn"] },
    }));
    role("lambda.amazonaws.com", policy)
}

fn statement(statement: &Statement) -> Json {
    let resource = match statement.resources.as_slice() {
        [only] if only == "*" => json!("*"),
        [only] if *only == format!("${{{TASK_ROLES_PARAMETER}}}") => {
            json!({ "Ref": TASK_ROLES_PARAMETER })
        }
        many => Json::Array(many.iter().map(|r| sub(r)).collect()),
    };
    let mut out = json!({ "Effect": "Allow", "Action": statement.actions, "Resource": resource });
    if let Some(service) = statement.passed_to_service {
        out["Condition"] = json!({ "StringEquals": { "iam:PassedToService": service } });
    }
    if let Some(service) = statement.via_service {
        // The service's endpoint, whose domain is the partition's: `amazonaws.com.cn` in China.
        out["Condition"] = json!({
            "StringEquals": { "kms:ViaService": sub(&format!("{service}.${{AWS::Region}}.${{AWS::URLSuffix}}")) }
        });
        if statement.for_aws_resource {
            out["Condition"]["Bool"] = json!({ "kms:GrantIsForAWSResource": "true" });
        }
    }
    out
}

/// A plain string when nothing is filled at deploy time.
fn sub(text: &str) -> Json {
    if text.contains("${") {
        json!({ "Fn::Sub": text })
    } else {
        json!(text)
    }
}

fn state_machine_role(functions: &[(&'static ActionSpec, Vec<&Step>)]) -> Json {
    let arns: Vec<Json> = functions
        .iter()
        .map(|(a, _)| json!({ "Fn::GetAtt": [function_id(a), "Arn"] }))
        .collect();
    role(
        "states.amazonaws.com",
        vec![
            json!({ "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": arns }),
            json!({ "Effect": "Allow", "Action": catalog::iam::LOG_DELIVERY, "Resource": "*" }),
        ],
    )
}

fn role(service: &str, statements: Vec<Json>) -> Json {
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{ "Effect": "Allow", "Principal": { "Service": service }, "Action": "sts:AssumeRole" }],
            },
            "Policies": [{
                "PolicyName": "stepback",
                "PolicyDocument": { "Version": "2012-10-17", "Statement": statements },
            }],
        },
    })
}

fn state_machine(
    workflow: &Workflow,
    compiled: &Compiled,
    substitutions: Map<String, Json>,
) -> Json {
    // A `Definition` object, not a string: cfn-lint checks the ASL inside it (E3601), and CloudFormation fills
    // the function ARNs through `DefinitionSubstitutions`.
    // The integration ARNs name the stack's partition; CloudFormation fills intrinsics anywhere in a resource's
    // properties, and cfn-lint checks such a `Resource` as a value filled at deploy time.
    let mut definition = serde_json::to_value(&compiled.machine).unwrap_or(Json::Null);
    for_each_task_resource(&mut definition, &mut |resource| {
        if let Some(rest) = resource.as_str().and_then(|r| r.strip_prefix("arn:aws:")) {
            *resource = json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:{rest}") });
        }
    });
    let used: BTreeMap<String, Json> = substitutions
        .into_iter()
        .filter(|(key, _)| compiled.placeholders.contains(key))
        .collect();
    json!({
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "StateMachineName": workflow.name,
            "StateMachineType": "STANDARD",
            "RoleArn": { "Fn::GetAtt": ["StateMachineRole", "Arn"] },
            "Definition": definition,
            "DefinitionSubstitutions": used,
            "LoggingConfiguration": {
                "Level": "ERROR",
                "IncludeExecutionData": false,
                "Destinations": [{ "CloudWatchLogsLogGroup": { "LogGroupArn": { "Fn::GetAtt": ["StateMachineLogs", "Arn"] } } }],
            },
            "Tags": tags(&workflow.name),
        },
    })
}

/// The template with each definition as `DefinitionString` with `Fn::Sub`: the same definition, minified, with
/// the same substitutions. CloudFormation reads either form; moto reads only this one (it ignores a `Definition`
/// object and `DefinitionSubstitutions`), so `stepback deploy` sends this form, and the emulator runs what AWS
/// would. The written template keeps the object, whose ASL cfn-lint checks.
pub fn with_definition_string(template: &Json) -> Json {
    let mut template = template.clone();
    let machines = template["Resources"]
        .as_object_mut()
        .into_iter()
        .flat_map(|r| r.values_mut())
        .filter(|r| r["Type"] == "AWS::StepFunctions::StateMachine");
    for machine in machines {
        let Some(properties) = machine["Properties"].as_object_mut() else {
            continue;
        };
        let mut definition = properties.remove("Definition").unwrap_or(Json::Null);
        // Inside the string that `Fn::Sub` fills, a task's `{"Fn::Sub": text}` resource is its text.
        for_each_task_resource(&mut definition, &mut |resource| {
            if let Some(text) = resource["Fn::Sub"].as_str() {
                *resource = json!(text);
            }
        });
        let mut definition = definition.to_string();
        let substitutions = properties
            .remove("DefinitionSubstitutions")
            .unwrap_or_else(|| json!({}));
        // `Fn::Sub`'s string form, with each function's ARN as `${<Fn>.Arn}`: its list form is a Python
        // `string.Template` in moto, which turns the context object's `$$.` into `$.`.
        for (key, value) in substitutions.as_object().into_iter().flatten() {
            let arn = match (&value["Fn::GetAtt"][0], value.as_str()) {
                (Json::String(id), _) => format!("${{{id}.Arn}}"),
                (_, Some(literal)) => literal.to_owned(),
                _ => continue,
            };
            definition = definition.replace(&format!("${{{key}}}"), &arn);
        }
        properties.insert("DefinitionString".into(), json!({ "Fn::Sub": definition }));
    }
    template
}

/// Calls `f` on the `Resource` of every `Task` in a definition, `Parallel` branches included.
fn for_each_task_resource(machine: &mut Json, f: &mut impl FnMut(&mut Json)) {
    let states = machine["States"]
        .as_object_mut()
        .into_iter()
        .flat_map(|s| s.values_mut());
    for state in states {
        match state["Type"].as_str() {
            Some("Task") => f(&mut state["Resource"]),
            Some("Parallel") => {
                let branches = state["Branches"].as_array_mut().into_iter().flatten();
                for branch in branches {
                    for_each_task_resource(branch, f);
                }
            }
            _ => {}
        }
    }
}

fn tags(workflow: &str) -> Json {
    json!([
        { "Key": "stepback:workflow", "Value": workflow },
        { "Key": "stepback:version", "Value": env!("CARGO_PKG_VERSION") },
    ])
}
