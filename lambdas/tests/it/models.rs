//! The model check (`tests::models`, run on every test's requests when its `Aws` drops) refuses what AWS would:
//! real requests of the handlers, each changed in one member, against the services' models and the rules beside
//! them. The requests unchanged pass.

use rehearsal_front::sent::{Protocol, Sent};
use serde_json::{Value, json};

use crate::{Aws, Step, output};

/// `sent` with `member` set to `value` (a string for a query member), or removed when `value` is null.
fn with(sent: &Sent, member: &str, value: Value) -> Sent {
    let body = match sent.protocol {
        Protocol::Query => {
            let mut pairs: Vec<(String, String)> =
                reqwest::Url::parse(&format!("http://form/?{}", sent.body))
                    .expect("a form")
                    .query_pairs()
                    .into_owned()
                    .filter(|(key, _)| key != member)
                    .collect();
            if let Some(text) = value.as_str() {
                pairs.push((member.to_owned(), text.to_owned()));
            }
            let mut url = reqwest::Url::parse("http://form/").expect("a URL");
            url.query_pairs_mut().extend_pairs(pairs);
            url.query().unwrap_or_default().to_owned()
        }
        Protocol::RestJson => {
            panic!("a restJson request's members are in its HTTP bindings: see `invoke`")
        }
        Protocol::Json | Protocol::Cbor => {
            let mut body: Value = serde_json::from_str(&sent.body).expect("a JSON body");
            if value.is_null() {
                body.as_object_mut().expect("an object").remove(member);
            } else {
                body[member] = value;
            }
            body.to_string()
        }
    };
    Sent {
        body,
        ..sent.clone()
    }
}

fn the(sent: &[Sent], operation: &str) -> Sent {
    sent.iter()
        .find(|s| s.operation == operation)
        .cloned()
        .unwrap_or_else(|| panic!("no {operation} among {sent:?}"))
}

#[tokio::test]
async fn the_model_check_refuses_what_aws_would() {
    let aws = Aws::start().await;
    let id = aws.ec2_instance().await;
    output(
        Step::new("ec2.image", json!({"instance_id": id}))
            .run(&aws)
            .await,
    );
    output(
        Step::new(
            "ssm.command",
            json!({"instance_ids": [id], "commands": ["systemctl restart app"]}),
        )
        .run(&aws)
        .await,
    );
    let sent = aws.recorder.sent();
    assert_eq!(tests::models::violations(&sent), Vec::<String>::new());
    let (image, command) = (the(&sent, "CreateImage"), the(&sent, "SendCommand"));
    // What RDS refuses beyond its model, in a request as `rds.snapshot` writes it.
    let snapshot = Sent::new(
        "POST",
        |_| "",
        "/",
        b"Action=CreateDBSnapshot&Version=2014-10-31&DBInstanceIdentifier=orders&DBSnapshotIdentifier=orders-0a1b2c3d",
    )
    .map(|s| Sent {
        service: "rds".to_owned(),
        ..s
    })
    .expect("a query request");
    assert_eq!(
        tests::models::violations(&[&snapshot]),
        Vec::<String>::new()
    );

    let cases = [
        (
            with(&image, "InstanceId", Value::Null),
            "ec2:CreateImage InstanceId: is required",
        ),
        (
            with(&image, "Name", json!("ab")),
            "ec2:CreateImage Name: has 2 characters, ImageNameRequest takes at least 3",
        ),
        (
            with(&image, "Name", json!("stepback: web?")),
            "ec2:CreateImage Name: is `stepback: web?`: 3-128 alphanumeric characters, parentheses, square brackets, \
             spaces, periods, slashes, dashes, single quotes, at-signs, or underscores \
             (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateImage.html)",
        ),
        (
            with(&image, "TagSpecification.1.ResourceType", json!("picture")),
            "ec2:CreateImage TagSpecifications[0].ResourceType: is `picture`, not one of ResourceType's values",
        ),
        (
            // ec2Query writes a list `Name.N`; `Tags.member.N` is awsQuery's.
            with(&image, "TagSpecification.1.Tags.member.1.Key", json!("k")),
            "ec2:CreateImage TagSpecification.1.Tags.member.1.Key: is not a member of the input shape",
        ),
        (
            with(&image, "Version", json!("2015-03-01")),
            "ec2:CreateImage Version: is `2015-03-01`, the model's API version is `2016-11-15`",
        ),
        (
            with(&command, "Comment", json!("c".repeat(101))),
            "ssm:SendCommand Comment: has 101 characters, Comment takes at most 100",
        ),
        (
            with(&command, "InstanceIds", json!(["i-1"])),
            "ssm:SendCommand InstanceIds[0]: is `i-1`, which does not match InstanceId's pattern \
             `(^i-(\\w{8}|\\w{17})$)|(^mi-\\w{17}$)`",
        ),
        (
            with(&command, "TimeoutSeconds", json!("600")),
            "ssm:SendCommand TimeoutSeconds: is of type string, TimeoutSeconds is of type integer",
        ),
        (
            with(&command, "DocumentName", Value::Null),
            "ssm:SendCommand DocumentName: is required",
        ),
        (
            with(&command, "Instances", json!(["i-1"])),
            "ssm:SendCommand Instances: is not a member of the input shape",
        ),
        (
            with(&snapshot, "DBSnapshotIdentifier", json!("orders--0a1b2c3d")),
            "rds:CreateDBSnapshot DBSnapshotIdentifier: is `orders--0a1b2c3d`: must contain from 1 to 255 letters, \
             numbers, or hyphens, the first a letter, none last or two in a row \
             (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSnapshot.html)",
        ),
    ];
    for (request, expected) in cases {
        let found = tests::models::violations(&[&request]);
        assert!(
            found.iter().any(|v| v.starts_with(expected)),
            "{expected}\nnot among {found:#?}\nfor {request:?}"
        );
    }
}

