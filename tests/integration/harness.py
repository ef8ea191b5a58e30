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

# The simulator's fixed test credentials: tests/sim/credentials.py is their one source
# (rcsim.py takes its defaults from it too).
sys.path.insert(0, os.path.dirname(SIM))
from credentials import SIM_CREDENTIALS  # noqa: E402


def _project_version():
    """The plugin's version as CMakeLists.txt defines it (project(... VERSION x.y.z)), the
    one place it is defined: what the start-up line, bridge/status and the User-Agent
    must say."""
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        found = re.search(r"^project\(\s*\S+\s+VERSION\s+(\d+\.\d+\.\d+)", f.read(), re.M)
    assert found, "no project(... VERSION x.y.z) in CMakeLists.txt"
    return found.group(1)


PLUGIN_VERSION = _project_version()
USER_AGENT = "mosquitto-ringcentral/" + PLUGIN_VERSION

PRESENCE_FILTER = "/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true"
MESSAGE_FILTER = "/restapi/v1.0/account/~/extension/~/message-store"
# Events the filters above match, and the topics the plugin publishes them on by default.
PRESENCE_EVENT = ("/restapi/v1.0/account/~/extension/401550809004/presence"
                  "?detailedTelephonyState=true")
MESSAGE_EVENT = "/restapi/v1.0/account/~/extension/823476228762/message-store"
PRESENCE_TOPIC = "ringcentral/account/~/extension/401550809004/presence"
MESSAGE_TOPIC = "ringcentral/account/~/extension/823476228762/message-store"
# The plugin's two delivery transports (plugin_opt_transport); suites that test what both
# must do alike run once per transport (see per_transport and run_tests).
TRANSPORTS = ("pubnub", "websocket")


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
        disabled_filters, invalid_filters, ...); returns all tunable settings."""
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


# ---- what the simulator saw: its request log as the tests ask about it ------------------------
# The simulator logs socket events with method "WS": "CONNECT /ws" (its query holds
# recoveryState on recovery attempts), "<METHOD> <path>" per ClientRequest and "Heartbeat".
SUB_PATH = "/restapi/v1.0/subscription"


def ws_connect_attempts(sim):
    """Every WebSocket upgrade request the gateway saw (accepted or refused), in order."""
    return sim.requests("WS", "CONNECT")


def ws_connects(sim):
    """WebSocket connections the gateway accepted (upgrade done), in order."""
    return [r for r in sim.requests("WS", "CONNECT ") if r["status"] == 101]


def ws_recovery_connects(sim, state="Successful"):
    return [r for r in ws_connects(sim) if r["query"].get("recoveryState") == state]


def ws_calls(sim, method):
    """ClientRequests of one method on the subscription resource, over the socket."""
    return sim.requests("WS", "%s %s" % (method, SUB_PATH))


def rest_subscription_calls(sim):
    """Any REST request on /restapi/v1.0/subscription (none is expected over WebSocket)."""
    return [r for r in sim.requests() if r["method"] != "WS" and r["path"].startswith(SUB_PATH)]


def pubnub_calls(sim):
    return sim.requests(prefix="/v2/")


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


def self_signed_ca_pem(common_name):
    """A fresh self-signed CA certificate (PEM text) that signed nothing else: for tests of
    what the plugin trusts."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    now = datetime.datetime.utcnow()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


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


def transport_opts(sim, transport, **overrides):
    """plugin_opts for the given transport ("pubnub" or "websocket")."""
    assert transport in TRANSPORTS, transport
    return plugin_opts(sim, **dict({"transport": transport}, **overrides))


