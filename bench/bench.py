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

Environment: DURATION (s, default 10), REPS (default 3), CONNS (default 8), BENCH_PORT (first
of four consecutive ports, default 18480), PERSONA (default holly), PURPOSE (default
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


def wrk(url, conns, duration, script=None):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency", "--timeout", "5s",
           "-H", f"Authorization: Bearer demo-key-{PERSONA}", "-H", f"X-Purpose: {PURPOSE}"]
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


def run_scenario(target, path, conns, duration, script=None):
    # Let the requests of the previous scenario drain (their audit records included).
    time.sleep(0.5)
    pids = pids_of(target.proc)
    reset_hwm(pids)
    if target.audit:
        evaluations(target.audit)
    t0 = cpu_ticks(pids)
    res = wrk(f"http://127.0.0.1:{target.port}{path}", conns, duration, script)
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


def main():
    shutil.rmtree(DIR, ignore_errors=True)
    os.makedirs(os.path.join(DIR, "nginx"))
    up = start([os.path.join(BIN, "examples", "bench_upstream"), DIR, str(UP), str(GATE),
                str(GATE_FSYNC)], stdout=subprocess.PIPE, text=True)
    up.stdout.readline()
    wait_port(UP)
    props = ",".join(json.load(open(os.path.join(DIR, "single.json")))["properties"].keys())
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
    wait_port(GATE)
    wait_port(GATE_FSYNC)

    tg = Target("crmgate", gate, GATE, os.path.join(DIR, "audit"))
    tf = Target("crmgate (fsync)", gate_fsync, GATE_FSYNC, os.path.join(DIR, "audit-fsync"))
    tn = Target("nginx", nginx, NGINX) if nginx else None

    # Sanity: every scenario answers 200 with a JSON body.
    for t, p in [(tg, list_path), (tg, single_path), (tg, "/passthrough" + list_path),
                 (tg, "/passthrough" + single_path), (tf, list_path)] + (
            [(tn, list_path), (tn, single_path)] if tn else []):
        req = urllib.request.Request(f"http://127.0.0.1:{t.port}{p}", headers={
            "Authorization": f"Bearer demo-key-{PERSONA}", "X-Purpose": PURPOSE})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
            json.loads(body)
            log(f"{t.name:16} {p[:50]:50} {r.status} {len(body)} bytes")

    scenarios = []
    if tn:
        scenarios += [("nginx pass-through, list", tn, list_path, "list"),
                      ("nginx pass-through, single", tn, single_path, "single")]
    scenarios += [
        ("crmgate pass-through, list", tg, "/passthrough" + list_path, "list"),
        ("crmgate pass-through, single", tg, "/passthrough" + single_path, "single"),
        ("crmgate filtered, list", tg, list_path, "list"),
        ("crmgate filtered, single", tg, single_path, "single"),
        ("crmgate filtered, list, audit fsync'd", tf, list_path, "list"),
    ]
    results = {name: [] for name, *_ in scenarios}
    # Warm up (connection pools, decision caches): steady state is what is measured.
    for name, t, p, _ in scenarios:
        wrk(f"http://127.0.0.1:{t.port}{p}", CONNS, 2)
    for rep in range(REPS):
        for name, t, p, _ in scenarios:
            r = run_scenario(t, p, CONNS, DURATION)
            results[name].append(r)
            log(f"rep {rep + 1}/{REPS} {name:40} {r['rps']:8.0f} req/s  p50 {r['p50']:.2f} ms"
                f"  p99 {r['p99']:.2f} ms  {r['cpu_us']:.0f} µs CPU/req  {r['rss_mib']:.1f} MiB"
                f"  evals {r['evals']}")

    # Memory under 256 concurrent list requests.
    name256 = "crmgate filtered, list, 256 connections"
    results[name256] = [run_scenario(tg, list_path, 256, DURATION)]
    scenarios.append((name256, tg, list_path, "list"))

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
    scenarios += [(q_pt, tg, None, "list"), (q_f, tg, None, "list")]

    stop_all()

    med = {n: {k: (statistics.median([r[k] for r in rs]) if rs[0][k] is not None else None)
               for k in rs[0]} for n, rs in results.items()}
    rss = {n: max(r["rss_mib"] for r in rs) for n, rs in results.items()}
    ref_pt = {"list": med["crmgate pass-through, list"]["rps"],
              "single": med["crmgate pass-through, single"]["rps"]}
    ref_ng = ({"list": med["nginx pass-through, list"]["rps"],
               "single": med["nginx pass-through, single"]["rps"]} if tn else None)

    lines = [f"Machine: {machine()}. {REPS} × {DURATION} s per scenario, wrk -t1 -c{CONNS} "
             f"(unless stated), persona `{PERSONA}` / `{PURPOSE}`, medians over repetitions.",
             "",
             "| scenario | req/s | p50 ms | p99 ms | proxy CPU µs/req | peak RSS MiB "
             "| Cedar evals/resp | × crmgate pass-through | × nginx |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, t, _, shape in scenarios:
        m = med[name]
        paced = "¼ load" in name
        x_pt = "" if paced else f"{m['rps'] / ref_pt[shape]:.2f}"
        x_ng = "" if paced or not ref_ng else f"{m['rps'] / ref_ng[shape]:.2f}"
        ev = "" if m["evals"] is None else f"{m['evals']:.2f}"
        if m["sock_errors"]:
            name += f" ({m['sock_errors']:.0f} socket errors)"
        lines.append(f"| {name} | {m['rps']:.0f} | {m['p50']:.2f} | {m['p99']:.2f} "
                     f"| {m['cpu_us']:.0f} | {rss[name]:.1f} | {ev} | {x_pt} | {x_ng} |")

    f_list = med["crmgate filtered, list"]["rps"]
    checks = [
        ("filtered list ≥ 0.25× pass-through", f_list / ref_pt["list"], 0.25),
        ("filtered single ≥ 0.6× pass-through",
         med["crmgate filtered, single"]["rps"] / ref_pt["single"], 0.6),
        ("fsync'd audit ≥ 0.8× without",
         med["crmgate filtered, list, audit fsync'd"]["rps"] / f_list, 0.8),
    ]
    if ref_ng:
        checks = [("pass-through single ≥ 1.0× nginx", ref_pt["single"] / ref_ng["single"], 1.0),
                  ("pass-through list ≥ 0.9× nginx", ref_pt["list"] / ref_ng["list"], 0.9)
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
    text = "\n".join(lines) + "\n"
    with open(os.path.join(DIR, "results.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
