#!/usr/bin/env bash
# Profile crmgate under callgrind (instruction counts: stable on a busy machine).
#
#   bench/profile.sh [list|single|passthrough-list|passthrough-single] [REQUESTS]
#   bench/profile.sh [create|batch_update|search|scale-N|passthrough-scale-N] [REQUESTS]
#
# The POST kinds send bench/bench.py's bodies as its scenarios do (create: the wish-list
# form's key, a 2 KB wish text to redact; batch_update: noelle, 100 contacts; search: the
# persona, `lifecyclestage EQ customer`); scale-N: the page of N records (10, 100, 1000, 5000).
#
# Starts the benchmark's static upstream and one crmgate (audit without fsync) under
# `valgrind --tool=callgrind`, sends REQUESTS (default 200) requests one after another after
# 20 warm-up requests, stops crmgate and prints the functions with the most inclusive
# instructions. Needs a previous bench/run.sh build (or the same cargo build) and valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/crmgate-target}"
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
BIN="$CARGO_TARGET_DIR/release"
KIND="${1:-list}"
N="${2:-200}"
PORT="${BENCH_PORT:-18490}"
DIR=var/profile
rm -rf "$DIR" && mkdir -p "$DIR"
"$BIN/examples/bench_upstream" "$DIR" "$PORT" $((PORT + 2)) $((PORT + 3)) >"$DIR/upstream.out" &
UP=$!
trap 'kill $UP ${GATE:-} 2>/dev/null || true' EXIT
until grep -q ready "$DIR/upstream.out" 2>/dev/null; do sleep 0.1; done
RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$DIR/callgrind.out" \
  "$BIN/crmgate" serve --config "$DIR/crmgate.toml" 2>"$DIR/valgrind.log" &
GATE=$!
until (exec 3<>/dev/tcp/127.0.0.1/$((PORT + 2))) 2>/dev/null; do sleep 0.2; done
PROPS=$(python3 -c 'import json,sys;print(",".join(json.load(open(sys.argv[1]))["properties"]))' "$DIR/single.json")
H=(-H "Authorization: Bearer demo-key-${PERSONA:-holly}" -H "X-Purpose: ${PURPOSE:-contract_fulfilment}")
case "$KIND" in
  list) P="/crm/v3/objects/contacts?limit=100&properties=$PROPS" ;;
  single) P="/crm/v3/objects/contacts/1001?properties=$PROPS" ;;
  passthrough-list) P="/passthrough/crm/v3/objects/contacts?limit=100&properties=$PROPS" ;;
  passthrough-single) P="/passthrough/crm/v3/objects/contacts/1001?properties=$PROPS" ;;
  scale-*) P="/bench/contacts-${KIND#scale-}" ;;
  passthrough-scale-*) P="/passthrough/bench/contacts-${KIND#passthrough-scale-}" ;;
  create) P="/crm/v3/objects/contacts"; H=(-H "Authorization: Bearer demo-key-wishlist") ;;
  batch_update)
    P="/crm/v3/objects/contacts/batch/update"
    H=(-H "Authorization: Bearer demo-key-noelle" -H "X-Purpose: contract_fulfilment") ;;
  search) P="/crm/v3/objects/contacts/search" ;;
  *) echo "unknown kind $KIND" >&2; exit 2 ;;
esac
case "$KIND" in
  create|batch_update|search)
    python3 -c 'import json, sys; sys.path.insert(0, "bench"); import bench
props = list(json.load(open(sys.argv[1]))["properties"])
print(json.dumps(bench.post_bodies(props)[sys.argv[2]]))' "$DIR/single.json" "$KIND" >"$DIR/body.json"
    H+=(-X POST -H "Content-Type: application/json" --data-binary "@$DIR/body.json") ;;
esac
URL="http://127.0.0.1:$((PORT + 2))$P"
for _ in $(seq 20); do curl -sf -o /dev/null "${H[@]}" "$URL"; done
callgrind_control -z "$GATE" >/dev/null
for _ in $(seq "$N"); do curl -sf -o /dev/null "${H[@]}" "$URL"; done
callgrind_control -d "$GATE" >/dev/null
kill "$GATE"; wait "$GATE" 2>/dev/null || true
# The dump taken after the measured requests (callgrind.out.1), not the one at exit.
OUT="$DIR/callgrind.out.1"
echo "== $KIND: $N requests; instructions per request and top inclusive functions ($OUT)"
callgrind_annotate --inclusive=yes "$OUT" 2>/dev/null | awk -v n="$N" '
  /PROGRAM TOTALS/ { gsub(",", "", $1); printf "total: %.0f instructions per request\n", $1 / n }
  /^ *[0-9,]+ \(/ && shown < 45 { print; shown++ }'
