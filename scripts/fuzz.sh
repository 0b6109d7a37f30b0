#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for SECONDS each (default 60), from its committed
# seeds (fuzz/seeds/TARGET) and a scratch corpus, and prints each one's executions.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Installs cargo-fuzz (pinned) under ~/.cache/mcp-slo/cargo-fuzz the first time. Builds
# with --sanitizer none: AddressSanitizer needs a nightly compiler, which this project does
# not require; libFuzzer's coverage guidance, panics and the targets' own assertions work on
# stable. A crash stops the run with a non-zero status and leaves its input under
# fuzz/artifacts/TARGET/ (reproduce: cargo fuzz run --sanitizer none TARGET FILE); turn it
# into a regression test before fixing it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
seconds=${1:-60}
shift || true
case $seconds in ''|*[!0-9]*) echo "[fuzz] SECONDS must be a number, got '$seconds'" >&2; exit 64 ;; esac

# cargo-fuzz 0.13.2: the release whose `--sanitizer none` build on stable was measured here.
version=0.13.2
tools=${MCP_SLO_CARGO_FUZZ:-$HOME/.cache/mcp-slo/cargo-fuzz}
if ! "$tools/bin/cargo-fuzz" --version 2>/dev/null | grep -q " $version\$"; then
  echo "[fuzz] installing cargo-fuzz $version into $tools" >&2
  env -u CARGO_TARGET_DIR cargo install --quiet --locked --root "$tools" cargo-fuzz --version "$version" >&2
fi
export PATH="$tools/bin:$PATH"

cd "$root/fuzz"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target"
  log=$scratch/$target.log
  if cargo fuzz run --sanitizer none "$target" "$scratch/$target" "seeds/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "[fuzz] $target: ok, $runs executions in ${seconds} s"
  else
    status=1
    echo "[fuzz] $target: FAILED" >&2
    # What failed (the panic and where) and the input itself, so that a CI log alone
    # reproduces it: decode the base64 into a file and run it as the line below says.
    grep -m1 -A1 "panicked at" "$log" >&2 || true
    grep -m1 "ERROR: libFuzzer" "$log" >&2 || true
    inputs=$(grep -o "artifacts/$target/[a-z]*-[0-9a-f]*" "$log" | sort -u || true)
    for input in $inputs; do
      echo "[fuzz] input $input (base64): $(base64 -w0 "$input")" >&2
      echo "[fuzz] reproduce: (cd fuzz && cargo fuzz run --sanitizer none $target $input)" >&2
    done
    # No input: the build or the fuzzer itself failed; its last words say why.
    [ -n "$inputs" ] || tail -n 40 "$log" >&2
  fi
done
exit $status
