"""The KPI library on a Ballista cluster against the in-process engine, on the same warehouse.

Usage: python benches/kpis_on_ballista.py --warehouse WH [--aftersight BIN] [--runs 3] [--executors 2]
                                          [--run RAW_EXPORT]

Starts `aftersight scheduler` and N `aftersight executor` processes on loopback ports (each executor
with one task slot, so the cluster uses this machine's two cores as the local engine does), then
times every library query both ways, interleaved, as whole CLI calls (`aftersight sql --query NAME
--format csv`, local and `--engine ballista`), and checks that both print the same CSV. Prints the
best-of-N seconds per query, the totals and the ratios, and the cluster's fixed cost: an empty
query's time, each way. With --run, also runs the whole pipeline (`aftersight run --raw RAW`) once
each way and prints every stage's seconds side by side (from run.json), and whether the KPI CSVs
are byte-identical. Stops what it started.
"""

import argparse
import filecmp
import json
import os
import socket
import subprocess
import sys
import tempfile
import time


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def wait_port(port, limit=60):
    start = time.time()
    while time.time() - start < limit:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"nothing listens on {port} after {limit} s")


def wait_ready(port, limit=60):
    start = time.time()
    while time.time() - start < limit:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if s.recv(64).startswith(b"HTTP/1.1 200"):
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"executor health port {port} not ready after {limit} s")


def start_cluster(binary, executors, work):
    ports = free_ports(1 + 3 * executors)
    logs = open(os.path.join(work, "cluster.log"), "w")
    procs = [subprocess.Popen([binary, "scheduler", "--bind-host", "127.0.0.1", "--external-host", "127.0.0.1",
                               "--bind-port", str(ports[0])], stdout=logs, stderr=logs,
                              env={**os.environ, "RUST_LOG": "warn"})]
    wait_port(ports[0])
    for i in range(executors):
        flight, grpc, health = ports[1 + 3 * i: 4 + 3 * i]
        d = os.path.join(work, f"executor{i + 1}")
        os.makedirs(d, exist_ok=True)
        procs.append(subprocess.Popen(
            [binary, "executor", "--scheduler-host", "127.0.0.1", "--scheduler-port", str(ports[0]),
             "--bind-host", "127.0.0.1", "--external-host", "127.0.0.1", "--bind-port", str(flight),
             "--bind-grpc-port", str(grpc), "--bind-health-port", str(health), "--vcores", "1",
             "--work-dir", d], stdout=logs, stderr=logs, env={**os.environ, "RUST_LOG": "warn"}))
        wait_ready(health)
    return procs, f"df://127.0.0.1:{ports[0]}"


def library(folder):
    return sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".sql"))


def timed(cmd):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE).stdout
    return time.perf_counter() - t0, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--aftersight", default=os.path.expanduser("~/.cache/aftersight/target/release/aftersight"))
    ap.add_argument("--queries", default="queries")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--executors", type=int, default=2)
    ap.add_argument("--run", help="a raw export: also time `aftersight run` on it, stage by stage")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="aftersight-ballista-")
    procs, url = start_cluster(args.aftersight, args.executors, work)
    try:
        base = [args.aftersight, "sql", "--warehouse", args.warehouse, "--queries", args.queries, "--format", "csv"]
        engines = {"local": ["--engine", "local"], "cluster": ["--engine", "ballista", "--engine-url", url]}
        rows = []
        # The fixed cost: a statement that reads one row of one file (session, plan, one job).
        for name, extra in [("one row of stations", ["SELECT * FROM stations LIMIT 1"])] + [
                (q, ["--query", q]) for q in library(args.queries)]:
            best = {}
            outs = {}
            for _ in range(args.runs):
                for engine, flags in engines.items():
                    t, out = timed(base + flags + extra)
                    best[engine] = min(best.get(engine, t), t)
                    outs[engine] = out
            same = outs["local"] == outs["cluster"]
            rows.append((name, best["local"], best["cluster"], same))
            print(f"{name:32s} local {best['local']:7.2f} s  cluster {best['cluster']:7.2f} s  "
                  f"x{best['cluster'] / best['local']:5.2f}  {'same CSV' if same else 'CSV DIFFERS'}", flush=True)
        queries = rows[1:]
        local = sum(r[1] for r in queries)
        cluster = sum(r[2] for r in queries)
        print(f"{'library total':32s} local {local:7.2f} s  cluster {cluster:7.2f} s  x{cluster / local:5.2f}")
        print(f"CSV identical for {sum(r[3] for r in queries)} of {len(queries)} queries")
        if args.run:
            stages = {}
            for engine, flags in engines.items():
                out = os.path.join(work, f"run-{engine}")
                t0 = time.perf_counter()
                subprocess.run([args.aftersight, "run", "--quiet", "--raw", args.run, "--out", out] + flags,
                               check=True, stdout=subprocess.DEVNULL)
                total = time.perf_counter() - t0
                record = json.load(open(os.path.join(out, "run.json")))
                stages[engine] = {s["stage"]: s["seconds"] for s in record["stages"]}
                stages[engine]["whole run"] = total
            for stage in stages["local"]:
                a, b = stages["local"][stage], stages["cluster"].get(stage, float("nan"))
                print(f"stage {stage:26s} local {a:7.2f} s  cluster {b:7.2f} s  x{b / a if a else float('nan'):5.2f}")
            kpis = [f for f in os.listdir(os.path.join(work, "run-local", "kpis")) if f.endswith(".csv")]
            same = [f for f in kpis if filecmp.cmp(os.path.join(work, "run-local", "kpis", f),
                                                   os.path.join(work, "run-cluster", "kpis", f), shallow=False)]
            print(f"run: KPI CSVs byte-identical for {len(same)} of {len(kpis)}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


if __name__ == "__main__":
    main()
