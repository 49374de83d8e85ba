#!/usr/bin/env python3
"""Unrelated requests around policy reloads (a probe, not part of CI or `cargo test`).

    cargo build --release --locked --bin crmgate
    python3 bench/reload.py "$CARGO_TARGET_DIR/release"

crmgate (release build, the shipped policies and config, TLS) in front of the embedded demo
CRM (`crmgate demo-crm`), all on 127.0.0.1, in a directory of its own under var/bench-reload.
Load, from this process:

- unrelated requests: UNRELATED clients (default 4), each on its own keep-alive
  connection, read contact 1001 as `noelle` in a loop (one record: no selectability);
- callers that list: for each of LISTERS (user, purpose) pairs, one client lists contacts
  (`?limit=10`) every 250 ms — the first list per caller, purpose and revision is the one that
  costs thousands of Cedar evaluations;
- RELOADS (default 10) reloads: a comment is appended to santa.cedar (a new revision); the
  time of the write and the time the new revision shows on /metrics are recorded; the next
  reload follows GAP seconds (default 4) after the swap.

It reports the latency of the unrelated requests (client-side, whole request) that started
in the 2 s after each reload (from the file write until 2 s after the swap) against those
that started elsewhere (steady state, the first 3 s left out): count, p50, p99, max, and the
ratio of the p99s. The goal (issue 21, item 15) is a ratio within 2x.

The config is the shipped one with `watch_interval_ms = 100` and `reload_settle_ms = 200`.

Environment: RELOADS, GAP, UNRELATED, BENCH_PORT (first of three ports, default 18560).
"""

import http.client
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = sys.argv[1] if len(sys.argv) > 1 else "/var/tmp/crmgate-target/release"
RELOADS = int(os.environ.get("RELOADS", "10"))
GAP = float(os.environ.get("GAP", "4"))
UNRELATED = int(os.environ.get("UNRELATED", "4"))
PORT = int(os.environ.get("BENCH_PORT", "18560"))
GATE, CRM, ADMIN = PORT, PORT + 1, PORT + 2
DIR = os.path.join(REPO, "var", "bench-reload")
TOKEN = "bench-reload-crm-token"
WINDOW = 2.0

