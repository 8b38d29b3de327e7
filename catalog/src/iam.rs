//! What an action's function may do in IAM terms, as data that the template renders into a least-privilege
//! role and that the Lambdas' recorded calls are checked against.
//!
//! The resource types come from the Service Authorization Reference (the copy that parliament ships): an action
//! that needs several resource types at once (`rds:CreateDBSnapshot` needs the db *and* the snapshot) lists one
//! pattern per type in one [`Grant`].

/// One policy statement: IAM actions that need the same resources.
#[derive(Clone, Copy, Debug)]
pub struct Grant {
    pub actions: &'static [&'static str],
    /// ARN patterns, every one of which the statement allows. Slots:
    /// - `{partition}`, `{region}`, `{account}`: the deploying account's, filled at deploy time;
    /// - `{state_machine}`: the workflow's state machine name;
    /// - `{<param>}`: the step's param. A literal gives its value (each item of a list gives one ARN; a value that
    ///   is itself an ARN replaces a pattern that ends in this one slot, and gives its last `/` segment
    ///   elsewhere); a value only known at run time, or an absent param, gives `*`;
    /// - `{<param>|<fallback>}`: as `{<param>}`, but an absent param gives `<fallback>`: the id the Lambda
    ///   derives itself, e.g. `stepback-*` for a snapshot named from the execution;
    /// - `{<param>?}`: as `{<param>}`, but an absent param means the step never makes the call: no ARN;
    /// - `{<param>@family}`: an ECS task definition given as family, `family:revision` or ARN, as its family;
    /// - `{<param>@rds}`: an RDS instance or cluster identifier as RDS stores it, lowercase;
    /// - `{<param>@restored}`, `{<param>@parked}`: every id that [`crate::names::Derived`] derives from it;
    /// - `{task_roles}`: the roles the function may pass, which the template takes as a parameter.
    ///
    /// [`UNSCOPED`] actions take `*` instead, whatever is written here.
    pub resources: &'static [&'static str],
    /// `iam:PassedToService` for `iam:PassRole`: the role can be handed only to this service.
    pub passed_to_service: Option<&'static str>,
    /// The param a step gives when it makes these calls, for an action whose calls depend on which param of an
    /// `exactly_one_of` group a step gives (`rds.snapshot` of an `instance` or of a `cluster`): only the steps
    /// that give it get the statement.
    pub given: Option<&'static str>,
    /// `kms:ViaService`: the calls are allowed only when this AWS service (`rds`, `sns`) makes them on the role's
    /// behalf in the stack's region, never when the function calls KMS itself.
    pub via_service: Option<&'static str>,
    /// `kms:GrantIsForAWSResource`: a `kms:CreateGrant` only for a grant that the service attaches to a resource of
    /// its own.
    pub for_aws_resource: bool,
    /// `cloudwatch:namespace`: PutMetricData, which no resource scopes, only into this namespace
    /// ([`Grant::in_namespace`]).
    pub metric_namespace: Option<&'static str>,
}

impl Grant {
    /// A statement of `actions` on `resources`.
    pub const fn on(actions: &'static [&'static str], resources: &'static [&'static str]) -> Grant {
        Grant {
            actions,
            resources,
            passed_to_service: None,
            given: None,
            via_service: None,
            for_aws_resource: false,
            metric_namespace: None,
        }
    }

    /// A statement of KMS `actions` on `keys` that only `service` may use for the role ([`Grant::via_service`]).
    pub const fn via(
        service: &'static str,
        actions: &'static [&'static str],
        keys: &'static [&'static str],
    ) -> Grant {
        Grant {
            via_service: Some(service),
            ..Grant::on(actions, keys)
        }
    }

    /// The grants created must be for the service's own resources ([`Grant::for_aws_resource`]).
    pub const fn for_aws_resource(self) -> Grant {
        Grant {
            for_aws_resource: true,
            ..self
        }
    }

    /// Metrics put only into `namespace`: "Use IAM condition keys to limit users to publishing metrics only in the
    /// CloudWatch namespaces that you specify" (CloudWatch user guide, "Using condition keys to limit access to
    /// CloudWatch namespaces"), the one narrowing PutMetricData has.
    pub const fn in_namespace(self, namespace: &'static str) -> Grant {
        Grant {
            metric_namespace: Some(namespace),
            ..self
        }
    }

    /// The statement only for the steps that give `param`.
    pub const fn given(self, param: &'static str) -> Grant {
        Grant {
            given: Some(param),
            ..self
        }
    }

    /// A statement of actions that AWS does not scope by resource (each must be in [`UNSCOPED`]).
    pub const fn unscoped(actions: &'static [&'static str]) -> Grant {
        Grant::on(actions, &[])
    }

    /// `iam:PassRole` on `roles`, to `service` only.
    pub const fn pass_role(roles: &'static [&'static str], service: &'static str) -> Grant {
        Grant {
            passed_to_service: Some(service),
            ..Grant::on(&["iam:PassRole"], roles)
        }
    }

    pub fn is_unscoped(&self) -> bool {
        self.resources.is_empty()
    }
}

