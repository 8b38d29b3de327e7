#!/usr/bin/env python3
"""The paging actions' worst cases, measured: each action's `start` run once by the `bootstrap` binary, as
Lambda runs it (a loopback stand-in for the Runtime API serves one event), against moto seeded with a large
worst case. For each: the invocation's duration (event served → result posted), the pages it read, and the
process's peak RSS (`VmHWM` when the result is posted, init included). The catalog's `PAGING_FUNCTION` is set
from these figures (BENCHMARKS.md, "Lambdas: the paging actions' worst case").

Usage: benches/lambdas/paging.py BOOTSTRAP [RUNS]
Uses the workspace's .venv (moto_server, boto3). Loopback only; seeding takes a few minutes, so it is not part
of scripts/test.
"""

import http.server
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3

from cold_start import peak_rss_kb, run_until

ROOT = Path(__file__).resolve().parents[2]
MOTO = Path(os.environ.get("STEPBACK_MOTO_SERVER", ROOT / ".venv" / "bin" / "moto_server"))
REGION = "us-east-1"
VERSION = 3  # catalog::contract::VERSION

# The worst cases: a task family with 1,000 ACTIVE revisions (ListTaskDefinitions: 100 a page), 100,000 log
# events that match the pattern over the window (FilterLogEvents: moto answers 10,000 a page, AWS up to 10,000
# or 1 MB), a day of 1,000 Run Commands (ListCommands: 50 a page), 1,000 targets in one target group (the ELB
# quota), and a listener with 100 rules (the quota; DescribeRules pages).
REVISIONS = 1000
LOG_EVENTS = 100_000
COMMANDS = 1000
TARGETS = 1000
RULES = 99


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """Serves one event, then records when its result is posted and the RSS peak of the function's process."""

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        if self.server.served:
            time.sleep(30)  # No second event: the process is killed once it posted.
            return
        self.server.served = True
        self.server.cpu_at_init = cpu_seconds(self.server.pid)
        body = self.server.event.encode()
        self.send_response(200)
        for name, value in [
            ("Lambda-Runtime-Aws-Request-Id", "req-1"),
            ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 900_000)),
            ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench"),
            ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
            ("Content-Length", str(len(body))),
        ]:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.server.served_at = time.perf_counter()

    def do_POST(self):
        self.server.posted_at = time.perf_counter()
        self.server.peak_kb = peak_rss_kb(self.server.pid)
        self.server.cpu = cpu_seconds(self.server.pid) - self.server.cpu_at_init
        length = int(self.headers.get("Content-Length", 0))
        self.server.result = json.loads(self.rfile.read(length) or b"null")
        self.server.kind = self.path.rsplit("/", 1)[-1]
        self.send_response(202)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
        self.server.done.set()

    def log_message(self, *args):
        pass


