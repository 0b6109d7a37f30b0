#!/usr/bin/env python3
"""Provision a running moto server as the AWS tier's test environment, then verify it.

Usage: provision.py --endpoint http://127.0.0.1:5005 [--state-file PATH] [--no-verify]

What it creates is docker/localstack/seed/world.json (read through seed/world.py), the
description the LocalStack READY hook reads too: account 123456789012, region
ap-northeast-1; the roles agent-s3-read, agent-s3-browse, agent-rds-query, agent-lambda-invoke, agent-no-access
(trust: the base identity, here the user below) and agent-echo-exec (trust: Lambda) with the
file's policies; the bucket mcp-slo-reports with daily.csv, chart.png, big.bin (2 MiB) and
notes/readme.txt; the functions agent-echo and sleeper (python3.12, seed/lambda/handlers.py;
moto without Docker never runs the code: Invoke echoes the payload, and
scripts/moto/server.py answers an Invoke of sleeper after the payload's `sleep_ms`
milliseconds, which the checks below measure). The file's SNS topics and CloudWatch alarms
are LocalStack's alone: nothing here creates them.

Added for moto (MOTO ADDITIONS below), with IAM enforcement off:
  * IAM user  mcp-aws-server  (the AWS-tier server's base identity, which the base-identity
    trust names) + one access key; inline policies: sts:AssumeRole on the base-identity
    roles, and the CloudWatch actions the harness needs to publish SLO metrics and alarms
    (see CLOUDWATCH_NOTE).
  * lambda:Invoke next to every lambda:InvokeFunction grant, and on "*" (see LAMBDA_NOTE).
  * Secrets Manager secret agents-db and RDS cluster agents (aurora-postgresql), so the
    seed's cluster/secret ARNs exist for DescribeDBClusters (ExecuteStatement needs neither).
Then IAM enforcement is switched on and every role is checked (results on stderr).

moto keeps everything in memory: this script works from scratch after a restart and is
idempotent on a provisioned server. The base user's access key is kept in the state file
(default ${MCP_SLO_STATE:-~/.cache/mcp-slo}/moto-PORT.creds.json) and reused while moto
still knows it, so re-running prints the same credentials until moto restarts.

A warm re-run (the saved key is still the base user's in moto) only runs the checks, so it
never switches IAM enforcement off under tests already running; --force provisions anyway.

stdout: exactly two lines, `export AWS_ACCESS_KEY_ID=...` and `export AWS_SECRET_ACCESS_KEY=...`,
and only on success. Everything else goes to stderr. Exit status 0 only if every check
passed (1 = a check failed, 2 = provisioning itself failed).
"""

import argparse
import importlib.util
import json
import os
import sys
import time
import urllib.parse
import urllib.request
import uuid

import boto3
import botocore.config
from botocore.exceptions import ClientError

# The world file and its reader, docker/localstack/seed/world.{json,py}, found from here.
SEED = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                     "docker", "localstack", "seed"))
WORLD_FILE = os.path.join(SEED, "world.json")
_spec = importlib.util.spec_from_file_location("mcp_slo_world", os.path.join(SEED, "world.py"))
world_file = importlib.util.module_from_spec(_spec)
sys.dont_write_bytecode = True  # no __pycache__ left in the seed directory
_spec.loader.exec_module(world_file)


