//! `eks.deploy` against moto's EKS (CreateCluster, DescribeCluster) behind the rehearsal's front, whose API server
//! (`rehearsal_front::kubernetes`) plays the cluster's Kubernetes API and authenticates each token against moto's
//! STS. moto has no Kubernetes API and no access entries: the API server keeps the cluster's access entries.

use std::collections::BTreeMap;

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_eks::types::{
    AuthenticationMode, ClusterStatus, CreateAccessConfigRequest, VpcConfigRequest,
};
use catalog::contract::Status;
use lambdas::Clients;
use rehearsal_front::kubernetes::ApiServer;
use rehearsal_front::serve::{self, Served};
use serde_json::json;

use crate::{Aws, Step, check_ok, error, failure, iam, invoke, output, str_of};

const CLUSTER: &str = "prod-eks";
const NAMESPACE: &str = "shop";
const DEPLOYMENT: &str = "web";
const IMAGES: [&str; 2] = ["registry.example/web:v1", "registry.example/web:v2"];

/// moto behind the front, the handlers' clients through it (and the IAM recorder), and the cluster with
/// Deployment `shop/web` on revision 2 (`v2`, after `v1`), created as the rehearsal's world creates it.
async fn cluster() -> (Aws, Served, ApiServer) {
    let moto = tests::Moto::start();
    let config = moto.sdk_config().await;
    let front = serve::spawn(
        serve::bind().expect("port"),
        BTreeMap::new(),
        &config,
        Some(moto.addr()),
    )
    .expect("front");
    let recorder = iam::Recorder::new();
    let through_front = config
        .into_builder()
        .endpoint_url(format!("http://{}", front.addr))
        .build();
    let ec2 = lambdas::ec2::Client::new(&through_front);
    let vpc = ec2.create_vpc("10.0.0.0/16").await.expect("vpc");
    let subnet = ec2
        .create_subnet(&vpc, "10.0.1.0/24", None)
        .await
        .expect("subnet");
    create_cluster(
        &through_front,
        CLUSTER,
        &subnet,
        Some(AuthenticationMode::ApiAndConfigMap),
    )
    .await;
    rehearsal_front::kubernetes::wait_until_active(&through_front, CLUSTER)
        .await
        .expect("the cluster becomes ACTIVE");
    let images = IMAGES.map(str::to_owned);
    rehearsal_front::kubernetes::create_deployment(
        &through_front,
        CLUSTER,
        (NAMESPACE, DEPLOYMENT),
        Some("app"),
        &images,
    )
    .await
    .expect("deployment");
    let api = front
        .cluster(CLUSTER)
        .expect("the front serves the cluster's API");
    let clients = Clients::new(
        &through_front
            .into_builder()
            .http_client(recorder.clone())
            .build(),
    );
    (
        Aws {
            moto,
            clients,
            recorder,
        },
        front,
        api,
    )
}

/// CreateCluster as the rehearsal's world sends it, with `mode` (EKS's default when `None`).
async fn create_cluster(
    config: &aws_config::SdkConfig,
    name: &str,
    subnet: &str,
    mode: Option<AuthenticationMode>,
) -> aws_sdk_eks::types::Cluster {
    aws_sdk_eks::Client::new(config)
        .create_cluster()
        .name(name)
        .role_arn("arn:aws:iam::123456789012:role/eks-cluster")
        .resources_vpc_config(VpcConfigRequest::builder().subnet_ids(subnet).build())
        .set_access_config(mode.map(|m| {
            CreateAccessConfigRequest::builder()
                .authentication_mode(m)
                .build()
        }))
        .send()
        .await
        .expect("cluster")
        .cluster
        .expect("the cluster created")
}

fn deploy(image_tag: &str) -> Step {
    Step::new(
        "eks.deploy",
        json!({ "cluster": CLUSTER, "namespace": NAMESPACE, "deployment": DEPLOYMENT, "container": "app", "image_tag": image_tag }),
    )
}

