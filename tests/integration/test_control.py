"""test_control.py - the control API over MQTT ($CONTROL/<topic_prefix>/v1), with the real
broker, the simulator and a real MQTT v5 client (paho).

Every command and its effect: getStatus (the bridge/status JSON), getEventFilters,
setEventFilters / addEventFilter / removeEventFilter (the simulator's subscription carries
the new set, a notification for an added filter arrives, filters_file is rewritten and a
broker restart keeps it, a filter the server refuses is rolled back, disabled filters are
reported), renewNow (the simulator saw the renewal), recreateSubscription (a new
subscription id, the old one deleted), listServerSubscriptions (the simulator's records,
without delivery secrets), setLogLevel (debug lines stop and start again in the broker
log). Malformed requests: not JSON, no commands array, an unknown command, a missing
field, each answered with an error; the MQTT v5 correlation data and each command's
correlationData echoed. Access: under the README's acl_file recipe a reader's request is
refused by the broker (PUBACK 0x87) and never answered, the admin's is. A full request
queue answers with an error. The option: off by default; two instances on one control
topic stop the broker with one clear line; instances on their own prefixes get their own
topics.

Every wait is on an MQTT message, a log line or a simulator query, each with a deadline.
Run one: /usr/bin/python3 test_control.py test_x"""
import getpass
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from harness import (MESSAGE_EVENT, MESSAGE_FILTER, PLUGIN, PRESENCE_EVENT, PRESENCE_FILTER,
                     ROOT, SUB_PATH, Broker, MqttClient, MqttWatcher, Sim, plugin_opts, run_tests,
                     transport_opts, use_acl_recipe, wait_online, wait_until, ws_calls)

CONTROL = "$CONTROL/ringcentral/v1"
RESPONSE = CONTROL + "/response"
MESSAGE_TOPIC = "ringcentral/account/~/extension/823476228762/message-store"
SESSIONS_FILTER = "/restapi/v1.0/account/~/telephony/sessions"
SESSIONS_EVENT = "/restapi/v1.0/account/~/telephony/sessions"
SESSIONS_TOPIC = "ringcentral/account/~/telephony/sessions"
NOT_AUTHORIZED = 0x87


class Control(MqttClient):
    """An MQTT v5 client for the control API: each request carries a fresh correlation
    data property, and the answer is the response message echoing it."""

    def __init__(self, port, topic=CONTROL, username=None, password=None):
        self.topic, self.response_topic = topic, topic + "/response"
        self.responses = []       # (correlation bytes or None, payload dict, message)
        super().__init__(port, [(self.response_topic, 1)], "control", username=username,
                         password=password)

    def _on_message(self, client, userdata, msg):
        props = getattr(msg, "properties", None)
        corr = getattr(props, "CorrelationData", None)
        with self.cond:
            self.responses.append((corr, json.loads(msg.payload), msg))
            self.cond.notify_all()

    def send(self, payload, correlation=None):
        """Publishes a request (a dict, or bytes as they are) at QoS 1; returns
        (correlation, PUBACK reason code)."""
        correlation = correlation if correlation is not None else uuid.uuid4().bytes
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = correlation
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return correlation, self.publish(self.topic, data, props, "the request")

    def wait_response(self, correlation, timeout=60):
        with self.cond:
            found = self.cond.wait_for(lambda: next((r for r in self.responses
                                                     if r[0] == correlation), None), timeout)
            if not found:
                raise AssertionError("no response within %ss; got %s" % (timeout, [
                    r[1] for r in self.responses[-5:]]))
            return found

    def request(self, *commands, timeout=90):
        """One request with these commands (dicts, or command names): the responses list."""
        cmds = [{"command": c} if isinstance(c, str) else c for c in commands]
        corr, rc = self.send({"commands": cmds})
        assert rc < 0x80, "PUBACK 0x%02x" % rc
        return self.wait_response(corr, timeout)[1]["responses"]

    def one(self, command, timeout=90, **fields):
        """One command; asserts it succeeded and returns its data."""
        r = self.request(dict(fields, command=command), timeout=timeout)
        assert len(r) == 1 and r[0]["command"] == command, r
        assert "error" not in r[0], r[0]
        return r[0].get("data")


def control_opts(sim, transport="pubnub", **overrides):
    return transport_opts(sim, transport, **dict({"control_api": "true"}, **overrides))


def sim_sub(sim, sid):
    return next(s for s in sim.subscriptions() if s["id"] == sid)