LISTERS = [
    ("holly", "contract_fulfilment"),
    ("holly", "prospect_management"),
    ("tinsel", "greetings"),
    ("tinsel", "product_marketing"),
    ("tinsel", "satisfaction_survey"),
    ("noelle", "prospect_management"),
    ("rudolph", "customer_visit"),
    ("santa", "contract_fulfilment"),
]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def wait_port(port, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def revision():
    with urllib.request.urlopen(f"http://127.0.0.1:{ADMIN}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(r'crmgate_policy_revision_info\{revision="([0-9a-f]+)"\}', text)
    return m.group(1) if m else ""


def setup():
    shutil.rmtree(DIR, ignore_errors=True)
    os.makedirs(os.path.join(DIR, "var"))
    shutil.copytree(os.path.join(REPO, "policies"), os.path.join(DIR, "policies"))
    shutil.copytree(os.path.join(REPO, "certs"), os.path.join(DIR, "certs"))
    path = os.path.join(DIR, "policies", "crmgate.toml")
    with open(path) as f:
        cfg = f.read()
    cfg = cfg.replace('addr = "127.0.0.1:8443"', f'addr = "127.0.0.1:{GATE}"', 1)
    cfg = cfg.replace('url = "http://127.0.0.1:8080"', f'url = "http://127.0.0.1:{CRM}"', 1)
    cfg = cfg.replace('addr = "127.0.0.1:9901"', f'addr = "127.0.0.1:{ADMIN}"', 1)
    cfg = cfg.replace('routes = "routes.toml"\n',
                      'routes = "routes.toml"\nwatch_interval_ms = 100\nreload_settle_ms = 200\n', 1)
    with open(path, "w") as f:
        f.write(cfg)
    return path


class Client:
    def __init__(self, ctx, user, purpose=None):
        self.ctx, self.user, self.purpose = ctx, user, purpose
        self.conn = None

    def get(self, path):
        if self.conn is None:
            self.conn = http.client.HTTPSConnection("localhost", GATE, context=self.ctx, timeout=30)
        headers = {"Authorization": f"Bearer demo-key-{self.user}"}
        if self.purpose:
            headers["X-Purpose"] = self.purpose
        try:
            self.conn.request("GET", path, headers=headers)
            r = self.conn.getresponse()
            r.read()
            return r.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            return 0


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    crmgate = os.path.join(BIN, "crmgate")
    config = setup()
    env = dict(os.environ, CRMGATE_UPSTREAM_TOKEN=TOKEN,
               CRMGATE_HASH_KEY="bench-reload-hash-key-0123456789abcdef", RUST_LOG="warn")
    procs = [
        subprocess.Popen([crmgate, "demo-crm", "--listen", f"127.0.0.1:{CRM}", "--token", TOKEN],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    wait_port(CRM)
    procs.append(subprocess.Popen([crmgate, "serve", "--config", config], env=env,
                                  stdout=subprocess.DEVNULL,
                                  stderr=open(os.path.join(DIR, "crmgate.log"), "w")))
    try:
        wait_port(GATE)
        wait_port(ADMIN)
        ctx = ssl.create_default_context(cafile=os.path.join(DIR, "certs", "ca.pem"))
        stop = threading.Event()
        samples = []  # (start time, seconds, status)
        lock = threading.Lock()

        def unrelated():
            c = Client(ctx, "noelle")
            while not stop.is_set():
                t0 = time.monotonic()
                status = c.get("/crm/v3/objects/contacts/1001")
                dt = time.monotonic() - t0
                with lock:
                    samples.append((t0, dt, status))

        def lister(user, purpose):
            c = Client(ctx, user, purpose)
            while not stop.is_set():
                c.get("/crm/v3/objects/contacts?limit=10")
                time.sleep(0.25)

        threads = [threading.Thread(target=unrelated) for _ in range(UNRELATED)]
        threads += [threading.Thread(target=lister, args=lp) for lp in LISTERS]
        began = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(GAP + 3)
        santa = os.path.join(DIR, "policies", "santa.cedar")
        reloads = []  # (write time, swap time)
        for i in range(RELOADS):
            old = revision()
            written = time.monotonic()
            with open(santa, "a") as f:
                f.write(f"\n// reload {i}\n")
            swapped = None
            while time.monotonic() - written < 30:
                if revision() != old:
                    swapped = time.monotonic()
                    break
                time.sleep(0.02)
            if swapped is None:
                raise SystemExit(f"reload {i} did not happen")
            reloads.append((written, swapped))
            log(f"reload {i + 1}/{RELOADS}: swapped {1000 * (swapped - written):.0f} ms after the write")
            time.sleep(GAP)
        stop.set()
        for t in threads:
            t.join()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()

    after, steady = [], []
    errors = sum(1 for _, _, s in samples if s != 200)
    for t0, dt, status in samples:
        if status != 200 or t0 < began + 3:
            continue
        near = any(w <= t0 <= s + WINDOW for w, s in reloads)
        (after if near else steady).append(dt * 1000)
    swaps = [1000 * (s - w) for w, s in reloads]
    print(f"Unrelated requests around {RELOADS} reloads ({UNRELATED} clients reading one contact; "
          f"{len(LISTERS)} callers listing every 250 ms; reload = write .. swap + {WINDOW:.0f} s)")
    print()
    print("| window | requests | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for name, v in (("steady state", steady), ("after a reload", after)):
        print(f"| {name} | {len(v)} | {pct(v, 50):.2f} | {pct(v, 99):.2f} | {max(v, default=0):.2f} |")
    print()
    ratio = pct(after, 99) / pct(steady, 99) if steady and after else float("nan")
    print(f"p99 after a reload / steady: {ratio:.2f}x (goal: within 2x); non-200 answers: {errors}; "
          f"write-to-swap median {statistics.median(swaps):.0f} ms, max {max(swaps):.0f} ms")


if __name__ == "__main__":
    main()
