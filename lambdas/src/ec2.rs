//! EC2 through its Query API ([Making API requests using the Query
//! format](https://docs.aws.amazon.com/ec2/latest/devguide/making-api-requests.html)): the operations stepback
//! calls, each typed only in what it sends and reads. The generated `aws-sdk-ec2` (~700 operations) was 30 % of
//! a clean build's CPU and one rustc of 7.1 GB (BENCHMARKS.md, "Build time").
//!
//! A request goes through the SDK's own orchestrator as a generated client's does: the config's HTTP client (so
//! the tests' IAM recorder, `check`'s read-only wrapper and the rehearsal's faults see it), credentials and
//! their cache, SigV4, timeouts, and the standard retry with the SDK's classifiers (its throttling and
//! transient codes, 500/502/503/504, timeouts and I/O errors). A refusal keeps EC2's code and message
//! (`<Response><Errors><Error><Code>`), so `ActionError::aws` and `classify` read it as before.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use aws_runtime::auth::SigV4OperationSigningConfig;
use aws_runtime::auth::sigv4::{SCHEME_ID, SigV4AuthScheme};
use aws_runtime::retries::classifiers::AwsErrorCodeClassifier;
use aws_smithy_runtime::client::identity::IdentityCache;
use aws_smithy_runtime::client::orchestrator::operation::Operation;
use aws_smithy_runtime::client::retries::classifiers::{
    HttpStatusCodeClassifier, TransientErrorClassifier,
};
use aws_smithy_runtime_api::client::auth::AuthSchemeOptionResolverParams;
use aws_smithy_runtime_api::client::auth::static_resolver::StaticAuthSchemeOptionResolver;
use aws_smithy_runtime_api::client::identity::SharedIdentityCache;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
use aws_smithy_runtime_api::client::runtime_plugin::StaticRuntimePlugin;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::Layer;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_types::SigningName;
use aws_types::region::SigningRegion;

/// The EC2 API's one version ([Common query
/// parameters](https://docs.aws.amazon.com/AWSEC2/latest/APIReference/CommonParameters.html)).
const VERSION: &str = "2016-11-15";

/// What a call returns when it fails: the SDK's error, with EC2's code in [`Ec2Error`].
pub type Error = SdkError<Ec2Error, HttpResponse>;

/// EC2's refusal: its code (`InvalidInstanceID.NotFound`, `RequestLimitExceeded`...) and message.
#[derive(Debug)]
pub struct Ec2Error(ErrorMetadata);

impl ProvideErrorMetadata for Ec2Error {
    fn meta(&self) -> &ErrorMetadata {
        &self.0
    }
}

impl fmt::Display for Ec2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.0.code().unwrap_or("an unnamed error"),
            self.0.message().unwrap_or("no message")
        )
    }
}

impl std::error::Error for Ec2Error {}

/// A request's parameters after `Action` and `Version`, in the Query API's flattened names
/// (`Filter.1.Value.1`).
#[derive(Debug, Default)]
struct Params(Vec<(String, String)>);

impl Params {
    fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Params {
        self.0.push((name.into(), value.into()));
        self
    }

    /// `name.1`, `name.2`... for each value.
    fn list<S: AsRef<str>>(mut self, name: &str, values: &[S]) -> Params {
        for (n, value) in values.iter().enumerate() {
            self.0
                .push((format!("{name}.{}", n + 1), value.as_ref().to_owned()));
        }
        self
    }

    fn filters(mut self, filters: &[Filter]) -> Params {
        for (n, filter) in filters.iter().enumerate() {
            let prefix = format!("Filter.{}", n + 1);
            self = self
                .with(format!("{prefix}.Name"), filter.name)
                .list(&format!("{prefix}.Value"), filter.values.as_slice());
        }
        self
    }
}

/// A filter of a `Describe` call: the name EC2 documents for it and the values any of which matches.
#[derive(Debug)]
pub struct Filter {
    pub name: &'static str,
    pub values: Vec<String>,
}

/// An EC2 client on an SDK config: its region, endpoint, credentials, HTTP client, retries and timeouts.
/// Cheap to clone.
#[derive(Clone)]
pub struct Client(Arc<Shared>);

