//! A stack in the China regions (partition `aws-cn`): the definition `compile --region cn-north-1` writes, and
//! the template as CloudFormation resolves it in cn-north-1. No `arn:aws:` is left in either, and Step Functions
//! runs a machine only with its own partition's integrations (`arn:aws-cn:states:::lambda:invoke`: "Invoke an
//! Amazon Lambda function with Step Functions", docs.amazonaws.cn).

use std::path::Path;

use serde_json::{Map, Value as Json, json};

const REGION: &str = "cn-north-1";
const ACCOUNT: &str = "123456789012";

/// The webapp example with its resources in cn-north-1.
fn china_example() -> (String, workflow::Workflow) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/webapp-rollback.toml");
    let source = std::fs::read_to_string(&path)
        .expect("example readable")
        .replace("arn:aws:", "arn:aws-cn:")
        .replace("us-east-1", REGION);
    let workflow = workflow::check(&source).workflow.expect("example valid");
    (source, workflow)
}

#[test]
fn definition_for_a_china_region() {
    let (_, workflow) = china_example();
    let options = compiler::Options::default().with_account(REGION, ACCOUNT, "stepback-");
    let compiled = compiler::compile(&workflow, &options).expect("compiles");
    assert!(!compiled.json.contains("arn:aws:"), "{}", compiled.json);
    insta::assert_snapshot!(compiled.json);
    crate::fixtures::asl_validate(&[(
        Path::new("webapp-rollback-cn.toml").to_owned(),
        compiled.json,
    )]);
}

#[test]
fn template_in_a_china_region() {
    let (source, workflow) = china_example();
    let compiled = compiler::compile(&workflow, &compiler::Options::default()).expect("compiles");
    let template = compiler::template::template(&workflow, &compiled, &source);
    // As `stepback deploy` sends it, resolved as CloudFormation would in cn-north-1.
    let sent = compiler::template::with_definition_string(&template);
    let mut resolved = Resolver::new(&sent).resolve(&sent);
    resolved
        .as_object_mut()
        .expect("template object")
        .remove("Metadata");
    let machine = &mut resolved["Resources"]["StateMachine"]["Properties"];
    let definition = machine["DefinitionString"]
        .as_str()
        .expect("resolved")
        .to_owned();
    machine["DefinitionString"] = serde_json::from_str(&definition).expect("definition JSON");
    let text = serde_json::to_string_pretty(&resolved).expect("json");
    assert!(!text.contains("arn:aws:"), "{text}");
    assert_eq!(
        resolved["Outputs"]["ConsoleUrl"]["Value"],
        "https://console.amazonaws.cn/states/home?region=cn-north-1#/statemachines/view/arn:aws-cn:states:cn-north-1:123456789012:stateMachine:webapp-rollback"
    );
    insta::assert_snapshot!(text);
    crate::fixtures::asl_validate(&[(
        Path::new("webapp-rollback-cn.template.toml").to_owned(),
        definition,
    )]);
}

/// The intrinsic functions stepback's templates use, evaluated in one region of the China partition.
struct Resolver<'a> {
    template: &'a Json,
}