def live_sub(sim):
    return wait_until(lambda: sim.live_subscriptions(), 30, "a live subscription")[0]


# ---- getStatus, correlation, malformed requests -------------------------------------------

def test_get_status_and_errors():
    with Sim() as sim, Broker(control_opts(sim)) as broker, MqttWatcher(broker.port) as w:
        status = wait_online(w)
        broker.wait_log(r"ringcentral: control API on \$CONTROL/ringcentral/v1 "
                        r"\(answers on \$CONTROL/ringcentral/v1/response\)")
        with Control(broker.port) as c:
            # getStatus: the bridge/status JSON; both kinds of correlation data echoed.
            corr, rc = c.send({"commands": [{"command": "getStatus", "correlationData": "abc-1"}]},
                              correlation=b"\x00\x01binary\xff")
            assert rc == 0, rc
            got_corr, body, msg = c.wait_response(corr)
            assert got_corr == b"\x00\x01binary\xff"
            assert msg.qos == 1 and not msg.retain, (msg.qos, msg.retain)
            assert getattr(msg.properties, "ContentType", None) == "application/json"
            (r,) = body["responses"]
            assert r["command"] == "getStatus" and r["correlationData"] == "abc-1", r
            data = r["data"]
            assert data["state"] == "online" and data["subscription_id"] == status["subscription_id"]
            assert set(status) <= set(data), set(status) - set(data)

            # Not JSON, no commands array, empty.
            for payload, error in ((b"{not json", "Payload not valid JSON"),
                                   (b'{"commands":"getStatus"}', "Invalid/missing commands"),
                                   (b'[1,2]', "Invalid/missing commands"),
                                   (b'{"commands":[]}', "Empty commands")):
                corr, rc = c.send(payload)
                assert rc == 0, rc
                (r,) = c.wait_response(corr)[1]["responses"]
                assert r == {"command": "Unknown command", "error": error}, (payload, r)

            # Unknown command, missing and bad fields, each answered in order beside a good one.
            rs = c.request({"command": "fooBar", "correlationData": "x"},
                           {"command": "addEventFilter"},
                           {"command": "removeEventFilter", "eventFilter": 7},
                           {"command": "setEventFilters", "eventFilters": ["no-slash"]},
                           {"command": "setLogLevel", "level": "loud"},
                           {"nocommand": 1}, "getStatus", 42)
            assert [r["command"] for r in rs] == [
                "fooBar", "addEventFilter", "removeEventFilter", "setEventFilters",
                "setLogLevel", "Unknown command", "getStatus", "Unknown command"], rs
            assert rs[0] == {"command": "fooBar", "error": "Unknown command",
                             "correlationData": "x"}, rs[0]
            assert "eventFilter" in rs[1]["error"] and "eventFilter" in rs[2]["error"], rs
            assert "must start with '/'" in rs[3]["error"], rs[3]
            assert "level" in rs[4]["error"], rs[4]
            assert rs[5]["error"] == "Missing command" and rs[7]["error"] == "Command not an object"
            assert "error" not in rs[6] and rs[6]["data"]["state"] == "online", rs[6]

            # An MQTT 3.1.1 client is answered too (without correlation data).
            v3 = mqtt.Client(client_id="control-v311-%d" % os.getpid(), protocol=mqtt.MQTTv311)
            v3.connect("127.0.0.1", broker.port)
            v3.loop_start()
            before = len(c.responses)
            v3.publish(CONTROL, json.dumps({"commands": [{"command": "getStatus",
                                                          "correlationData": "v311"}]}), qos=1)
            with c.cond:
                assert c.cond.wait_for(lambda: any(
                    r[1]["responses"][0].get("correlationData") == "v311"
                    for r in c.responses[before:]), 30)
                r = [r for r in c.responses[before:]
                     if r[1]["responses"][0].get("correlationData") == "v311"][0]
            assert r[0] is None, r
            v3.loop_stop()
            v3.disconnect()
            # A command name with a newline is answered as sent, and logged escaped.
            (r,) = c.request({"command": "evil\nringcentral: forged"})
            assert r == {"command": "evil\nringcentral: forged", "error": "Unknown command"}, r
            broker.wait_log(r"control request from control-\d+-\d+: evil\\nringcentral: forged")
        # The broker logs who asked what; nobody forged a line.
        assert re.search(r"ringcentral: control request from control-\d+-\d+: getStatus",
                         broker.log_text())
        assert not re.search(r"^ringcentral: forged", broker.log_text(), re.M)


