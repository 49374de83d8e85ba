#!/usr/bin/env python3
"""crmgate benchmark driver (started by bench/run.sh; not part of CI).

Starts on 127.0.0.1: the static HubSpot-shaped upstream (examples/bench_upstream.rs), nginx
proxy_pass in front of it, crmgate twice (audit without and with fsync), and drives them with
wrk: fixed connections, bounded duration, several repetitions, scenarios interleaved so that
every ratio compares runs made under the same machine load. Per scenario it reports requests/s
and p50/p99 latency (wrk), CPU microseconds per request of the proxy process (utime + stime
from /proc/<pid>/stat, nginx: master + workers), peak RSS (VmHWM from /proc/<pid>/status,
reset per scenario through /proc/<pid>/clear_refs), Cedar evaluations per response (the
`cedar_evaluations` of crmgate's audit records), and the ratios against crmgate's pass-through
route and against nginx for the same response.

Beyond the read scenarios (issue 15): the write path — a create with a ~2 KB wish text the
redactor scans (as the wish-list form's key) and a batch update of 100 contacts (as `noelle`,
sales), each against the same request through nginx (crmgate's pass-through routes are GET
only); the search route with a policy-checked filter (`lifecyclestage EQ customer`) against
nginx; and scale: one upstream page of 10, 100, 1,000 and 5,000 records filtered on a
benchmark-only route, against crmgate's pass-through of the same page, with CPU per record.
POST bodies go through wrk Lua scripts written into var/bench.

Environment: DURATION (s, default 10), REPS (default 3), CONNS (default 8), BENCH_PORT (first
of seven consecutive ports, default 18480), PERSONA (default holly), PURPOSE (default
contract_fulfilment).
"""

import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = sys.argv[1] if len(sys.argv) > 1 else "/var/tmp/crmgate-target/release"
DURATION = int(os.environ.get("DURATION", "10"))
REPS = int(os.environ.get("REPS", "3"))
CONNS = int(os.environ.get("CONNS", "8"))
PORT = int(os.environ.get("BENCH_PORT", "18480"))
PERSONA = os.environ.get("PERSONA", "holly")
PURPOSE = os.environ.get("PURPOSE", "contract_fulfilment")
DIR = os.path.join(REPO, "var", "bench")
TICK = os.sysconf("SC_CLK_TCK")

UP, NGINX, GATE, GATE_FSYNC = PORT, PORT + 1, PORT + 2, PORT + 3
# PORT + 4 and + 5 are paging.py's; the scale scenarios get a crmgate of their own (an
# allocator keeps what a 5 MB page took, and that would show as every later scenario's RSS).
GATE_SCALE = PORT + 6
started = []


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


def start(cmd, **kw):
    p = subprocess.Popen(cmd, **kw)
    started.append(p)
    return p


def stop_all():
    for p in reversed(started):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in started:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()


def pids_of(proc):
    """The process and its direct children (nginx workers)."""
    pids = [proc.pid]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == proc.pid:
                    pids.append(int(d))
            except OSError:
                pass
    return pids


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def reset_hwm(pids):
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def peak_rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    return total


def parse_ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


PERSONA_HEADERS = {"Authorization": f"Bearer demo-key-{PERSONA}", "X-Purpose": PURPOSE}


