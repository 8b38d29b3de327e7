//! The registry of diagnostic codes. A code, once published, keeps its meaning: users search for it.

use std::ops::Range;

use catalog::{ActionSpec, ParamSpec, ValueType};

use crate::duration::format as human;
use crate::{Diagnostic, Severity};

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
            Code::IgnoredGuardFailure => (
                "A snapshot or an approval guards a destructive step only if its failure stops that step. With \
                 `continue_on_error = true` a rejected or timed-out approval, or a failed snapshot, is recorded and \
                 the rollback goes on: the restore runs although the person said no, or without its backup.",
                "[steps.backup]\naction = \"rds.snapshot\"\ninstance = \"webapp-db\"\n\n[steps.approve]\naction = \"approval\"\nafter = [\"backup\"]\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"restore?\"\ncontinue_on_error = true\n\n[steps.restore]\naction = \"rds.restore\"\nafter = [\"approve\"]\ninstance = \"webapp-db\"\nsnapshot = \"rds:webapp-db-2026-11-25\"\ntimeout = \"1h\"\n",
                "Remove `continue_on_error` from the guard. Only when the backup or the approval is made elsewhere: \
                 `allow_unguarded = true` on the destructive step.",
            ),
            Code::DestructiveOnFailure => (
                "`[on_failure]` steps run after any failure, one after another, and each goes on when the one before \
                 it failed, so that the failure is always reported. No snapshot or approval there could stop a \
                 destructive step, and none in `[steps]` is known to have run: the failed step may be the snapshot.",
                "[steps.deploy]\naction = \"wait\"\nduration = \"1m\"\n\n[on_failure.restore]\naction = \"rds.restore\"\ninstance = \"webapp-db\"\nsnapshot = \"rds:webapp-db-2026-11-25\"\ntimeout = \"1h\"\n",
                "Move the step into `[steps]`, after its snapshot and approval, behind a `when` on an input; or \
                 start a separate rollback for it once the failure is understood.",
            ),
            Code::ConcurrentChange => (
                "The compiler runs every two steps with no path of `after` between them at the same time. Two that \
                 change one resource race: two deploys of one service to different tags (the last to land wins), \
                 two restores of one database, draining and registering one target group.",
                "[steps.deploy_app]\naction = \"ecs.deploy\"\ncluster = \"prod\"\nservice = \"webapp\"\ncontainer = \"app\"\nimage_tag = \"v41\"\n\n[steps.deploy_sidecar]\naction = \"ecs.deploy\"\ncluster = \"prod\"\nservice = \"webapp\"\ncontainer = \"proxy\"\nimage_tag = \"v7\"\n",
                "Order the two steps with `after`, as the help proposes (that order creates no cycle), or change \
                 the resource in one step.",
            ),
            Code::MaybeConcurrentChange => (
                "Two steps that change the same kind of resource run at the same time, and one names it with a \
                 reference (`${input.service}`): when the execution fills in the same value, they race as in E037.",
                "[input]\nservice = { type = \"string\", default = \"webapp\" }\n\n[steps.deploy_app]\naction = \"ecs.deploy\"\ncluster = \"prod\"\nservice = \"${input.service}\"\nimage_tag = \"v41\"\ncontainer = \"app\"\n\n[steps.deploy_api]\naction = \"ecs.deploy\"\ncluster = \"prod\"\nservice = \"api\"\nimage_tag = \"v41\"\ncontainer = \"app\"\n",
                "Order the two steps with `after`, as the help proposes, unless the values can never be equal.",
            ),
            Code::ShellFromReference => (
                "Values from the execution (inputs, step outputs) reach a shell as data: the Lambda binds each to \
                 a shell variable, so `v1; curl ... | sh` stays a string. A whole list of commands from a reference \
                 has no text of the author's around the value: the execution would supply the code itself.",
                "[input]\ncommands = { type = \"list\", default = [\"systemctl restart app\"] }\n\n[steps.run]\naction = \"ssm.command\"\ninstance_ids = [\"i-0123456789abcdef0\"]\ncommands = \"${input.commands}\"\nallow_unguarded = true\n",
                "Write the commands out in the workflow, with `${...}` only inside them, e.g. \
                 `commands = [\"systemctl restart ${input.service}\"]`.",
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
            Code::HistoryBudget => (
                "Step Functions ends an execution that records more than 25,000 history events. A polling loop \
                 records events every time it looks, and retries record more. A long operation's polls thin out as \
                 time passes, so their number grows with the logarithm of the timeout; a check at a fixed \
                 `interval` polls at that cadence until its timeout, which can need more events than a run may \
                 have. `stepback compile` counts the worst case and refuses the workflow rather than let the run \
                 fail half-way.",
                "[steps.healthy]\naction = \"check.http\"\nurl = \"https://webapp.example.com/health\"\ninterval = \"5s\"\ntimeout = \"7d\"\n",
                "Use the `timeout` or `interval` the help line names for the step in the label (each one alone \
                 fits), give it fewer `retry` attempts, or split the workflow in two.",
            ),
            Code::DefinitionSize => (
                "Step Functions refuses a state machine definition over 1 MB. Every step becomes several states, and \
                 each carries its description and params, so a very large workflow can outgrow the limit; \
                 `stepback compile` measures the definition and names the step that weighs most.",
                "# 100 steps like this one, each with a description of 12,000 characters:\n[steps.s1]\naction = \"wait\"\nduration = \"1s\"\ndescription = \"...\"\n",
                "Split the workflow, or shorten the descriptions and params of the step named in the label.",
            ),
            Code::StateSize => (
                "Step Functions fails an execution whose state data (its input, the step results it keeps, a \
                 failure) grows over 256 KB. The state keeps every input, each step's mark (done, skipped, failed) \
                 and the outputs that a later step or `when` reads; an output that nothing reads stays in the \
                 execution's history only. Each part has a bound (an input's `max_length`, an output's catalog \
                 bound, an error's cut cause), and `check` and `compile` add them up for the worst case, so a \
                 workflow that keeps too much is refused rather than failing half-way.",
                "# 8 pairs like this one, each keeping a drain's target list (up to 32 KB) for its register:\n[steps.drain_1]\naction = \"alb.deregister\"\ntarget_group = \"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/1\"\n\n[steps.undrain_1]\naction = \"alb.register\"\nafter = [\"drain_1\"]\ntarget_group = \"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/1\"\ntargets = \"${steps.drain_1.targets}\"\n",
                "The help names the heaviest parts and the steps that read them: read fewer of those outputs, \
                 or lower the `max_length` of large inputs.",
            ),
            Code::WindowTooShort => (
                "A metric check passes when the newest `periods` datapoints are all good, and it reads only \
                 `window` back from now: a window shorter than `periods` × `period` never holds enough \
                 datapoints, so the step could only time out.",
                "[steps.cpu]\naction = \"check.metric\"\nnamespace = \"AWS/ECS\"\nmetric = \"CPUUtilization\"\ncomparison = \"<\"\nthreshold = 80\nperiod = \"1m\"\nperiods = 5\nwindow = \"3m\"\n",
                "Make `window` at least `periods` × `period`, or leave it out: the default adds 5m for datapoints \
                 that CloudWatch publishes late.",
            ),
            Code::EmptyName => (
                "An empty identifier names nothing, and AWS's Describe calls read it as no filter at all: a \
                 restore \"from\" an empty snapshot name would take whichever snapshot comes first. So a param \
                 that names a resource is never empty: not as a literal, and not read from an input whose default \
                 is empty (the state machine refuses an execution that gives such an input `\"\"`, and the \
                 Lambda refuses it again).",
                "[input]\nrestore_snapshot = { type = \"string\", default = \"\" }\n\n[steps.restore_db]\naction = \"rds.restore\"\ninstance = \"orders\"\nsnapshot = \"${input.restore_snapshot}\"\nallow_unguarded = true\n",
                "Make the input required (remove its default), so that whoever starts the rollback names the \
                 resource, or give it a default that names one.",
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
            Code::SilentCooldown => (
                "An alarm that fires again within `[trigger].cooldown` (1h unless set) of the last execution's end \
                 does not roll back again: the execution ends before any step. The history records why, but without \
                 `[trigger].topic` nobody hears that the alarm fired and was held back.",
                "[trigger]\nalarms = [\"webapp-5xx-rate\"]\n\n[steps.pause]\naction = \"wait\"\nduration = \"1m\"\n",
                "Add `topic = \"${resources.topic}\"` to [trigger], or `cooldown = \"0s\"` to turn the cooldown off.",
            ),
            Code::TargetsByHand => (
                "How traffic is halted depends on who registers a target group's targets. Hosts and instances that a \
                 person registered (the EC2 runbook) are taken out with `alb.deregister` and put back with \
                 `alb.register`, which waits until they are healthy. A group that an ECS service (or an Auto Scaling \
                 group) registers into is not ours to edit: ECS registers each deployment's tasks and deregisters the \
                 old ones by itself, so the new tasks take traffic as soon as they are healthy, before any check of \
                 the rollback, and the targets drained earlier (stopped tasks' addresses) never come back: \
                 `alb.register` fails at once on targets that no longer exist. Such a group's traffic is halted at \
                 its listener: `alb.halt` adds a rule, evaluated first (priority 1), that answers every request with \
                 a fixed 503 maintenance response, and `alb.resume` deletes it. A rule of our own, rather than the \
                 listener's forward weights, leaves every rule of the user's as it was and needs no second target \
                 group. Whether the service registers into the drained group only AWS knows: `stepback preflight` \
                 reads every service's `loadBalancers` (and Auto Scaling groups' target groups) and reports it.",
                "[steps.drain]\naction = \"alb.deregister\"\ntarget_group = \"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/webapp/0123456789abcdef\"\n\n[steps.deploy]\naction = \"ecs.deploy\"\nafter = [\"drain\"]\ncluster = \"prod\"\nservice = \"webapp\"\ncontainer = \"app\"\nimage_tag = \"previous\"\n",
                "For a service's target group, halt at the listener: `[steps.halt] action = \"alb.halt\"`, \
                 `listener = \"<listener ARN>\"`, and after the deploy `[steps.resume] action = \"alb.resume\"`, \
                 `listener = ...`, `rule = \"${steps.halt.rule}\"` (examples/webapp-rollback.toml). Keep \
                 alb.deregister/alb.register for hosts a person registered; then the warning names a group that the \
                 service does not use, and `stepback preflight` confirms it.",
            ),
        };
        Explanation { why, example, fix }
    }
}

