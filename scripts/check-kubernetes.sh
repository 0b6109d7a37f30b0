#!/usr/bin/env bash
# Validates the sharded-run examples without a cluster or a Docker engine:
#
#   1. every manifest in examples/kubernetes/ against the Kubernetes API schemas, strictly
#      (an unknown field is an error), with kubernetes-validate from PyPI in its own venv
#      ($MCP_SLO_KUBERNETES_VALIDATE, default ~/.cache/mcp-slo/kubernetes-validate);
#   2. what no schema says: the shard Job is Indexed, its N agrees with --shard I/N and
#      with the merge's list of shard directories, and the scenario in the ConfigMap (and
#      the compose example's) matches scenarios/schema.json and spawns no server;
#   3. examples/compose-shards/docker-compose.yml, on top of the repository's
#      docker-compose.yml, with `docker-compose config` (installed by
#      scripts/check-compose.sh when missing).
#
#   bash scripts/check-kubernetes.sh               # the committed examples
#   bash scripts/check-kubernetes.sh DIR|FILE...   # other manifests, in place of examples/kubernetes
#
# Any error, or any warning the tools print, fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[check-kubernetes] %s\n' "$*" >&2; }

# 1.37.0 is the newest kubernetes-validate; it ships the schemas of Kubernetes 1.37 and of
# every earlier release back to 1.14. Both are pinned: a newer package brings newer schemas,
# and what "valid" means should change only when this line does.
version=1.37.0
kubernetes=1.37.0
dir=${MCP_SLO_KUBERNETES_VALIDATE:-$HOME/.cache/mcp-slo/kubernetes-validate}
source scripts/venv.sh
pinned_venv check-kubernetes "$dir/venv" "kubernetes-validate==$version"
py=$dir/venv/bin/python