def world_failed(msg):
    print(f"[moto-provision] provisioning failed: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


try:
    WORLD = world_file.load(WORLD_FILE)
except world_file.WorldError as e:
    world_failed(e)

ACCOUNT = WORLD.account
REGION = WORLD.region
BUCKET = WORLD.bucket
OBJECTS = {o.key: (o.body, o.content_type) for o in WORLD.objects}
# The checks below use these by name; the world file must have them.
FUNCTION = "agent-echo"
SLEEPER = "sleeper"  # its delay comes from scripts/moto/server.py
FUNCTIONS = {f.name: f for f in WORLD.functions}
for _name in (FUNCTION, SLEEPER):
    if _name not in FUNCTIONS:
        world_failed(f"{WORLD_FILE} has no function {_name}, which the checks invoke")

# ----------------------------------------------------------------------- MOTO ADDITIONS
# What moto needs beyond the world file: the base user, action names only moto checks, and
# the RDS Data setup (LocalStack's community edition has no RDS Data API; compose runs moto
# for it, seeded by scripts/moto/canned_rds.py).
BASE_USER = "mcp-aws-server"
BASE_USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{BASE_USER}"
CLUSTER_ID = "agents"
CLUSTER_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{CLUSTER_ID}"
SECRET_NAME = "agents-db"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{SECRET_NAME}"

# LAMBDA_NOTE: moto authorises every non-S3/STS/IAM/SQS call against the resource "*",
# so a statement whose Resource is the function ARN never matches there, and it names
# the Invoke action `lambda:Invoke` (AWS: `lambda:InvokeFunction`). A role whose world
# statements grant lambda:InvokeFunction on the function ARNs (the real, scoped grant) gets
# lambda:Invoke beside it and lambda:Invoke on "*" (an action name that does not exist in
# AWS, so harmless there).
def moto_statements(statements):
    out, invokes = [], False
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        if "lambda:InvokeFunction" in actions:
            invokes = True
            s = dict(s, Action=actions + ["lambda:Invoke"])
        out.append(s)
    if invokes:
        out.append({"Effect": "Allow", "Action": "lambda:Invoke", "Resource": "*"})
    return out


# The roles the base user may assume (the world's base-identity roles), with moto's
# statements; the world's other roles (Lambda trust) are made in ensure_lambda.
ROLES = {r.name: moto_statements(r.statements) for r in WORLD.roles if r.trust == "base-identity"}
LAMBDA_ROLES = [r for r in WORLD.roles if r.trust == "lambda"]
LAMBDA_EXEC_ROLE = FUNCTIONS[FUNCTION].role
# CLOUDWATCH_NOTE: the harness publishes SLO metrics and alarms with the base user's keys.
# moto checks CloudWatch actions under the signing name (`monitoring:PutMetricData`), AWS
# under `cloudwatch:`; the policy names both, as LAMBDA_NOTE does for Invoke.
CLOUDWATCH_ACTIONS = ["PutMetricData", "GetMetricStatistics", "ListMetrics", "PutMetricAlarm",
                      "DescribeAlarms", "SetAlarmState", "DeleteAlarms"]
CLOUDWATCH_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": [f"{prefix}:{a}" for prefix in ("cloudwatch", "monitoring") for a in CLOUDWATCH_ACTIONS],
        "Resource": "*",
    }],
}
TRUST = WORLD.trust_policy("base-identity", BASE_USER_ARN)
# ------------------------------------------------------------------- END MOTO ADDITIONS

PROVISIONER_CREDS = {  # any key works while IAM enforcement is off
    "aws_access_key_id": "AKIAPROVISIONER00000",
    "aws_secret_access_key": "provisioner-secret",
}


def log(msg):
    print(f"[moto-provision] {msg}", file=sys.stderr, flush=True)