// One constructor per diagnostic, in code order: the message, label and help a user sees for each.
// `suggestion` is a "did you mean" line, when a candidate is close enough.

type Span = Range<usize>;

pub fn syntax(span: Span, message: &str) -> Diagnostic {
    Diagnostic::new(
        Code::Syntax,
        span,
        format!("invalid TOML: {}", message.trim_end()),
    )
    .label("here")
    .help("see https://toml.io for the syntax")
}

pub fn unknown_key(
    span: Span,
    key: &str,
    context: &str,
    suggestion: Option<String>,
    allowed: &[&str],
) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownKey,
        span,
        format!("unknown key `{key}` in {context}"),
    )
    .label("unknown key")
    .help(suggestion.unwrap_or_else(|| format!("{context} takes: {}", allowed.join(", "))))
}

pub fn after_in_on_failure(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownKey,
        span,
        "unknown key `after` in an [on_failure] step",
    )
    .label("not allowed here")
    .help("[on_failure] steps run one after another, in the order they are written")
}

pub fn allow_unguarded_without_meaning(span: Span, action: &str) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownKey,
        span,
        format!("`allow_unguarded` has no meaning on `{action}`"),
    )
    .label("not allowed here")
    .help(format!(
        "`allow_unguarded` only applies to actions that need a guard: {}",
        catalog::ACTIONS
            .iter()
            .filter(|a| !a.guards.is_empty())
            .map(|a| a.name)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

pub fn missing_version() -> Diagnostic {
    Diagnostic::new(Code::MissingKey, 0..0, "missing `version`")
        .label("the file starts here")
        .help("start the file with `version = 1`")
}

pub fn missing_name() -> Diagnostic {
    Diagnostic::new(Code::MissingKey, 0..0, "missing `name`")
        .label("the file starts here")
        .help("add `name = \"webapp-rollback\"`: it names the state machine")
}

pub fn input_without_type(span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::MissingKey,
        span,
        format!("input `{name}` has no `type`"),
    )
    .label("declared here")
    .help("add `type = \"string\"` (or bool, number, list)")
}

pub fn step_without_action(span: Span, id: &str) -> Diagnostic {
    Diagnostic::new(
        Code::MissingKey,
        span,
        format!("step `{id}` has no `action`"),
    )
    .label("this step")
    .help("add e.g. `action = \"notify\"`; `stepback schema` lists the actions")
}

pub fn trigger_without_alarms(span: Span) -> Diagnostic {
    Diagnostic::new(Code::MissingKey, span, "[trigger] names no alarms")
        .label("this trigger")
        .help("add `alarms = [\"<CloudWatch alarm name>\"]`, or remove [trigger]")
}

/// `what` must be `expected`; `found` is the TOML kind, e.g. "a string".
pub fn wrong_type(span: Span, what: &str, expected: &str, found: &str) -> Diagnostic {
    Diagnostic::new(
        Code::WrongType,
        span,
        format!("{what} must be {expected}, not {found}"),
    )
    .label(format!("expected {expected}"))
}

pub fn version_type(span: Span, found: &str) -> Diagnostic {
    wrong_type(span, "`version`", "an integer", found).help("write `version = 1`")
}

pub fn unsupported_version(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::UnsupportedVersion,
        span,
        "unsupported workflow version",
    )
    .label("only version 1 is known")
    .help("write `version = 1`; a newer stepback may read newer versions")
}

