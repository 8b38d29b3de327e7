"""The handlers' AWS requests against the services' own models (botocore's, installed with moto).

moto accepts almost any request; AWS checks each one against its model first. This reads each request back into
its operation's input shape (moto's request parsers, built on botocore's models), then checks every member against
the model's constraints: required members, types, enums, string length and pattern, number range, list and map
length, and members the input does not have. botocore's own validator checks only some of these (no max, no
pattern, no enum); this walk checks them all. Then the rules AWS enforces beyond the models (`RULES`, each with
its source) that a request alone can show.

Input, on standard input: one JSON array of requests per line, each as `rehearsal_front::sent::Sent` writes it
(`service`: the SigV4 signing name; `operation`; `protocol`: `query`, `json`, `cbor` carried as JSON, or `rest-json`;
`target`: awsJson's `X-Amz-Target`; `http`: restJson's method, path with query, and headers; `body`). Output: one
JSON array of violations per line, each
`{"operation", "member", "rule"}`. One process serves a whole test binary; models load once, on first use.
"""

import time

BEGAN = time.perf_counter()

import json  # noqa: E402 - after the clock that measures the start-up
import sys  # noqa: E402

import regex  # noqa: E402
from botocore.serialize import create_serializer  # noqa: E402
from moto.core.parse import EC2QueryParser, QueryParser, RestJSONParser  # noqa: E402
from moto.core.utils import get_service_model  # noqa: E402
from werkzeug.datastructures import Headers, MultiDict  # noqa: E402

STARTUP = time.perf_counter() - BEGAN

# SigV4 signing name → botocore's service name, for the services the handlers call.
SERVICES = {
    "autoscaling": "autoscaling",
    "dynamodb": "dynamodb",
    "ec2": "ec2",
    "ecr": "ecr",
    "ecs": "ecs",
    "eks": "eks",
    "elasticloadbalancing": "elbv2",
    "events": "events",
    "kms": "kms",
    "lambda": "lambda",
    "logs": "logs",
    "monitoring": "cloudwatch",
    "rds": "rds",
    "sns": "sns",
    "ssm": "ssm",
    "states": "stepfunctions",
    "sts": "sts",
}

# The operations are named as IAM names them: CloudWatch signs as `monitoring`.
IAM_PREFIXES = {"monitoring": "cloudwatch"}
_patterns = {}


def model(service):
    """botocore's model with moto's shapes (which its parsers read), loaded once."""
    name = SERVICES.get(service)
    return None if name is None else get_service_model(name)


def pattern(text):
    """Smithy's `pattern`: an ECMA-262 regular expression, not anchored. `regex` reads `\\p{…}` as ECMA does;
    a UTF-16 surrogate pair (`\\uD800\\uDC00`, how the models write U+10000) becomes the code point it encodes."""
    if text not in _patterns:
        _patterns[text] = regex.compile(SURROGATES.sub(_code_point, text))
    return _patterns[text]


SURROGATES = regex.compile(r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})", regex.IGNORECASE)


def _code_point(pair):
    high, low = int(pair[1], 16), int(pair[2], 16)
    return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"


class Violations:
    def __init__(self, operation):
        self.operation = operation
        self.found = []

    def add(self, member, rule):
        self.found.append({"operation": self.operation, "member": member or "(input)", "rule": rule})


