#!/usr/bin/env python3
"""List what an AWS emulator holds, as JSON on stdout, for comparing with
docker/localstack/seed/world.json (servers/core/tests/compose/world/ does).

Usage: inventory.py --endpoint http://127.0.0.1:PORT [--region ap-northeast-1] [--objects-dir DIR]

Works against moto (IAM enforcement off, or switched off first with --moto-auth-off) and,
by hand, against LocalStack (--endpoint http://127.0.0.1:4566). The credentials are the
account id as access key (what LocalStack takes as the account) and any secret.

{
  "users":     [name, ...],
  "roles":     {name: {"trust": doc, "policies": {policy name: doc}, "attached": [arn, ...]}},
  "buckets":   {name: {"region": location or null,
                       "objects": {key: {"size", "content_type", "sha256", "file"}}}},
  "functions": {name: {"runtime", "handler", "timeout", "description", "role", "state",
                       "code_sha256", "code_size"}},
  "topics":    [arn, ...],
  "alarms":    {name: DescribeAlarms' MetricAlarm, timestamps as ISO text}
}
"file" is where the object's bytes were saved (under --objects-dir), or null.
"""

import argparse
import hashlib
import json
import os
import sys
import urllib.parse
import urllib.request

import boto3
import botocore.config


def client(endpoint, region, service):
    cfg = botocore.config.Config(region_name=region, retries={"max_attempts": 2, "mode": "standard"},
                                 s3={"addressing_style": "path"}, connect_timeout=5, read_timeout=60)
    return boto3.client(service, endpoint_url=endpoint, config=cfg,
                        aws_access_key_id="123456789012", aws_secret_access_key="test")


def pages(c, op, key, **kwargs):
    for page in c.get_paginator(op).paginate(**kwargs):
        yield from page.get(key, [])


def as_doc(value):
    """A policy document as boto3 returns it (decoded already, or URL-encoded JSON text)."""
    if isinstance(value, str):
        return json.loads(urllib.parse.unquote(value))
    return value


def inventory(endpoint, region, objects_dir):
    iam = client(endpoint, region, "iam")
    out = {"users": sorted(u["UserName"] for u in pages(iam, "list_users", "Users"))}

    roles = {}
    for r in pages(iam, "list_roles", "Roles"):
        name = r["RoleName"]
        policies = {p: as_doc(iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"])
                    for p in pages(iam, "list_role_policies", "PolicyNames", RoleName=name)}
        attached = sorted(p["PolicyArn"] for p in
                          pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name))
        roles[name] = {"trust": as_doc(r["AssumeRolePolicyDocument"]), "policies": policies,
                       "attached": attached}
    out["roles"] = roles

    s3 = client(endpoint, region, "s3")
    buckets = {}
    for b in s3.list_buckets().get("Buckets", []):
        name = b["Name"]
        objects = {}
        for o in pages(s3, "list_objects_v2", "Contents", Bucket=name):
            got = s3.get_object(Bucket=name, Key=o["Key"])
            body = got["Body"].read()
            saved = None
            if objects_dir:
                saved = os.path.join(objects_dir, name, o["Key"])
                os.makedirs(os.path.dirname(saved), exist_ok=True)
                with open(saved, "wb") as f:
                    f.write(body)
            objects[o["Key"]] = {"size": len(body), "content_type": got.get("ContentType"),
                                 "sha256": hashlib.sha256(body).hexdigest(), "file": saved}
        location = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
        buckets[name] = {"region": location, "objects": objects}
    out["buckets"] = buckets

    lam = client(endpoint, region, "lambda")
    functions = {}
    for f in pages(lam, "list_functions", "Functions"):
        conf = lam.get_function(FunctionName=f["FunctionName"])["Configuration"]
        functions[conf["FunctionName"]] = {
            "runtime": conf.get("Runtime"), "handler": conf.get("Handler"),
            "timeout": conf.get("Timeout"), "description": conf.get("Description"),
            "role": conf.get("Role"), "state": conf.get("State"),
            "code_sha256": conf.get("CodeSha256"), "code_size": conf.get("CodeSize"),
        }
    out["functions"] = functions

    sns = client(endpoint, region, "sns")
    out["topics"] = sorted(t["TopicArn"] for t in pages(sns, "list_topics", "Topics"))

    cw = client(endpoint, region, "cloudwatch")
    out["alarms"] = {a["AlarmName"]: a for a in pages(cw, "describe_alarms", "MetricAlarms")}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="ap-northeast-1")
    ap.add_argument("--objects-dir", help="save each object's bytes under DIR/BUCKET/KEY")
    ap.add_argument("--moto-auth-off", action="store_true",
                    help="switch moto's IAM enforcement off first (POST /moto-api/reset-auth inf)")
    args = ap.parse_args()
    endpoint = args.endpoint.rstrip("/")
    if urllib.parse.urlparse(endpoint).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing a non-loopback endpoint: {endpoint}")
    if args.moto_auth_off:
        req = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"inf", method="POST",
                                     headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            if resp.status != 200:
                sys.exit(f"reset-auth answered {resp.status}")
    json.dump(inventory(endpoint, args.region, args.objects_dir), sys.stdout, indent=1,
              sort_keys=True, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
