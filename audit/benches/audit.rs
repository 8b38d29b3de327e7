//! `cargo bench -p audit --bench audit`: a synthetic 25,000-event history (the Step Functions limit) of 446 polled
//! steps in series, each started, retried once, polled four times, done: parse, audit, and render as text and
//! HTML. Prints the median of seven runs.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const STEPS: usize = 446;
const POLLS: usize = 4;

struct Events {
    list: Vec<Value>,
    at: f64,
}

impl Events {
    fn push(&mut self, kind: &str, previous: usize, details: Option<(&str, Value)>) -> usize {
        self.at += 0.25;
        let id = self.list.len() + 1;
        let mut event =
            json!({ "timestamp": self.at, "type": kind, "id": id, "previousEventId": previous });
        if let Some((key, value)) = details {
            event[key] = value;
        }
        self.list.push(event);
        id
    }

    fn state(&mut self, kind: &str, name: &str, previous: usize, output: &Value) -> usize {
        let io = |key: &str| json!({ "name": name, key: output.to_string() });
        let entered = self.push(
            &format!("{kind}StateEntered"),
            previous,
            Some(("stateEnteredEventDetails", io("input"))),
        );
        self.push(
            &format!("{kind}StateExited"),
            entered,
            Some(("stateExitedEventDetails", io("output"))),
        )
    }

    fn task(
        &mut self,
        name: &str,
        step: &str,
        operation: &str,
        previous: usize,
        output: &Value,
    ) -> usize {
        let entered = self.push(
            "TaskStateEntered",
            previous,
            Some((
                "stateEnteredEventDetails",
                json!({ "name": name, "input": output.to_string() }),
            )),
        );
        let parameters = json!({ "FunctionName": "f", "Payload": { "version": 1, "action": "ecs.deploy",
            "operation": operation, "execution": { "id": "arn:aws:states:us-east-1:1:execution:big:e", "name": "e",
            "state_machine": "arn:aws:states:us-east-1:1:stateMachine:big", "step": step },
            "params": { "cluster": "prod", "service": "webapp" } } });
        let mut last = entered;
        let attempts = if operation == "start" { 2 } else { 1 };
        for attempt in 0..attempts {
            let scheduled = self.push(
                "TaskScheduled",
                last,
                Some((
                    "taskScheduledEventDetails",
                    json!({ "resourceType": "lambda", "resource": "invoke",
                    "parameters": parameters.to_string() }),
                )),
            );
            let started = self.push("TaskStarted", scheduled, None);
            last = if attempt + 1 < attempts {
                self.push(
                    "TaskFailed",
                    started,
                    Some((
                        "taskFailedEventDetails",
                        json!({ "error": "Stepback.Transient", "cause": "throttled" }),
                    )),
                )
            } else {
                self.push(
                    "TaskSucceeded",
                    started,
                    Some((
                        "taskSucceededEventDetails",
                        json!({ "output": "{\"Payload\":{}}" }),
                    )),
                )
            };
        }
        self.push(
            "TaskStateExited",
            last,
            Some((
                "stateExitedEventDetails",
                json!({ "name": name, "output": output.to_string() }),
            )),
        )
    }
}

fn history() -> String {
    let mut events = Events {
        list: Vec::new(),
        at: 1_700_000_000.0,
    };
    let mut manifest_steps = Vec::new();
    let mut last = events.push(
        "ExecutionStarted",
        0,
        Some(("executionStartedEventDetails", json!({ "input": "{}" }))),
    );
    for i in 0..STEPS {
        let id = format!("step_{i}");
        let names = [
            id.clone(),
            format!("{id}: check"),
            format!("{id}: wait"),
            format!("{id}: count poll"),
            format!("{id}: poll"),
            format!("{id}: done"),
        ];
        let running =
            json!({ "input": {}, "steps": { &id: { "n": 0, "last": { "status": "running" } } } });
        let done = json!({ "input": {}, "steps": { &id: { "status": "done", "output": { "image_tag": "v41" } } } });
        last = events.task(&names[0], &id, "start", last, &running);
        for _ in 0..POLLS {
            last = events.state("Choice", &names[1], last, &running);
            last = events.state("Wait", &names[2], last, &running);
            last = events.state("Pass", &names[3], last, &running);
            last = events.task(&names[4], &id, "poll", last, &running);
        }
        last = events.state("Choice", &names[1], last, &running);
        last = events.state("Pass", &names[5], last, &done);
        manifest_steps.push(json!({ "id": id, "action": "ecs.deploy", "after": if i == 0 { vec![] } else { vec![format!("step_{}", i - 1)] },
            "estimate_secs": 10, "timeout_secs": 600, "states": names }));
    }
    events.push(
        "ExecutionSucceeded",
        last,
        Some(("executionSucceededEventDetails", json!({ "output": "{}" }))),
    );
    let manifest = json!({ "version": 1, "workflow": "big", "steps": manifest_steps });
    let definition = json!({ "Comment": format!("big (stepback)\n{}{manifest}", catalog::manifest::MARK), "StartAt": "x", "States": {} });
    json!({ "events": events.list, "definition": definition.to_string() }).to_string()
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn main() {
    let text = history();
    let events = serde_json::from_str::<Value>(&text)
        .map_or(0, |v| v["events"].as_array().map_or(0, Vec::len));
    let (mut parse, mut audit, mut render) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..7 {
        let started = Instant::now();
        let history = audit::History::from_json(&text).expect("parses");
        parse.push(started.elapsed());
        let started = Instant::now();
        let report = audit::audit(&history).expect("audits");
        audit.push(started.elapsed());
        let started = Instant::now();
        let out = audit::render::text(&report).len() + audit::render::html(&report).len();
        render.push(started.elapsed());
        assert!(out > 0 && report.steps.len() == STEPS);
    }
    let (p, a, r) = (median(parse), median(audit), median(render));
    println!(
        "{events} events, {} MB of JSON, {STEPS} steps",
        text.len() / 1_000_000
    );
    println!(
        "parse {p:.1?}  audit {a:.1?}  render text+html {r:.1?}  total {:.1?}",
        p + a + r
    );
}
