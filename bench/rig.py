"""rig.py - what a benchmark run is built from: the C clients, one simulator + broker
environment fed by the plugin or by the SDK bridge, the subscriber processes, and /proc
readings.

Process handling is tests/integration/harness.py's: everything listens on 127.0.0.1 on
free ports, every process started here is registered with the harness, which stops it by
pid (also at interpreter exit, e.g. after Ctrl-C), and waits have deadlines.
"""
import contextlib
import importlib.util
import os
import subprocess
import threading
import time

import harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.join(HERE, "clients")
PYTHON = h.PYTHON

EVENT = h.PRESENCE_EVENT            # what the simulator sends ...
TOPIC = h.PRESENCE_TOPIC            # ... and where the plugin publishes it
TOPIC_PREFIX = "ringcentral"
# No per-message debug lines (log_type all writes two per message per subscriber and
# flushes each): the broker logs what an operator would keep, notices included, so
# "Outgoing messages are being dropped" still shows.
LOG_TYPES = ("error", "warning", "notice", "information")
DROPPED_LINE = "Outgoing messages are being dropped"
C_CLIENTS = ("csub", "cpub", "crtt")


# ---- the C clients ------------------------------------------------------------------------
def build_clients(out_dir):
    """Compiles clients/*.c into out_dir when missing or older than their source; returns
    {name: path}."""
    os.makedirs(out_dir, exist_ok=True)
    common = os.path.join(CLIENTS, "common.h")
    paths = {}
    for name in C_CLIENTS:
        src = os.path.join(CLIENTS, name + ".c")
        exe = os.path.join(out_dir, name)
        newest = max(os.path.getmtime(src), os.path.getmtime(common))
        if not os.path.exists(exe) or os.path.getmtime(exe) < newest:
            subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-o", exe, src, "-lmosquitto",
                            "-lpthread"], check=True)
        paths[name] = exe
    paths["psub"] = os.path.join(CLIENTS, "psub.py")
    return paths


def start(cmd, **kw):
    """A child process the harness knows about (stopped by pid at exit whatever happens)."""
    return h._start(cmd, stdin=subprocess.DEVNULL, **kw)


