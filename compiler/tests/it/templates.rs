//! The examples' CloudFormation templates: kept in `infra/` and equal to what `stepback template` emits. They, and
//! the template of the catalog's examples in one workflow (each action once), are clean under cfn-lint (informational checks
//! included) and parliament, and grant no `*` that the catalog does not justify.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value as Json, json};

/// Every example's template, as `stepback template` writes it.
fn example_templates() -> Vec<(PathBuf, Json)> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&examples)
        .expect("examples/ readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    entries.sort();
    entries
        .into_iter()
        .map(|path| {
            let template = template(&path);
            (path, template)
        })
        .collect()
}

/// The workflow that uses every user-facing action, so that each action's role is linted: each action's
/// catalog example, in a step named after the action (`.` as `_`), written under the target dir once per test
/// binary (tests that read it run in parallel).
fn every_action() -> PathBuf {
    static WRITTEN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    WRITTEN
        .get_or_init(|| {
            let mut source = String::from("version = 1\nname = \"every-action\"\n");
            for action in catalog::user_actions() {
                let id = action.name.replace('.', "_");
                let example = action.example.unwrap_or_default();
                source.push_str(&format!(
                    "\n[steps.{id}]\naction = \"{}\"\n{}\n",
                    action.name,
                    example.trim()
                ));
            }
            let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("every-action.toml");
            std::fs::write(&path, source).expect("temp dir writable");
            path
        })
        .clone()
}

/// The template files the linters read, with their content: the examples' in `infra/` (kept current by
/// `infra_templates_are_current`), and the every-action fixture's, written under the target dir.
fn linted_templates() -> Vec<(PathBuf, Json)> {
    let mut out: Vec<_> = example_templates()
        .into_iter()
        .map(|(example, template)| (infra_path(&example), template))
        .collect();
    let fixture = every_action();
    let template = template(&fixture);
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("every-action.template.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&template).expect("json"),
    )
    .expect("temp dir writable");
    out.push((path, template));
    out
}

fn template(path: &Path) -> Json {
    let source = std::fs::read_to_string(path).expect("workflow readable");
    let workflow = workflow::check(&source).workflow.expect("workflow valid");
    let compiled = crate::compile(&source, path);
    compiler::template::template(&workflow, &compiled, &source)
}

/// A new action is linted without anyone remembering to: each action's example is a valid step, and the
/// workflow of all of them uses each user-facing action.
#[test]
fn every_action_workflow_uses_every_action() {
    let source = std::fs::read_to_string(every_action()).expect("workflow readable");
    let checked = workflow::check(&source);
    let workflow = checked
        .workflow
        .unwrap_or_else(|| panic!("the catalog's examples: {:#?}", checked.diagnostics));
    let used: std::collections::BTreeSet<&str> =
        workflow.steps.iter().map(|s| s.action.name).collect();
    let missing: Vec<&str> = catalog::user_actions()
        .map(|a| a.name)
        .filter(|name| !used.contains(name))
        .collect();
    assert!(missing.is_empty(), "no step of {missing:?}");
}

/// Each function gets its action's memory and timeout, as measured (BENCHMARKS.md, "Lambdas: the paging actions'
/// worst case"): the actions that read many pages in one invocation (ListTaskDefinitions, ListCommands,
/// DescribeRules, DescribeTargetHealth) 128 MB and 60 s, the log search 256 MB and 120 s, the rest 128 MB and 30 s.
#[test]
fn functions_that_page_get_more_time() {
    let template = template(&every_action());
    let sizes: std::collections::BTreeMap<String, (Json, Json)> = template["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Function")
        .map(|(id, r)| {
            let p = &r["Properties"];
            (id.clone(), (p["MemorySize"].clone(), p["Timeout"].clone()))
        })
        .collect();
    let paging = [
        "FnEcsDeploy",
        "FnCheckLogs",
        "FnSsmCommand",
        "FnAlbDeregister",
        "FnAlbHalt",
    ];
    for (id, size) in &sizes {
        let expected = match id.as_str() {
            "FnCheckLogs" => (serde_json::json!(256), serde_json::json!(120)),
            paged if paging.contains(&paged) => (serde_json::json!(128), serde_json::json!(60)),
            _ => (serde_json::json!(128), serde_json::json!(30)),
        };
        assert_eq!(size, &expected, "{id}");
    }
    assert!(
        paging.iter().all(|p| sizes.contains_key(*p)),
        "{:?}",
        sizes.keys()
    );
}

