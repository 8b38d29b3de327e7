//! `approval`: asks a person through SNS. The state machine waits on the task token
//! (`lambda:invoke.waitForTaskToken`) until `stepback approve|reject` calls SendTaskSuccess or
//! SendTaskFailure, so the approver's identity and comment never pass through this function.

use catalog::contract::{Execution, Finding, Response};
use serde::Deserialize;

use crate::actions::notify::{publish, topic_usable};
use crate::actions::{Action, Handler, Invoke};
use crate::check::Known;
use crate::{ActionError, Call, Clients, running};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub topic: String,
    pub message: String,
}

/// Publishes the request, naming the execution; the answer comes from `stepback approve|reject`, which finds
/// the task token in the execution's history.
pub struct Approval;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::invoke::<Approval>()];

impl Action for Approval {
    const NAME: &str = "approval";
    type Params = Params;

    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        topic_usable(clients, params).await
    }
}

impl Invoke for Approval {
    async fn invoke(clients: &Clients, call: Call<Params>) -> Result<Response, ActionError> {
        if call.task_token.is_none() {
            return Err(ActionError::invalid_input(
                "approval needs the task token: its state must use lambda:invoke.waitForTaskToken",
            ));
        }
        let execution = &call.execution;
        let subject = format!(
            "stepback: approve {} in {}?",
            execution.step, execution.name
        );
        // No task token in the message: anyone who reads the topic could answer with it (SendTaskSuccess has
        // no resource-level permission). `stepback approve EXECUTION_ARN` finds it in the execution's history,
        // which takes a read of this state machine's executions.
        let body = format!(
            "{message}\n\n\
         Step `{step}` of execution `{name}` is waiting for approval.\n\
         Execution: {id}\n\n\
         To approve: stepback approve {id} [--comment \"...\"]\n\
         To reject:  stepback reject {id} [--comment \"...\"]\n",
            message = call.params.message,
            step = execution.step,
            name = execution.name,
            id = execution.id,
        );
        let message_id = publish(clients, &call.params.topic, Some(&subject), body).await?;
        // Step Functions ignores this answer: the step's output comes from SendTaskSuccess.
        running(
            &(),
            format!(
                "approval requested on {} (SNS message {message_id})",
                call.params.topic
            ),
        )
    }
}