pub fn invalid_name(span: Span, name: &str, max_len: usize) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidName,
        span,
        format!("invalid workflow name `{name}`"),
    )
    .label("not a state machine name")
    .help(format!("use 1 to {max_len} letters, digits, `-` or `_`"))
}

/// `what` is e.g. "step id".
pub fn invalid_identifier(span: Span, what: &str, name: &str, max_len: usize) -> Diagnostic {
    let problem = if name.len() > max_len {
        format!("longer than {max_len} characters")
    } else {
        "not an identifier".into()
    };
    Diagnostic::new(
        Code::InvalidIdentifier,
        span,
        format!("invalid {what} `{name}`: {problem}"),
    )
    .label(format!("invalid {what}"))
    .help(format!(
        "use lowercase letters, digits and `_`, starting with a letter or `_`, at most {max_len} characters"
    ))
}

pub fn unknown_action(span: Span, name: &str, suggestion: Option<String>) -> Diagnostic {
    // Naming no action here keeps this help the same as the catalog grows.
    let help = suggestion.unwrap_or_else(|| "`stepback actions` lists every action".to_owned());
    Diagnostic::new(
        Code::UnknownAction,
        span,
        format!("unknown action `{name}`"),
    )
    .label("not in the catalog")
    .help(help)
}

pub fn unknown_param(
    span: Span,
    action: &ActionSpec,
    key: &str,
    suggestion: Option<String>,
) -> Diagnostic {
    let help = suggestion.unwrap_or_else(|| {
        let names: Vec<_> = action.params.iter().map(|p| p.name).collect();
        format!("`{}` takes: {}", action.name, names.join(", "))
    });
    Diagnostic::new(
        Code::UnknownParam,
        span,
        format!("`{}` has no param `{key}`", action.name),
    )
    .label("unknown param")
    .help(help)
}