def wrk(url, conns, duration, script=None, headers=None):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    for k, v in (headers or PERSONA_HEADERS).items():
        cmd += ["-H", f"{k}: {v}"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
           "requests": int(re.search(r"(\d+) requests in", out).group(1))}
    for pct in ("50", "99"):
        res["p" + pct] = parse_ms(re.search(r"^\s*" + pct + r"%[ \t]+(\S+)", out, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise SystemExit(f"wrk saw failed responses on {url}:\n{out}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["sock_errors"] = sum(int(x) for x in errors.groups()) if errors else 0
    return res


class Target:
    def __init__(self, name, proc, port, audit=None):
        self.name, self.proc, self.port, self.audit = name, proc, port, audit


_read_upto = {}


def evaluations(audit_dir):
    """Mean cedar_evaluations of the audit records written since the last call, read from the
    audit directory's segments (the log is left untouched: it is a hash chain)."""
    data = b""
    for name in sorted(os.listdir(audit_dir)):
        if not name.endswith(".jsonl"):
            continue
        path = os.path.join(audit_dir, name)
        with open(path, "rb") as f:
            f.seek(_read_upto.get(path, 0))
            chunk = f.read()
        # Only whole lines: a record being written is counted next time.
        cut = chunk.rfind(b"\n") + 1
        _read_upto[path] = _read_upto.get(path, 0) + cut
        data += chunk[:cut]
    values = [int(v) for v in re.findall(rb'"cedar_evaluations":(\d+)', data)]
    return statistics.mean(values) if values else None


def run_scenario(target, path, conns, duration, script=None, headers=None):
    # Let the requests of the previous scenario drain (their audit records included).
    time.sleep(0.5)
    pids = pids_of(target.proc)
    reset_hwm(pids)
    if target.audit:
        evaluations(target.audit)
    t0 = cpu_ticks(pids)
    res = wrk(f"http://127.0.0.1:{target.port}{path}", conns, duration, script, headers)
    t1 = cpu_ticks(pids)
    res["cpu_us"] = (t1 - t0) / TICK * 1e6 / max(res["requests"], 1)
    res["rss_mib"] = peak_rss_kib(pids) / 1024
    res["evals"] = evaluations(target.audit) if target.audit else None
    return res


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} vCPU {model}, Linux {platform.release()}, "
            f"load average before the run {os.getloadavg()[0]:.2f}")


# ---- issue 15's additions: writes, search, scale -------------------------------------------

SCALE = (10, 100, 1000, 5000)
WISHLIST = {"Authorization": "Bearer demo-key-wishlist", "Content-Type": "application/json"}
NOELLE = {"Authorization": "Bearer demo-key-noelle", "X-Purpose": "contract_fulfilment",
          "Content-Type": "application/json"}
SEARCHER = dict(PERSONA_HEADERS, **{"Content-Type": "application/json"})


def wish_text():
    """About 2 KB of an ordinary wish, with one illness and one IBAN in it: the redactor
    scans all of it and blacks out two findings."""
    ordinary = ("Dear Santa, my son Tim would love a red bicycle with a bell, a box of crayons, "
                "a wooden train set and a book about dinosaurs. Please deliver the parcel "
                "before the 20th to our neighbour at number 12, she is at home in the "
                "afternoons. ")
    text = ""
    while len(text) < 1000:
        text += ordinary
    text += "He has asthma, so please no feather pillows. "
    while len(text) < 1950:
        text += ordinary
    return text + "We pay the rest by transfer from IBAN DE89 3704 0044 0532 0130 00."


def post_bodies(props):
    create = {"properties": {
        "firstname": "Tim", "lastname": "Tannenbaum", "email": "tim.tannenbaum@example.org",
        "lifecyclestage": "lead", "wish_text": wish_text()}}
    update = {"inputs": [{"id": str(5001 + i), "properties": {"jobtitle": "Chief Elf Officer"}}
                         for i in range(100)]}
    search = {"filterGroups": [{"filters": [
        {"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"}]}],
        "properties": props, "limit": 100}
    return {"create": create, "batch_update": update, "search": search}


def lua_post(name, body):
    """A wrk script that POSTs one fixed JSON body (headers come from the command line)."""
    path = os.path.join(DIR, f"{name}.lua")
    text = json.dumps(body)
    assert "]==]" not in text
    with open(path, "w") as f:
        f.write(f'wrk.method = "POST"\nwrk.body = [==[{text}]==]\n')
    return path


def main():
    shutil.rmtree(DIR, ignore_errors=True)
    os.makedirs(os.path.join(DIR, "nginx"))
    up = start([os.path.join(BIN, "examples", "bench_upstream"), DIR, str(UP), str(GATE),
                str(GATE_FSYNC)], stdout=subprocess.PIPE, text=True)
    up.stdout.readline()
    wait_port(UP)
    prop_list = list(json.load(open(os.path.join(DIR, "single.json")))["properties"].keys())
    props = ",".join(prop_list)
    list_path = f"/crm/v3/objects/contacts?limit=100&properties={props}"
    single_path = f"/crm/v3/objects/contacts/1001?properties={props}"

    nginx_dir = os.path.join(DIR, "nginx")
    with open(os.path.join(nginx_dir, "nginx.conf"), "w") as f:
        f.write(f"""
worker_processes 2;
pid {nginx_dir}/nginx.pid;
error_log {nginx_dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {nginx_dir}/body;
  proxy_temp_path {nginx_dir}/proxy;
  upstream crm {{ server 127.0.0.1:{UP}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{NGINX};
    location / {{
      proxy_pass http://crm;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffers 16 16k;
      proxy_buffer_size 16k;
      proxy_busy_buffers_size 64k;
    }}
  }}
}}
""")
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    nginx = None
    if os.path.exists(nginx_bin):
        nginx = start([nginx_bin, "-p", nginx_dir, "-c", os.path.join(nginx_dir, "nginx.conf"),
                       "-g", "daemon off;"])
        wait_port(NGINX)
    env = dict(os.environ, RUST_LOG="warn")
    gate = start([os.path.join(BIN, "crmgate"), "serve", "--config",
                  os.path.join(DIR, "crmgate.toml")], env=env)
    gate_fsync = start([os.path.join(BIN, "crmgate"), "serve", "--config",
                        os.path.join(DIR, "crmgate-fsync.toml")], env=env)
    with open(os.path.join(DIR, "crmgate.toml")) as f:
        cfg = f.read()
    cfg = cfg.replace(f'addr = "127.0.0.1:{GATE}"', f'addr = "127.0.0.1:{GATE_SCALE}"', 1)
    cfg = cfg.replace('dir = "audit"', 'dir = "audit-scale"', 1)
    cfg = cfg.replace('"audit-signing.key"', '"audit-scale-signing.key"', 1)
    with open(os.path.join(DIR, "crmgate-scale.toml"), "w") as f:
        f.write(cfg)
    gate_scale = start([os.path.join(BIN, "crmgate"), "serve", "--config",
                        os.path.join(DIR, "crmgate-scale.toml")], env=env)
    wait_port(GATE)
    wait_port(GATE_FSYNC)
    wait_port(GATE_SCALE)

    tg = Target("crmgate", gate, GATE, os.path.join(DIR, "audit"))
    tf = Target("crmgate (fsync)", gate_fsync, GATE_FSYNC, os.path.join(DIR, "audit-fsync"))
    tn = Target("nginx", nginx, NGINX) if nginx else None
    ts = Target("crmgate (scale)", gate_scale, GATE_SCALE, os.path.join(DIR, "audit-scale"))

    bodies = post_bodies(prop_list)
    scripts = {k: lua_post(k, v) for k, v in bodies.items()}
    create_path = "/crm/v3/objects/contacts"
    update_path = "/crm/v3/objects/contacts/batch/update"
    search_path = "/crm/v3/objects/contacts/search"
    # (path, headers) per POST kind; the bodies are `bodies[kind]`, the wrk scripts `scripts[kind]`
    posts = {"create": (create_path, WISHLIST), "batch_update": (update_path, NOELLE),
             "search": (search_path, SEARCHER)}

    # Sanity: every scenario answers 2xx with a JSON body.
    checks = [(tg, list_path, None), (tg, single_path, None), (tg, "/passthrough" + list_path, None),
              (tg, "/passthrough" + single_path, None), (tf, list_path, None)]
    checks += [(ts, f"{pre}/bench/contacts-{n}", None) for n in SCALE for pre in ("", "/passthrough")]
    checks += [(t, posts[k][0], k) for k in posts for t in ([tg, tn] if tn else [tg])]
    if tn:
        checks += [(tn, list_path, None), (tn, single_path, None)]
    sizes = {}
    for t, p, kind in checks:
        if kind:
            req = urllib.request.Request(f"http://127.0.0.1:{t.port}{p}", method="POST",
                                         data=json.dumps(bodies[kind]).encode(),
                                         headers=posts[kind][1])
        else:
            req = urllib.request.Request(f"http://127.0.0.1:{t.port}{p}", headers=PERSONA_HEADERS)
        try:
            r = urllib.request.urlopen(req, timeout=30)
        except urllib.error.HTTPError as e:
            raise SystemExit(f"{t.name} {kind or 'GET'} {p}: {e.code} {e.read()[:500]!r}")
        with r:
            body = r.read()
            doc = json.loads(body)
            n = len(doc.get("results", [])) if isinstance(doc, dict) else 0
            if p.startswith("/passthrough/bench/contacts-"):
                sizes[int(p.rsplit("-", 1)[1])] = len(body)
            if p.startswith("/passthrough/"):
                # A pass-through reference must answer the upstream's body as it is.
                with urllib.request.urlopen(f"http://127.0.0.1:{UP}{p}", timeout=30) as u:
                    if u.read() != body:
                        raise SystemExit(f"{p}: the pass-through route changed the body")
            notes = "; ".join(f"{k}: {v}" for k, v in r.headers.items()
                              if k.lower().startswith("x-crmgate"))
            log(f"{t.name:16} {(kind or 'GET'):12} {p[:44]:44} {r.status} {len(body)} bytes"
                f" {n} results {notes}")

    # (name, target, path, shape, wrk script, headers)
    scenarios = []
    if tn:
        scenarios += [("nginx pass-through, list", tn, list_path, "list", None, None),
                      ("nginx pass-through, single", tn, single_path, "single", None, None)]
    scenarios += [
        ("crmgate pass-through, list", tg, "/passthrough" + list_path, "list", None, None),
        ("crmgate pass-through, single", tg, "/passthrough" + single_path, "single", None, None),
        ("crmgate filtered, list", tg, list_path, "list", None, None),
        ("crmgate filtered, single", tg, single_path, "single", None, None),
        ("crmgate filtered, list, audit fsync'd", tf, list_path, "list", None, None),
    ]
    labels = {"create": "create, 2 KB wish text redacted (wishlist form)",
              "batch_update": "batch update of 100 (noelle)",
              "search": "search, lifecyclestage EQ customer"}
    for kind, (p, hdrs) in posts.items():
        if tn:
            scenarios.append((f"nginx pass-through, {labels[kind]}", tn, p, kind, scripts[kind], hdrs))
        scenarios.append((f"crmgate, {labels[kind]}", tg, p, kind, scripts[kind], hdrs))
    for n in SCALE:
        scenarios += [
            (f"crmgate pass-through, page of {n}", ts, f"/passthrough/bench/contacts-{n}",
             f"scale-{n}", None, None),
            (f"crmgate filtered, page of {n}", ts, f"/bench/contacts-{n}", f"scale-{n}", None,
             None)]
    results = {name: [] for name, *_ in scenarios}
    # Warm up (connection pools, decision caches): steady state is what is measured.
    for name, t, p, _, script, hdrs in scenarios:
        wrk(f"http://127.0.0.1:{t.port}{p}", CONNS, 2, script, hdrs)
    for rep in range(REPS):
        for name, t, p, _, script, hdrs in scenarios:
            r = run_scenario(t, p, CONNS, DURATION, script, hdrs)
            results[name].append(r)
            log(f"rep {rep + 1}/{REPS} {name:40} {r['rps']:8.0f} req/s  p50 {r['p50']:.2f} ms"
                f"  p99 {r['p99']:.2f} ms  {r['cpu_us']:.0f} µs CPU/req  {r['rss_mib']:.1f} MiB"
                f"  evals {r['evals']}")

    # Memory under 256 concurrent list requests.
    name256 = "crmgate filtered, list, 256 connections"
    results[name256] = [run_scenario(tg, list_path, 256, DURATION)]
    scenarios.append((name256, tg, list_path, "list", None, None))

    # Latency at a quarter of the filtered list's capacity: wrk's delay() paces each of two
    # connections so that both routes see the same request rate.
    capacity = statistics.median(r["rps"] for r in results["crmgate filtered, list"])
    rate = capacity / 4
    # Each connection waits delay + its own latency per request: subtract the unloaded
    # latency of the filtered list (one connection) so the pair sends about `rate` req/s.
    unloaded = wrk(f"http://127.0.0.1:{GATE}{list_path}", 1, 2)["p50"]
    delay_ms = max(1, round(2 * 1000 / rate - unloaded))
    script = os.path.join(DIR, "pace.lua")
    with open(script, "w") as f:
        f.write(f"function delay() return {delay_ms} end\n")
    lat = {"pt": [], "f": []}
    for rep in range(REPS):
        lat["pt"].append(run_scenario(tg, "/passthrough" + list_path, 2, DURATION, script))
        lat["f"].append(run_scenario(tg, list_path, 2, DURATION, script))
    q_pt = f"crmgate pass-through, list, ¼ load (2 conns, {delay_ms} ms pacing)"
    q_f = f"crmgate filtered, list, ¼ load (2 conns, {delay_ms} ms pacing)"
    results[q_pt], results[q_f] = lat["pt"], lat["f"]
    scenarios += [(q_pt, tg, None, "list", None, None), (q_f, tg, None, "list", None, None)]

    stop_all()

    med = {n: {k: (statistics.median([r[k] for r in rs]) if rs[0][k] is not None else None)
               for k in rs[0]} for n, rs in results.items()}
    rss = {n: max(r["rss_mib"] for r in rs) for n, rs in results.items()}
    ref_pt = {"list": med["crmgate pass-through, list"]["rps"],
              "single": med["crmgate pass-through, single"]["rps"]}
    ref_pt.update({f"scale-{n}": med[f"crmgate pass-through, page of {n}"]["rps"] for n in SCALE})
    ref_ng = ({"list": med["nginx pass-through, list"]["rps"],
               "single": med["nginx pass-through, single"]["rps"]} if tn else None)
    if tn:
        ref_ng.update({k: med[f"nginx pass-through, {labels[k]}"]["rps"] for k in posts})

    lines = [f"Machine: {machine()}. {REPS} × {DURATION} s per scenario, wrk -t1 -c{CONNS} "
             f"(unless stated), persona `{PERSONA}` / `{PURPOSE}`, medians over repetitions.",
             "",
             "| scenario | req/s | p50 ms | p99 ms | proxy CPU µs/req | peak RSS MiB "
             "| Cedar evals/resp | × crmgate pass-through | × nginx |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, t, _, shape, *_ in scenarios:
        m = med[name]
        paced = "¼ load" in name
        x_pt = "" if paced or shape not in ref_pt else f"{m['rps'] / ref_pt[shape]:.2f}"
        x_ng = "" if paced or not ref_ng or shape not in ref_ng else f"{m['rps'] / ref_ng[shape]:.2f}"
        ev = "" if m["evals"] is None else f"{m['evals']:.2f}"
        if m["sock_errors"]:
            name += f" ({m['sock_errors']:.0f} socket errors)"
        lines.append(f"| {name} | {m['rps']:.0f} | {m['p50']:.2f} | {m['p99']:.2f} "
                     f"| {m['cpu_us']:.0f} | {rss[name]:.1f} | {ev} | {x_pt} | {x_ng} |")

    f_list = med["crmgate filtered, list"]["rps"]
    # Issue 15's goals.
    checks = [
        ("filtered list ≥ 0.5× pass-through", f_list / ref_pt["list"], 0.5),
        ("filtered single ≥ 0.85× pass-through",
         med["crmgate filtered, single"]["rps"] / ref_pt["single"], 0.85),
        ("fsync'd audit ≥ 0.85× without",
         med["crmgate filtered, list, audit fsync'd"]["rps"] / f_list, 0.85),
    ]
    if ref_ng:
        checks = [("pass-through single ≥ 1.0× nginx", ref_pt["single"] / ref_ng["single"], 1.0),
                  ("pass-through list ≥ 1.0× nginx", ref_pt["list"] / ref_ng["list"], 1.0)
                  ] + checks
    lines += ["", "| target | measured | met |", "|---|---:|---|"]
    for label, v, goal in checks:
        lines.append(f"| {label} | {v:.2f}× | {'yes' if v >= goal else 'no'} |")
    add50 = med[q_f]["p50"] - med[q_pt]["p50"]
    add99 = med[q_f]["p99"] - med[q_pt]["p99"]
    ev = med["crmgate filtered, list"]["evals"]
    lines += [
        f"| added latency at ¼ load, list p50 ≤ 0.5 ms | {add50:.2f} ms | "
        f"{'yes' if add50 <= 0.5 else 'no'} |",
        f"| added latency at ¼ load, list p99 ≤ 1.5 ms | {add99:.2f} ms | "
        f"{'yes' if add99 <= 1.5 else 'no'} |",
        f"| Cedar evaluations per filtered list response ≈ 0 | {ev:.2f} | "
        f"{'yes' if ev < 1.5 else 'no'} |",
        f"| peak RSS ≤ 64 MiB at 256 concurrent list requests | {rss[name256]:.1f} MiB | "
        f"{'yes' if rss[name256] <= 64 else 'no'} |",
    ]
    if ref_ng:
        for k, goal in (("create", 0.5),):
            v = med[f"crmgate, {labels[k]}"]["rps"] / ref_ng[k]
            lines.append(f"| create with a 2 KB redacted text ≥ {goal}× a pass-through create "
                         f"(nginx) | {v:.2f}× | {'yes' if v >= goal else 'no'} |")

    # Scale: cost per record must stay flat, memory bounded by the configured cap.
    lines += ["", "Scale: one upstream page of N records (benchmark route `/bench/contacts-N`, "
              "action `get`: filtered as it comes, no refill), same persona; CPU per record "
              "counts the upstream's records. A crmgate of its own (same configuration), so "
              "that its memory does not show in the other rows; its peak RSS per size is not "
              "per size: VmHWM is reset per scenario, but the allocator keeps what the "
              "largest page (warm-up included) took, so read the largest figure against the "
              "caps (upstream.max_body_bytes, limits.max_buffered_responses).", "",
              "| records | body KiB | pass-through req/s | filtered req/s | × pass-through "
              "| filtered CPU µs/req | filtered CPU µs/record | pass-through CPU µs/record "
              "| filtered p99 ms | peak RSS MiB (filtered) |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in SCALE:
        f, pt = med[f"crmgate filtered, page of {n}"], med[f"crmgate pass-through, page of {n}"]
        kib = sizes.get(n, 0) / 1024
        lines.append(f"| {n} | {kib:.0f} | {pt['rps']:.0f} | {f['rps']:.0f} "
                     f"| {f['rps'] / pt['rps']:.2f} | {f['cpu_us']:.0f} | {f['cpu_us'] / n:.2f} "
                     f"| {pt['cpu_us'] / n:.2f} | {f['p99']:.2f} "
                     f"| {rss[f'crmgate filtered, page of {n}']:.1f} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(DIR, "results.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
