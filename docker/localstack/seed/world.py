#!/usr/bin/env python3
"""Reads world.json (beside this file): the AWS tier's test world, one description for both
emulators. Standard library only: it runs in LocalStack's python3 as well as moto's venv.

As a module (scripts/moto/provision.py):  world = load(); world.objects, world.roles, ...
As a program (docker/localstack/ready.d/10-mcp-slo.sh):

  world.py plan WORLD_JSON OUT_DIR [--base-principal 'arn:aws:iam::{account}:root']

writes, for a shell script to loop over (fields tab-separated, the one that may be empty
last; no field holds a tab or a newline):
  world.env      ACCOUNT=, REGION=, BUCKET= (shell-quoted)
  roles.tsv      NAME  TRUST_POLICY_JSON  PERMISSION_POLICY_JSON (empty: no inline policy)
  objects.tsv    KEY  CONTENT_TYPE  FILE (in OUT_DIR/objects/)
  functions.tsv  NAME  HANDLER  TIMEOUT  RUNTIME  ROLE_ARN  DESCRIPTION
  lambda.zip     the functions' code (lambda_code, the same bytes on every run)
  topics.txt     SNS topic names
  alarms.txt     alarm files (put-metric-alarm --cli-input-json), absolute
--base-principal is the AWS principal of base-identity trust ({account} is expanded).
An error in the file exits non-zero with a message before anything is written.
"""

import io
import json
import os
import re
import shlex
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PATH = os.path.join(HERE, "world.json")
TRUST_KINDS = ("base-identity", "lambda")
PATTERNS = ("byte-ramp",)  # byte i is i mod 256
POLICY_VERSION = "2012-10-17"
# A fixed timestamp, so the zip (and the functions' CodeSha256) is the same on every run
# and in both emulators.
ZIP_DATE = (2024, 1, 1, 0, 0, 0)


class WorldError(ValueError):
    pass


class Obj:
    def __init__(self, key, content_type, body):
        self.key, self.content_type, self.body = key, content_type, body


class Role:
    def __init__(self, name, trust, statements):
        self.name, self.trust, self.statements = name, trust, statements


class Function:
    def __init__(self, name, handler, runtime, timeout, role, description):
        self.name, self.handler, self.runtime = name, handler, runtime
        self.timeout, self.role, self.description = timeout, role, description


