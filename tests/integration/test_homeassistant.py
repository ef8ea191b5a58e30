"""test_homeassistant.py - Home Assistant MQTT discovery with the real broker, the simulator
and a real MQTT client (docs/interface.md, "Home Assistant").

With only `homeassistant true` added to the example configuration's filters, a subscriber
to homeassistant/# gets the bridge device and one device per extension the filters cover;
every config is checked field by field against Home Assistant's discovery schema
(ha_schema.py), every state topic is proved by making the simulator send that kind of
notification and seeing it arrive on a topic the state topic matches, and every value
template is rendered (Jinja2, as Home Assistant does) on what arrived. Configs are re-sent
when Home Assistant announces itself, an extension removed from the filters is cleared,
presence stays retained across a broker restart and call and SMS events are never
retained. Every wait is on an MQTT message or a simulator query, with a deadline."""
import json
import os
import re
import tempfile

import paho.mqtt.client as mqtt

from ha_schema import check_device_config, event_fired, render, topic_matches
from harness import (PRESENCE_FILTER, Broker, MqttWatcher, Sim, read_retained, run_tests,
                     wait_online, wait_until, websocket_opts)

OWNER = "401550809004"
ACCOUNT = "37439510"
SMS_FILTER = "/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS"
# The example configuration's two filters (conf/ringcentral.conf.example).
EXAMPLE_FILTERS = [PRESENCE_FILTER, SMS_FILTER]
BRIDGE_CONFIG = "homeassistant/device/rc_ringcentral_bridge/config"
EXT_CONFIG = "homeassistant/device/rc_ringcentral_ext_%s/config"
STATE = "ringcentral/bridge/state"


def ha_opts(sim, **overrides):
    return websocket_opts(sim, **dict({"event_filter": EXAMPLE_FILTERS, "homeassistant": "true"},
                                      **overrides))


def configs(w, topic, n=1, timeout=30):
    """The last of at least n non-empty messages on topic, parsed."""
    msgs = w.wait_for(lambda ms: len([m for m in ms if m.topic == topic and m.payload]) >= n
                      and [m for m in ms if m.topic == topic and m.payload], timeout,
                      "%d discovery config(s) on %s" % (n, topic))
    return msgs[-1].json()


def named(w, topic, name, timeout=30):
    """The first config on topic whose device is called name (the extension's name comes
    from a REST lookup after the first config, which has the fallback name)."""
    return w.wait_for(lambda ms: next((m.json() for m in ms if m.topic == topic and m.payload
                                       and m.json()["device"]["name"] == name), None),
                      timeout, "a config on %s named %r" % (topic, name))


def publish(port, topic, payload, retain=False):
    c = mqtt.Client(protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port)
    c.loop_start()
    c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)
    c.loop_stop()
    c.disconnect()


def arrived_on(w, state_topic, pred=lambda m: True, what="a message"):
    """The first message whose topic the state topic (an MQTT filter) matches."""
    return w.wait_for(lambda ms: next((m for m in ms if topic_matches(state_topic, m.topic)
                                       and pred(m)), None), 20,
                      "%s on %s" % (what, state_topic))


def presence_body(tel, status="Busy", dnd="TakeAllCalls", calls=()):
    return {"extensionId": OWNER, "telephonyStatus": tel, "presenceStatus": status,
            "userStatus": "Available", "dndStatus": dnd, "meetingStatus": "Disconnected",
            "activeCalls": list(calls)}


RINGING_CALL = {"id": "c-1", "direction": "Inbound", "from": "+15557654321",
                "fromName": "Alice Example", "to": "+15551230000", "telephonyStatus": "Ringing"}


