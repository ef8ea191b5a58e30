"""harness.py - what every integration test needs: the simulator, the real broker with the
plugin loaded, and real MQTT clients.

Everything listens on 127.0.0.1 on free ports, every process started here is stopped by
pid, and waiting is done on events (a condition variable fed by the MQTT client, the
simulator's request log, the broker's log), each with a deadline, never on bare sleeps.
Run under Debian's /usr/bin/python3 (python3-paho-mqtt 1.6, python3-cryptography).
"""
import atexit
import getpass
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("RC_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
PLUGIN = os.environ.get("RC_PLUGIN", os.path.join(ROOT, "build", "mosquitto_ringcentral.so"))
SIM = os.path.join(ROOT, "tests", "sim", "rcsim.py")
PYTHON = "/usr/bin/python3"

SIM_CREDENTIALS = {
    "client_id": "sim-client-id",
    "client_secret": "sim-client-secret-0123456789",
    "jwt": "eyJhbGciOiJSUzI1NiJ9.sim-jwt-payload.sim-jwt-signature",
    "username": "+15551230000",
    "extension": "101",
    "password": "sim-password-9876",
}
PRESENCE_FILTER = "/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true"
MESSAGE_FILTER = "/restapi/v1.0/account/~/extension/~/message-store"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls a cheap predicate (a log file, an HTTP query) until true or the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


# Every process and temporary directory made here, so an aborted test run (or a Broker used
# without `with`) still stops them (by pid) and removes them at exit.
_children = set()
_tempdirs = set()


def _start(cmd, **kw):
    proc = subprocess.Popen(cmd, **kw)
    _children.add(proc)
    return proc


@atexit.register
def _stop_children():
    for proc in list(_children):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for d in list(_tempdirs):
        shutil.rmtree(d, ignore_errors=True)


def stop_process(proc, timeout=10):
    """SIGTERM, wait, then SIGKILL: returns (exit code, seconds it took)."""
    _children.discard(proc)
    if proc.poll() is not None:
        return proc.returncode, 0.0
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return proc.returncode, time.monotonic() - start


class Sim:
    """The RingCentral + PubNub simulator in a fresh temporary directory."""

    def __init__(self, *args):
        self.args = list(args)
        self.dir = tempfile.mkdtemp(prefix="rcsim-")
        self.proc = None

    def __enter__(self):
        ready = os.path.join(self.dir, "ready.json")
        self.stderr = open(os.path.join(self.dir, "sim.err"), "w+")
        self.proc = _start([PYTHON, SIM, "--dir", self.dir, "--ready-file", ready] + self.args,
                           stdout=subprocess.DEVNULL, stderr=self.stderr)

        def ready_or_dead():
            if self.proc.poll() is not None:
                self.stderr.seek(0)
                raise AssertionError("simulator exited: " + self.stderr.read())
            return os.path.exists(ready)
        wait_until(ready_or_dead, 30, "the simulator to listen")
        with open(ready) as f:
            info = json.load(f)
        self.port, self.url, self.cafile = info["port"], info["url"], info["cafile"]
        self.pid = info["pid"]
        self.ssl = ssl.create_default_context(cafile=self.cafile)
        return self

    def __exit__(self, *exc):
        try:
            if self.proc is not None:
                stop_process(self.proc)
            self.stderr.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, method, path, body=None, timeout=30):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ssl, timeout=timeout) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def notify(self, event, body=None, **extra):
        req = dict(extra, event=event)
        if body is not None:
            req["body"] = body
        return self.call("POST", "/_sim/notify", req)["delivered"]

    def requests(self, method=None, prefix=""):
        return [r for r in self.call("GET", "/_sim/requests")["requests"]
                if (method is None or r["method"] == method) and r["path"].startswith(prefix)]

    def subscriptions(self):
        return self.call("GET", "/_sim/subscriptions")["subscriptions"]

    def live_subscriptions(self):
        return [s for s in self.subscriptions() if s["status"] == "active"]

    def fault(self, **rule):
        self.call("POST", "/_sim/fault", rule)

    def clear_faults(self):
        self.call("POST", "/_sim/fault/clear", {})

    def expire(self, subscriptions=True, tokens=True):
        self.call("POST", "/_sim/expire", {"subscriptions": subscriptions, "tokens": tokens})

    def config(self, **settings):
        """Changes settings at runtime (access_token_ttl, max_expires_in, long_poll_timeout,
        disabled_filters, ...); returns all tunable settings."""
        return self.call("POST", "/_sim/config", settings)

    def revoke(self):
        """Invalidates every access and refresh token."""
        self.call("POST", "/_sim/revoke", {})

    def clear_requests(self):
        self.call("POST", "/_sim/requests/clear", {})


