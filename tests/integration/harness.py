"""harness.py - what every integration test needs: the simulator, the real broker with the
plugin loaded, and real MQTT clients.

Everything listens on 127.0.0.1 on free ports, every process started here is stopped by
pid, and waiting is done on events (a condition variable fed by the MQTT client, the
simulator's request log, the broker's log), each with a deadline, never on bare sleeps.
Run under Debian's /usr/bin/python3 (python3-paho-mqtt 1.6, python3-cryptography;
python3-websockets 10.4 for WsClient).
"""
import asyncio
import atexit
import base64
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
import urllib.error
import urllib.parse
import urllib.request
import uuid

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
        self.ws_port, self.ws_uri = info.get("ws_port"), info.get("ws_uri")
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

    # -- OAuth and the WebSocket gateway
    def oauth(self, path, form=None, bearer=None):
        """(status, parsed body) of a POST to /restapi/oauth/...: form-encoded with the
        client's Basic credentials, or with a Bearer token."""
        if bearer is not None:
            auth = "Bearer " + bearer
        else:
            auth = "Basic " + base64.b64encode(("%s:%s" % (
                SIM_CREDENTIALS["client_id"], SIM_CREDENTIALS["client_secret"])).encode()).decode()
        req = urllib.request.Request(
            self.url + path, method="POST", headers={
                "Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"},
            data=urllib.parse.urlencode(form or {}).encode())
        try:
            with urllib.request.urlopen(req, context=self.ssl, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def login(self):
        """A new login session (JWT grant): the token answer."""
        status, body = self.oauth("/restapi/oauth/token", {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": SIM_CREDENTIALS["jwt"]})
        assert status == 200, (status, body)
        return body

    def refresh(self, refresh_token):
        """The same login session, new tokens: the token answer."""
        status, body = self.oauth("/restapi/oauth/token", {
            "grant_type": "refresh_token", "refresh_token": refresh_token})
        assert status == 200, (status, body)
        return body

    def ws_token(self, access_token):
        """POST /restapi/oauth/wstoken: {ws_access_token, uri, expires_in}."""
        status, body = self.oauth("/restapi/oauth/wstoken", bearer=access_token)
        assert status == 200, (status, body)
        return body

    def ws_url(self, ws_token, wsc=None):
        query = {"access_token": ws_token}
        if wsc is not None:
            query["wsc"] = wsc
        return self.ws_uri + "?" + urllib.parse.urlencode(query)

    def ws_connect(self, access_token=None, wsc=None, ws_token=None, timeout=10):
        """A WsClient on the gateway: with ws_token as given, else a fresh one for
        access_token (else for a new login). wsc asks for recovery."""
        if ws_token is None:
            ws_token = self.ws_token(access_token or self.login()["access_token"])[
                "ws_access_token"]
        return WsClient(self.ws_url(ws_token, wsc), self.cafile, timeout)

    def ws_connections(self):
        """/_sim/ws/connections: {connections: [...], sessions: [...], ...}."""
        return self.call("GET", "/_sim/ws/connections")

    def ws_fault(self, kind, **extra):
        """drop, no_pong, stall, refuse_recovery (count=1), close (code, reason); an
        optional connection=<id> limits it to one connection."""
        return self.call("POST", "/_sim/ws/fault", dict(extra, kind=kind))


class WsFrame:
    """One text frame from the gateway: its exact text, header and body."""

    def __init__(self, text):
        self.text = text
        parsed = json.loads(text)
        self.header = parsed[0]
        self.body = parsed[1] if len(parsed) > 1 else None
        self.type = self.header.get("type")

    def body_text(self):
        """The body exactly as sent (the frame is '[' header ',' body ']')."""
        _, end = json.JSONDecoder().raw_decode(self.text, self.text.index("{"))
        rest = self.text[end:].strip()
        assert rest.startswith(",") and rest.endswith("]"), self.text
        return rest[1:-1].strip()

    def __repr__(self):
        return "WsFrame(%s)" % self.text[:200]


class WsClient:
    """A WebSocket client for synchronous tests: websockets' asyncio client on its own
    loop thread. Every frame received is kept in order (self.frames); waits are on a
    condition variable with deadlines. The client sends no pings of its own."""

    def __init__(self, url, cafile=None, timeout=10):
        # Imported here: only the WebSocket tests need python3-websockets.
        import websockets
        import websockets.exceptions
        self._closed_exc = websockets.exceptions.ConnectionClosed
        self.frames = []
        self.closed = None              # (code, reason) once the connection is gone
        self.cond = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        ctx = ssl.create_default_context(cafile=cafile) if url.startswith("wss:") else None

        async def connect():
            return await websockets.connect(url, ssl=ctx, ping_interval=None,
                                            close_timeout=2, open_timeout=timeout)
        try:
            self.ws = self._run(connect(), timeout + 5)
        except BaseException:
            self._stop_loop()
            raise
        self._reader = asyncio.run_coroutine_threadsafe(self._read(), self.loop)

    def _run(self, coro, timeout):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _read(self):
        try:
            async for text in self.ws:
                frame = WsFrame(text)
                with self.cond:
                    self.frames.append(frame)
                    self.cond.notify_all()
        except self._closed_exc:
            pass
        finally:
            with self.cond:
                self.closed = (self.ws.close_code, self.ws.close_reason)
                self.cond.notify_all()

    def wait_for(self, predicate, timeout=10, what="a frame"):
        """Blocks until predicate(frames) is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = predicate(self.frames)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out after %ss waiting for %s; closed=%s, "
                                         "frames: %s" % (timeout, what, self.closed,
                                                         self.frames[-5:]))
                self.cond.wait(left)

    def wait_type(self, frame_type, count=1, timeout=10):
        """The frames of a type once there are at least count of them."""
        def enough(frames):
            found = [f for f in frames if f.type == frame_type]
            return len(found) >= count and found
        return self.wait_for(enough, timeout, "%d %s frames" % (count, frame_type))

    def of_type(self, frame_type):
        with self.cond:
            return [f for f in self.frames if f.type == frame_type]

    def wsc(self):
        """The latest wsc {token, sequence} any frame carried."""
        with self.cond:
            for f in reversed(self.frames):
                if isinstance(f.header.get("wsc"), dict):
                    return f.header["wsc"]
        return None

    def send(self, frame):
        """Sends a frame: a list/dict is JSON-encoded, a str goes as is."""
        text = frame if isinstance(frame, str) else json.dumps(frame)
        self._run(self.ws.send(text), 10)

    def request(self, method, path, body=None, timeout=10):
        """A ClientRequest; returns the answer frame (same messageId)."""
        mid = str(uuid.uuid4())
        frame = [{"type": "ClientRequest", "messageId": mid, "method": method, "path": path}]
        if body is not None:
            frame.append(body)
        self.send(frame)
        return self.wait_for(lambda fs: next((f for f in fs if f.type == "ClientRequest"
                                              and f.header.get("messageId") == mid), None),
                             timeout, "the answer to %s %s" % (method, path))

    def subscribe(self, filters, timeout=10):
        return self.request("POST", "/restapi/v1.0/subscription/", {
            "eventFilters": list(filters), "deliveryMode": {"transportType": "WebSocket"}},
            timeout)

    def heartbeat(self, timeout=10):
        mid = str(uuid.uuid4())
        self.send([{"type": "Heartbeat", "messageId": mid}])
        return self.wait_for(lambda fs: next((f for f in fs if f.type == "Heartbeat"
                                              and f.header.get("messageId") == mid), None),
                             timeout, "the heartbeat answer")

    def ping(self, timeout=5):
        """True if a WebSocket ping is answered (pong) within timeout."""
        async def ping():
            waiter = await self.ws.ping()
            try:
                await asyncio.wait_for(waiter, timeout)
                return True
            except asyncio.TimeoutError:
                return False
        return self._run(ping(), timeout + 5)

    def closed_within(self, timeout):
        """(code, reason) if the connection ends within timeout, else None."""
        with self.cond:
            self.cond.wait_for(lambda: self.closed is not None, timeout)
            return self.closed

    def wait_closed(self, timeout=10):
        result = self.closed_within(timeout)
        if result is None:
            raise AssertionError("the connection is still open after %ss" % timeout)
        return result

    def _stop_loop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    def close(self):
        if not self.loop.is_closed():
            try:
                self._run(self.ws.close(), 10)
                self._reader.result(10)
            except Exception:
                pass    # already gone
            self._stop_loop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


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
        # Named explicitly: the default is websocket, and most suites test PubNub.
        "transport": "pubnub",
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


def websocket_opts(sim, **overrides):
    """plugin_opts for WebSocket delivery (named explicitly, like every other transport
    choice in the tests); overrides as for plugin_opts. pubnub_origin still points at the
    simulator, so a stray PubNub request would show in its request log."""
    return plugin_opts(sim, **dict({"transport": "websocket"}, **overrides))


class Broker:
    """/usr/sbin/mosquitto with the plugin, on a free port, logging to a file."""

    def __init__(self, opts, wrapper=None, extra_conf="", port=None, workdir=None, env=None):
        self.opts = opts
        self.env = env or {}      # added to (None: removed from) the broker's environment
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
        for k, v in self.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
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
