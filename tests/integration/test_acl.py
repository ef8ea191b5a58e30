"""test_acl.py - who may publish where: the README's "Securing the topics" recipe, loaded
into the real broker.

conf/ringcentral.acl (with a password file and no anonymous access) and
conf/dynsec-ringcentral.sh (the same policy as dynamic-security roles, run through
mosquitto_ctrl against the running broker) are used exactly as shipped. For each, with the
plugin fed by the simulator:

(a) a client's QoS 1 publish to ringcentral/bridge/state (retained) and to a notification
    topic is answered PUBACK 0x87 (Not authorized, MQTT v5); the retained state stays the
    plugin's and an authorised reader never sees the forged messages;
(b) the plugin's own state, status and notifications (sim.notify) still reach that reader;
(c) a client without the role (another user, an anonymous client where anonymous is
    allowed at all) receives nothing.

A first test shows the problem on the harness's open configuration (the same forgery
succeeds), so the checks above are known to be able to fail.

"Never sees" is checked without sleeping: the broker queues a publish to every matching
subscriber before it answers the publisher, and writes a client's packets in order, so once
a later message (or a SUBACK asked for later) arrives on a connection, anything forged
before it would already have arrived there.
"""
import json
import os
import subprocess
import threading
import time

import paho.mqtt.client as mqtt

from harness import PRESENCE_FILTER, ROOT, Broker, Sim, plugin_opts, run_tests, wait_until

ACL_FILE = os.path.join(ROOT, "conf", "ringcentral.acl")
DYNSEC_SCRIPT = os.path.join(ROOT, "conf", "dynsec-ringcentral.sh")
DYNSEC_PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"

STATE = "ringcentral/bridge/state"
STATUS = "ringcentral/bridge/status"
PRESENCE_EVENT = "/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true"
PRESENCE_TOPIC = "ringcentral/account/~/extension/401550809004/presence"
SMS_EVENT = "/restapi/v1.0/account/~/extension/823476228762/message-store/instant?type=SMS"
SMS_TOPIC = "ringcentral/account/~/extension/823476228762/message-store/instant"
CONTROL = "$CONTROL/ringcentral/v1"
COMMAND = "ringcentral/bridge/command/resubscribe"
SMS_FILTER = "/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS"

# The README's broker lines for the acl_file recipe (loaded with the test's own paths).
RECIPE_LINES = ["per_listener_settings false", "allow_anonymous false",
                "password_file /etc/mosquitto/passwd",
                "acl_file /etc/mosquitto/ringcentral.acl"]

READER, ADMIN, INTRUDER = "ringcentral-reader", "ringcentral-admin", "intruder"
PASSWORDS = {READER: "reader-pw-51f0", ADMIN: "admin-pw-9c2e", INTRUDER: "intruder-pw-77ad"}

NOT_AUTHORIZED = 0x87
FORGED_PRESENCE = b'{"forged":true,"body":{"telephonyStatus":"Ringing"}}'

# Observations printed at the end (run with -V under ctest to see them).
observed = {}


