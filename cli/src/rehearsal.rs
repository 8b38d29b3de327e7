//! `stepback rehearse` without the printing: a rollback run whole on this machine, with no AWS account. The
//! emulator (moto) runs the compiled state machine; its Lambda invocations reach the real handlers in process
//! (`rehearsal_front::serve`, whose port moto's interpreter is told through `MOTO_PORT`); the world they act on is made
//! from the workflow (`world`); the stack is deployed with `stepback deploy`'s code, the execution started with
//! `stepback start`'s and the approvals answered with `stepback approve`'s. Progress goes to a callback as data.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json, json};
use workflow::Workflow;

use crate::approval::{self, AnswerError, Decision};
use crate::aws::{self, AwsError, Session};
use crate::execution;
use crate::stack::{self, DeployError, Deployment, Outcome as Deployed};
use crate::world::{self, StateLine, World};
use audit::StepEvent;

mod readiness;
mod readiness_alarm;
use readiness::ReadinessRig;
pub use readiness::ReadinessRun;
pub use readiness_alarm::AlarmState;

/// The default `--speed`: the seed's 31 simulated minutes in a few seconds.
pub const DEFAULT_SPEED: u64 = 300;
/// The region of the rehearsal's world.
pub const REGION: &str = "us-east-1";
/// How often the execution's history is read: moto answers in milliseconds, and every approval, step and the end
/// are seen up to this late.
const POLL: Duration = Duration::from_millis(100);
/// What a rehearsal gives up after, whatever the workflow's timeouts say.
const LONGEST: Duration = Duration::from_secs(600);
/// The zip the stack's functions are made from: empty, since the handlers run in process.
const NO_CODE: &[u8] = &[
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];
const CREATE_MACHINE: aws::Call = aws::Call::new("Step Functions", "states:CreateStateMachine");
const DESCRIBE_EXECUTION: aws::Call = aws::Call::new("Step Functions", "states:DescribeExecution");
/// The ECS task role the stack's ECS functions may pass, in the emulator's account.
const TASK_ROLE: &str = "arn:aws:iam::123456789012:role/rehearsal-task";

#[derive(Debug, thiserror::Error)]
pub enum RehearseError {
    #[error(transparent)]
    Emulator(#[from] emulator::Error),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Deploy(#[from] DeployError),
    #[error("the rehearsal's stack was not deployed: {0}")]
    NotDeployed(String),
    #[error("{0}")]
    Compile(String),
    #[error("`--endpoint {0}` is not an http://HOST:PORT address")]
    Endpoint(String),
    #[error("cannot serve the Lambda functions on loopback: {0}")]
    Serve(std::io::Error),
    #[error("the emulator refused its configuration: {0}")]
    Configure(String),
    #[error(
        "approval `{0}` is waiting and nothing answers it: pass --approve {0}, --approve all or --reject {0}"
    )]
    Unanswered(String),
    #[error(transparent)]
    Answer(#[from] AnswerError),
    #[error("the execution is still running after {} s", LONGEST.as_secs())]
    TooLong,
    #[error("the execution's history cannot be audited: {0}")]
    Audit(String),
    #[error("the workflow's [readiness] is off: there is no readiness run")]
    NoReadiness,
    #[error("the workflow has no step `{0}`")]
    NoStep(String),
    #[error("{0}")]
    Readiness(String),
    /// EventBridge: "DISABLED: The rule is disabled. EventBridge does not match any events against the rule"
    /// (API reference, `Rule.State`). moto matches them all the same, so the rehearsal refuses the start.
    #[error(
        "the alarm's event matches no rule: [trigger]'s EventBridge rule `{0}` is disabled, and EventBridge matches no event against a disabled rule; a readiness run or `stepback preflight` that finds every step ready arms it"
    )]
    Disarmed(String),
}