def plugin_opts(sim, **overrides):
    """Plugin options for a broker fed by sim; overrides replace (None removes) a key.
    event_filter may be a list."""
    opts = {
        "server": sim.url,
        "pubnub_origin": sim.url,
        "cafile": sim.cafile,
        "client_id": SIM_CREDENTIALS["client_id"],
        "client_secret": SIM_CREDENTIALS["client_secret"],
        "jwt": SIM_CREDENTIALS["jwt"],
        "event_filter": [PRESENCE_FILTER, MESSAGE_FILTER],
    }
    opts.update(overrides)
    pairs = []
    for k, v in opts.items():
        if v is None:
            continue
        for item in (v if isinstance(v, list) else [v]):
            pairs.append((k, str(item)))
    return pairs


default_plugin_opts = plugin_opts


class Broker:
    """/usr/sbin/mosquitto with the plugin, on a free port, logging to a file."""

    def __init__(self, opts, wrapper=None, extra_conf="", port=None, workdir=None):
        self.opts = opts
        self.wrapper = wrapper or []
        self.extra_conf = extra_conf
        self.port = port or free_port()
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="rcbroker-")
        if self.own_dir:
            _tempdirs.add(self.dir)
        self.log = os.path.join(self.dir, "broker-%d.log" % self.port)
        self.proc = None

    def write_conf(self):
        conf = os.path.join(self.dir, "mosquitto-%d.conf" % self.port)
        with open(conf, "w") as f:
            # Run as the invoking user: as root, mosquitto would otherwise switch to the
            # mosquitto user, which cannot read the tests' private temporary directories.
            f.write("user %s\nlistener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "log_dest file %s\nlog_type all\n%s\nplugin %s\n"
                    % (getpass.getuser(), self.port, self.log, self.extra_conf, PLUGIN))
            for k, v in self.opts:
                f.write("plugin_opt_%s %s\n" % (k, v))
        return conf

    def start(self, expect_running=True):
        conf = self.write_conf()
        env = dict(os.environ)
        # A sanitizer build of the plugin needs its runtime preloaded into the broker.
        if os.environ.get("RC_BROKER_PRELOAD"):
            env["LD_PRELOAD"] = os.environ["RC_BROKER_PRELOAD"]
        self.stderr_path = os.path.join(self.dir, "broker-%d.err" % self.port)
        self.stderr_file = open(self.stderr_path, "w+")
        self.proc = _start(self.wrapper + ["/usr/sbin/mosquitto", "-c", conf],
                           stdout=subprocess.DEVNULL, stderr=self.stderr_file, env=env)
        if not expect_running:
            self.proc.wait(60)
            return self.proc.returncode

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("broker exited with %s:\n%s" % (self.proc.returncode,
                                                                     self.log_text()[-3000:]))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                return False
        wait_until(up, 60 if self.wrapper else 20, "the broker to accept connections")
        return None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            if self.own_dir:
                shutil.rmtree(self.dir, ignore_errors=True)
                _tempdirs.discard(self.dir)

    def stop(self):
        if self.proc is None:
            return None, 0.0
        result = stop_process(self.proc, timeout=30)
        self.stderr_file.seek(0)
        self.stderr = self.stderr_file.read()
        self.stderr_file.close()
        self.proc = None
        # Sanitizer and valgrind findings fail the test that caused them.
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            if marker in self.stderr:
                raise AssertionError("broker stderr reports %r:\n%s" % (marker, self.stderr[-4000:]))
        return result

    def sighup(self):
        self.proc.send_signal(signal.SIGHUP)

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, regex, timeout=20):
        pattern = re.compile(regex)
        return wait_until(lambda: pattern.search(self.log_text()), timeout, "log line " + regex)


class Message:
    def __init__(self, msg, received_at):
        self.topic = msg.topic
        self.payload = msg.payload
        self.retain = bool(msg.retain)
        self.qos = msg.qos
        self.received_at = received_at
        props = getattr(msg, "properties", None)
        self.user_properties = dict(getattr(props, "UserProperty", []) or [])
        self.content_type = getattr(props, "ContentType", None)

    def json(self):
        return json.loads(self.payload)