# ---- /proc --------------------------------------------------------------------------------
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process so far, in seconds (None once it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_cpu_seconds(pid):
    """{thread name: utime + stime in seconds} of a process's threads (threads of the
    same name summed): the broker's own thread is "mosquitto", the plugin's worker
    "ringcentral"."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def memory_kb(pid):
    """{"VmRSS": kB, "VmHWM": kB} of a process."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def machine_busy_seconds():
    """CPU time all processes of the machine got so far (user + nice + system over all
    cores, /proc/stat): comparable with the processes' own utime + stime, so interrupt
    time (the loopback traffic's softirqs) does not count as other work."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return (fields[0] + fields[1] + fields[2]) / CLK_TCK


class CpuTracker:
    """Samples the CPU time of named processes every 100 ms from its own thread (the
    benchmark's main thread is busy feeding the simulator); percent(name, t0, t1) is the
    share of one core a process used between two monotonic-ns instants (to the nearest
    samples). The name "other" is what the whole machine was busy with besides the
    tracked processes: other work on the machine competing with the run."""

    def __init__(self, pids, period=0.1):
        self.pids = {k: v for k, v in pids.items() if v}
        self.period = period
        self.samples = []           # (monotonic ns, {name: cpu seconds})
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        values = {k: cpu_seconds(p) for k, p in self.pids.items()}
        values["_machine"] = machine_busy_seconds()
        self.samples.append((time.monotonic_ns(), values))

    def _run(self):
        while not self.stop_event.wait(self.period):
            self._sample()

    def __enter__(self):
        self._sample()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()
        self._sample()

    def percent(self, name, t0, t1):
        if (name not in self.pids and name != "other") or len(self.samples) < 2:
            return None
        before = [s for s in self.samples if s[0] <= t0] or self.samples[:1]
        after = [s for s in self.samples if s[0] >= t1] or self.samples[-1:]
        (ta, a), (tb, b) = before[-1], after[0]
        if tb <= ta:
            return None
        if name == "other":
            # Processes that ended in between are counted as other work: harmless, the
            # tracked ones live for the whole run.
            tracked = sum(b[k] - a[k] for k in self.pids
                          if a.get(k) is not None and b.get(k) is not None)
            used = b["_machine"] - a["_machine"] - tracked
            return max(0.0, 100.0 * used / ((tb - ta) / 1e9))
        if a.get(name) is None or b.get(name) is None:
            return None
        return 100.0 * (b[name] - a[name]) / ((tb - ta) / 1e9)


# ---- the SDK bridge (bench/sdk_bridge.py, written separately) -----------------------------
def load_sdk_bridge():
    """(module or None, reason): bench/sdk_bridge.py when it exists and available() says
    yes. RC_BENCH_SDK_BRIDGE=/path/to/module.py points at another file (a local stub)."""
    path = os.environ.get("RC_BENCH_SDK_BRIDGE") or os.path.join(HERE, "sdk_bridge.py")
    if not os.path.exists(path):
        return None, "%s does not exist" % os.path.relpath(path, h.ROOT)
    try:
        spec = importlib.util.spec_from_file_location("sdk_bridge", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        ok, reason = module.available()
    except Exception as e:          # a broken bridge module must not stop the benchmark
        return None, "%s failed to load: %r" % (os.path.relpath(path, h.ROOT), e)
    return (module if ok else None), reason


@contextlib.contextmanager
def watcher(port, topic, qos=1):
    """A harness.MqttWatcher that closes at once: disconnecting first wakes paho's network
    thread, which loop_stop() alone would wait up to a second for."""
    w = h.MqttWatcher(port, topic, qos)
    try:
        yield w
    finally:
        w.client.disconnect()
        w.close()


# ---- one environment: simulator + broker + (plugin | SDK bridge) --------------------------
class Env:
    """A fresh simulator and broker on free ports, notifications flowing into the broker
    either through the plugin (source "plugin", options as harness.transport_opts, with
    `qos` and any overrides) or through the SDK bridge (source "bridge": the stock broker
    without the plugin, and sdk_bridge.start_bridge publishing to it on the same topics).

    On entry it waits until a notification sent now arrives (a probe on TOPIC), which also
    measures the envelope the simulator wraps around a body (`overhead`, bytes), so a body
    can be padded to an exact notification size. consumed() counts the notifications the
    plugin took off its transport (its bridge/status `received`), or None for the bridge,
    which has no such counter."""

    def __init__(self, transport, source, qos, bridge=None, sim_args=(), workdir=None,
                 **plugin_overrides):
        assert source in ("plugin", "bridge"), source
        assert source == "plugin" or bridge is not None
        self.transport, self.source, self.qos = transport, source, qos
        self.bridge_module = bridge
        self.sim_args = list(sim_args)
        self.plugin_overrides = plugin_overrides
        self.workdir = workdir
        self.stack = contextlib.ExitStack()
        self.bridge = None
        self.status = None

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.stack.close()
            raise
        return self

    def _start(self):
        st = self.stack
        self.sim = st.enter_context(h.Sim(*self.sim_args))
        if self.source == "plugin":
            opts = h.transport_opts(self.sim, self.transport, qos=self.qos,
                                    **self.plugin_overrides)
            self.broker = st.enter_context(h.Broker(opts, log_types=LOG_TYPES))
            self.status = st.enter_context(watcher(self.broker.port, TOPIC_PREFIX + "/bridge/#"))
            h.wait_online(self.status, TOPIC_PREFIX)
        else:
            self.broker = st.enter_context(h.Broker(None, log_types=LOG_TYPES))
            self.bridge = self.bridge_module.start_bridge(
                self.transport, self.sim, self.broker.port, topic_prefix=TOPIC_PREFIX,
                qos=self.qos)
            h._children.add(self.bridge)
            st.callback(h.stop_process, self.bridge)
        self.overhead = self._probe()

    def _probe(self, attempts=20):
        """Sends {"pad": ""} notifications until one arrives; returns its plaintext size."""
        with watcher(self.broker.port, TOPIC, qos=1) as w:
            for _ in range(attempts):
                sent = [d for d in self.sim.call("POST", "/_sim/notify", {
                    "event": EVENT, "body": {"pad": ""}})["delivered"]
                    if d.get("sequence", 0) is not None]
                if sent:
                    try:
                        w.wait_for(lambda ms: any(m.payload.decode().find(sent[0]["uuid"]) >= 0
                                                  for m in ms), 3, "the probe")
                        return len(sent[0]["plaintext"].encode())
                    except AssertionError:
                        pass
                time.sleep(0.2)
        raise AssertionError("%s over %s: no probe notification arrived" % (
            self.source, self.transport))

    def __exit__(self, *exc):
        self.stack.close()

    def pad_for(self, size):
        """The body {"pad": "x" * n} that makes a notification of exactly `size` bytes."""
        if size < self.overhead:
            raise ValueError("a notification cannot be smaller than %d bytes" % self.overhead)
        return {"pad": "x" * (size - self.overhead)}

    def path_pids(self):
        """The processes doing the path's work: the broker (plugin inside), or broker and
        SDK bridge."""
        pids = {"broker": self.broker.proc.pid}
        if self.bridge is not None:
            pids["bridge"] = self.bridge.pid
        return pids

    def last_status(self):
        return self.status.last_status(TOPIC_PREFIX) if self.status else None

    def consumed(self):
        s = self.last_status()
        return None if s is None else s["received"]

    def counters(self):
        """The plugin's status counters that account for every notification it took off
        its transport ({} for the bridge)."""
        s = self.last_status()
        return {} if s is None else {k: s[k] for k in ("received", "published", "dropped",
                                                       "duplicates")}

    def dropped_lines(self):
        """How often the broker logged that it started dropping messages for a client, by
        client id prefix ("bench-csub", "bench-psub", ...)."""
        out = {}
        for line in self.broker.log_text().splitlines():
            if DROPPED_LINE in line:
                client = line.rsplit(" ", 1)[-1].rstrip(".")
                key = client.rsplit("-", 1)[0] if client.startswith("bench-") else client
                out[key] = out.get(key, 0) + 1
        return out


# ---- subscribers --------------------------------------------------------------------------
class Subscribers:
    """The subscriber processes of one run: "c" (csub, libmosquitto) and/or "paho" (psub.py),
    each writing "<uuid> <monotonic ns>" per message to its own file in `directory`."""

    def __init__(self, tools, port, qos, directory, kinds=("c", "paho"), topic=TOPIC):
        self.tools, self.port, self.qos, self.dir = tools, port, qos, directory
        self.kinds, self.topic = kinds, topic
        self.procs = {}
        self.files = {}
        self._counted = {k: (0, 0) for k in kinds}     # (bytes read, lines)

    def __enter__(self):
        os.makedirs(self.dir, exist_ok=True)
        for kind in self.kinds:
            out = os.path.join(self.dir, "%s.txt" % kind)
            ready = os.path.join(self.dir, "%s.ready" % kind)
            for p in (out, ready):
                if os.path.exists(p):
                    os.unlink(p)
            args = [str(self.port), self.topic, str(self.qos), out, ready]
            cmd = ([self.tools["csub"]] if kind == "c" else [PYTHON, self.tools["psub"]]) + args
            err = open(os.path.join(self.dir, "%s.err" % kind), "w")
            self.procs[kind] = start(cmd, stdout=subprocess.DEVNULL, stderr=err)
            err.close()
            self.files[kind] = (out, ready)
        for kind, (out, ready) in self.files.items():
            proc = self.procs[kind]
            h.wait_until(lambda: self._alive(kind) and os.path.exists(ready), 15,
                         "the %s subscriber's SUBACK" % kind)
        return self

    def _alive(self, kind):
        proc = self.procs[kind]
        if proc.poll() is not None:
            with open(os.path.join(self.dir, "%s.err" % kind)) as f:
                raise AssertionError("%s subscriber exited %s: %s" % (kind, proc.returncode,
                                                                      f.read()[-2000:]))
        return True

    def pids(self):
        return {"csub" if k == "c" else "paho": p.pid for k, p in self.procs.items()}

    def count(self, kind):
        """Lines written so far (read incrementally; the file only grows)."""
        read, lines = self._counted[kind]
        with open(self.files[kind][0], "rb") as f:
            f.seek(read)
            data = f.read()
        # Only whole lines: a flush may end mid-line.
        whole = data.rfind(b"\n") + 1
        read, lines = read + whole, lines + data.count(b"\n", 0, whole)
        self._counted[kind] = (read, lines)
        return lines

    def wait(self, expected, deadline, quiet=2.0, settled=lambda: True):
        """Until every subscriber wrote `expected` lines ("complete"); or the source has
        handed everything to the broker (settled()) and no subscriber grew for `quiet`
        seconds, or for 1 s once the monotonic `deadline` has passed ("quiet": the rest
        is not coming); or the deadline passed while they were still growing or the
        source was still at work ("deadline": the rest was still on its way)."""
        last, still = None, time.monotonic()
        while True:
            counts = tuple(self.count(k) for k in self.kinds)
            if min(counts) >= expected:
                return "complete"
            now = time.monotonic()
            if counts != last:
                last, still = counts, now
            elif now - still > (quiet if now <= deadline else 1.0) and settled():
                return "quiet"
            if now > deadline and (not settled() or now > deadline + 1.0):
                return "deadline"
            for k in self.kinds:
                self._alive(k)
            time.sleep(0.05)

    def stop(self):
        for proc in self.procs.values():
            h.stop_process(proc)

    def __exit__(self, *exc):
        self.stop()

    def read(self, kind):
        """[(uuid, monotonic ns)] in arrival order; call after stop()."""
        out = []
        with open(self.files[kind][0], "rb") as f:
            for line in f:
                u, _, t = line.rstrip(b"\n").partition(b" ")
                if t:
                    out.append((u.decode("ascii", "replace"), int(t)))
        return out
