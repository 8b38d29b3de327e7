//! AWS partitions: the `arn:<partition>:` of every ARN and the console's host. A region's partition follows
//! from its name (`cn-north-1` is in `aws-cn`); a template leaves it to CloudFormation (`${AWS::Partition}`).

/// One partition.
#[derive(Debug, PartialEq, Eq)]
pub struct Partition {
    /// What ARNs and `AWS::Partition` name it, e.g. `aws-cn`.
    pub name: &'static str,
    /// The region name prefix that places a region in it; empty for the commercial partition, which holds
    /// every region no other claims.
    region_prefix: &'static str,
    /// The console's host when the partition has one for all its regions; `None` for the commercial one,
    /// whose console is per region (`<region>.console.aws.amazon.com`).
    console_host: Option<&'static str>,
    /// The template condition that is true in this partition, for the partitions with their own console.
    pub condition: &'static str,
}

/// The commercial partition, `aws`.
pub const AWS: Partition = Partition {
    name: "aws",
    region_prefix: "",
    console_host: None,
    condition: "",
};

/// Every partition stepback deploys to. The China and GovCloud consoles: Getting Started with Amazon Web
/// Services in China (docs.amazonaws.cn/en_us/aws/latest/userguide) and the AWS GovCloud (US) User Guide.
pub const PARTITIONS: [Partition; 3] = [
    AWS,
    Partition {
        name: "aws-cn",
        region_prefix: "cn-",
        console_host: Some("console.amazonaws.cn"),
        condition: "InAwsCn",
    },
    Partition {
        name: "aws-us-gov",
        region_prefix: "us-gov-",
        console_host: Some("console.amazonaws-us-gov.com"),
        condition: "InAwsUsGov",
    },
];

impl Partition {
    /// The partition of a region, e.g. `aws-cn` for `cn-northwest-1`.
    pub fn of_region(region: &str) -> &'static Partition {
        PARTITIONS
            .iter()
            .find(|p| !p.region_prefix.is_empty() && region.starts_with(p.region_prefix))
            .unwrap_or(&PARTITIONS[0])
    }

    /// The partition an ARN names, e.g. `aws-us-gov` for `arn:aws-us-gov:states:...`; the commercial one
    /// for a name it does not know.
    pub fn of_arn(arn: &str) -> &'static Partition {
        let name = arn.split(':').nth(1).unwrap_or_default();
        PARTITIONS
            .iter()
            .find(|p| p.name == name)
            .unwrap_or(&PARTITIONS[0])
    }

    /// The console's host for a region of this partition.
    pub fn console_host(&self, region: &str) -> String {
        match self.console_host {
            Some(host) => host.to_owned(),
            None => format!("{region}.console.aws.amazon.com"),
        }
    }

    /// The partitions with a console of their own, each with its template condition and host.
    pub fn own_consoles() -> impl Iterator<Item = (&'static str, &'static str)> {
        PARTITIONS
            .iter()
            .filter_map(|p| Some((p.condition, p.console_host?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_arns_name_their_partition() {
        for (region, partition, host) in [
            ("us-east-1", "aws", "us-east-1.console.aws.amazon.com"),
            ("eu-west-3", "aws", "eu-west-3.console.aws.amazon.com"),
            ("cn-north-1", "aws-cn", "console.amazonaws.cn"),
            ("cn-northwest-1", "aws-cn", "console.amazonaws.cn"),
            (
                "us-gov-west-1",
                "aws-us-gov",
                "console.amazonaws-us-gov.com",
            ),
            (
                "us-gov-east-1",
                "aws-us-gov",
                "console.amazonaws-us-gov.com",
            ),
        ] {
            let found = Partition::of_region(region);
            assert_eq!(found.name, partition, "{region}");
            assert_eq!(found.console_host(region), host, "{region}");
            let arn = format!("arn:{partition}:states:{region}:1:stateMachine:m");
            assert_eq!(Partition::of_arn(&arn), found, "{arn}");
        }
    }
}
