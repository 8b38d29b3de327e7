//! The Lambda entry point: finds the action's handler from the environment, then serves. AWS clients are
//! built on first use, so a function builds only those of its own action.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambdas::logging::init();
    let function = lambdas::Function::from_env()?;
    // Lambda gives the execution role's credentials in the environment ("Defined runtime environment variables",
    // Lambda developer guide): the default chain would build an STS client for web identity first, and its
    // HTTPS client with the system's certificate store, at every cold start.
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
        .http_client(lambdas::tls::https_client())
        .load()
        .await;
    let clients = lambdas::Clients::new(&config);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        function.handle(&clients, event.payload)
    }))
    .await
}
