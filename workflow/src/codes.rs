//! The registry of diagnostic codes. A code, once published, keeps its meaning: users search for it.

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
    OutOfRange = "E029", Error, "a number is outside its allowed range, or a string is not one of its allowed values";
    ExclusiveParams = "E030", Error, "not exactly one of a group of params is given";
    NoSteps = "E031", Error, "the workflow has no steps";
    DuplicateStep = "E032", Error, "a step id is used in both [steps] and [on_failure]";
    ConditionalReference = "W001", Warning, "a step reads the output of a step that may be skipped or may fail";
    Unguarded = "W002", Warning, "a destructive step runs without its backup or approval, as allowed by allow_unguarded";
    NoBackup = "W003", Warning, "a step that changes a database or host has no backup step before it";
    UnusedInput = "W004", Warning, "an input is declared but never used";
    TimeoutBelowEstimate = "W005", Warning, "a step's timeout is shorter than its estimate";
}