/// What to rehearse, and how.
pub struct Plan {
    pub workflow: Workflow,
    /// The workflow's TOML, which the template keeps.
    pub source: String,
    /// The execution input, as `stepback start` builds it.
    pub input: Json,
    /// Every wait, timeout and retry interval is divided by this.
    pub speed: u64,
    /// An emulator already running; without it, one is started and stopped.
    pub endpoint: Option<String>,
    /// Steps whose AWS calls fail, with the error the handler then reports.
    pub fail: Vec<(String, catalog::ErrorName)>,
    /// Steps whose long operation is held in progress this long (simulated time, divided by `speed`); each one
    /// [`slowable`].
    pub slow: Vec<(String, Duration)>,
    /// Faults injected into a fraction of the handlers' AWS calls.
    pub chaos: Option<rehearsal_front::faults::Chaos>,
    /// Check steps whose world holds what they look for ([`world::breach`]), so that they fail.
    pub breach: Vec<String>,
    /// The loopback port the Lambda Invoke API is served on: with `endpoint`, the `MOTO_PORT` that emulator was
    /// started with, which its interpreter invokes. Without it, a free port.
    pub lambda_port: Option<u16>,
}

/// What happened, as it happens.
#[derive(Clone, Debug)]
pub enum Event {
    /// The emulator answers; `started` when this rehearsal started it.
    Emulator {
        endpoint: String,
        started: bool,
        took: Duration,
    },
    /// One resource of the world was made.
    Made(String),
    Deployed {
        stack: String,
        took: Duration,
    },
    Started {
        execution: String,
    },
    Step {
        step: String,
        event: StepEvent,
        /// After the execution started, by its history's timestamps.
        elapsed: Duration,
    },
    Answered {
        step: String,
        decision: Decision,
    },
}

/// How the execution ended.
pub struct Outcome {
    pub execution: String,
    pub succeeded: bool,
    pub took: Duration,
    /// The audit of its history, as `stepback audit` makes it.
    pub report: audit::Report,
    /// Why the guard ended it before any step (another execution running, the trigger's cooldown).
    pub held_back: Option<catalog::HeldBack>,
}

/// A prepared rehearsal: the emulator (stopped on drop), the world, the stack and the functions serving.
pub struct Rehearsal {
    /// Kept for its drop, which stops the emulator this rehearsal started.
    _moto: Option<emulator::Moto>,
    /// The workflow, with the world's names.
    workflow: Workflow,
    /// With `[readiness]`: its machine, and the queue subscribed to its topic.
    readiness: Option<ReadinessRig>,
    /// The functions served, stopped on drop.
    served: rehearsal_front::serve::Served,
    /// The rehearsal's AWS session, against the emulator.
    pub session: Session,
    world: World,
    machine: String,
    input: Json,
    /// Executions started so far, which names the next one.
    started: std::sync::atomic::AtomicU32,
}

