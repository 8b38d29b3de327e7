//! The catalog is the single source of params: every action's typed params accept exactly the catalog's
//! names, require exactly the required ones, and reject anything else as `Stepback.InvalidInput`.

use catalog::{ErrorName, Runtime, ValueType};
use lambda_runtime::Diagnostic;
use serde_json::{Map, Value, json};

use crate::{Aws, Step, error};

fn sample(ty: ValueType) -> Value {
    match ty {
        ValueType::String => json!("x"),
        ValueType::Number => json!(3),
        ValueType::Bool => json!(true),
        ValueType::StringList => json!(["x"]),
        ValueType::StringMap => json!({"team": "web"}),
        ValueType::Duration => json!(30),
        ValueType::Targets => json!(["i-0abc:80"]),
        ValueType::Series => json!([{"time": "2026-11-27T15:04:00Z", "value": 1.5}]),
    }
}

/// `Err` with the error's name when the function refuses `params` as not fitting the action's params type.
/// Any other answer counts as accepted: sample values make moto answer NotFound and the like.
async fn parse(
    aws: &Aws,
    action: &'static str,
    params: Map<String, Value>,
) -> Result<(), ErrorName> {
    // Straight to the handler, past the IAM check: sample values name no resource a policy could.
    let spec = catalog::action(action).expect("a catalog action");
    let function = lambdas::Function::new(spec).expect("a Lambda action");
    let payload = Step::new(action, Value::Object(params)).payload("start", None);
    match function.handle(&aws.clients, payload).await {
        Err(e)
            if e.message
                .starts_with(&format!("params of `{action}` are invalid")) =>
        {
            Err(e.name)
        }
        _ => Ok(()),
    }
}

#[tokio::test]
async fn typed_params_agree_with_the_catalog() {
    let aws = Aws::start().await;
    let lambda_actions = catalog::ACTIONS
        .iter()
        .filter(|a| a.runtime != Runtime::Native);
    for action in lambda_actions {
        let every: Map<String, Value> = action
            .params
            .iter()
            .map(|p| {
                // The guard's `max_lengths` maps names to numbers, which no `ValueType` says (a map of strings is
                // the nearest); only the compiler writes it, never a workflow.
                // The readiness function's `checks` are the readiness machine's branch results, objects that no
                // `ValueType` says either.
                let value = if p.name == catalog::GUARD_MAX_LENGTHS {
                    json!({"reason": 1024})
                } else if action.name == catalog::readiness::ACTION
                    && p.name == catalog::readiness::CHECKS
                {
                    json!([{ "step": "s1", "cases": ["defaults"], "findings": [] }])
                } else {
                    sample(p.ty)
                };
                (p.name.to_owned(), value)
            })
            .collect();
        assert_eq!(
            parse(&aws, action.name, every.clone()).await,
            Ok(()),
            "{}: every catalog param",
            action.name
        );
        for param in action.params {
            let mut without = every.clone();
            without.remove(param.name);
            let expected = if param.required {
                Err(ErrorName::InvalidInput)
            } else {
                Ok(())
            };
            assert_eq!(
                parse(&aws, action.name, without).await,
                expected,
                "{} without {}",
                action.name,
                param.name
            );
        }
        let mut unknown = every;
        unknown.insert("instanse".to_owned(), json!("typo"));
        assert_eq!(
            parse(&aws, action.name, unknown).await,
            Err(ErrorName::InvalidInput),
            "{}: unknown param",
            action.name
        );
    }
}

#[test]
fn a_native_action_has_no_function() {
    let wait = catalog::action("wait").expect("wait is in the catalog");
    let refused = lambdas::Function::new(wait).err().unwrap_or_default();
    assert!(refused.contains("native state"), "{refused}");
}

#[tokio::test]
async fn payloads_that_break_the_contract_are_invalid_input_with_a_matchable_error_type() {
    let aws = Aws::start().await;
    let step = Step::new("notify", json!({"topic": "t", "message": "m"}));
    let mut wrong_version = step.payload("start", None);
    wrong_version["version"] = json!(99);
    let mut unknown_field = step.payload("start", None);
    unknown_field["extra"] = json!(1);
    let cases = [
        ("not an object", json!("hello")),
        ("wrong version", wrong_version),
        ("unknown field", unknown_field),
        (
            "other action",
            Step::new("rds.snapshot", json!({"instance": "db"})).payload("start", None),
        ),
        ("poll of an invoke action", step.payload("poll", None)),
        (
            "wrong param type",
            Step::new("notify", json!({"topic": 1, "message": "m"})).payload("start", None),
        ),
    ];
    for (case, payload) in cases {
        let failure = error(crate::invoke(&aws, "notify", payload).await);
        let diagnostic = Diagnostic::from(failure);
        assert_eq!(
            diagnostic.error_type, "Stepback.InvalidInput",
            "{case}: {}",
            diagnostic.error_message
        );
    }
}

#[tokio::test]
async fn a_poll_without_the_state_from_start_is_invalid_input() {
    let aws = Aws::start().await;
    let step = Step::new("rds.snapshot", json!({"instance": "db"}));
    assert_eq!(
        error(step.poll(&aws, None).await).name,
        ErrorName::InvalidInput
    );
}
