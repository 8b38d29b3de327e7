//! The Lambda entry point: finds the action's handler from the environment, then serves. AWS clients are
//! built on first use, so a function builds only those of its own action.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambdas::logging::init();
    let function = lambdas::Function::from_env()?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = lambdas::Clients::new(&config);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        function.handle(&clients, event.payload)
    }))
    .await
}
