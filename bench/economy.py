#!/usr/bin/env python3
"""crmgate in front of a real-size CRM (started by bench/economy.sh; not part of CI).

A HubSpot-shaped upstream (examples/economy_upstream.rs) with CONTACTS generated contacts
(the demo's mix), RTT_MS added to every answer and HubSpot's limits (LIMIT_10S per rolling
10 s, SEARCH_PER_S searches per second, a daily cap; 429 with Retry-After), and a release
crmgate with the shipped policies in front of it. Three phases:

1. Within budget: every persona's workload (list pages followed by their cursors, searches
   and their next page, gets, batch reads, writes), the personas side by side, each paced
   so that the offered load stays within the account's budget.
2. The same requests directly against the upstream (its unlimited twin port, same data,
   same round trip): the baseline of crmgate's added latency.
3. Beyond budget: OVER_CLIENTS clients send gets back to back for OVER_S seconds.

Per route and persona: CRM requests per client request (counted by the upstream per
crmgate request id), client p50/p99, client 429s, crmgate's added p50. The last line:
`economy: mean M max X crm-429 N client-429 K added-p50 P%`, where M is the highest
per-persona mean of CRM requests per client request (phase 1), X the most any client
request took, N the 429s the CRM sent (all phases), K the 429s clients got in phase 3
(each with Retry-After), P crmgate's added p50 over all of phase 1's requests.
"""