pub fn missing_param(span: Span, action: &ActionSpec, param: &ParamSpec) -> Diagnostic {
    Diagnostic::new(
        Code::MissingParam,
        span,
        format!("`{}` needs param `{}`", action.name, param.name),
    )
    .label("in this step")
    .help(format!("add `{} = ...`: {}", param.name, param.doc))
}

/// `found` is a type phrase ("a string") or a TOML kind.
pub fn param_type(span: Span, key: &str, want: ValueType, found: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ParamType,
        span,
        format!("`{key}` expects {}, found {found}", want.phrase()),
    )
    .label(format!("expected {}", want.phrase()))
    .help(want.how_to_write())
}

pub fn duration_reference(span: Span, key: &str) -> Diagnostic {
    param_type(span, key, ValueType::Duration, "a reference")
        .help("a duration must be written out, e.g. \"2m\"")
}

/// A list or table reference inside a template string.
pub fn not_interpolable(span: Span, reference: &str, ty: ValueType, key: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ParamType,
        span,
        format!(
            "`{reference}` is {} and cannot be interpolated into `{key}`",
            ty.phrase()
        ),
    )
    .label("not a string, number or bool")
    .help("pass it alone, as the whole value: `\"${...}\"`")
}

pub fn unknown_input_type(span: Span, name: &str, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownInputType,
        span,
        format!("unknown input type `{name}`"),
    )
    .label("not an input type")
    .help(suggestion.unwrap_or_else(|| "input types are string, bool, number and list".into()))
}

/// An input's default is longer than its `max_length`, so the machine's input check would refuse it.
pub fn default_too_long(span: Span, input: &str, length: usize, max_length: usize) -> Diagnostic {
    Diagnostic::new(
        Code::OutOfRange,
        span,
        format!("the default of input `{input}` is {length} bytes long, over its `max_length` of {max_length}"),
    )
    .label(format!("at most {max_length} bytes"))
    .help("shorten the default, or raise `max_length`")
}

pub fn default_type(span: Span, input: &str, found: &str, ty: ValueType) -> Diagnostic {
    Diagnostic::new(
        Code::DefaultType,
        span,
        format!(
            "the default of input `{input}` is {found}, but its type is {}",
            ty.name()
        ),
    )
    .label(format!("expected a {}", ty.name()))
    .help("make the default match the type, or change the type")
}

pub fn invalid_duration(span: Span, text: &str, reason: &str) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidDuration,
        span,
        format!("invalid duration `{text}`: {reason}"),
    )
    .label("not a duration")
    .help("write durations like \"30s\", \"15m\", \"1h30m\"")
}

pub fn unknown_step(span: Span, name: &str, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownStep,
        span,
        format!("unknown step `{name}` in `after`"),
    )
    .label("no such step")
    .help(suggestion.unwrap_or_else(|| "`after` lists ids of [steps.<id>] tables".into()))
}

pub fn self_dependency(span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::SelfDependency,
        span,
        format!("step `{name}` is after itself"),
    )
    .label("self-reference")
    .help("remove it from `after`")
}

/// `names` in edge order, from the step `span` belongs to; `waits` are the other `after` lists of the cycle.
pub fn cycle(span: Span, names: &[&str], waits: Vec<(Span, String)>) -> Diagnostic {
    let first = names.first().copied().unwrap_or_default();
    let last = names.last().copied().unwrap_or_default();
    let mut diagnostic = Diagnostic::new(
        Code::Cycle,
        span,
        format!(
            "steps depend on each other in a cycle: {} → {first}",
            names.join(" → ")
        ),
    )
    .label(format!("`{first}` waits for `{last}`"));
    for (span, label) in waits {
        diagnostic = diagnostic.related(span, label);
    }
    diagnostic.help("remove one of these `after` entries")
}

/// A `${...}` that the template parser rejects.
pub fn reference_syntax(span: Span, message: &str) -> Diagnostic {
    Diagnostic::new(Code::ReferenceSyntax, span, message)
        .label("malformed")
        .help("write references as `${input.name}`, `${steps.id.output}`; `$${` writes a literal `${`")
}

