//! The registry of diagnostic codes. A code, once published, keeps its meaning: users search for it.

use std::ops::Range;

use crate::Severity;

macro_rules! codes {
    ($($variant:ident = $code:literal, $severity:ident, $summary:literal;)*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            pub const ALL: &[Code] = &[$(Code::$variant,)*];

            /// The codes that `compiler::compile` raises rather than `check`; the compiler's tests produce them.
            pub const COMPILE: &[Code] = &[Code::HistoryBudget, Code::DefinitionSize, Code::StateSize];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// Whether the code fails `check`; a warning does only under `--deny-warnings`.
            pub const fn severity(self) -> Severity {
                match self {
                    $(Code::$variant => Severity::$severity,)*
                }
            }

            /// One line for `--explain`-style listings and the docs.
            pub const fn summary(self) -> &'static str {
                match self {
                    $(Code::$variant => $summary,)*
                }
            }
        }
    };
}

codes! {
    Syntax = "E001", Error, "the file is not valid TOML";
    UnknownKey = "E002", Error, "a key the language does not know";
    MissingKey = "E003", Error, "a required key is missing";
    WrongType = "E004", Error, "a value has the wrong TOML type";
    UnsupportedVersion = "E005", Error, "the language version is not supported";
    InvalidName = "E006", Error, "the workflow name is not [A-Za-z0-9-_]{1,64}";
    InvalidIdentifier = "E007", Error, "a step, input or resource name is not a valid identifier";
    UnknownAction = "E008", Error, "the action is not in the catalog";
    UnknownParam = "E009", Error, "the action has no such param";
    MissingParam = "E010", Error, "a required param of the action is missing";
    ParamType = "E011", Error, "a param or reference has the wrong type";
    UnknownInputType = "E012", Error, "an input type is not string, bool, number or list";
    DefaultType = "E013", Error, "an input's default does not match its type";
    InvalidDuration = "E014", Error, "a duration cannot be parsed";
    UnknownStep = "E015", Error, "`after` names a step that does not exist";
    SelfDependency = "E016", Error, "a step is `after` itself";
    Cycle = "E017", Error, "the `after` dependencies form a cycle";
    ReferenceSyntax = "E018", Error, "a `${...}` reference is malformed";
    UnknownReference = "E019", Error, "a reference names an unknown input, resource or field";
    NotAnAncestor = "E020", Error, "a step reads the output of a step that does not run before it";
    UnknownOutput = "E021", Error, "a step reference names an output its action does not declare";
    ReferenceScope = "E022", Error, "a reference is used where its value does not exist";
    ConditionSyntax = "E023", Error, "a `when` condition cannot be parsed";
    ConditionType = "E024", Error, "a `when` condition is not well typed";
    MissingBackup = "E025", Error, "a destructive step has no backup of what it changes before it (e.g. rds.restore without an rds.snapshot of the same instance)";
    MissingApproval = "E026", Error, "a destructive step (e.g. rds.restore) has no approval before it";
    TriggerUnknownInput = "E027", Error, "[trigger].input fills an input that is not declared";
    TriggerMissingInput = "E028", Error, "an alarm-started run would lack a required input";
    OutOfRange = "E029", Error, "a number or duration is outside its allowed range or values, or a string is not one of its allowed values";
    ExclusiveParams = "E030", Error, "not exactly one of a group of params is given";
    NoSteps = "E031", Error, "the workflow has no steps";
    DuplicateStep = "E032", Error, "a step id is used in both [steps] and [on_failure]";
    HistoryBudget = "E033", Error, "the worst-case execution history is over the Step Functions limit";
    DefinitionSize = "E034", Error, "the compiled definition is over the Step Functions size limit";
    IgnoredGuardFailure = "E035", Error, "a guard of a destructive step has `continue_on_error`, so the step runs even when its guard fails";
    DestructiveOnFailure = "E036", Error, "a destructive step is in [on_failure], where no snapshot or approval can stop it";
    ConcurrentChange = "E037", Error, "two steps change the same resource with no `after` between them, so they run at the same time";
    ShellFromReference = "E038", Error, "a list that a shell runs comes whole from a reference, so the execution would supply the code";
    StateSize = "E039", Error, "the data a state carries may grow over the Step Functions limit of 256 KB";
    WindowTooShort = "E040", Error, "a step's window cannot hold the periods it must find good in a row";
    EmptyName = "E041", Error, "a param that names a resource (an instance, a snapshot) is empty, or reads an input that defaults to empty";
    ConditionalReference = "W001", Warning, "a step reads the output of a step that may be skipped or may fail";
    Unguarded = "W002", Warning, "a destructive step runs without its backup or approval, as allowed by allow_unguarded";
    NoBackup = "W003", Warning, "a step that changes a database or host has no backup step before it";
    UnusedInput = "W004", Warning, "an input is declared but never used";
    TimeoutBelowEstimate = "W005", Warning, "a step's timeout is shorter than its estimate";
    MaybeConcurrentChange = "W006", Warning, "two steps may change the same resource (a reference on one side) with no `after` between them";
    SilentCooldown = "W007", Warning, "[trigger] has a cooldown but no topic, so an alarm it holds back tells no one";
    TargetsByHand = "W008", Warning, "targets taken out of a target group by hand in a workflow that deploys an ECS service, which may register its own";
}

/// What `stepback explain CODE` prints beside the summary: why the rule exists, a workflow that breaks it, and
/// the fix. An example that does not start with `version` is a fragment: a header `version = 1`,
/// `name = "example"` goes before it. A test checks that every example gives its code.
#[derive(Clone, Copy, Debug)]
pub struct Explanation {
    pub why: &'static str,
    pub example: &'static str,
    pub fix: &'static str,
}

// One constructor per diagnostic, in code order, one module per stage: the message, label and help a user sees
// for each. `suggestion` is a "did you mean" line, when a candidate is close enough.
mod checks;
mod explain;
mod references;
mod shape;

pub use checks::*;
pub use references::*;
pub use shape::*;

type Span = Range<usize>;

#[cfg(test)]
mod registry_tests {
    use super::Code;

    /// ARCHITECTURE.md's codemap names the range of codes that exists.
    #[test]
    fn the_codemap_names_every_code() {
        let last = |prefix: char| {
            Code::ALL
                .iter()
                .map(|code| code.as_str())
                .filter(|code| code.starts_with(prefix))
                .max()
                .expect("a code")
        };
        let range = format!("(E001–{}, W001–{})", last('E'), last('W'));
        assert!(
            include_str!("../../ARCHITECTURE.md").contains(&range),
            "ARCHITECTURE.md's codemap should say {range}"
        );
    }
}