def moto_api(endpoint, path, body, content_type):
    data = body if isinstance(body, bytes) else body.encode()
    req = urllib.request.Request(
        f"{endpoint}/moto-api/{path}", data=data, method="POST",
        headers={"Content-Type": content_type},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read().decode()


def set_auth(endpoint, on):
    # `inf`: never enforce; `0`: enforce from the next request on. text/plain is required
    # (a form-encoded body makes moto answer 500).
    status, body = moto_api(endpoint, "reset-auth", "0" if on else "inf", "text/plain")
    if status != 200:
        raise RuntimeError(f"reset-auth answered {status}: {body}")


def client(endpoint, service, creds):
    cfg = botocore.config.Config(
        region_name=REGION,
        retries={"max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": "path"},
        connect_timeout=5,
        read_timeout=30,
    )
    return boto3.client(service, endpoint_url=endpoint, config=cfg, **creds)


def err_code(e):
    return e.response.get("Error", {}).get("Code")


# --------------------------------------------------------------------------- provisioning
def ensure_role(iam, name, trust, statements):
    try:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    except ClientError as e:
        if err_code(e) != "EntityAlreadyExists":
            raise
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
    if statements:
        iam.put_role_policy(
            RoleName=name, PolicyName=f"{name}-policy",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )


def ensure_base_user(iam, state_file):
    try:
        iam.create_user(UserName=BASE_USER)
    except ClientError as e:
        if err_code(e) != "EntityAlreadyExists":
            raise
    iam.put_user_policy(
        UserName=BASE_USER, PolicyName="assume-agent-roles",
        PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRole",
                "Resource": [f"arn:aws:iam::{ACCOUNT}:role/{r}" for r in ROLES],
            }],
        }),
    )
    iam.put_user_policy(UserName=BASE_USER, PolicyName="publish-slo-metrics",
                        PolicyDocument=json.dumps(CLOUDWATCH_POLICY))
    keys = iam.list_access_keys(UserName=BASE_USER)["AccessKeyMetadata"]
    existing = {k["AccessKeyId"] for k in keys}
    saved = None
    if os.path.exists(state_file):
        try:
            with open(state_file) as f:
                saved = json.load(f)
        except (OSError, ValueError):
            saved = None
    if saved and saved.get("AccessKeyId") in existing:
        log(f"reusing base user key {saved['AccessKeyId']} from {state_file}")
        return saved["AccessKeyId"], saved["SecretAccessKey"]
    # A key we do not know may be another state file's (same server, other MCP_SLO_STATE):
    # leave it alone unless the user is at AWS's limit of two keys, then drop the oldest.
    for k in sorted(keys, key=lambda k: k["CreateDate"])[: max(0, len(keys) - 1)]:
        log(f"deleting the base user's oldest key {k['AccessKeyId']} (two keys at most)")
        iam.delete_access_key(UserName=BASE_USER, AccessKeyId=k["AccessKeyId"])
    key = iam.create_access_key(UserName=BASE_USER)["AccessKey"]
    os.makedirs(os.path.dirname(os.path.abspath(state_file)), exist_ok=True)
    tmp = f"{state_file}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"UserName": BASE_USER, "AccessKeyId": key["AccessKeyId"],
                   "SecretAccessKey": key["SecretAccessKey"]}, f)
    os.replace(tmp, state_file)
    log(f"created base user key {key['AccessKeyId']} (saved to {state_file})")
    return key["AccessKeyId"], key["SecretAccessKey"]


def ensure_bucket(s3):
    try:
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    except ClientError as e:
        if err_code(e) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    for key, (body, ctype) in OBJECTS.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=ctype)


def ensure_lambda(endpoint, iam, lam):
    # Must precede CreateFunction: with Docker (the default) moto tries to pull images.
    moto_api(endpoint, "config", json.dumps({"lambda": {"use_docker": False}}), "application/json")
    for role in LAMBDA_ROLES:
        ensure_role(iam, role.name, WORLD.trust_policy(role.trust, BASE_USER_ARN), role.statements)
    code = WORLD.lambda_zip()
    for name, fn in FUNCTIONS.items():
        try:
            lam.get_function(FunctionName=name)
            continue
        except ClientError as e:
            if err_code(e) != "ResourceNotFoundException":
                raise
        lam.create_function(
            FunctionName=name, Runtime=fn.runtime, Role=WORLD.role_arn(fn.role),
            Handler=fn.handler, Code={"ZipFile": code},
            Description=fn.description, Timeout=fn.timeout,
        )


def ensure_rds(sm, rds):
    try:
        sm.create_secret(Name=SECRET_NAME,
                         SecretString=json.dumps({"username": "mcp_agent", "password": "mcp_agent_dev"}))
    except ClientError as e:
        if err_code(e) != "ResourceExistsException":
            raise
    try:
        rds.describe_db_clusters(DBClusterIdentifier=CLUSTER_ID)
    except ClientError as e:
        if err_code(e) != "DBClusterNotFoundFault":
            raise
        rds.create_db_cluster(
            DBClusterIdentifier=CLUSTER_ID, Engine="aurora-postgresql", DatabaseName="agents",
            MasterUsername="mcp_agent", MasterUserPassword="mcp_agent_dev",
            EnableHttpEndpoint=True,
        )


# --------------------------------------------------------------------------- verification
class Checks:
    def __init__(self):
        self.failed = 0

    def expect_ok(self, name, fn):
        try:
            detail = fn()
            log(f"  ok    {name}{': ' + detail if detail else ''}")
            return True
        except ClientError as e:
            self.failed += 1
            log(f"  FAIL  {name}: {describe(e)}")
        except Exception as e:  # noqa: BLE001
            self.failed += 1
            log(f"  FAIL  {name}: {type(e).__name__}: {e}")
        return False

    def expect_denied(self, name, fn, codes=("AccessDenied", "AccessDeniedException")):
        try:
            fn()
        except ClientError as e:
            if err_code(e) in codes or e.response["ResponseMetadata"]["HTTPStatusCode"] == 403:
                log(f"  ok    {name} denied: {describe(e)}")
                return
            self.failed += 1
            log(f"  FAIL  {name}: unexpected error {describe(e)}")
            return
        except Exception as e:  # noqa: BLE001
            self.failed += 1
            log(f"  FAIL  {name}: {type(e).__name__}: {e}")
            return
        self.failed += 1
        log(f"  FAIL  {name}: was allowed, expected a denial")


