//! What an action needs inside a Kubernetes cluster, beside its IAM grants: EKS authorizes the function's role
//! by an access entry of the cluster, which `stepback template` writes with the policy association, so that
//! nothing is configured by hand in the cluster.

/// An access entry for an action's function role: `policy` on the cluster named by the `cluster` param, scoped to
/// the namespaces its steps name (`namespace`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClusterAccess {
    pub action: &'static str,
    /// The param naming the EKS cluster.
    pub cluster: &'static str,
    /// The param naming the namespace the policy is scoped to.
    pub namespace: &'static str,
    /// The param naming the Deployment the action rolls out (`stepback rehearse --slow` holds its rollout).
    pub deployment: &'static str,
    /// An EKS access policy, `arn:<partition>:eks::aws:cluster-access-policy/<policy>`. AmazonEKSEditPolicy
    /// "allows access to edit most Kubernetes resources" (Deployments and ReplicaSets among them) in its scope
    /// (EKS user guide, "Review access policy permissions").
    pub policy: &'static str,
}

/// Every action that acts inside a cluster (each its own file's `ACCESS`).
pub const CLUSTER_ACCESS: &[ClusterAccess] = &[crate::actions::eks_deploy::ACCESS];

/// The access entry `action`'s function needs, if it acts inside a cluster.
pub fn cluster_access(action: &str) -> Option<&'static ClusterAccess> {
    CLUSTER_ACCESS.iter().find(|a| a.action == action)
}