def test_complete_schema_valid_device_set():
    with Sim() as sim, Broker(ha_opts(sim)) as broker, \
            MqttWatcher(broker.port, "#") as w:
        wait_online(w)
        bridge = configs(w, BRIDGE_CONFIG)
        # First with the fallback name, then with the simulator directory's name and
        # number (GET .../extension/{id}); unique_ids stay id-based.
        first = configs(w, EXT_CONFIG % OWNER)
        ext = named(w, EXT_CONFIG % OWNER, "Front Desk")
        assert [m.json()["device"]["name"] for m in w.on_topic(EXT_CONFIG % OWNER)][0] == \
            "Extension %s" % OWNER
        assert ext["device"]["serial_number"] == "101"
        assert {c["unique_id"] for c in ext["components"].values()} == \
            {c["unique_id"] for c in first["components"].values()}
        # Exactly these two devices: the simulator's account has one extension here.
        devices = {m.topic for m in w.on_topic("homeassistant/") if m.payload}
        assert devices == {BRIDGE_CONFIG, EXT_CONFIG % OWNER}, devices

        b = check_device_config(bridge, STATE)
        assert set(b) == {"connectivity", "last_error", "received", "dropped", "transport",
                          "expiration", "resubscribe"}, set(b)
        assert b["connectivity"]["state_topic"] == STATE
        assert (b["connectivity"]["payload_on"], b["connectivity"]["payload_off"]) == \
            ("online", "offline")
        assert b["connectivity"]["device_class"] == "connectivity"
        # Its own command topic (Home Assistant's default payload_press, PRESS): it works
        # without the control API, and an ACL can grant it alone (test_commands.py presses it).
        assert b["resubscribe"]["command_topic"] == "ringcentral/bridge/command/resubscribe"
        assert "payload_press" not in b["resubscribe"]
        status = [m for m in w.on_topic("ringcentral/bridge/status")][-1]
        s = status.json()
        for cid in ("received", "dropped", "transport", "expiration"):
            got = render(b[cid]["value_template"], status.payload)
            want = s[{"expiration": "expiration_time"}.get(cid, cid)]
            assert got == str(want), (cid, got, want)
        assert render(b["last_error"]["value_template"], status.payload) == \
            (s["last_error"] if s["last_error"] is not None else "None")

        e = check_device_config(ext, STATE)
        assert set(e) == {"telephony", "presence", "dnd", "on_call", "incoming_call",
                          "incoming_sms"}, set(e)
        assert ext["device"]["via_device"] in bridge["device"]["identifiers"]
        assert ext["origin"]["name"] == bridge["origin"]["name"] == "mosquitto-ringcentral"
        uids = [c["unique_id"] for c in list(b.values()) + list(e.values())]
        assert len(uids) == len(set(uids)), uids

        # Presence, with the account as RingCentral's documentation writes it (~) and as
        # its number (both are seen): the state topic matches both.
        for acc, body in (("~", presence_body("Ringing", calls=[RINGING_CALL])),
                          (ACCOUNT, presence_body("NoCall", "Available", "DoNotAcceptAnyCalls"))):
            event = ("/restapi/v1.0/account/%s/extension/%s/presence?detailedTelephonyState=true"
                     % (acc, OWNER))
            sim.notify(event, body)
            m = arrived_on(w, e["telephony"]["state_topic"],
                           lambda m, body=body: m.json()["body"] == body, "presence")
            assert m.retain is False     # live delivery; retained only for late subscribers
            tel = body["telephonyStatus"]
            assert render(e["telephony"]["value_template"], m.payload) == tel
            assert render(e["presence"]["value_template"], m.payload) == body["presenceStatus"]
            assert render(e["dnd"]["value_template"], m.payload) == body["dndStatus"]
            assert render(e["on_call"]["value_template"], m.payload) == \
                ("OFF" if tel == "NoCall" else "ON")
            fired = event_fired(e["incoming_call"], m.payload)
            if tel == "Ringing":
                assert fired == ("incoming_call", {"caller_number": "+15557654321",
                                                   "caller_name": "Alice Example"}), fired
            else:
                assert fired is None, fired
        # A presence notification without telephonyStatus keeps the current state.
        sim.notify("/restapi/v1.0/account/~/extension/%s/presence" % OWNER,
                   {"extensionId": OWNER, "presenceStatus": "Available"})
        m = arrived_on(w, e["telephony"]["state_topic"],
                       lambda m: "telephonyStatus" not in m.json()["body"], "partial presence")
        assert render(e["telephony"]["value_template"], m.payload, "CallConnected") == \
            "CallConnected"
        assert render(e["on_call"]["value_template"], m.payload) == ""   # ignored

        sms = {"id": "1000001", "type": "SMS", "direction": "Inbound",
               "from": {"phoneNumber": "+15557654321", "name": "Alice Example"},
               "to": [{"phoneNumber": "+15551230000"}], "subject": "Dinner at 8?"}
        sim.notify("/restapi/v1.0/account/%s/extension/%s/message-store/instant?type=SMS"
                   % (ACCOUNT, OWNER), sms)
        m = arrived_on(w, e["incoming_sms"]["state_topic"], what="an SMS")
        assert event_fired(e["incoming_sms"], m.payload) == (
            "incoming_sms", {"from_number": "+15557654321", "from_name": "Alice Example",
                             "text": "Dinner at 8?"})
        # What the bridge's connectivity reads is what bridge/state carries.
        assert [m.payload.decode() for m in w.on_topic(STATE)][-1] == \
            b["connectivity"]["payload_on"]
        check_examples(b, e, w)
        # Every discovery config is retained (a Home Assistant started later gets it).
        for topic in devices:
            r = read_retained(broker.port, topic)
            assert r is not None and r.json() == (bridge if topic == BRIDGE_CONFIG else ext)