def describe(e):
    meta = e.response.get("ResponseMetadata", {})
    headers = meta.get("HTTPHeaders", {})
    return (f"HTTP {meta.get('HTTPStatusCode')} code={err_code(e)} "
            f"content-type={headers.get('content-type', '?')}")


def assume(sts, role):
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}",
                        RoleSessionName=f"verify-{role}")["Credentials"]
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"]}


def queue_rds_result(endpoint, result):
    moto_api(endpoint, "static/rds-data/statement-results",
             json.dumps({"account_id": ACCOUNT, "region": REGION, "results": [result]}),
             "application/json")


def verify(endpoint, base):
    c = Checks()
    log("verifying with IAM enforcement on")
    sts = client(endpoint, "sts", base)
    c.expect_ok("base user GetCallerIdentity",
                lambda: sts.get_caller_identity()["Arn"])
    creds = {}
    for role in ROLES:
        def do(role=role):
            creds[role] = assume(sts, role)
            return creds[role]["aws_access_key_id"]
        c.expect_ok(f"base user AssumeRole {role}", do)
    c.expect_denied("base user AssumeRole agent-echo-exec (not in its policy)",
                    lambda: assume(sts, LAMBDA_EXEC_ROLE))
    c.expect_denied("base user s3:GetObject directly (no S3 grant)",
                    lambda: client(endpoint, "s3", base).get_object(Bucket=BUCKET, Key="daily.csv"))
    if len(creds) != len(ROLES):
        log("  cannot go on without the role credentials")
        return c.failed + 1

    s3_ok = client(endpoint, "s3", creds["agent-s3-read"])
    s3_no = client(endpoint, "s3", creds["agent-no-access"])
    c.expect_ok("agent-s3-read GetObject daily.csv",
                lambda: f"{len(s3_ok.get_object(Bucket=BUCKET, Key='daily.csv')['Body'].read())} bytes")
    c.expect_ok("agent-s3-read GetObject big.bin",
                lambda: f"{len(s3_ok.get_object(Bucket=BUCKET, Key='big.bin')['Body'].read())} bytes")
    c.expect_denied("agent-s3-read PutObject", lambda: s3_ok.put_object(Bucket=BUCKET, Key="x", Body=b"x"))
    c.expect_denied("agent-s3-read ListObjectsV2", lambda: s3_ok.list_objects_v2(Bucket=BUCKET))
    c.expect_denied("agent-no-access GetObject", lambda: s3_no.get_object(Bucket=BUCKET, Key="daily.csv"))
    s3_browse = client(endpoint, "s3", creds["agent-s3-browse"])
    c.expect_ok("agent-s3-browse ListObjectsV2 (the bucket's prefixes)",
                lambda: " ".join(p["Prefix"] for p in s3_browse.list_objects_v2(
                    Bucket=BUCKET, Delimiter="/").get("CommonPrefixes", [])))
    c.expect_denied("agent-s3-browse PutObject",
                    lambda: s3_browse.put_object(Bucket=BUCKET, Key="x", Body=b"x"))

    def missing_key():
        try:
            s3_ok.get_object(Bucket=BUCKET, Key="does-not-exist.csv")
        except ClientError as e:
            if err_code(e) == "NoSuchKey":
                return describe(e)
            raise
        raise RuntimeError("missing key was found")
    c.expect_ok("agent-s3-read GetObject missing key -> NoSuchKey", missing_key)

    lam_ok = client(endpoint, "lambda", creds["agent-lambda-invoke"])
    lam_no = client(endpoint, "lambda", creds["agent-no-access"])

    def invoke():
        r = lam_ok.invoke(FunctionName=FUNCTION, Payload=b'{"ping": 1}')
        return f"status {r['StatusCode']} payload {r['Payload'].read().decode()!r}"
    c.expect_ok("agent-lambda-invoke Invoke agent-echo", invoke)
    c.expect_ok("agent-lambda-invoke ListFunctions (a GET: server.py's signed_gets)",
                lambda: " ".join(sorted(f["FunctionName"] for f in lam_ok.list_functions()["Functions"])))
    c.expect_denied("agent-no-access ListFunctions", lambda: lam_no.list_functions())
    c.expect_denied("agent-no-access Invoke agent-echo",
                    lambda: lam_no.invoke(FunctionName=FUNCTION, Payload=b"{}"))
    c.expect_denied("agent-s3-read Invoke agent-echo",
                    lambda: client(endpoint, "lambda", creds["agent-s3-read"]).invoke(
                        FunctionName=FUNCTION, Payload=b"{}"))

    def sleep():
        t0 = time.monotonic()
        r = lam_ok.invoke(FunctionName=SLEEPER, Payload=b'{"sleep_ms": 200}')
        elapsed = time.monotonic() - t0
        payload = r["Payload"].read().decode()
        if elapsed < 0.2:
            raise RuntimeError(f"answered after {elapsed * 1000:.0f} ms: is scripts/moto/server.py "
                               "serving this port, or a plain moto_server?")
        if json.loads(payload) != {"sleep_ms": 200}:
            raise RuntimeError(f"unexpected payload {payload!r}")
        return f"{elapsed * 1000:.0f} ms, payload {payload!r}"
    c.expect_ok("agent-lambda-invoke Invoke sleeper {sleep_ms: 200}", sleep)
    c.expect_denied("agent-no-access Invoke sleeper",
                    lambda: lam_no.invoke(FunctionName=SLEEPER, Payload=b'{"sleep_ms": 200}'))

    cw = client(endpoint, "cloudwatch", base)
    c.expect_ok("base user cloudwatch DescribeAlarms",
                lambda: f"{len(cw.describe_alarms(MaxRecords=1)['MetricAlarms'])} alarm(s) on the first page")
    c.expect_denied("agent-no-access cloudwatch DescribeAlarms",
                    lambda: client(endpoint, "cloudwatch", creds["agent-no-access"]).describe_alarms())

    rd_ok = client(endpoint, "rds-data", creds["agent-rds-query"])
    rd_no = client(endpoint, "rds-data", creds["agent-no-access"])
    # A unique SQL text per run: a (resourceArn, sql) pair seen before keeps its first result
    # and would leave the queued one behind for the next test to pop.
    sql = f"SELECT 1 AS one /* provision-verify {uuid.uuid4()} */"
    c.expect_denied("agent-no-access ExecuteStatement",
                    lambda: rd_no.execute_statement(resourceArn=CLUSTER_ARN, secretArn=SECRET_ARN,
                                                    database="agents", sql=sql))
    queue_rds_result(endpoint, {
        "columnMetadata": [{"name": "one", "typeName": "int4", "type": 4}],
        "records": [[{"longValue": 1}]],
        "numberOfRecordsUpdated": 0,
    })

    def execute():
        r = rd_ok.execute_statement(resourceArn=CLUSTER_ARN, secretArn=SECRET_ARN,
                                    database="agents", sql=sql, includeResultMetadata=True)
        if r.get("records") != [[{"longValue": 1}]]:
            raise RuntimeError(f"unexpected result {r.get('records')!r}")
        return f"records {r['records']!r}"
    c.expect_ok("agent-rds-query ExecuteStatement (canned result)", execute)
    c.expect_ok("agent-rds-query DescribeDBClusters agents",
                lambda: client(endpoint, "rds", creds["agent-rds-query"]).describe_db_clusters(
                    DBClusterIdentifier=CLUSTER_ID)["DBClusters"][0]["DBClusterArn"])

    bogus = {"aws_access_key_id": "AKIABOGUSBOGUSBOGUS0", "aws_secret_access_key": "nope"}
    for svc, call in (
        ("sts", lambda cl: cl.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/agent-s3-read",
                                          RoleSessionName="bogus")),
        ("s3", lambda cl: cl.get_object(Bucket=BUCKET, Key="daily.csv")),
        ("lambda", lambda cl: cl.invoke(FunctionName=FUNCTION, Payload=b"{}")),
        ("rds-data", lambda cl: cl.execute_statement(resourceArn=CLUSTER_ARN, secretArn=SECRET_ARN,
                                                     sql="SELECT 1")),
    ):
        c.expect_denied(f"bogus access key {svc}", lambda svc=svc, call=call: call(client(endpoint, svc, bogus)),
                        codes=("InvalidClientTokenId", "InvalidAccessKeyId", "UnrecognizedClientException"))
    wrong_secret = {"aws_access_key_id": base["aws_access_key_id"], "aws_secret_access_key": "wrong"}
    c.expect_denied("base user key with a wrong secret (sts)",
                    lambda: client(endpoint, "sts", wrong_secret).assume_role(
                        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/agent-s3-read", RoleSessionName="wrong-secret"),
                    codes=("SignatureDoesNotMatch",))
    return c.failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", required=True, help="moto server URL, e.g. http://127.0.0.1:5005")
    ap.add_argument("--state-file", help="where the base user's key is kept")
    ap.add_argument("--no-verify", action="store_true", help="skip the checks at the end")
    ap.add_argument("--force", action="store_true", help="provision even if already provisioned")
    args = ap.parse_args()
    endpoint = args.endpoint.rstrip("/")
    host = urllib.parse.urlparse(endpoint).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing a non-loopback endpoint: {endpoint}")
    state_file = args.state_file or os.path.join(
        os.environ.get("MCP_SLO_STATE", os.path.expanduser("~/.cache/mcp-slo")),
        f"moto-{urllib.parse.urlparse(endpoint).port or 80}.creds.json")

    t0 = time.monotonic()
    saved = load_state(state_file)
    if saved and not args.force and already_provisioned(endpoint, saved):
        # Verify without touching anything: a warm re-run must not switch enforcement off
        # under tests that are running against this server.
        log(f"already provisioned (base user key {saved['AccessKeyId']} from {state_file}); verifying only")
        base = {"aws_access_key_id": saved["AccessKeyId"], "aws_secret_access_key": saved["SecretAccessKey"]}
        failed = verify(endpoint, base)
        if not failed:
            emit(saved["AccessKeyId"], saved["SecretAccessKey"])
            log(f"all checks passed ({time.monotonic() - t0:.2f} s)")
            return 0
        log(f"{failed} check(s) failed on the provisioned server: provisioning again")

    try:
        set_auth(endpoint, False)
        iam = client(endpoint, "iam", PROVISIONER_CREDS)
        for role, statements in ROLES.items():
            ensure_role(iam, role, TRUST, statements)
        key_id, secret = ensure_base_user(iam, state_file)
        ensure_bucket(client(endpoint, "s3", PROVISIONER_CREDS))
        ensure_lambda(endpoint, iam, client(endpoint, "lambda", PROVISIONER_CREDS))
        ensure_rds(client(endpoint, "secretsmanager", PROVISIONER_CREDS),
                   client(endpoint, "rds", PROVISIONER_CREDS))
        set_auth(endpoint, True)
    except Exception as e:  # noqa: BLE001
        log(f"provisioning failed: {type(e).__name__}: {e}")
        return 2
    log(f"provisioned in {time.monotonic() - t0:.2f} s; IAM enforcement is on")

    if not args.no_verify:
        failed = verify(endpoint, {"aws_access_key_id": key_id, "aws_secret_access_key": secret})
        if failed:
            log(f"{failed} check(s) FAILED")
            return 1
        log(f"all checks passed ({time.monotonic() - t0:.2f} s)")
    emit(key_id, secret)
    return 0


def load_state(state_file):
    try:
        with open(state_file) as f:
            saved = json.load(f)
        return saved if saved.get("AccessKeyId") and saved.get("SecretAccessKey") else None
    except (OSError, ValueError, AttributeError):
        return None


def already_provisioned(endpoint, saved):
    """True if moto knows the saved key as the base user's (GetCallerIdentity is never denied)."""
    try:
        arn = client(endpoint, "sts", {"aws_access_key_id": saved["AccessKeyId"],
                                       "aws_secret_access_key": saved["SecretAccessKey"]}
                     ).get_caller_identity()["Arn"]
    except Exception:  # noqa: BLE001
        return False
    return arn == BASE_USER_ARN


def emit(key_id, secret):
    print(f"export AWS_ACCESS_KEY_ID={key_id}")
    print(f"export AWS_SECRET_ACCESS_KEY={secret}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
