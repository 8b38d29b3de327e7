//! The Lambda entry point: reads the action from the environment, builds every client once, then serves.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let action = lambdas::configured_action()?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = lambdas::Clients::new(&config);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        lambdas::handle(&clients, action, event.payload)
    }))
    .await
}