# ---- the filter commands --------------------------------------------------------------------

def test_filters_with_file_and_restart():
    d = tempfile.mkdtemp(prefix="rcfilters-")
    try:
        path = os.path.join(d, "filters")
        with open(path, "w") as f:
            f.write("# mine\n%s\n" % PRESENCE_FILTER)
        os.chmod(path, 0o640)
        with Sim() as sim:
            opts = control_opts(sim, event_filter=None, filters_file=path)
            with Broker(opts) as broker, MqttWatcher(broker.port) as w, Control(broker.port) as c:
                status = wait_online(w)
                sid = status["subscription_id"]
                data = c.one("getEventFilters")
                assert data["eventFilters"] == [PRESENCE_FILTER] and data["pending"] is False, data
                assert data["serverEventFilters"] == [PRESENCE_FILTER] and data["filtersFile"] == path

                # add: the subscription is modified (PUT), the notification arrives, the file
                # holds both and kept its mode.
                puts = sim_sub(sim, sid)["puts"]
                data = c.one("addEventFilter", eventFilter=MESSAGE_FILTER)
                assert data["eventFilters"] == [PRESENCE_FILTER, MESSAGE_FILTER], data
                assert data["persisted"] is True and data["subscriptionId"] == sid, data
                sub = sim_sub(sim, sid)
                assert sub["filters"] == [PRESENCE_FILTER, MESSAGE_FILTER] and sub["puts"] == puts + 1
                sent = sim.notify(MESSAGE_EVENT, {"subject": "hello"})
                assert len(sent) == 1
                w.wait_for(lambda ms: any(m.topic == MESSAGE_TOPIC and
                                          m.payload == sent[0]["plaintext"].encode() for m in ms),
                           30, "the notification of the added filter")
                with open(path) as f:
                    lines = [l for l in f.read().splitlines() if l and not l.startswith("#")]
                assert lines == [PRESENCE_FILTER, MESSAGE_FILTER], lines
                assert os.stat(path).st_mode & 0o777 == 0o640
                assert not [n for n in os.listdir(d) if n != "filters"], os.listdir(d)

                # remove, then set (with a disabled filter, reported as the server says).
                data = c.one("removeEventFilter", eventFilter=PRESENCE_FILTER)
                assert data["eventFilters"] == [MESSAGE_FILTER], data
                assert sim_sub(sim, sid)["filters"] == [MESSAGE_FILTER]
                r = c.request({"command": "removeEventFilter", "eventFilter": MESSAGE_FILTER},
                              {"command": "removeEventFilter", "eventFilter": PRESENCE_FILTER})
                assert "last" in r[0]["error"] and "not in" in r[1]["error"], r
                sim.config(disabled_filters=[SESSIONS_FILTER])
                data = c.one("setEventFilters",
                             eventFilters=[PRESENCE_FILTER, MESSAGE_FILTER, SESSIONS_FILTER])
                assert data["eventFilters"] == [PRESENCE_FILTER, MESSAGE_FILTER], data
                assert [x["filter"] for x in data["disabledFilters"]] == [SESSIONS_FILTER], data
                assert data["requestedFilters"] == [PRESENCE_FILTER, MESSAGE_FILTER, SESSIONS_FILTER]
                sim.config(disabled_filters=[])

                # A set the server refuses (400) is rolled back, in the file too.
                sim.config(invalid_filters=[SESSIONS_FILTER + "?bad"])
                r = c.request({"command": "addEventFilter", "eventFilter": SESSIONS_FILTER + "?bad"})
                assert "refused" in r[0]["error"] and "SUB-508" in r[0]["error"], r
                data = c.one("getEventFilters")
                assert data["eventFilters"] == [PRESENCE_FILTER, MESSAGE_FILTER, SESSIONS_FILTER], data
                with open(path) as f:
                    assert "?bad" not in f.read()
                sim.config(invalid_filters=[])
                data = c.one("setEventFilters", eventFilters=[PRESENCE_FILTER, MESSAGE_FILTER])
                assert data["eventFilters"] == [PRESENCE_FILTER, MESSAGE_FILTER]
                # Unchanged: answered at once, no request.
                puts = sim_sub(sim, sid)["puts"]
                data = c.one("setEventFilters", eventFilters=[MESSAGE_FILTER, PRESENCE_FILTER])
                assert data["note"] == "the event filters are unchanged" and sim_sub(sim, sid)["puts"] == puts

            # A restart keeps the set: the new subscription is made with it.
            with Broker(opts) as broker, MqttWatcher(broker.port) as w:
                status = wait_online(w)
                assert sorted(sim_sub(sim, status["subscription_id"])["filters"]) == sorted(
                    [PRESENCE_FILTER, MESSAGE_FILTER])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_filters_without_file_websocket():
    with Sim() as sim, Broker(control_opts(sim, "websocket", event_filter=[PRESENCE_FILTER])) as broker, \
            MqttWatcher(broker.port) as w, Control(broker.port) as c:
        status = wait_online(w)
        sid = status["subscription_id"]
        data = c.one("addEventFilter", eventFilter=MESSAGE_FILTER)
        assert data["eventFilters"] == [PRESENCE_FILTER, MESSAGE_FILTER] and data["persisted"] is False
        assert "until the broker restarts" in data["note"], data
        assert sim_sub(sim, sid)["filters"] == [PRESENCE_FILTER, MESSAGE_FILTER]
        assert ws_calls(sim, "PUT"), "the PUT went over the socket"
        sent = sim.notify(MESSAGE_EVENT, {"subject": "ws"})
        w.wait_for(lambda ms: any(m.topic == MESSAGE_TOPIC and
                                  m.payload == sent[0]["plaintext"].encode() for m in ms),
                   30, "the notification of the added filter")
        w.wait_status(lambda s: s["event_filters"] == [PRESENCE_FILTER, MESSAGE_FILTER], 30)