class Client(mqtt.Client):
    """An MQTT v5 client (or 3.1.1) that records its CONNACK, SUBACK and PUBACK reason
    codes and every message it receives, with blocking waits on a condition variable.
    paho 1.6 reads the PUBACK reason code but does not hand it to on_publish, so
    _handle_pubackcomp is wrapped to keep it (Debian's python3-paho-mqtt 1.6 is pinned)."""

    def __init__(self, port, name, username=None, protocol=mqtt.MQTTv5):
        super().__init__(client_id="%s-%d-%d" % (name, os.getpid(), time.monotonic_ns()),
                         protocol=protocol)
        self.name = name
        self.cond = threading.Condition()
        self.messages, self.pubacks, self.subacks = [], {}, {}
        self.connack = None
        if username is not None:
            self.username_pw_set(username, PASSWORDS[username])
        self.on_message = self._message
        self.on_subscribe = self._subscribed
        self.on_connect = self._connected
        self.on_disconnect = lambda *a: self._notify()
        self.connect("127.0.0.1", port)
        self.loop_start()
        with self.cond:
            if not self.cond.wait_for(lambda: self.connack is not None, 30):
                raise AssertionError("%s: no CONNACK" % name)

    def _notify(self):
        with self.cond:
            self.cond.notify_all()

    def _connected(self, client, userdata, flags, rc, properties=None):
        with self.cond:
            self.connack = rc.value if hasattr(rc, "value") else rc
            self.cond.notify_all()

    def _subscribed(self, client, userdata, mid, granted, properties=None):
        with self.cond:
            self.subacks[mid] = [g.value if hasattr(g, "value") else g for g in granted]
            self.cond.notify_all()

    def _message(self, client, userdata, msg):
        with self.cond:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain)))
            self.cond.notify_all()

    def _handle_pubackcomp(self, cmd):
        packet, length = self._in_packet["packet"], self._in_packet["remaining_length"]
        mid = int.from_bytes(packet[:2], "big")
        reason = packet[2] if self._protocol == mqtt.MQTTv5 and length > 2 else 0
        rc = super()._handle_pubackcomp(cmd)
        with self.cond:
            self.pubacks[mid] = reason
            self.cond.notify_all()
        return rc

    def wait(self, predicate, what, timeout=30):
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise AssertionError("%s: timed out after %ss waiting for %s; messages: %s"
                                     % (self.name, timeout, what, self.messages[-10:]))

    def subscribe_all(self, *filters):
        """Subscribes and waits for the SUBACK: the granted QoS or reason code per filter.
        Retained messages for these filters are queued right after it."""
        rc, mid = self.subscribe([(f, 1) for f in filters])
        assert rc == mqtt.MQTT_ERR_SUCCESS, rc
        self.wait(lambda: mid in self.subacks, "the SUBACK for %s" % (filters,))
        return self.subacks[mid]

    def barrier(self):
        """Once this returns, everything the broker queued for this client before now has
        arrived (a SUBACK is written after them on the same connection)."""
        self.subscribe_all("acl-test/barrier/%d" % time.monotonic_ns())

    def publish_acked(self, topic, payload, retain=False):
        """A QoS 1 publish: the PUBACK reason code (0 when the broker sends none)."""
        info = self.publish(topic, payload, qos=1, retain=retain)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS, info.rc
        self.wait(lambda: info.mid in self.pubacks, "the PUBACK for %s" % topic)
        return self.pubacks[info.mid]

    def got(self, topic, payload=None):
        with self.cond:
            return [m for m in self.messages
                    if m[0] == topic and (payload is None or m[1] == payload)]

    def close(self):
        self.loop_stop()
        self.disconnect()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def anonymous_connack(port):
    """The CONNACK reason code an anonymous MQTT v5 client gets."""
    c = Client(port, "anonymous-probe")
    try:
        return c.connack
    finally:
        c.close()


def retained(port, username, topic):
    """The retained payload on topic as a fresh client with that username sees it."""
    with Client(port, "retained", username) as c:
        granted = c.subscribe_all(topic)
        assert granted == [1], granted
        c.barrier()
        found = [m for m in c.messages if m[0] == topic and m[2]]
        return found[-1][1] if found else None


def wait_plugin_online(port, username):
    """Waits (event-based) until the plugin's retained state says online."""
    with Client(port, "online-wait", username) as c:
        c.subscribe_all(STATE)
        c.wait(lambda: c.got(STATE) and c.got(STATE)[-1][1] == b"online",
               "the plugin's state online", timeout=60)


def opts(sim):
    return plugin_opts(sim, event_filter=[PRESENCE_FILTER, SMS_FILTER])


def write_passwords(path):
    for i, (user, pw) in enumerate(sorted(PASSWORDS.items())):
        cmd = ["mosquitto_passwd", "-b", path, user, pw]
        if i == 0:
            cmd.insert(1, "-c")
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)


