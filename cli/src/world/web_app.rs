//! The world's web app, on a loopback port, for the URLs a workflow checks.

use rehearsal_front::loopback;
use serde_json::{Map, Value as Json};

use super::{KnownParams, Seeding, World, ecs, eks, failed};
use crate::aws::{AwsError, Session};

/// `Need::Url`: a web app on loopback for the URL's origin, once per origin.
pub(super) async fn url(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    url: &str,
    status: &str,
) -> Result<(), AwsError> {
    let Some(url) = params.text(url) else {
        return Ok(());
    };
    let Some(origin) = origin(&url) else {
        return Ok(());
    };
    let status = params.get(status).and_then(Json::as_u64).unwrap_or(200);
    if seeding.apps.contains_key(&origin) {
        return Ok(());
    }
    let port = web_app(seeding.session, world, seeding.input, status)
        .await
        .map_err(|e| failed("listen on loopback", e))?;
    seeding.apps.insert(origin.clone(), port);
    world.rename(&origin, &format!("http://127.0.0.1:{port}"));
    world.created.push(format!(
        "web app {origin} on http://127.0.0.1:{port}, answering {status}"
    ));
    Ok(())
}

/// `https://host:port` of a URL.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    Some(format!("{scheme}://{host}"))
}

/// The world's web app on a loopback port: every path answers `status`, with a body that names the version it
/// runs: the image tag each seeded ECS service runs now, read from the emulator at each request, the image each
/// seeded Kubernetes Deployment runs, read from its cluster's API, and the input's
/// values (an app on a host that `ssm.command` changes: moto runs no command).
async fn web_app(
    session: &Session,
    world: &World,
    input: &Map<String, Json>,
    status: u64,
) -> std::io::Result<u16> {
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    let port = listener.local_addr()?.port();
    let ecs = aws_sdk_ecs::Client::new(&session.config);
    let services = world.services.clone();
    let deployments = world.deployments.clone();
    let config = session.config.clone();
    let inputs: Vec<String> = input
        .values()
        .filter_map(Json::as_str)
        .map(str::to_owned)
        .collect();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (ecs, services, inputs) = (ecs.clone(), services.clone(), inputs.clone());
            let (deployments, config) = (deployments.clone(), config.clone());
            tokio::spawn(async move {
                // Every request gets the same answer; one that cannot be read gets none.
                if loopback::read_request(&mut stream).await.is_err() {
                    return;
                }
                let mut versions = Vec::new();
                for (cluster, service) in &services {
                    versions.extend(
                        ecs::running_image(&ecs, cluster, service)
                            .await
                            .map(|(_, image)| image),
                    );
                }
                versions.extend(eks::running_images(&config, &deployments).await);
                versions.extend(inputs);
                let body = format!("running {}\n", versions.join(" "));
                let status = format!("{status} Rehearsal");
                let _ = loopback::respond(&mut stream, &status, &[], "text/plain", body.as_bytes())
                    .await;
            });
        }
    });
    Ok(port)
}
