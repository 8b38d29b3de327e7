//! Talking to AWS, for every verb that does: one way to load the config (`--region`, `--profile`), and one
//! mapping from the SDK's errors to a line that says what is wrong and what to do.

use std::error::Error;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;

/// Attempts per call, the first included; throttling and transient errors are retried with backoff.
pub const ATTEMPTS: u32 = 3;

/// The flags of every verb that talks to AWS.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct AwsArgs {
    /// AWS region, e.g. us-east-1. Default: AWS_REGION, else the profile's `region`.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile of ~/.aws/config and ~/.aws/credentials. Default: AWS_PROFILE, else `default`.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

/// What went wrong, said so that the user knows what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AwsError {
    #[error(
        "no AWS region: pass --region, or set AWS_REGION, or set `region` in profile `{profile}`"
    )]
    NoRegion { profile: String },
    #[error(
        "no AWS credentials: tried AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile `{profile}` in {files}, AWS_WEB_IDENTITY_TOKEN_FILE, the ECS container endpoint and EC2 instance metadata{said}; set the variables or pass --profile"
    )]
    NoCredentials {
        profile: String,
        files: String,
        /// What the last source tried answered, when it did more than find nothing: `" (…: reason)"`.
        said: String,
    },
    #[error("the credentials of profile `{profile}` cannot be loaded: {reason}")]
    CredentialsUnusable { profile: String, reason: String },
    #[error(
        "the AWS session token has expired ({code}): renew it, e.g. `aws sso login` or a new `aws sts` session, and try again"
    )]
    ExpiredToken { code: String },
    #[error(
        "AWS does not recognise these credentials ({code}): check the access key, or the profile"
    )]
    UnknownCredentials { code: String },
    #[error("access denied: {principal} may not call `{action}`; grant it in an IAM policy")]
    AccessDenied { principal: String, action: String },
    #[error(
        "{service} is throttling requests ({code}); {ATTEMPTS} attempts with backoff were refused: wait a minute and try again"
    )]
    Throttled { service: String, code: String },
    #[error(
        "cannot reach {service}: {reason}; check the network or proxy, and AWS_ENDPOINT_URL if set"
    )]
    Unreachable { service: String, reason: String },
    #[error("{service} refused `{action}`: {code}: {message}")]
    Refused {
        service: String,
        action: String,
        code: String,
        message: String,
    },
    #[error("`{action}` failed: {reason}")]
    Other { action: String, reason: String },
}

/// One AWS call, as the messages name it.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    /// The service's name for people, e.g. "Step Functions".
    pub service: &'static str,
    /// The IAM action the call needs, e.g. "states:SendTaskSuccess".
    pub action: &'static str,
}

impl Call {
    pub const fn new(service: &'static str, action: &'static str) -> Call {
        Call { service, action }
    }
}

/// The AWS config for one run: a region and credentials, both checked before any request is sent.
pub struct Session {
    pub config: SdkConfig,
}

impl Session {
    /// The config of a rehearsal: the emulator at `endpoint`, its test credentials, and the retries of a real
    /// run with their first backoff scaled to the rehearsal's clock.
    pub async fn emulated(endpoint: &str, region: &str, initial_backoff: Duration) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new(region.to_owned()))
            .test_credentials()
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(ATTEMPTS)
                    .with_initial_backoff(initial_backoff),
            )
            .load()
            .await
    }

    /// Loads the config as the AWS CLI does (variables, then the profile, then web identity, the container and
    /// instance metadata), with `--region` and `--profile` first. Resolves the credentials once, so that a
    /// missing one is said before anything is sent.
    pub async fn load(args: &AwsArgs) -> Result<Session, AwsError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(ATTEMPTS));
        if let Some(region) = &args.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &args.profile {
            loader = loader.profile_name(profile);
        }
        let config = loader.load().await;
        let profile = args
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok())
            .unwrap_or_else(|| "default".to_owned());
        if config.region().is_none() {
            return Err(AwsError::NoRegion { profile });
        }
        let no_credentials = |said: String| AwsError::NoCredentials {
            profile: profile.clone(),
            files: profile_files(),
            said,
        };
        let provider = config
            .credentials_provider()
            .ok_or_else(|| no_credentials(String::new()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|error| match error {
                CredentialsError::CredentialsNotLoaded(_) => no_credentials(String::new()),
                // A profile that is there but cannot be used: a syntax error, an unknown source profile.
                CredentialsError::InvalidConfiguration(_) => AwsError::CredentialsUnusable {
                    profile: profile.clone(),
                    reason: unusable(&innermost(&error), &profile),
                },
                // The chain stops at the first source that fails other than by finding nothing; off EC2 that is
                // often the instance metadata refusing, which says little on its own.
                error => no_credentials(format!(
                    " (the last answered: {})",
                    innermost(&error).trim_end_matches(['.', ' '])
                )),
            })?;
        let config = config
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        Ok(Session { config })
    }
}