/// `shape` is the form the reference should have, e.g. "`steps.<id>.<output>`".
pub fn malformed_reference(span: Span, path: &str, shape: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ReferenceSyntax,
        span,
        format!("malformed reference `{path}`"),
    )
    .label("wrong number of parts")
    .help(format!("write {shape}"))
}

pub fn empty_reference(span: Span) -> Diagnostic {
    Diagnostic::new(Code::ReferenceSyntax, span, "empty reference")
}

pub fn unknown_input(span: Span, name: &str, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownReference,
        span,
        format!("unknown input `{name}`"),
    )
    .label("not declared in [input]")
    .help(
        suggestion
            .unwrap_or_else(|| format!("declare it: [input] {name} = {{ type = \"string\" }}")),
    )
}

pub fn unknown_resource(span: Span, name: &str, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownReference,
        span,
        format!("unknown resource `{name}`"),
    )
    .label("not declared in [resources]")
    .help(suggestion.unwrap_or_else(|| format!("declare it: [resources] {name} = \"...\"")))
}

/// A field of `execution`, `failure` or `alarm` that does not exist.
pub fn unknown_field(
    span: Span,
    root: &str,
    field: &str,
    fields: &[&str],
    suggestion: Option<String>,
) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownReference,
        span,
        format!("unknown field `{root}.{field}`"),
    )
    .label(format!("not a field of `{root}`"))
    .help(suggestion.unwrap_or_else(|| format!("`{root}` has: {}", fields.join(", "))))
}

pub fn unknown_root(span: Span, path: &str, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownReference,
        span,
        format!("unknown reference `{path}`"),
    )
    .label("unknown root")
    .help(suggestion.unwrap_or_else(|| {
        "references start with input, resources, steps, execution, failure or alarm".into()
    }))
}

pub fn unknown_step_reference(span: Span, step: &str, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownReference,
        span,
        format!("unknown step `{step}`"),
    )
    .label("no such step")
    .help(suggestion.unwrap_or_else(|| "steps are declared as [steps.<id>]".into()))
}

/// A read of a step whose action did not resolve; that step's own error says why.
pub fn step_without_valid_action(span: Span, step: &str) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownReference,
        span,
        format!("step `{step}` has no valid action"),
    )
}

/// Step `reader` reads `steps.<step>.<output>` although `step` is not among its ancestors; `step` may even run
/// after it.
pub fn not_an_ancestor(
    span: Span,
    reader: &str,
    step: &str,
    output: &str,
    step_span: Span,
    step_runs_after_reader: bool,
) -> Diagnostic {
    Diagnostic::new(
        Code::NotAnAncestor,
        span,
        format!(
            "step `{reader}` reads `steps.{step}.{output}`, but `{step}` does not run before it"
        ),
    )
    .label("not produced yet")
    .related(step_span, format!("`{step}` is declared here"))
    .help(if reader == step {
        "a step cannot read its own output".to_owned()
    } else if step_runs_after_reader {
        // Adding the edge would close a cycle: `step` already waits for this one.
        format!(
            "`{step}` runs after `{reader}`, so the order is the other way round: read it in a step that \
             runs after `{step}`, or reorder the two so that `{reader}` runs after `{step}`"
        )
    } else {
        format!("add \"{step}\" to `after` of `{reader}`")
    })
}

pub fn unknown_output(
    span: Span,
    action: &ActionSpec,
    step: &str,
    output: &str,
    suggestion: Option<String>,
) -> Diagnostic {
    let help = suggestion.unwrap_or_else(|| {
        let outputs: Vec<_> = action.outputs.iter().map(|o| o.name).collect();
        if outputs.is_empty() {
            format!("`{}` has no outputs", action.name)
        } else {
            format!("`{}` outputs: {}", action.name, outputs.join(", "))
        }
    });
    Diagnostic::new(
        Code::UnknownOutput,
        span,
        format!("`{}` (step `{step}`) has no output `{output}`", action.name),
    )
    .label("unknown output")
    .help(help)
}

fn out_of_scope(span: Span, root: &str, allowed: &str, help: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ReferenceScope,
        span,
        format!("`{root}` cannot be read here"),
    )
    .label(format!("`{root}` is only known {allowed}"))
    .help(help)
}

pub fn silent_cooldown(span: Span, cooldown_secs: u64) -> Diagnostic {
    Diagnostic::new(
        Code::SilentCooldown,
        span,
        format!(
            "an alarm held back by the {} cooldown tells no one",
            crate::duration::format(cooldown_secs)
        ),
    )
    .label("this trigger has no `topic`")
    .help("add `topic = \"<SNS topic ARN>\"` to [trigger], or `cooldown = \"0s\"` to turn the cooldown off")
}

