#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target> from the repository's fixtures (FUZZING.md). Idempotent: a file is named by the
hash of its bytes.

- check, workflow: every fixture and example as bytes (for `workflow`, the bytes drive the generator);
- when: every `when` of those files, as the condition's text;
- contract: for every step of those files, the payload the state machine would send for `start`, `poll` and
  `check` (the step's TOML params, durations in seconds, references left as text).
"""
import hashlib
import json
import pathlib
import re
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
SOURCES = [ROOT / "examples", ROOT / "workflow" / "tests", ROOT / "compiler" / "tests"]
COMMON_KEYS = {"action", "after", "when", "retry", "timeout", "estimate", "description",
               "continue_on_error", "allow_unguarded"}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def save(target, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


def seconds(value):
    match = re.fullmatch(r"(\d+)([smhd])", value) if isinstance(value, str) else None
    return int(match[1]) * UNITS[match[2]] if match else value


def payloads(action, params):
    for operation, state in [("start", None), ("poll", {}), ("check", None)]:
        payload = {
            "version": 1,
            "action": action,
            "operation": operation,
            "execution": {
                "id": "arn:aws:states:us-east-1:123456789012:execution:rollback:run-1",
                "name": "run-1",
                "state_machine": "arn:aws:states:us-east-1:123456789012:stateMachine:rollback",
                "step": "s1",
            },
            "params": params,
        }
        if state is not None:
            payload["state"] = state
        if action == "approval":
            payload["task_token"] = "token"
        yield json.dumps(payload).encode()


files = sorted(p for source in SOURCES for p in source.rglob("*.toml"))
for path in files:
    data = path.read_bytes()
    save("check", data)
    save("workflow", data)
    try:
        document = tomllib.loads(data.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        continue
    for section in ("steps", "on_failure"):
        steps = document.get(section)
        if not isinstance(steps, dict):
            continue
        for step in steps.values():
            if not isinstance(step, dict):
                continue
            if isinstance(step.get("when"), str):
                save("when", step["when"].encode())
            action = step.get("action")
            if isinstance(action, str):
                params = {k: seconds(v) for k, v in step.items() if k not in COMMON_KEYS}
                for payload in payloads(action, params):
                    save("contract", payload)

for target in sorted(CORPUS.iterdir()):
    print(f"{target.name}: {sum(1 for _ in target.iterdir())} seeds")