/// The SDK's reason, with what to do where stepback knows better: stepback is built without the SDK's SSO
/// support, whose error names a cargo feature.
fn unusable(reason: &str, profile: &str) -> String {
    if reason.contains("cargo feature(s) enabled: sso") {
        format!(
            "it uses IAM Identity Center (SSO), which stepback does not read; export its credentials with \
             `aws configure export-credentials --profile {profile} --format env`"
        )
    } else {
        reason.trim_end_matches(['.', ' ']).to_owned()
    }
}

/// The files the profile is read from, as the SDK finds them.
fn profile_files() -> String {
    let file = |variable: &str, default: &str| {
        std::env::var(variable).unwrap_or_else(|_| default.to_owned())
    };
    format!(
        "{} and {}",
        file("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
        file("AWS_CONFIG_FILE", "~/.aws/config")
    )
}

/// The SDK's error, as one line. Errors the caller knows better (a stale task token) are matched before this.
pub fn explain<E, R>(error: &SdkError<E, R>, call: Call) -> AwsError
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let service = call.service.to_owned();
    match error {
        SdkError::ServiceError(context) => {
            let code = context
                .err()
                .code()
                .unwrap_or("an unnamed error")
                .to_owned();
            let message = context.err().message().unwrap_or_default();
            match code.as_str() {
                "ExpiredToken" | "ExpiredTokenException" => AwsError::ExpiredToken { code },
                "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "InvalidSignatureException"
                | "SignatureDoesNotMatch"
                | "AuthFailure" => AwsError::UnknownCredentials { code },
                "AccessDenied"
                | "AccessDeniedException"
                | "UnauthorizedOperation"
                | "AuthorizationError" => denied(message, call),
                code if THROTTLING_ERRORS.contains(&code) => AwsError::Throttled {
                    service,
                    code: code.to_owned(),
                },
                _ => AwsError::Refused {
                    service,
                    action: call.action.to_owned(),
                    code,
                    message: message.to_owned(),
                },
            }
        }
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
            AwsError::Unreachable {
                service,
                reason: innermost(error),
            }
        }
        SdkError::TimeoutError(_) => AwsError::Unreachable {
            service,
            reason: "no answer in time".to_owned(),
        },
        _ => match credentials_error(error) {
            // The client was built without `Session::load`, which resolves credentials before any call.
            Some(CredentialsError::CredentialsNotLoaded(_)) => AwsError::NoCredentials {
                profile: std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_owned()),
                files: profile_files(),
                said: String::new(),
            },
            _ => AwsError::Other {
                action: call.action.to_owned(),
                reason: innermost(error),
            },
        },
    }
}

/// AWS's message names the principal and the action: "User: arn:aws:iam::1:user/bob is not authorized to
/// perform: states:SendTaskSuccess on resource: …". Without it, the call's own IAM action is what was denied.
fn denied(message: &str, call: Call) -> AwsError {
    let principal = message
        .strip_prefix("User: ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("this identity");
    let action = message
        .split_once("perform: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or(call.action);
    AwsError::AccessDenied {
        principal: principal.to_owned(),
        action: action.to_owned(),
    }
}

fn credentials_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a CredentialsError> {
    let mut cause: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(found) = current.downcast_ref::<CredentialsError>() {
            return Some(found);
        }
        cause = current.source();
    }
    None
}

/// The deepest cause's message, which is the one that says what happened ("Connection refused").
fn innermost(error: &(dyn Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// Who is calling, from STS: the account (for default names) and the ARN (recorded as who answered or started).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub arn: String,
}

impl Caller {
    /// The last part of the ARN, e.g. `alice` for `arn:aws:sts::1:assumed-role/Ops/alice`.
    pub fn short_name(&self) -> &str {
        self.arn.rsplit(['/', ':']).next().unwrap_or("unknown")
    }
}

pub async fn caller(session: &Session) -> Result<Caller, AwsError> {
    let identity = aws_sdk_sts::Client::new(&session.config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            explain(
                &e,
                Call {
                    service: "STS",
                    action: "sts:GetCallerIdentity",
                },
            )
        })?;
    Ok(Caller {
        account: identity.account().unwrap_or_default().to_owned(),
        arn: identity.arn().unwrap_or_default().to_owned(),
    })
}