impl Rehearsal {
    /// Starts the emulator (or reaches `plan.endpoint`), makes the world, deploys the stack and serves its
    /// functions.
    pub async fn prepare(
        mut plan: Plan,
        mut progress: impl FnMut(Event),
    ) -> Result<Rehearsal, RehearseError> {
        let began = Instant::now();
        let Front {
            moto,
            upstream,
            session,
            served,
        } = Front::start(plan.endpoint.as_deref(), plan.lambda_port, plan.speed).await?;
        progress(Event::Emulator {
            endpoint: format!("http://{upstream}"),
            started: moto.is_some(),
            took: began.elapsed(),
        });
        warm_up(&session).await?;

        let input_map: Map<String, Json> = plan.input.as_object().cloned().unwrap_or_default();
        let world = world::seed(&session, &mut plan.workflow, &input_map).await?;
        let mut world = world;
        world.rename_in(&mut plan.input);
        for id in &plan.breach {
            if let Some(step) = step_of(&plan.workflow, id) {
                world::breach(&session, &mut world, step, &input_map).await?;
            }
        }
        // The readiness topic is the workflow's, as the world named it.
        if let Some(topic) = plan
            .workflow
            .readiness
            .as_mut()
            .and_then(|r| r.topic.as_mut())
            && let Some(named) = world.renames().get(topic.as_str())
        {
            *topic = named.clone();
        }
        for made in &world.created {
            progress(Event::Made(made.clone()));
        }

        let deploying = Instant::now();
        let options = compiler::Options {
            speed: plan.speed,
            ..compiler::Options::default()
        };
        let compiled = compile(&plan.workflow, &options)?;
        // The TOML the stack keeps, which `stepback readiness --stack` reads back, names the world's resources.
        let source = world.renamed(&plan.source);
        let template = compiler::template::template(&plan.workflow, &compiled, &source);
        let stack_name = plan.workflow.name.clone();
        let task_roles = [TASK_ROLE.to_owned()];
        let deployment = Deployment {
            stack: &stack_name,
            template: &template,
            zip: NO_CODE,
            bucket: None,
            task_roles: &task_roles,
        };
        match stack::deploy(&session, &deployment, |_| {}, |_| true).await? {
            Deployed::Deployed { .. } => {}
            other => return Err(RehearseError::NotDeployed(format!("{other:?}"))),
        }
        let account = aws::caller(&session).await?.account;
        let mut substitutions = std::collections::BTreeMap::new();
        let roles = crate::readiness::resources(&session, &stack_name, "AWS::IAM::Role").await?;
        let role = roles
            .get("StateMachineRole")
            .map(|physical| format!("arn:aws:iam::{account}:role/{physical}"))
            .unwrap_or_default();
        let functions =
            crate::readiness::resources(&session, &stack_name, "AWS::Lambda::Function").await?;
        for (logical, physical) in functions {
            let action = catalog::ACTIONS
                .iter()
                .find(|a| compiler::template::function_id(a) == logical);
            if let Some(action) = action {
                substitutions.insert(
                    action.arn_substitution(),
                    format!("arn:aws:lambda:{REGION}:{account}:function:{physical}"),
                );
                if let Ok(function) = lambdas::Function::new(action) {
                    // A function acting inside a cluster runs as its role, which the cluster authorizes by the
                    // stack's access entry; the others keep the rehearsal's credentials, since moto checks no
                    // IAM policy.
                    let role = roles.get(&format!("{logical}Role"));
                    if let Some(role) =
                        role.filter(|_| catalog::kubernetes::cluster_access(action.name).is_some())
                    {
                        served.run_as(
                            physical.clone(),
                            format!("arn:aws:iam::{account}:role/{role}"),
                        );
                    }
                    served.add(physical, function);
                }
            }
        }
        world::access_entries(&template, &roles, &account, &served)
            .map_err(RehearseError::NotDeployed)?;
        // A step fails at the AWS layer, its handler getting the AWS error; one that calls no AWS API
        // (`check.http`) reports the error from its Lambda without running.
        let mut failing = std::collections::BTreeMap::new();
        for (step, error) in plan.fail {
            if calls_aws(&plan.workflow, &step) {
                failing.insert(step, error);
            } else {
                let message = format!("injected by `stepback rehearse --fail {step}`");
                served.fail(&step, error.as_str(), &message);
            }
        }
        let slow = plan
            .slow
            .iter()
            .filter_map(|(step, simulated)| {
                let held = rehearsal_front::faults::held(action_of(&plan.workflow, step)?)?;
                let slow = rehearsal_front::faults::Slow {
                    held,
                    real: real(*simulated, plan.speed),
                };
                Some((step.clone(), slow))
            })
            .collect();
        served.inject(rehearsal_front::faults::Faults::new(
            plan.chaos, failing, slow,
        ));
        // A rollout inside a cluster is the Kubernetes API's, not an AWS answer: its API server holds it.
        for (id, simulated) in &plan.slow {
            if let Some(step) = step_of(&plan.workflow, id)
                && let Some(access) = catalog::kubernetes::cluster_access(step.action.name)
            {
                let params = crate::readiness::known_params(step, &input_map);
                let text = |name: &str| params.get(name).and_then(Json::as_str).unwrap_or_default();
                if let Some(cluster) = served.cluster(text(access.cluster)) {
                    cluster.hold(
                        text(access.namespace),
                        text(access.deployment),
                        real(*simulated, plan.speed),
                    );
                }
            }
        }
        // moto's CloudFormation keeps its state machines where its interpreter does not look: the same
        // definition, with the stack's function ARNs, is created through the API.
        let options = compiler::Options {
            substitutions,
            ..options
        };
        let compiled = compile(&plan.workflow, &options)?;
        let machine = aws_sdk_sfn::Client::new(&session.config)
            .create_state_machine()
            .name(&stack_name)
            .definition(&compiled.json)
            .role_arn(role)
            .send()
            .await
            .map_err(|e| aws::explain(&e, CREATE_MACHINE))?
            .state_machine_arn()
            .to_owned();
        let readiness = match &plan.workflow.readiness {
            Some(_) => Some(
                ReadinessRig::create(
                    &session,
                    &plan.workflow,
                    &options.substitutions,
                    &machine,
                    &roles,
                    &account,
                    &template["Resources"]["ReadinessAlarm"]["Properties"],
                )
                .await?,
            ),
            None => None,
        };
        progress(Event::Deployed {
            stack: stack_name,
            took: deploying.elapsed(),
        });
        Ok(Rehearsal {
            _moto: moto,
            workflow: plan.workflow,
            readiness,
            served,
            session,
            world,
            machine,
            input: plan.input,
            started: std::sync::atomic::AtomicU32::new(0),
        })
    }

