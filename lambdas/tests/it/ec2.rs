//! `ec2.image` against moto, where images are available at once.

use catalog::ErrorName;
use serde_json::json;

use crate::{Aws, Step, error, output, str_of};

async fn own_images(aws: &Aws) -> Vec<lambdas::ec2::Image> {
    aws.clients
        .aws(lambdas::ec2::Client::new)
        .describe_own_images(&[])
        .await
        .expect("describe")
}

#[tokio::test]
async fn images_the_instance_without_a_reboot() {
    let aws = Aws::start().await;
    let id = aws.ec2_instance().await;
    crate::check_ok(&aws, &Step::new("ec2.image", json!({"instance_id": id}))).await;
    let out = output(
        Step::new("ec2.image", json!({"instance_id": id}))
            .run(&aws)
            .await,
    );
    let images = own_images(&aws).await;
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].image_id, str_of(&out, "image_id"));
    assert_eq!(images[0].state, "available");
    assert!(
        images[0].name.starts_with(&format!("stepback-{id}-")),
        "{:?}",
        images[0].name
    );
    let instances = aws
        .clients
        .aws(lambdas::ec2::Client::new)
        .describe_instances(&[id.as_str()], &[])
        .await
        .expect("describe");
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0].state, "running", "the instance keeps running");
}

#[tokio::test]
async fn a_retried_start_makes_one_image() {
    let aws = Aws::start().await;
    let id = aws.ec2_instance().await;
    let step = Step::new("ec2.image", json!({"instance_id": id}));
    let first = output(step.run(&aws).await);
    let second = output(step.run(&aws).await);
    assert_eq!(first, second);
    assert_eq!(own_images(&aws).await.len(), 1);
}

#[tokio::test]
async fn imaging_a_missing_instance_is_not_found() {
    let aws = Aws::start().await;
    let failure = error(
        Step::new("ec2.image", json!({"instance_id": "i-0123456789abcdef0"}))
            .start(&aws)
            .await,
    );
    assert_eq!(failure.name, ErrorName::NotFound, "{failure}");
    assert!(failure.message.contains("i-0123456789abcdef0"), "{failure}");
}
