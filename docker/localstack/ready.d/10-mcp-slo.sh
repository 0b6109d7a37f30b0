#!/bin/bash
# LocalStack READY hook (mounted at /etc/localstack/init/ready.d): creates what the AWS tier
# (config/aws_managed_mcp_config.yaml) and the alarms (config/cloudwatch_alarms.yaml) need,
# as described by seed/world.json, the file scripts/moto/provision.py reads for moto too.
# seed/world.py (LocalStack's python3) checks the file and expands it into lists this
# script loops over:
#
#   * IAM roles (agent-s3-read, agent-rds-query, agent-lambda-invoke, agent-no-access: the
#     tools' iam_role ARNs and the denial role; agent-echo-exec: the functions' execution
#     role) with the file's inline policies;
#   * the S3 bucket mcp-slo-reports and its objects (daily.csv, chart.png, big.bin of 2 MiB,
#     notes/readme.txt);
#   * the Lambda functions agent-echo and sleeper (the tool's allowed_functions; python3.12,
#     seed/lambda/handlers.py), each invoked once to prove it runs;
#   * the SNS topic agent-alarms (the alarms' alarm_action) and the CloudWatch alarms
#     high_error_rate and high_latency (seed/alarms/*.json, checked against
#     config/cloudwatch_alarms.yaml by servers/core/tests/compose/resources.rs). These two
#     are LocalStack's alone: provision.py gives moto neither.
#
# Everything lives in the file's account 123456789012 (LocalStack takes a 12-digit access key
# id as the account id), the account the config's role ARNs name, and its region
# ap-northeast-1 (the config's region). The roles' base-identity trust names this account's
# root, the AWS tier's base identity here (AWS_ACCESS_KEY_ID=123456789012 in
# docker-compose.yml); moto's base identity is a user instead, which provision.py adds.
# LocalStack's community edition does not enforce IAM: the roles are assumed for real (STS
# issues per-role credentials) but their policies are not checked.
#
# On success the script writes /run/mcp-slo/provisioned (a tmpfs, so a restarted container
# starts unhealthy again); the compose health check waits for it. Any failure, a bad world
# file included, stops the script before the marker (LocalStack marks it ERROR) and leaves
# the service unhealthy. servers/core/tests/compose/world/ runs this script against moto
# (awslocal pointed at it) and compares what it created with world.json.
set -euo pipefail

SEED=${MCP_SLO_SEED:-/opt/mcp-slo/seed}
MARKER_DIR=${MCP_SLO_MARKER_DIR:-/run/mcp-slo}
MARKER=$MARKER_DIR/provisioned

log() { echo "[mcp-slo-init] $*"; }
mkdir -p "$MARKER_DIR"
rm -f "$MARKER"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 "$SEED/world.py" plan "$SEED/world.json" "$work" --base-principal 'arn:aws:iam::{account}:root'
# shellcheck disable=SC1091  # ACCOUNT, REGION, BUCKET
source "$work/world.env"
export AWS_ACCESS_KEY_ID=$ACCOUNT AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=$REGION
export AWS_PAGER=""

# The loops read their lists on fd 3, so no command in them can consume the list.

# --- IAM -------------------------------------------------------------------------------
ensure_role() { # NAME TRUST [POLICY]
  local name=$1 trust=$2 policy=${3:-}
  if ! awslocal iam get-role --role-name "$name" >/dev/null 2>&1; then
    awslocal iam create-role --role-name "$name" --assume-role-policy-document "$trust" >/dev/null
  fi
  if [ -n "$policy" ]; then
    awslocal iam put-role-policy --role-name "$name" --policy-name "$name-policy" \
      --policy-document "$policy"
  fi
  log "role $name"
}
while IFS=$'\t' read -r -u 3 name trust policy; do
  ensure_role "$name" "$trust" "$policy"
done 3<"$work/roles.tsv"

# --- S3 --------------------------------------------------------------------------------
awslocal s3api head-bucket --bucket "$BUCKET" >/dev/null 2>&1 ||
  awslocal s3api create-bucket --bucket "$BUCKET" \
    --create-bucket-configuration "LocationConstraint=$REGION" >/dev/null
put() { # KEY FILE CONTENT-TYPE
  awslocal s3api put-object --bucket "$BUCKET" --key "$1" --body "$2" --content-type "$3" >/dev/null
  log "s3://$BUCKET/$1 ($(wc -c <"$2") bytes)"
}
while IFS=$'\t' read -r -u 3 key ctype file; do
  put "$key" "$file" "$ctype"
done 3<"$work/objects.tsv"

# --- Lambda ----------------------------------------------------------------------------
ensure_function() { # NAME HANDLER TIMEOUT RUNTIME ROLE_ARN DESCRIPTION
  if ! awslocal lambda get-function --function-name "$1" >/dev/null 2>&1; then
    awslocal lambda create-function --function-name "$1" --runtime "$4" \
      --role "$5" --handler "$2" \
      --zip-file "fileb://$work/lambda.zip" --timeout "$3" --description "$6" >/dev/null
  fi
  local state=
  # Pending while LocalStack pulls the runtime image.
  for _ in $(seq 1 300); do
    state=$(awslocal lambda get-function --function-name "$1" --query Configuration.State --output text)
    [ "$state" = Active ] && break
    sleep 1
  done
  [ "$state" = Active ] || { log "function $1 is $state after 300 s"; return 1; }
  # One real invocation, in a container started through the mounted Docker socket.
  printf '{"check": "%s"}' "$1" >"$work/payload.json"
  awslocal lambda invoke --cli-read-timeout 300 --function-name "$1" --payload "fileb://$work/payload.json" \
    "$work/answer.json" >"$work/invoke.json"
  if grep -q FunctionError "$work/invoke.json" || ! grep -q "\"check\": *\"$1\"" "$work/answer.json"; then
    log "function $1 did not echo its payload: $(cat "$work/invoke.json" "$work/answer.json")"
    return 1
  fi
  log "function $1 (Active, invocation echoed)"
}
while IFS=$'\t' read -r -u 3 name handler timeout runtime role description; do
  ensure_function "$name" "$handler" "$timeout" "$runtime" "$role" "$description"
done 3<"$work/functions.tsv"

# --- SNS + CloudWatch ------------------------------------------------------------------
while read -r -u 3 topic; do
  awslocal sns create-topic --name "$topic" >/dev/null
  log "sns topic $topic"
done 3<"$work/topics.txt"
while read -r -u 3 alarm; do
  awslocal cloudwatch put-metric-alarm --cli-input-json "file://$alarm"
  log "alarm $(basename "$alarm" .json)"
done 3<"$work/alarms.txt"

touch "$MARKER"
log "provisioned (account $ACCOUNT, region $REGION)"
