#!/usr/bin/env python3
"""Through switchyard vs directly on ClickHouse, in one run (see benches/clickhouse.sh).

small: the 1-row query, alternating direct and through for N rounds; reports medians
       and the added latency. Direct is Python's http.client on one keep-alive
       connection reading ArrowStream (the format switchyard reads); through is pgbench
       (simple protocol, one connection) with per-transaction latencies logged.
large: the 1M-row query, alternating runs. Direct is `curl` reading the ArrowStream
       body into /dev/null; through is `pg_drain` (benches/pg_drain.rs) reading every
       DataRow of the text-format result and decoding none, the same work as curl's.
       The ratio of their median rows/s is the goal's measure. `psql -At` printing
       every row is timed too, as what a real client sees (psql's own formatting
       then dominates).
       Measured twice: with every process sharing the machine's CPUs, and (given
       --server-pid, --proxy-pid and two CPUs or more) with the server pinned to CPU 0
       and switchyard and the clients to CPU 1, as when a proxy runs on its own
       cores. Shared, the server and switchyard compete for the same two cores, so
       every cycle switchyard spends is taken from the server as well.
"""
import argparse
import glob
import http.client
import os
import statistics
import subprocess
import time
import urllib.parse

SMALL = "SELECT n, s FROM bench_rows WHERE n = 42"
LARGE = "SELECT n, s, t, f FROM bench_rows"
LARGE_ROWS = 1_000_000


def direct_small(url, rounds):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        conn.request("POST", "/?default_format=ArrowStream", body=SMALL)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status
        times.append(time.perf_counter() - start)
    conn.close()
    return times


def through_small(port, rounds, work):
    script = os.path.join(work, "small.sql")
    with open(script, "w") as f:
        f.write(SMALL + ";\n")
    for old in glob.glob(os.path.join(work, "pgbench_log.*")):
        os.remove(old)
    subprocess.run(
        ["pgbench", "-n", "-M", "simple", "-h", "127.0.0.1", "-p", str(port), "-U", "bench",
         "-c", "1", "-t", str(rounds), "-f", script, "-l", "--log-prefix", os.path.join(work, "pgbench_log"),
         "postgres"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    times = []
    for log in glob.glob(os.path.join(work, "pgbench_log.*")):
        with open(log) as f:
            times += [int(line.split()[2]) / 1e6 for line in f if line.strip()]
    assert times, "pgbench logged no transactions"
    return times


def pinned(cpu):
    return [] if cpu is None else ["taskset", "-c", str(cpu)]


def pin_process(pid, cpus):
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], check=True, stdout=subprocess.DEVNULL)


def direct_large(url, client_cpu=None):
    start = time.perf_counter()
    subprocess.run(
        pinned(client_cpu) + ["curl", "-sf", "-o", "/dev/null", f"{url}/?default_format=ArrowStream", "--data-binary", LARGE],
        check=True,
    )
    return time.perf_counter() - start


def drained_large(drain, port, client_cpu=None):
    start = time.perf_counter()
    out = subprocess.run(
        pinned(client_cpu) + [drain, f"127.0.0.1:{port}", "bench", "postgres", LARGE],
        check=True, stdout=subprocess.PIPE,
    ).stdout
    elapsed = time.perf_counter() - start
    rows = int(out.split()[0])
    assert rows == LARGE_ROWS, rows
    return elapsed


def psql_large(port, client_cpu=None):
    start = time.perf_counter()
    out = subprocess.run(
        pinned(client_cpu) + ["psql", "-X", "-At", "-h", "127.0.0.1", "-p", str(port), "-U", "bench", "-d", "postgres", "-c", LARGE],
        check=True, stdout=subprocess.PIPE,
    ).stdout
    elapsed = time.perf_counter() - start
    assert out.count(b"\n") == LARGE_ROWS, out.count(b"\n")
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clickhouse", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--profile", default="release")
    parser.add_argument("--work", required=True)
    parser.add_argument("--drain", required=True, help="the pg_drain binary")
    parser.add_argument("--server-pid", type=int, help="the ClickHouse server's process, to pin")
    parser.add_argument("--proxy-pid", type=int, help="switchyard's process, to pin")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--large-runs", type=int, default=3)
    args = parser.parse_args()

    # Warm both paths (connections, switchyard's DESCRIBE cache, ClickHouse caches).
    direct_small(args.clickhouse, 20)
    through_small(args.port, 20, args.work)
    direct, through = [], []
    for _ in range(5):
        direct += direct_small(args.clickhouse, args.rounds // 5)
        through += through_small(args.port, args.rounds // 5, args.work)
    d_med, t_med = statistics.median(direct), statistics.median(through)
    print(f"switchyard build: {args.profile}")
    print(f"small (1 row, {len(direct)} + {len(through)} queries)")
    print(f"  direct  median {d_med * 1e3:8.3f} ms")
    print(f"  through median {t_med * 1e3:8.3f} ms")
    print(f"  added at the median: {(t_med - d_med) * 1e3:.3f} ms (goal <= 1 ms)")

    drained_large(args.drain, args.port)  # warm the DESCRIBE cache
    large(args, "sharing all CPUs", None)
    if args.server_pid and args.proxy_pid and (os.cpu_count() or 1) >= 2:
        pin_process(args.server_pid, "0")
        pin_process(args.proxy_pid, "1")
        try:
            large(args, "server on CPU 0; switchyard and clients on CPU 1", 1)
        finally:
            all_cpus = f"0-{(os.cpu_count() or 1) - 1}"
            pin_process(args.server_pid, all_cpus)
            pin_process(args.proxy_pid, all_cpus)


def large(args, placement, client_cpu):
    d_runs, t_runs, p_runs = [], [], []
    for _ in range(args.large_runs):
        d_runs.append(direct_large(args.clickhouse, client_cpu))
        t_runs.append(drained_large(args.drain, args.port, client_cpu))
        p_runs.append(psql_large(args.port, client_cpu))
    d_rate = LARGE_ROWS / statistics.median(d_runs)
    t_rate = LARGE_ROWS / statistics.median(t_runs)
    p_rate = LARGE_ROWS / statistics.median(p_runs)
    print(f"large ({LARGE_ROWS} rows x 4 columns, {args.large_runs} runs each; {placement})")
    print(f"  direct (curl, ArrowStream)    median {statistics.median(d_runs):7.3f} s  {d_rate:12,.0f} rows/s")
    print(f"  through (pg_drain, text rows) median {statistics.median(t_runs):7.3f} s  {t_rate:12,.0f} rows/s")
    print(f"  through (psql -At)            median {statistics.median(p_runs):7.3f} s  {p_rate:12,.0f} rows/s")
    print(f"  throughput ratio through/direct: {t_rate / d_rate:.1%} (goal >= 90%); psql: {p_rate / d_rate:.1%}")


if __name__ == "__main__":
    main()
