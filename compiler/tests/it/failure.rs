//! The compiled failure path, run on the definition with Step Functions' rule that a JSONPath to a missing field
//! is a `States.Runtime` error (which no `Catch` of ours sees, so the `[on_failure]` steps would not run).
//! moto cannot show this: it drops the Cause of SendTaskFailure and answers null for it, never a missing field.
//! The runner below covers exactly the states and intrinsics the failure path uses, and fails on anything else.

use std::path::Path;

use serde_json::{Map, Value, json};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:t";

/// `approve` (an approval) and `deploy` run side by side, so each fails inside a `Parallel` branch; `announce`
/// reports the failure.
fn workflow() -> Value {
    workflow_telling("Step ${failure.step} failed: ${failure.error}: ${failure.cause}")
}

/// [`workflow`] whose `announce` sends `message`.
fn workflow_telling(message: &str) -> Value {
    let source = format!(
        r#"
version = 1
name = "failures"

[steps.approve]
action = "approval"
topic = "{TOPIC}"
message = "restore?"

[steps.deploy]
action = "ecs.deploy"
cluster = "prod"
service = "web"
image_tag = "previous"

[steps.rollout]
action = "notify"
after = ["approve", "deploy"]
topic = "{TOPIC}"
message = "done"

[on_failure.announce]
action = "notify"
topic = "{TOPIC}"
message = "{message}"
"#
    );
    let compiled = crate::compile(&source, Path::new("failures.toml"));
    serde_json::from_str(&compiled.json).expect("the definition is JSON")
}

/// What the failure path made of a failure of `step` that raised `raised` (Step Functions' error output):
/// the `announce` notice, and the final `Fail`'s error and cause.
fn check(step: &str, raised: Value, expect: (&str, &str, &str)) {
    let definition = workflow();
    let notice = Runner::new(&definition)
        .fail(step, &raised)
        .unwrap_or_else(|e| panic!("{step} with {raised}: {e}"));
    let Ended::Task { parameters, .. } = &notice else {
        panic!("{step} with {raised}: the failure path ended before `announce`: {notice:?}");
    };
    assert_eq!(
        parameters["Payload"]["params"]["message"], expect.0,
        "{raised}"
    );
    let end = Runner::new(&definition)
        .past_tasks()
        .fail(step, &raised)
        .unwrap_or_else(|e| panic!("{step} with {raised}: {e}"));
    assert_eq!(
        end,
        Ended::Fail {
            error: expect.1.to_owned(),
            cause: expect.2.to_owned()
        },
        "{raised}"
    );
}

#[test]
fn a_rejection_reaches_the_notice_with_who_and_why() {
    // What `stepback reject --by alice --comment "data loss too big"` sends with SendTaskFailure.
    check(
        "approve",
        json!({"Error": "Stepback.Rejected", "Cause": "rejected by alice: data loss too big"}),
        (
            "Step approve failed: Stepback.Rejected: rejected by alice: data loss too big",
            "Stepback.Rejected",
            "step approve failed: rejected by alice: data loss too big",
        ),
    );
}

#[test]
fn a_failure_without_a_cause_or_an_error_still_runs_the_failure_path() {
    // SendTaskFailure from the console may carry neither field.
    check(
        "approve",
        json!({"Error": "Stepback.Rejected"}),
        (
            "Step approve failed: Stepback.Rejected: no cause given",
            "Stepback.Rejected",
            "step approve failed: no cause given",
        ),
    );
    check(
        "approve",
        json!({}),
        (
            "Step approve failed: unnamed error: no cause given",
            "unnamed error",
            "step approve failed: no cause given",
        ),
    );
}

