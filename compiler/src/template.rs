//! The deployable stack as one CloudFormation template: the state machine, one function and role per action the
//! workflow uses, their log groups, the guard's lock table, and the EventBridge rule of `[trigger]`. A pure function of the workflow.

use std::collections::BTreeMap;

use catalog::kubernetes::ClusterAccess;
use catalog::readiness;
use catalog::{ActionSpec, Runtime};
use serde_json::{Map, Value as Json, json};
use workflow::Workflow;
use workflow::model::{Readiness, Step};

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
            // The guard runs in every machine, though no step names it; the readiness function with `[readiness]`.
            let placed = !steps.is_empty()
                || (!action.user_facing
                    && (action.name != readiness::ACTION || workflow.readiness.is_some()));
            placed.then_some((action, steps))
        })
        .collect()
}

/// The params that the compiler, not a step, gives a function no step names (the guard, the readiness
/// function): the ones its grants read.
fn compiler_params(
    workflow: &Workflow,
    action: &ActionSpec,
) -> BTreeMap<String, workflow::model::Value> {
    let literal = |name: &str, value: &str| {
        (
            name.to_owned(),
            workflow::model::Value::Literal(json!(value)),
        )
    };
    if action.name == readiness::ACTION {
        let topic = workflow.readiness.as_ref().and_then(|r| r.topic.as_ref());
        let rule = workflow
            .trigger
            .as_ref()
            .map(|_| readiness::trigger_rule(&workflow.name));
        return topic
            .map(|topic| literal(readiness::TOPIC, topic))
            .into_iter()
            .chain(rule.map(|rule| literal(readiness::RULE, &rule)))
            .collect();
    }
    let topic = workflow.trigger.as_ref().and_then(|t| t.topic.as_ref());
    topic
        .map(|topic| literal(catalog::GUARD_TOPIC, topic))
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
            iam::statements_for(
                action,
                &[&compiler_params(workflow, action)],
                &workflow.name,
            )
        } else {
            iam::statements(action, steps, &workflow.name)
        };
        resources.insert(format!("{id}Logs"), log_group());
        resources.insert(format!("{id}Role"), function_role(&id, &statements));
        resources.insert(id.clone(), function(action, &id, &workflow.name));
        if let Some(access) = catalog::kubernetes::cluster_access(action.name) {
            for (n, (cluster, namespaces)) in clusters(access, steps).into_iter().enumerate() {
                resources.insert(
                    format!("{id}Access{n}"),
                    access_entry(access, &id, &cluster, &namespaces, &workflow.name),
                );
            }
        }
        substitutions.insert(
            action.arn_substitution(),
            json!({ "Fn::GetAtt": [id, "Arn"] }),
        );
    }
    resources.insert("LockTable".into(), lock_table(&workflow.name));
    resources.insert("StateMachineLogs".into(), log_group());
    // The rollback's machine invokes every function but the readiness one.
    let rollback_functions: Vec<_> = functions
        .iter()
        .filter(|(a, _)| a.name != readiness::ACTION)
        .cloned()
        .collect();
    resources.insert(
        "StateMachineRole".into(),
        state_machine_role(&rollback_functions),
    );
    if let Some(readiness) = &workflow.readiness {
        readiness_resources(
            &mut resources,
            workflow,
            readiness,
            &functions,
            &substitutions,
        );
    }
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
                    "Name": readiness::trigger_rule(&workflow.name),
                    "Description": format!(
                        "start {} when one of its alarms goes to ALARM; armed once every step is found ready",
                        workflow.name
                    ),
                    // Not armed before the rollback is known to be ready: the readiness run or `stepback
                    // preflight` enables it the first time every step can run. "DISABLED: The rule is disabled.
                    // EventBridge does not match any events against the rule" (EventBridge API reference,
                    // `Rule.State`); moto matches them, so `Rehearsal::run_alarm_event` refuses them. A stack
                    // update that changes the rule writes this state again (PutRule replaces the whole rule).
                    "State": "DISABLED",
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
    if workflow.readiness.is_some() {
        outputs.insert(
            "ReadinessMachineArn".into(),
            json!({ "Description": "checks every few minutes whether the rollback could run", "Value": { "Ref": "ReadinessMachine" } }),
        );
    }
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