    /// Starts the execution with the plan's input and follows it to its end, answering each approval with
    /// `decide` (`None`: nothing answers it, which ends the rehearsal), then audits its history.
    pub async fn run(
        &self,
        decide: impl FnMut(&str) -> Option<Decision>,
        progress: impl FnMut(Event),
    ) -> Result<Outcome, RehearseError> {
        self.run_from(&self.input, decide, progress).await
    }

    /// As [`Rehearsal::run`], started by `alarm`'s event ([`alarm_event`]) as the trigger's rule passes it on:
    /// refused while the rule is disabled, as EventBridge matches no event against it.
    pub async fn run_alarm_event(
        &self,
        alarm: &str,
        decide: impl FnMut(&str) -> Option<Decision>,
        progress: impl FnMut(Event),
    ) -> Result<Outcome, RehearseError> {
        if let Some(trigger) = crate::readiness::trigger(&self.session, &self.workflow.name).await?
            && !trigger.armed
        {
            return Err(RehearseError::Disarmed(trigger.rule));
        }
        let account = aws::caller(&self.session).await?.account;
        self.run_from(&alarm_event(alarm, &account), decide, progress)
            .await
    }

    /// Arms the trigger as a deployed stack's is armed: by a readiness run (shown), or, with `[readiness]`
    /// off, by preflight's checks with the plan's input when every step can run (`None`). Whether it is armed.
    pub async fn arm_trigger(&self) -> Result<(Option<ReadinessRun>, bool), RehearseError> {
        if self.readiness.is_some() {
            let run = self.check_readiness().await?;
            let armed = crate::readiness::trigger(&self.session, &self.workflow.name)
                .await?
                .is_some_and(|t| t.armed);
            return Ok((Some(run), armed));
        }
        let input = self.input.as_object().cloned().unwrap_or_default();
        let stack = &self.workflow.name;
        let steps =
            crate::readiness::preflight(&self.session, &self.workflow, &input, stack).await?;
        let Some(trigger) = crate::readiness::trigger(&self.session, stack).await? else {
            return Ok((None, false));
        };
        if steps.iter().all(crate::readiness::StepCheck::passes) {
            crate::readiness::arm(&self.session, &trigger).await?;
            return Ok((None, true));
        }
        Ok((None, trigger.armed))
    }