/// The IAM actions that AWS offers no resource-level permission for, so `Resource: "*"` is the only form that
/// works, with why each is needed. Nothing else may be granted on `*`.
pub const UNSCOPED: &[(&str, &str)] = &[
    (
        "autoscaling:DescribeAutoScalingGroups",
        "asg.*: find the group and the processes suspended before the step",
    ),
    (
        "cloudwatch:PutMetricData",
        "readiness: the scheduled checks' metrics, in their namespace only (`cloudwatch:namespace`)",
    ),
    (
        "cloudwatch:GetMetricData",
        "check.metric: read the metric's datapoints",
    ),
    (
        "ec2:DescribeImages",
        "ec2.image: find the AMI an earlier attempt created, and poll its state",
    ),
    (
        "ec2:DescribeInstances",
        "ec2.image: `stepback preflight` checks that the instance exists; alb.register: whether each target still exists",
    ),
    (
        "ec2:DescribeNetworkInterfaces",
        "alb.register: whether an address target still belongs to an interface (a task's)",
    ),
    (
        "ecr:DescribePullThroughCacheRules",
        "ecs.deploy: whether an image not in ECR yet is in a pull-through cache, which fetches it on its first pull",
    ),
    (
        "ecs:DescribeTaskDefinition",
        "ecs.deploy: read the running task definition's images; ecs.run_task: preflight resolves the task definition",
    ),
    (
        "ecs:ListClusters",
        "alb.deregister, alb.register: `stepback preflight` finds a service that registers into the group",
    ),
    (
        "ecs:ListServices",
        "alb.deregister, alb.register: `stepback preflight` finds a service that registers into the group",
    ),
    (
        "ecs:ListTaskDefinitions",
        "ecs.deploy: find the revision that runs a tag, and `previous`",
    ),
    (
        "elasticloadbalancing:DescribeRules",
        "alb.halt, alb.resume: find the rule an earlier attempt added or deleted; `stepback preflight`: the listener exists, its first priority is free",
    ),
    (
        "elasticloadbalancing:DescribeTargetHealth",
        "alb.*: watch targets drain and become healthy",
    ),
    (
        "ssm:DescribeInstanceInformation",
        "ssm.command: `stepback preflight` checks that the instances are managed by SSM",
    ),
    (
        "ssm:GetCommandInvocation",
        "ssm.command: read each instance's output",
    ),
    (
        "ssm:ListCommandInvocations",
        "ssm.command: list the instances a command ran on",
    ),
    (
        "ssm:ListCommands",
        "ssm.command: poll the command, and find the one an earlier attempt sent",
    ),
];

/// The only deletes any role may make, with what each deletes: nothing of the user's. No action deletes a
/// database, a cluster, a snapshot or an image.
pub const ONLY_DELETES: &[(&str, &str)] = &[(
    "elasticloadbalancing:DeleteRule",
    "alb.resume: the listener rule that alb.halt added; the Lambda deletes only a rule at priority 1 that answers every path with a fixed response",
)];

/// The IAM actions that Step Functions needs to deliver a state machine's logs to CloudWatch Logs (AWS: "IAM
/// policies for logging to CloudWatch Logs"); AWS scopes none of them by resource. AWS's list also has
/// `logs:DeleteLogDelivery`, which only a change of the logging configuration uses: no role of ours deletes.
pub const LOG_DELIVERY: [&str; 7] = [
    "logs:CreateLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
];

/// Why `action` may be granted on `*`, when AWS allows nothing narrower.
pub fn unscoped_reason(action: &str) -> Option<&'static str> {
    UNSCOPED
        .iter()
        .find(|(name, _)| *name == action)
        .map(|(_, why)| *why)
        .or_else(|| {
            LOG_DELIVERY
                .contains(&action)
                .then_some("the state machine's log delivery to CloudWatch Logs")
        })
}
