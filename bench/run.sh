#!/usr/bin/env bash
# crmgate benchmark: one command, from a clean clone. Not part of CI or `cargo test`.
#
#   bench/run.sh                 # 3 repetitions of 10 s per scenario (about 6 minutes)
#   DURATION=5 REPS=2 bench/run.sh
#
# Installs wrk, nginx-light and python3 from Debian packages when missing, builds crmgate and
# the static upstream in release mode, starts everything on 127.0.0.1 and prints a Markdown
# table (also written to var/bench/results.md). See bench/bench.py for what is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/crmgate-target}"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  # A package install may start a system nginx; the benchmark runs its own.
fi

# The pass-through reference routes exist only in a build with `bench-reference`.
cargo build --release --locked --features bench-reference --bin crmgate --example bench_upstream
python3 bench/bench.py "$CARGO_TARGET_DIR/release"
exec python3 bench/paging.py "$CARGO_TARGET_DIR/release"
