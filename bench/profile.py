#!/usr/bin/python3
"""profile.py - where the broker's time goes for one burst through the plugin.

    profile.py --plugin PATH [--transport websocket|pubnub] [--qos 0|1] [--size 300]
               [--count 200000] [--perf] [--out DIR]

Starts the benchmark's environment (simulator, broker with the plugin; bench/rig.py),
sends one burst to a C subscriber (bench.py's burst: every notification checked once and
in order) and prints the CPU time each broker thread spent per notification (the broker's
own thread "mosquitto", the plugin's worker "ringcentral"; from /proc). With --perf it
also records the broker with `perf record` (Debian's linux-perf) during the burst and
prints the top symbols by self time per thread; perf.data stays in --out for
`perf report -i`. This is how the costs named in bench/README.md ("Profile") were found.
Not part of the test suite.
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile

import bench


def top_symbols(data, threads, n=12):
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort",
                          "comm,dso,sym", "--stdio"], capture_output=True, text=True).stdout
    rows = {t: [] for t in threads}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 4 or not parts[0].endswith("%") or parts[1] not in rows:
            continue
        if len(rows[parts[1]]) < n:
            rows[parts[1]].append("%7s  %-22s %s" % (parts[0], os.path.basename(parts[2]),
                                                     " ".join(parts[4:])))
    return rows


def on_term(signum, frame):
    raise KeyboardInterrupt     # unwinds like Ctrl-C: everything started is stopped


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--transport", default="websocket", choices=("websocket", "pubnub"))
    ap.add_argument("--qos", type=int, default=0, choices=(0, 1))
    ap.add_argument("--size", type=int, default=300)
    ap.add_argument("--count", type=int, default=200_000)
    ap.add_argument("--perf", action="store_true", help="also record with perf")
    ap.add_argument("--out", default=None, help="where perf.data goes (default: a temp dir)")
    args = ap.parse_args()
    bench.load(args.plugin)
    signal.signal(signal.SIGTERM, on_term)
    out_dir = args.out or tempfile.mkdtemp(prefix="rcprofile-")
    os.makedirs(out_dir, exist_ok=True)

    class Args:
        plugin, quick, only, transports = args.plugin, False, "throughput", args.transport
        out = os.path.join(out_dir, "unused.md")
        clients_dir = os.path.join(bench.ROOT, "build", "bench-clients")
    b = bench.Bench(Args)
    b.sources = ["plugin"]
    with b.env(args.transport, "plugin", args.qos,
               bench.sim_args_for(args.size, args.count)) as env:
        pid = env.broker.proc.pid
        perf = None
        data = os.path.join(out_dir, "perf.data")
        if args.perf:
            perf = bench.rig.start(["perf", "record", "-F", "999", "-p", str(pid), "-o", data],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = bench.rig.thread_cpu_seconds(pid)
        r = b.burst(env, args.size, args.count, 60, ("c",), label="profile")
        after = bench.rig.thread_cpu_seconds(pid)
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait(30)
    n = r["subs"]["c"]["received"] or 1
    print("%s QoS %d, %d x %d B: %s" % (args.transport, args.qos, args.count, args.size,
                                        bench.brief(r)))
    for name in sorted(after):
        print("  thread %-12s %6.2f us of CPU per notification" % (
            name, (after[name] - before.get(name, 0.0)) * 1e6 / n))
    if perf:
        for name, rows in top_symbols(data, sorted(after)).items():
            print("  top self time, thread %s (share of all broker samples):" % name)
            for row in rows:
                print("    " + row)
        print("perf data: %s" % data)


if __name__ == "__main__":
    sys.exit(main())
