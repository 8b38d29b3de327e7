//! Test harness shared by the crates' integration tests: a moto server on a free loopback port, the alarm
//! event that starts a rollback, and the guard's lock table of a state machine made without its stack.
//!
//! `scripts/test` installs moto into the workspace's `.venv` (through `scripts/setup`) and exports
//! `STEPBACK_MOTO_SERVER`. A test that needs moto fails when it is missing, with the command that installs it: a
//! skipped emulator test would look like a pass.

pub mod models;

/// aws-smithy-mocks' `mock_client!` on a config of our own: the same mock HTTP client and rules, a region and
/// test credentials, but not the SDK crate's `with_test_defaults_v2`, which only its `test-util` feature has.
/// With that feature, `scripts/test` would build the SDK crates a second time beside the README's first
/// command's build (BENCHMARKS.md, "Build time").
#[macro_export]
macro_rules! mock_client {
    ($sdk:ident, $mode:expr, $rules:expr) => {
        $crate::mock_client!($sdk, $mode, $rules, |c| c)
    };
    ($sdk:ident, $mode:expr, $rules:expr, $configure:expr) => {{
        let mut interceptor = ::aws_smithy_mocks::MockResponseInterceptor::new().rule_mode($mode);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        fn coerce<T: Fn($sdk::config::Builder) -> $sdk::config::Builder>(f: T) -> T {
            f
        }
        $sdk::Client::from_conf(
            coerce($configure)(
                $sdk::Config::builder()
                    .behavior_version($sdk::config::BehaviorVersion::latest())
                    .region($sdk::config::Region::new($crate::REGION))
                    .credentials_provider($sdk::config::Credentials::new(
                        "AKIDTEST", "secret", None, None, "tests",
                    ))
                    .http_client(::aws_smithy_mocks::create_mock_http_client())
                    .interceptor(interceptor),
            )
            .build(),
        )
    }};
}

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde_json::{Value, json};

/// moto's region in every test; moto keeps one backend per region.
pub const REGION: &str = "us-east-1";

/// Numbers the events that [`alarm_event`] makes.
static EVENTS: AtomicU64 = AtomicU64::new(0);

/// An alarm reason with what breaks naive templating: double quotes, a backslash, a newline, brackets and `{}`
/// (which `States.Format` fills).
pub const ALARM_REASON: &str = "Threshold Crossed: 1 out of the last 1 datapoints [99.5 (02/10/19 16:59:00)] was \
    greater than the threshold (50.0)\nworst target: \"C:\\app\" {}";

/// When [`alarm_event`]'s alarm changed state, as CloudWatch writes it: milliseconds, and no colon in the offset.
pub const ALARM_TIME: &str = "2019-10-02T17:04:40.989+0000";

/// The "CloudWatch Alarm State Change" event that EventBridge delivers when `alarm` goes from `OK` to `state`,
/// in the shape of CloudWatch's user guide ("Alarm events and EventBridge"). Each event has its own `id`.
pub fn alarm_event(alarm: &str, state: &str, reason: &str) -> Value {
    json!({
        "version": "0",
        "id": format!("c4c1c1c9-6542-e61b-6ef0-{:012x}", EVENTS.fetch_add(1, Ordering::Relaxed)),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": "2019-10-02T17:04:40Z",
        "region": REGION,
        "resources": [format!("arn:aws:cloudwatch:{REGION}:123456789012:alarm:{alarm}")],
        "detail": {
            "alarmName": alarm,
            "state": {
                "value": state,
                "reason": reason,
                "reasonData": "{\"version\":\"1.0\",\"queryDate\":\"2019-10-02T17:04:40.985+0000\",\"statistic\":\"Average\",\"period\":60,\"recentDatapoints\":[99.5],\"threshold\":50.0}",
                "timestamp": ALARM_TIME,
            },
            "previousState": {
                "value": "OK",
                "reason": "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (02/10/19 16:54:00)] was not greater than the threshold (50.0)",
                "timestamp": "2019-10-02T16:55:40.985+0000",
            },
            "configuration": {
                "description": format!("{alarm} for the rollback tests"),
                "metrics": [{
                    "id": "m1",
                    "metricStat": {
                        "metric": { "namespace": "AWS/ApplicationELB", "name": "HTTPCode_Target_5XX_Count", "dimensions": {} },
                        "period": 60,
                        "stat": "Average",
                    },
                    "returnData": true,
                }],
            },
        },
    })
}

/// A moto server process (`emulator::Moto`, found and started as `stepback rehearse` does), killed on drop.
/// Every server has its own empty state.
pub struct Moto {
    server: emulator::Moto,
}

impl Moto {
    /// Starts moto with its default settings.
    pub fn start() -> Moto {
        Moto::start_with_env(&[])
    }

    /// Starts moto with extra environment, e.g. `("MOTO_ECS_SERVICE_RUNNING", "2")`.
    pub fn start_with_env(env: &[(&str, &str)]) -> Moto {
        match emulator::Moto::start(env) {
            Ok(server) => Moto { server },
            Err(error) => panic!("{error}"),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// An SDK config for this server: its endpoint, test credentials and [`REGION`].
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new(REGION))
            .test_credentials()
            .load()
            .await
    }

    /// The environment a child process (a Lambda binary, the CLI) needs to talk to this server.
    pub fn env(&self) -> [(&'static str, String); 4] {
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", REGION.into()),
        ]
    }
}

/// The guard's lock table for `state_machine`, as the template makes it (`compiler::template`): for the tests
/// that create a state machine through the API instead of deploying its stack.
pub async fn lock_table(dynamodb: &aws_sdk_dynamodb::Client, state_machine: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let key = catalog::LOCK_KEY;
    let created = dynamodb
        .create_table()
        .table_name(catalog::names::lock_table(state_machine))
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("an attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .expect("a key"),
        )
        .send()
        .await;
    created.expect("the lock table is created");
}