#[test]
fn a_lambda_error_arrives_as_its_message_and_other_causes_pass_unchanged() {
    let message =
        "ECS service `web` now runs `web:4`, not `web:2`: another deploy replaced this one";
    let cause = json!({"errorType": "Stepback.Precondition", "errorMessage": message}).to_string();
    check(
        "deploy",
        json!({"Error": "Stepback.Precondition", "Cause": cause}),
        (
            &format!("Step deploy failed: Stepback.Precondition: {message}"),
            "Stepback.Precondition",
            &format!("step deploy failed: {message}"),
        ),
    );
    check(
        "deploy",
        json!({"Error": "Lambda.Unknown", "Cause": "The function ran out of memory"}),
        (
            "Step deploy failed: Lambda.Unknown: The function ran out of memory",
            "Lambda.Unknown",
            "step deploy failed: The function ran out of memory",
        ),
    );
    // JSON without a message is kept as it came.
    let bare = r#"{"errorType":"Stepback.Failed"}"#;
    check(
        "deploy",
        json!({"Error": "Stepback.Failed", "Cause": bare}),
        (
            &format!("Step deploy failed: Stepback.Failed: {bare}"),
            "Stepback.Failed",
            &format!("step deploy failed: {bare}"),
        ),
    );
}

#[test]
fn a_step_functions_error_ends_the_execution_under_a_name_a_fail_may_raise() {
    // A task past its `TimeoutSeconds`: Step Functions' Catch gives an empty Cause.
    check(
        "deploy",
        json!({"Error": "States.Timeout", "Cause": ""}),
        (
            "Step deploy failed: States.Timeout: no cause given",
            "Stepback.Timeout",
            "step deploy failed: States.Timeout: no cause given",
        ),
    );
    check(
        "approve",
        json!({"Error": "States.HeartbeatTimeout", "Cause": "no heartbeat"}),
        (
            "Step approve failed: States.HeartbeatTimeout: no heartbeat",
            "Stepback.Failed",
            "step approve failed: States.HeartbeatTimeout: no heartbeat",
        ),
    );
}

/// `deploy` fails in its branch after `approve` was answered in the other: the notice lists the approval as done,
/// with the line the approval's `ResultSelector` writes, and nothing for the failed or unrun steps.
#[test]
fn the_notice_lists_the_steps_done_before_the_failure() {
    let definition = workflow_telling("${failure.step} failed. Done: ${failure.completed}");
    let (states, Some((parallel, approve_branch))) = find(&definition, "approve").expect("approve")
    else {
        panic!("approve is in a branch");
    };
    // SendTaskSuccess's output, through the approval task's ResultSelector, is the branch's result.
    let answer = json!({"approved_by": "alice", "comment": "go"});
    let record = resolve(&states["approve"]["ResultSelector"], &answer).expect("selects");
    let deploy_failed = json!({"Error": "Stepback.Failed", "Cause": "AccessDenied"});
    let notice = |runner: Runner| match runner.fail("deploy", &deploy_failed) {
        Ok(Ended::Task { parameters, .. }) => parameters["Payload"]["params"]["message"].clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        notice(Runner::new(&definition).beside(approve_branch, json!({ "approve": record }))),
        "deploy failed. Done: [approve: approval → approved]",
        "beside {parallel}"
    );
    assert_eq!(
        notice(Runner::new(&definition)),
        "deploy failed. Done: none"
    );
    // The other way round: `deploy`'s poll loop saw its Lambda answer `done` with its line, which its `done`
    // Pass keeps; then `approve` is rejected.
    let (deploy_states, Some((_, deploy_branch))) =
        find(&definition, "deploy: done").expect("deploy: done")
    else {
        panic!("deploy is in a branch");
    };
    let line = "ecs.deploy prod/web → image_tag v1, task_definition_after web:1";
    let polled =
        json!({"steps": {"deploy": {"last": {"status": "done", "output": {}, "changed": line}}}});
    let record = resolve(&deploy_states["deploy: done"]["Parameters"], &polled).expect("selects");
    let rejected = json!({"Error": "Stepback.Rejected", "Cause": "rejected by bob"});
    match Runner::new(&definition)
        .beside(deploy_branch, json!({ "deploy": record }))
        .fail("approve", &rejected)
    {
        Ok(Ended::Task { parameters, .. }) => assert_eq!(
            parameters["Payload"]["params"]["message"],
            format!("approve failed. Done: [deploy: {line}]")
        ),
        other => panic!("{other:?}"),
    }
}

#[derive(Debug, PartialEq)]
enum Ended {
    /// The first Task the failure path reached, with its `Parameters` resolved.
    Task {
        name: String,
        parameters: Value,
    },
    Fail {
        error: String,
        cause: String,
    },
    /// A state with `End`: the machine's (or the branch's) output.
    End(Value),
}