class Broker:
    """/usr/sbin/mosquitto with the plugin, on a free port, logging to a file.

    opts None: the broker alone, without the plugin (the far end of a bridge, say).
    extra_plugins: more instances after the first, each (library path, opts), one
    `plugin` line each (several accounts in one broker)."""

    def __init__(self, opts, wrapper=None, extra_conf="", port=None, workdir=None, env=None,
                 log_types=("all",), extra_plugins=()):
        self.opts = opts
        self.extra_plugins = list(extra_plugins)
        # "all" logs every PUBLISH: right for tests, a cost of its own in a benchmark.
        self.log_types = log_types
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
                    "log_dest file %s\n%s%s\n"
                    % (getpass.getuser(), self.port, self.log,
                       "".join("log_type %s\n" % t for t in self.log_types),
                       self.extra_conf))
            plugins = ([(PLUGIN, self.opts)] if self.opts is not None else []) + self.extra_plugins
            for path, opts in plugins:
                f.write("plugin %s\n" % path)
                for k, v in opts:
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


class MqttClient:
    """A paho client (MQTT v5, or 3.1.1 with v5=False) connected and subscribed to
    subscriptions, [(topic filter, qos)], with its SUBACK awaited, before the constructor
    returns. The one connect/subscribe of the tests' clients: a subclass sets what its
    _on_message fills before calling this constructor (messages may arrive at once) and
    guards it with self.cond. publish() waits for the PUBACK and returns its reason code
    (keep_puback_reasons). A context manager: close() on exit."""

    def __init__(self, port, subscriptions, name, v5=True, username=None, password=None,
                 suback_timeout=30):
        self.cond = threading.Condition()
        self.pubacks = {}
        self.client = mqtt.Client(client_id="%s-%d-%d" % (name, os.getpid(), time.monotonic_ns()),
                                  protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_message = self._on_message
        keep_puback_reasons(self.client, self._puback)
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a, **k: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(list(subscriptions))
        if not subscribed.wait(suback_timeout):
            raise AssertionError("no SUBACK for " + ", ".join(t for t, _ in subscriptions))

    def _on_message(self, client, userdata, msg):
        raise NotImplementedError

    def _puback(self, mid, reason):
        with self.cond:
            self.pubacks[mid] = reason
            self.cond.notify_all()

    def publish(self, topic, data, properties=None, what="the message"):
        """Publishes data at QoS 1; returns the PUBACK reason code."""
        info = self.client.publish(topic, data, qos=1, properties=properties)
        with self.cond:
            if not self.cond.wait_for(lambda: info.mid in self.pubacks, 30):
                raise AssertionError("no PUBACK for " + what)
            return self.pubacks[info.mid]

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class MqttWatcher(MqttClient):
    """An MQTT v5 client that records every message on a topic filter."""

    def __init__(self, port, topic="#", qos=1):
        self.messages = []
        super().__init__(port, [(topic, qos)], "watcher", suback_timeout=10)

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


def uuids_on(w, topic=PRESENCE_TOPIC):
    """The uuid user property of every message w received on topic, in arrival order."""
    return [m.user_properties.get("uuid") for m in w.on_topic(topic)]


def wait_online(w, prefix="ringcentral", timeout=30):
    """Waits for state online and a status naming a subscription; returns that status."""
    w.wait_state(prefix, "online", timeout)
    return w.wait_status(lambda s: s["state"] == "online" and s["subscription_id"], timeout,
                         prefix, "an online status with a subscription id")


class Flow:
    """A steady flow of notifications during a fault, on either transport.

    From its own thread it sends one presence notification every `period` seconds through
    sim.notify, and keeps, in sending order, each one the simulator accepted for a live
    subscription (`sent`: the simulator's entries with uuid and exact plaintext) and when
    (`sent_at`, monotonic). A send no live subscription took (none existed, or over
    WebSocket no gateway session held it) is counted in `unrouted`. With a broker it also
    measures an MQTT round trip (mqtt_rtt) every `rtt_every` sends (`rtts`).

    Around a fault: quiesced() holds the sender and waits until all sent so far arrived,
    resume() lets it go on, recovered_after() measures recovery by events; check() proves
    exactly-once delivery (and, when asked, order and that nothing went unrouted).
    Use as a context manager: the thread runs inside the with block."""

    def __init__(self, sim, broker=None, period=0.2, rtt_every=10, event=PRESENCE_EVENT,
                 topic=PRESENCE_TOPIC):
        self.sim, self.broker, self.period, self.rtt_every = sim, broker, period, rtt_every
        self.event, self.topic = event, topic
        self.sent = []              # accepted entries, in sending order
        self.sent_at = {}           # uuid -> monotonic time the simulator accepted it
        self.rtts = []
        self.unrouted = 0
        self.errors = []            # the simulator's control port is not under test
        self.cond = threading.Condition()
        self.sending = threading.Lock()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        n = 0
        while not self.stop_event.is_set():
            with self.sending:
                try:
                    delivered = self.sim.notify(self.event, {"telephonyStatus": "Ringing",
                                                             "seq": n})
                except OSError as e:
                    self.errors.append(e)
                    delivered = None
                now = time.monotonic()
                with self.cond:
                    if delivered is not None:
                        # Over WebSocket a None sequence means no gateway session held it.
                        routed = [d for d in delivered if d.get("sequence", 0) is not None]
                        self.unrouted += 1 if len(routed) != 1 else 0
                        for d in routed:
                            self.sent.append(d)
                            self.sent_at[d["uuid"]] = now
                    self.cond.notify_all()
            n += 1
            if self.broker is not None and self.rtt_every and n % self.rtt_every == 0:
                self.rtts.append(mqtt_rtt(self.broker.port))
            self.stop_event.wait(self.period)   # pacing, not synchronisation

    def uuids(self):
        with self.cond:
            return [d["uuid"] for d in self.sent]

    def count(self):
        with self.cond:
            return len(self.sent)

    def wait_sent(self, n, timeout=30):
        """Waits until the simulator accepted at least n notifications in all."""
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.sent) >= n, timeout):
                raise AssertionError("the sender got only %d of %d notifications accepted"
                                     % (len(self.sent), n))

    def wait_more(self, n, timeout=30):
        self.wait_sent(self.count() + n, timeout)

    def quiesced(self, watcher, timeout=30):
        """Holds the sender and waits until everything sent so far has arrived: a fault
        that kills the channel cannot take with it what nobody could still fetch (PubNub
        refuses a dead subscription's channel, cache and all)."""
        self.sending.acquire()
        want = set(self.uuids())
        watcher.wait_for(lambda ms: want <= {m.user_properties.get("uuid") for m in ms},
                         timeout, "the notifications sent before the fault")
        return self

    def resume(self):
        self.sending.release()

    def recovered_after(self, watcher, since, timeout=60):
        """Seconds from `since` (monotonic) until a notification sent after it arrived:
        recovery as a subscriber sees it (a recovery faster than one broker tick never
        shows as an offline/online flip on bridge/state)."""
        def first(ms):
            with self.cond:
                late = [m.received_at for m in ms
                        if self.sent_at.get(m.user_properties.get("uuid"), 0) > since]
            return min(late) if late else None
        return watcher.wait_for(first, timeout, "a notification sent after the fault") - since

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()

    def check(self, watcher, what, ordered=False, all_routed=False, timeout=60):
        """Every notification the simulator accepted arrived exactly once, byte for byte;
        the broker kept answering (worst MQTT round trip under 1 s). ordered: the
        flow's topic carries exactly these notifications, in sending order. all_routed:
        every send found its one live subscription (none was lost on the server side)."""
        assert not self.thread.is_alive(), "stop the flow first"
        want = [d["uuid"] for d in self.sent]
        watcher.wait_for(lambda ms: set(want) <= {m.user_properties.get("uuid") for m in ms},
                         timeout, "every notification sent (%s)" % what)
        every = uuids_on(watcher, "ringcentral/account")
        dups = len(every) - len(set(every))
        worst = max(self.rtts) if self.rtts else 0
        print("%s: sent %d, received %d, duplicates %d, unrouted %d%s"
              % (what, len(want), len(set(every) & set(want)), dups, self.unrouted,
                 ", worst MQTT rtt %.0f ms (%d measured)" % (worst * 1000, len(self.rtts))
                 if self.rtts else ""))
        if all_routed:
            assert self.unrouted == 0, "%d notifications had no subscription to go to" % (
                self.unrouted)
        assert dups == 0, "duplicates delivered"
        if ordered:
            assert uuids_on(watcher, self.topic) == want, \
                "lost, extra or reordered notifications"
        plain = {d["uuid"]: d["plaintext"].encode() for d in self.sent}
        for m in watcher.on_topic(self.topic):
            uid = m.user_properties.get("uuid")
            if uid in plain:
                assert m.payload == plain[uid], (m.payload, what)
        # A broker blocked by the plugin would show the fault's own delay (5 s and more);
        # one second leaves headroom for a loaded 2-core machine, where a healthy round trip
        # has been seen at 220 ms while three test suites shared the cores.
        assert worst < 1.0, "broker round trip %.3fs" % worst


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