def cpu_seconds(pid):
    """The process's user and system CPU time so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def invoke(bootstrap, endpoint, action, params, step):
    """One `start` of `action` in a fresh process: (seconds, CPU seconds of the invocation, peak RSS in MB,
    result kind, result)."""
    event = {
        "version": VERSION,
        "action": action,
        "operation": "start",
        "execution": {
            "id": f"arn:aws:states:us-east-1:123456789012:execution:bench:{step}-{time.time_ns()}",
            "name": "bench",
            "state_machine": "arn:aws:states:us-east-1:123456789012:stateMachine:bench",
            "step": step,
        },
        "params": params,
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.event = json.dumps(event)
    server.served = False
    server.done = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "STEPBACK_ACTION": action,
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    }
    run_until([bootstrap], env, server, server.done, 600, f"posted no result for {action}")
    return server.posted_at - server.served_at, server.cpu, server.peak_kb / 1024, server.kind, server.result


def seed_ecs(session):
    ecs = session.client("ecs")
    ecs.create_cluster(clusterName="bench")
    container = {"name": "app", "image": "registry.bench/web:v0", "memory": 512, "essential": True}
    for revision in range(1, REVISIONS + 1):
        ecs.register_task_definition(
            family="web", containerDefinitions=[dict(container, image=f"registry.bench/web:v{revision}")]
        )
    ecs.create_service(cluster="bench", serviceName="web", taskDefinition=f"web:{REVISIONS}", desiredCount=1)
    return {"cluster": "bench", "service": "web", "container": "app", "image_tag": "previous"}


def seed_logs(session):
    logs = session.client("logs")
    logs.create_log_group(logGroupName="/bench/app")
    now = int(time.time() * 1000)
    batch = 10_000  # PutLogEvents: at most 10,000 events and 1 MB a call
    for stream in range(LOG_EVENTS // batch):
        name = f"app-{stream}"
        logs.create_log_stream(logGroupName="/bench/app", logStreamName=name)
        events = [
            {"timestamp": now - 600_000 + i, "message": f"ERROR request {stream}-{i} failed: upstream timed out " + "x" * 40}
            for i in range(batch)
        ]
        logs.put_log_events(logGroupName="/bench/app", logStreamName=name, logEvents=events)
    # Every event matches and the threshold is above them all: the search reads every page.
    return {"log_groups": ["/bench/app"], "pattern": "ERROR", "window": 900, "threshold": LOG_EVENTS + 1}


def seed_ssm(session):
    ec2 = session.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ssm = session.client("ssm")
    for i in range(COMMANDS):
        ssm.send_command(
            InstanceIds=[instance],
            DocumentName="AWS-RunShellScript",
            Comment=f"someone else's command {i}",
            Parameters={"commands": ["true"]},
        )
    return {"instance_ids": [instance], "commands": ["systemctl restart app"]}


def seed_targets(session):
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
        for i, zone in enumerate("ab")
    ]
    elb = session.client("elbv2")
    balancer = elb.create_load_balancer(Name="bench", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    group = elb.create_target_group(Name="bench", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    targets = [{"Id": f"10.0.{i // 250}.{i % 250 + 1}", "Port": 80} for i in range(TARGETS)]
    for i in range(0, TARGETS, 100):
        elb.register_targets(TargetGroupArn=group, Targets=targets[i : i + 100])
    listener = elb.create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )["Listeners"][0]["ListenerArn"]
    for priority in range(2, RULES + 2):
        elb.create_rule(
            ListenerArn=listener,
            Priority=priority,
            Conditions=[{"Field": "path-pattern", "Values": [f"/p{priority}/*"]}],
            Actions=[{"Type": "forward", "TargetGroupArn": group}],
        )
    return {"target_group": group}, {"listener": listener}


def main():
    bootstrap = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    port = free_port()
    moto = subprocess.Popen(
        [str(MOTO), "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, MOTO_ECS_SERVICE_RUNNING="1"),
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        session = _with_endpoint(session, endpoint)
        seeded = time.perf_counter()
        deregister, halt = seed_targets(session)
        cases = [
            ("ecs.deploy", seed_ecs(session), f"{REVISIONS} task-definition revisions of the family"),
            ("check.logs", seed_logs(session), f"{LOG_EVENTS:,} matching log events in the window"),
            ("ssm.command", seed_ssm(session), f"{COMMANDS:,} commands in the last day"),
            ("alb.deregister", deregister, f"{TARGETS:,} targets"),
            ("alb.halt", halt, f"a listener with {RULES} rules"),
        ]
        print(f"seeded in {time.perf_counter() - seeded:.0f} s", file=sys.stderr)
        print("| action | worst case | duration median (max) | CPU median (max) | peak RSS median (max) | result |")
        print("|---|---|---:|---:|---:|---|")
        for action, params, case in cases:
            durations, cpus, peaks, kinds = [], [], [], set()
            for run in range(runs):
                # A fresh step id each run, so that no run finds an earlier run's work (an idempotent start
                # would skip the paging a first attempt does).
                seconds, cpu, peak, kind, result = invoke(bootstrap, endpoint, action, params, f"bench{run}")
                durations.append(seconds)
                cpus.append(cpu)
                peaks.append(peak)
                kinds.add(kind if kind == "response" else f"{kind}: {json.dumps(result)[:200]}")
                if action == "alb.deregister":
                    # Deregistered: put the targets back for the next run.
                    _reregister(session, params["target_group"])
                if action == "alb.halt":
                    _unhalt(session, params["listener"])
            print(
                f"| `{action}` | {case} | {statistics.median(durations):.2f} s ({max(durations):.2f}) "
                f"| {statistics.median(cpus):.2f} s ({max(cpus):.2f}) "
                f"| {statistics.median(peaks):.1f} MB ({max(peaks):.1f}) | {', '.join(sorted(kinds))} |"
            )
    finally:
        moto.kill()
        moto.wait()


def _with_endpoint(session, endpoint):
    class WithEndpoint:
        def client(self, name):
            return session.client(name, endpoint_url=endpoint)

    return WithEndpoint()


def _reregister(session, group):
    elb = session.client("elbv2")
    targets = [{"Id": f"10.0.{i // 250}.{i % 250 + 1}", "Port": 80} for i in range(TARGETS)]
    for i in range(0, TARGETS, 100):
        elb.register_targets(TargetGroupArn=group, Targets=targets[i : i + 100])


def _unhalt(session, listener):
    elb = session.client("elbv2")
    for rule in elb.describe_rules(ListenerArn=listener)["Rules"]:
        if rule["Priority"] == "1":
            elb.delete_rule(RuleArn=rule["RuleArn"])


if __name__ == "__main__":
    main()