/// `alb.deregister`/`alb.register` beside an `ecs.deploy`.
pub fn targets_by_hand(
    span: Span,
    step: &str,
    action: &str,
    owner: &str,
    owner_action: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::TargetsByHand,
        span,
        format!(
            "step `{step}` moves targets by hand ({action}) while step `{owner}` deploys an ECS service ({owner_action})"
        ),
    )
    .label("if the service registers into this target group, ECS replaces these targets on deploying")
    .help("halt a service's traffic at its listener with `alb.halt` and `alb.resume` (`stepback explain W008`); alb.deregister and alb.register are for hosts a person registered")
}

/// `[trigger].topic` is read by the guard, before the alarm's fields or the inputs are in the state.
pub fn trigger_topic_reference(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::ReferenceScope,
        span,
        "[trigger].topic reads a value known only at run time",
    )
    .label("only `${resources.*}` can be read here")
    .help("write the topic's ARN, or put it in [resources] and read `${resources.<name>}`")
}

pub fn steps_out_of_scope(span: Span) -> Diagnostic {
    out_of_scope(
        span,
        "steps",
        "in [steps]",
        "any step may be the one that failed, so its outputs may not exist",
    )
}

pub fn failure_out_of_scope(span: Span) -> Diagnostic {
    out_of_scope(
        span,
        "failure",
        "in [on_failure] steps",
        "move this step to [on_failure.<id>] to report a failure",
    )
}

pub fn alarm_out_of_scope(span: Span) -> Diagnostic {
    out_of_scope(
        span,
        "alarm",
        "in [trigger].input",
        "fill an input from the alarm in [trigger].input, then read `${input.<name>}`",
    )
}

pub fn condition_scope(span: Span, root: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ReferenceScope,
        span,
        format!("`{root}` cannot be read in a condition"),
    )
    .label("not readable here")
    .help("a condition reads `input.<name>` and `steps.<id>.<output>`, without `${}`")
}

/// A `when` that does not parse (E023) or is ill-typed (E024).
pub fn condition(
    span: Span,
    message: String,
    is_type_error: bool,
    help: Option<String>,
) -> Diagnostic {
    let (code, label) = if is_type_error {
        (Code::ConditionType, "ill-typed")
    } else {
        (Code::ConditionSyntax, "here")
    };
    Diagnostic::new(code, span, message).label(label).help(
        help.unwrap_or_else(|| {
            "e.g. when = \"input.schema_changed && !input.restore_data\"".into()
        }),
    )
}

pub fn trigger_unknown_input(span: Span, name: &str, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::new(
        Code::TriggerUnknownInput,
        span,
        format!("[trigger].input fills unknown input `{name}`"),
    )
    .label("not declared in [input]")
    .help(
        suggestion
            .unwrap_or_else(|| format!("declare it: [input] {name} = {{ type = \"string\" }}")),
    )
}

pub fn trigger_missing_input(span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::TriggerMissingInput,
        span,
        format!("an alarm-started rollback has no value for required input `{name}`"),
    )
    .label("this trigger")
    .help(format!(
        "fill it in [trigger].input, e.g. {name} = \"${{alarm.name}}\", or give the input a default"
    ))
}

/// A duration outside `min` seconds to a year.
pub fn duration_out_of_range(span: Span, key: &str, secs: u64, min: u64) -> Diagnostic {
    Diagnostic::new(
        Code::OutOfRange,
        span,
        format!("`{key}` of {secs}s is out of range"),
    )
    .label(format!("must be from {min}s to 365d"))
    .help(if secs < min {
        format!("`{key}` must be at least {min}s")
    } else {
        "Step Functions executions last at most a year".to_owned()
    })
}

/// A number outside its range (a `retry` field, an input's `max_length`); `integral` when it must be whole.
pub fn number_out_of_range(
    span: Span,
    key: &str,
    n: f64,
    (min, max): (f64, f64),
    integral: bool,
    meaning: &str,
) -> Diagnostic {
    let kind = if integral {
        "a whole number"
    } else {
        "a number"
    };
    Diagnostic::new(
        Code::OutOfRange,
        span,
        format!("`{key}` = {n} is out of range"),
    )
    .label(format!("must be {kind} from {min} to {max}"))
    .help(format!("`{key}` is {meaning}"))
}

/// A string param whose literal is not among the catalog's allowed values for it.
pub fn not_allowed(
    span: Span,
    key: &str,
    literal: &str,
    allowed: &[&str],
    suggestion: Option<String>,
) -> Diagnostic {
    cannot_be(span, key, literal)
        .label(format!("must be one of {}", allowed.join(", ")))
        .help(suggestion.unwrap_or_else(|| format!("write one of {}", allowed.join(", "))))
}

/// A string param whose literal is not one the param takes.
fn cannot_be(span: Span, key: &str, literal: &str) -> Diagnostic {
    Diagnostic::new(
        Code::OutOfRange,
        span,
        format!("`{key}` cannot be \"{literal}\""),
    )
}

/// A statistic CloudWatch does not know.
pub fn not_a_statistic(
    span: Span,
    key: &str,
    literal: &str,
    suggestion: Option<String>,
) -> Diagnostic {
    cannot_be(span, key, literal)
        .label("not a CloudWatch statistic")
        .help(
            suggestion
                .unwrap_or_else(|| format!("write one of {}", catalog::metric::STATISTIC_FORMS)),
        )
}

