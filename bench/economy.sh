#!/usr/bin/env bash
# crmgate in front of a real-size CRM: one command. Not part of CI or `cargo test`.
#
#   bench/economy.sh                          # 1,000,000 contacts, 150 ms round trip
#   CONTACTS=10000 RTT_MS=20 bench/economy.sh
#   QUICK=1 bench/economy.sh                  # CI size: 10,000 contacts, 20 ms, one round
#
# Builds crmgate and the HubSpot-shaped upstream (examples/economy_upstream.rs) in release
# mode, starts both on 127.0.0.1 and prints a Markdown table per persona and route, ending
# with `economy: mean M max X crm-429 N client-429 K added-p50 P%` (see bench/economy.py).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/crmgate-target}"
if [ -n "${QUICK:-}" ]; then
  export CONTACTS="${CONTACTS:-10000}" RTT_MS="${RTT_MS:-20}" ROUNDS="${ROUNDS:-1}" \
    PACE_S="${PACE_S:-2}" OVER_S="${OVER_S:-3}"
fi
command -v python3 >/dev/null || { echo "economy.sh needs python3" >&2; exit 1; }
cargo build --release --locked --bin crmgate --example economy_upstream
exec python3 bench/economy.py "$CARGO_TARGET_DIR/release"