def check(request):
    """The violations of one request."""
    service = model(request["service"])
    found = Violations(f"{IAM_PREFIXES.get(request['service'], request['service'])}:{request.get('operation')}")
    if service is None:
        found.add(None, f"no model for the service signing as `{request['service']}`: add it to SERVICES")
        return found.found
    try:
        operation = service.operation_model(request["operation"])
    except Exception:
        found.add(None, f"{service.service_name} has no operation `{request['operation']}`")
        return found.found
    protocol = request["protocol"]
    body = request["body"]
    if protocol == "query":
        values = MultiDict(_form(body))
        version = values.pop("Version", None)
        values.pop("Action", None)
        if version != service.api_version:
            found.add("Version", f"is `{version}`, the model's API version is `{service.api_version}`")
        parser = EC2QueryParser if service.protocol == "ec2" else QueryParser
        try:
            params = parser(operation).parse({"values": values})
        except (ValueError, TypeError) as e:
            found.add(None, f"does not parse as the input shape: {e}")
            return found.found
        _unread_query_members(service, operation, values, params, found)
    elif protocol in ("json", "cbor"):
        raw = json.loads(body) if body else {}
        if protocol == "json" and request.get("target") != f"{service.metadata['targetPrefix']}.{operation.name}":
            found.add("X-Amz-Target", f"is `{request.get('target')}`, not the model's target prefix")
        _unknown_json_members(operation.input_shape, raw, "", found)
        # Walked as sent: a parser would turn `"5"` into an integer that AWS refuses.
        params = raw
    elif protocol == "rest-json":
        params = _rest_json(operation, request["http"], body, found)
        if params is None:
            return found.found
    else:
        found.add(None, f"protocol `{protocol}` is not read by this check")
        return found.found
    if operation.input_shape is not None:
        walk(operation.input_shape, params, "", found)
    for name, path, rule, source in RULES:
        if name == found.operation:
            for member, value in _members(params, path):
                for broken in rule(value):
                    found.add(member, f"{broken} ({source})")
    return found.found


def _rest_json(operation, http, body, found):
    """A restJson request read into its input shape by its HTTP bindings (moto's parser): the path against the
    operation's `requestUri` (its labels, percent-decoded), the query, the headers, and the body (the payload member,
    or the members bound to none of those). `None` when the method or the path is not the operation's."""
    from urllib.parse import parse_qsl, unquote

    template = operation.http["requestUri"]
    path, _, query = http["path"].partition("?")
    template_path, _, template_query = template.partition("?")
    labels = regex.fullmatch(
        regex.sub(r"\\\{(\w+)(\\\+)?\\\}", lambda m: f"(?P<{m[1]}>{'.+' if m[2] else '[^/]+'})", regex.escape(template_path)),
        path,
    )
    if http["method"] != operation.http["method"] or labels is None:
        found.add(None, f"is `{http['method']} {path}`, not the model's `{operation.http['method']} {template}`")
        return None
    values = MultiDict(parse_qsl(query, keep_blank_values=True))
    request = {
        "body": body.encode(),
        "headers": Headers(http.get("headers", {})),
        "method": http["method"],
        "url_params": {name: unquote(value) for name, value in labels.groupdict().items()},
        "url_path": path,
        "values": values,
    }
    shape = operation.input_shape
    if shape is None:
        return {}
    bound = {m.serialization.get("name", n) for n, m in shape.members.items() if m.serialization.get("location") == "querystring"}
    bound |= {key for key, _ in parse_qsl(template_query, keep_blank_values=True)}
    for key in values.keys():
        if key not in bound:
            found.add(key, "is not a member of the input shape")
    payload = shape.serialization.get("payload")
    if payload is None and body:
        unbound = {n: m for n, m in shape.members.items() if "location" not in m.serialization}
        _unknown_json_members(_Members(shape, unbound), json.loads(body), "", found)
    elif payload is not None and shape.members[payload].type_name == "structure" and body:
        _unknown_json_members(shape.members[payload], json.loads(body), payload, found)
    try:
        return RestJSONParser(operation).parse(request)
    except (ValueError, TypeError) as e:
        found.add(None, f"does not parse as the input shape: {e}")
        return None


class _Members:
    """A structure shape seen through some of its members: a restJson body holds those bound to no location."""

    def __init__(self, shape, members):
        self.type_name, self.is_document_type, self.members = "structure", False, members


def _form(body):
    from urllib.parse import parse_qsl

    return parse_qsl(body, keep_blank_values=True)