    /// As [`Rehearsal::run`], started with `input`: an alarm's event ([`alarm_event`]), as the trigger's rule
    /// passes it on.
    pub async fn run_from(
        &self,
        input: &Json,
        mut decide: impl FnMut(&str) -> Option<Decision>,
        mut progress: impl FnMut(Event),
    ) -> Result<Outcome, RehearseError> {
        let began = Instant::now();
        let n = self
            .started
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let who = if n == 0 {
            "rehearsal".to_owned()
        } else {
            format!("rehearsal-{}", n + 1)
        };
        let name = execution::default_name(&who, std::time::SystemTime::now());
        let arn = execution::start(&self.session, &self.machine, &name, input).await?;
        progress(Event::Started {
            execution: arn.clone(),
        });
        let manifest = execution::manifest(&self.session, &arn).await?;
        let sfn = aws_sdk_sfn::Client::new(&self.session.config);
        let caller = aws::caller(&self.session).await?;
        let mut shown = 0;
        let mut answered = std::collections::BTreeSet::new();
        let mut followed = execution::Followed::default();
        let (succeeded, held_back) = loop {
            followed.update(&self.session, &arn).await?;
            let events = followed.events();
            if let Some(manifest) = &manifest {
                let steps = followed.step_events(manifest);
                for (step, event, at) in steps.iter().skip(shown) {
                    progress(Event::Step {
                        step: step.clone(),
                        event: event.clone(),
                        elapsed: *at,
                    });
                }
                shown = steps.len();
            }
            let end = execution::ended(events);
            if let Some(succeeded) = end {
                let output = events
                    .iter()
                    .rev()
                    .find_map(|e| e.execution_succeeded_event_details())
                    .and_then(|d| d.output());
                break (succeeded, output.and_then(execution::held_back));
            }
            for waiting in execution::waiting_approvals(events) {
                if !answered.insert(waiting.token.clone()) {
                    continue;
                }
                let decision = decide(&waiting.step)
                    .ok_or_else(|| RehearseError::Unanswered(waiting.step.clone()))?;
                let comment = "answered by stepback rehearse";
                approval::answer(&sfn, &waiting.token, decision, &caller.arn, comment).await?;
                progress(Event::Answered {
                    step: waiting.step,
                    decision,
                });
            }
            if began.elapsed() > LONGEST {
                return Err(RehearseError::TooLong);
            }
            tokio::time::sleep(POLL).await;
        };
        let took = began.elapsed();
        let bundle = crate::history::fetch(&sfn, &arn)
            .await
            .map_err(|e| RehearseError::Audit(e.to_string()))?;
        let history =
            audit::History::from_bundle(bundle).map_err(|e| RehearseError::Audit(e.to_string()))?;
        let report = audit::audit(&history).map_err(|e| RehearseError::Audit(e.to_string()))?;
        Ok(Outcome {
            execution: arn,
            succeeded,
            took,
            report,
            held_back,
        })
    }

    /// Runs the readiness machine once, as its schedule would, and reads what it recorded and the notices
    /// its topic received. An error for a workflow whose `[readiness]` is off.
    pub async fn check_readiness(&self) -> Result<ReadinessRun, RehearseError> {
        let rig = self.readiness.as_ref().ok_or(RehearseError::NoReadiness)?;
        rig.run(&self.session).await
    }

    /// Takes what `step` needs out of the world (`--drift`), with the plan's input.
    pub async fn drift(&self, step: &str) -> Result<crate::drift::Drift, RehearseError> {
        let step = self
            .workflow
            .steps
            .iter()
            .chain(&self.workflow.on_failure)
            .find(|s| s.id == step)
            .ok_or_else(|| RehearseError::NoStep(step.to_owned()))?;
        let input = self.input.as_object().cloned().unwrap_or_default();
        Ok(crate::drift::drift(&self.session, step, &input).await?)
    }

    /// Puts back what [`Rehearsal::drift`] took.
    pub async fn mend(&self, drift: &crate::drift::Drift) -> Result<(), RehearseError> {
        Ok(crate::drift::mend(&self.session, drift).await?)
    }

    /// The execution input the plan gave.
    pub fn input(&self) -> &Json {
        &self.input
    }

    /// The handlers' AWS calls so far, and the faults `--chaos` and `--fail` injected into them.
    pub fn faults(&self) -> rehearsal_front::faults::Counts {
        self.served.counts()
    }

    /// Every AWS request the handlers sent so far, for the model check of the tests.
    pub fn sent(&self) -> Vec<rehearsal_front::sent::Sent> {
        self.served.sent()
    }

