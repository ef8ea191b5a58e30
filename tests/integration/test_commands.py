"""test_commands.py - commands back to RingCentral over MQTT (plugin_opt_command_presence,
plugin_opt_command_sms, Home Assistant's Re-subscribe button), with the real broker, the
simulator and real paho clients.

Presence: the bare value a Home Assistant select publishes and the JSON form set the
simulator's presence (PUT .../presence), whose notification then arrives on the presence
topic; the answer comes on the MQTT v5 response topic with the correlation data, or on
<command topic>/response for an MQTT 3.1.1 client. Refusals, each answered: an invalid
payload, a disabled kind, an unusable response topic. SMS: sent from sms_from (the
simulator recorded from, to and text) and answered with the message id, on the JSON topic
and on the per-number topic a notify entity uses; RingCentral's own error (MSG-304) in the
answer; a 429 answered with CMN-301 and Retry-After, and the next call not sent before the
window ended (the simulator's request log says when each call came). The button recreates
the subscription. The same commands on the control API. The acl_file recipe: a reader's
command is refused by the broker and a reader never sees the SMS text.

Every wait is on an MQTT message or a simulator query, each with a deadline.
Run one: /usr/bin/python3 test_commands.py test_x"""
import json
import uuid

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from harness import (PRESENCE_TOPIC, Broker, MqttClient, MqttWatcher, Sim, plugin_opts,
                     run_tests, use_acl_recipe, wait_until)

OWNER = "401550809004"
CMD = "ringcentral/bridge/command/"
PRESENCE_CMD = CMD + "presence/" + OWNER
SMS_CMD = CMD + "sms"
SMS_FROM = "+15551230000"      # the simulator's SMS number of the logged-in extension
NOT_AUTHORIZED = 0x87