def _unread_query_members(service, operation, values, params, found):
    """Query members that the input shape has no place for: the parsed input serialised again by botocore must
    give back every member sent."""
    serializer = create_serializer(service.protocol, include_validation=False)
    written = serializer.serialize_to_request(params, operation)["body"]
    for key in values.keys():
        if key not in written:
            found.add(key, "is not a member of the input shape")


def _unknown_json_members(shape, value, path, found):
    if shape is None or not isinstance(value, (dict, list)):
        return
    if shape.type_name == "structure" and isinstance(value, dict) and not shape.is_document_type:
        names = {m.serialization.get("name", n): (n, m) for n, m in shape.members.items()}
        for key, item in value.items():
            if key not in names:
                found.add(_join(path, key), "is not a member of the input shape")
            else:
                _unknown_json_members(names[key][1], item, _join(path, names[key][0]), found)
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            _unknown_json_members(shape.member, item, f"{path}[{i}]", found)
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            _unknown_json_members(shape.value, item, f"{path}.{key}", found)


def _join(path, name):
    return f"{path}.{name}" if path else name


JSON_TYPES = {str: "string", int: "integer", float: "double", bool: "boolean", list: "list", dict: "structure"}
TYPES = {
    "string": str,
    "structure": dict,
    "list": list,
    "map": dict,
    "boolean": bool,
    "integer": int,
    "long": int,
    "float": (int, float),
    "double": (int, float),
    "blob": (bytes, bytearray, str),
}


def walk(shape, value, path, found):
    """Every constraint of `shape` on `value`."""
    kind = shape.type_name
    expected = TYPES.get(kind)
    if value is None:
        return
    if expected is not None and (not isinstance(value, expected) or (kind != "boolean" and isinstance(value, bool))):
        found.add(path, f"is of type {JSON_TYPES.get(type(value), type(value).__name__)}, {shape.name} is of type {kind}")
        return
    meta = shape.metadata
    if kind == "structure":
        if shape.is_document_type:
            return
        for name in shape.required_members:
            if value.get(name) is None:
                found.add(_join(path, name), "is required")
        for name, item in value.items():
            if name in shape.members:
                walk(shape.members[name], item, _join(path, name), found)
        return
    if kind in ("string", "blob", "list", "map"):
        size = len(value)
        what = {"string": "characters", "blob": "bytes", "list": "items", "map": "entries"}[kind]
        if "min" in meta and size < meta["min"]:
            found.add(path, f"has {size} {what}, {shape.name} takes at least {meta['min']}")
        if "max" in meta and size > meta["max"]:
            found.add(path, f"has {size} {what}, {shape.name} takes at most {meta['max']}")
    elif kind in ("integer", "long", "float", "double"):
        if "min" in meta and value < meta["min"]:
            found.add(path, f"is {value}, below {shape.name}'s minimum {meta['min']}")
        if "max" in meta and value > meta["max"]:
            found.add(path, f"is {value}, above {shape.name}'s maximum {meta['max']}")
    if kind == "string":
        if shape.enum and value not in shape.enum:
            found.add(path, f"is `{value}`, not one of {shape.name}'s values: {', '.join(shape.enum)}")
        if "pattern" in meta and not pattern(meta["pattern"]).search(value):
            found.add(path, f"is `{value}`, which does not match {shape.name}'s pattern `{meta['pattern']}`")
    elif kind == "list":
        for i, item in enumerate(value):
            walk(shape.member, item, f"{path}[{i}]", found)
    elif kind == "map":
        for key, item in value.items():
            walk(shape.key, key, f"{path} key", found)
            walk(shape.value, item, f"{path}.{key}", found)


# The rules AWS enforces beyond the models, on members that the handlers send, each as its API reference writes
# it (botocore's model carries the same text as the member's documentation). A request alone shows these; the
# rules that need more than the request are listed in ARCHITECTURE.md ("Requests AWS would refuse").
API = "https://docs.aws.amazon.com"


