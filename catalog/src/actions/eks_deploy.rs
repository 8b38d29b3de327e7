//! `eks.deploy`.

use crate::kubernetes::ClusterAccess;
use crate::params::{ValueType as T, optional, output, param};
use crate::spec::{ActionSpec, Changes, FUNCTION, HOUR, MINUTE, RETRY_START, Runtime};
use crate::{Grant, Need};

/// An EKS cluster by name.
const CLUSTER: &str = "arn:{partition}:eks:{region}:{account}:cluster/{cluster}";

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "eks.deploy",
    summary: "roll a Kubernetes Deployment of an EKS cluster to an image tag or back to its previous revision, and wait until it is available",
    params: &[
        param("cluster", T::String, "EKS cluster name").naming(),
        param(
            "namespace",
            T::String,
            "the Deployment's namespace; the function's access entry is scoped to it",
        )
        .naming(),
        param("deployment", T::String, "Deployment name").naming(),
        optional(
            "container",
            T::String,
            "container whose image takes the tag; needed when the pods run several",
        ),
        param(
            "image_tag",
            T::String,
            "tag to deploy; `previous` = the pod template of the revision before the running one, as `kubectl rollout undo`",
        ),
    ],
    exactly_one_of: &[],
    outputs: &[
        output(
            "revision_before",
            T::Number,
            "the Deployment's revision before the step",
        ),
        output(
            "image_before",
            T::String,
            "the container's image before the step",
        ),
        output("revision_after", T::Number, "the revision rolled out"),
        output("image_after", T::String, "the container's image rolled out"),
    ],
    runtime: Runtime::Poll,
    // The API server's endpoint and CA. Inside the cluster, the access entry of [`ACCESS`].
    grants: &[Grant::on(&["eks:DescribeCluster"], &[CLUSTER])],
    changes: &[Changes::of(
        "Kubernetes Deployment",
        &["cluster", "namespace", "deployment"],
    )],
    needs: &[Need::KubernetesDeployment {
        cluster: "cluster",
        namespace: "namespace",
        deployment: "deployment",
        container: "container",
    }],
    default_retry: RETRY_START,
    default_estimate_secs: 10 * MINUTE,
    default_timeout_secs: HOUR,
    guards: &[],
    poll_interval: None,
    // The rollout is the Kubernetes API's, not an AWS answer: `rehearse --slow` holds it in the rehearsal's API
    // server instead (`ACCESS.deployment`).
    polled: &[],
    // One Deployment, its ReplicaSets (10 old ones by default, `revisionHistoryLimit`) and one patch.
    function: FUNCTION,
    example: Some(
        r#"
cluster = "prod-eks"
namespace = "shop"
deployment = "web"
container = "web"
image_tag = "v41"
"#,
    ),
    user_facing: true,
};

/// Edit in the Deployment's namespace: read it and its ReplicaSets, patch it.
pub(crate) const ACCESS: ClusterAccess = ClusterAccess {
    action: "eks.deploy",
    cluster: "cluster",
    namespace: "namespace",
    deployment: "deployment",
    policy: "AmazonEKSEditPolicy",
};