class Client(MqttClient):
    """A paho client (MQTT v5 or 3.1.1) that publishes commands and records every answer."""

    def __init__(self, port, v5=True, username=None, password=None, subscribe=(CMD + "#", "answers/#")):
        self.messages = []        # (topic, correlation or None, payload bytes)
        super().__init__(port, [(t, 1) for t in subscribe], "cmd", v5, username, password)

    def _on_message(self, client, userdata, msg):
        props = getattr(msg, "properties", None)
        with self.cond:
            self.messages.append((msg.topic, getattr(props, "CorrelationData", None), msg.payload))
            self.cond.notify_all()

    def send(self, topic, payload, response_topic=None, correlation=None):
        """Publishes at QoS 1; returns the PUBACK reason code."""
        props = None
        if response_topic is not None or correlation is not None:
            props = Properties(PacketTypes.PUBLISH)
            if response_topic is not None:
                props.ResponseTopic = response_topic
            if correlation is not None:
                props.CorrelationData = correlation
        data = payload if isinstance(payload, bytes) else (
            payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
        return self.publish(topic, data, props)

    def answer(self, topic, correlation=None, timeout=90):
        """The first answer on topic (with that correlation data, if given), as a dict."""
        def found():
            return next((json.loads(p) for t, c, p in self.messages
                         if t == topic and (correlation is None or c == correlation)), None)
        with self.cond:
            a = self.cond.wait_for(found, timeout)
            if a is None:
                raise AssertionError("no answer on %s within %ss; got %s"
                                     % (topic, timeout, [m[0] for m in self.messages[-5:]]))
            return a

    def command(self, topic, payload, timeout=90):
        """A v5 command with a response topic and correlation data of its own: its answer."""
        corr = uuid.uuid4().bytes
        rt = "ringcentral/bridge/command/answers/" + uuid.uuid4().hex
        rc = self.send(topic, payload, response_topic=rt, correlation=corr)
        assert rc < 0x80, "PUBACK 0x%02x" % rc
        return self.answer(rt, corr, timeout)


def opts(sim, **overrides):
    return plugin_opts(sim, **overrides)


def test_presence():
    with Sim() as sim, Broker(opts(sim, command_presence="true")) as broker, \
            MqttWatcher(broker.port, PRESENCE_TOPIC) as w, Client(broker.port) as c, \
            Client(broker.port, v5=False) as c3:
        wait_until(lambda: sim.live_subscriptions(), 30, "a live subscription")
        # What Home Assistant's select publishes: the bare value; v5 response topic and
        # correlation data honoured.
        a = c.command(PRESENCE_CMD, "DoNotAcceptAnyCalls")
        assert a["command"] == "setPresence" and "error" not in a, a
        assert a["data"]["dndStatus"] == "DoNotAcceptAnyCalls", a
        assert a["data"]["extensionId"] == OWNER, a
        # The simulator's presence changed, and its notification reached the topic.
        put = wait_until(lambda: sim.requests("PUT", "/restapi/v1.0/account/~/extension/%s/presence"
                                              % OWNER), 10, "the PUT")
        assert put[0]["status"] == 200, put
        w.wait_for(lambda ms: [m for m in ms if m.json().get("body", {}).get("dndStatus")
                               == "DoNotAcceptAnyCalls"], 30, "the presence notification")
        # JSON from a 3.1.1 client (no properties): answered on <topic>/response.
        assert c3.send(CMD + "presence/~", {"userStatus": "Busy", "dndStatus": "TakeAllCalls"}) == 0
        a = c3.answer(CMD + "presence/~/response")
        assert "error" not in a and a["data"]["userStatus"] == "Busy", a
        assert a["data"]["dndStatus"] == "TakeAllCalls", a
        w.wait_for(lambda ms: [m for m in ms if m.json().get("body", {}).get("userStatus")
                               == "Busy"], 30, "the Busy notification")
        # Refusals, each answered, none reaching RingCentral.
        puts = len(sim.requests("PUT", "/restapi/v1.0/account/~/extension/"))
        for payload, error in (("Sleeping", "unknown status"), ("", "empty payload"),
                               ('{"dndStatus":"Nope"}', "Invalid dndStatus"),
                               ("{oops", "Payload not valid JSON")):
            a = c.command(PRESENCE_CMD, payload)
            assert error in a["error"], (payload, a)
        a = c.command(CMD + "presence/12ab", "TakeAllCalls")
        assert "Invalid extensionId" in a["error"], a
        # Unusable response topics (the bridge's state; a topic outside the command space,
        # where an answer published as the broker would bypass the ACLs): refused on the
        # default one, which the client hears.
        for bad in ("ringcentral/bridge/state", "answers/elsewhere",
                    "ringcentral/account/1/extension/2/presence"):
            corr = uuid.uuid4().bytes
            assert c.send(PRESENCE_CMD, "TakeAllCalls", response_topic=bad,
                          correlation=corr) == 0
            a = c.answer(PRESENCE_CMD + "/response", corr)
            assert "Invalid response topic" in a["error"], (bad, a)
        # An extension RingCentral does not know: its error, errorCode and HTTP status.
        a = c.command(CMD + "presence/999999", "TakeAllCalls")
        assert a["errorCode"] == "CMN-102" and a["httpStatus"] == 404, a
        assert "HTTP 404 CMN-102" in a["error"], a
        assert len(sim.requests("PUT", "/restapi/v1.0/account/~/extension/")) == puts + 1
        assert "ringcentral: command from" in broker.log_text()


def test_disabled_kinds_are_refused():
    # command_sms alone: the presence topic and the button are answered with a refusal.
    with Sim() as sim, Broker(opts(sim, command_sms="true", sms_from=SMS_FROM)) as broker, \
            Client(broker.port) as c:
        wait_until(lambda: sim.live_subscriptions(), 30, "a live subscription")
        a = c.command(PRESENCE_CMD, "DoNotAcceptAnyCalls")
        assert a["error"] == "presence commands are disabled: set plugin_opt_command_presence true", a
        a = c.command(CMD + "resubscribe", "PRESS")
        assert "plugin_opt_homeassistant true" in a["error"], a
        assert not sim.requests("PUT", "/restapi/v1.0/account/~/extension/")
    # Nothing on: the broker does not even hear the topics; nobody answers.
    with Sim() as sim, Broker(opts(sim)) as broker, Client(broker.port) as c:
        wait_until(lambda: sim.live_subscriptions(), 30, "a live subscription")
        assert c.send(PRESENCE_CMD, "DoNotAcceptAnyCalls") == 0
        # A later message on the same connection arrives after any answer would have.
        assert c.send("answers/marker", "x") == 0
        with c.cond:
            c.cond.wait_for(lambda: any(t == "answers/marker" for t, _, _ in c.messages), 30)
            assert not [m for m in c.messages if m[0].endswith("/response")], c.messages
        assert "command from" not in broker.log_text()
    # sms_from is required with command_sms: start-up refused naming it.
    with Sim() as sim:
        broker = Broker(opts(sim, command_sms="true"))
        try:
            assert broker.start(expect_running=False) != 0
            assert "plugin_opt_sms_from: required" in broker.log_text(), broker.log_text()[-2000:]
        finally:
            broker.stop()


def test_sms():
    with Sim() as sim, Broker(opts(sim, command_sms="true", sms_from=SMS_FROM)) as broker, \
            Client(broker.port) as c:
        wait_until(lambda: sim.live_subscriptions(), 30, "a live subscription")
        a = c.command(SMS_CMD, {"to": "+15559870001", "text": "Door is open \u00e9"})
        assert "error" not in a, a
        assert a["data"]["messageStatus"] == "Queued" and a["data"]["id"], a
        assert a["data"]["to"] == ["+15559870001"], a
        sms = sim.call("GET", "/_sim/sms")["sms"]
        assert len(sms) == 1, sms
        assert sms[0]["from"]["phoneNumber"] == SMS_FROM, sms
        assert [t["phoneNumber"] for t in sms[0]["to"]] == ["+15559870001"], sms
        assert sms[0]["subject"] == "Door is open \u00e9", sms
        assert str(sms[0]["id"]) == a["data"]["id"], (sms, a)
        # What a notify entity publishes: the text alone, to the number in the topic.
        a = c.command(SMS_CMD + "/15559870002", "Washing machine done")
        assert "error" not in a, a
        sms = sim.call("GET", "/_sim/sms")["sms"]
        assert sms[-1]["subject"] == "Washing machine done", sms
        assert sms[-1]["to"] == [{"phoneNumber": "+15559870002"}], sms
        # Invalid numbers: refused before RingCentral.
        a = c.command(SMS_CMD, {"to": "5551234", "text": "x"})
        assert "Invalid to" in a["error"], a
        assert len(sim.call("GET", "/_sim/sms")["sms"]) == 2
        # The text is user data: never in the broker log.
        log = broker.log_text()
        assert "Door is open" not in log and "Washing machine" not in log
        assert "+15559870001" not in log
        assert "command: SMS sent to 1 recipient(s)" in log
    # A sending number that is not the extension's: RingCentral's error in the answer.
    with Sim() as sim, Broker(opts(sim, command_sms="true", sms_from="+15550000000")) as broker, \
            Client(broker.port) as c:
        wait_until(lambda: sim.live_subscriptions(), 30, "a live subscription")
        a = c.command(SMS_CMD, {"to": "+15559870001", "text": "x"})
        assert a["errorCode"] == "MSG-304" and a["httpStatus"] == 400, a
        assert a["error"].startswith("sending the SMS failed: HTTP 400 MSG-304"), a
        assert sim.call("GET", "/_sim/sms")["sms"] == []


def test_rate_limited():
    with Sim() as sim, Broker(opts(sim, command_sms="true", sms_from=SMS_FROM)) as broker, \
            Client(broker.port) as c:
        wait_until(lambda: sim.live_subscriptions(), 30, "a live subscription")
        sim.config(rate_limits={"Medium": 1}, rate_window=4)
        assert "error" not in c.command(SMS_CMD, {"to": "+15559870001", "text": "one"})
        a = c.command(SMS_CMD, {"to": "+15559870001", "text": "two"})
        assert a["httpStatus"] == 429 and a["errorCode"] == "CMN-301", a
        assert "rate limited" in a["error"] and a["retryAfter"] >= 1, a
        # The next call waits for Retry-After, then goes through.
        a = c.command(SMS_CMD, {"to": "+15559870001", "text": "three"})
        assert "error" not in a, a
        posts = sim.requests("POST", "/restapi/v1.0/account/~/extension/~/sms")
        assert [p["status"] for p in posts] == [200, 429, 200], posts
        # By the simulator's clock: nothing was sent during the penalty.
        assert posts[2]["time"] - posts[1]["time"] >= 4 - 0.5, posts
        assert [s["subject"] for s in sim.call("GET", "/_sim/sms")["sms"]] == ["one", "three"]


def test_button_recreates_the_subscription():
    with Sim() as sim, Broker(opts(sim, homeassistant="true")) as broker, \
            MqttWatcher(broker.port, "homeassistant/#") as ha, Client(broker.port) as c:
        first = wait_until(lambda: sim.live_subscriptions(), 30, "a live subscription")[0]["id"]
        cfg = ha.wait_for(lambda ms: [m for m in ms if m.topic.endswith("_bridge/config")
                                      and m.payload], 30, "the bridge's config")[-1].json()
        button = cfg["components"]["resubscribe"]
        assert button["platform"] == "button", button
        assert button["command_topic"] == CMD + "resubscribe", button
        # Home Assistant presses: "PRESS" to the command topic (3.1.1: no properties).
        a = c.command(button["command_topic"], "PRESS")
        assert "error" not in a and a["data"]["previousSubscriptionId"] == first, a
        assert a["data"]["subscriptionId"] != first, a
        live = wait_until(lambda: sim.live_subscriptions(), 30, "the new subscription")
        assert [s["id"] for s in live] == [a["data"]["subscriptionId"]], live


def test_same_commands_on_the_control_api():
    with Sim() as sim, Broker(opts(sim, control_api="true", command_presence="true")) as broker, \
            Client(broker.port, subscribe=("$CONTROL/ringcentral/v1/response",)) as c:
        wait_until(lambda: sim.live_subscriptions(), 30, "a live subscription")
        corr = uuid.uuid4().bytes
        c.send("$CONTROL/ringcentral/v1", {"commands": [
            {"command": "setPresence", "extensionId": OWNER, "dndStatus": "DoNotAcceptAnyCalls"},
            {"command": "sendSms", "to": "+15559870001", "text": "x"}]}, correlation=corr)
        r = c.answer("$CONTROL/ringcentral/v1/response", corr)["responses"]
        assert r[0]["command"] == "setPresence" and "error" not in r[0], r
        assert r[0]["data"]["dndStatus"] == "DoNotAcceptAnyCalls", r
        assert r[1]["error"] == "SMS commands are disabled: set plugin_opt_command_sms true", r
        assert sim.call("GET", "/_sim/sms")["sms"] == []


def test_acl_refuses_a_client_without_access():
    with Sim() as sim:
        broker = Broker(opts(sim, command_sms="true", sms_from=SMS_FROM))
        users = {"ringcentral-reader": "reader-pw-1", "ringcentral-admin": "admin-pw-2"}
        use_acl_recipe(broker, users)
        with broker, \
                Client(broker.port, username="ringcentral-admin", password=users["ringcentral-admin"],
                       subscribe=(CMD + "#",)) as admin, \
                Client(broker.port, username="ringcentral-reader", password=users["ringcentral-reader"],
                       subscribe=("ringcentral/#",)) as reader:
            wait_until(lambda: sim.live_subscriptions(), 30, "a live subscription")
            assert reader.send(SMS_CMD, {"to": "+15559870001", "text": "reader"}) == NOT_AUTHORIZED
            assert admin.send(SMS_CMD, {"to": "+15559870001", "text": "admin secret"}) == 0
            a = admin.answer(SMS_CMD + "/response")
            assert "error" not in a, a
            assert [s["subject"] for s in sim.call("GET", "/_sim/sms")["sms"]] == ["admin secret"]
            # The reader's subscription to ringcentral/# does not get the command topics:
            # a message the plugin publishes afterwards arrives, the SMS text never did.
            sim.notify("/restapi/v1.0/account/~/extension/%s/presence?detailedTelephonyState=true"
                       % OWNER, {"telephonyStatus": "NoCall"})
            with reader.cond:
                assert reader.cond.wait_for(lambda: any("/presence" in t for t, _, _ in reader.messages), 30)
                assert not [m for m in reader.messages if m[0].startswith(CMD)], reader.messages


if __name__ == "__main__":
    run_tests([test_presence, test_disabled_kinds_are_refused, test_sms, test_rate_limited,
               test_button_recreates_the_subscription, test_same_commands_on_the_control_api,
               test_acl_refuses_a_client_without_access])
