//! Random workflows of steps that change services, target groups and instances, written literally or through
//! `${resources.*}`, with random `after` edges: `check` accepts one exactly when every two steps that change the
//! same resource are ordered, and reports each unordered pair once (E037).

use proptest::prelude::*;
use workflow::Code;

const SERVICES: [&str; 3] = ["webapp", "api", "worker"];
const TARGET_GROUPS: [&str; 2] = [
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1",
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2",
];
const INSTANCES: [&str; 3] = [
    "i-0aaaaaaaaaaaaaaaa",
    "i-0bbbbbbbbbbbbbbbb",
    "i-0cccccccccccccccc",
];

#[derive(Clone, Debug)]
enum Kind {
    Deploy(usize),
    Drain(usize),
    Register(usize),
    /// A bitmask over [`INSTANCES`], never empty.
    Restart(u8),
    Notify,
}

impl Kind {
    /// The kind of resource and the literal names of those it changes.
    fn changes(&self) -> Option<(&'static str, Vec<&'static str>)> {
        Some(match self {
            Kind::Deploy(s) => ("service", vec![SERVICES[*s]]),
            Kind::Drain(t) | Kind::Register(t) => ("target group", vec![TARGET_GROUPS[*t]]),
            Kind::Restart(mask) => (
                "instance",
                (0..INSTANCES.len())
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| INSTANCES[i])
                    .collect(),
            ),
            Kind::Notify => return None,
        })
    }
}

#[derive(Clone, Debug)]
struct Spec {
    kind: Kind,
    /// Name the resource through `[resources]` rather than literally.
    via_resource: bool,
    /// Indices of earlier steps (in generation order) this one is `after`.
    after: Vec<usize>,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        (0..SERVICES.len()).prop_map(Kind::Deploy),
        (0..TARGET_GROUPS.len()).prop_map(Kind::Drain),
        (0..TARGET_GROUPS.len()).prop_map(Kind::Register),
        (1u8..8).prop_map(Kind::Restart),
        Just(Kind::Notify),
    ]
}

/// Steps with edges only to earlier ones, so the DAG is acyclic; declared in a shuffled order.
fn workflow() -> impl Strategy<Value = (Vec<Spec>, Vec<usize>)> {
    (2usize..8).prop_flat_map(|n| {
        let steps: Vec<_> = (0..n)
            .map(|i| {
                (kind(), any::<bool>(), any::<u8>()).prop_map(move |(kind, via, mask)| Spec {
                    kind,
                    via_resource: via,
                    after: (0..i).filter(|j| mask & (1 << j) != 0).collect(),
                })
            })
            .collect();
        (steps, Just((0..n).collect::<Vec<_>>()).prop_shuffle())
    })
}

fn source(steps: &[Spec], order: &[usize]) -> String {
    let mut out = String::from("version = 1\nname = \"races\"\n\n[resources]\n");
    for (i, s) in SERVICES.iter().enumerate() {
        out.push_str(&format!("service_{i} = \"{s}\"\n"));
    }
    for (i, t) in TARGET_GROUPS.iter().enumerate() {
        out.push_str(&format!("tg_{i} = \"{t}\"\n"));
    }
    for (i, t) in INSTANCES.iter().enumerate() {
        out.push_str(&format!("instance_{i} = \"{t}\"\n"));
    }
    for &i in order {
        let spec = &steps[i];
        let name = |literal: &str, resource: String| {
            if spec.via_resource {
                format!("\"${{resources.{resource}}}\"")
            } else {
                format!("\"{literal}\"")
            }
        };
        out.push_str(&format!("\n[steps.s{i}]\n"));
        let after: Vec<String> = spec.after.iter().map(|j| format!("\"s{j}\"")).collect();
        out.push_str(&format!("after = [{}]\n", after.join(", ")));
        match &spec.kind {
            Kind::Deploy(s) => out.push_str(&format!(
                "action = \"ecs.deploy\"\ncluster = \"prod\"\nservice = {}\ncontainer = \"app\"\nimage_tag = \"v{i}\"\n",
                name(SERVICES[*s], format!("service_{s}"))
            )),
            Kind::Drain(t) => out.push_str(&format!(
                "action = \"alb.deregister\"\ntarget_group = {}\n",
                name(TARGET_GROUPS[*t], format!("tg_{t}"))
            )),
            Kind::Register(t) => out.push_str(&format!(
                "action = \"alb.register\"\ntarget_group = {}\ntargets = [\"i-0aaaaaaaaaaaaaaaa:80\"]\n",
                name(TARGET_GROUPS[*t], format!("tg_{t}"))
            )),
            Kind::Restart(mask) => {
                let ids: Vec<String> = (0..INSTANCES.len())
                    .filter(|k| mask & (1 << k) != 0)
                    .map(|k| name(INSTANCES[k], format!("instance_{k}")))
                    .collect();
                out.push_str(&format!(
                    "action = \"ssm.command\"\ninstance_ids = [{}]\ncommands = [\"systemctl restart app\"]\nallow_unguarded = true\n",
                    ids.join(", ")
                ));
            }
            Kind::Notify => out.push_str(
                "action = \"notify\"\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"hi\"\n",
            ),
        }
    }
    out
}

/// Whether `to` is reachable from `from` through the `after` edges, computed here rather than by `workflow`.
fn reaches(steps: &[Spec], from: usize, to: usize) -> bool {
    let mut stack = vec![to];
    while let Some(step) = stack.pop() {
        if steps[step].after.contains(&from) {
            return true;
        }
        stack.extend(steps[step].after.iter().copied());
    }
    false
}

/// The unordered pairs of steps that change one literal resource.
fn races(steps: &[Spec]) -> usize {
    let mut count = 0;
    for a in 0..steps.len() {
        for b in a + 1..steps.len() {
            let (Some((kind_a, names_a)), Some((kind_b, names_b))) =
                (steps[a].kind.changes(), steps[b].kind.changes())
            else {
                continue;
            };
            let shared = kind_a == kind_b && names_a.iter().any(|n| names_b.contains(n));
            if shared && !reaches(steps, a, b) && !reaches(steps, b, a) {
                count += 1;
            }
        }
    }
    count
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn check_never_accepts_two_unordered_changes_of_one_resource((steps, order) in workflow()) {
        let source = source(&steps, &order);
        let checked = workflow::check(&source);
        let expected = races(&steps);
        let errors: Vec<Code> = checked.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code).collect();
        prop_assert_eq!(checked.workflow.is_some(), expected == 0, "{}\n{:#?}", source, checked.diagnostics);
        prop_assert!(errors.iter().all(|c| *c == Code::ConcurrentChange), "{:?}", errors);
        prop_assert_eq!(errors.len(), expected, "{}", source);
    }
}
