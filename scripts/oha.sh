#!/usr/bin/env bash
# Prints the path of oha, the independent load generator `mcp-slo calibrate` and the
# benchmarks compare with, installing the pinned version first if it is not there.
# oha 1.16.0: the version the README's calibration tables were measured with; its -q
# scheduler and its JSON output (latencyPercentiles in seconds) are what calibrate reads.
# Installed under ~/.cache/mcp-slo/oha (outside the clone, kept between runs); about
# 9 minutes of compiling on 2 cores the first time.
set -euo pipefail
version=${OHA_VERSION:-1.16.0}
root=${OHA_ROOT:-$HOME/.cache/mcp-slo/oha-$version}
if [[ ! -x $root/bin/oha ]]; then
  echo "installing oha $version into $root (cargo install, once)" >&2
  env -u CARGO_TARGET_DIR cargo install --quiet --locked --root "$root" oha --version "$version" >&2
fi
echo "$root/bin/oha"