def _rds_identifier(most):
    """RDS's identifiers: 1 to `most` letters, digits or hyphens, a letter first, no hyphen last or twice in a row."""
    shape = regex.compile(r"[A-Za-z](-?[A-Za-z0-9])*")

    def broken(value):
        if len(value) > most or not shape.fullmatch(value):
            yield f"is `{value}`: must contain from 1 to {most} letters, numbers, or hyphens, the first a letter, none last or two in a row"

    return broken


def _matches(expression, says):
    compiled = regex.compile(expression)

    def broken(value):
        if not compiled.fullmatch(str(value)):
            yield f"is `{value}`: {says}"

    return broken


def _at_most(most, says):
    def broken(value):
        if value > most:
            yield f"is {value}: {says}"

    return broken


def _one_of(allowed):
    def broken(value):
        if value not in allowed:
            yield f"is `{value}`, not one of {', '.join(allowed)}"

    return broken


def _period(value):
    if value not in (1, 5, 10, 20, 30) and value % 60:
        yield f"is {value}: the period can be 1, 5, 10, 20, 30, 60, or any multiple of 60"


def _one_but_not_both(first, second):
    def broken(params):
        if (params.get(first) is None) == (params.get(second) is None):
            yield f"gives {'both' if params.get(first) is not None else 'neither'} of {first} and {second}: one, not both"

    return broken


RDS = f"{API}/AmazonRDS/latest/APIReference/API_"
# A tag's key (1-128) and value (0-256): Unicode letters, digits, white space, and `_ . : / = + - @`.
RDS_TAG = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]"
RDS_TAG_KEY = _matches(f"(?!aws:|rds:){RDS_TAG}{{1,128}}", "1 to 128 Unicode letters, digits, white space, or _ . : / = + - @, not prefixed with aws: or rds:")
RDS_TAG_VALUE = _matches(f"{RDS_TAG}{{0,256}}", "0 to 256 Unicode letters, digits, white space, or _ . : / = + - @")
CLOUDWATCH = f"{API}/AmazonCloudWatch/latest/APIReference/API_"
SCALING_PROCESSES = _one_of(
    ["Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance", "HealthCheck",
     "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions"]
)
RULES = [
    # (operation, member path (`[]`: every item), the rule, the source)
    ("rds:CreateDBSnapshot", "DBSnapshotIdentifier", _rds_identifier(255), RDS + "CreateDBSnapshot.html"),
    ("rds:CreateDBClusterSnapshot", "DBClusterSnapshotIdentifier", _rds_identifier(63), RDS + "CreateDBClusterSnapshot.html"),
    ("rds:RestoreDBInstanceFromDBSnapshot", "DBInstanceIdentifier", _rds_identifier(63), RDS + "RestoreDBInstanceFromDBSnapshot.html"),
    ("rds:RestoreDBClusterFromSnapshot", "DBClusterIdentifier", _rds_identifier(63), RDS + "RestoreDBClusterFromSnapshot.html"),
    ("rds:CreateDBInstance", "DBInstanceIdentifier", _rds_identifier(63), RDS + "CreateDBInstance.html"),
    ("rds:ModifyDBInstance", "NewDBInstanceIdentifier", _rds_identifier(63), RDS + "ModifyDBInstance.html"),
    ("rds:ModifyDBCluster", "NewDBClusterIdentifier", _rds_identifier(63), RDS + "ModifyDBCluster.html"),
    *(
        rule
        for operation in ["CreateDBSnapshot", "CreateDBClusterSnapshot", "RestoreDBInstanceFromDBSnapshot",
                          "RestoreDBClusterFromSnapshot", "CreateDBInstance"]
        for rule in [
            (f"rds:{operation}", "Tags[].Key", RDS_TAG_KEY, RDS + "Tag.html"),
            (f"rds:{operation}", "Tags[].Value", RDS_TAG_VALUE, RDS + "Tag.html"),
        ]
    ),
    (
        "ec2:CreateImage", "Name",
        _matches(r"[A-Za-z0-9()\[\] ./\-'@_]{3,128}", "3-128 alphanumeric characters, parentheses, square brackets, spaces, periods, slashes, dashes, single quotes, at-signs, or underscores"),
        f"{API}/AWSEC2/latest/APIReference/API_CreateImage.html",
    ),
    (
        "ecs:RunTask", "startedBy",
        _matches(r"[A-Za-z0-9\-/_]{1,128}", "up to 128 letters, numbers, hyphens, forward slashes and underscores"),
        f"{API}/AmazonECS/latest/APIReference/API_RunTask.html",
    ),
    (
        "ecs:RunTask", "clientToken",
        _matches(r"[\x21-\x7e]{1,64}", "up to 64 characters in the range 33-126"),
        f"{API}/AmazonECS/latest/APIReference/API_RunTask.html",
    ),
    ("ecs:RunTask", "count", _at_most(10, "up to 10 tasks for each call"), f"{API}/AmazonECS/latest/APIReference/API_RunTask.html"),
    (
        "sns:Publish", "Subject",
        _matches(r"[^\p{Cc}]{1,99}", "UTF-8 text with no line breaks or control characters, and less than 100 characters long"),
        f"{API}/sns/latest/api/API_Publish.html",
    ),
    (
        "cloudwatch:GetMetricData", "MetricDataQueries[].Id",
        _matches("[a-z][A-Za-z0-9_]*", "letters, numbers, and underscore, the first a lowercase letter"),
        CLOUDWATCH + "MetricDataQuery.html",
    ),
    ("cloudwatch:GetMetricData", "MetricDataQueries[].MetricStat.Period", _period, CLOUDWATCH + "MetricStat.html"),
    (
        "logs:FilterLogEvents", "", _one_but_not_both("logGroupName", "logGroupIdentifier"),
        f"{API}/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html",
    ),
    (
        "states:ListExecutions", "", _one_but_not_both("stateMachineArn", "mapRunArn"),
        f"{API}/step-functions/latest/apireference/API_ListExecutions.html",
    ),
    ("autoscaling:SuspendProcesses", "ScalingProcesses[]", SCALING_PROCESSES, f"{API}/autoscaling/ec2/APIReference/API_SuspendProcesses.html"),
    ("autoscaling:ResumeProcesses", "ScalingProcesses[]", SCALING_PROCESSES, f"{API}/autoscaling/ec2/APIReference/API_ResumeProcesses.html"),
]


