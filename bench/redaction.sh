#!/bin/sh
# A 2 KB scan plus redaction, before and after, in the same run: the ignored test
# `scan_time_of_a_2kb_text` of BASE (default `7e01d04^1`, main just before the first
# round of the whole-finding redaction, in a temporary worktree) and of this tree, in the
# order A B B A, each run averaging 2000 scans. Usage:
#
#   bench/redaction.sh [BASE]              # release build (what production runs)
#   PROFILE=dev bench/redaction.sh [BASE]  # the test profile, quicker to build
#   BEFORE_BIN=path bench/redaction.sh     # reuse a kept test binary of BASE
#
# Builds run under the shared cargo lock when `flock` and CARGO_LOCK (default
# /tmp/crmgate-cargo.lock) are there, and so do the timed runs (a quiet machine).
#
# Prints one line per run and the ratio after/before of the means. Both sides share
# CARGO_TARGET_DIR, so dependencies are built once; each side's test binary is kept aside.
set -eu
base=${1:-7e01d04^1}
lock=${CARGO_LOCK:-/tmp/crmgate-cargo.lock}
locked() {
    if command -v flock >/dev/null; then flock "$lock" "$@"; else "$@"; fi
}
profile=${PROFILE:-release}
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
[ -n "${BEFORE_BIN:-}" ] || git -C "$root" worktree add --detach "$tmp/base" "$base" >/dev/null 2>&1
cleanup() {
    git -C "$root" worktree remove --force "$tmp/base" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
flag=""
[ "$profile" = release ] && flag=--release
# Build each side and keep its test binary: both sides share CARGO_TARGET_DIR (and the same
# artifact name), so a build of one would otherwise stand for the other. Touching the
# sources makes cargo rebuild the side it is asked for.
build() {
    touch "$1/src/lib.rs" "$1/tests/it/main.rs" "$1/democrm/src/lib.rs"
    (cd "$1" && locked cargo test --locked $flag --test it --no-run 2>&1 |
        sed -n 's/.*Executable tests\/it\/main.rs (\(.*\))/\1/p' | tail -1)
}
if [ -n "${BEFORE_BIN:-}" ]; then
    cp "$BEFORE_BIN" "$tmp/it-before"
else
    cp "$(build "$tmp/base")" "$tmp/it-before"
fi
[ -z "${KEEP_BEFORE:-}" ] || cp "$tmp/it-before" "$KEEP_BEFORE"
cp "$(build "$root")" "$tmp/it-after"
run() {
    locked "$1" scan_time_of_a_2kb_text --ignored --nocapture 2>/dev/null |
        sed -n 's/.*: \([0-9.]*\) µs per text.*/\1/p'
}
a=""
b=""
for side in A B B A; do
    if [ "$side" = A ]; then
        t=$(run "$tmp/it-before")
        a="$a $t"
    else
        t=$(run "$tmp/it-after")
        b="$b $t"
    fi
    echo "$side ($([ "$side" = A ] && echo "$base" || echo this tree)): $t µs per 2 KB text"
done
echo "$a" "|" "$b" | awk -F'|' '{
    split($1, x, " "); split($2, y, " ");
    ma = (x[1] + x[2]) / 2; mb = (y[1] + y[2]) / 2;
    printf "before %.1f µs, after %.1f µs, after/before %.2f\n", ma, mb, mb / ma }'