struct Shared {
    config: SdkConfig,
    endpoint: String,
    /// One cache for every operation, so that credentials are resolved once, as a generated client does.
    identity_cache: SharedIdentityCache,
    /// Each action's operation, built on its first call.
    operations: Mutex<Vec<(&'static str, Operation<Params, String, Ec2Error>)>>,
}

impl Client {
    pub fn new(config: &SdkConfig) -> Client {
        let region = config.region().map_or("us-east-1", |r| r.as_ref());
        // The partitions' endpoints ([Amazon EC2 endpoints](https://docs.aws.amazon.com/general/latest/gr/ec2-service.html)).
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        let endpoint = config
            .endpoint_url()
            .map_or_else(|| format!("https://ec2.{region}.{suffix}"), str::to_owned);
        Client(Arc::new(Shared {
            config: config.clone(),
            endpoint,
            identity_cache: config
                .identity_cache()
                .unwrap_or_else(|| IdentityCache::lazy().build()),
            operations: Mutex::new(Vec::new()),
        }))
    }

    /// Sends `action` with `params`; the response's XML.
    async fn call(&self, action: &'static str, params: Params) -> Result<String, Error> {
        let operation = {
            let mut built = self
                .0
                .operations
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match built.iter().find(|(name, _)| *name == action) {
                Some((_, operation)) => operation.clone(),
                None => {
                    let operation = self.operation(action);
                    built.push((action, operation.clone()));
                    operation
                }
            }
        };
        operation.invoke(params).await
    }

    fn operation(&self, action: &'static str) -> Operation<Params, String, Ec2Error> {
        let config = &self.0.config;
        let mut signing = Layer::new("ec2 SigV4");
        signing.store_put(AuthSchemeOptionResolverParams::new(()));
        signing.store_put(SigV4OperationSigningConfig {
            region: config.region().cloned().map(SigningRegion::from),
            name: Some(SigningName::from_static("ec2")),
            ..SigV4OperationSigningConfig::default()
        });
        let mut components = RuntimeComponentsBuilder::new("ec2 SigV4")
            .with_auth_scheme_option_resolver(Some(StaticAuthSchemeOptionResolver::new(vec![
                SCHEME_ID,
            ])))
            .with_auth_scheme(SigV4AuthScheme::new())
            .with_identity_cache(Some(self.0.identity_cache.clone()));
        if let Some(credentials) = config.credentials_provider() {
            components = components.with_identity_resolver(SCHEME_ID, credentials);
        }
        let mut builder = Operation::builder()
            .service_name("ec2")
            .operation_name(action)
            .endpoint_url(&self.0.endpoint)
            .standard_retry(
                &config
                    .retry_config()
                    .cloned()
                    .unwrap_or_else(RetryConfig::standard),
            )
            .retry_classifier(AwsErrorCodeClassifier::<Ec2Error>::new())
            .retry_classifier(TransientErrorClassifier::<Ec2Error>::new())
            .retry_classifier(HttpStatusCodeClassifier::default())
            .runtime_plugin(
                StaticRuntimePlugin::new()
                    .with_config(signing.freeze())
                    .with_runtime_components(components),
            );
        if let Some(timeouts) = config.timeout_config() {
            builder = builder.timeout_config(timeouts.clone());
        }
        if let Some(http) = config.http_client() {
            builder = builder.http_client(http);
        }
        if let Some(sleep) = config.sleep_impl() {
            builder = builder.sleep_impl(sleep);
        }
        if let Some(time) = config.time_source() {
            builder = builder.time_source(time);
        }
        if let Some(version) = config.behavior_version() {
            builder = builder.behavior_version(version);
        }
        builder
            .serializer(move |params: Params| {
                let body = form_urlencoded::Serializer::new(String::new())
                    .append_pair("Action", action)
                    .append_pair("Version", VERSION)
                    .extend_pairs(params.0)
                    .finish();
                let mut request = HttpRequest::new(SdkBody::from(body.clone()));
                request.set_method("POST")?;
                request.headers_mut().insert(
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                );
                request
                    .headers_mut()
                    .insert("Content-Length", body.len().to_string());
                Ok(request)
            })
            .deserializer(|response: &HttpResponse| {
                let body = response
                    .body()
                    .bytes()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                if !response.status().is_success() {
                    return Err(OrchestratorError::operation(refusal(&body)));
                }
                // A garbled answer is the SDK's response error, which the handlers take as transient.
                let parsed = roxmltree::Document::parse(&body).map(drop);
                match parsed {
                    Ok(()) => Ok(body),
                    Err(e) => Err(OrchestratorError::response(Box::new(e))),
                }
            })
            .build()
    }

