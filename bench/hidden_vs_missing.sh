#!/usr/bin/env bash
# Probe: does a hidden record answer 404 in the same time as a missing one? Not part of CI
# or `cargo test` (timings depend on the machine); the figures go into docs/threat-model.md
# ("Timing of hidden vs missing records").
#
#   bench/hidden_vs_missing.sh                  # 1,000 alternating samples per pair
#   SAMPLES=300 bench/hidden_vs_missing.sh
#   FSYNC=false bench/hidden_vs_missing.sh      # without the audit log's fsync (less noise)
#   SKIP_BUILD=1 bench/hidden_vs_missing.sh     # the release binary as it is
#
# Builds crmgate in release mode, runs `crmgate demo` (the embedded demo CRM and crmgate
# with the shipped policies) from a copy of policies/ and certs/ in a temporary directory,
# and runs bench/hidden_vs_missing.py against it: as holly (prospect_management), contact
# 1001 (a customer: hidden) against 1900 (no such contact), and 1900 against 1950 as the
# control.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/crmgate-target}"
SAMPLES="${SAMPLES:-1000}"
FSYNC="${FSYNC:-true}"

# SKIP_BUILD=1: use the release binary already in $CARGO_TARGET_DIR.
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --release --locked --bin crmgate
fi

work="$(mktemp -d)"
cleanup() {
  if [ -n "${demo_pid:-}" ]; then kill "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cp -r policies certs "$work/"
sed -i "s/^fsync = true/fsync = $FSYNC/" "$work/policies/crmgate.toml"

token="probe-$RANDOM$RANDOM$RANDOM"
CRMGATE_UPSTREAM_TOKEN="$token" "$CARGO_TARGET_DIR/release/crmgate" demo --config "$work/policies/crmgate.toml" \
  --listen 127.0.0.1:0 >"$work/demo.out" 2>"$work/demo.err" &
demo_pid=$!
port=""
for _ in $(seq 1 100); do
  port="$(sed -n 's/.*crmgate (TLS, example policies): *https:\/\/localhost:\([0-9]*\).*/\1/p' "$work/demo.out")"
  if [ -n "$port" ] && grep -q "Serving until" "$work/demo.out"; then break; fi
  sleep 0.1
done
crm_port="$(sed -n 's/.*demo CRM .*http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/demo.out")"
if [ -z "$port" ]; then
  cat "$work/demo.out" "$work/demo.err" >&2
  echo "the demo did not start" >&2
  exit 1
fi

python3 bench/hidden_vs_missing.py --port "$port" --ca certs/ca.pem \
  --audit "$work/var/audit" --samples "$SAMPLES" \
  --crm-port "$crm_port" --crm-token "$token" "$@"
