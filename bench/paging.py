#!/usr/bin/env python3
"""Marketing's list, page by page (started by bench/run.sh after bench.py; not part of CI).

crmgate in front of the embedded demo CRM (`crmgate demo-crm`, 68 contacts), with the
shipped policies. As `tinsel` (marketing, product_marketing) it walks the contact list to the
end for limit 1, 10 and 100, and reports per client page: records, CRM requests (from the
`detail` of crmgate's audit records) and latency. Before the refill, the same walk with limit
10 took 7 client pages for 14 records (0, 0, 0, 6, 5, 3, 0), limit 1 took 68 pages.

Uses the bench directory bench.py wrote (var/bench: keys, hash key, routes) and the ports
BENCH_PORT+4 (demo CRM) and BENCH_PORT+5 (crmgate).
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = sys.argv[1] if len(sys.argv) > 1 else "/var/tmp/crmgate-target/release"
PORT = int(os.environ.get("BENCH_PORT", "18480"))
DIR = os.path.join(REPO, "var", "bench")
CRM, GATE = PORT + 4, PORT + 5
TOKEN = "bench-demo-crm-token"


def wait(url, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answers at {url}")


def main():
    crmgate = os.path.join(BIN, "crmgate")
    audit = os.path.join(DIR, "audit-paging")
    subprocess.run(["rm", "-rf", audit], check=True)
    with open(os.path.join(DIR, "crmgate.toml")) as f:
        cfg = f.read()
    cfg = re.sub(r'addr = "127\.0\.0\.1:\d+"\nplaintext', f'addr = "127.0.0.1:{GATE}"\nplaintext', cfg, count=1)
    cfg = re.sub(r'url = "http://127\.0\.0\.1:\d+"', f'url = "http://127.0.0.1:{CRM}"', cfg, count=1)
    cfg = cfg.replace('credential_file = "upstream.token"', 'credential_file = "paging.token"')
    cfg = cfg.replace('dir = "audit"', f'dir = "{audit}"', 1)
    with open(os.path.join(DIR, "paging.token"), "w") as f:
        f.write(TOKEN)
    with open(os.path.join(DIR, "crmgate-paging.toml"), "w") as f:
        f.write(cfg)
    procs = [
        subprocess.Popen([crmgate, "demo-crm", "--listen", f"127.0.0.1:{CRM}", "--token", TOKEN],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([crmgate, "serve", "--config", os.path.join(DIR, "crmgate-paging.toml")],
                         cwd=DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        wait(f"http://127.0.0.1:{GATE}/crm/v3/objects/contacts")
        rows = []
        for limit in (1, 10, 100):
            seen = len(crm_pages(audit))
            pages, records, lat, after = 0, 0, [], None
            while True:
                url = f"http://127.0.0.1:{GATE}/crm/v3/objects/contacts?limit={limit}"
                if after:
                    url += f"&after={after}"
                req = urllib.request.Request(url, headers={
                    "Authorization": "Bearer demo-key-tinsel", "X-Purpose": "product_marketing"})
                t = time.perf_counter()
                body = json.load(urllib.request.urlopen(req, timeout=30))
                lat.append((time.perf_counter() - t) * 1000)
                pages += 1
                records += len(body["results"])
                after = body.get("paging", {}).get("next", {}).get("after")
                if not after or pages > 500:
                    break
            # Each page's record is written before its response is released.
            crm = sum(crm_pages(audit)[seen:])
            rows.append((limit, pages, records, crm, lat))
        print("\n## Marketing's list, page by page (tinsel / product_marketing, demo CRM)\n")
        print("| limit | client pages | records | records per page | CRM requests per client page | p50 ms | max ms |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for (limit, pages, records, crm, lat) in rows:
            print(f"| {limit} | {pages} | {records} | {records / pages:.1f} | {crm / pages:.2f} | "
                  f"{statistics.median(lat):.2f} | {max(lat):.2f} |")
        print("\nBefore the refill (the commit before it, same demo data and walk, measured once "
              "on 2026-12-02): limit 1 took 68 client pages for 14 records (54 empty), limit 10 "
              "took 7 (0, 0, 0, 6, 5, 3, 0), limit 100 took 1; one CRM request each.")
    finally:
        for p in procs:
            p.terminate()
            p.wait()


def crm_pages(audit):
    """Per request record of tinsel's, in log order: the CRM requests it took."""
    out = []
    for seg in sorted(f for f in os.listdir(audit) if f.endswith(".jsonl")):
        for line in open(os.path.join(audit, seg)):
            e = json.loads(line)
            if e.get("principal") != "tinsel":
                continue
            m = re.search(r"\((\d+) CRM pages", e.get("detail") or "")
            out.append(int(m.group(1)) if m else 1)
    return out


if __name__ == "__main__":
    main()
