"""test_delivery.py - notifications reach MQTT subscribers exactly as sent.

Real broker + plugin + simulator over TLS; a real MQTT v5 client checks topics, byte-exact
payloads, properties, the status topics, topic_map, the body payload mode, both OAuth
grants, and that malformed notifications are counted and skipped while later ones flow."""
import re

from harness import (MESSAGE_FILTER, PRESENCE_FILTER, SIM_CREDENTIALS, Broker, MqttWatcher,
                     Sim, plugin_opts, run_tests, wait_until)

PRESENCE_EVENT = "/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true"
MESSAGE_EVENT = "/restapi/v1.0/account/~/extension/823476228762/message-store"


def test_byte_exact_delivery_with_properties():
    with Sim() as sim, Broker(plugin_opts(sim)) as broker, MqttWatcher(broker.port) as w:
        w.wait_state("ringcentral", "online")
        sent_p = sim.notify(PRESENCE_EVENT, {"telephonyStatus": "Ringing", "extensionId": "401550809004"})
        sent_m = sim.notify(MESSAGE_EVENT, {"changes": [{"type": "SMS", "newCount": 1}],
                                            "text": "caf\u00e9 \u2603 \\/ \"q\""})
        assert len(sent_p) == 1 and len(sent_m) == 1
        for sent, topic in ((sent_p[0], "ringcentral/account/~/extension/401550809004/presence"),
                            (sent_m[0], "ringcentral/account/~/extension/823476228762/message-store")):
            got = w.wait_for(lambda ms: [m for m in ms if m.topic == topic], what=topic)[0]
            assert got.payload == sent["plaintext"].encode(), (got.payload, sent["plaintext"])
            assert got.content_type == "application/json"
            assert got.user_properties["uuid"] == sent["uuid"]
            assert got.user_properties["subscriptionId"] == sent["subscription_id"]
            assert got.user_properties["event"] in (PRESENCE_EVENT, MESSAGE_EVENT)
            assert got.retain is False and got.qos == 1
        status = w.wait_status(lambda s: s["published"] >= 2, what="published >= 2")
        assert status["state"] == "online" and status["transport"] == "pubnub"
        assert status["subscription_id"] == sent_p[0]["subscription_id"]
        assert status["expiration_time"].endswith("Z")
        assert sorted(status["event_filters"]) == sorted([PRESENCE_FILTER, MESSAGE_FILTER])
        assert status["received"] == 2 and status["dropped"] == 0
        assert status["last_error"] is None
        for key in ("duplicates", "decrypt_errors", "renewals", "recreations"):
            assert status[key] == 0, key
        # The POST asked for PubNub delivery with encryption and the configured lifetime.
        assert len(sim.requests("POST", "/restapi/v1.0/subscription")) == 1


def test_topic_map_body_payload_qos_retain_prefix():
    opts = plugin_opts(sim_holder[0], topic_prefix="home/rc", payload="body", qos=0, retain="true",
                       topic_map=["/restapi/v1.0/account/{account}/extension/{ext}/presence "
                                  "home/phone/{ext}/presence"])
    sim = sim_holder[0]
    with Broker(opts) as broker, MqttWatcher(broker.port) as w:
        w.wait_state("home/rc", "online")
        sim.notify(PRESENCE_EVENT, {"telephonyStatus": "CallConnected"})
        sim.notify(MESSAGE_EVENT, {"n": 1})
        p = w.wait_for(lambda ms: [m for m in ms if m.topic == "home/phone/401550809004/presence"])[0]
        assert p.json() == {"telephonyStatus": "CallConnected"}
        assert p.qos == 0
        # retain true: a client subscribing later gets the last one, flagged retained.
        with MqttWatcher(broker.port, "home/phone/#") as late:
            r = late.wait_for(lambda ms: ms, what="the retained presence")[0]
            assert r.retain is True and r.json() == {"telephonyStatus": "CallConnected"}
        m = w.wait_for(lambda ms: [m for m in ms
                                   if m.topic == "home/rc/account/~/extension/823476228762/message-store"])[0]
        assert m.json() == {"n": 1}


def test_password_grant():
    sim = sim_holder[0]
    opts = plugin_opts(sim, jwt=None, username=SIM_CREDENTIALS["username"],
                       extension=SIM_CREDENTIALS["extension"], password=SIM_CREDENTIALS["password"])
    with Broker(opts) as broker, MqttWatcher(broker.port) as w:
        w.wait_state("ringcentral", "online")
        sent = sim.notify(PRESENCE_EVENT, {"x": 1})
        w.wait_for(lambda ms: [m for m in ms if m.user_properties.get("uuid") == sent[0]["uuid"]])


