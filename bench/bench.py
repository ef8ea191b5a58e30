#!/usr/bin/python3
"""bench.py - the mosquitto-ringcentral benchmark (run it through bench/run.sh).

    bench.py --plugin PATH [--quick] [--only SECTIONS] [--out FILE]

Measures the plugin end to end against the simulator (tests/sim/rcsim.py), for both
transports, and what the same broker does without it, then prints one table and writes it
as Markdown to bench/results/latest.md (raw figures beside it in latest.json). Sections
(README.md says what each figure means and what limits it):

  throughput  bursts through simulator -> plugin -> broker -> C and paho subscribers
  ceiling     the same bursts from a C publisher into the same broker (no plugin work)
  latency     a trickle of 20 notifications/s: simulator call -> subscriber receipt
  idle        broker CPU while online and idle
  rss         broker memory before and after a long burst
  rtt         another client's round trip: idle, during a burst, during a cloud stall

When bench/sdk_bridge.py exists and its available() says yes, the throughput, latency,
idle and rtt runs are repeated with the official RingCentral SDK bridge feeding a broker
without the plugin (the `bridge` source of rig.Env); everything else stays the same.

Nothing here is part of the test suite; it is not registered with ctest.
"""
import argparse
import contextlib
import datetime
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Imported by main() once RC_PLUGIN names the plugin (harness.py reads it when imported):
# harness, rig, report, NotifyClient, send_burst, Check, latency_stats.


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plugin", required=True, help="mosquitto_ringcentral.so to measure")
    ap.add_argument("--quick", action="store_true", help="smaller bursts, shorter windows")
    ap.add_argument("--only", default="",
                    help="comma-separated sections (default: all): " + ",".join(SECTIONS))
    ap.add_argument("--transports", default="websocket,pubnub")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest.md"))
    ap.add_argument("--clients-dir", default=os.path.join(ROOT, "build", "bench-clients"),
                    help="where the C clients are compiled")
    return ap.parse_args()


SECTIONS = ("throughput", "ceiling", "latency", "idle", "rss", "rtt")

# What each mode measures. row_seconds caps one burst from its first notify call to its
# last receipt: a path slower than count/row_seconds is measured over that long and the
# rest is reported as unfinished, so a run takes bounded time whatever the speed.
MODES = {
    "full": dict(counts=(20_000, 200_000), sizes=(300, 2048, 16384), qos=(0, 1),
                 row_seconds=12, latency_seconds=30, latency_rate=20, idle_seconds=60,
                 rss_warmup=1_000_000, rss_count=1_000_000, rss_seconds=40,
                 rtt_idle_seconds=5, rtt_burst=200_000, stall_seconds=8, rtt_interval_ms=5),
    "quick": dict(counts=(2_000, 20_000), sizes=(300, 2048, 16384), qos=(0, 1),
                  row_seconds=4, latency_seconds=5, latency_rate=20, idle_seconds=10,
                  rss_warmup=100_000, rss_count=100_000, rss_seconds=8,
                  rtt_idle_seconds=3, rtt_burst=20_000, stall_seconds=6, rtt_interval_ms=3),
}
SMALL = 300                 # bytes: the latency, rss and rtt notifications
# The plugin's options for the rtt runs over WebSocket: a stalled gateway is noticed after
# heartbeat_interval + pong_timeout seconds of silence instead of the default 30 + 10, so
# the detection and the reconnect fall inside the stall window (plugin_opt_... as users
# may set them).
RTT_WS_OPTS = {"heartbeat_interval": 3, "pong_timeout": 2}