/// A period CloudWatch does not aggregate over.
pub fn not_a_period(span: Span, key: &str, secs: u64) -> Diagnostic {
    let shorter = secs < 60;
    Diagnostic::new(
        Code::OutOfRange,
        span,
        format!("`{key}` of {} is not a CloudWatch period", human(secs)),
    )
    .label("must be 1s, 5s, 10s, 30s or a multiple of 1m")
    .help(if shorter {
        "a high-resolution metric takes 1s, 5s, 10s or 30s; any other takes whole minutes, e.g. \"1m\"".to_owned()
    } else {
        format!(
            "write a whole number of minutes, e.g. \"{}\"",
            human(secs.div_ceil(60) * 60)
        )
    })
}

/// A window shorter than the run of good periods the step needs.
pub fn window_too_short(
    span: Span,
    key: &str,
    secs: u64,
    (period_key, period): (&str, u64),
    (count_key, count): (&str, u64),
) -> Diagnostic {
    let needed = period.saturating_mul(count);
    Diagnostic::new(
        Code::WindowTooShort,
        span,
        format!(
            "`{key}` of {} cannot hold {count} periods of {}",
            human(secs),
            human(period)
        ),
    )
    .label(format!(
        "shorter than `{count_key}` × `{period_key}` = {}",
        human(needed)
    ))
    .help(format!(
        "make `{key}` at least {}, or leave it out (the default allows for late datapoints)",
        human(needed)
    ))
}

/// An empty literal, or an input defaulting to `""`, in a param that names a resource.
pub fn empty_name(span: Span, key: &str, input: Option<&str>) -> Diagnostic {
    match input {
        None => Diagnostic::new(Code::EmptyName, span, format!("`{key}` is empty"))
            .label("names no resource")
            .help(format!("write the identifier of what `{key}` names, or leave `{key}` out where it is optional")),
        Some(input) => Diagnostic::new(
            Code::EmptyName,
            span,
            format!("`{key}` reads input `{input}`, which defaults to empty"),
        )
        .label(format!("empty unless the execution gives `{input}`"))
        .help(format!(
            "make `{input}` required (remove its default), or give it a default that names a resource"
        )),
    }
}

/// A number param outside the catalog's range for it, or not finite.
pub fn param_out_of_range(span: Span, key: &str, range: Option<(f64, f64)>) -> Diagnostic {
    let allowed = range.map_or("a finite number".to_owned(), |(min, max)| {
        format!("from {min} to {max}")
    });
    Diagnostic::new(Code::OutOfRange, span, format!("`{key}` is out of range"))
        .label(format!("must be {allowed}"))
        .help(format!("give `{key}` a value {allowed}").replace("value a", "value that is a"))
}

/// `found` of the params in `group` are given, where exactly one must be; `span` is the second one given,
/// or the step when none is.
pub fn exclusive_params(span: Span, action: &str, group: &[&str], found: usize) -> Diagnostic {
    let names = group
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    Diagnostic::new(
        Code::ExclusiveParams,
        span,
        format!("`{action}` takes exactly one of {names}, found {found}"),
    )
    .label(if found == 0 {
        "in this step"
    } else {
        "second one here"
    })
    .help(format!("give exactly one of {names}"))
}

pub fn no_steps(span: Span) -> Diagnostic {
    Diagnostic::new(Code::NoSteps, span, "the workflow has no steps")
        .label("no [steps.<id>] tables")
        .help("add a step, e.g. [steps.announce] with action = \"notify\"")
}

pub fn duplicate_step(span: Span, id: &str, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateStep,
        span,
        format!("step id `{id}` is used twice"),
    )
    .label("also an [on_failure] step")
    .related(first, "first used here")
    .help("state names come from step ids, so they must be unique across [steps] and [on_failure]")
}

/// `step` needs the most events: its polling loop and retries in the worst case.
pub fn history_budget(
    span: Span,
    step: &str,
    step_events: u64,
    total: u64,
    limit: u64,
    fits: &[String],
) -> Diagnostic {
    let help = if fits.is_empty() {
        format!(
            "give `{step}` a shorter `timeout` (its polling loop runs until then) or fewer `retry` attempts, or split the workflow"
        )
    } else {
        format!(
            "with {} on `{step}` the workflow fits; or give it fewer `retry` attempts, or split the workflow",
            fits.join(" or ")
        )
    };
    Diagnostic::new(
        Code::HistoryBudget,
        span,
        format!(
            "the workflow may need {total} history events, over the Step Functions limit of {limit}"
        ),
    )
    .label(format!("`{step}` alone may need {step_events}"))
    .help(help)
}