/// Runs states from the `Catch` of a failing Task: Pass, Choice, Fail, and a branch's end, whose output is
/// the `Parallel`'s result beside the other branches' (each `{}`: it ran nothing). A Task ends the run, unless `past_tasks`, when it succeeds with an empty result.
struct Runner<'a> {
    definition: &'a Value,
    past_tasks: bool,
    /// The results of the failing step's sibling branches, by branch index (`{}` for the others).
    beside: Vec<(usize, Value)>,
}

impl<'a> Runner<'a> {
    fn new(definition: &'a Value) -> Runner<'a> {
        Runner {
            definition,
            past_tasks: false,
            beside: Vec::new(),
        }
    }

    fn beside(self, index: usize, result: Value) -> Runner<'a> {
        let mut beside = self.beside;
        beside.push((index, result));
        Runner { beside, ..self }
    }

    fn past_tasks(self) -> Runner<'a> {
        Runner {
            past_tasks: true,
            ..self
        }
    }

    /// The Task of `step` fails with `raised`, inside its branch when it is in one.
    fn fail(&self, step: &str, raised: &Value) -> Result<Ended, String> {
        let input = json!({ "input": {}, "steps": {} });
        match find(self.definition, step) {
            Some((states, None)) => self.catch(states, step, raised, input),
            Some((branch, Some((parallel, index)))) => {
                let Ended::End(output) = self.catch(branch, step, raised, input.clone())? else {
                    return Err(format!("the branch of `{step}` did not end normally"));
                };
                let states = states_of(self.definition);
                let state = &states[parallel];
                let count = state["Branches"].as_array().map_or(0, Vec::len);
                let mut results = vec![json!({}); count];
                for (sibling, result) in &self.beside {
                    if let Some(slot) = results.get_mut(*sibling) {
                        *slot = result.clone();
                    }
                }
                results[index] = output;
                let selected = resolve(&state["ResultSelector"], &Value::Array(results))?;
                let mut input = input;
                put(&mut input, state.get("ResultPath"), selected)?;
                self.run(states, text(&state["Next"])?, input)
            }
            None => Err(format!("no state `{step}`")),
        }
    }

    /// The first catcher of state `name` that matches `raised`, then the states from its `Next`.
    fn catch(
        &self,
        states: &Map<String, Value>,
        name: &str,
        raised: &Value,
        mut input: Value,
    ) -> Result<Ended, String> {
        let error = raised["Error"].as_str().unwrap_or_default();
        let catcher = states[name]["Catch"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| {
                c["ErrorEquals"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|e| e == error || e == "States.ALL"))
            })
            .ok_or_else(|| format!("no Catch of `{name}` matches {raised}"))?;
        put(&mut input, catcher.get("ResultPath"), raised.clone())?;
        self.run(states, text(&catcher["Next"])?, input)
    }

    fn run<'s>(
        &self,
        states: &'s Map<String, Value>,
        mut name: &'s str,
        mut input: Value,
    ) -> Result<Ended, String> {
        for _ in 0..100 {
            let state = &states[name];
            let next = match text(&state["Type"])? {
                "Pass" => {
                    let result = match (state.get("Parameters"), state.get("Result")) {
                        (Some(parameters), _) => resolve(parameters, &input)?,
                        (None, Some(result)) => result.clone(),
                        (None, None) => input.clone(),
                    };
                    put(&mut input, state.get("ResultPath"), result)?;
                    if state["End"] == true {
                        let output = match state["OutputPath"].as_str() {
                            Some(path) => get(&input, path)?,
                            None => input,
                        };
                        return Ok(Ended::End(output));
                    }
                    state["Next"].as_str()
                }
                "Choice" => {
                    let mut chosen = state["Default"].as_str();
                    for choice in state["Choices"].as_array().into_iter().flatten() {
                        if rule(choice, &input)? {
                            chosen = choice["Next"].as_str();
                            break;
                        }
                    }
                    chosen
                }
                "Task" if self.past_tasks => {
                    put(&mut input, state.get("ResultPath"), json!({}))?;
                    state["Next"].as_str()
                }
                "Task" => {
                    return Ok(Ended::Task {
                        name: name.to_owned(),
                        parameters: resolve(&state["Parameters"], &input)?,
                    });
                }
                "Fail" => {
                    let field = |plain: &str, path: &str| match (state.get(plain), state.get(path))
                    {
                        (Some(value), _) => Ok(value.clone()),
                        (None, Some(path)) => expression(text(path)?, &input),
                        (None, None) => Ok(Value::Null),
                    };
                    let (error, cause) =
                        (field("Error", "ErrorPath")?, field("Cause", "CausePath")?);
                    // The States Language: "States MAY report errors with other names, which MUST NOT begin
                    // with the prefix \"States.\"" (moto and LocalStack end the execution `States.Runtime`).
                    if text(&error)?.starts_with("States.") {
                        return Err(format!(
                            "States.Runtime: `{name}` raises the reserved {error}"
                        ));
                    }
                    return Ok(Ended::Fail {
                        error: text(&error)?.to_owned(),
                        cause: text(&cause)?.to_owned(),
                    });
                }
                other => return Err(format!("the runner does not run {other} states ({name})")),
            };
            name = next.ok_or_else(|| format!("`{name}` has no next state"))?;
        }
        Err("more than 100 states: a loop".to_owned())
    }
}