    /// DescribeInstances, every page: the instances named (`InstanceId.N`; EC2 refuses an unknown one with
    /// `InvalidInstanceID.NotFound`) and matching `filters`.
    pub async fn describe_instances(
        &self,
        ids: &[&str],
        filters: &[Filter],
    ) -> Result<Vec<Instance>, Error> {
        let params = || Params::default().list("InstanceId", ids).filters(filters);
        let mut instances = Vec::new();
        self.pages("DescribeInstances", params, |xml| {
            for reservation in items(xml, "reservationSet") {
                instances.extend(items(reservation, "instancesSet").map(|i| Instance {
                    instance_id: text(i, &["instanceId"]),
                    state: text(i, &["instanceState", "name"]),
                }));
            }
        })
        .await?;
        Ok(instances)
    }

    /// DescribeImages of the account's own images (`Owner.1=self`) matching `filters`.
    pub async fn describe_own_images(&self, filters: &[Filter]) -> Result<Vec<Image>, Error> {
        let params = || {
            Params::default()
                .list("Owner", &["self"][..])
                .filters(filters)
        };
        let mut images = Vec::new();
        self.pages("DescribeImages", params, |xml| {
            images.extend(items(xml, "imagesSet").map(|i| Image {
                image_id: text(i, &["imageId"]),
                name: text(i, &["name"]),
                state: text(i, &["imageState"]),
                state_reason: text(i, &["stateReason", "message"]),
            }));
        })
        .await?;
        Ok(images)
    }

    /// CreateImage of `instance_id` without a reboot, the image tagged with `tags` as it is created; its id.
    pub async fn create_image(
        &self,
        instance_id: &str,
        name: &str,
        tags: &[(String, String)],
    ) -> Result<String, Error> {
        let mut params = Params::default()
            .with("InstanceId", instance_id)
            .with("Name", name)
            .with("NoReboot", "true");
        if !tags.is_empty() {
            params = params.with("TagSpecification.1.ResourceType", "image");
            for (n, (key, value)) in tags.iter().enumerate() {
                params = params
                    .with(format!("TagSpecification.1.Tag.{}.Key", n + 1), key)
                    .with(format!("TagSpecification.1.Tag.{}.Value", n + 1), value);
            }
        }
        let xml = self.call("CreateImage", params).await?;
        Ok(read(&xml, |r| text(r, &["imageId"])))
    }

    /// RunInstances of `count` t3.micro instances of `image_id`; their ids.
    pub async fn run_instances(&self, image_id: &str, count: usize) -> Result<Vec<String>, Error> {
        let params = Params::default()
            .with("ClientToken", client_token())
            .with("ImageId", image_id)
            .with("InstanceType", "t3.micro")
            .with("MinCount", count.to_string())
            .with("MaxCount", count.to_string());
        let xml = self.call("RunInstances", params).await?;
        Ok(read(&xml, |r| {
            items(r, "instancesSet")
                .map(|i| text(i, &["instanceId"]))
                .collect()
        }))
    }

    pub async fn terminate_instances(&self, ids: &[&str]) -> Result<(), Error> {
        let params = Params::default().list("InstanceId", ids);
        self.call("TerminateInstances", params).await.map(drop)
    }

    /// CreateVpc; its id.
    pub async fn create_vpc(&self, cidr: &str) -> Result<String, Error> {
        let xml = self
            .call("CreateVpc", Params::default().with("CidrBlock", cidr))
            .await?;
        Ok(read(&xml, |r| text(r, &["vpc", "vpcId"])))
    }

    /// DescribeVpcs: every VPC's id and CIDR block.
    pub async fn describe_vpcs(&self) -> Result<Vec<Vpc>, Error> {
        let mut vpcs = Vec::new();
        self.pages("DescribeVpcs", Params::default, |xml| {
            vpcs.extend(items(xml, "vpcSet").map(|v| Vpc {
                vpc_id: text(v, &["vpcId"]),
                cidr_block: text(v, &["cidrBlock"]),
            }));
        })
        .await?;
        Ok(vpcs)
    }