    /// The address of the emulator's front (`AWS_ENDPOINT_URL` for a process that talks to this rehearsal's
    /// world, its functions served).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.served.addr)
    }

    /// The world's state that matters, read from the emulator now.
    pub async fn world_state(&self) -> Vec<StateLine> {
        self.world.state(&self.session).await
    }

    /// The workflow's names that the emulator chose otherwise, and what they became.
    pub fn renames(&self) -> &std::collections::BTreeMap<String, String> {
        self.world.renames()
    }
}

/// The emulator with the Lambda Invoke API in front of it: moto (started, or reached at `endpoint`) behind
/// `rehearsal_front::serve`, which answers invocations with the real handlers and passes every other request on. The
/// session's endpoint is the front, so that the handlers' calls and the caller's go through the same bridge.
pub struct Front {
    /// Kept for its drop, which stops the emulator when it was started here.
    pub moto: Option<emulator::Moto>,
    /// The emulator's address.
    pub upstream: SocketAddr,
    pub session: Session,
    /// The functions answered in process; none until added.
    pub served: rehearsal_front::serve::Served,
}

impl Front {
    /// `lambda_port`: the loopback port to serve on (with `endpoint`, the `MOTO_PORT` that emulator was started
    /// with), else a free one. `speed` divides the SDK's backoff between attempts (1 s at first), a wait too.
    pub async fn start(
        endpoint: Option<&str>,
        lambda_port: Option<u16>,
        speed: u64,
    ) -> Result<Front, RehearseError> {
        // The world is made afresh: what an earlier rehearsal made would collide with it.
        let reached = match endpoint {
            Some(endpoint) => {
                let upstream = address(endpoint)?;
                moto_api(upstream, "reset", "").await?;
                Some(upstream)
            }
            None => None,
        };
        let listener = match lambda_port {
            Some(port) => std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)),
            None => rehearsal_front::serve::bind(),
        }
        .map_err(RehearseError::Serve)?;
        let port = listener.local_addr().map_err(RehearseError::Serve)?.port();
        let (moto, upstream) = match reached {
            Some(upstream) => (None, upstream),
            None => {
                let tasks = world::SERVICE_TASKS.to_string();
                // The interpreter invokes Lambda at localhost:$MOTO_PORT: this process's server.
                let moto = emulator::Moto::start(&[
                    ("MOTO_PORT", &port.to_string()),
                    ("MOTO_ECS_SERVICE_RUNNING", &tasks),
                ])?;
                let addr = moto.addr();
                (Some(moto), addr)
            }
        };
        configure(upstream).await?;
        let front = format!("http://127.0.0.1:{port}");
        let config =
            aws::Session::emulated(&front, REGION, real(Duration::from_secs(1), speed)).await;
        let served =
            rehearsal_front::serve::spawn(listener, Default::default(), &config, Some(upstream))
                .map_err(RehearseError::Serve)?;
        Ok(Front {
            moto,
            upstream,
            session: Session { config },
            served,
        })
    }
}

impl Drop for Rehearsal {
    fn drop(&mut self) {
        self.served.stop();
    }
}

/// The event that EventBridge delivers when CloudWatch alarm `alarm` goes into ALARM, as the trigger's rule passes
/// it to the state machine (the CloudWatch user guide's "Alarm events and EventBridge").
pub fn alarm_event(alarm: &str, account: &str) -> Json {
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    json!({
        "version": "0",
        "id": format!("stepback-rehearsal-{alarm}"),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account,
        "time": now,
        "region": REGION,
        "resources": [format!("arn:aws:cloudwatch:{REGION}:{account}:alarm:{alarm}")],
        "detail": {
            "alarmName": alarm,
            "state": {
                "value": "ALARM",
                "reason": format!("Threshold Crossed: set by stepback rehearse --alarm-event {alarm}"),
                "timestamp": now,
            },
            "previousState": { "value": "OK", "reason": "", "timestamp": now },
            "configuration": { "description": "", "metrics": [] },
        },
    })
}

/// Whether `step`'s action calls an AWS API, so that `--fail` can fail it at the AWS layer: it has IAM grants.
pub fn calls_aws(workflow: &Workflow, step: &str) -> bool {
    workflow
        .steps
        .iter()
        .chain(&workflow.on_failure)
        .any(|s| s.id == step && !s.action.grants.is_empty())
}