/// The state data's bound is over the limit: the label at the step whose kept outputs weigh most (`outputs`:
/// what it keeps, who reads it), the related spans at the references that keep them, and `heaviest`, the
/// bound's three largest parts, each described with its bytes.
pub fn state_size(
    span: Span,
    outputs: &str,
    reads: Vec<Span>,
    bytes: usize,
    limit: usize,
    heaviest: &[String],
) -> Diagnostic {
    let mut diagnostic = Diagnostic::new(
        Code::StateSize,
        span,
        format!(
            "the state data may reach {bytes} bytes, over the Step Functions limit of {limit} bytes per state"
        ),
    )
    .label(outputs.to_owned());
    for read in reads {
        diagnostic = diagnostic.related(read, "this read keeps them in the state");
    }
    diagnostic.help(format!(
        "the heaviest parts: {}; an output that no step reads stays in the history only, so read fewer of \
         these outputs (or read them in fewer steps after a `Parallel`), or lower the inputs' `max_length`",
        heaviest.join("; ")
    ))
}

/// `step`'s states take the most bytes of the definition, about `step_bytes`.
pub fn definition_size(
    span: Span,
    step: &str,
    step_bytes: usize,
    bytes: usize,
    limit: usize,
) -> Diagnostic {
    Diagnostic::new(
        Code::DefinitionSize,
        span,
        format!("the definition is {bytes} bytes, over the Step Functions limit of {limit} bytes"),
    )
    .label(format!("the largest step, about {step_bytes} bytes"))
    .help(format!(
        "split the workflow, or shorten what `{step}` carries: its description and params"
    ))
}

/// Guard `guard` of the destructive step `step` has `continue_on_error` (at `span`), so `step` runs even when
/// `guard` fails.
pub fn ignored_guard_failure(
    span: Span,
    (guard, guard_action): (&str, &str),
    (step, action): (&str, &str),
    step_span: Span,
) -> Diagnostic {
    Diagnostic::new(
        Code::IgnoredGuardFailure,
        span,
        format!("`{guard}` ({guard_action}) guards `{step}` ({action}), but its failure is ignored"),
    )
    .label("the rollback goes on when this step fails")
    .related(step_span, format!("`{step}` runs even when `{guard}` fails"))
    .help(format!(
        "remove `continue_on_error` from `{guard}`, or set `allow_unguarded = true` on `{step}` if you accept the risk"
    ))
}

pub fn destructive_on_failure(span: Span, step: &str, action: &str) -> Diagnostic {
    Diagnostic::new(
        Code::DestructiveOnFailure,
        span,
        format!("`{step}` ({action}) is destructive and cannot run in [on_failure]"),
    )
    .label("no snapshot or approval can stop it here")
    .help(
        "[on_failure] steps go on past any failure, so move it into [steps] after its guards, behind a `when` on \
         an input",
    )
}

/// Steps `first` and `second` (in the DAG's order) change `what` with no `after` between them; `maybe` when a
/// reference on one side makes it uncertain (W006). `span` is `second`'s param naming the resource, `first_span`
/// `first`'s.
pub fn concurrent_change(
    span: Span,
    first: &str,
    second: &str,
    what: &str,
    first_span: Span,
    maybe: bool,
) -> Diagnostic {
    let (code, may) = if maybe {
        (Code::MaybeConcurrentChange, "may ")
    } else {
        (Code::ConcurrentChange, "")
    };
    Diagnostic::new(
        code,
        span,
        format!("`{first}` and `{second}` {may}change {what} at the same time"),
    )
    .label(format!("changed by `{second}`"))
    .related(
        first_span,
        format!("changed by `{first}`, with no `after` between them"),
    )
    .help(format!(
        "add \"{first}\" to `after` of `{second}`, so that they run one after the other"
    ))
}

/// `key` of `step`, which a shell runs, is exactly the reference `reference`.
pub fn shell_from_reference(span: Span, step: &str, key: &str, reference: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ShellFromReference,
        span,
        format!("`{key}` of `{step}` comes whole from `{reference}`, which a shell would run as code"),
    )
    .label("code from the execution")
    .help(format!(
        "write `{key}` out, with `${{...}}` only inside its items: a value there reaches the shell as data"
    ))
}

pub fn unused_input(span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::UnusedInput,
        span,
        format!("input `{name}` is never used"),
    )
    .label("declared here")
    .help(format!("reference it as `${{input.{name}}}`, or remove it"))
}

/// `origin` says where the timeout comes from: "the step's own", "from [defaults]" or "the action's default".
pub fn timeout_below_estimate(
    span: Span,
    step: &str,
    timeout_secs: u64,
    origin: &str,
    estimate_secs: u64,
) -> Diagnostic {
    Diagnostic::new(
        Code::TimeoutBelowEstimate,
        span,
        format!(
            "step `{step}` may time out: its timeout {} ({origin}) is shorter than its estimate {}",
            human(timeout_secs),
            human(estimate_secs),
        ),
    )
    .label("timeout of this step")
    .help(if origin == "the step's own" {
        "raise `timeout` above the estimate, or correct `estimate`"
    } else {
        "give the step its own `timeout`, longer than its estimate"
    })
}

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
