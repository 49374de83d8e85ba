#!/usr/bin/env python3
"""Probe: can a caller tell a hidden record from a missing one by how long the 404 takes?

Drives a running `crmgate demo` (HTTPS on loopback, one kept-alive connection) with
alternating `GET /crm/v3/objects/contacts/{id}` requests as one persona:

  hidden vs missing   a record the CRM has but the policies hide, against an id the CRM
                      does not have (both answer 404);
  control             two ids the CRM does not have (no difference is expected).

For each pair it reports the mean and median of both, their difference and the
Mann-Whitney z (|z| < 2: no difference at about 95 %). It measures at the client (what an
attacker sees) and, from the audit records of the same requests, crmgate's own time
(`total` minus `upstream`, the CRM's part). Not a test: timings depend on the machine.

    python3 bench/hidden_vs_missing.py --port 8443 --audit var/probe/var/audit
"""

import argparse
import http.client
import json
import math
import os
import random
import ssl
import statistics
import sys
import time
from pathlib import Path


def mann_whitney_z(a, b):
    """z of the Mann-Whitney U statistic (normal approximation, ties averaged)."""
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(pooled)
    i = 0
    ties = 0.0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[k] = rank
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    n1, n2 = len(a), len(b)
    r1 = sum(r for r, (_, g) in zip(ranks, pooled) if g == 0)
    u1 = r1 - n1 * (n1 + 1) / 2
    n = n1 + n2
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    return (u1 - n1 * n2 / 2) / math.sqrt(var)


class Client:
    def __init__(self, port, ca, user, purpose):
        ctx = ssl.create_default_context(cafile=ca)
        self.conn = http.client.HTTPSConnection("localhost", port, context=ctx)
        self.headers = {"Authorization": f"Bearer demo-key-{user}"}
        if purpose:
            self.headers["X-Purpose"] = purpose


    def get(self, path):
        """(status, µs at the client, crmgate's request id)."""
        t = time.perf_counter_ns()
        self.conn.request("GET", path, headers=self.headers)
        r = self.conn.getresponse()
        r.read()
        us = (time.perf_counter_ns() - t) / 1000
        return r.status, us, r.getheader("x-request-id")


class CrmClient(Client):
    """The demo CRM itself (plain HTTP, crmgate's credential): what the CRM alone adds."""

    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = {"Authorization": f"Bearer {token}"}


def audit_times(audit_dir):
    """request id -> (total µs, upstream µs), from every audit segment."""
    out = {}
    for seg in sorted(Path(audit_dir).glob("seg-*.jsonl")):
        for line in seg.read_text().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            lat = rec.get("latency_us") or {}
            if "request_id" in rec and "total" in lat:
                out[rec["request_id"]] = (lat["total"], lat.get("upstream", 0))
    return out


def summary(name_a, a, name_b, b):
    z = mann_whitney_z(a, b)
    return {
        "a": name_a,
        "b": name_b,
        "n": (len(a), len(b)),
        "mean_us": (round(statistics.fmean(a), 1), round(statistics.fmean(b), 1)),
        "median_us": (round(statistics.median(a), 1), round(statistics.median(b), 1)),
        "mean_diff_us": round(statistics.fmean(a) - statistics.fmean(b), 1),
        "median_diff_us": round(statistics.median(a) - statistics.median(b), 1),
        "z": round(z, 2),
    }


def run_pair(client, path_a, path_b, samples, warmup, through_crmgate=True):
    for _ in range(warmup):
        client.get(path_a)
        client.get(path_b)
    a, b = [], []
    for _ in range(samples):
        # Alternating, in a random order per pair: drift hits both alike.
        order = [(path_a, a), (path_b, b)]
        random.shuffle(order)
        for path, out in order:
            status, us, rid = client.get(path)
            if through_crmgate and status != 404:
                sys.exit(f"{path}: expected 404, got {status}")
            out.append((us, rid))
    return a, b


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", default="certs/ca.pem")
    p.add_argument("--audit", help="the demo's audit directory (for crmgate's own time)")
    p.add_argument("--user", default="holly")
    p.add_argument("--purpose", default="prospect_management")
    p.add_argument("--hidden", default="1001", help="an id the CRM has and the policies hide")
    p.add_argument("--missing", nargs=2, default=["1900", "1950"])
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--json", help="also write the figures here")
    p.add_argument("--crm-port", type=int, help="the demo CRM's port: measure it alone too")
    p.add_argument("--crm-token", help="the demo CRM's token (CRMGATE_UPSTREAM_TOKEN)")
    # What crmgate asks the CRM for on a single GET as holly: the default properties plus
    # those the policies and the deletion concept decide by.
    p.add_argument(
        "--crm-query",
        default="?properties=firstname,lastname,email,createdate,lastmodifieddate,hs_object_id,"
        "lifecyclestage,owner_department,data_source,consent_greetings,consent_survey,"
        "consent_marketing,last_activity_date,wish_answered_at,legal_hold,dispute_open",
    )
    args = p.parse_args()
    random.seed(int.from_bytes(os.urandom(8), "little"))

    client = Client(args.port, args.ca, args.user, args.purpose)
    base = "/crm/v3/objects/contacts/"
    pairs = [
        ("hidden", base + args.hidden, "missing", base + args.missing[0]),
        ("missing", base + args.missing[0], "missing'", base + args.missing[1]),
    ]
    results = []
    raw = []
    for name_a, path_a, name_b, path_b in pairs:
        a, b = run_pair(client, path_a, path_b, args.samples, args.warmup)
        raw.append((name_a, a, name_b, b))
        s = summary(name_a, [x for x, _ in a], name_b, [x for x, _ in b])
        s["measured"] = "client"
        results.append(s)
    if args.crm_port:
        crm = CrmClient(args.crm_port, args.crm_token or "")
        for name_a, path_a, name_b, path_b in pairs:
            a, b = run_pair(
                crm,
                path_a + args.crm_query,
                path_b + args.crm_query,
                args.samples,
                args.warmup,
                through_crmgate=False,
            )
            s = summary(name_a, [x for x, _ in a], name_b, [x for x, _ in b])
            s["measured"] = "the demo CRM alone"
            results.append(s)
    if args.audit:
        # Let the last records reach the log.
        time.sleep(0.5)
        times = audit_times(args.audit)
        for name_a, a, name_b, b in raw:
            own = lambda xs: [
                times[r][0] - times[r][1] for _, r in xs if r in times
            ]
            s = summary(name_a, own(a), name_b, own(b))
            s["measured"] = "crmgate (total - upstream, audit)"
            results.append(s)
            total = lambda xs: [times[r][0] for _, r in xs if r in times]
            s = summary(name_a, total(a), name_b, total(b))
            s["measured"] = "crmgate total (audit)"
            results.append(s)

    print(f"{args.user}/{args.purpose}, {args.samples} alternating samples per pair:\n")
    print("| measured | pair | n | mean µs | median µs | mean diff µs | median diff µs | z |")
    print("|---|---|---|---|---|---|---|---|")
    for s in results:
        print(
            f"| {s['measured']} | {s['a']} vs {s['b']} | {s['n'][0]}+{s['n'][1]} "
            f"| {s['mean_us'][0]} / {s['mean_us'][1]} | {s['median_us'][0]} / {s['median_us'][1]} "
            f"| {s['mean_diff_us']} | {s['median_diff_us']} | {s['z']} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