    /// DescribeSubnets: every subnet's id.
    pub async fn describe_subnets(&self) -> Result<Vec<String>, Error> {
        let mut subnets = Vec::new();
        self.pages("DescribeSubnets", Params::default, |xml| {
            subnets.extend(items(xml, "subnetSet").map(|s| text(s, &["subnetId"])));
        })
        .await?;
        Ok(subnets)
    }

    /// ModifyVpcAttribute: DNS hostnames on (moto gives an awsvpc task its interface only then).
    pub async fn enable_dns_hostnames(&self, vpc: &str) -> Result<(), Error> {
        let params = Params::default()
            .with("VpcId", vpc)
            .with("EnableDnsHostnames.Value", "true");
        self.call("ModifyVpcAttribute", params).await.map(drop)
    }

    /// CreateSubnet, in `zone` if given; its id.
    pub async fn create_subnet(
        &self,
        vpc: &str,
        cidr: &str,
        zone: Option<&str>,
    ) -> Result<String, Error> {
        let mut params = Params::default().with("VpcId", vpc).with("CidrBlock", cidr);
        if let Some(zone) = zone {
            params = params.with("AvailabilityZone", zone);
        }
        let xml = self.call("CreateSubnet", params).await?;
        Ok(read(&xml, |r| text(r, &["subnet", "subnetId"])))
    }

    /// CreateSecurityGroup; its id.
    pub async fn create_security_group(
        &self,
        vpc: &str,
        name: &str,
        description: &str,
    ) -> Result<String, Error> {
        let params = Params::default()
            .with("GroupName", name)
            .with("GroupDescription", description)
            .with("VpcId", vpc);
        let xml = self.call("CreateSecurityGroup", params).await?;
        Ok(read(&xml, |r| text(r, &["groupId"])))
    }

    /// CreateNetworkInterface in `subnet`, with `groups`; its id and private address.
    pub async fn create_network_interface(
        &self,
        subnet: &str,
        groups: &[String],
        description: Option<&str>,
    ) -> Result<NetworkInterface, Error> {
        let mut params = Params::default()
            .with("ClientToken", client_token())
            .with("SubnetId", subnet)
            .list("SecurityGroupId", groups);
        if let Some(description) = description {
            params = params.with("Description", description);
        }
        let xml = self.call("CreateNetworkInterface", params).await?;
        Ok(read(&xml, |r| {
            let interface = child(r, "networkInterface");
            NetworkInterface {
                network_interface_id: interface
                    .map(|i| text(i, &["networkInterfaceId"]))
                    .unwrap_or_default(),
                private_ip_addresses: interface
                    .map(|i| text(i, &["privateIpAddress"]))
                    .into_iter()
                    .collect(),
            }
        }))
    }

    pub async fn delete_network_interface(&self, id: &str) -> Result<(), Error> {
        let params = Params::default().with("NetworkInterfaceId", id);
        self.call("DeleteNetworkInterface", params).await.map(drop)
    }

    /// DescribeNetworkInterfaces, every page, matching `filters`.
    pub async fn describe_network_interfaces(
        &self,
        filters: &[Filter],
    ) -> Result<Vec<NetworkInterface>, Error> {
        let params = || Params::default().filters(filters);
        let mut interfaces = Vec::new();
        self.pages("DescribeNetworkInterfaces", params, |xml| {
            interfaces.extend(items(xml, "networkInterfaceSet").map(|i| {
                NetworkInterface {
                    network_interface_id: text(i, &["networkInterfaceId"]),
                    private_ip_addresses: items(i, "privateIpAddressesSet")
                        .map(|a| text(a, &["privateIpAddress"]))
                        .collect(),
                }
            }));
        })
        .await?;
        Ok(interfaces)
    }

    /// `action` with `params` and each `NextToken` EC2 answers, until it answers none; `page` reads each.
    async fn pages(
        &self,
        action: &'static str,
        params: impl Fn() -> Params,
        mut page: impl FnMut(roxmltree::Node),
    ) -> Result<(), Error> {
        let mut next: Option<String> = None;
        loop {
            let mut request = params();
            if let Some(token) = next.take() {
                request = request.with("NextToken", token);
            }
            let xml = self.call(action, request).await?;
            next = read(&xml, |r| {
                page(r);
                Some(text(r, &["nextToken"])).filter(|t| !t.is_empty())
            });
            if next.is_none() {
                return Ok(());
            }
        }
    }
}

/// A token for an operation that takes one, as the SDK fills it in: the call's retries send it unchanged (the
/// request is built once per call), so a retry after a lost answer launches nothing twice ([Ensuring
/// idempotency](https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html): at most 64 ASCII
/// characters).
fn client_token() -> String {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "stepback-{now:x}-{}-{:x}",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    )
}