manifests=()
for arg in "${@:-examples/kubernetes}"; do
  if [ -d "$arg" ]; then
    for f in "$arg"/*.yaml "$arg"/*.yml; do [ -e "$f" ] && manifests+=("$f"); done
  else
    manifests+=("$arg")
  fi
done
[ "${#manifests[@]}" -gt 0 ] || { log "no manifests found in: ${*:-examples/kubernetes}"; exit 1; }

failed=0

# --- 1. the Kubernetes schemas ----------------------------------------------------------
log "kubernetes-validate $version, Kubernetes $kubernetes schemas, --strict"
for f in "${manifests[@]}"; do
  out=$("$dir/venv/bin/kubernetes-validate" --strict -k "$kubernetes" "$f" 2>&1) && rc=0 || rc=$?
  # A kind or apiVersion it has no schema for is only a WARN (exit 0): a typo there must
  # fail too.
  if [ "$rc" != 0 ] || grep -qE '^(WARN|ERROR|FATAL)' <<<"$out"; then
    log "FAIL $f:"; sed 's/^/    /' <<<"$out" >&2
    failed=1
  else
    log "ok   $f"
  fi
done

# --- 2. what the schemas cannot say -----------------------------------------------------
if ! "$py" - "${manifests[@]}" <<'PY'; then failed=1; fi
import json
import sys

import jsonschema
import yaml

failed = False


def say(ok, what):
    global failed
    failed |= not ok
    print(f"[check-kubernetes] {'ok  ' if ok else 'FAIL'} {what}", file=sys.stderr)


def find(docs, kind, name):
    for path, doc in docs:
        if doc.get("kind") == kind and doc.get("metadata", {}).get("name") == name:
            return path, doc
    say(False, f"{kind} {name}: not found in the manifests")
    return None, None


schema = jsonschema.Draft202012Validator(json.load(open("scenarios/schema.json")))


def check_scenario(where, text):
    try:
        scenario = yaml.safe_load(text)
    except yaml.YAMLError as e:
        say(False, f"{where}: not YAML: {e}")
        return
    errors = [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}"
              for e in schema.iter_errors(scenario)]
    say(not errors, f"{where}: matches scenarios/schema.json" + "".join(f"\n    {e}" for e in errors))
    if errors:
        return
    spawned = [t for t, spec in scenario["targets"].items() if "spawn" in spec]
    say(not spawned, f"{where}: no spawned target (every shard loads the one shared server)"
        + (f"; spawns {spawned}" if spawned else ""))


docs = []
for path in sys.argv[1:]:
    try:
        docs += [(path, d) for d in yaml.safe_load_all(open(path)) if d]
    except yaml.YAMLError as e:
        say(False, f"{path}: not YAML: {e}")

_, shards = find(docs, "Job", "mcp-slo-shards")
_, merge = find(docs, "Job", "mcp-slo-merge")
_, config = find(docs, "ConfigMap", "mcp-slo-shard-scenario")
if shards and merge and config:
    spec = shards["spec"]
    n = spec.get("completions")
    say(spec.get("completionMode") == "Indexed",
        f"job/mcp-slo-shards: completionMode is Indexed (found {spec.get('completionMode')!r})")
    say(isinstance(n, int) and n >= 1, f"job/mcp-slo-shards: completions (N) is set (found {n!r})")
    n = n if isinstance(n, int) and n >= 1 else 1
    say(spec.get("parallelism") == n,
        f"job/mcp-slo-shards: parallelism equals completions, {n} (found {spec.get('parallelism')!r}): every shard runs at once")
    say(spec.get("backoffLimitPerIndex") == 0 and spec.get("backoffLimit", 0) >= n,
        f"job/mcp-slo-shards: no shard is retried and no failure stops the others "
        f"(backoffLimitPerIndex {spec.get('backoffLimitPerIndex')!r}, backoffLimit {spec.get('backoffLimit')!r})")
    pod = spec["template"]["spec"]
    say(pod.get("restartPolicy") == "Never",
        f"job/mcp-slo-shards: restartPolicy Never (found {pod.get('restartPolicy')!r})")
    args = next((c.get("args", []) for c in pod.get("containers", []) if c.get("name") == "shard"), [])

    def after(flag):
        return args[args.index(flag) + 1] if flag in args[:-1] else None

    want = f"$(JOB_COMPLETION_INDEX)/{n}"
    say(args[:1] == ["run"] and after("--shard") == want,
        f"job/mcp-slo-shards: container shard runs `run ... --shard {want}` (found --shard {after('--shard')!r})")
    say(after("--out") == "/results/shard-$(JOB_COMPLETION_INDEX)",
        f"job/mcp-slo-shards: --out /results/shard-$(JOB_COMPLETION_INDEX) (found {after('--out')!r})")
    say(after("--start-at") is not None, "job/mcp-slo-shards: --start-at is given")
    margs = merge["spec"]["template"]["spec"]["containers"][0].get("args", [])
    listed = margs[1:margs.index("--out")] if "--out" in margs else margs[1:]
    expected = [f"/results/shard-{i}" for i in range(n)]
    say(margs[:1] == ["merge"] and listed == expected,
        f"job/mcp-slo-merge: merges {' '.join(expected)} (found {' '.join(listed)})")
    key = "shard-scenario.yaml"
    if key in config.get("data", {}):
        check_scenario(f"configmap/mcp-slo-shard-scenario {key}", config["data"][key])
    else:
        say(False, f"configmap/mcp-slo-shard-scenario: no key {key}")

# The compose example: one `shard` service, scaled to K replicas, each --shard auto/K
# under one --out, and a merge of the K directories auto/K can take there.
compose = yaml.safe_load(open("examples/compose-shards/docker-compose.yml"))["services"]
command = compose.get("shard", {}).get("command", [])
flag = command[command.index("--shard") + 1] if "--shard" in command[:-1] else ""
out = command[command.index("--out") + 1] if "--out" in command[:-1] else None
k = int(flag[5:]) if flag.startswith("auto/") and flag[5:].isdigit() else 0
say(k > 0 and out is not None, f"compose shard: --shard auto/K and --out (found {flag!r}, {out!r})")
mcommand = compose.get("merge", {}).get("command", [])
listed = mcommand[1:mcommand.index("--out")] if "--out" in mcommand else mcommand[1:]
expected = [f"{out}/shard-{i}" for i in range(k)]
say(k > 0 and listed == expected, f"compose merge: merges the {k} shards' directories (found {' '.join(listed)})")
check_scenario("examples/compose-shards/shard-scenario.yaml",
               open("examples/compose-shards/shard-scenario.yaml").read())
sys.exit(1 if failed else 0)
PY

# --- 3. the compose example -------------------------------------------------------------
if ! command -v docker-compose >/dev/null; then
  log "no docker-compose: scripts/check-compose.sh installs Debian's (and checks the file this one overrides)"
  bash scripts/check-compose.sh
fi
# Unset what the files interpolate (all have defaults), as check-compose.sh does.
unset MCP_AWS_CALLER_TOKENS MCP_SLO_UID MCP_SLO_GID MCP_SLO_AWS_TOKEN MCP_SLO_START_AT
compose_check() { # LABEL COMPOSE...
  local label=$1 err
  shift
  err=$(mktemp)
  if "$@" -f docker-compose.yml -f examples/compose-shards/docker-compose.yml --profile shards \
      config -q 2>"$err" && ! grep -qiE 'warn|error|invalid|unsupported' "$err"; then
    log "ok   $label"
  else
    log "FAIL $label:"; sed 's/^/    /' "$err" >&2
    failed=1
  fi
  rm -f "$err"
}
compose_check "docker-compose config (docker-compose.yml + examples/compose-shards/docker-compose.yml)" docker-compose
if docker compose version >/dev/null 2>&1; then
  compose_check "docker compose config (the same, Compose v2)" docker compose
fi

if [ "$failed" != 0 ]; then
  log "the examples are NOT valid"
  exit 1
fi
log "the examples are valid (Kubernetes $kubernetes schemas; not applied to a cluster)"
