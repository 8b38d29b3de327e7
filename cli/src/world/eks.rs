//! EKS: clusters, and in them Deployments on the second of two revisions, made through the cluster's Kubernetes
//! API, which the emulator's front serves (`rehearsal_front::kubernetes`) with the world's credentials as the
//! cluster's creator, hence its admin; and the stack's access entries, which moto's CloudFormation skips, made in
//! the clusters' API servers ([`access_entries`]).

use std::collections::BTreeSet;

use super::{IMAGE_TAGS, KnownParams, Seeding, StateLine, World, failed};
use crate::aws::AwsError;

/// The role a seeded cluster's control plane would run as, in the emulator's account: nothing assumes it here.
const CLUSTER_ROLE: &str = "arn:aws:iam::123456789012:role/rehearsal-eks-cluster";

/// `Need::KubernetesDeployment`: the cluster (once per name) in the world's subnet, and the Deployment, whose
/// `container` (`app` when the step names none) ran image tag `v1`, then `v2`.
pub(super) async fn deployment(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    (cluster, namespace, deployment): (&str, &str, &str),
    container: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    let (Some(cluster), Some(namespace), Some(deployment)) = (
        params.text(cluster),
        params.text(namespace),
        params.text(deployment),
    ) else {
        return Ok(());
    };
    let container = params.text(container);
    if !world.deployments.iter().any(|(c, ..)| *c == cluster) {
        let network = world.network(config).await?;
        aws_sdk_eks::Client::new(config)
            .create_cluster()
            .name(&cluster)
            .role_arn(CLUSTER_ROLE)
            .resources_vpc_config(
                aws_sdk_eks::types::VpcConfigRequest::builder()
                    .subnet_ids(&network.subnet)
                    .security_group_ids(&network.security_group)
                    .build(),
            )
            // Access entries need a mode with the EKS API (CreateCluster's default is CONFIG_MAP): the stack's
            // entry for the function's role is refused otherwise, as CloudFormation would fail it.
            .access_config(
                aws_sdk_eks::types::CreateAccessConfigRequest::builder()
                    .authentication_mode(aws_sdk_eks::types::AuthenticationMode::ApiAndConfigMap)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| failed("eks:CreateCluster", e))?;
        rehearsal_front::kubernetes::wait_until_active(config, &cluster)
            .await
            .map_err(|e| failed("wait for the EKS cluster to be ACTIVE", e))?;
    }
    let images = IMAGE_TAGS.map(|tag| format!("registry.rehearsal/{deployment}:{tag}"));
    rehearsal_front::kubernetes::create_deployment(
        config,
        &cluster,
        (&namespace, &deployment),
        container.as_deref(),
        &images,
    )
    .await
    .map_err(|e| {
        failed(
            "create the Deployment through the cluster's Kubernetes API",
            e.message,
        )
    })?;
    world.created.push(format!(
        "EKS cluster {cluster}, Deployment {namespace}/{deployment} of {} replicas on revision 2 (image tags {})",
        rehearsal_front::kubernetes::REPLICAS,
        IMAGE_TAGS.join(", ")
    ));
    world
        .deployments
        .insert((cluster, namespace, deployment, container));
    Ok(())
}

/// A world's Deployment: cluster, namespace, name, and the container the step names.
pub(super) type Deployment = (String, String, String, Option<String>);

/// The Deployment as its cluster's API server has it now.
async fn read(
    clients: &lambdas::Clients,
    (cluster, namespace, name, _): &Deployment,
) -> Result<lambdas::kubernetes::Deployment, lambdas::ActionError> {
    lambdas::kubernetes::Cluster::connect(clients, cluster)
        .await?
        .deployment(namespace, name)
        .await
}

/// The image each Deployment runs now, for the world's web app.
pub(super) async fn running_images(
    config: &aws_config::SdkConfig,
    deployments: &BTreeSet<Deployment>,
) -> Vec<String> {
    let clients = lambdas::Clients::new(config);
    let mut images = Vec::new();
    for deployment in deployments {
        if let Ok(found) = read(&clients, deployment).await
            && let Ok(image) =
                lambdas::kubernetes::image(&found.spec.template, deployment.3.as_deref())
        {
            images.push(image.to_owned());
        }
    }
    images
}

/// Each Deployment's revision and image, as its cluster's API server has them.
pub(super) async fn state(world: &World, config: &aws_config::SdkConfig) -> Vec<StateLine> {
    let mut lines = Vec::new();
    let clients = lambdas::Clients::new(config);
    for deployment in &world.deployments {
        let (cluster, namespace, name, container) = deployment;
        let state = match read(&clients, deployment).await {
            Ok(deployment) => format!(
                "revision {}, runs {}",
                deployment.metadata.revision(),
                lambdas::kubernetes::image(&deployment.spec.template, container.as_deref())
                    .unwrap_or("an unknown image")
            ),
            Err(error) => error.message,
        };
        lines.push(StateLine {
            resource: format!("Deployment {namespace}/{name} of EKS cluster {cluster}"),
            state,
        });
    }
    lines
}

/// The template's `AWS::EKS::AccessEntry` resources made in the clusters' API servers, as CloudFormation would
/// make them (moto's skips the type), each for the role of its function: `roles` are the stack's roles, logical
/// id to name. An entry that EKS would refuse (no such cluster, a cluster without access entries) is the error a
/// stack update would fail with.
pub(crate) fn access_entries(
    template: &serde_json::Value,
    roles: &std::collections::BTreeMap<String, String>,
    account: &str,
    served: &rehearsal_front::serve::Served,
) -> Result<(), String> {
    let resources = template["Resources"].as_object().into_iter().flatten();
    for (id, resource) in resources.filter(|(_, r)| r["Type"] == "AWS::EKS::AccessEntry") {
        let properties = &resource["Properties"];
        let cluster = properties["ClusterName"].as_str().unwrap_or_default();
        let role = properties["PrincipalArn"]["Fn::GetAtt"][0]
            .as_str()
            .and_then(|logical| roles.get(logical))
            .ok_or_else(|| format!("access entry {id}: its principal is no role of the stack"))?;
        let namespaces: Vec<String> = properties["AccessPolicies"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|policy| {
                policy["AccessScope"]["Namespaces"]
                    .as_array()
                    .into_iter()
                    .flatten()
            })
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect();
        served
            .cluster(cluster)
            .ok_or_else(|| {
                format!("access entry {id}: ResourceNotFoundException: No cluster found for name: {cluster}.")
            })?
            .access_entry(&format!("arn:aws:iam::{account}:role/{role}"), &namespaces)
            .map_err(|e| format!("access entry {id}: {e}"))?;
    }
    Ok(())
}
