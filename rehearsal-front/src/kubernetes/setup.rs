//! What the world and the tests do to a cluster, as its operator would: wait until it is ACTIVE, and create a
//! Deployment with a history of revisions through its API.

use std::time::Duration;

use serde_json::json;

/// Waits until DescribeCluster says cluster `name` is ACTIVE, as `aws eks wait cluster-active` does (which asks
/// every 30 s; the rehearsal's clusters are ACTIVE at the second look).
pub async fn wait_until_active(config: &aws_config::SdkConfig, name: &str) -> Result<(), String> {
    let eks = aws_sdk_eks::Client::new(config);
    for _ in 0..20 {
        let described = eks
            .describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "describe EKS cluster `{name}`: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(e)
                )
            })?;
        let status = described.cluster().and_then(|c| c.status());
        if status == Some(&aws_sdk_eks::types::ClusterStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("EKS cluster `{name}` did not become ACTIVE"))
}

/// Replicas of a Deployment that [`create_deployment`] makes.
pub const REPLICAS: i64 = 2;

/// Creates Deployment `namespace/name` in `cluster` through its API, as `kubectl create` then `kubectl set image`
/// once per later image would: its `container` (`app` when none is named) ran each of `images` in turn, so that
/// the controller keeps a ReplicaSet of each revision, and runs the last.
pub async fn create_deployment(
    config: &aws_config::SdkConfig,
    cluster: &str,
    (namespace, name): (&str, &str),
    container: Option<&str>,
    images: &[String],
) -> Result<(), lambdas::ActionError> {
    let api =
        lambdas::kubernetes::Cluster::connect(&lambdas::Clients::new(config), cluster).await?;
    let [first, later @ ..] = images else {
        return Ok(());
    };
    let mut template = json!({
        "metadata": { "labels": { "app": name } },
        "spec": { "containers": [{ "name": container.unwrap_or("app"), "image": first }] },
    });
    let manifest = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name, "namespace": namespace, "labels": { "app": name } },
        "spec": {
            "replicas": REPLICAS,
            "selector": { "matchLabels": { "app": name } },
            "progressDeadlineSeconds": 600,
            "template": template,
        },
    });
    api.create_deployment(namespace, &manifest).await?;
    for image in later {
        let newer = lambdas::kubernetes::with_image(&template, container, image);
        let patch =
            json!({ "spec": { "template": lambdas::kubernetes::merge_patch(&template, &newer) } });
        api.patch_deployment(namespace, name, &patch).await?;
        template = newer;
        // As `kubectl rollout status` would: each read lets the controller bring one more replica up.
        for _ in 0..=REPLICAS {
            if api
                .deployment(namespace, name)
                .await?
                .status
                .updated_replicas
                >= REPLICAS
            {
                break;
            }
        }
    }
    Ok(())
}
