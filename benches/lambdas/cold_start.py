#!/usr/bin/env python3
"""Cold-start proxy of the Lambda function: time from process start until it asks the Runtime API for its
first event (runtime, config and clients ready), and its peak RSS at that moment, for the Rust bootstrap and
for an equivalent Python boto3 handler, alternating in the same run.

Usage: benches/lambdas/cold_start.py RUST_BOOTSTRAP [RUST_BOOTSTRAP...] [RUNS]
Uses the workspace's .venv python (boto3 comes with moto) for the Python side. Loopback only.
"""

import http.server
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
HANDLER = Path(__file__).with_name("boto3_handler.py")


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """Records when `GET /runtime/invocation/next` arrives and the RSS peak of the asking process."""

    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next"):
            self.server.ready_at = time.perf_counter()
            # A process can ask before Popen has returned its pid to us.
            self.server.pid_known.wait()
            self.server.peak_kb = peak_rss_kb(self.server.pid)
            self.server.ready.set()
        # No event is ever served: the process is killed once it is ready.
        time.sleep(5)

    def log_message(self, *args):
        pass


def peak_rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def run_until(command, env, server, event, seconds, failure):
    """Runs `command` for `server` (which learns its pid) until `event` is set, then kills it; an error saying
    `failure` when `seconds` pass first."""
    server.pid_known = threading.Event()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server.pid = process.pid
    server.pid_known.set()
    if not event.wait(seconds):
        process.kill()
        raise RuntimeError(f"{command[0]} {failure}: {process.stderr.read().decode()[-2000:]}")
    process.kill()
    process.wait()
    server.shutdown()


def measure(command, env):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.ready = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}")
    started = time.perf_counter()
    run_until(command, env, server, server.ready, 30, "never asked for an event")
    # Let the killed process's teardown finish before the next one starts, so runs do not overlap.
    time.sleep(0.3)
    return (server.ready_at - started) * 1000, server.peak_kb / 1024


def main():
    args = sys.argv[1:]
    runs = int(args.pop()) if len(args) > 1 and args[-1].isdigit() else 20
    bootstraps = args
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": "/nonexistent",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": "stepback-rds-snapshot",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/stepback-rds-snapshot",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "STEPBACK_ACTION": "rds.snapshot",
    }
    # Several bootstraps (e.g. before and after a change) alternate in one run, so the box's load hits them alike.
    sides = {f"rust {path}": [path] for path in bootstraps}
    sides["python+boto3"] = [str(PYTHON), str(HANDLER)]
    results = {name: [] for name in sides}
    for _ in range(runs):
        for name, command in sides.items():
            results[name].append(measure(command, env))
    print(f"{runs} runs each, alternating")
    print("| handler | init median | init p90 | peak RSS median |")
    print("|---|---:|---:|---:|")
    for name, samples in results.items():
        times = sorted(t for t, _ in samples)
        rss = statistics.median(r for _, r in samples)
        p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
        print(f"| {name} | {statistics.median(times):.1f} ms | {p90:.1f} ms | {rss:.1f} MB |")


if __name__ == "__main__":
    main()