/// The Deployment's revision and its container's image, as the API server holds them.
fn running(api: &ApiServer) -> (String, String) {
    let deployment = api
        .deployment(NAMESPACE, DEPLOYMENT)
        .expect("the Deployment");
    (
        deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        deployment["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn a_tag_rolls_out_and_is_done_only_once_every_replica_is_updated() {
    let (aws, _front, api) = cluster().await;
    let step = deploy("v3");
    check_ok(&aws, &step).await;
    let started = step.start(&aws).await.expect("start");
    // The first look comes before the controller has brought every replica up (each read of the API server's
    // brings one more).
    assert_eq!(started.status, Status::Running, "{started:?}");
    assert!(
        started
            .progress
            .as_deref()
            .is_some_and(|p| p.contains("1 of 2 replicas updated")),
        "{started:?}"
    );
    let out = output(step.run(&aws).await);
    assert_eq!(out["revision_before"], json!(2));
    assert_eq!(str_of(&out, "image_before"), IMAGES[1]);
    assert_eq!(out["revision_after"], json!(3));
    assert_eq!(str_of(&out, "image_after"), "registry.example/web:v3");
    assert_eq!(
        running(&api),
        ("3".to_owned(), "registry.example/web:v3".to_owned())
    );
}

#[tokio::test]
async fn previous_applies_the_template_of_the_revision_below_and_a_retried_start_does_not_step_back_again()
 {
    let (aws, _front, api) = cluster().await;
    let step = deploy("previous");
    check_ok(&aws, &step).await;
    let out = output(step.run(&aws).await);
    assert_eq!(
        (out["revision_before"].clone(), str_of(&out, "image_before")),
        (json!(2), IMAGES[1])
    );
    // The ReplicaSet of revision 1 is the newest now, as the controller renumbers it after an undo.
    assert_eq!(
        (out["revision_after"].clone(), str_of(&out, "image_after")),
        (json!(3), IMAGES[0])
    );
    let template = &api.deployment(NAMESPACE, DEPLOYMENT).expect("deployment")["spec"]["template"];
    assert_eq!(
        template["metadata"]["labels"],
        json!({ "app": DEPLOYMENT }),
        "no pod-template-hash"
    );
    assert_eq!(
        api.replica_sets(NAMESPACE).len(),
        2,
        "the undo made no ReplicaSet"
    );
    // The step retried (its answer lost on the way): revision 2 is now "the revision below", and must not be
    // gone back to.
    let again = output(step.run(&aws).await);
    assert_eq!(again, out);
    assert_eq!(running(&api), ("3".to_owned(), IMAGES[0].to_owned()));
}

#[tokio::test]
async fn a_lost_answer_to_the_patch_is_found_applied_and_not_repeated() {
    let (aws, _front, api) = cluster().await;
    api.lose_next_patch_answer();
    let step = deploy("v3");
    let out = output(step.run(&aws).await);
    assert_eq!(
        (
            out["revision_before"].clone(),
            out["revision_after"].clone()
        ),
        (json!(2), json!(3))
    );
    assert_eq!(
        api.replica_sets(NAMESPACE).len(),
        3,
        "one ReplicaSet for v3"
    );
    assert_eq!(
        running(&api),
        ("3".to_owned(), "registry.example/web:v3".to_owned())
    );
}

#[tokio::test]
async fn a_rollout_past_its_progress_deadline_fails_with_the_conditions_message() {
    let (aws, _front, api) = cluster().await;
    api.stall("registry.example/web:v4");
    let step = deploy("v4");
    let started = step.start(&aws).await.expect("start");
    assert_eq!(started.status, Status::Running);
    let mut payload = step.payload("poll", started.state.as_ref());
    payload["poll"] = json!(1);
    let (error, cause) = failure(invoke(&aws, "eks.deploy", payload).await);
    assert_eq!(error, "Stepback.Failed");
    assert!(
        cause.contains("exceeded its progress deadline")
            && cause.contains("has timed out progressing"),
        "{cause}"
    );
}

#[tokio::test]
async fn previous_without_an_older_revision_is_refused_before_any_change() {
    let (aws, front, api) = cluster().await;
    let images = ["registry.example/api:v1".to_owned()];
    let config = aws
        .moto
        .sdk_config()
        .await
        .into_builder()
        .endpoint_url(format!("http://{}", front.addr))
        .build();
    rehearsal_front::kubernetes::create_deployment(
        &config,
        CLUSTER,
        (NAMESPACE, "api"),
        None,
        &images,
    )
    .await
    .expect("deployment");
    let step = Step::new(
        "eks.deploy",
        json!({ "cluster": CLUSTER, "namespace": NAMESPACE, "deployment": "api", "image_tag": "previous" }),
    );
    let check = output(invoke(&aws, "eks.deploy", step.payload("check", None)).await);
    assert_eq!(check["findings"][1]["verdict"], "not_ready", "{check:#?}");
    assert_eq!(
        check["findings"][1]["fix"],
        "name the image tag to go back to"
    );
    let refused = error(step.start(&aws).await);
    assert_eq!(refused.name, catalog::ErrorName::Precondition);
    assert!(
        refused
            .message
            .contains("no ReplicaSet of a revision below 1"),
        "{}",
        refused.message
    );
    assert_eq!(
        api.deployment(NAMESPACE, "api").expect("api")["metadata"]["generation"],
        json!(1)
    );
}

/// The handlers' clients as another caller: the same front and recorder, these credentials.
async fn as_caller(aws: &Aws, front: &Served, credentials: Credentials) -> Clients {
    let config = aws
        .moto
        .sdk_config()
        .await
        .into_builder()
        .endpoint_url(format!("http://{}", front.addr))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(aws.recorder.clone())
        .build();
    Clients::new(&config)
}

/// A token the cluster cannot trust: the access key is the creator's, its secret is not.
#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused_and_changes_nothing() {
    let (mut aws, front, api) = cluster().await;
    let key = aws
        .moto
        .sdk_config()
        .await
        .credentials_provider()
        .expect("credentials");
    let key = key.provide_credentials().await.expect("credentials");
    let forged = Credentials::new(key.access_key_id(), "not-the-secret", None, None, "forged");
    aws.clients = as_caller(&aws, &front, forged).await;
    let refused = error(deploy("v3").start(&aws).await);
    assert_eq!(refused.name, catalog::ErrorName::Failed);
    assert!(
        refused.message.contains("Kubernetes answered 401")
            && refused.message.contains("SignatureDoesNotMatch"),
        "{}",
        refused.message
    );
    assert_eq!(running(&api), ("2".to_owned(), IMAGES[1].to_owned()));
}

/// An IAM user of moto's, whose token is signed right, with the template's access entry: edit in `shop` only.
#[tokio::test]
async fn an_access_entry_scoped_to_a_namespace_lets_its_principal_into_that_namespace_only() {
    let (mut aws, front, api) = cluster().await;
    let iam_client = aws_sdk_iam::Client::new(&aws.moto.sdk_config().await);
    let user = iam_client
        .create_user()
        .user_name("deployer")
        .send()
        .await
        .expect("user");
    let arn = user.user().map(|u| u.arn().to_owned()).expect("arn");
    let key = iam_client
        .create_access_key()
        .user_name("deployer")
        .send()
        .await
        .expect("key");
    let key = key.access_key().expect("access key");
    let credentials = Credentials::new(
        key.access_key_id(),
        key.secret_access_key(),
        None,
        None,
        "deployer",
    );
    api.trust(credentials.clone());
    api.access_entry(&arn, &[NAMESPACE.to_owned()])
        .expect("the cluster's authentication mode has the EKS API");
    aws.clients = as_caller(&aws, &front, credentials).await;
    let out = output(deploy("v3").run(&aws).await);
    assert_eq!(str_of(&out, "image_after"), "registry.example/web:v3");
    let elsewhere = Step::new(
        "eks.deploy",
        json!({ "cluster": CLUSTER, "namespace": "kube-system", "deployment": "coredns", "image_tag": "previous" }),
    );
    let refused = error(elsewhere.start(&aws).await);
    assert!(
        refused.message.contains("403")
            && refused.message.contains(&format!(
                "User \"{arn}\" cannot get resource \"deployments\""
            )),
        "{}",
        refused.message
    );
    let check = output(invoke(&aws, "eks.deploy", elsewhere.payload("check", None)).await);
    assert_eq!(check["findings"][0]["verdict"], "denied", "{check:#?}");
}

/// What EKS answers and moto does not: a cluster is CREATING after CreateCluster, without endpoint or CA ("The
/// API server endpoint and certificate authority data aren't available until the cluster reaches the ACTIVE
/// state", DescribeCluster), and the step's check says it is not ready; ACTIVE, it has both. A cluster created
/// with EKS's default authentication mode (CONFIG_MAP) takes no access entry; a missing cluster is
/// ResourceNotFoundException, which the check reports as missing.
#[tokio::test]
async fn a_new_cluster_is_creating_without_endpoint_then_active_and_only_an_api_mode_takes_access_entries()
 {
    let (aws, front, api) = cluster().await;
    let config = aws
        .moto
        .sdk_config()
        .await
        .into_builder()
        .endpoint_url(format!("http://{}", front.addr))
        .build();
    let subnet = lambdas::ec2::Client::new(&config)
        .describe_subnets()
        .await
        .expect("subnets")
        .into_iter()
        .next()
        .expect("a subnet");
    let created = create_cluster(&config, "staging-eks", &subnet, None).await;
    assert_eq!(created.status(), Some(&ClusterStatus::Creating));
    assert_eq!(created.endpoint(), None);
    assert_eq!(
        created.certificate_authority().and_then(|ca| ca.data()),
        None
    );
    let on_staging = Step::new(
        "eks.deploy",
        json!({ "cluster": "staging-eks", "namespace": NAMESPACE, "deployment": DEPLOYMENT, "image_tag": "previous" }),
    );
    let check = output(invoke(&aws, "eks.deploy", on_staging.payload("check", None)).await);
    assert_eq!(check["findings"][0]["verdict"], "not_ready", "{check:#?}");
    assert!(
        check["findings"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("it is CREATING")),
        "{check:#?}"
    );
    let active = aws_sdk_eks::Client::new(&config)
        .describe_cluster()
        .name("staging-eks")
        .send()
        .await
        .expect("described")
        .cluster
        .expect("the cluster");
    assert_eq!(active.status(), Some(&ClusterStatus::Active));
    assert!(
        active
            .endpoint()
            .is_some_and(|e| e.starts_with("https://127.0.0.1:"))
    );
    assert!(
        active
            .certificate_authority()
            .and_then(|ca| ca.data())
            .is_some()
    );
    let mode = |c: &aws_sdk_eks::types::Cluster| {
        c.access_config()
            .and_then(|a| a.authentication_mode())
            .cloned()
    };
    assert_eq!(mode(&active), Some(AuthenticationMode::ConfigMap));
    let role = "arn:aws:iam::123456789012:role/deployer";
    let refused = front
        .cluster("staging-eks")
        .expect("served")
        .access_entry(role, &[NAMESPACE.to_owned()])
        .expect_err("CONFIG_MAP takes no access entry");
    assert!(
        refused.contains("InvalidRequestException") && refused.contains("API_AND_CONFIG_MAP"),
        "{refused}"
    );
    api.access_entry(role, &[NAMESPACE.to_owned()])
        .expect("API_AND_CONFIG_MAP takes one");

    let missing = Step::new(
        "eks.deploy",
        json!({ "cluster": "no-such-eks", "namespace": NAMESPACE, "deployment": DEPLOYMENT, "image_tag": "previous" }),
    );
    let check = output(invoke(&aws, "eks.deploy", missing.payload("check", None)).await);
    assert_eq!(check["findings"][0]["verdict"], "missing", "{check:#?}");
    assert!(
        check["findings"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("ResourceNotFoundException")),
        "{check:#?}"
    );
}