fn infra_path(example: &Path) -> PathBuf {
    let stem = example.file_stem().and_then(|s| s.to_str()).unwrap_or("x");
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../infra/{stem}.template.json"))
}

/// `infra/<example>.template.json` is what `stepback template` emits. `STEPBACK_BLESS=1` rewrites them.
#[test]
fn infra_templates_are_current() {
    let bless = std::env::var_os("STEPBACK_BLESS").is_some();
    for (example, template) in example_templates() {
        let text = serde_json::to_string_pretty(&template).expect("json") + "\n";
        let path = infra_path(&example);
        if bless {
            std::fs::write(&path, &text).expect("infra/ writable");
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "{} is stale: run `STEPBACK_BLESS=1 cargo test -p compiler --test it templates` and review the diff",
            path.display()
        );
    }
}

/// cfn-lint with informational checks, in a region of each partition (the resource types and properties exist
/// there). Two findings are filtered, exactly: cfn-lint 1.58.0's ASL schema rejects `Parameters` on a `Parallel`
/// state (E3601), which AWS documents for JSONPath Parallel states (ASL spec, "Parallel State": `Parameters` is
/// allowed); and its `Resource` pattern admits only `arn:aws:`, so a task's integration ARN resolved in another
/// partition is reported (W1031), although Step Functions in China requires `arn:aws-cn:states:::lambda:invoke`
/// ("Invoke an Amazon Lambda function with Step Functions", docs.amazonaws.cn). The rest of E3601 still checks
/// the definition.
#[test]
fn templates_pass_cfn_lint() {
    let lint = tool("STEPBACK_CFN_LINT", "../.venv/bin/cfn-lint");
    for (path, _) in linted_templates() {
        let output = Command::new(&lint)
            .args(["-c", "I", "--format", "json", "--regions"])
            .args(PARTITION_REGIONS)
            .arg("--")
            .arg(&path)
            .output()
            .expect("cfn-lint runs");
        let findings: Vec<Json> = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
            panic!(
                "cfn-lint gave no JSON for {}: {}{}",
                path.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        });
        let real: Vec<&Json> = findings
            .iter()
            .filter(|f| {
                !is_parallel_parameters_false_positive(f)
                    && !is_partition_resource_false_positive(f)
            })
            .collect();
        assert!(real.is_empty(), "cfn-lint on {}: {real:#?}", path.display());
    }
}

/// A region of each partition that stepback deploys to.
const PARTITION_REGIONS: [&str; 3] = ["us-east-1", "cn-north-1", "us-gov-west-1"];

fn is_partition_resource_false_positive(finding: &Json) -> bool {
    finding["Rule"]["Id"] == "W1031"
        && finding["Message"].as_str().is_some_and(|m| {
            m.starts_with("{'Fn::Sub': 'arn:${AWS::Partition}:states:::lambda:invoke")
        })
}

fn is_parallel_parameters_false_positive(finding: &Json) -> bool {
    finding["Rule"]["Id"] == "E3601"
        && finding["Message"]
            .as_str()
            .is_some_and(|m| m.contains("'Parameters' was unexpected"))
}