# ---- the lifecycle commands -----------------------------------------------------------------

def test_renew_recreate_list_pubnub():
    with Sim() as sim, Broker(control_opts(sim)) as broker, MqttWatcher(broker.port) as w, \
            Control(broker.port) as c:
        sid = wait_online(w)["subscription_id"]
        renews = sim_sub(sim, sid)["renews"]
        data = c.one("renewNow")
        assert data["action"] == "renew" and data["subscriptionId"] == sid, data
        assert sim_sub(sim, sid)["renews"] == renews + 1
        assert [r for r in sim.requests("POST", SUB_PATH + "/" + sid + "/renew")]

        data = c.one("listServerSubscriptions")
        subs = data["subscriptions"]
        assert [s["id"] for s in subs] == [sid], subs
        assert subs[0]["thisBridge"] is True and subs[0]["createdByThisBridge"] is True, subs
        assert subs[0]["transportType"] == "PubNub" and subs[0]["status"] == "Active", subs
        assert subs[0]["eventFilters"] == [PRESENCE_FILTER, MESSAGE_FILTER], subs
        text = json.dumps(data)
        live = sim_sub(sim, sid)
        for secret in (live["encryptionKey"], live["address"], live["subscriberKey"]):
            assert secret not in text, "delivery secrets in the answer"

        data = c.one("recreateSubscription")
        assert data["previousSubscriptionId"] == sid and data["subscriptionId"] != sid, data
        assert sim_sub(sim, sid)["status"] == "deleted"
        new = data["subscriptionId"]
        assert [s["id"] for s in sim.live_subscriptions()] == [new]
        w.wait_status(lambda s: s["subscription_id"] == new and s["state"] == "online", 30)
        # Notifications flow on the new one.
        sent = sim.notify(PRESENCE_EVENT, {"after": "recreate"})
        w.wait_for(lambda ms: any(m.user_properties.get("uuid") == sent[0]["uuid"] for m in ms), 30,
                   "a notification on the new subscription")
        # Both in one request, in order.
        rs = c.request("renewNow", "listServerSubscriptions")
        assert rs[0]["data"]["subscriptionId"] == new and [
            s["id"] for s in rs[1]["data"]["subscriptions"]] == [new], rs


def test_renew_recreate_websocket():
    with Sim() as sim, Broker(control_opts(sim, "websocket")) as broker, \
            MqttWatcher(broker.port) as w, Control(broker.port) as c:
        sid = wait_online(w)["subscription_id"]
        gets = len(ws_calls(sim, "GET"))
        data = c.one("renewNow")
        assert data["action"] == "check" and data["subscriptionId"] == sid, data
        assert len(ws_calls(sim, "GET")) == gets + 1
        data = c.one("recreateSubscription")
        new = data["subscriptionId"]
        assert data["previousSubscriptionId"] == sid and new != sid, data
        assert sim_sub(sim, sid)["status"] == "deleted" and ws_calls(sim, "DELETE")
        w.wait_status(lambda s: s["subscription_id"] == new and s["state"] == "online", 30)
        subs = c.one("listServerSubscriptions")["subscriptions"]
        assert [(s["id"], s["thisBridge"], s["transportType"]) for s in subs] == [
            (new, True, "WebSocket")], subs