def check_examples(bridge, ext, w):
    """The README's examples work as written: every entity id the Home Assistant examples
    name is one discovery created (object_id = unique_id), and the Node-RED flow's
    subscriptions match the topics the notifications arrived on."""
    root = os.path.join(os.environ.get("RC_SOURCE_DIR", "../.."), "examples")
    entity_ids = {"%s.%s" % (c["platform"], c["unique_id"])
                  for c in list(bridge.values()) + list(ext.values())}
    for name in ("automation-incoming-call.yaml", "presence-card.yaml"):
        with open(os.path.join(root, "homeassistant", name)) as f:
            named = set(re.findall(r"\b(?:sensor|binary_sensor|event|button)\.rc_[a-z0-9_]+", f.read()))
        assert named and named <= entity_ids, (name, named - entity_ids)
    with open(os.path.join(root, "node-red", "ringcentral-flow.json")) as f:
        flow = json.load(f)
    ids = {n["id"] for n in flow}
    assert all(t in ids for n in flow for out in n.get("wires", []) for t in out)
    subs = [n["topic"] for n in flow if n["type"] == "mqtt in"]
    for kind in ("presence", "message-store/instant"):
        assert any(topic_matches(s, m.topic) for s in subs for m in w.on_topic("ringcentral/account/")
                   if m.topic.endswith(kind)), kind


def test_command_entities():
    """With command_presence and command_sms: per extension a DND and a user status select
    on the presence command topic, reading the presence notifications; per sms_notify_to
    number a notify entity on the bridge. A select's pick, published as Home Assistant
    does, changes the simulator's presence, and the notification moves the select."""
    with Sim() as sim, Broker(ha_opts(sim, command_presence="true", command_sms="true",
                                      sms_from="+15551230000",
                                      sms_notify_to="+15559870001")) as broker, \
            MqttWatcher(broker.port, "#") as w:
        wait_online(w)
        b = check_device_config(configs(w, BRIDGE_CONFIG), STATE)
        e = check_device_config(configs(w, EXT_CONFIG % OWNER), STATE)
        n = b["sms_15559870001"]
        assert n["platform"] == "notify" and n["name"] == "SMS to +15559870001", n
        assert n["command_topic"] == "ringcentral/bridge/command/sms/15559870001", n
        dnd, user = e["dnd_select"], e["user_status"]
        assert dnd["platform"] == user["platform"] == "select"
        assert dnd["options"] == ["TakeAllCalls", "DoNotAcceptAnyCalls",
                                  "DoNotAcceptDepartmentCalls", "TakeDepartmentCallsOnly"], dnd
        assert user["options"] == ["Available", "Busy", "Offline"], user
        topic = "ringcentral/bridge/command/presence/" + OWNER
        assert dnd["command_topic"] == user["command_topic"] == topic
        # Home Assistant's select publishes the option as it is.
        publish(broker.port, dnd["command_topic"], "DoNotAcceptAnyCalls")
        m = arrived_on(w, dnd["state_topic"], lambda m: b'DoNotAcceptAnyCalls' in m.payload,
                       "the presence notification")
        assert render(dnd["value_template"], m.payload) == "DoNotAcceptAnyCalls"
        assert render(user["value_template"], m.payload) == "Available"
        # A notification without the field keeps the option; none yet reads as None.
        other = json.dumps({"uuid": "x", "event": "e", "body": {"telephonyStatus": "Ringing"}})
        assert render(dnd["value_template"], other, "TakeAllCalls") == "TakeAllCalls"
        assert render(dnd["value_template"], other, "unknown") == "None"
        # Its notify entity: the message alone, to the number in the topic.
        publish(broker.port, n["command_topic"], "Front door open")
        sms = wait_until(lambda: sim.call("GET", "/_sim/sms")["sms"], 30, "the SMS")
        assert sms[0]["to"] == [{"phoneNumber": "+15559870001"}] and sms[0]["subject"] == \
            "Front door open", sms