fn states_of(machine: &Value) -> &Map<String, Value> {
    machine["States"].as_object().expect("States is an object")
}

/// The states holding `name`, and the `Parallel` and the index of the branch they are in, if any (one level
/// deep).
fn find<'v>(
    machine: &'v Value,
    name: &str,
) -> Option<(&'v Map<String, Value>, Option<(&'v str, usize)>)> {
    let states = states_of(machine);
    if states.contains_key(name) {
        return Some((states, None));
    }
    states.iter().find_map(|(parallel, state)| {
        let branches = state["Branches"].as_array()?;
        branches.iter().enumerate().find_map(|(index, branch)| {
            let inner = states_of(branch);
            inner
                .contains_key(name)
                .then_some((inner, Some((parallel.as_str(), index))))
        })
    })
}

fn text(value: &Value) -> Result<&str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("not a string: {value}"))
}

/// `$.a.b['c']` → `["a", "b", "c"]`.
fn segments(path: &str) -> Result<Vec<String>, String> {
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| format!("not a path: {path}"))?;
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        let mut name = String::new();
        match c {
            '.' => {
                while let Some(&c) = chars.peek() {
                    if c == '.' || c == '[' {
                        break;
                    }
                    name.push(c);
                    chars.next();
                }
            }
            '[' if chars.peek() == Some(&'\'') => {
                chars.next(); // the opening quote
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    name.push(c);
                }
                chars.next(); // ]
            }
            // An array index: `[0]`.
            '[' => {
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    name.push(c);
                }
            }
            other => return Err(format!("unexpected `{other}` in {path}")),
        }
        out.push(name);
    }
    Ok(out)
}

/// The value at `path`, or `States.Runtime` when it is missing, as in Step Functions.
fn get(input: &Value, path: &str) -> Result<Value, String> {
    let mut value = input;
    for segment in segments(path)? {
        let item = match (value, segment.parse::<usize>()) {
            (Value::Array(items), Ok(index)) => items.get(index),
            _ => value.get(&segment),
        };
        value = item.ok_or_else(|| format!("States.Runtime: `{path}` is missing from {input}"))?;
    }
    Ok(value.clone())
}

/// `ResultPath`: absent is `$` (the result replaces the input), null discards the result.
fn put(input: &mut Value, path: Option<&Value>, result: Value) -> Result<(), String> {
    let path = match path {
        None => {
            *input = result;
            return Ok(());
        }
        Some(Value::Null) => return Ok(()),
        Some(path) => text(path)?,
    };
    let segments = segments(path)?;
    let Some((last, parents)) = segments.split_last() else {
        *input = result;
        return Ok(());
    };
    let mut target = input;
    for segment in parents {
        target = target
            .get_mut(segment)
            .ok_or_else(|| format!("States.Runtime: no `{segment}` for ResultPath {path}"))?;
    }
    target
        .as_object_mut()
        .ok_or_else(|| format!("ResultPath {path} is inside a non-object"))?
        .insert(last.clone(), result);
    Ok(())
}