#[derive(Debug, Clone)]
pub struct Instance {
    pub instance_id: String,
    /// `pending`, `running`, `shutting-down`, `terminated`, `stopping`, `stopped`.
    pub state: String,
}

#[derive(Debug, Clone)]
pub struct Image {
    pub image_id: String,
    pub name: String,
    /// `pending`, `available`, `invalid`, `deregistered`, `transient`, `failed`, `error`, `disabled`.
    pub state: String,
    pub state_reason: String,
}

#[derive(Debug, Clone)]
pub struct Vpc {
    pub vpc_id: String,
    pub cidr_block: String,
}

#[derive(Debug, Clone, Default)]
pub struct NetworkInterface {
    pub network_interface_id: String,
    pub private_ip_addresses: Vec<String>,
}

/// `read` on the response's root element (the deserializer lets through only XML that parses).
fn read<T: Default>(xml: &str, read: impl FnOnce(roxmltree::Node) -> T) -> T {
    roxmltree::Document::parse(xml).map_or_else(|_| T::default(), |d| read(d.root_element()))
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(name))
}

/// The text at `path` below `node`; empty when absent.
fn text(node: roxmltree::Node, path: &[&str]) -> String {
    path.iter()
        .try_fold(node, |n, name| child(n, name))
        .and_then(|n| n.text())
        .unwrap_or_default()
        .to_owned()
}

/// The `item`s of the list `set` below `node`.
fn items<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    set: &str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    child(node, set)
        .into_iter()
        .flat_map(|s| s.children().filter(|c| c.has_tag_name("item")))
}

/// EC2's error response: `<Response><Errors><Error><Code>...</Code><Message>...</Message></Error></Errors>`
/// ([Error codes](https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html)).
fn refusal(xml: &str) -> Ec2Error {
    let mut meta = ErrorMetadata::builder();
    if let Ok(document) = roxmltree::Document::parse(xml) {
        let error = document.descendants().find(|n| n.has_tag_name("Error"));
        let code = error.map(|e| text(e, &["Code"])).filter(|c| !c.is_empty());
        if let Some(code) = code {
            meta = meta.code(code);
        }
        if let Some(message) = error.map(|e| text(e, &["Message"])) {
            meta = meta.message(message);
        }
    }
    Ec2Error(meta.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EC2's error response as its reference shows it: the code and message are what `classify` and a step's
    /// cause read.
    #[test]
    fn a_refusal_keeps_ec2s_code_and_message() {
        let refused = refusal(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
             <Code>InvalidInstanceID.NotFound</Code>\
             <Message>The instance ID 'i-1a2b3c4d' does not exist</Message></Error></Errors>\
             <RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>",
        );
        assert_eq!(refused.code(), Some("InvalidInstanceID.NotFound"));
        assert_eq!(
            refused.message(),
            Some("The instance ID 'i-1a2b3c4d' does not exist")
        );
        assert_eq!(
            crate::error::classify(refused.code().unwrap_or_default(), 400),
            catalog::ErrorName::NotFound
        );
    }

    /// Lists and filters in the Query API's flattened names, numbered from 1.
    #[test]
    fn params_flatten_lists_and_filters() {
        let params = Params::default()
            .list("InstanceId", &["i-1", "i-2"])
            .filters(&[
                Filter {
                    name: "name",
                    values: vec!["a".to_owned()],
                },
                Filter {
                    name: "image-id",
                    values: vec!["ami-1".to_owned(), "ami-2".to_owned()],
                },
            ]);
        let names: Vec<String> = params
            .0
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        assert_eq!(
            names,
            [
                "InstanceId.1=i-1",
                "InstanceId.2=i-2",
                "Filter.1.Name=name",
                "Filter.1.Value.1=a",
                "Filter.2.Name=image-id",
                "Filter.2.Value.1=ami-1",
                "Filter.2.Value.2=ami-2",
            ]
        );
    }
}
