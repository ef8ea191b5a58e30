"""sdk_bridge.py - the official RingCentral JavaScript SDK as an MQTT bridge, for benchmarks.

What a user would run beside a plain broker instead of the plugin: bench/sdk-bridge/
pubnub/bridge.js (@ringcentral/sdk + @ringcentral/subscriptions 4.7.4, PubNub delivery) or
websocket/bridge.js (5.0.x, WebSocket delivery), each publishing every notification with
mqtt.js on the topic the plugin would use. See bench/sdk-bridge/README.md.

    ok, reason = available()
    proc = start_bridge("websocket", sim, broker.port, qos=1)   # sim: a harness.Sim
    ...
    proc.terminate(); proc.wait()       # the caller stops it (SIGTERM: it deletes its
                                        # subscription and exits within 3 s)

Run under Debian's /usr/bin/python3; needs node (>= 16) and, once, npm to install the
pinned packages (npm ci from the committed package-lock.json).
"""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
BRIDGE_DIR = os.path.join(HERE, "sdk-bridge")
TRANSPORTS = ("pubnub", "websocket")
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))
from credentials import SIM_CREDENTIALS  # noqa: E402  (the simulator's test credentials)

# The filters harness.plugin_opts gives the plugin by default, so that a comparison
# subscribes to the same events.
DEFAULT_FILTERS = ["/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true",
                   "/restapi/v1.0/account/~/extension/~/message-store"]
READY_TIMEOUT = 60      # seconds for login, subscription and the first poll / socket
NPM_TIMEOUT = 600

_state = {"checked": None}      # available()'s verdict, computed once per process
_started = []                   # bridges started here, killed (by pid) at exit if alive


def _node():
    return shutil.which("node") or ("/usr/bin/node" if os.path.exists("/usr/bin/node") else None)


def _npm():
    return shutil.which("npm") or ("/usr/bin/npm" if os.path.exists("/usr/bin/npm") else None)


def _missing(project):
    """None when project/node_modules holds the pinned direct dependencies, else what is
    missing or at another version."""
    with open(os.path.join(project, "package.json")) as f:
        deps = json.load(f)["dependencies"]
    for name, version in deps.items():
        path = os.path.join(project, "node_modules", name, "package.json")
        try:
            with open(path) as f:
                have = json.load(f).get("version")
        except (OSError, ValueError):
            return "%s is not installed" % name
        if have != version:
            return "%s is %s, package.json pins %s" % (name, have, version)
    return None


def _check():
    node = _node()
    if node is None:
        return False, "node is not installed (Debian: apt-get install nodejs npm)"
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
        major = int(out.stdout.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        return False, "cannot run %s --version: %s" % (node, e)
    if major < 16:
        return False, "node %s is too old (mqtt.js 5 and the SDK 5 need >= 16)" % out.stdout.strip()
    for transport in TRANSPORTS:
        project = os.path.join(BRIDGE_DIR, transport)
        why = _missing(project)
        if why is None:
            continue
        npm = _npm()
        if npm is None:
            return False, "%s: %s, and npm is not installed to fetch it" % (transport, why)
        try:
            res = subprocess.run([npm, "ci", "--prefix", project, "--no-audit", "--no-fund"],
                                 capture_output=True, text=True, timeout=NPM_TIMEOUT)
        except (OSError, subprocess.SubprocessError) as e:
            return False, "%s: %s; npm ci failed: %s" % (transport, why, e)
        if res.returncode != 0:
            return False, "%s: %s; npm ci failed (%d): %s" % (
                transport, why, res.returncode, (res.stderr or res.stdout).strip()[-1500:])
        why = _missing(project)
        if why is not None:
            return False, "%s: still after npm ci: %s" % (transport, why)
    return True, "node %s, SDK bridges installed in %s" % (out.stdout.strip(), BRIDGE_DIR)


def available():
    """(True, what) when node and both bridges' pinned packages are there; installs them
    with `npm ci` (once per process) when they are missing; else (False, why)."""
    if _state["checked"] is None:
        _state["checked"] = _check()
    return _state["checked"]


def start_bridge(transport, sim, broker_port, topic_prefix="ringcentral", qos=0,
                 event_filters=None):
    """Starts the SDK bridge for transport ("pubnub" or "websocket") against sim (a
    harness.Sim) publishing to the MQTT broker on 127.0.0.1:broker_port, and returns its
    subprocess.Popen once it printed "ready" (logged in, subscribed, and the PubNub poll or
    the WebSocket subscription live: what the simulator sends from now on is delivered).
    Raises RuntimeError with the bridge's stderr when it fails or is not ready in time.
    The caller stops it (terminate() and wait(), or harness.stop_process)."""
    if transport not in TRANSPORTS:
        raise ValueError("transport must be one of %s, got %r" % (TRANSPORTS, transport))
    ok, why = available()
    if not ok:
        raise RuntimeError("the SDK bridge is not available: " + why)
    if qos not in (0, 1, 2):
        raise ValueError("qos must be 0, 1 or 2")
    cmd = [_node(), os.path.join(BRIDGE_DIR, transport, "bridge.js"),
           "--server", sim.url, "--mqtt-port", str(int(broker_port)),
           "--topic-prefix", topic_prefix, "--qos", str(qos)]
    for f in event_filters or DEFAULT_FILTERS:
        cmd += ["--filter", f]
    if transport == "pubnub":
        # The simulator serves PubNub on its REST port, as plugin_opts' pubnub_origin says.
        cmd += ["--pubnub-origin", urlsplit(sim.url).netloc]
    env = dict(os.environ,
               NODE_EXTRA_CA_CERTS=sim.cafile,   # the simulator's own test CA
               RC_CLIENT_ID=SIM_CREDENTIALS["client_id"],
               RC_CLIENT_SECRET=SIM_CREDENTIALS["client_secret"],
               RC_JWT=SIM_CREDENTIALS["jwt"])
    stderr = tempfile.TemporaryFile(mode="w+", prefix="sdk-bridge-")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=stderr, env=env, cwd=os.path.join(BRIDGE_DIR, transport),
                            text=True)
    proc.stderr_log = stderr        # the bridge's stderr, kept with it
    _started.append(proc)
    done = threading.Event()
    seen = {"ready": False}

    def read_stdout():
        # Drained to the end so the bridge never blocks on a full pipe.
        for line in proc.stdout:
            if line.strip() == "ready" and not seen["ready"]:
                seen["ready"] = True
                done.set()
        done.set()      # EOF: the bridge exited
    threading.Thread(target=read_stdout, name="sdk-bridge-stdout", daemon=True).start()
    done.wait(READY_TIMEOUT)
    if seen["ready"]:
        return proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    stderr.seek(0)
    raise RuntimeError("%s SDK bridge %s:\n%s" % (
        transport, "exited with %s" % proc.returncode if done.is_set()
        else "not ready within %ds" % READY_TIMEOUT, stderr.read()[-4000:]))


@atexit.register
def _kill_leftovers():
    for proc in _started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
