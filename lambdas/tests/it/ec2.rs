//! `ec2.image` against moto, where images are available at once.

use catalog::ErrorName;
use serde_json::json;

use crate::{Aws, Step, error, output, str_of};

async fn own_images(aws: &Aws) -> Vec<aws_sdk_ec2::types::Image> {
    aws.clients
        .aws(aws_sdk_ec2::Client::new)
        .describe_images()
        .owners("self")
        .send()
        .await
        .expect("describe")
        .images()
        .to_vec()
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
    assert_eq!(images[0].image_id(), Some(str_of(&out, "image_id")));
    assert_eq!(images[0].state().map(|s| s.as_str()), Some("available"));
    assert!(
        images[0]
            .name()
            .is_some_and(|n| n.starts_with(&format!("stepback-{id}-"))),
        "{:?}",
        images[0].name()
    );
    let instance = aws
        .clients
        .aws(aws_sdk_ec2::Client::new)
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("describe");
    let state = instance.reservations()[0].instances()[0]
        .state()
        .and_then(|s| s.name())
        .map(|s| s.as_str().to_owned());
    assert_eq!(
        state.as_deref(),
        Some("running"),
        "the instance keeps running"
    );
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