/// Lambda's Invoke as Step Functions' `lambda:invoke` sends it (what `serve` records in a rehearsal), with the
/// request line's `path` and extra headers.
fn invoke(path: &str, headers: &str) -> Sent {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20261207/us-east-1/lambda/aws4_request\r\n{headers}\r\n"
    );
    Sent::rest_json(
        "lambda",
        "Invoke",
        &head,
        br#"{"version":2,"action":"guard"}"#,
    )
    .expect("a request line")
}

/// restJson, whose members sit in the path, the query and the headers as well as the body: Lambda's Invoke,
/// read by its HTTP bindings. The request unchanged passes; each binding changed is refused.
#[test]
fn the_model_check_reads_rest_json_bindings() {
    let function = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Astepback-guard/invocations";
    let sent = invoke(function, "X-Amz-Invocation-Type: RequestResponse\r\n");
    assert_eq!(tests::models::violations(&[&sent]), Vec::<String>::new());
    let long = format!("/2015-03-31/functions/{}/invocations", "f".repeat(257));
    let cases = [
        (
            invoke(function, "X-Amz-Invocation-Type: Sync\r\n"),
            "lambda:Invoke InvocationType: is `Sync`, not one of InvocationType's values: Event, RequestResponse, DryRun",
        ),
        (
            invoke(&long, ""),
            "lambda:Invoke FunctionName: has 257 characters, NamespacedFunctionName takes at most 256",
        ),
        (
            invoke("/2015-03-31/functions/%3F%21/invocations", ""),
            "lambda:Invoke FunctionName: is `?!`, which does not match NamespacedFunctionName's pattern",
        ),
        (
            invoke(&format!("{function}?Qualifier="), ""),
            "lambda:Invoke Qualifier: has 0 characters, NumericLatestPublishedOrAliasQualifier takes at least 1",
        ),
        (
            invoke(&format!("{function}?Version=2"), ""),
            "lambda:Invoke Version: is not a member of the input shape",
        ),
        (
            invoke("/2015-03-31/functions/stepback-guard/invoke", ""),
            "lambda:Invoke (input): is `POST /2015-03-31/functions/stepback-guard/invoke`, not the model's \
             `POST /2015-03-31/functions/{FunctionName}/invocations`",
        ),
    ];
    for (request, expected) in cases {
        let found = tests::models::violations(&[&request]);
        assert!(
            found.iter().any(|v| v.starts_with(expected)),
            "{expected}\nnot among {found:#?}\nfor {request:?}"
        );
    }
}
