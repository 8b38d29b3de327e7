//! `eks.deploy`: roll a Kubernetes Deployment of an EKS cluster to an image tag, or back to its previous revision,
//! then poll until the rollout is done.
//!
//! apps/v1 has no rollback call: `kubectl rollout undo` finds, on the client, the ReplicaSet of the revision below
//! the Deployment's, and applies its pod template (without the controller's `pod-template-hash` label). So does
//! `previous` here, as one merge patch that names the `resourceVersion` it read, so that a Deployment changed in
//! between refuses it (409, retried) instead of being overwritten.
//!
//! The patch also writes two annotations on the Deployment (not on its pods, so no rollout of their own): this
//! step's attempt key and what ran before. A retried `start` that finds its own key takes the rollout over from
//! there instead of stepping back a second time: after an undo the controller renumbers the restored ReplicaSet
//! as the newest revision, and "the revision below" is then the one just left.
//!
//! Done means what `kubectl rollout status` waits for: the controller has observed the Deployment's generation,
//! and the updated, ready and available replicas equal the desired count, with no old pod left. A `Progressing`
//! condition with reason `ProgressDeadlineExceeded` fails the step with the condition's message.

use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::actions::ecs_deploy::revisions::with_tag;
use crate::actions::{Action, Handler, LongAction};
use crate::check::{self, Known};
use crate::kubernetes::{self, Cluster, Deployment, POD_TEMPLATE_HASH};
use crate::{ActionError, Call, Clients, done, running};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub cluster: String,
    pub namespace: String,
    pub deployment: String,
    pub container: Option<String>,
    pub image_tag: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Output {
    pub revision_before: u64,
    pub image_before: String,
    pub revision_after: u64,
    pub image_after: String,
}

/// What a poll needs: the Deployment, and what ran before and what must run after.
#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    revision_before: u64,
    image_before: String,
    image_after: String,
}

/// `image_tag = "previous"`: the pod template of the revision below the Deployment's.
const PREVIOUS: &str = "previous";
/// The annotation that marks the Deployment as changed by one attempt of one step ([`Call::attempt_key`]).
const ATTEMPT: &str = "stepback/attempt";
/// What ran before that change: `<revision> <image>`.
const BEFORE: &str = "stepback/before";
/// The reason of a `Progressing` condition once the rollout has stalled beyond `progressDeadlineSeconds`.
const DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";

pub struct EksDeploy;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::long::<EksDeploy>()];

impl Action for EksDeploy {
    const NAME: &str = "eks.deploy";
    type Params = Params;

    /// The cluster is ACTIVE, the function's role can read the Deployment through its access entry, and what
    /// it would run resolves: the container takes the tag, or there is a revision to go back to.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let names = (
            params.required::<String>("cluster"),
            params.required::<String>("namespace"),
            params.required::<String>("deployment"),
        );
        let (cluster, namespace, name) = match names {
            (Ok(cluster), Ok(namespace), Ok(name)) => (cluster, namespace, name),
            (Err(unknown), ..) => return vec![unknown.finding("EKS cluster")],
            (_, Err(unknown), _) | (.., Err(unknown)) => {
                return vec![unknown.finding("Kubernetes Deployment")];
            }
        };
        let resource = format!("Deployment `{namespace}/{name}` of EKS cluster `{cluster}`");
        let connected = match Cluster::connect(clients, &cluster).await {
            Ok(connected) => connected,
            Err(error) => {
                return vec![check::failed(
                    format!("EKS cluster `{cluster}`"),
                    &error,
                    "fix `cluster`: the cluster must exist in the stack's region",
                )];
            }
        };
        let deployment = match connected.deployment(&namespace, &name).await {
            Ok(deployment) => deployment,
            Err(error) if error.message.contains(" 403:") || error.message.contains(" 401:") => {
                return vec![check::bad(
                    Verdict::Denied,
                    resource,
                    error.message,
                    "the function's role may edit only the namespaces of its access entry, which `stepback template` writes from the steps' literal `namespace`s: name this one in the step (not from an input), then deploy the stack again (`stepback deploy`)",
                )];
            }
            Err(error) => {
                return vec![check::failed(
                    resource,
                    &error,
                    "fix `namespace` or `deployment`",
                )];
            }
        };
        let found = check::ok(
            &resource,
            format!(
                "revision {}, {} replicas",
                deployment.metadata.revision(),
                deployment.spec.replicas
            ),
        );
        let (tag, container) = match (
            params.required::<String>("image_tag"),
            params.optional::<String>("container"),
        ) {
            (Ok(tag), Ok(container)) => (tag, container),
            (Err(unknown), _) => return vec![found, unknown.finding("image tag")],
            (_, Err(unknown)) => return vec![found, unknown.finding("container")],
        };
        let target = match target(&connected, &deployment, container.as_deref(), &tag).await {
            Ok(template) => match kubernetes::image(&template, container.as_deref()) {
                Ok(image) => check::ok(format!("what `{name}` would run"), format!("`{image}`")),
                Err(detail) => check::bad(Verdict::Missing, resource, detail, "fix `container`"),
            },
            // No revision to go back to: a tag must be named instead.
            Err(error) if error.name == ErrorName::Precondition => check::bad(
                Verdict::NotReady,
                format!("what `{name}` would run"),
                error.message,
                "name the image tag to go back to",
            ),
            Err(error) => check::failed(format!("what `{name}` would run"), &error, ""),
        };
        vec![found, target]
    }
}

impl LongAction for EksDeploy {
    type State = State;