def check_recipe(sim, broker, label, outsiders, outsider_suback):
    """(a), (b) and (c) on a broker with a recipe loaded. outsiders: (name, username or
    None for anonymous) of clients that must receive nothing; outsider_suback: what their
    SUBACK for ringcentral/# and # says (an acl_file does not check subscriptions, it
    filters what is delivered: [1, 1]; dynsec refuses them: [0x87, 0x87])."""
    port = broker.port
    wait_plugin_online(port, READER)
    with Client(port, "reader", READER) as reader, Client(port, "admin", ADMIN) as admin:
        assert reader.connack == 0 and admin.connack == 0, (reader.connack, admin.connack)
        assert reader.subscribe_all("ringcentral/#") == [1]
        reader.wait(lambda: reader.got(STATE, b"online") and reader.got(STATUS),
                    "the retained state and status")
        status = json.loads(reader.got(STATUS)[-1][1])
        assert status["state"] == "online", status

        spies = []
        for name, username in outsiders:
            spy = Client(port, name, username)
            assert spy.connack == 0, (name, spy.connack)
            spies.append(spy)
            granted = spy.subscribe_all("ringcentral/#", "#")
            observed["%s: SUBACK for %s on ringcentral/# and #" % (label, name)] = granted
            assert granted == outsider_suback, (name, granted)
        try:
            # (a) Forgeries, each answered: PUBACK 0x87 Not authorized.
            forgers = [(reader, READER), (admin, ADMIN)] + list(zip(spies, (n for n, _ in outsiders)))
            for client, name in forgers:
                rc_state = client.publish_acked(STATE, b"offline", retain=True)
                rc_note = client.publish_acked(PRESENCE_TOPIC, FORGED_PRESENCE)
                observed["%s: PUBACK to %s forging state / presence" % (label, name)] = \
                    "0x%02x / 0x%02x" % (rc_state, rc_note)
                assert rc_state == NOT_AUTHORIZED and rc_note == NOT_AUTHORIZED, \
                    (name, rc_state, rc_note)
            # The control topics: only the admin may publish there.
            rc_reader = reader.publish_acked(CONTROL, b'{"commands":[{"command":"getStatus"}]}')
            rc_admin = admin.publish_acked(CONTROL, b'{"commands":[{"command":"getStatus"}]}')
            observed["%s: PUBACK on %s to reader / admin" % (label, CONTROL)] = \
                "0x%02x / 0x%02x" % (rc_reader, rc_admin)
            assert rc_reader == NOT_AUTHORIZED, rc_reader
            assert rc_admin < 0x80, rc_admin
            # The command topics (SMS texts): the admin may publish there, the reader may
            # neither publish nor read what the admin sent (checked with (b) below).
            rc_reader = reader.publish_acked(COMMAND, b"PRESS")
            rc_admin = admin.publish_acked(COMMAND, b"PRESS")
            observed["%s: PUBACK on %s to reader / admin" % (label, COMMAND)] = \
                "0x%02x / 0x%02x" % (rc_reader, rc_admin)
            assert rc_reader == NOT_AUTHORIZED, rc_reader
            assert rc_admin < 0x80, rc_admin

            # (b) The plugin's own notifications still arrive, byte for byte.
            sent_p = sim.notify(PRESENCE_EVENT, {"telephonyStatus": "CallConnected"})
            sent_s = sim.notify(SMS_EVENT, {"type": "SMS", "subject": "secret text",
                                            "from": {"phoneNumber": "+15550001111"}})
            assert len(sent_p) == 1 and len(sent_s) == 1
            for topic, sent in ((PRESENCE_TOPIC, sent_p[0]), (SMS_TOPIC, sent_s[0])):
                reader.wait(lambda: reader.got(topic, sent["plaintext"].encode()),
                            "the plugin's notification on " + topic)
            # ... and the forged ones never did (they would have come before these).
            assert not reader.got(PRESENCE_TOPIC, FORGED_PRESENCE), reader.messages
            assert not reader.got(STATE, b"offline"), reader.got(STATE)
            assert not admin.got(CONTROL)
            assert not reader.got(COMMAND), reader.got(COMMAND)

            # (c) Outsiders received nothing at all: not the retained state and status, not
            # the notifications, not the forgeries.
            for spy in spies:
                spy.barrier()
                assert spy.messages == [], (spy.name, spy.messages)
        finally:
            for spy in spies:
                spy.close()

    # The retained state is still the plugin's, and the plugin is still online.
    assert retained(port, READER, STATE) == b"online"
    status = json.loads(retained(port, READER, STATUS))
    assert status["state"] == "online" and status["published"] >= 2, status
    # The broker says why: one "Denied PUBLISH" debug line per refused publish.
    denied = broker.log_text().count("Denied PUBLISH")
    assert denied >= 2 * (2 + len(outsiders)) + 1, denied


