//! One module per action. Each has a `Params` type that mirrors the catalog's params with
//! `deny_unknown_fields`, an `Output` type that mirrors the catalog's outputs, and a `run` function.

pub mod alb;
pub mod approval;
pub mod check_alarms;
pub mod check_http;
pub mod ec2_image;
pub mod ecs_deploy;
pub mod ecs_run_task;
pub mod guard;
pub mod notify;
pub mod rds_restore;
pub mod rds_snapshot;
pub mod ssm_command;

use catalog::ErrorName;
use catalog::contract::{Operation, Request, Response, Status};
use serde::de::DeserializeOwned;

use crate::{ActionError, Call, Clients};

/// An action with a long operation, run as `start` and then `poll` from the state machine's Wait loop.
pub(crate) trait LongAction {
    type Params;
    type State: DeserializeOwned;

    /// Begins the operation, or finds the one an earlier attempt of this step began.
    async fn start(
        clients: &Clients,
        call: &Call<Self::Params>,
    ) -> Result<Self::State, ActionError>;

    /// Looks at the operation: done, running (with the state for the next poll), or why it cannot finish.
    async fn observe(
        clients: &Clients,
        call: &Call<Self::Params>,
        state: Self::State,
    ) -> Result<Response, ActionError>;
}

/// Runs `start` or `poll`. A `start` raises its errors so that `Retry` and `Catch` see them; a `poll` raises
/// only transient ones and answers the rest as `status: failed` (the contract's rule), since the operation,
/// not the call, has failed.
async fn run_long<A: LongAction>(
    clients: &Clients,
    call: Call<A::Params>,
) -> Result<Response, ActionError> {
    let state = match call.operation {
        Operation::Start => A::start(clients, &call).await?,
        Operation::Poll => call.state()?,
    };
    match A::observe(clients, &call, state).await {
        Err(error) if call.operation == Operation::Poll && error.name != ErrorName::Transient => {
            Ok(Response {
                error: Some(error.name.as_str().to_owned()),
                cause: Some(error.message),
                ..crate::response(Status::Failed)
            })
        }
        answer => answer,
    }
}

/// A request whose params have been checked against its action's own type.
pub enum ActionCall {
    Notify(Call<notify::Params>),
    Approval(Call<approval::Params>),
    RdsSnapshot(Call<rds_snapshot::Params>),
    RdsRestore(Call<rds_restore::Params>),
    EcsRunTask(Call<ecs_run_task::Params>),
    EcsDeploy(Call<ecs_deploy::Params>),
    AlbDeregister(Call<alb::DeregisterParams>),
    AlbRegister(Call<alb::RegisterParams>),
    CheckHttp(Call<check_http::Params>),
    CheckAlarms(Call<check_alarms::Params>),
    SsmCommand(Call<ssm_command::Params>),
    Ec2Image(Call<ec2_image::Params>),
    Guard(Call<guard::Params>),
}

impl ActionCall {
    /// Checks the params; a payload that does not fit is `Stepback.InvalidInput`.
    pub fn parse(request: Request) -> Result<ActionCall, ActionError> {
        Ok(match request.action.as_str() {
            "notify" => ActionCall::Notify(Call::parse(request)?),
            "approval" => ActionCall::Approval(Call::parse(request)?),
            "rds.snapshot" => ActionCall::RdsSnapshot(Call::parse(request)?),
            "rds.restore" => ActionCall::RdsRestore(Call::parse(request)?),
            "ecs.run_task" => ActionCall::EcsRunTask(Call::parse(request)?),
            "ecs.deploy" => ActionCall::EcsDeploy(Call::parse(request)?),
            "alb.deregister" => ActionCall::AlbDeregister(Call::parse(request)?),
            "alb.register" => ActionCall::AlbRegister(Call::parse(request)?),
            "check.http" => ActionCall::CheckHttp(Call::parse(request)?),
            "check.alarms" => ActionCall::CheckAlarms(Call::parse(request)?),
            "ssm.command" => ActionCall::SsmCommand(Call::parse(request)?),
            "ec2.image" => ActionCall::Ec2Image(Call::parse(request)?),
            "guard" => ActionCall::Guard(Call::parse(request)?),
            other => {
                return Err(ActionError::invalid_input(format!(
                    "no Lambda handler for action `{other}`"
                )));
            }
        })
    }

    pub async fn run(self, clients: &Clients) -> Result<Response, ActionError> {
        match self {
            ActionCall::Notify(call) => notify::run(clients, call).await,
            ActionCall::Approval(call) => approval::run(clients, call).await,
            ActionCall::RdsSnapshot(call) => {
                run_long::<rds_snapshot::RdsSnapshot>(clients, call).await
            }
            ActionCall::RdsRestore(call) => {
                run_long::<rds_restore::RdsRestore>(clients, call).await
            }
            ActionCall::EcsRunTask(call) => {
                run_long::<ecs_run_task::EcsRunTask>(clients, call).await
            }
            ActionCall::EcsDeploy(call) => run_long::<ecs_deploy::EcsDeploy>(clients, call).await,
            ActionCall::AlbDeregister(call) => run_long::<alb::AlbDeregister>(clients, call).await,
            ActionCall::AlbRegister(call) => run_long::<alb::AlbRegister>(clients, call).await,
            ActionCall::CheckHttp(call) => run_long::<check_http::CheckHttp>(clients, call).await,
            ActionCall::CheckAlarms(call) => {
                run_long::<check_alarms::CheckAlarms>(clients, call).await
            }
            ActionCall::SsmCommand(call) => {
                run_long::<ssm_command::SsmCommand>(clients, call).await
            }
            ActionCall::Ec2Image(call) => run_long::<ec2_image::Ec2Image>(clients, call).await,
            ActionCall::Guard(call) => guard::run(clients, call).await,
        }
    }
}