def test_resent_when_home_assistant_comes_online():
    with Sim() as sim, Broker(ha_opts(sim)) as broker, \
            MqttWatcher(broker.port, "homeassistant/device/#") as w:
        first = named(w, EXT_CONFIG % OWNER, "Front Desk")
        configs(w, BRIDGE_CONFIG)
        before = len(w.on_topic("homeassistant/device/"))
        n_ext, n_bridge = len(w.on_topic(EXT_CONFIG % OWNER)), len(w.on_topic(BRIDGE_CONFIG))
        publish(broker.port, "homeassistant/status", "online")
        w.wait_for(lambda ms: len([m for m in ms if m.topic == EXT_CONFIG % OWNER]) >= n_ext + 1
                   and len([m for m in ms if m.topic == BRIDGE_CONFIG]) >= n_bridge + 1, 20,
                   "the configs again after homeassistant/status online")
        again = [m for m in w.on_topic(EXT_CONFIG % OWNER)][-1]
        assert again.retain is False and again.json() == first
        # offline is not a reason to publish; the message itself reaches others untouched.
        with MqttWatcher(broker.port, "homeassistant/status") as s:
            publish(broker.port, "homeassistant/status", "offline")
            s.wait_for(lambda ms: [m for m in ms if m.payload == b"offline"], 10,
                       "the status message passed through")
        publish(broker.port, "homeassistant/status", "online")
        w.wait_for(lambda ms: len([m for m in ms if m.topic == EXT_CONFIG % OWNER]) >= n_ext + 2,
                   20, "the configs a third time")
        assert len(w.on_topic("homeassistant/device/")) == before + 4


def test_removed_extension_cleared_on_reload():
    d = tempfile.mkdtemp(prefix="rcha-")
    filters = os.path.join(d, "filters")
    other = "/restapi/v1.0/account/~/extension/101/presence"
    with open(filters, "w") as f:
        f.write("%s\n%s\n%s\n" % (PRESENCE_FILTER, SMS_FILTER, other))
    with Sim() as sim, Broker(ha_opts(sim, event_filter=None, filters_file=filters)) as broker, \
            MqttWatcher(broker.port, "homeassistant/#") as w:
        configs(w, EXT_CONFIG % "101")
        named(w, EXT_CONFIG % OWNER, "Front Desk")
        # 101 is not in the simulator's directory: its lookup fails (404), it keeps its
        # fallback name, and that is logged once.
        broker.wait_log(r"cannot read extension 101's name \(HTTP 404\)")
        with open(filters, "w") as f:
            f.write("%s\n" % PRESENCE_FILTER)      # 101 and the SMS filter go
        broker.sighup()
        cleared = w.wait_for(lambda ms: [m for m in ms if m.topic == EXT_CONFIG % "101"
                                         and not m.payload], 20, "101's config cleared")
        assert cleared[0].retain is False   # live; the broker drops the retained message
        assert read_retained(broker.port, EXT_CONFIG % "101") is None
        ext = w.wait_for(lambda ms: next((m.json() for m in ms if m.topic == EXT_CONFIG % OWNER
                                          and m.payload and "incoming_sms" in m.json()["components"]
                                          and len(m.json()["components"]["incoming_sms"]) == 1),
                                         None), 20, "the config after the reload")
        assert ext["device"]["name"] == "Front Desk"
        # The SMS entity of the extension that stays is removed with a platform-only stub.
        assert ext["components"]["incoming_sms"] == {"platform": "event"}, ext["components"]
        assert "telephony" in ext["components"]
        check_device_config(ext, STATE)