def test_open_default_lets_anyone_forge_and_read(sim):
    """The problem, on the harness's open broker (allow_anonymous true, no ACL): the same
    forgery is accepted and replaces the retained state, and anonymous reads the SMS."""
    with Broker(opts(sim)) as broker:
        port = broker.port
        wait_plugin_online(port, None)
        with Client(port, "anon-reader") as anon, Client(port, "anon-forger") as forger:
            assert anon.subscribe_all("ringcentral/#") == [1]
            rc = forger.publish_acked(STATE, b"offline", retain=True)
            observed["open broker: PUBACK to anonymous forging state"] = "0x%02x" % rc
            assert rc == 0, rc
            anon.wait(lambda: anon.got(STATE, b"offline"), "the forged state")
            sent = sim.notify(SMS_EVENT, {"subject": "secret text"})
            anon.wait(lambda: anon.got(SMS_TOPIC, sent[0]["plaintext"].encode()), "the SMS")
        assert retained(port, None, STATE) == b"offline"


def test_acl_file_recipe(sim):
    """password_file + conf/ringcentral.acl, allow_anonymous false (the README's lines)."""
    broker = Broker(opts(sim))
    passwd = os.path.join(broker.dir, "passwd")
    write_passwords(passwd)
    broker.extra_conf = "\n".join(RECIPE_LINES).replace(
        "/etc/mosquitto/passwd", passwd).replace("/etc/mosquitto/ringcentral.acl", ACL_FILE)
    with broker:
        rc = anonymous_connack(broker.port)
        observed["acl_file: CONNACK to anonymous"] = "0x%02x" % rc
        assert rc == 0x87, rc       # Not authorized: no anonymous client at all
        check_recipe(sim, broker, "acl_file", [("intruder", INTRUDER)], [1, 1])


def test_acl_file_recipe_with_anonymous_allowed(sim):
    """The same with allow_anonymous true left on: the acl_file grants anonymous clients
    nothing, so they connect but receive nothing and forge nothing."""
    broker = Broker(opts(sim))
    passwd = os.path.join(broker.dir, "passwd")
    write_passwords(passwd)
    broker.extra_conf = "password_file %s\nacl_file %s\n" % (passwd, ACL_FILE)
    with broker:
        check_recipe(sim, broker, "acl_file+anonymous",
                     [("intruder", INTRUDER), ("anonymous", None)], [1, 1])