/// `[readiness]`'s resources: the readiness machine (Express) and its role, which may invoke the rollback's
/// functions and nothing else; the schedule that starts it; the alarm on the whole rollback's metric.
fn readiness_resources(
    resources: &mut Map<String, Json>,
    workflow: &Workflow,
    readiness: &Readiness,
    functions: &[(&'static ActionSpec, Vec<&Step>)],
    substitutions: &Map<String, Json>,
) {
    let machine = crate::readiness::machine(workflow);
    let definition = serde_json::to_value(&machine).unwrap_or(Json::Null);
    let text = definition.to_string();
    let mut used: BTreeMap<String, Json> = substitutions
        .iter()
        .filter(|(key, _)| text.contains(&format!("${{{key}}}")))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    used.insert(
        crate::readiness::ROLLBACK_MACHINE.to_owned(),
        json!({ "Ref": "StateMachine" }),
    );
    let mut definition = definition;
    for_each_task_resource(&mut definition, &mut |resource| {
        if let Some(rest) = resource.as_str().and_then(|r| r.strip_prefix("arn:aws:")) {
            *resource = json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:{rest}") });
        }
    });
    resources.insert("ReadinessMachineLogs".into(), log_group());
    // It invokes the functions of the steps it checks, and the readiness function.
    let invoked: Vec<_> = functions
        .iter()
        .filter(|(a, _)| a.name == readiness::ACTION || text.contains(&a.arn_substitution()))
        .cloned()
        .collect();
    resources.insert("ReadinessMachineRole".into(), state_machine_role(&invoked));
    resources.insert(
        "ReadinessMachine".into(),
        json!({
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": readiness::name(&workflow.name),
                // Express: a run is a few seconds of invocations, billed by request and duration, not by
                // transition; it keeps no history, only its log.
                "StateMachineType": "EXPRESS",
                "RoleArn": { "Fn::GetAtt": ["ReadinessMachineRole", "Arn"] },
                "Definition": definition,
                "DefinitionSubstitutions": used,
                "LoggingConfiguration": {
                    "Level": "ERROR",
                    "IncludeExecutionData": false,
                    "Destinations": [{ "CloudWatchLogsLogGroup": { "LogGroupArn": { "Fn::GetAtt": ["ReadinessMachineLogs", "Arn"] } } }],
                },
                "Tags": tags(&workflow.name),
            },
        }),
    );
    resources.insert(
        "ReadinessScheduleRole".into(),
        role(
            "events.amazonaws.com",
            vec![json!({ "Effect": "Allow", "Action": "states:StartExecution", "Resource": { "Ref": "ReadinessMachine" } })],
        ),
    );
    let minutes = readiness.interval_secs / 60;
    resources.insert(
        "ReadinessSchedule".into(),
        json!({
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Description": format!("check every {minutes} min whether {} could run", workflow.name),
                // `rate(1 minute)`, singular; `rate(5 minutes)` (EventBridge user guide, "Rate expressions").
                "ScheduleExpression": format!("rate({minutes} minute{})", if minutes == 1 { "" } else { "s" }),
                "State": "ENABLED",
                "Targets": [{
                    "Id": "CheckReadiness",
                    "Arn": { "Ref": "ReadinessMachine" },
                    "RoleArn": { "Fn::GetAtt": ["ReadinessScheduleRole", "Arn"] },
                }],
            },
        }),
    );
    let actions: Vec<Json> = readiness.topic.iter().map(|topic| json!(topic)).collect();
    resources.insert(
        "ReadinessAlarm".into(),
        json!({
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": readiness::name(&workflow.name),
                "AlarmDescription": format!(
                    "{} could not run: a step's check found something missing, not ready or denied, or no check ran. \
                     The readiness run's own notice on the same topic names the steps, the resources and the fixes; \
                     `stepback readiness --stack <stack>` shows them",
                    workflow.name
                ),
                "Namespace": readiness::NAMESPACE,
                "MetricName": readiness::METRIC,
                "Dimensions": [{ "Name": readiness::WORKFLOW_DIMENSION, "Value": workflow.name }],
                "Statistic": "Minimum",
                "Period": readiness.interval_secs,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "LessThanThreshold",
                // A period without a run proves nothing: the schedule or the machine is broken.
                "TreatMissingData": "breaching",
                "AlarmActions": actions,
                "OKActions": actions,
            },
        }),
    );
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

/// The clusters `steps` name, each with the namespaces named in it; a cluster or namespace known only at run time
/// (from the input) has no entry here: `stepback preflight` reports the role refused.
fn clusters(access: &ClusterAccess, steps: &[&Step]) -> BTreeMap<String, Vec<String>> {
    let mut clusters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let text = |step: &Step, param: &str| match step.params.get(param) {
        Some(workflow::model::Value::Literal(Json::String(s))) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    for step in steps {
        if let (Some(cluster), Some(namespace)) =
            (text(step, access.cluster), text(step, access.namespace))
        {
            let namespaces = clusters.entry(cluster).or_default();
            if !namespaces.contains(&namespace) {
                namespaces.push(namespace);
            }
        }
    }
    clusters
}

/// An EKS access entry for the function's role: the catalog's access policy on the cluster, scoped to the
/// namespaces the steps name. EKS takes one entry per principal and cluster ("An access entry ... for each
/// IAM principal", EKS user guide, "Access entries"), so all of a cluster's namespaces are in one.
fn access_entry(
    access: &ClusterAccess,
    id: &str,
    cluster: &str,
    namespaces: &[String],
    workflow: &str,
) -> Json {
    json!({
        "Type": "AWS::EKS::AccessEntry",
        "Properties": {
            "ClusterName": cluster,
            "PrincipalArn": { "Fn::GetAtt": [format!("{id}Role"), "Arn"] },
            "Type": "STANDARD",
            "AccessPolicies": [{
                "PolicyArn": sub(&format!("arn:${{AWS::Partition}}:eks::aws:cluster-access-policy/{}", access.policy)),
                "AccessScope": { "Type": "namespace", "Namespaces": namespaces },
            }],
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
    if let Some(namespace) = statement.metric_namespace {
        out["Condition"] = json!({ "StringEquals": { "cloudwatch:namespace": namespace } });
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
            let arn = match (&value["Fn::GetAtt"][0], &value["Ref"], value.as_str()) {
                (Json::String(id), _, _) => format!("${{{id}.Arn}}"),
                (_, Json::String(id), _) => format!("${{{id}}}"),
                (_, _, Some(literal)) => literal.to_owned(),
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