def test_malformed_notifications_are_counted_and_skipped():
    sim = sim_holder[0]
    with Broker(plugin_opts(sim)) as broker, MqttWatcher(broker.port) as w:
        w.wait_state("ringcentral", "online")
        bad = [
            {"raw": "***not base64***"},
            {"raw": "QUJD"},                                  # 3 bytes: not whole AES blocks
            {"raw": "A" * 22 + "=="},                         # 16 bytes of zeros: bad padding
            {"plaintext": "not json at all"},
            {"plaintext": '{"event":"/restapi/v1.0/x","body":{}}'},          # no uuid
            {"plaintext": '{"uuid":"u-1","body":{}}'},                        # no event
            {"plaintext": '{"uuid":"u-2","event":"/restapi/v1.0/a/+/b","body":{}}'},
            {"plaintext": '{"uuid":"u-3","event":"/restapi/v1.0/a/#","body":{}}'},
            {"plaintext": '{"uuid":"u-4","event":"/restapi/v1.0/a/../b","body":{}}'},
            {"plaintext": '{"uuid":"u-5","event":"/restapi/v1.0/a\\u0000b","body":{}}'},
            {"plaintext": '{"uuid":"u-6","event":"/restapi/v1.0/' + "x" * 70000 + '","body":{}}'},
        ]
        for b in bad:
            sim.call("POST", "/_sim/notify", dict(b, event=PRESENCE_EVENT))
        good = sim.notify(PRESENCE_EVENT, {"ok": True})
        w.wait_for(lambda ms: [m for m in ms if m.user_properties.get("uuid") == good[0]["uuid"]],
                   what="the good notification after the bad ones")
        status = w.wait_status(lambda s: s["received"] == len(bad) + 1, what="all counted")
        causes = status["drop_causes"]
        assert status["dropped"] == len(bad), status
        assert status["published"] == 1, status
        assert status["decrypt_errors"] == 3, status
        for cause, n in (("bad_base64", 1), ("bad_length", 1), ("bad_padding", 1), ("not_json", 1),
                         ("no_uuid", 1), ("no_event", 1), ("topic_wildcard", 2),
                         ("topic_dot_level", 1), ("topic_nul", 1), ("too_large", 1)):
            assert causes.get(cause) == n, (cause, causes)
        # Logged once per cause, not once per notification.
        log = broker.log_text()
        assert log.count("skipped 1 notification(s): topic_wildcard") == 1
        assert "skipped" in log


def test_duplicates_are_suppressed():
    sim = sim_holder[0]
    with Broker(plugin_opts(sim)) as broker, MqttWatcher(broker.port) as w:
        w.wait_state("ringcentral", "online")
        text = '{"uuid":"dup-1","event":"%s","body":{"n":1}}' % PRESENCE_EVENT
        sim.call("POST", "/_sim/notify", {"plaintext": text, "event": PRESENCE_EVENT})
        sim.call("POST", "/_sim/notify", {"plaintext": text, "event": PRESENCE_EVENT})
        last = sim.notify(PRESENCE_EVENT, {"n": 2})
        w.wait_for(lambda ms: [m for m in ms if m.user_properties.get("uuid") == last[0]["uuid"]])
        status = w.wait_status(lambda s: s["received"] == 3)
        assert status["duplicates"] == 1 and status["published"] == 2
        assert len([m for m in w.on_topic("ringcentral/account") if m.user_properties["uuid"] == "dup-1"]) == 1


def test_notification_sent_before_the_first_poll_answer_is_delivered():
    sim = sim_holder[0]
    # The first poll (tt=0) is held for 2 s: a notification sent meanwhile predates the
    # timetoken that poll will answer with, yet must still be delivered.
    sim.fault(match={"method": "GET", "path_prefix": "/v2/subscribe/"}, delay=2, count=1)
    with Broker(plugin_opts(sim)) as broker, MqttWatcher(broker.port) as w:
        wait_until(lambda: sim.live_subscriptions(), 20, "the subscription")
        early = sim.notify(PRESENCE_EVENT, {"early": True})
        assert len(early) == 1
        w.wait_for(lambda ms: [m for m in ms if m.user_properties.get("uuid") == early[0]["uuid"]],
                   20, "the early notification")
        w.wait_state("ringcentral", "online")


def test_disabled_filters_are_logged_and_reported():
    sim = sim_holder[0]
    sim.config(disabled_filters=[MESSAGE_FILTER])
    try:
        with Broker(plugin_opts(sim)) as broker, MqttWatcher(broker.port) as w:
            w.wait_state("ringcentral", "online")
            broker.wait_log("the server disabled event filter " + re.escape(MESSAGE_FILTER))
            status = w.wait_status(lambda s: s["subscription_id"])
            # The status shows the filters the server applied, not the ones asked for.
            assert status["event_filters"] == [PRESENCE_FILTER], status["event_filters"]
    finally:
        sim.config(disabled_filters=[])


sim_holder = []


def with_shared_sim(fn):
    def run():
        with Sim() as sim:
            sim_holder[:] = [sim]
            fn()
    run.__name__ = fn.__name__
    return run


if __name__ == "__main__":
    run_tests([test_byte_exact_delivery_with_properties,
               with_shared_sim(test_topic_map_body_payload_qos_retain_prefix),
               with_shared_sim(test_password_grant),
               with_shared_sim(test_malformed_notifications_are_counted_and_skipped),
               with_shared_sim(test_duplicates_are_suppressed),
               with_shared_sim(test_notification_sent_before_the_first_poll_answer_is_delivered),
               with_shared_sim(test_disabled_filters_are_logged_and_reported)])
