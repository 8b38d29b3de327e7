//! EC2: instances, the world's VPC with its subnet and security group, and the subnets and security groups a
//! workflow names.

use super::{KnownParams, Network, Seeding, StateLine, World, counted, failed};
use crate::aws::AwsError;
use lambdas::ec2;

/// `Need::Instances`: an instance for each instance id.
pub(super) async fn instances(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    instances: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    world.instances(config, &params.list(instances)).await?;
    Ok(())
}

/// `Need::Network`: the subnets and security groups, in the world's VPC.
pub(super) async fn network(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    subnets: &str,
    security_groups: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    world
        .named_network(config, &params.list(subnets), &params.list(security_groups))
        .await?;
    Ok(())
}

/// The image moto's EC2 and Auto Scaling accept.
pub(super) const IMAGE: &str = "ami-12c6146b";

impl World {
    /// The world's network, made on first use.
    pub(super) async fn network(
        &mut self,
        config: &aws_config::SdkConfig,
    ) -> Result<Network, AwsError> {
        if let Some(network) = &self.network {
            return Ok(network.clone());
        }
        let ec2 = ec2::Client::new(config);
        let vpc = ec2
            .create_vpc("10.0.0.0/16")
            .await
            .map_err(|e| failed("ec2:CreateVpc", e))?;
        ec2.enable_dns_hostnames(&vpc)
            .await
            .map_err(|e| failed("ec2:ModifyVpcAttribute", e))?;
        let subnet = create_subnet(&ec2, &vpc, "10.0.1.0/24").await?;
        let security_group = create_security_group(
            &ec2,
            &vpc,
            "rehearsal",
            "the rehearsal's tasks and load balancers",
        )
        .await?;
        self.created.push(format!(
            "VPC {vpc} with subnet {subnet} and security group {security_group}"
        ));
        let network = Network {
            vpc,
            subnet,
            security_group,
        };
        self.network = Some(network.clone());
        Ok(network)
    }

    /// The world's instances for the workflow's instance `ids`, in order: each id that names no instance of the
    /// world yet gets one; any other target (an IP address) stays as written.
    pub(super) async fn instances(
        &mut self,
        config: &aws_config::SdkConfig,
        ids: &[String],
    ) -> Result<Vec<String>, AwsError> {
        let new: Vec<&String> = ids
            .iter()
            .filter(|id| id.starts_with("i-") && !self.renames.contains_key(*id))
            .collect();
        if !new.is_empty() {
            let made = run_instances(config, new.len()).await?;
            for (old, id) in new.into_iter().zip(&made) {
                self.rename(old, id);
                self.created.push(format!("EC2 instance {id} (for {old})"));
            }
            self.instances = true;
        }
        Ok(ids.iter().map(|id| self.renamed(id)).collect())
    }

    /// The subnets and security groups a workflow names, each made once in the world's VPC (with DNS hostnames,
    /// which moto needs to give an awsvpc task its interface) under the emulator's id.
    async fn named_network(
        &mut self,
        config: &aws_config::SdkConfig,
        subnets: &[String],
        security_groups: &[String],
    ) -> Result<(), AwsError> {
        let new = |ids: &[String], prefix: &str| -> Vec<String> {
            ids.iter()
                .filter(|id| id.starts_with(prefix) && !self.renames.contains_key(*id))
                .cloned()
                .collect()
        };
        let (subnets, security_groups) = (new(subnets, "subnet-"), new(security_groups, "sg-"));
        if subnets.is_empty() && security_groups.is_empty() {
            return Ok(());
        }
        let vpc = self.network(config).await?.vpc;
        let ec2 = ec2::Client::new(config);
        for named in subnets {
            // 10.0.1.0/24 is the world's own subnet.
            let made = self
                .renames
                .keys()
                .filter(|k| k.starts_with("subnet-"))
                .count();
            let subnet = create_subnet(&ec2, &vpc, &format!("10.0.{}.0/24", made + 2)).await?;
            self.created
                .push(format!("subnet {subnet} (for {named}) in VPC {vpc}"));
            self.rename(&named, &subnet);
        }
        for named in security_groups {
            let group = create_security_group(
                &ec2,
                &vpc,
                &format!("rehearsal-{named}"),
                &format!("stands for {named} in the rehearsal"),
            )
            .await?;
            self.created
                .push(format!("security group {group} (for {named}) in VPC {vpc}"));
            self.rename(&named, &group);
        }
        Ok(())
    }
}

pub(super) async fn run_instances(
    config: &aws_config::SdkConfig,
    count: usize,
) -> Result<Vec<String>, AwsError> {
    ec2::Client::new(config)
        .run_instances(IMAGE, count)
        .await
        .map_err(|e| failed("ec2:RunInstances", e))
}

/// A subnet of `vpc`; its id.
async fn create_subnet(ec2: &ec2::Client, vpc: &str, cidr: &str) -> Result<String, AwsError> {
    ec2.create_subnet(vpc, cidr, None)
        .await
        .map_err(|e| failed("ec2:CreateSubnet", e))
}

/// A security group of `vpc`; its id.
async fn create_security_group(
    ec2: &ec2::Client,
    vpc: &str,
    name: &str,
    description: &str,
) -> Result<String, AwsError> {
    ec2.create_security_group(vpc, name, description)
        .await
        .map_err(|e| failed("ec2:CreateSecurityGroup", e))
}

/// The images made (by `ec2.image`).
pub(super) async fn images(config: &aws_config::SdkConfig) -> StateLine {
    let images = ec2::Client::new(config)
        .describe_own_images(&[])
        .await
        .map(|i| i.into_iter().map(|i| i.image_id).collect::<Vec<_>>())
        .unwrap_or_default();
    StateLine {
        resource: "EC2 images".to_owned(),
        state: counted(&images),
    }
}