class World:
    def __init__(self, path, account, region, bucket, objects, roles, functions, lambda_code,
                 topics, alarms):
        self.path, self.account, self.region, self.bucket = path, account, region, bucket
        self.objects, self.roles, self.functions = objects, roles, functions
        self.lambda_code, self.topics, self.alarms = lambda_code, topics, alarms

    def role(self, name):
        return next(r for r in self.roles if r.name == name)

    def role_arn(self, name):
        return f"arn:aws:iam::{self.account}:role/{name}"

    def trust_policy(self, kind, base_principal):
        """The trust document of a role of this kind; base_principal is the AWS principal ARN
        of the emulator's base identity (used by base-identity trust)."""
        principal = {"AWS": base_principal} if kind == "base-identity" else {
            "Service": "lambda.amazonaws.com"}
        return {"Version": POLICY_VERSION, "Statement": [
            {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]}

    @staticmethod
    def permission_policy(statements):
        return {"Version": POLICY_VERSION, "Statement": statements}

    def lambda_zip(self):
        """lambda_code stored (not compressed: no zlib version can change the bytes) as its
        base name, with a fixed timestamp and mode."""
        with open(self.lambda_code, "rb") as f:
            code = f.read()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            info = zipfile.ZipInfo(os.path.basename(self.lambda_code), ZIP_DATE)
            info.external_attr = 0o644 << 16
            z.writestr(info, code)
        return buf.getvalue()


def _fields(where, item, required, optional=()):
    if not isinstance(item, dict):
        raise WorldError(f"{where}: expected an object, got {type(item).__name__}")
    unknown = [k for k in item if k not in required and k not in optional and not k.startswith("_")]
    if unknown:
        raise WorldError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    missing = [k for k in required if k not in item]
    if missing:
        raise WorldError(f"{where}: missing field(s) {', '.join(missing)}")


def _text(where, value, pattern=None):
    if not isinstance(value, str) or not value:
        raise WorldError(f"{where}: expected a non-empty string")
    if "\t" in value or "\n" in value:
        raise WorldError(f"{where}: a tab or newline is not allowed here")
    if pattern and not re.fullmatch(pattern, value):
        raise WorldError(f"{where}: {value!r} does not match {pattern}")
    return value


def _expand(value, names):
    """Replaces {account}, {region} and {bucket} in every string of a JSON value."""
    if isinstance(value, str):
        for k, v in names.items():
            value = value.replace("{" + k + "}", v)
        left = re.search(r"\{[a-z_]+\}", value)
        if left:
            raise WorldError(f"unknown placeholder {left.group(0)} in {value!r}")
        return value
    if isinstance(value, list):
        return [_expand(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, names) for k, v in value.items()}
    return value


def _body(where, obj):
    kinds = [k for k in ("text", "hex", "pattern") if k in obj]
    if len(kinds) != 1:
        raise WorldError(f"{where}: give exactly one of text, hex, pattern (got {kinds or 'none'})")
    kind = kinds[0]
    value = obj[kind]
    if kind == "text":
        if not isinstance(value, str):
            raise WorldError(f"{where}.text: expected a string")
        return value.encode("utf-8")
    if kind == "hex":
        try:
            return bytes.fromhex(value)
        except (TypeError, ValueError) as e:
            raise WorldError(f"{where}.hex: {e}") from None
    _fields(f"{where}.pattern", value, ("kind", "size"))
    if value["kind"] not in PATTERNS:
        raise WorldError(f"{where}.pattern.kind: {value['kind']!r} is none of {', '.join(PATTERNS)}")
    size = value["size"]
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise WorldError(f"{where}.pattern.size: expected a positive integer")
    ramp = bytes(range(256))
    return (ramp * (size // 256 + 1))[:size]


def load(path=DEFAULT_PATH):
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError) as e:
        raise WorldError(f"{path}: {e}") from None
    _fields("world", raw, ("account", "region", "bucket", "objects", "roles", "lambda_code",
                           "functions", "topics", "alarms"))
    account = _text("account", raw["account"], r"[0-9]{12}")
    region = _text("region", raw["region"], r"[a-z]{2}(-[a-z]+)+-[0-9]")
    bucket = _text("bucket", raw["bucket"], r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
    names = {"account": account, "region": region, "bucket": bucket}
    base = os.path.dirname(os.path.abspath(path))

    def unique(where, items, key):
        seen = set()
        for item in items:
            if item[key] in seen:
                raise WorldError(f"{where}: {item[key]!r} appears twice")
            seen.add(item[key])

    def listed(where, value):
        if not isinstance(value, list):
            raise WorldError(f"{where}: expected a list")
        return value

    objects = []
    for i, o in enumerate(listed("objects", raw["objects"])):
        where = f"objects[{i}]"
        _fields(where, o, ("key", "content_type"), ("text", "hex", "pattern"))
        objects.append(Obj(_text(f"{where}.key", o["key"]),
                           _text(f"{where}.content_type", o["content_type"]), _body(where, o)))
    unique("objects", [{"key": o.key} for o in objects], "key")

    roles = []
    for i, r in enumerate(listed("roles", raw["roles"])):
        where = f"roles[{i}]"
        _fields(where, r, ("name", "trust", "statements"))
        if r["trust"] not in TRUST_KINDS:
            raise WorldError(f"{where}.trust: {r['trust']!r} is none of {', '.join(TRUST_KINDS)}")
        statements = listed(f"{where}.statements", r["statements"])
        for j, s in enumerate(statements):
            _fields(f"{where}.statements[{j}]", s, ("Effect", "Action", "Resource"), ("Condition", "Sid"))
        roles.append(Role(_text(f"{where}.name", r["name"], r"[\w+=,.@-]{1,64}"), r["trust"],
                          _expand(statements, names)))
    unique("roles", [{"name": r.name} for r in roles], "name")

    lambda_code = os.path.join(base, _text("lambda_code", raw["lambda_code"]))
    if not os.path.isfile(lambda_code):
        raise WorldError(f"lambda_code: no file {lambda_code}")
    functions = []
    role_names = {r.name for r in roles}
    for i, f in enumerate(listed("functions", raw["functions"])):
        where = f"functions[{i}]"
        _fields(where, f, ("name", "handler", "runtime", "timeout", "role", "description"))
        timeout = f["timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= 900:
            raise WorldError(f"{where}.timeout: expected whole seconds, 1..900")
        if f["role"] not in role_names:
            raise WorldError(f"{where}.role: {f['role']!r} is not a role of this file")
        functions.append(Function(_text(f"{where}.name", f["name"], r"[A-Za-z0-9_-]{1,64}"),
                                  _text(f"{where}.handler", f["handler"]),
                                  _text(f"{where}.runtime", f["runtime"]), timeout, f["role"],
                                  _text(f"{where}.description", f["description"])))
    unique("functions", [{"name": f.name} for f in functions], "name")

    topics = [_text(f"topics[{i}]", t, r"[A-Za-z0-9_-]{1,256}")
              for i, t in enumerate(listed("topics", raw["topics"]))]
    alarms = []
    for i, a in enumerate(listed("alarms", raw["alarms"])):
        full = os.path.join(base, _text(f"alarms[{i}]", a))
        if not os.path.isfile(full):
            raise WorldError(f"alarms[{i}]: no file {full}")
        alarms.append(full)
    return World(os.path.abspath(path), account, region, bucket, objects, roles, functions,
                 lambda_code, topics, alarms)


def plan(path, out, base_principal):
    world = load(path)
    base_principal = base_principal.replace("{account}", world.account)
    os.makedirs(os.path.join(out, "objects"), exist_ok=True)

    def write(name, lines):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)

    def compact(doc):
        return json.dumps(doc, separators=(",", ":"))

    write("world.env", [f"{k}={shlex.quote(v)}" for k, v in
                        (("ACCOUNT", world.account), ("REGION", world.region), ("BUCKET", world.bucket))])
    write("roles.tsv", ["\t".join((r.name, compact(world.trust_policy(r.trust, base_principal)),
                                   compact(world.permission_policy(r.statements)) if r.statements else ""))
                        for r in world.roles])
    lines = []
    for i, o in enumerate(world.objects):
        name = f"{i}.bin"
        with open(os.path.join(out, "objects", name), "wb") as f:
            f.write(o.body)
        lines.append("\t".join((o.key, o.content_type, os.path.join(out, "objects", name))))
    write("objects.tsv", lines)
    write("functions.tsv", ["\t".join((f.name, f.handler, str(f.timeout), f.runtime,
                                       world.role_arn(f.role), f.description))
                            for f in world.functions])
    with open(os.path.join(out, "lambda.zip"), "wb") as f:
        f.write(world.lambda_zip())
    write("topics.txt", world.topics)
    write("alarms.txt", world.alarms)


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="expand the world file into files a shell script loops over")
    p.add_argument("world")
    p.add_argument("out")
    p.add_argument("--base-principal", default="arn:aws:iam::{account}:root")
    args = ap.parse_args(argv)
    try:
        plan(args.world, args.out, args.base_principal)
    except WorldError as e:
        print(f"world.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