def _members(params, path):
    """The values at `path` (`A.B`, `A[]` for each item of a list; `""` the whole input), with their names."""
    found = [("", params)]
    for part in path.split(".") if path else []:
        each = part.endswith("[]")
        name = part.removesuffix("[]")
        step = []
        for at, value in found:
            if isinstance(value, dict) and value.get(name) is not None:
                item = value[name]
                if each:
                    step.extend((f"{_join(at, name)}[{i}]", v) for i, v in enumerate(item))
                else:
                    step.append((_join(at, name), item))
        found = step
    return found


def main():
    """Checks each line's requests; at the end, says on standard error how many and how long it took."""
    seen = {}
    sent = 0
    checking = 0.0
    for line in sys.stdin:
        began = time.perf_counter()
        violations = []
        for request in json.loads(line):
            sent += 1
            key = json.dumps(request, sort_keys=True)
            if key not in seen:
                try:
                    seen[key] = check(request)
                except Exception as e:  # noqa: BLE001 - one request's failure is reported, the rest still checked
                    seen[key] = [{"operation": request.get("operation"), "member": "(checker)", "rule": repr(e)}]
            violations.extend(seen[key])
        print(json.dumps(violations), flush=True)
        checking += time.perf_counter() - began
    print(
        f"model check: {sent} requests ({len(seen)} distinct) in {checking:.2f} s, after {STARTUP:.2f} s of start-up",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