/// The real time that `simulated` takes at `speed`.
pub fn real(simulated: Duration, speed: u64) -> Duration {
    simulated / u32::try_from(speed).unwrap_or(u32::MAX)
}

/// Whether `--slow` can hold `step` in progress: its action's poll reads a status that `--slow` rewrites
/// ([`catalog::ActionSpec::polled`]), or a rollout inside a cluster, which the cluster's API server holds.
pub fn slowable(workflow: &Workflow, step: &str) -> bool {
    action_of(workflow, step).is_some_and(|action| {
        rehearsal_front::faults::held(action).is_some()
            || catalog::kubernetes::cluster_access(action).is_some()
    })
}

/// The catalog name of `step`'s action.
fn action_of(workflow: &Workflow, step: &str) -> Option<&'static str> {
    step_of(workflow, step).map(|s| s.action.name)
}

/// Step `id` of `workflow`, among its `[steps]` and `[on_failure]`.
fn step_of<'w>(workflow: &'w Workflow, id: &str) -> Option<&'w workflow::model::Step> {
    workflow
        .steps
        .iter()
        .chain(&workflow.on_failure)
        .find(|s| s.id == id)
}

/// Runs a one-state machine: moto loads its Step Functions interpreter on the first execution (seconds), which
/// then happens while the world is made and the stack deployed.
async fn warm_up(session: &Session) -> Result<(), AwsError> {
    let sfn = aws_sdk_sfn::Client::new(&session.config);
    let definition =
        json!({ "StartAt": "Warm up", "States": { "Warm up": { "Type": "Pass", "End": true } } });
    let machine = sfn
        .create_state_machine()
        .name("stepback-rehearsal-warm-up")
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/rehearsal")
        .send()
        .await
        .map_err(|e| aws::explain(&e, CREATE_MACHINE))?;
    // A name of its own: moto names an unnamed execution `None`, so a second one in the same emulator would exist
    // already.
    sfn.start_execution()
        .state_machine_arn(machine.state_machine_arn())
        .name(execution::default_name(
            "warm-up",
            std::time::SystemTime::now(),
        ))
        .send()
        .await
        .map_err(|e| {
            aws::explain(
                &e,
                aws::Call::new("Step Functions", "states:StartExecution"),
            )
        })?;
    Ok(())
}

/// The workflow compiled, its errors in one line.
fn compile(
    workflow: &Workflow,
    options: &compiler::Options,
) -> Result<compiler::Compiled, RehearseError> {
    compiler::compile(workflow, options).map_err(|errors| {
        RehearseError::Compile(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

/// `http://HOST:PORT` → its socket address.
fn address(endpoint: &str) -> Result<SocketAddr, RehearseError> {
    endpoint
        .strip_prefix("http://")
        .map(|rest| rest.trim_end_matches('/'))
        .and_then(|host| host.to_socket_addrs().ok()?.next())
        .ok_or_else(|| RehearseError::Endpoint(endpoint.to_owned()))
}

/// Switches on moto's Step Functions interpreter, which runs only when asked, without Docker for Lambda.
async fn configure(upstream: SocketAddr) -> Result<(), RehearseError> {
    let body = json!({ "stepfunctions": { "execute_state_machine": true }, "lambda": { "use_docker": false } })
        .to_string();
    moto_api(upstream, "config", &body).await
}

/// A POST to moto's own API (`/moto-api/{path}`).
async fn moto_api(upstream: SocketAddr, path: &str, body: &str) -> Result<(), RehearseError> {
    let failed = |e: reqwest::Error| RehearseError::Configure(e.to_string());
    // The emulator is on loopback: no proxy from the environment stands between.
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(failed)?;
    let response = client
        .post(format!("http://{upstream}/moto-api/{path}"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_owned())
        .send()
        .await
        .map_err(failed)?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.map_err(failed)?;
    Err(RehearseError::Configure(format!(
        "{} {text}",
        status.as_u16()
    )))
}