def test_dynsec_recipe(sim):
    """The dynamic-security plugin, configured by conf/dynsec-ringcentral.sh through
    mosquitto_ctrl, plus users made the README's way. Anonymous clients are allowed by the
    broker here (the harness's allow_anonymous true) and given no group."""
    broker = Broker(opts(sim))
    dynsec = os.path.join(broker.dir, "dynsec.json")
    admin_pw = "dynsec-admin-pw-31aa"
    subprocess.run(["mosquitto_ctrl", "dynsec", "init", dynsec, "dynsec-admin", admin_pw],
                   check=True, capture_output=True, timeout=60)
    broker.extra_conf = "plugin %s\nplugin_opt_config_file %s\n" % (DYNSEC_PLUGIN, dynsec)
    with broker:
        conn = ["-h", "127.0.0.1", "-p", str(broker.port), "-u", "dynsec-admin", "-P", admin_pw]
        out = subprocess.run([DYNSEC_SCRIPT] + conn, capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, (out.stdout, out.stderr)

        def ctrl(*args):
            r = subprocess.run(["mosquitto_ctrl"] + conn + ["dynsec"] + list(args),
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, (args, r.stdout, r.stderr)
            return r.stdout
        for user in (READER, ADMIN, INTRUDER):
            ctrl("createClient", user, "-p", PASSWORDS[user])
        ctrl("addGroupClient", "ringcentral-readers", READER)
        ctrl("addGroupClient", "ringcentral-admins", ADMIN)
        role = ctrl("getRole", "ringcentral-reader")
        assert "ringcentral/#" in role, role
        check_recipe(sim, broker, "dynsec", [("intruder", INTRUDER), ("anonymous", None)],
                     [NOT_AUTHORIZED, NOT_AUTHORIZED])
        # The policy was saved where the broker will load it next time.
        with open(dynsec) as f:
            saved = json.load(f)
        assert {r["rolename"] for r in saved["roles"]} >= {"ringcentral-reader", "ringcentral-admin"}


def test_cli_forgery_is_reported(sim):
    """The issue's own command, mosquitto_pub -r -t ringcentral/bridge/state -m online, as
    an authenticated reader under the acl_file recipe: with MQTT v5 mosquitto_pub reports
    the refusal; with MQTT 3.1.1 (its default) nothing tells the client, yet the broker
    refused it all the same."""
    broker = Broker(opts(sim))
    passwd = os.path.join(broker.dir, "passwd")
    write_passwords(passwd)
    broker.extra_conf = ("allow_anonymous false\npassword_file %s\nacl_file %s\n"
                         % (passwd, ACL_FILE))
    with broker:
        wait_plugin_online(broker.port, READER)
        base = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-u", READER,
                "-P", PASSWORDS[READER], "-q", "1", "-r", "-t", STATE, "-m", "offline"]
        before = broker.log_text().count("Denied PUBLISH")
        v5 = subprocess.run(base + ["-V", "mqttv5"], capture_output=True, text=True, timeout=60)
        v311 = subprocess.run(base, capture_output=True, text=True, timeout=60)
        observed["mosquitto_pub -V mqttv5: exit / stderr"] = (v5.returncode, v5.stderr.strip())
        observed["mosquitto_pub (3.1.1): exit / stderr"] = (v311.returncode, v311.stderr.strip())
        # 2.0.11's mosquitto_pub warns but still exits 0.
        assert "Not authorized" in v5.stderr, v5.stderr
        assert v311.returncode == 0 and v311.stderr.strip() == "", v311.stderr
        wait_until(lambda: broker.log_text().count("Denied PUBLISH") >= before + 2, 30,
                   "both refusals in the broker log")
        # A paho 3.1.1 client gets a plain PUBACK too.
        with Client(broker.port, "v311", READER, protocol=mqtt.MQTTv311) as c:
            rc = c.publish_acked(STATE, b"offline", retain=True)
            observed["MQTT 3.1.1 client: PUBACK reason"] = "none (plain PUBACK)"
            assert rc == 0
        assert retained(broker.port, READER, STATE) == b"online"


def test_dropin_conf_is_safe():
    """conf/ringcentral.conf.example (the package's /etc/mosquitto/conf.d/
    ringcentral.conf.example) is safe in conf.d once enabled: no listener, no
    allow_anonymous or other broker-wide security setting, the plugin line, every
    plugin_opt_ line commented, secrets only from files, and a pointer to the recipe."""
    with open(os.path.join(ROOT, "conf", "ringcentral.conf.example")) as f:
        text = f.read()
    active = [line.strip() for line in text.splitlines()
              if line.strip() and not line.strip().startswith("#")]
    assert active == ["plugin /usr/lib/x86_64-linux-gnu/mosquitto_ringcentral.so"], active
    for opt in ("client_secret ", "jwt ", "password "):
        assert ("plugin_opt_" + opt) not in text, opt
    for opt in ("client_secret_file /etc/mosquitto/ringcentral/",
                "jwt_file /etc/mosquitto/ringcentral/"):
        assert ("#plugin_opt_" + opt) in text, opt
    assert "ringcentral.acl" in text and "dynsec-ringcentral.sh" in text


def test_docs_show_the_tested_lines():
    """The broker lines the README and the acl_file's header give are the ones loaded
    below (with the test's own paths)."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    with open(ACL_FILE) as f:
        header = f.read()
    assert "\n".join(RECIPE_LINES) in readme
    assert "\n".join("#   " + line for line in RECIPE_LINES) in header
    assert "conf/dynsec-ringcentral.sh" in readme and "conf/ringcentral.acl" in readme


def with_sim(fn):
    """Each test gets its own simulator, so no earlier broker's subscription gets a copy."""
    def run():
        with Sim() as sim:
            fn(sim)
    run.__name__ = fn.__name__
    return run


def main():
    try:
        run_tests([test_dropin_conf_is_safe, test_docs_show_the_tested_lines] + [with_sim(t) for t in (
            test_open_default_lets_anyone_forge_and_read, test_acl_file_recipe,
            test_acl_file_recipe_with_anonymous_allowed, test_dynsec_recipe,
            test_cli_forgery_is_reported)])
    finally:
        for k, v in observed.items():
            print("observed: %s: %s" % (k, v), flush=True)


if __name__ == "__main__":
    main()