# ---- setLogLevel ----------------------------------------------------------------------------

def test_set_log_level():
    with Sim() as sim, Broker(control_opts(sim)) as broker, MqttWatcher(broker.port) as w, \
            Control(broker.port) as c:
        wait_online(w)
        debug = re.compile(r": ringcentral: renew$", re.M)
        c.one("renewNow")
        assert debug.search(broker.log_text()), "the debug line of a renewal"

        data = c.one("setLogLevel", level="info")
        assert data == {"level": "info", "previousLevel": "debug"}, data
        mark = broker.wait_log(r"ringcentral: log level info \(was debug\), set by the control API")
        c.one("renewNow")
        # The renewal's notice line is there, its debug line is not.
        tail = wait_until(lambda: (lambda t: "renew ok: subscription" in t and t)(
            broker.log_text()[mark.end():]), 30, "the renewal's notice line")
        assert not debug.search(tail), tail

        data = c.one("setLogLevel", level="DEBUG")
        assert data == {"level": "debug", "previousLevel": "info"}, data
        mark = broker.wait_log(r"log level debug \(was info\)")
        c.one("renewNow")
        wait_until(lambda: debug.search(broker.log_text()[mark.end():]), 30,
                   "the debug line again")


# ---- bounds and access ----------------------------------------------------------------------

def test_queue_full_answers_errors():
    with Sim() as sim, Broker(control_opts(sim)) as broker, MqttWatcher(broker.port) as w, \
            Control(broker.port) as c:
        wait_online(w)
        # The listing stalls in the simulator: the worker's executor holds this request.
        sim.fault(match={"method": "GET", "path": SUB_PATH}, delay=8)
        first, _ = c.send({"commands": [{"command": "listServerSubscriptions"}]})
        corrs = [c.send({"commands": [{"command": "getEventFilters"}]})[0] for _ in range(12)]
        answers = [c.wait_response(x)[1]["responses"][0] for x in corrs]
        refused = [a for a in answers if "too many control requests waiting" in a.get("error", "")]
        served = [a for a in answers if "error" not in a]
        print("queue: %d refused, %d served of %d" % (len(refused), len(served), len(answers)))
        assert len(refused) >= 4 and len(refused) + len(served) == 12, answers
        (r,) = c.wait_response(first)[1]["responses"]
        assert "error" not in r and r["data"]["subscriptions"], r
        # getStatus needs no worker: answered at once even then.
        assert c.one("getStatus")["state"] == "online"


def test_acl_refuses_a_client_without_access():
    broker = None
    with Sim() as sim:
        broker = Broker(control_opts(sim))
        users = {"ringcentral-reader": "reader-pw-1", "ringcentral-admin": "admin-pw-2"}
        use_acl_recipe(broker, users)
        with broker:
            with Control(broker.port, username="ringcentral-admin",
                         password=users["ringcentral-admin"]) as admin, \
                    Control(broker.port, username="ringcentral-reader",
                            password=users["ringcentral-reader"]) as reader:
                assert admin.one("getStatus", timeout=60)["version"]
                corr, rc = reader.send({"commands": [{"command": "recreateSubscription"}]})
                assert rc == NOT_AUTHORIZED, "PUBACK 0x%02x" % rc
                # The broker answers the PUBACK after the control callback would have run:
                # the plugin never saw it, nobody got an answer.
                assert "recreateSubscription" not in broker.log_text()
                assert "Denied PUBLISH" in broker.log_text()
                # The admin's next request is answered, the reader's never was (its
                # response would have come first), and the reader, who may not read the
                # response topic, got nothing.
                admin.one("getStatus")
                assert not [r for r in admin.responses if r[0] == corr]
                assert reader.responses == [], reader.responses