import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = sys.argv[1]
DIR = os.path.join(REPO, "var", "economy")
PORT = int(os.environ.get("ECONOMY_PORT", "18620"))
GATE = PORT + 10
CONTACTS = int(os.environ.get("CONTACTS", "1000000"))
RTT_MS = int(os.environ.get("RTT_MS", "150"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
PACE_S = float(os.environ.get("PACE_S", "2.0"))
OVER_CLIENTS = int(os.environ.get("OVER_CLIENTS", "24"))
OVER_S = float(os.environ.get("OVER_S", "6"))
TOKEN = "economy-upstream-token"
BASE = "/crm/v3/objects/contacts"

PERSONAS = [
    # (user, purpose, the lifecycle stage its searches ask for)
    ("holly", "contract_fulfilment", "customer"),
    ("noelle", "contract_fulfilment", "customer"),
    ("penny", "contract_fulfilment", "customer"),
    ("rudolph", "customer_visit", "customer"),
    ("tinsel", "product_marketing", "lead"),
    ("santa", "partner_relations", "other"),
]


def request(conn, method, path, body=None, headers=None):
    h = {"Content-Type": "application/json"} if body is not None else {}
    h.update(headers or {})
    t = time.perf_counter()
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = conn.getresponse()
    data = r.read()
    ms = (time.perf_counter() - t) * 1000
    return r.status, data, dict((k.lower(), v) for k, v in r.getheaders()), ms


def direct_ids(stage, n):
    """Ids of `n` contacts of a lifecycle stage, from the unlimited port (not counted)."""
    c = http.client.HTTPConnection("127.0.0.1", PORT + 1, timeout=60)
    body = {"filterGroups": [{"filters": [{"propertyName": "lifecyclestage", "operator": "EQ",
                                           "value": stage}]}], "limit": n, "after": "100"}
    _, data, _, _ = request(c, "POST", BASE + "/search", body)
    return [r["id"] for r in json.loads(data)["results"]]


def workload(user, stage, rnd):
    """One round of a persona's requests: (route, method, path, body, follow-cursor)."""
    ids = direct_ids(stage, 40)
    one = ids[rnd % len(ids)]
    search = {"filterGroups": [{"filters": [{"propertyName": "lifecyclestage", "operator": "EQ",
                                             "value": stage}]}],
              "properties": ["firstname", "lastname", "lifecyclestage"], "limit": 20}
    steps = [
        ("list", "GET", BASE + "?limit=100&properties=firstname,lastname,lifecyclestage", None, 2),
        ("search", "POST", BASE + "/search", search, 1),
        ("get", "GET", f"{BASE}/{one}?properties=firstname,lastname,email", None, 0),
        ("batch_read", "POST", BASE + "/batch/read",
         {"inputs": [{"id": i} for i in ids[:20]], "properties": ["firstname", "lastname"]}, 0),
    ]
    if user in ("noelle", "holly"):
        steps.append(("update", "PATCH", f"{BASE}/{one}", {"properties": {"jobtitle": f"Elf {rnd}"}}, 0))
    if user == "noelle":
        steps.append(("batch_update", "POST", BASE + "/batch/update",
                      {"inputs": [{"id": i, "properties": {"jobtitle": f"Elf {rnd}"}} for i in ids[:10]]}, 0))
    return steps


def run_persona(user, purpose, stage, out, direct, start):
    """Run ROUNDS rounds of a persona's workload, paced at PACE_S per request, from `start`
    (the personas' requests interleave instead of arriving together)."""
    time.sleep(start)
    host, port = ("127.0.0.1", PORT + 1) if direct else ("127.0.0.1", GATE)
    conn = http.client.HTTPConnection(host, port, timeout=120)
    auth = {"Authorization": f"Bearer {TOKEN}"} if direct else {
        "Authorization": f"Bearer demo-key-{user}", "X-Purpose": purpose}
    for rnd in range(ROUNDS):
        for (route, method, path, body, follow) in workload(user, stage, rnd):
            page = 0
            while True:
                t0 = time.perf_counter()
                status, data, headers, ms = request(conn, method, path, body, auth)
                out.append({"user": user, "route": route, "status": status, "ms": ms,
                            "rid": headers.get("x-request-id"),
                            "retry_after": headers.get("retry-after")})
                nxt = None
                if status == 200 and page < follow:
                    try:
                        nxt = json.loads(data).get("paging", {}).get("next", {}).get("after")
                    except ValueError:
                        nxt = None
                time.sleep(max(0.0, PACE_S - (time.perf_counter() - t0)))
                if not nxt:
                    break
                page += 1
                if method == "GET":
                    path = path.split("&after=")[0] + f"&after={nxt}"
                else:
                    body = dict(body, after=nxt)


def over_budget(out, stop):
    conn = http.client.HTTPConnection("127.0.0.1", GATE, timeout=120)
    ids = direct_ids("customer", 20)
    n = 0
    while time.time() < stop:
        status, _, headers, ms = request(conn, "GET", f"{BASE}/{ids[n % len(ids)]}",
                                         None, {"Authorization": "Bearer demo-key-holly",
                                                "X-Purpose": "contract_fulfilment"})
        n += 1
        out.append({"user": "holly", "route": "over-budget get", "status": status, "ms": ms,
                    "rid": headers.get("x-request-id"), "retry_after": headers.get("retry-after")})
        if status == 429:
            # A well-behaved client waits as told (capped, so the phase ends on time).
            time.sleep(min(float(headers.get("retry-after") or 1), 1.0))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else 0.0


def stats():
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    _, data, _, _ = request(c, "GET", "/__economy/stats")
    return json.loads(data)


def wait(port):
    end = time.time() + 60
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/")
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answers on port {port}")


def parallel(fn, args):
    threads = [threading.Thread(target=fn, args=a) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    os.makedirs(DIR, exist_ok=True)
    subprocess.run(["rm", "-rf", os.path.join(DIR, "audit")], check=True)
    limit_10s = os.environ.get("LIMIT_10S", "190")
    search_per_s = os.environ.get("SEARCH_PER_S", "5")
    # crmgate's budget: the account's limits, its window a little longer than the CRM's
    # (the CRM's starts when a request arrives, after crmgate took the slot).
    budget = ("" if os.environ.get("NO_BUDGET") else
              f"[upstream.budget]\nrequests = {limit_10s}\nwindow_ms = 10500\n"
              f"searches_per_second = {search_per_s}\nmax_wait_ms = 1500\n")
    env = dict(os.environ, CONTACTS=str(CONTACTS), RTT_MS=str(RTT_MS), LIMIT_10S=limit_10s,
               SEARCH_PER_S=search_per_s, CRMGATE_EXTRA=budget)
    up = subprocess.Popen([os.path.join(BIN, "examples", "economy_upstream"), DIR, str(PORT), str(GATE)],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    up.stdout.readline()
    gate = subprocess.Popen([os.path.join(BIN, "crmgate"), "serve", "--config", os.path.join(DIR, "crmgate.toml")],
                            cwd=DIR, stdout=subprocess.DEVNULL, stderr=open(os.path.join(DIR, "crmgate.log"), "w"))
    try:
        wait(GATE)
        # Warm-up (first list per caller works out what it may select), not measured.
        for (user, purpose, _) in PERSONAS:
            c = http.client.HTTPConnection("127.0.0.1", GATE, timeout=120)
            h = {"Authorization": f"Bearer demo-key-{user}", "X-Purpose": purpose}
            request(c, "GET", BASE + "?limit=1", None, h)
            time.sleep(1)
        time.sleep(10)  # the warm-up's CRM requests leave the 10-second window
        gated = {u: [] for (u, _, _) in PERSONAS}
        parallel(run_persona, [(u, p, s, gated[u], False, n * PACE_S / len(PERSONAS))
                                 for n, (u, p, s) in enumerate(PERSONAS)])
        direct = {u: [] for (u, _, _) in PERSONAS}
        parallel(run_persona, [(u, p, s, direct[u], True, n * PACE_S / len(PERSONAS))
                                 for n, (u, p, s) in enumerate(PERSONAS)])
        time.sleep(10)
        over = []
        stop = time.time() + OVER_S
        parallel(over_budget, [(over, stop) for _ in range(OVER_CLIENTS)])
        time.sleep(1)
        st = stats()
    finally:
        gate.terminate()
        up.terminate()
        gate.wait()
        up.wait()
    report(gated, direct, over, st)


def report(gated, direct, over, st):
    by_rid = st["by_request"]
    print(f"\n## crmgate in front of a real-size CRM ({CONTACTS:,} contacts, {RTT_MS} ms round trip)\n")
    print("| persona | route | requests | CRM req / client req: mean | p99 | max | client p50 ms | p99 ms | client 429 | direct p50 ms | added p50 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    worst_mean, worst_max, gate_all, direct_all = 0.0, 0, [], []
    for (user, _, _) in PERSONAS:
        rows = gated[user]
        crm_all = [by_rid.get(r["rid"], 0) for r in rows]
        if crm_all:
            worst_mean = max(worst_mean, statistics.mean(crm_all))
            worst_max = max(worst_max, max(crm_all))
        for route in dict.fromkeys(r["route"] for r in rows):
            rs = [r for r in rows if r["route"] == route]
            ds = [r["ms"] for r in direct[user] if r["route"] == route]
            crm = [by_rid.get(r["rid"], 0) for r in rs]
            ms = [r["ms"] for r in rs]
            gate_all += ms
            direct_all += ds
            g50, d50 = statistics.median(ms), statistics.median(ds) if ds else 0.0
            added = f"{(g50 - d50) / d50 * 100:.1f} %" if d50 else "–"
            statuses = ",".join(sorted({str(r['status']) for r in rs}))
            print(f"| {user} | {route} ({statuses}) | {len(rs)} | {statistics.mean(crm):.2f} | {pct(crm, 99)} | {max(crm)} | "
                  f"{g50:.1f} | {pct(ms, 99):.1f} | {sum(r['status'] == 429 for r in rs)} | {d50:.1f} | {added} |")
    client_429 = [r for r in over if r["status"] == 429]
    without = sum(1 for r in client_429 if not r["retry_after"])
    ok = sum(1 for r in over if r["status"] == 200)
    print(f"\nBeyond the budget: {len(over)} gets from {OVER_CLIENTS} clients in {OVER_S:.0f} s: "
          f"{ok} answered, {len(client_429)} answered 429 ({without} without Retry-After), "
          f"slowest {max((r['ms'] for r in over), default=0):.0f} ms; CRM requests in all phases "
          f"{sum(by_rid.values())}, CRM 429s {st['sent_429']}.")
    within_429 = sum(r["status"] == 429 for rows in gated.values() for r in rows)
    print(f"Within the budget: {within_429} client 429s.")
    g50, d50 = statistics.median(gate_all), statistics.median(direct_all)
    added = (g50 - d50) / d50 * 100 if d50 else 0.0
    print(f"\neconomy: mean {worst_mean:.2f} max {worst_max} crm-429 {st['sent_429']} "
          f"client-429 {len(client_429)} added-p50 {added:.1f}%")


if __name__ == "__main__":
    main()
