"""The Python equivalent of the Rust bootstrap's cold start: import boto3, build the same eight clients,
then ask the Runtime API for the first event. Run by cold_start.py, never deployed."""

import os
import urllib.request

import boto3

session = boto3.session.Session()
clients = [
    session.client(name)
    for name in ("rds", "ecs", "elbv2", "sns", "cloudwatch", "ssm", "ec2", "stepfunctions")
]

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next")