impl<'a> Resolver<'a> {
    fn new(template: &'a Json) -> Resolver<'a> {
        Resolver { template }
    }

    fn pseudo(&self, name: &str) -> Option<String> {
        Some(match name {
            "AWS::Partition" => "aws-cn".to_owned(),
            "AWS::Region" => REGION.to_owned(),
            "AWS::AccountId" => ACCOUNT.to_owned(),
            "AWS::URLSuffix" => "amazonaws.com.cn".to_owned(),
            _ => return None,
        })
    }

    /// A `Ref`: a pseudo parameter, a parameter as `<Name>`, or a resource's physical id or ARN.
    fn reference(&self, name: &str) -> Json {
        if let Some(value) = self.pseudo(name) {
            return json!(value);
        }
        if self.template["Parameters"].get(name).is_some() {
            return json!(format!("<{name}>"));
        }
        match self.template["Resources"][name]["Type"].as_str() {
            Some("AWS::StepFunctions::StateMachine") => json!(format!(
                "arn:aws-cn:states:{REGION}:{ACCOUNT}:stateMachine:{}",
                self.template["Resources"][name]["Properties"]["StateMachineName"]
                    .as_str()
                    .unwrap_or(name)
            )),
            _ => json!(name),
        }
    }

    fn attribute(&self, id: &str) -> String {
        match self.template["Resources"][id]["Type"].as_str() {
            Some("AWS::Lambda::Function") => {
                format!("arn:aws-cn:lambda:{REGION}:{ACCOUNT}:function:{id}")
            }
            Some("AWS::IAM::Role") => format!("arn:aws-cn:iam::{ACCOUNT}:role/{id}"),
            Some("AWS::Logs::LogGroup") => {
                format!("arn:aws-cn:logs:{REGION}:{ACCOUNT}:log-group:{id}:*")
            }
            Some("AWS::DynamoDB::Table") => {
                format!("arn:aws-cn:dynamodb:{REGION}:{ACCOUNT}:table/{id}")
            }
            other => panic!("no Arn for {id} of type {other:?}"),
        }
    }

    fn condition(&self, name: &str) -> bool {
        self.resolve(&self.template["Conditions"][name]) == json!(true)
    }

    fn substitute(&self, text: &str, variables: &Map<String, Json>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            if let Some(literal) = after.strip_prefix('!') {
                out.push_str("${");
                rest = literal;
                continue;
            }
            let (name, tail) = after.split_once('}').expect("closed variable");
            let value = match (variables.get(name), name.split_once('.')) {
                (Some(value), _) => self
                    .resolve(value)
                    .as_str()
                    .expect("string variable")
                    .to_owned(),
                (None, Some((id, "Arn"))) => self.attribute(id),
                (None, _) => self
                    .reference(name)
                    .as_str()
                    .expect("string reference")
                    .to_owned(),
            };
            out.push_str(&value);
            rest = tail;
        }
        out.push_str(rest);
        out
    }

    fn resolve(&self, value: &Json) -> Json {
        match value {
            Json::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().expect("one entry");
                match key.as_str() {
                    "Ref" => self.reference(arg.as_str().expect("Ref name")),
                    "Fn::GetAtt" => json!(self.attribute(arg[0].as_str().expect("logical id"))),
                    "Fn::Sub" => match arg {
                        Json::String(text) => json!(self.substitute(text, &Map::new())),
                        _ => json!(self.substitute(
                            arg[0].as_str().expect("Sub string"),
                            arg[1].as_object().expect("Sub variables")
                        )),
                    },
                    "Fn::If" => {
                        let branch = if self.condition(arg[0].as_str().expect("condition")) {
                            1
                        } else {
                            2
                        };
                        self.resolve(&arg[branch])
                    }
                    "Fn::Equals" => json!(self.resolve(&arg[0]) == self.resolve(&arg[1])),
                    "Fn::Not" => json!(self.resolve(&arg[0]) != json!(true)),
                    "Fn::Join" => {
                        let parts: Vec<String> = self
                            .resolve(&arg[1])
                            .as_array()
                            .expect("Join list")
                            .iter()
                            .map(|p| p.as_str().unwrap_or_default().to_owned())
                            .collect();
                        json!(parts.join(arg[0].as_str().expect("separator")))
                    }
                    _ => json!({ key: self.resolve(arg) }),
                }
            }
            Json::Object(map) => Json::Object(
                map.iter()
                    .filter(|(k, _)| k.as_str() != "Conditions")
                    .map(|(k, v)| (k.clone(), self.resolve(v)))
                    .collect(),
            ),
            Json::Array(items) => Json::Array(items.iter().map(|i| self.resolve(i)).collect()),
            other => other.clone(),
        }
    }
}