def per_transport(*transports):
    """Decorator: run_tests runs the test once per transport (all of TRANSPORTS when none
    are named), calling it with the transport name and reporting it as name[transport].
        @per_transport()
        def test_x(transport): ...            # test_x[pubnub], test_x[websocket]
    """
    for t in transports:
        assert t in TRANSPORTS, t

    def mark(fn):
        fn.transports = tuple(transports) or TRANSPORTS
        return fn
    return mark



def use_acl_recipe(broker, users):
    """Makes broker (not started yet) the README's acl_file recipe: a password file of users
    ({name: password}), no anonymous clients, conf/ringcentral.acl."""
    passwd = os.path.join(broker.dir, "passwd")
    for i, (u, p) in enumerate(users.items()):
        subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if i == 0 else []) + [passwd, u, p],
                       check=True, capture_output=True, timeout=60)
    broker.extra_conf = ("per_listener_settings false\nallow_anonymous false\n"
                         "password_file %s\nacl_file %s\n"
                         % (passwd, os.path.join(ROOT, "conf", "ringcentral.acl")))


def keep_puback_reasons(client, on_reason):
    """Calls on_reason(mid, reason code) for every PUBACK/PUBCOMP client (a paho
    mqtt.Client) reads: paho 1.6 (Debian's, pinned) reads the reason code but does not
    hand it to on_publish. Reason 0 when the packet carries none."""
    orig = client._handle_pubackcomp

    def pubackcomp(cmd):
        packet = client._in_packet["packet"]
        length = client._in_packet["remaining_length"]
        mid = int.from_bytes(packet[:2], "big")
        reason = packet[2] if length > 2 else 0
        rc = orig(cmd)
        on_reason(mid, reason)
        return rc
    client._handle_pubackcomp = pubackcomp

def run_tests(tests, transport=None):
    """Runs test functions in order; prints one line each and 'N passed, N failed'.

    A test marked with per_transport runs once per transport and is named
    test_x[transport]; any other test is called without arguments, and named test_x[T]
    when the whole file is about one transport (transport=T). Command-line arguments select
    tests by full name (test_x[websocket]) or by bare name (test_x: every transport)."""
    only = sys.argv[1:]
    cases = []
    for fn in tests:
        for t in getattr(fn, "transports", None) or (None,):
            label = t or transport
            name = "%s[%s]" % (fn.__name__, label) if label else fn.__name__
            if only and fn.__name__ not in only and name not in only:
                continue
            cases.append((name, (lambda fn=fn, t=t: fn(t)) if t else fn))
    if only and not cases:
        print("no test matches %s" % " ".join(only))
    passed = failed = 0
    for name, call in cases:
        start = time.monotonic()
        try:
            call()
            passed += 1
            print("PASS %s (%.1fs)" % (name, time.monotonic() - start), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s (%.1fs)" % (name, time.monotonic() - start), flush=True)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)