    async fn start(clients: &Clients, call: &Call<Params>) -> Result<State, ActionError> {
        let Params {
            cluster,
            namespace,
            deployment: name,
            container,
            image_tag,
        } = &call.params;
        let cluster = Cluster::connect(clients, cluster).await?;
        let deployment = cluster.deployment(namespace, name).await?;
        let attempt = call.attempt_key();
        if let Some(state) = started_by(&deployment, &attempt, container.as_deref()) {
            return Ok(state);
        }
        let template = &deployment.spec.template;
        let image_before = image(&deployment, template, container.as_deref())?.to_owned();
        let revision_before = deployment.metadata.revision();
        let wanted = target(&cluster, &deployment, container.as_deref(), image_tag).await?;
        let image_after = image(&deployment, &wanted, container.as_deref())?.to_owned();
        if wanted != *template {
            let patch = json!({
                "metadata": {
                    "resourceVersion": deployment.metadata.resource_version,
                    "annotations": { ATTEMPT: attempt, BEFORE: format!("{revision_before} {image_before}") },
                },
                "spec": { "template": kubernetes::merge_patch(template, &wanted) },
            });
            let patched = cluster.patch_deployment(namespace, name, &patch).await;
            // An answer lost on the way may hide a patch that was applied: look before failing.
            if let Err(error) = patched {
                let now = cluster.deployment(namespace, name).await?;
                return started_by(&now, &attempt, container.as_deref()).ok_or(error);
            }
        }
        Ok(State {
            revision_before,
            image_before,
            image_after,
        })
    }

    async fn observe(
        clients: &Clients,
        call: &Call<Params>,
        state: State,
    ) -> Result<Response, ActionError> {
        let Params {
            cluster,
            namespace,
            deployment: name,
            container,
            ..
        } = &call.params;
        let cluster = Cluster::connect(clients, cluster).await?;
        let deployment = cluster.deployment(namespace, name).await?;
        let running_image = image(&deployment, &deployment.spec.template, container.as_deref())?;
        let shown = format!("Deployment `{namespace}/{name}`");
        if running_image != state.image_after {
            return Err(ActionError::new(
                ErrorName::Precondition,
                format!(
                    "{shown} now runs `{running_image}`, not `{}`: another deploy replaced this one",
                    state.image_after
                ),
            ));
        }
        let status = &deployment.status;
        if let Some(stalled) = status
            .conditions
            .iter()
            .find(|c| c.kind == "Progressing" && c.reason == DEADLINE_EXCEEDED)
        {
            return Err(ActionError::new(
                ErrorName::Failed,
                format!(
                    "rollout of {shown} to `{}` exceeded its progress deadline: {}",
                    state.image_after, stalled.message
                ),
            ));
        }
        let desired = deployment.spec.replicas;
        let progress = if status.observed_generation < deployment.metadata.generation {
            Some("the deployment controller has not observed the change yet".to_owned())
        } else if status.updated_replicas < desired
            || status.ready_replicas < desired
            || status.available_replicas < desired
            || status.replicas > status.updated_replicas
        {
            Some(format!(
                "{} of {desired} replicas updated, {} ready, {} available, {} old still running",
                status.updated_replicas,
                status.ready_replicas,
                status.available_replicas,
                status.replicas - status.updated_replicas
            ))
        } else {
            None
        };
        match progress {
            Some(progress) => running(
                &state,
                format!("{shown} rolling out `{}`: {progress}", state.image_after),
            ),
            None => done(&Output {
                revision_before: state.revision_before,
                image_before: state.image_before,
                revision_after: deployment.metadata.revision(),
                image_after: state.image_after,
            }),
        }
    }
}

/// The pod template to run: the current one with the tag on the container's image, or for `previous` the
/// template of the ReplicaSet whose revision is the highest below the Deployment's.
async fn target(
    cluster: &Cluster,
    deployment: &Deployment,
    container: Option<&str>,
    tag: &str,
) -> Result<Value, ActionError> {
    let template = &deployment.spec.template;
    if tag != PREVIOUS {
        let current = image(deployment, template, container)?;
        return Ok(kubernetes::with_image(
            template,
            container,
            &with_tag(current, tag),
        ));
    }
    let revision = deployment.metadata.revision();
    let previous = cluster
        .replica_sets(deployment)
        .await?
        .into_iter()
        .filter(|rs| rs.metadata.revision() < revision)
        .max_by_key(|rs| rs.metadata.revision())
        .ok_or_else(|| {
            ActionError::new(
                ErrorName::Precondition,
                format!(
                    "roll Deployment `{}/{}` back: no ReplicaSet of a revision below {revision} is left (revisionHistoryLimit keeps old ones)",
                    deployment.metadata.namespace, deployment.metadata.name
                ),
            )
        })?;
    let mut template = previous.spec.template;
    if let Some(labels) = template
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH);
    }
    Ok(template)
}

/// What an earlier attempt of this step began, when the Deployment carries its key.
fn started_by(deployment: &Deployment, attempt: &str, container: Option<&str>) -> Option<State> {
    let annotations = &deployment.metadata.annotations;
    if annotations.get(ATTEMPT).map(String::as_str) != Some(attempt) {
        return None;
    }
    let (revision, image_before) = annotations.get(BEFORE)?.split_once(' ')?;
    Some(State {
        revision_before: revision.parse().ok()?,
        image_before: image_before.to_owned(),
        image_after: kubernetes::image(&deployment.spec.template, container)
            .ok()?
            .to_owned(),
    })
}

/// The container's image in `template`, or the error that names the Deployment.
fn image<'t>(
    deployment: &Deployment,
    template: &'t Value,
    container: Option<&str>,
) -> Result<&'t str, ActionError> {
    kubernetes::image(template, container).map_err(|detail| {
        ActionError::new(
            ErrorName::InvalidInput,
            format!(
                "Deployment `{}/{}`: {detail}",
                deployment.metadata.namespace, deployment.metadata.name
            ),
        )
    })
}
