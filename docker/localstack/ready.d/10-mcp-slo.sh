#!/bin/bash
# LocalStack READY hook (mounted at /etc/localstack/init/ready.d): creates what the AWS tier
# (config/aws_managed_mcp_config.yaml) and the alarms (config/cloudwatch_alarms.yaml) need,
# the same set scripts/moto/provision.py gives moto for the tests:
#
#   * IAM roles agent-s3-read, agent-rds-query, agent-lambda-invoke (the tools' iam_role
#     ARNs) and agent-no-access, with provision.py's policies, plus agent-echo-exec (the
#     functions' execution role);
#   * S3 bucket mcp-slo-reports with daily.csv, chart.png, big.bin (2 MiB) and
#     notes/readme.txt (provision.py's contents);
#   * Lambda functions agent-echo and sleeper (the tool's allowed_functions; python3.12,
#     seed/lambda/handlers.py), each invoked once to prove it runs;
#   * SNS topic agent-alarms (the alarms' alarm_action) and the CloudWatch alarms
#     high_error_rate and high_latency (seed/alarms/*.json, checked against
#     config/cloudwatch_alarms.yaml by servers/core/tests/compose.rs).
#
# Everything lives in account 123456789012 (LocalStack takes a 12-digit access key id as the
# account id), the account the config's role ARNs name, and region ap-northeast-1 (the
# config's region). LocalStack's community edition does not enforce IAM: the roles are
# assumed for real (STS issues per-role credentials) but their policies are not checked.
#
# On success the script writes /run/mcp-slo/provisioned (a tmpfs, so a restarted container
# starts unhealthy again); the compose health check waits for it. Any failure stops the
# script (LocalStack marks it ERROR) and leaves the service unhealthy.
set -euo pipefail

export AWS_ACCESS_KEY_ID=123456789012 AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=ap-northeast-1
export AWS_PAGER=""
ACCOUNT=123456789012
REGION=ap-northeast-1
BUCKET=mcp-slo-reports
SEED=${MCP_SLO_SEED:-/opt/mcp-slo/seed}
MARKER_DIR=${MCP_SLO_MARKER_DIR:-/run/mcp-slo}
MARKER=$MARKER_DIR/provisioned

log() { echo "[mcp-slo-init] $*"; }
mkdir -p "$MARKER_DIR"
rm -f "$MARKER"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- IAM -------------------------------------------------------------------------------
# The AWS tier's base identity is this account's root key (AWS_ACCESS_KEY_ID=123456789012 in
# docker-compose.yml); the trust policies name it.
TRUST='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::'$ACCOUNT':root"},"Action":"sts:AssumeRole"}]}'
LAMBDA_TRUST='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
FN_ARN=arn:aws:lambda:$REGION:$ACCOUNT:function

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
ensure_role agent-s3-read "$TRUST" \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::'$BUCKET'/*"}]}'
ensure_role agent-rds-query "$TRUST" \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["rds-data:ExecuteStatement","rds:DescribeDBClusters"],"Resource":"*"}]}'
ensure_role agent-lambda-invoke "$TRUST" \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":["'$FN_ARN':agent-echo","'$FN_ARN':agent-echo:*","'$FN_ARN':sleeper","'$FN_ARN':sleeper:*"]}]}'
ensure_role agent-no-access "$TRUST"
ensure_role agent-echo-exec "$LAMBDA_TRUST"

# --- S3 --------------------------------------------------------------------------------
awslocal s3api head-bucket --bucket "$BUCKET" >/dev/null 2>&1 ||
  awslocal s3api create-bucket --bucket "$BUCKET" \
    --create-bucket-configuration "LocationConstraint=$REGION" >/dev/null
printf 'date,agent,requests,errors,p99_ms\n2024-06-01,orders-agent,1200,3,84\n2024-06-01,billing-agent,860,0,61\n2024-06-02,orders-agent,1315,1,79\n' \
  >"$work/daily.csv"
# An 8-byte PNG signature plus an IHDR chunk for a 1x1 image (33 bytes).
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89' \
  >"$work/chart.png"
# 2 MiB: the bytes 0..255 repeated, as provision.py's big.bin.
for i in $(seq 0 255); do printf "\\$(printf '%03o' "$i")"; done >"$work/big.bin"
for _ in $(seq 13); do cat "$work/big.bin" "$work/big.bin" >"$work/next" && mv "$work/next" "$work/big.bin"; done
printf 'Reports bucket for mcp-slo AWS-tier tests. Provisioned by docker/localstack/ready.d/10-mcp-slo.sh.\n' \
  >"$work/readme.txt"
put() { # KEY FILE CONTENT-TYPE
  awslocal s3api put-object --bucket "$BUCKET" --key "$1" --body "$2" --content-type "$3" >/dev/null
  log "s3://$BUCKET/$1 ($(wc -c <"$2") bytes)"
}
put daily.csv "$work/daily.csv" text/csv
put chart.png "$work/chart.png" image/png
put big.bin "$work/big.bin" application/octet-stream
put notes/readme.txt "$work/readme.txt" text/plain

# --- Lambda ----------------------------------------------------------------------------
(cd "$SEED/lambda" && python3 -m zipfile -c "$work/handlers.zip" handlers.py)
ensure_function() { # NAME HANDLER TIMEOUT DESCRIPTION
  if ! awslocal lambda get-function --function-name "$1" >/dev/null 2>&1; then
    awslocal lambda create-function --function-name "$1" --runtime python3.12 \
      --role "arn:aws:iam::$ACCOUNT:role/agent-echo-exec" --handler "$2" \
      --zip-file "fileb://$work/handlers.zip" --timeout "$3" --description "$4" >/dev/null
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
ensure_function agent-echo handlers.echo 3 "echo function for the mcp-slo AWS tier"
ensure_function sleeper handlers.sleeper 60 "echo after sleep_ms, for the AWS tier's boundary probes"

# --- SNS + CloudWatch ------------------------------------------------------------------
awslocal sns create-topic --name agent-alarms >/dev/null
log "sns topic agent-alarms"
for alarm in "$SEED"/alarms/*.json; do
  awslocal cloudwatch put-metric-alarm --cli-input-json "file://$alarm"
  log "alarm $(basename "$alarm" .json)"
done

touch "$MARKER"
log "provisioned (account $ACCOUNT, region $REGION)"