def test_devices_follow_a_control_api_filter_change():
    # The control API changes the filters without a reload: the devices follow all the same.
    from test_control import Control
    other = "/restapi/v1.0/account/~/extension/101/presence"
    with Sim() as sim, Broker(ha_opts(sim, control_api="true")) as broker, \
            MqttWatcher(broker.port, "homeassistant/#") as w, Control(broker.port) as ctl:
        configs(w, EXT_CONFIG % OWNER)
        ctl.one("addEventFilter", eventFilter=other)
        added = configs(w, EXT_CONFIG % "101")
        check_device_config(added, STATE)
        ctl.one("removeEventFilter", eventFilter=other)
        w.wait_for(lambda ms: [m for m in ms if m.topic == EXT_CONFIG % "101" and not m.payload],
                   30, "101's config cleared")


def test_retained_presence_survives_restart_events_do_not():
    d = tempfile.mkdtemp(prefix="rcha-")
    persistence = "persistence true\npersistence_location %s/\nautosave_interval 0\n" % d
    presence_topic = "ringcentral/account/~/extension/%s/presence" % OWNER
    sms_topic = "ringcentral/account/~/extension/%s/message-store/instant" % OWNER
    with Sim() as sim:
        first = Broker(ha_opts(sim), workdir=d, extra_conf=persistence)
        with first, MqttWatcher(first.port, "#") as w:
            wait_online(w)
            # The config once the name is known (the first one has the fallback name).
            before = named(w, EXT_CONFIG % OWNER, "Front Desk")
            sim.notify("/restapi/v1.0/account/~/extension/%s/presence?detailedTelephonyState=true"
                       % OWNER, presence_body("OnHold"))
            sim.notify("/restapi/v1.0/account/~/extension/%s/message-store/instant?type=SMS"
                       % OWNER, {"id": "1", "direction": "Inbound", "subject": "hi"})
            w.wait_for(lambda ms: [m for m in ms if m.topic == sms_topic], 20, "the SMS")
            w.wait_for(lambda ms: [m for m in ms if m.topic == presence_topic], 20, "presence")
            assert read_retained(first.port, sms_topic) is None
        second = Broker(ha_opts(sim), workdir=d, extra_conf=persistence, port=first.port)
        with second:
            r = read_retained(second.port, presence_topic)
            assert r is not None and r.json()["body"]["telephonyStatus"] == "OnHold"
            assert read_retained(second.port, sms_topic) is None
            with MqttWatcher(second.port, "homeassistant/#") as w2:
                # What the restarted plugin publishes itself (not the retained copy the
                # broker kept from before the restart): Home Assistant's birth message
                # makes it send its configs again, delivered live (retain flag clear).
                publish(second.port, "homeassistant/status", "online")
                after = w2.wait_for(lambda ms: next(
                    (m.json() for m in ms if m.topic == EXT_CONFIG % OWNER and m.payload
                     and not m.retain), None), 30, "the restarted plugin's config")
            # unique_ids and the device's identifiers are the same after the restart (the
            # name may still be the fallback if the lookup has not answered yet).
            def ids(c):
                return (c["device"]["identifiers"],
                        {k: v.get("unique_id") for k, v in c["components"].items()})
            assert ids(after) == ids(before), (after, before)
            if after["device"]["name"] == before["device"]["name"]:
                assert after == before


if __name__ == "__main__":
    run_tests([test_complete_schema_valid_device_set, test_command_entities, test_resent_when_home_assistant_comes_online,
               test_removed_extension_cleared_on_reload,
               test_devices_follow_a_control_api_filter_change,
               test_retained_presence_survives_restart_events_do_not])