/// A payload template: `key.$` values are paths or intrinsics.
fn resolve(template: &Value, input: &Value) -> Result<Value, String> {
    match template {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, value) in fields {
                match key.strip_suffix(".$") {
                    Some(key) => out.insert(key.to_owned(), expression(text(value)?, input)?),
                    None => out.insert(key.clone(), resolve(value, input)?),
                };
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// A path, `$$` context path (the execution's, made up), or one of the intrinsics the failure path uses.
fn expression(text: &str, input: &Value) -> Result<Value, String> {
    if let Some(context) = text.strip_prefix("$$.") {
        return Ok(json!(format!("context:{context}")));
    }
    if text.starts_with('$') {
        return get(input, text);
    }
    let (function, args) = text
        .strip_suffix(')')
        .and_then(|e| e.split_once('('))
        .ok_or_else(|| format!("not an intrinsic: {text}"))?;
    let args: Vec<Value> = arguments(args)
        .iter()
        .map(|arg| match (arg.strip_prefix('\''), arg.parse::<bool>()) {
            (Some(literal), _) => Ok(json!(literal.trim_end_matches('\''))),
            (None, Ok(flag)) => Ok(json!(flag)),
            (None, Err(_)) => expression(arg, input),
        })
        .collect::<Result<_, _>>()?;
    match function {
        "States.Format" => {
            let template = self::text(&args[0])?;
            let mut out = String::new();
            let mut values = args[1..].iter();
            let mut pieces = template.split("{}");
            out.push_str(pieces.next().unwrap_or_default());
            for piece in pieces {
                let value = values.next().ok_or("too few Format arguments")?;
                match value {
                    Value::String(s) => out.push_str(s.as_str()),
                    other => out.push_str(&other.to_string()),
                }
                out.push_str(piece);
            }
            Ok(json!(out))
        }
        "States.StringToJson" => serde_json::from_str(self::text(&args[0])?)
            .map_err(|e| format!("States.Runtime: StringToJson: {e}")),
        "States.JsonToString" => Ok(json!(args[0].to_string())),
        "States.JsonMerge" => match (&args[0], &args[1]) {
            (Value::Object(left), Value::Object(right)) => {
                let mut merged = left.clone();
                merged.extend(right.clone());
                Ok(Value::Object(merged))
            }
            _ => Err("States.Runtime: JsonMerge of a non-object".to_owned()),
        },
        other => Err(format!("the runner does not know {other}")),
    }
}

/// Splits intrinsic arguments on the commas outside quotes and parentheses.
fn arguments(args: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let (mut quoted, mut depth) = (false, 0);
    for c in args.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out.into_iter().map(|a| a.trim().to_owned()).collect()
}

/// A Choice rule: `And`/`Or`/`Not`, `IsPresent`, `IsString`, `IsNull`, `StringMatches` (with `*`) and
/// `StringEquals`; any other test of a missing field is `States.Runtime`.
fn rule(rule: &Value, input: &Value) -> Result<bool, String> {
    if let Some(all) = rule["And"].as_array() {
        return all
            .iter()
            .try_fold(true, |ok, r| Ok(ok && self::rule(r, input)?));
    }
    if let Some(any) = rule["Or"].as_array() {
        return any
            .iter()
            .try_fold(false, |ok, r| Ok(ok || self::rule(r, input)?));
    }
    if let Some(not) = rule.get("Not") {
        return Ok(!self::rule(not, input)?);
    }
    let variable = text(&rule["Variable"])?;
    if let Some(expected) = rule["IsPresent"].as_bool() {
        return Ok(get(input, variable).is_ok() == expected);
    }
    let value = get(input, variable)?;
    if let Some(expected) = rule["IsString"].as_bool() {
        return Ok(value.is_string() == expected);
    }
    if let Some(expected) = rule["IsNull"].as_bool() {
        return Ok(value.is_null() == expected);
    }
    if let Some(pattern) = rule["StringMatches"].as_str() {
        return Ok(value.as_str().is_some_and(|v| matches(v, pattern)));
    }
    if let Some(expected) = rule.get("StringEquals") {
        return Ok(&value == expected);
    }
    Err(format!("the runner does not know the rule {rule}"))
}

/// `*` matches any run of characters; nothing else is special (the failure path escapes nothing).
fn matches(value: &str, pattern: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}
