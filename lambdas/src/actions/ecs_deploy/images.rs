//! The images a revision runs, checked in ECR before the service is changed.

use aws_sdk_ecr::types::ImageIdentifier;
use aws_sdk_ecs::types::ContainerDefinition;
use catalog::ErrorName;

use crate::{ActionError, Clients};

/// Every image of `containers` that lives in ECR must exist there: `Stepback.NotFound` names the repository
/// and the tag (or digest) that does not. What cannot be checked is said and let through, since ECS may well
/// pull it, and the poll's failed-task reason remains the guard: an image of another registry (no
/// credentials), of another account's ECR (by default only the owner may describe a repository), one the
/// function's role may not describe (a registry policy may grant the execution role only), and one in a
/// pull-through cache repository (ECR fetches it from the upstream registry on its first pull). Returns a
/// line per image that was not checked, and why.
pub(super) async fn ensure_images_exist(
    clients: &Clients,
    containers: &[ContainerDefinition],
    account: Option<&str>,
) -> Result<Vec<String>, ActionError> {
    let mut unchecked = Vec::new();
    for image in containers.iter().filter_map(|c| c.image()) {
        let Some(ecr) = EcrImage::parse(image) else {
            continue;
        };
        if account.is_some_and(|account| account != ecr.registry) {
            unchecked.push(format!(
                "`{image}` is in account {}'s ECR, which only that account may describe by default",
                ecr.registry
            ));
            continue;
        }
        let id = match ecr.reference {
            Reference::Tag(tag) => ImageIdentifier::builder().image_tag(tag).build(),
            Reference::Digest(digest) => ImageIdentifier::builder().image_digest(digest).build(),
        };
        let attempted = format!("find image `{image}` in ECR");
        let client = ecr_client(clients, ecr.region);
        let answer = client
            .describe_images()
            .registry_id(ecr.registry)
            .repository_name(ecr.repository)
            .image_ids(id)
            .send()
            .await;
        let missing = match &answer {
            Ok(found) if found.image_details().is_empty() => true,
            Ok(_) => false,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.meta().code() == Some("AccessDeniedException")) =>
            {
                unchecked.push(format!(
                    "`{image}`: this function's role may not describe repository `{}`",
                    ecr.repository
                ));
                continue;
            }
            Err(e) => e.as_service_error().is_some_and(|e| {
                e.is_image_not_found_exception() || e.is_repository_not_found_exception()
            }),
        };
        if missing {
            if let Some(prefix) = pull_through_prefix(&client, ecr.registry, ecr.repository).await {
                unchecked.push(format!(
                    "`{image}` is in pull-through cache `{prefix}`, which fetches an image on its first pull"
                ));
                continue;
            }
            return Err(ActionError::new(
                ErrorName::NotFound,
                format!(
                    "{attempted}: ECR repository `{}` has no image `{}`",
                    ecr.repository,
                    ecr.reference.as_str()
                ),
            ));
        }
        answer.map_err(|e| ActionError::aws(&attempted, e))?;
    }
    Ok(unchecked)
}

/// The prefix of the pull-through cache rule that `repository` falls under, if any. A rule that cannot be
/// read counts as none: the image is then refused as missing, which is what it is without a cache.
async fn pull_through_prefix(
    client: &aws_sdk_ecr::Client,
    registry: &str,
    repository: &str,
) -> Option<String> {
    let rules = client
        .describe_pull_through_cache_rules()
        .registry_id(registry)
        .send()
        .await
        .ok()?;
    rules
        .pull_through_cache_rules()
        .iter()
        .filter_map(|r| r.ecr_repository_prefix())
        .find(|prefix| {
            repository
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
        })
        .map(str::to_owned)
}

/// The account of an execution ARN (`arn:aws:states:region:account:execution:…`).
pub(super) fn account_of(execution: &str) -> Option<&str> {
    execution.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The ECR client for `region`: a repository is only found through its own region's endpoint.
fn ecr_client(clients: &Clients, region: &str) -> aws_sdk_ecr::Client {
    let client = clients.aws(aws_sdk_ecr::Client::new);
    if client
        .config()
        .region()
        .is_some_and(|r| r.as_ref() == region)
    {
        return client;
    }
    let config = client
        .config()
        .to_builder()
        .region(aws_sdk_ecr::config::Region::new(region.to_owned()))
        .build();
    aws_sdk_ecr::Client::from_conf(config)
}

/// An image in ECR: `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>(:<tag>|@<digest>)`.
#[derive(Debug, PartialEq)]
struct EcrImage<'a> {
    registry: &'a str,
    region: &'a str,
    repository: &'a str,
    reference: Reference<'a>,
}

#[derive(Debug, PartialEq)]
enum Reference<'a> {
    Tag(&'a str),
    Digest(&'a str),
}

impl Reference<'_> {
    fn as_str(&self) -> &str {
        match self {
            Reference::Tag(tag) => tag,
            Reference::Digest(digest) => digest,
        }
    }
}

impl<'a> EcrImage<'a> {
    fn parse(image: &'a str) -> Option<EcrImage<'a>> {
        let (host, path) = image.split_once('/')?;
        let mut labels = host.split('.');
        let registry = labels.next()?;
        let is_ecr = labels.next() == Some("dkr")
            && labels.next()?.starts_with("ecr")
            && host.contains(".amazonaws.com");
        let region = labels.next()?;
        if !is_ecr || registry.is_empty() || !registry.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (repository, reference) = match path.split_once('@') {
            Some((repository, digest)) => (repository, Reference::Digest(digest)),
            None => match path.rsplit_once(':') {
                Some((repository, tag)) if !tag.contains('/') => (repository, Reference::Tag(tag)),
                _ => (path, Reference::Tag("latest")),
            },
        };
        Some(EcrImage {
            registry,
            region,
            repository,
            reference,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_images_are_told_from_other_registries() {
        let ecr = |image| EcrImage::parse(image);
        assert_eq!(
            ecr("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v2"),
            Some(EcrImage {
                registry: "123456789012",
                region: "eu-west-1",
                repository: "team/app",
                reference: Reference::Tag("v2"),
            })
        );
        assert_eq!(
            ecr("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app@sha256:abc"),
            Some(EcrImage {
                registry: "123456789012",
                region: "cn-north-1",
                repository: "app",
                reference: Reference::Digest("sha256:abc"),
            })
        );
        assert_eq!(
            ecr("123456789012.dkr.ecr.us-east-1.amazonaws.com/app").map(|i| i.reference),
            Some(Reference::Tag("latest"))
        );
        assert_eq!(ecr("registry.local:5000/app:v2"), None);
        assert_eq!(ecr("public.ecr.aws/nginx/nginx:1"), None);
        assert_eq!(ecr("nginx:1"), None);
    }
}