class MqttWatcher:
    """An MQTT v5 client that records every message on a topic filter."""

    def __init__(self, port, topic="#", qos=1):
        self.messages = []
        self.cond = threading.Condition()
        self.client = mqtt.Client(client_id="watcher-%d-%d" % (os.getpid(), id(self)),
                                  protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a, **k: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(topic, qos)
        if not subscribed.wait(10):
            raise AssertionError("no SUBACK for " + topic)

    def _on_message(self, client, userdata, msg):
        with self.cond:
            self.messages.append(Message(msg, time.monotonic()))
            self.cond.notify_all()

    def wait_for(self, predicate, timeout=20, what="a message"):
        """Blocks until predicate(messages) is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = predicate(self.messages)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out after %ss waiting for %s; got %d messages: %s"
                                         % (timeout, what, len(self.messages),
                                            [m.topic for m in self.messages[-10:]]))
                self.cond.wait(left)

    def wait_count(self, n, timeout=20, prefix=""):
        """Blocks until at least n messages (on topics starting with prefix) arrived."""
        return self.wait_for(lambda ms: len([m for m in ms if m.topic.startswith(prefix)]) >= n
                             and [m for m in ms if m.topic.startswith(prefix)],
                             timeout, "%d messages on %s*" % (n, prefix))

    def on_topic(self, prefix):
        with self.cond:
            return [m for m in self.messages if m.topic.startswith(prefix)]

    def wait_state(self, prefix, value, timeout=20):
        topic = prefix + "/bridge/state"
        return self.wait_for(lambda ms: [m for m in ms if m.topic == topic
                                         and m.payload.decode() == value]
                             and [m for m in ms if m.topic == topic][-1].payload.decode() == value,
                             timeout, "%s = %s" % (topic, value))

    def last_status(self, prefix="ringcentral"):
        with self.cond:
            s = [m for m in self.messages if m.topic == prefix + "/bridge/status"]
        return s[-1].json() if s else None

    def wait_status(self, predicate, timeout=20, prefix="ringcentral", what="a status"):
        topic = prefix + "/bridge/status"

        def check(ms):
            s = [m for m in ms if m.topic == topic]
            return s and predicate(s[-1].json()) and s[-1].json()
        return self.wait_for(check, timeout, what)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def mqtt_rtt(port, timeout=5):
    """One publish -> receive round trip through the broker, in seconds."""
    topic = "rtt/%d/%d" % (os.getpid(), time.monotonic_ns())
    with MqttWatcher(port, topic, qos=0) as w:
        pub = mqtt.Client(protocol=mqtt.MQTTv5)
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        start = time.monotonic()
        pub.publish(topic, b"x", qos=0)
        w.wait_for(lambda ms: ms, timeout, "the round trip")
        rtt = time.monotonic() - start
        pub.loop_stop()
        pub.disconnect()
    return rtt


rtt = mqtt_rtt


def read_retained(port, topic, timeout=5):
    """The retained message on topic (a Message), or None when there is none. The broker
    sends retained messages right after the SUBACK, so a marker published afterwards on
    the same connection arrives after them: no fixed wait either way."""
    marker = "harness/marker/%d/%d" % (os.getpid(), time.monotonic_ns())
    got, cond = [], threading.Condition()

    def on_message(client, userdata, msg):
        with cond:
            got.append(Message(msg, time.monotonic()))
            cond.notify_all()
    client = mqtt.Client(client_id="retained-%d-%d" % (os.getpid(), time.monotonic_ns()),
                         protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.subscribe([(marker, 1), (topic, 1)])
        client.publish(marker, b"m", qos=1)
        with cond:
            if not cond.wait_for(lambda: any(m.topic == marker for m in got), timeout):
                raise AssertionError("no marker back from the broker within %ss" % timeout)
            found = [m for m in got if m.topic != marker and m.retain]
    finally:
        client.loop_stop()
        client.disconnect()
    return found[0] if found else None


def run_tests(tests):
    """Runs test functions in order; prints one line each and 'N passed, N failed'."""
    only = sys.argv[1:]
    passed = failed = 0
    for fn in tests:
        if only and fn.__name__ not in only:
            continue
        start = time.monotonic()
        try:
            fn()
            passed += 1
            print("PASS %s (%.1fs)" % (fn.__name__, time.monotonic() - start), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s (%.1fs)" % (fn.__name__, time.monotonic() - start), flush=True)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)