/// parliament finds nothing in any role's policy, and no statement grants `*` actions or a `*` resource that
/// the catalog's table of unscoped actions does not list.
#[test]
fn policies_pass_parliament_and_star_check() {
    let parliament = tool("STEPBACK_PARLIAMENT", "../.venv/bin/parliament");
    let mut checked = 0;
    for (example, template) in linted_templates() {
        for (id, resource) in template["Resources"].as_object().expect("resources") {
            if resource["Type"] != "AWS::IAM::Role" {
                continue;
            }
            for policy in resource["Properties"]["Policies"]
                .as_array()
                .expect("policies")
            {
                let document = resolve(&policy["PolicyDocument"]);
                star_check(&document, id);
                let output = Command::new(&parliament)
                    .args(["--json", "--string"])
                    .arg(document.to_string())
                    .stdin(std::process::Stdio::null())
                    .output()
                    .expect("parliament runs");
                let stdout = String::from_utf8_lossy(&output.stdout);
                let real: Vec<&str> = stdout
                    .lines()
                    .filter(|l| !is_listener_kind_false_positive(l))
                    .collect();
                // parliament exits non-zero when it reports a finding, and only then may it fail.
                assert!(
                    real.is_empty() && (output.status.success() || !stdout.trim().is_empty()),
                    "parliament on {} {id}:\n{}{}\n{document:#}",
                    example.display(),
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no policies checked");
}

/// The Service Authorization Reference lists `listener/app*` and `listener/net*` as CreateRule's resource types,
/// one or the other (a listener is of an application or a network load balancer); parliament requires a resource
/// of each, so an application load balancer's listener alone is reported as missing the `net` one.
fn is_listener_kind_false_positive(line: &str) -> bool {
    let Ok(finding) = serde_json::from_str::<Json>(line) else {
        return false;
    };
    finding["issue"] == "RESOURCE_MISMATCH"
        && finding["detail"].as_array().is_some_and(|details| {
            details.iter().all(|d| {
                d["action"] == "elasticloadbalancing:CreateRule"
                    && d["required_format"]
                        .as_str()
                        .is_some_and(|f| f.contains(":listener/net/"))
            })
        })
}

fn star_check(document: &Json, role: &str) {
    for statement in document["Statement"].as_array().expect("statements") {
        let actions = strings(&statement["Action"]);
        assert!(
            actions.iter().all(|a| !a.contains('*')),
            "{role}: wildcard action {actions:?}"
        );
        if strings(&statement["Resource"]).iter().any(|r| r == "*") {
            for action in &actions {
                assert!(
                    catalog::iam::unscoped_reason(action).is_some(),
                    "{role}: {action} on `*`, but AWS scopes it by resource"
                );
            }
        }
        assert!(
            actions.iter().all(|a| !a.contains(":Delete")
                || catalog::iam::ONLY_DELETES.iter().any(|(d, _)| d == a)),
            "{role}: a delete action {actions:?}"
        );
    }
}

fn strings(value: &Json) -> Vec<String> {
    match value {
        Json::String(s) => vec![s.clone()],
        Json::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The policy as IAM sees it once deployed in us-east-1 of account 123456789012: intrinsics filled in.
fn resolve(value: &Json) -> Json {
    match value {
        Json::Object(map) if map.len() == 1 => {
            let (key, arg) = map.iter().next().expect("one entry");
            match key.as_str() {
                "Fn::Sub" => json!(
                    arg.as_str()
                        .unwrap_or_default()
                        .replace("${AWS::Partition}", "aws")
                        .replace("${AWS::Region}", "us-east-1")
                        .replace("${AWS::AccountId}", "123456789012")
                        .replace("${AWS::URLSuffix}", "amazonaws.com")
                        .replace("${!", "${")
                ),
                "Fn::GetAtt" => {
                    let id = arg[0].as_str().unwrap_or_default();
                    if id.ends_with("Logs") {
                        json!(format!(
                            "arn:aws:logs:us-east-1:123456789012:log-group:{id}:*"
                        ))
                    } else {
                        json!(format!(
                            "arn:aws:lambda:us-east-1:123456789012:function:{id}"
                        ))
                    }
                }
                "Ref" if arg == compiler::iam::TASK_ROLES_PARAMETER => {
                    json!(["arn:aws:iam::123456789012:role/webapp-task"])
                }
                "Ref" => json!(format!(
                    "arn:aws:states:us-east-1:123456789012:stateMachine:{}",
                    arg.as_str().unwrap_or_default()
                )),
                _ => json!({ key: resolve(arg) }),
            }
        }
        Json::Object(map) => {
            Json::Object(map.iter().map(|(k, v)| (k.clone(), resolve(v))).collect())
        }
        Json::Array(items) => Json::Array(items.iter().map(resolve).collect()),
        other => other.clone(),
    }
}

fn tool(variable: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(default));
    assert!(
        path.exists(),
        "{} not found at {}: run scripts/test, which installs it, or set {variable}",
        default.rsplit('/').next().unwrap_or(default),
        path.display()
    );
    path
}