def chunking(size, count):
    """(notifications per notify call, window): about 4 MB of answer per call, and at
    most ~48 MB (and 20,000 notifications) sent ahead of what the path consumed."""
    chunk = min(1000, max(50, 4_000_000 // size), count)
    window = min(count, max(2 * chunk, min(20_000, 48_000_000 // size)))
    return chunk, window


def sim_args_for(size, count):
    """The simulated PubNub cache must hold everything sent and not yet fetched (else the
    simulator, not the path, would lose notifications): twice the window and then some."""
    chunk, window = chunking(size, count)
    return ("--cache-size", str(2 * window + 2 * chunk + 1000))


class Bench:
    def __init__(self, args):
        self.args = args
        self.mode = "quick" if args.quick else "full"
        self.cfg = MODES[self.mode]
        self.transports = [t for t in args.transports.split(",") if t]
        self.sections = [s for s in (args.only.split(",") if args.only else SECTIONS) if s]
        for s in self.sections:
            if s not in SECTIONS:
                sys.exit("unknown section %r (have: %s)" % (s, ", ".join(SECTIONS)))
        self.tools = rig.build_clients(args.clients_dir)
        self.bridge, self.bridge_reason = rig.load_sdk_bridge()
        self.sources = ["plugin"] + (["bridge"] if self.bridge else [])
        self.scratch = tempfile.mkdtemp(prefix="rcbench-")
        h._tempdirs.add(self.scratch)
        self.results = {s: [] for s in SECTIONS}
        self.started = time.monotonic()
        self.counter = 0
        self.quiet_waited = 0.0     # seconds spent in wait_for_quiet
        self.bridge_errors = []

    # -- helpers ------------------------------------------------------------------------
    def rundir(self, label):
        self.counter += 1
        d = os.path.join(self.scratch, "%03d-%s" % (self.counter, label))
        os.makedirs(d)
        return d

    def env(self, transport, source, qos, sim_args=(), gate=True, **overrides):
        if gate:
            self.wait_for_quiet()
        return rig.Env(transport, source, qos, bridge=self.bridge, sim_args=sim_args,
                       **overrides)

    def wait_for_quiet(self, busy=20.0, longest=30.0, budget=120.0):
        """On a shared machine: before starting a run, waits (at most `longest` seconds per
        run, `budget` seconds over the whole benchmark) until the machine's processes
        other than this one are busy with less than `busy`% of a core over half a second.
        Nothing else of this benchmark runs at that point, so that is other work; what
        still overlaps a run shows as OTHER in its CPU column."""
        start = time.monotonic()
        me = os.getpid()
        while True:
            a, mine = rig.machine_busy_seconds(), rig.cpu_seconds(me)
            time.sleep(0.5)
            pct = 200.0 * (rig.machine_busy_seconds() - a - (rig.cpu_seconds(me) - mine))
            if (pct < busy or time.monotonic() - start > longest
                    or self.quiet_waited >= budget):
                break
            if time.monotonic() - start < 0.6:
                self.log("waiting for other work on the machine to stop (%.0f%% of a core)"
                         % pct)
            self.quiet_waited += 0.5
        return pct

    def log(self, text):
        print("[%6.1fs] %s" % (time.monotonic() - self.started, text), flush=True)

    def each_source(self, what, run):
        """run(source) for the plugin, then for the SDK bridge when it is available. The
        bridge is someone else's program: its failure is logged and reported in the
        table's header, and the benchmark goes on."""
        for source in self.sources:
            try:
                run(source)
            except Exception as e:
                if source != "bridge":
                    raise
                self.bridge_errors.append("%s: %s" % (what, str(e).strip()[-300:]))
                self.log("SDK bridge failed in %s: %s" % (what, e))

    # -- one burst through an environment -----------------------------------------------
    def burst(self, env, size, count, seconds, kinds=("c", "paho"), label="burst",
              window=None):
        """`count` notifications of `size` bytes through env to fresh subscribers (at the
        env's QoS); returns the run's figures. The run ends when every subscriber has all,
        when none got anything for 2 s, or `seconds` after it began (cut). window: how far
        the simulator may run ahead of the path (default: as far as memory allows)."""
        body = env.pad_for(size)
        chunk, default_window = chunking(size, count)
        window = window or default_window
        d = self.rundir(label)
        with rig.Subscribers(self.tools, env.broker.port, env.qos, d, kinds) as subs:
            base = env.consumed()
            counters = env.counters()

            def settled():
                # The plugin has accounted for every notification sent (published,
                # dropped or a duplicate): whatever is missing now is not coming.
                now = env.counters()
                return not counters or sum(now[k] - counters[k] for k in
                                           ("published", "dropped", "duplicates")) >= len(
                                               res.uuids)

            def progress():
                # What the first subscriber got (its file is flushed every 20 ms), or
                # what the plugin took off its transport (its status, once a second, but
                # blind to what the broker drops afterwards), whichever is further.
                n = subs.count(kinds[0])
                if base is not None:
                    n = max(n, env.consumed() - base)
                return n
            pids = dict(env.path_pids(), sim=env.sim.pid, feeder=os.getpid(), **subs.pids())
            drops_before = env.dropped_lines()
            with rig.CpuTracker(pids) as cpu:
                deadline = time.monotonic() + seconds
                res = send_burst(env.sim, rig.EVENT, body, count, chunk, window, progress,
                                 deadline=deadline)
                ended = subs.wait(len(res.uuids), deadline, 2.0 if counters else 3.0,
                                  settled)
            subs.stop()
            cut = res.cut or ended == "deadline"
            after = env.counters()
            out = {"transport": env.transport, "source": env.source, "qos": env.qos,
                   "nominal": size, "size": res.size, "count": count, "sent": len(res.uuids),
                   "unrouted": res.unrouted, "cut": cut, "ended": ended,
                   "sim_rate": res.sim_rate, "window": window, "chunk": chunk,
                   "window_wait_s": res.window_wait / 1e9,
                   "t0": res.t_start, "t_sent": res.t_sent,
                   "dropped": dropped_since(drops_before, env.dropped_lines()),
                   "plugin": {k: after[k] - counters[k] for k in counters}, "subs": {}}
            t_end = res.t_sent
            for kind in kinds:
                c = Check(res.uuids, subs.read(kind), cut)
                out["subs"][kind] = {"rate": c.rate(res.t_start), "check": c.summary(),
                                     "clean": c.clean, "lost": c.lost,
                                     "unfinished": c.unfinished, "received": c.received,
                                     "duplicates": c.duplicates,
                                     "out_of_order": c.out_of_order, "foreign": c.foreign}
                if c.t_last:
                    t_end = max(t_end, c.t_last)
            out["t_end"] = t_end
            out["cpu"] = {k: cpu.percent(k, res.t_start, t_end) for k in list(pids) + ["other"]}
        return out

    # -- sections -----------------------------------------------------------------------
    def subscriber_groups(self, qos):
        """Which subscribers share a burst. At QoS 0 the C and the paho subscriber take
        the same burst side by side. At QoS 1 each takes its own: Mosquitto reads a
        publisher (and the plugin hands over a notification) at each turn of its loop, and
        each acknowledgement is such a turn, so with two QoS 1 subscribers the faster one's
        acknowledgements set the pace and the slower one's queue (max_queued_messages)
        overflows, whoever publishes: the broker alone loses there too. Each subscriber
        alone is what the targets are about (a subscriber that keeps up on average)."""
        return [("c", "paho")] if qos == 0 else [("c",), ("paho",)]

    def run_throughput(self):
        """One environment per transport, QoS and source, reused for every size and count
        (starting a broker, the simulator and a bridge costs seconds each time); a burst
        cut at its time limit is let drain before the next starts."""
        cfg = self.cfg
        sim_args = max((sim_args_for(size, count) for size in cfg["sizes"]
                        for count in cfg["counts"]), key=lambda a: int(a[1]))
        for transport in self.transports:
            for qos in cfg["qos"]:
                def run(source):
                    with self.env(transport, source, qos, sim_args) as env:
                        for size in cfg["sizes"]:
                            for count in cfg["counts"]:
                                for kinds in self.subscriber_groups(qos):
                                    r = self.burst(env, size, count, cfg["row_seconds"], kinds,
                                                   label="tp-%s-%s" % (source, transport))
                                    self.results["throughput"].append(r)
                                    self.log("throughput %-9s %-6s QoS %d %5d B x %6d: %s" % (
                                        transport, source, qos, size, count, brief(r)))
                                    if r["cut"]:
                                        self.settle(env)
                self.each_source("throughput %s QoS %d" % (transport, qos), run)

    def run_ceiling(self):
        """The C publisher into a broker with the plugin loaded and online but idle."""
        cfg = self.cfg
        for qos in cfg["qos"]:
            with self.env("websocket", "plugin", qos) as env:
                for size in cfg["sizes"]:
                    for count in cfg["counts"]:
                        for kinds in self.subscriber_groups(qos):
                            r = self.publish(env, size, count, cfg["row_seconds"] * 2, kinds)
                            self.results["ceiling"].append(r)
                            self.log("ceiling   broker alone     QoS %d %5d B x %6d: %s" % (
                                qos, size, count, brief(r)))

    def publish(self, env, size, count, seconds, kinds=("c", "paho")):
        """`count` messages of `size` bytes from cpub into env's broker, to fresh
        subscribers at env's QoS; figures as burst()'s."""
        d = self.rundir("ceiling")
        prefix = secrets.token_hex(4)
        template = ceiling_template(size)
        tpath, stats = os.path.join(d, "template.json"), os.path.join(d, "cpub.stats")
        with open(tpath, "wb") as f:
            f.write(template)
        sent = ["%s-0000-4000-8000-%012d" % (prefix, i) for i in range(count)]
        with rig.Subscribers(self.tools, env.broker.port, env.qos, d, kinds) as subs:
            pids = dict(env.path_pids(), **subs.pids())
            drops_before = env.dropped_lines()
            with rig.CpuTracker(pids) as cpu:
                deadline = time.monotonic() + seconds
                pub = rig.start([self.tools["cpub"], str(env.broker.port), rig.TOPIC,
                                 str(env.qos), str(count), tpath, "9", prefix, stats],
                                stdout=subprocess.DEVNULL)
                cpu.pids["cpub"] = pub.pid
                try:
                    pub.wait(max(1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
                h.stop_process(pub)
                marks = read_marks(stats)
                ended = subs.wait(count, deadline)
            subs.stop()
            t0 = marks.get("first", 0)
            cut = "done" not in marks or ended == "deadline"
            out = {"transport": None, "source": "broker alone", "qos": env.qos,
                   "nominal": size, "size": len(template), "count": count, "sent": count,
                   "unrouted": 0,
                   "cut": cut, "ended": ended, "t0": t0,
                   "sim_rate": (count * 1e9 / (marks["done"] - t0)) if "done" in marks else None,
                   "dropped": dropped_since(drops_before, env.dropped_lines()), "subs": {}}
            t_end = marks.get("done", t0)
            for kind in kinds:
                c = Check(sent, subs.read(kind), cut)
                out["subs"][kind] = {"rate": c.rate(t0), "check": c.summary(),
                                     "clean": c.clean, "lost": c.lost,
                                     "unfinished": c.unfinished, "received": c.received}
                if c.t_last:
                    t_end = max(t_end, c.t_last)
            out["t_end"] = t_end
            out["cpu"] = {k: cpu.percent(k, t0, t_end) for k in list(cpu.pids) + ["other"]}
        return out

    def run_latency(self):
        cfg = self.cfg
        for transport in self.transports:
            def run(source):
                with self.env(transport, source, 1) as env:
                    r = self.trickle(env, cfg["latency_seconds"], cfg["latency_rate"])
                self.results["latency"].append(r)
                self.log("latency   %-9s %-6s: %s" % (transport, source, ", ".join(
                    "%s p50 %.1f p99 %.1f max %.1f ms" % (k, v["p50"], v["p99"], v["max"])
                    for k, v in r["subs"].items() if v)))
            self.each_source("latency %s" % transport, run)

    def trickle(self, env, seconds, rate):
        """`rate` notifications/s for `seconds`, one notify call each; per subscriber the
        time from just before the call to the receipt."""
        body = env.pad_for(SMALL)
        d = self.rundir("latency")
        called = {}
        with rig.Subscribers(self.tools, env.broker.port, env.qos, d) as subs:
            client = NotifyClient(env.sim)
            try:
                n = int(seconds * rate)
                start = time.monotonic()
                for i in range(n):
                    delay = start + i / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    t = time.monotonic_ns()
                    client.send({"event": rig.EVENT, "body": body})
                    for entry in client.receive()["delivered"]:
                        if entry.get("sequence", 0) is not None:
                            called[entry["uuid"]] = t
            finally:
                client.close()
            subs.wait(len(called), time.monotonic() + 10)
            subs.stop()
            out = {"transport": env.transport, "source": env.source, "qos": env.qos,
                   "size": SMALL, "count": int(seconds * rate), "sent": len(called),
                   "subs": {}}
            for kind in subs.kinds:
                first = {}
                for u, t in subs.read(kind):
                    if u in called and u not in first:
                        first[u] = t - called[u]
                stats = latency_stats(list(first.values()))
                if stats:
                    stats["missing"] = len(called) - len(first)
                out["subs"][kind] = stats
        return out

    def run_idle(self, during=None):
        """Every environment at once (they are idle: they do not compete), plus a broker
        without the plugin; CPU time of the path's processes over the window. during():
        a light section run meanwhile (the latency trickle): an idle process's CPU time
        does not depend on what else the machine does, and the window is not wasted."""
        seconds = self.cfg["idle_seconds"]
        with contextlib.ExitStack() as st:
            envs = []
            for transport in self.transports:
                def start(source):
                    envs.append(st.enter_context(self.env(transport, source, 1,
                                                          gate=not envs)))
                self.each_source("idle %s" % transport, start)
            plain = st.enter_context(h.Broker(None, log_types=rig.LOG_TYPES))
            measured = [(e.transport, e.source, e.path_pids(), e) for e in envs] + \
                [(None, "broker alone", {"broker": plain.proc.pid}, None)]
            before = [{k: rig.cpu_seconds(p) for k, p in pids.items()}
                      for _, _, pids, _ in measured]
            t0 = time.monotonic()
            if during is not None:
                during()
            time.sleep(max(0, t0 + seconds - time.monotonic()))
            elapsed = time.monotonic() - t0
            for (transport, source, pids, e), b in zip(measured, before):
                cpu = {k: 100.0 * (rig.cpu_seconds(p) - b[k]) / elapsed for k, p in pids.items()}
                state = e.last_status()["state"] if e is not None and e.status else None
                r = {"transport": transport, "source": source, "seconds": elapsed,
                     "cpu": cpu, "state": state}
                self.results["idle"].append(r)
                self.log("idle      %-9s %-12s: %s%s" % (
                    transport or "-", source, ", ".join("%s %.3f%%" % kv for kv in cpu.items()),
                    "" if state in (None, "online") else " (state %s!)" % state))

    def settle(self, env, seconds=10):
        """After a cut burst: waits until what it left in flight has drained (nothing new
        on the topic for 1.5 s), at most `seconds`, so the next run in the same
        environment starts clean."""
        with rig.Subscribers(self.tools, env.broker.port, env.qos, self.rundir("settle"),
                             ("c",)) as subs:
            subs.wait(float("inf"), time.monotonic() + seconds, quiet=1.5)

    def run_rss(self):
        cfg = self.cfg
        for transport in self.transports:
            with self.env(transport, "plugin", 0, sim_args_for(SMALL, cfg["rss_count"])) as env:
                pid = env.broker.proc.pid
                start_kb = rig.memory_kb(pid)
                # A small window: a warm-up cut at its time limit leaves little behind.
                window = 3 * chunking(SMALL, cfg["rss_count"])[0]
                # As long as the measured burst: the broker's heap (the plugin's worker arena,
                # the outbox, the broker's queues) grows to the high-water mark of such a
                # burst once, then stays; 3,000,000 grew it as much as 1,000,000 did (5 MB
                # after a warm-up of 20,000). What is left to see is growth per message.
                warm = self.burst(env, SMALL, cfg["rss_warmup"], cfg["rss_seconds"],
                                  ("c",), "rss-warmup", window)
                if warm["cut"]:
                    self.settle(env)
                before = rig.memory_kb(pid)
                r = self.burst(env, SMALL, cfg["rss_count"], cfg["rss_seconds"], ("c",), "rss",
                               window)
                after = rig.memory_kb(pid)
                r.update(started_kb=start_kb, before_kb=before, after_kb=after,
                         warmup=warm["subs"]["c"]["received"], warmup_cut=warm["cut"])
                self.results["rss"].append(r)
                self.log("rss       %-9s: VmRSS %d kB -> %d kB, VmHWM %d kB after %d "
                         "notifications (%s)" % (transport, before["VmRSS"], after["VmRSS"],
                                                 after["VmHWM"], r["subs"]["c"]["received"],
                                                 brief(r)))

    def run_rtt(self):
        for transport in self.transports:
            def run(source):
                overrides = RTT_WS_OPTS if (transport, source) == ("websocket", "plugin") else {}
                with self.env(transport, source, 1, sim_args_for(SMALL, self.cfg["rtt_burst"]),
                              **overrides) as env:
                    r = self.round_trips(env)
                self.results["rtt"].append(r)
                self.log("rtt       %-9s %-6s: %s" % (transport, source, "; ".join(
                    "%s p50 %.2f p99 %.2f ms (n=%d, lost %d)" % (
                        ph, v["p50"], v["p99"], v["n"], v["timeouts"])
                    for ph, v in r["phases"].items() if v)))
            self.each_source("rtt %s" % transport, run)

    def round_trips(self, env):
        """crtt's round trips through env's broker while the path is idle, bursting, and
        cut off from the simulated cloud."""
        cfg = self.cfg
        d = self.rundir("rtt")
        out_path, ready = os.path.join(d, "rtt.txt"), os.path.join(d, "rtt.ready")
        topic = "bench/rtt/%d" % os.getpid()
        proc = rig.start([self.tools["crtt"], str(env.broker.port), topic,
                          str(cfg["rtt_interval_ms"]), out_path, ready],
                         stdout=subprocess.DEVNULL)
        phases = {}
        notes = {}
        try:
            h.wait_until(lambda: os.path.exists(ready), 10, "crtt's SUBACK")
            t = time.monotonic_ns()
            time.sleep(cfg["rtt_idle_seconds"])
            phases["idle"] = (t, time.monotonic_ns())
            b = self.burst(env, SMALL, cfg["rtt_burst"], cfg["row_seconds"], ("c",),
                           "rtt-burst", 3 * chunking(SMALL, cfg["rtt_burst"])[0])
            phases["burst"] = (b["t0"], b["t_end"])
            notes["burst"] = "%d x %d B, %s" % (b["sent"], SMALL, brief(b))
            if b["cut"]:
                self.settle(env)
            if env.source == "plugin":
                # The reference: the same burst from a network publisher (cpub) into the
                # same broker, so the figure shows what the plugin adds to what the
                # broker's own work per message costs the other client.
                p = self.publish(env, SMALL, cfg["rtt_burst"], cfg["row_seconds"] * 2, ("c",))
                phases["burst_alone"] = (p["t0"], p["t_end"])
                notes["burst_alone"] = "%d x %d B, %s" % (p["sent"], SMALL, brief(p))
            phases["stall"], notes["stall"] = self.stall(env)
        finally:
            h.stop_process(proc)
        samples = []            # (send ns, round trip ns or -1)
        with open(out_path) as f:
            for line in f:
                sent_at, rtt = line.split()
                samples.append((int(sent_at), int(rtt)))
        out = {"transport": env.transport, "source": env.source, "phases": {},
               "notes": notes}
        for name, (t0, t1) in phases.items():
            inside = [rtt for ts, rtt in samples if t0 <= ts <= t1]
            ok = [v for v in inside if v >= 0]
            stats = latency_stats(ok)
            if stats:
                stats["timeouts"] = len(inside) - len(ok)
                stats["seconds"] = (t1 - t0) / 1e9
            out["phases"][name] = stats
        return out

    def stall(self, env):
        """Cuts the path off from the simulated cloud for stall_seconds (PubNub: the next
        subscribe poll hangs that long; WebSocket: the gateway stops reading the
        connection, so pings and heartbeats go unanswered); returns the phase and what the
        path did: how long after the stall window a new notification took to arrive."""
        seconds = self.cfg["stall_seconds"]
        sim = env.sim
        t0 = time.monotonic_ns()
        if env.transport == "pubnub":
            sim.fault(match={"method": "GET", "path_prefix": "/v2/subscribe/"},
                      delay=seconds, count=1)
            # The poll in flight returns with this one; the next poll is the stalled one.
            sim.call("POST", "/_sim/notify", {"event": rig.EVENT, "body": env.pad_for(SMALL)})
            what = "next PubNub poll delayed %d s" % seconds
        else:
            sim.ws_fault("stall")
            what = "gateway stopped reading for the rest of the connection"
        time.sleep(seconds)
        t1 = time.monotonic_ns()
        sim.clear_faults()
        try:
            t_probe = time.monotonic()
            env._probe(attempts=int(30 / 3.2) + 1)
            what += "; a notification sent after the window arrived %.1f s later" % (
                time.monotonic() - t_probe)
        except AssertionError:
            what += "; nothing arrived within 30 s after the window"
        s = env.last_status()
        if s:
            what += " (reconnects %d, recreations %d)" % (s.get("reconnects", 0),
                                                           s.get("recreations", 0))
        return (t0, t1), what

    # -- all ----------------------------------------------------------------------------
    def run(self):
        self.log("mode %s; sections %s; transports %s; SDK bridge: %s" % (
            self.mode, ",".join(self.sections), ",".join(self.transports),
            ("available (%s)" % self.bridge_reason) if self.bridge
            else "not available (%s)" % self.bridge_reason))
        for section in SECTIONS:
            if section not in self.sections:
                continue
            if section == "idle":
                self.run_idle(self.run_latency if "latency" in self.sections else None)
            elif section != "latency" or "idle" not in self.sections:
                getattr(self, "run_" + section)()
        self.elapsed = time.monotonic() - self.started


# ---- payloads and small readers ----------------------------------------------------------
def ceiling_template(size):
    """A notification envelope like the simulator's (same members, same lengths), padded
    to exactly `size` bytes; its uuid is at byte 9, where cpub writes its own."""
    def env(pad):
        return json.dumps({"uuid": "00000000-0000-4000-8000-000000000000",
                           "event": rig.EVENT, "timestamp": "2026-01-01T00:00:00.000Z",
                           "subscriptionId": "00000000-0000-4000-8000-000000000000",
                           "ownerId": "401550809004", "body": {"pad": pad}},
                          separators=(",", ":")).encode()
    overhead = len(env(""))
    data = env("x" * max(0, size - overhead))
    assert data.startswith(b'{"uuid":"')
    return data


def dropped_since(before, after):
    """{subscriber kind: times the broker began dropping for it} between two readings."""
    kinds = {"bench-csub": "c", "bench-psub": "paho"}
    out = {}
    for client, n in after.items():
        if n - before.get(client, 0):
            out[kinds.get(client, client)] = n - before.get(client, 0)
    return out


def read_marks(path):
    marks = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(" ")
                marks[k] = int(v)
    except OSError:
        pass
    return marks


def brief(r):
    """One line about a burst, for the progress log."""
    parts = []
    for kind, s in r["subs"].items():
        parts.append("%s %s/s (%s)" % (kind, fmt_int(s["rate"]), s["check"]))
    if r.get("sim_rate"):
        parts.append("%s %s/s" % ("publisher" if r["source"] == "broker alone" else "sim",
                                  fmt_int(r["sim_rate"])))
    if r.get("cut"):
        parts.append("cut")
    for kind, n in r.get("dropped", {}).items():
        parts.append("broker dropped for %s (%d×)" % (kind, n))
    return ", ".join(parts)


def fmt_int(v):
    return "-" if v is None else "{:,.0f}".format(v)


def environment_lines(args, bench):
    def cmd(*c):
        try:
            return subprocess.run(c, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mosq = cmd("/usr/sbin/mosquitto", "-h").splitlines()
    commit = cmd("git", "-C", ROOT, "rev-parse", "--short", "HEAD")
    dirty = cmd("git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no")
    return [
        "date: %s UTC" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
        "machine: %s, %d cores, %s" % (model, os.cpu_count(), platform.platform()),
        "broker: %s (default max_queued_messages, log_type %s)" % (
            mosq[0] if mosq else "?", " ".join(rig.LOG_TYPES)),
        "plugin: %s (source tree %s%s)" % (args.plugin, commit, ", modified" if dirty else ""),
        "mode: %s, took %.0f s (%.0f s of it waiting for other work on the machine to stop)"
        % (bench.mode, bench.elapsed, bench.quiet_waited),
    ]


def load(plugin):
    """Imports what needs the plugin's path first (harness.py reads RC_PLUGIN when
    imported); also for bench/profile.py."""
    os.environ["RC_PLUGIN"] = os.path.abspath(plugin)
    os.environ.setdefault("RC_SOURCE_DIR", ROOT)
    if not os.path.exists(os.environ["RC_PLUGIN"]):
        sys.exit("no plugin at %s" % plugin)
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    global h, rig, NotifyClient, send_burst, Check, latency_stats, report
    import harness as h                                         # noqa: E402
    import rig                                                   # noqa: E402
    import report                                                # noqa: E402
    from feeder import NotifyClient, send_burst                  # noqa: E402
    from measure import Check, latency_stats                     # noqa: E402


def main():
    args = parse_args()
    load(args.plugin)

    # SIGTERM unwinds like Ctrl-C: every context manager stops what it started, and the
    # harness kills (by pid) whatever is left at exit.
    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    # Also when started with SIGINT ignored (a background job of a non-interactive shell).
    signal.signal(signal.SIGINT, signal.default_int_handler)

    bench = Bench(args)
    try:
        bench.run()
    except KeyboardInterrupt:
        print("interrupted: stopping everything started", file=sys.stderr)
        sys.exit(130)
    md = report.render(bench, environment_lines(args, bench))
    print()
    print(md)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(md)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump({"mode": bench.mode, "config": bench.cfg, "results": bench.results,
                   "sdk_bridge": {"available": bool(bench.bridge),
                                  "reason": bench.bridge_reason}}, f, indent=1)
    print("written to %s" % os.path.relpath(args.out))


if __name__ == "__main__":
    main()
