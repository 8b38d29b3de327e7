//! What `stepback explain CODE` prints for each code: why the rule exists, a workflow that breaks it, the fix.

use super::{Code, Explanation};

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