def test_off_by_default_and_instances():
    with Sim() as sim:
        # Off: the broker swallows the request (PUBACK success), nothing answers it.
        with Broker(plugin_opts(sim)) as broker, MqttWatcher(broker.port) as w, \
                Control(broker.port) as c:
            wait_online(w)
            _, rc = c.send({"commands": [{"command": "getStatus"}]})
            assert rc == 0
            assert "control request" not in broker.log_text()
            assert "control API on" not in broker.log_text()
            assert c.responses == []
    with Sim() as sim_a, Sim() as sim_b, tempfile.TemporaryDirectory() as d:
        copy = os.path.join(d, "mosquitto_ringcentral_b.so")
        shutil.copy(PLUGIN, copy)
        # Two instances on one control topic: the second cannot have it.
        broker = Broker(control_opts(sim_a, topic_prefix="office/a",
                                     control_topic="$CONTROL/ringcentral/v1"),
                        extra_plugins=[(copy, control_opts(sim_b, topic_prefix="office/b",
                                                           control_topic="$CONTROL/ringcentral/v1"))])
        code = broker.start(expect_running=False)
        assert code != 0
        lines = [l for l in broker.log_text().splitlines() if "ringcentral: Error" in l]
        assert len(lines) == 1 and "plugin_opt_control_topic: $CONTROL/ringcentral/v1 is already "\
            "taken" in lines[0], lines
        # Each on its own prefix: each its own topic, each its own subscription.
        with Broker(control_opts(sim_a, topic_prefix="ringcentral/a"),
                    extra_plugins=[(copy, control_opts(sim_b, "websocket",
                                                       topic_prefix="ringcentral/b"))]) as broker, \
                MqttWatcher(broker.port) as w, \
                Control(broker.port, "$CONTROL/ringcentral/a/v1") as ca, \
                Control(broker.port, "$CONTROL/ringcentral/b/v1") as cb:
            sa = wait_online(w, "ringcentral/a")
            sb = wait_online(w, "ringcentral/b")
            assert ca.one("getStatus")["subscription_id"] == sa["subscription_id"]
            data = cb.one("getStatus")
            assert data["subscription_id"] == sb["subscription_id"] and data["transport"] == "websocket"
            assert [s["id"] for s in cb.one("listServerSubscriptions")["subscriptions"]] == [
                sb["subscription_id"]]


def test_check_tool_knows_the_options():
    """mosquitto-ringcentral-check validates the options with the plugin's parser, names the
    control topic, and says whether filter changes can be written back."""
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        for value, ok in (("$CONTROL/ringcentral/sales/v1", True), ("ringcentral/v1", False),
                          ("$CONTROL/x/#", False)):
            conf = os.path.join(d, "m.conf")
            with open(conf, "w") as f:
                f.write("user %s\nplugin %s\n" % (getpass.getuser(), PLUGIN))
                for k, v in control_opts(sim, control_topic=value):
                    f.write("plugin_opt_%s %s\n" % (k, v))
            os.chmod(conf, 0o600)   # it holds the simulator's inline secrets
            out = subprocess.run([os.environ.get("RC_CHECK", os.path.join(
                ROOT, "build", "mosquitto-ringcentral-check")), conf],
                capture_output=True, text=True, timeout=60)
            if ok:
                assert "error: " not in out.stdout, out.stdout
                assert "plugin_opt_control_api: control API on %s (answers on %s/response)" % (
                    value, value) in out.stdout, out.stdout
            else:
                assert "plugin_opt_control_topic: " in out.stdout and out.returncode == 1, out.stdout
        # filters_file in a directory the broker's user may write: changes are kept.
        filters = os.path.join(d, "filters")
        with open(filters, "w") as f:
            f.write(PRESENCE_FILTER + "\n")
        conf = os.path.join(d, "m.conf")
        with open(conf, "w") as f:
            f.write("user %s\nplugin %s\n" % (getpass.getuser(), PLUGIN))
            for k, v in control_opts(sim, event_filter=None, filters_file=filters):
                f.write("plugin_opt_%s %s\n" % (k, v))
        os.chmod(conf, 0o600)
        out = subprocess.run([os.environ.get("RC_CHECK", os.path.join(
            ROOT, "build", "mosquitto-ringcentral-check")), conf],
            capture_output=True, text=True, timeout=60)
        assert "the control API's filter changes are kept" in out.stdout, out.stdout


if __name__ == "__main__":
    run_tests([test_get_status_and_errors, test_filters_with_file_and_restart,
               test_filters_without_file_websocket, test_renew_recreate_list_pubnub,
               test_renew_recreate_websocket, test_set_log_level, test_queue_full_answers_errors,
               test_acl_refuses_a_client_without_access, test_off_by_default_and_instances,
               test_check_tool_knows_the_options])
