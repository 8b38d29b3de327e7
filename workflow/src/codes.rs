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

/// What `stepback explain CODE` prints beside the summary: why the rule exists, a workflow that breaks it, and
/// the fix. An example that does not start with `version` is a fragment: a header `version = 1`,
/// `name = "example"` goes before it. A test checks that every example gives its code.
#[derive(Clone, Copy, Debug)]
pub struct Explanation {
    pub why: &'static str,
    pub example: &'static str,
    pub fix: &'static str,
}

impl Code {
    /// The match is exhaustive, so a new code does not compile without its explanation.
    pub const fn explanation(self) -> Explanation {
        let (why, example, fix) = match self {
            Code::Syntax => (
                "The file must be valid TOML before anything else can be checked. A missing bracket or quote stops the \
                 parser, so nothing after the error is read.",
                "[steps.announce\naction = \"notify\"\n",
                "Close the bracket or the string at the place shown. `taplo fmt` or an editor with TOML support finds \
                 these as you type.",
            ),
            Code::UnknownKey => (
                "Every table accepts a fixed set of keys. A key the language does not know is almost always a typo, \
                 and a typo silently ignored would change what the rollback does.",
                "[defaults]\ntimout = \"5m\"\n\n[steps.pause]\naction = \"wait\"\nduration = \"1m\"\n",
                "Use the key the help suggests (`timeout`), or remove it. In a step, an unknown key is an unknown \
                 param (E009).",
            ),
            Code::MissingKey => (
                "Some keys have no sensible default: the file's `version` and `name`, an input's `type`, a step's \
                 `action`, a trigger's `alarms`.",
                "version = 1\n\n[steps.announce]\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"hi\"\n",
                "Add the key named in the message: here `name = \"...\"` at the top and `action = \"notify\"` in the \
                 step.",
            ),
            Code::WrongType => (
                "A value must have the TOML type its key takes: a string where a string is expected, a list for \
                 `after`, a bool for `continue_on_error`.",
                "[steps.announce]\naction = \"wait\"\nduration = \"1m\"\ncontinue_on_error = \"yes\"\n",
                "Write the value with the type shown in the message: `continue_on_error = true`, \
                 `after = [\"announce\"]`.",
            ),
            Code::UnsupportedVersion => (
                "`version` names the language the file is written in, so that a later stepback can read an older \
                 file the way it was meant. This stepback knows version 1.",
                "version = 2\nname = \"example\"\n\n[steps.pause]\naction = \"wait\"\nduration = \"1m\"\n",
                "Write `version = 1`.",
            ),
            Code::InvalidName => (
                "The workflow's `name` becomes the Step Functions state machine's name, which allows letters, digits, \
                 `-` and `_`, at most 64 characters.",
                "version = 1\nname = \"webapp rollback\"\n\n[steps.pause]\naction = \"wait\"\nduration = \"1m\"\n",
                "Replace the other characters, e.g. `name = \"webapp-rollback\"`.",
            ),
            Code::InvalidIdentifier => (
                "Step, input and resource names are used in references (`${steps.deploy.image_tag}`) and in state \
                 names, so they are lowercase letters, digits and `_`, starting with a letter or `_`, at most 40 \
                 characters.",
                "[steps.Deploy-App]\naction = \"wait\"\nduration = \"1m\"\n",
                "Rename it in snake_case, e.g. `[steps.deploy_app]`, and update the references to it.",
            ),
            Code::UnknownAction => (
                "A step's `action` must be one of the catalog's actions; the catalog says what each takes, gives and \
                 needs in IAM.",
                "[steps.deploy]\naction = \"ecs.deploi\"\ncluster = \"prod\"\nservice = \"webapp\"\n",
                "Use the action the help suggests. `stepback actions` lists every action.",
            ),
            Code::UnknownParam => (
                "A step may give only the params of its action. An unknown one is usually a typo of a real one, which \
                 would otherwise be left at its default.",
                "[steps.smoke]\naction = \"check.http\"\nurl = \"https://app.example.com/health\"\nexpected_status = 200\n",
                "Use the param the help suggests (`expect_status`). `stepback actions check.http` lists the params.",
            ),
            Code::MissingParam => (
                "An action cannot run without its required params.",
                "[steps.announce]\naction = \"notify\"\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\n",
                "Add the param named in the message (`message = \"...\"`). `stepback actions notify` shows which \
                 params are required.",
            ),
            Code::ParamType => (
                "A param, or the reference that fills it, must have the param's type: a string, a number, a bool, a \
                 list, a table, a duration or load-balancer targets.",
                "[steps.smoke]\naction = \"check.http\"\nurl = \"https://app.example.com/health\"\nexpect_status = \"200\"\n",
                "Write the value with the type `stepback actions <ACTION>` shows: `expect_status = 200`.",
            ),
            Code::UnknownInputType => (
                "An input's `type` says how the execution input is checked before any step runs: `string`, `bool`, \
                 `number` or `list`.",
                "[input]\nreason = { type = \"str\" }\n\n[steps.pause]\naction = \"wait\"\nwhen = \"input.reason != ''\"\nduration = \"1m\"\n",
                "Use one of the four types: `type = \"string\"`.",
            ),
            Code::DefaultType => (
                "An input's default is used when the execution input leaves it out, so it must have the input's type.",
                "[input]\nrestore = { type = \"bool\", default = \"no\" }\n\n[steps.pause]\naction = \"wait\"\nwhen = \"input.restore\"\nduration = \"1m\"\n",
                "Write the default with the input's type: `default = false`.",
            ),
            Code::InvalidDuration => (
                "Durations are written with units: \"30s\", \"15m\", \"1h30m\", \"2d\"; long forms (\"5 minutes\") are \
                 read too. Months and years are refused: they have no fixed length. stepback shows every duration back \
                 in one form, such as `35d` or `1h30m`.",
                "[steps.pause]\naction = \"wait\"\nduration = \"1 month\"\n",
                "Write the duration in seconds, minutes, hours, days or weeks: `duration = \"30d\"`.",
            ),
            Code::UnknownStep => (
                "`after` names steps that must finish first. A name that is not a step is usually a typo, and the \
                 order it was meant to give would be lost.",
                "[steps.announce]\naction = \"wait\"\nduration = \"1m\"\n\n[steps.drain]\naction = \"wait\"\nafter = [\"anounce\"]\nduration = \"1m\"\n",
                "Use the step the help suggests, or declare the step.",
            ),
            Code::SelfDependency => (
                "A step cannot wait for itself to finish.",
                "[steps.pause]\naction = \"wait\"\nafter = [\"pause\"]\nduration = \"1m\"\n",
                "Remove the step's own id from its `after`.",
            ),
            Code::Cycle => (
                "Steps run in the order `after` gives, which must be a DAG: steps that wait for each other in a \
                 circle would never start.",
                "[steps.a]\naction = \"wait\"\nafter = [\"b\"]\nduration = \"1m\"\n\n[steps.b]\naction = \"wait\"\nafter = [\"a\"]\nduration = \"1m\"\n",
                "Remove one `after` entry of the cycle the message lists: decide which step really comes first.",
            ),
            Code::ReferenceSyntax => (
                "A reference is `${` then a dotted path then `}`: `${input.reason}`, `${steps.deploy.image_tag}`. \
                 `$${` writes a literal `${`.",
                "[input]\nreason = { type = \"string\", default = \"manual\" }\n\n[steps.announce]\naction = \"notify\"\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"rollback: ${input.reason\"\n",
                "Close the reference (`${input.reason}`), or write `$${` for a literal `${`, e.g. in a shell command.",
            ),
            Code::UnknownReference => (
                "A reference must name something that exists: a declared input, a resource, `execution.name|id`, or \
                 a step.",
                "[steps.pause]\naction = \"wait\"\nwhen = \"input.restore\"\nduration = \"1m\"\n",
                "Declare the input (`[input] restore = { type = \"bool\", default = false }`), or fix the name the \
                 help suggests.",
            ),
            Code::NotAnAncestor => (
                "A step can read the outputs of the steps that have finished before it starts: its ancestors through \
                 `after`. Any other step may not have run yet, or may run at the same time.",
                "[steps.backup]\naction = \"rds.snapshot\"\ninstance = \"webapp-db\"\n\n[steps.announce]\naction = \"notify\"\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"took ${steps.backup.snapshot_id}\"\n",
                "When the two steps are unordered, add the step read to the reader's `after` \
                 (`after = [\"backup\"]`). When the step read runs after the reader, the order is the other way round: \
                 move the read to a later step, or reorder the steps.",
            ),
            Code::UnknownOutput => (
                "Each action gives a fixed set of outputs. `stepback actions <ACTION>` lists them with their types.",
                "[steps.smoke]\naction = \"check.http\"\nurl = \"https://app.example.com/health\"\n\n[steps.report]\naction = \"notify\"\nafter = [\"smoke\"]\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"took ${steps.smoke.latency}\"\n",
                "Use an output the action gives, e.g. `${steps.smoke.latency_ms}`.",
            ),
            Code::ReferenceScope => (
                "Some values exist only in some places: `${failure.*}` in `[on_failure]` steps, `${alarm.*}` in \
                 `[trigger].input`, and `steps.*` not in `[on_failure]`, since any step may be the one that failed. \
                 Conditions read only inputs and step outputs.",
                "[steps.announce]\naction = \"notify\"\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"${failure.step} failed\"\n",
                "Move the reference where its value exists, e.g. into an `[on_failure]` step.",
            ),
            Code::ConditionSyntax => (
                "`when` is a small expression: paths, literals, `==`, `!=`, `<`, `<=`, `>`, `>=`, `&&`, `||`, `!` and \
                 parentheses.",
                "[input]\nrestore = { type = \"bool\", default = false }\n\n[steps.pause]\naction = \"wait\"\nwhen = \"input.restore = true\"\nduration = \"1m\"\n",
                "Write the condition as the help shows: `input.restore == true`, or just `input.restore`.",
            ),
            Code::ConditionType => (
                "A condition is checked like a program: `&&` and `||` join bools, both sides of a comparison have \
                 one type, and only strings and numbers can be ordered.",
                "[input]\nreplicas = { type = \"number\", default = 2 }\n\n[steps.pause]\naction = \"wait\"\nwhen = \"input.replicas == 'two'\"\nduration = \"1m\"\n",
                "Compare values of the same type: `input.replicas == 2`.",
            ),
            Code::MissingBackup => (
                "A restore replaces a database. Without a snapshot of the same instance taken first, in the same run, \
                 the data written since the restored snapshot is lost for good.",
                "[steps.approve]\naction = \"approval\"\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"restore?\"\n\n[steps.restore]\naction = \"rds.restore\"\nafter = [\"approve\"]\ninstance = \"webapp-db\"\nsnapshot = \"rds:webapp-db-2026-11-25\"\ntimeout = \"1h\"\n",
                "Add an `rds.snapshot` step of the same `instance` among the restore's ancestors, running whenever the \
                 restore runs. Only when a backup exists elsewhere: `allow_unguarded = true` on the step.",
            ),
            Code::MissingApproval => (
                "A restore loses the data written since its snapshot, so a person says yes first.",
                "[steps.backup]\naction = \"rds.snapshot\"\ninstance = \"webapp-db\"\n\n[steps.restore]\naction = \"rds.restore\"\nafter = [\"backup\"]\ninstance = \"webapp-db\"\nsnapshot = \"rds:webapp-db-2026-11-25\"\ntimeout = \"1h\"\n",
                "Add an `approval` step among the restore's ancestors, running whenever the restore runs; \
                 `stepback approve` answers it.",
            ),
            Code::TriggerUnknownInput => (
                "`[trigger].input` fills the execution input of an alarm-started run; it can only fill declared \
                 inputs.",
                "[input]\nreason = { type = \"string\", default = \"manual\" }\n\n[trigger]\nalarms = [\"webapp-5xx-rate\"]\ninput = { reson = \"${alarm.reason}\" }\n\n[steps.pause]\naction = \"wait\"\nwhen = \"input.reason != ''\"\nduration = \"1m\"\n",
                "Use the input's name (`reason`), or declare the input.",
            ),
            Code::TriggerMissingInput => (
                "An alarm starts a run with only what `[trigger].input` gives, so every required input must be filled \
                 there, or have a default.",
                "[input]\nto_version = { type = \"string\" }\n\n[trigger]\nalarms = [\"webapp-5xx-rate\"]\n\n[steps.pause]\naction = \"wait\"\nwhen = \"input.to_version != ''\"\nduration = \"1m\"\n",
                "Give the input a default, or fill it in `[trigger].input`.",
            ),
            Code::OutOfRange => (
                "Some numbers and durations have bounds: an HTTP status is 100 to 599, retries at most 10, a timeout \
                 at most a year (Step Functions' longest execution).",
                "[steps.smoke]\naction = \"check.http\"\nurl = \"https://app.example.com/health\"\nexpect_status = 2000\n",
                "Use a value within the range the label shows.",
            ),
            Code::ExclusiveParams => (
                "Some params are alternatives, of which exactly one must be given: `ecs.deploy` takes `image_tag` or \
                 `task_definition`, `ssm.command` takes `instance_ids` or `tags`.",
                "[steps.deploy]\naction = \"ecs.deploy\"\ncluster = \"prod\"\nservice = \"webapp\"\n",
                "Give exactly one of the params listed in the message.",
            ),
            Code::NoSteps => (
                "A workflow without steps does nothing, which is never what a runbook means.",
                "version = 1\nname = \"example\"\n",
                "Add a `[steps.<id>]` table; `stepback actions` lists what a step can do.",
            ),
            Code::DuplicateStep => (
                "Step ids name states in the state machine and the results in `$.steps`, so an id is unique across \
                 `[steps]` and `[on_failure]`.",
                "[steps.announce]\naction = \"wait\"\nduration = \"1m\"\n\n[on_failure.announce]\naction = \"wait\"\nduration = \"1m\"\n",
                "Rename one of them, e.g. `[on_failure.announce_failure]`.",
            ),
            Code::ConditionalReference => (
                "A step that may be skipped (it has `when`) or may fail and be passed over (`continue_on_error`) may \
                 leave no outputs; a step that reads them then gets no value.",
                "[input]\nmigrate = { type = \"bool\", default = false }\n\n[steps.migrate]\naction = \"ecs.run_task\"\nwhen = \"input.migrate\"\ncluster = \"prod\"\ntask_definition = \"webapp-migrate\"\n\n[steps.report]\naction = \"notify\"\nafter = [\"migrate\"]\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"exit ${steps.migrate.exit_code}\"\n",
                "Give the reading step the same `when`, or read only outputs of steps that always run.",
            ),
            Code::Unguarded => (
                "`allow_unguarded = true` lets a restore run without its snapshot or approval, for when a backup is \
                 taken elsewhere. The warning keeps that choice visible.",
                "[steps.restore]\naction = \"rds.restore\"\ninstance = \"webapp-db\"\nsnapshot = \"rds:webapp-db-2026-11-25\"\nallow_unguarded = true\ntimeout = \"1h\"\n",
                "Add the snapshot and approval steps, and remove `allow_unguarded`; or keep it if the backup is made \
                 elsewhere.",
            ),
            Code::NoBackup => (
                "A step that may change a schema (`ecs.run_task`) or a host in place (`ssm.command`) cannot be undone \
                 without a backup: an `rds.snapshot` or an `ec2.image` before it.",
                "[steps.migrate]\naction = \"ecs.run_task\"\ncluster = \"prod\"\ntask_definition = \"webapp-migrate\"\n",
                "Add an `rds.snapshot` (or `ec2.image`) step among its ancestors.",
            ),
            Code::UnusedInput => (
                "An input that nothing reads is usually a leftover, or a reference that was meant and not written.",
                "[input]\nreason = { type = \"string\", default = \"manual\" }\n\n[steps.pause]\naction = \"wait\"\nduration = \"1m\"\n",
                "Read it (`${input.reason}`), or remove it.",
            ),
            Code::TimeoutBelowEstimate => (
                "A step whose timeout is shorter than its estimate is expected to time out: the rollback would fail \
                 on a step that is going as planned.",
                "[steps.restart]\naction = \"ssm.command\"\ninstance_ids = [\"i-0123456789abcdef0\"]\ncommands = [\"systemctl restart app\"]\nestimate = \"10m\"\ntimeout = \"5m\"\n",
                "Raise the step's `timeout` above its estimate, or correct the `estimate`.",
            ),
        };
        Explanation { why, example, fix }
    }
}
