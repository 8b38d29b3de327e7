//! `ec2.image`: CreateImage without a reboot under a name derived from the execution and step, then poll
//! until `available`. AMI names are unique per account and region, so a retried `start` finds its image.

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::{Deserialize, Serialize};

use crate::actions::{Action, Handler, LongAction};
use crate::check::{self, Known};
use crate::ec2::{self, Filter, Image};
use crate::{ActionError, Call, Clients, done, identifier, running};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub instance_id: String,
    pub name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub image_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    image_id: String,
}

/// EC2 allows 128 characters in an image name.
const NAME_MAX: usize = 128;

/// `start` creates the image; `poll` until it is available.
pub struct Ec2Image;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::long::<Ec2Image>()];

impl Action for Ec2Image {
    const NAME: &str = "ec2.image";
    type Params = Params;

    /// The instance exists and is not going away; an image name the step gives is free.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let instance: String = match params.required("instance_id") {
            Ok(instance) => instance,
            Err(unknown) => return vec![unknown.finding("EC2 instance")],
        };
        let resource = format!("EC2 instance `{instance}`");
        let described = clients
            .aws(ec2::Client::new)
            .describe_instances(&[instance.as_str()], &[])
            .await
            .map_err(|e| ActionError::aws(format!("describe EC2 instance `{instance}`"), e));
        let state = described.map(|instances| instances.into_iter().next().map(|i| i.state));
        let mut findings = vec![match state {
            Ok(Some(state))
                if matches!(
                    state.as_str(),
                    "running" | "stopped" | "stopping" | "pending"
                ) =>
            {
                check::ok(resource, state)
            }
            Ok(Some(state)) => check::bad(
                Verdict::NotReady,
                resource,
                format!("{state}: nothing to image"),
                "fix `instance_id`",
            ),
            Ok(None) => check::bad(
                Verdict::Missing,
                resource,
                "EC2 knows no such instance in this region",
                "fix `instance_id`",
            ),
            Err(error) => check::failed(resource, &error, "fix `instance_id`"),
        }];
        match params.optional::<String>("name") {
            Ok(None) => {}
            Ok(Some(name)) => {
                let resource = format!("AMI name `{name}`");
                findings.push(match describe(clients, by_name(&name)).await {
                    Ok(None) => check::ok(resource, "free"),
                    // An image of that name: the step would take it for its own.
                    Ok(Some(image)) => check::bad(
                        Verdict::NotReady,
                        resource,
                        format!("taken by `{}`", image.image_id),
                        "leave `name` out, so it comes from the execution, or name a free one",
                    ),
                    Err(error) => check::failed(resource, &error, ""),
                });
            }
            Err(unknown) => findings.push(unknown.finding("AMI name")),
        }
        findings
    }
}

impl LongAction for Ec2Image {
    type State = State;

    async fn start(clients: &Clients, call: &Call<Params>) -> Result<State, ActionError> {
        let instance = &call.params.instance_id;
        let name = match &call.params.name {
            Some(name) => name.clone(),
            None => identifier(
                &format!("stepback-{instance}"),
                &call.attempt_key(),
                NAME_MAX,
            ),
        };
        if let Some(existing) = describe(clients, by_name(&name)).await? {
            return Ok(State {
                image_id: existing.image_id,
            });
        }
        let attempted = format!("create AMI `{name}` of EC2 instance `{instance}`");
        let tags = call.tags().map(|(k, v)| (k.to_owned(), v));
        let created = clients
            .aws(ec2::Client::new)
            .create_image(instance, &name, &tags)
            .await;
        let image_id = match created {
            Ok(image_id) => Some(image_id),
            // A concurrent attempt of this step registered the name first.
            Err(e) if e.code() == Some("InvalidAMIName.Duplicate") => {
                describe(clients, by_name(&name)).await?.map(|i| i.image_id)
            }
            Err(e) => return Err(ActionError::aws(attempted, e)),
        };
        let image_id = image_id.filter(|id| !id.is_empty()).ok_or_else(|| {
            ActionError::new(
                ErrorName::Failed,
                format!("{attempted}: AWS returned no image id"),
            )
        })?;
        Ok(State { image_id })
    }

    async fn observe(
        clients: &Clients,
        _: &Call<Params>,
        state: State,
    ) -> Result<Response, ActionError> {
        let by_id = Filter {
            name: "image-id",
            values: vec![state.image_id.clone()],
        };
        let image = describe(clients, by_id).await?.ok_or_else(|| {
            ActionError::new(
                ErrorName::NotFound,
                format!("AMI `{}` disappeared", state.image_id),
            )
        })?;
        match image.state.as_str() {
            "available" => done(&Output {
                image_id: state.image_id,
            }),
            "pending" => running(&state, format!("AMI `{}` is pending", state.image_id)),
            other => Err(ActionError::new(
                ErrorName::Failed,
                format!(
                    "AMI `{}` is {other}: {}",
                    state.image_id,
                    Some(image.state_reason.as_str())
                        .filter(|r| !r.is_empty())
                        .unwrap_or("no reason given")
                ),
            )),
        }
    }
}

fn by_name(name: &str) -> Filter {
    Filter {
        name: "name",
        values: vec![name.to_owned()],
    }
}

/// The account's own image matching `filter`, if any.
async fn describe(clients: &Clients, filter: Filter) -> Result<Option<Image>, ActionError> {
    let images = clients
        .aws(ec2::Client::new)
        .describe_own_images(&[filter])
        .await
        .map_err(|e| ActionError::aws("describe the account's AMIs", e))?;
    Ok(images.into_iter().next())
}
