//! What an action needs to exist before it runs, named by its params: what `stepback rehearse` creates in the
//! emulator for a workflow, so that the rehearsal's world comes from the steps and not from a script per
//! example. A new action says here what its step touches.

/// A resource a step touches, by the params that name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// An SNS topic, by ARN.
    Topic { topic: &'static str },
    /// An RDS DB instance, available.
    DbInstance { instance: &'static str },
    /// A snapshot of `instance`, available.
    DbSnapshot {
        snapshot: &'static str,
        instance: &'static str,
    },
    /// An Aurora DB cluster, available, with its writer instance.
    DbCluster { cluster: &'static str },
    /// A cluster snapshot of `cluster`, available.
    DbClusterSnapshot {
        snapshot: &'static str,
        cluster: &'static str,
    },
    /// A cluster and a service running the newer of two revisions of its task definition, whose `container`
    /// runs image tags `v1` and `v2`: so that `previous` means something.
    EcsService {
        cluster: &'static str,
        service: &'static str,
        container: &'static str,
    },
    /// An EKS cluster, and in it a Deployment in `namespace` on the second of two revisions, whose `container`
    /// ran image tags `v1`, then `v2`: so that `previous` means something.
    KubernetesDeployment {
        cluster: &'static str,
        namespace: &'static str,
        deployment: &'static str,
        container: &'static str,
    },
    /// A cluster and a task definition family with `container`.
    EcsTask {
        cluster: &'static str,
        task_definition: &'static str,
        container: &'static str,
    },
    /// An ALB target group, by ARN, with registered targets: the instances `targets` names, when a step names
    /// them.
    TargetGroup {
        target_group: &'static str,
        targets: &'static str,
    },
    /// An application load balancer's listener, by ARN, forwarding to a target group with targets.
    Listener { listener: &'static str },
    /// CloudWatch alarms, by name, in OK state.
    Alarms { alarms: &'static str },
    /// EC2 instances, by id: one id or a list.
    Instances { instances: &'static str },
    /// awsvpc subnets and security groups, by id (each one id or a list), in the VPC of the world's network.
    Network {
        subnets: &'static str,
        security_groups: &'static str,
    },
    /// An Auto Scaling group, by name.
    AutoScalingGroup { group: &'static str },
    /// CloudWatch Logs log groups, by name.
    LogGroups { log_groups: &'static str },
    /// A CloudWatch metric with a datapoint in every period of the window, each `comparison` `threshold`
    /// (one sample a period: good by every statistic but `SampleCount`, which is 1).
    Metric {
        namespace: &'static str,
        metric: &'static str,
        dimensions: &'static str,
        period: &'static str,
        periods: &'static str,
        window: &'static str,
        comparison: &'static str,
        threshold: &'static str,
    },
    /// A web endpoint that answers `status` (200 when the step gives none).
    Url {
        url: &'static str,
        status: &'static str,
    },
}

impl Need {
    /// Every param the need reads.
    pub fn params(&self) -> Vec<&'static str> {
        match *self {
            Need::Topic { topic } => vec![topic],
            Need::DbInstance { instance } => vec![instance],
            Need::DbSnapshot { snapshot, instance } => vec![snapshot, instance],
            Need::DbCluster { cluster } => vec![cluster],
            Need::DbClusterSnapshot { snapshot, cluster } => vec![snapshot, cluster],
            Need::EcsService {
                cluster,
                service,
                container,
            } => vec![cluster, service, container],
            Need::KubernetesDeployment {
                cluster,
                namespace,
                deployment,
                container,
            } => vec![cluster, namespace, deployment, container],
            Need::EcsTask {
                cluster,
                task_definition,
                container,
            } => vec![cluster, task_definition, container],
            Need::TargetGroup {
                target_group,
                targets,
            } => vec![target_group, targets],
            Need::Listener { listener } => vec![listener],
            Need::Alarms { alarms } => vec![alarms],
            Need::Instances { instances } => vec![instances],
            Need::Network {
                subnets,
                security_groups,
            } => vec![subnets, security_groups],
            Need::AutoScalingGroup { group } => vec![group],
            Need::LogGroups { log_groups } => vec![log_groups],
            Need::Metric {
                namespace,
                metric,
                dimensions,
                period,
                periods,
                window,
                comparison,
                threshold,
            } => vec![
                namespace, metric, dimensions, period, periods, window, comparison, threshold,
            ],
            Need::Url { url, status } => vec![url, status],
        }
    }
}
