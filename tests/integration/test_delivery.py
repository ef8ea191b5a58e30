"""test_delivery.py - notifications reach MQTT subscribers exactly as sent, on both transports.

Real broker + plugin + simulator over TLS; a real MQTT v5 client checks topics, byte-exact
payloads, properties, the status topics (with the version and the times), that every
request names the release (User-Agent, pnsdk), topic_map, the body payload mode, both OAuth
grants, that malformed and duplicate notifications are counted and skipped while later
ones flow, and a burst of 1000 in order. Every test in the shared section runs once per
transport (test_x[pubnub], test_x[websocket]): the plugin must behave alike whether
notifications come by PubNub long-poll (encrypted) or over the WebSocket gateway. Each
also checks that the subscription went the transport's way only (REST + PubNub, or
wstoken + socket). PubNub-only details (timetokens) are in the last section; WebSocket-only
behaviour (ClientRequests over the socket, heartbeats, options) in test_websocket.py.

Run one: /usr/bin/python3 test_delivery.py test_x[websocket]  (or test_x for both)."""
import base64
import datetime
import re
import time

from harness import (MESSAGE_EVENT, MESSAGE_FILTER, MESSAGE_TOPIC, PLUGIN_VERSION,
                     PRESENCE_EVENT, PRESENCE_FILTER, PRESENCE_TOPIC, SIM_CREDENTIALS,
                     SUB_PATH, USER_AGENT, Broker, MqttWatcher, Sim, per_transport,
                     pubnub_calls, rest_subscription_calls, run_tests, transport_opts,
                     uuids_on, wait_online, wait_until, ws_calls)


def iso_seconds(text):
    """A status time (2026-11-28T21:06:39.123Z) as seconds since the epoch."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def every_request_names_the_release(sim, transport):
    """REST calls, the WebSocket upgrade and PubNub polls all carry the User-Agent
    mosquitto-ringcentral/<version>; PubNub polls also say it as pnsdk. (Requests over
    the socket are frames, without headers.)"""
    http = [r for r in sim.requests() if r["method"] != "WS" or r["path"].startswith("CONNECT")]
    assert [r for r in http if r["user_agent"] != USER_AGENT] == [], http
    kinds = {"pubnub": pubnub_calls(sim), "websocket": sim.requests("WS", "CONNECT ")}
    assert kinds[transport], "no %s request to check" % transport
    polls = pubnub_calls(sim)
    assert [r["query"].get("pnsdk") for r in polls] == [USER_AGENT] * len(polls), polls


# ---- what the simulator saw: the subscription went the transport's way only -------------------
def subscribed_over_pubnub_only(sim, status):
    # The POST asked for PubNub delivery with encryption and the configured lifetime.
    assert len(sim.requests("POST", SUB_PATH)) == 1
    subs = sim.subscriptions()
    assert len(subs) == 1 and subs[0]["transport"] == "PubNub", subs
    assert sim.requests("POST", "/restapi/oauth/wstoken") == []
    assert sim.requests("WS") == []


def subscribed_over_the_socket_only(sim, status):
    # The subscription is the gateway's, made over the socket with both filters.
    subs = sim.subscriptions()
    assert len(subs) == 1 and subs[0]["transport"] == "WebSocket", subs
    assert subs[0]["id"] == status["subscription_id"]
    assert sorted(subs[0]["filters"]) == sorted([PRESENCE_FILTER, MESSAGE_FILTER])
    # One wstoken, one plain connect with it, one POST over the socket; nothing else.
    wstokens = sim.requests("POST", "/restapi/oauth/wstoken")
    assert [r["status"] for r in wstokens] == [200], wstokens
    conns = sim.requests("WS", "CONNECT ")
    assert [(r["status"], r["query"]) for r in conns] == [(101, {})], conns
    assert [r["status"] for r in ws_calls(sim, "POST")] == [200], ws_calls(sim, "POST")
    for method in ("PUT", "DELETE"):
        assert ws_calls(sim, method) == [], method
    assert rest_subscription_calls(sim) == [], rest_subscription_calls(sim)
    assert pubnub_calls(sim) == [], pubnub_calls(sim)
    assert len(sim.ws_connections()["connections"]) == 1


SUBSCRIBED_ONLY_VIA = {"pubnub": subscribed_over_pubnub_only,
                       "websocket": subscribed_over_the_socket_only}


# ---- shared: both transports --------------------------------------------------------------------
@per_transport()
def test_byte_exact_delivery_with_properties(transport):
    with Sim() as sim, Broker(transport_opts(sim, transport)) as broker, \
            MqttWatcher(broker.port) as w:
        first = wait_online(w)
        # The version CMakeLists.txt defines, in the start-up line and the status; no
        # notification yet.
        broker.wait_log(r"ringcentral: started \(version %s, %s transport, server "
                        % (re.escape(PLUGIN_VERSION), transport))
        assert first["version"] == PLUGIN_VERSION, first
        assert first["last_notification_at"] is None, first
        sent_before = time.time()
        sent_p = sim.notify(PRESENCE_EVENT, {"telephonyStatus": "Ringing", "extensionId": "401550809004"})
        sent_m = sim.notify(MESSAGE_EVENT, {"changes": [{"type": "SMS", "newCount": 1}],
                                            "text": "caf\u00e9 \u2603 \\/ \"q\" \ud83d\ude00"})
        assert len(sent_p) == 1 and len(sent_m) == 1, (sent_p, sent_m)
        for sent, topic, event in ((sent_p[0], PRESENCE_TOPIC, PRESENCE_EVENT),
                                   (sent_m[0], MESSAGE_TOPIC, MESSAGE_EVENT)):
            got = w.wait_for(lambda ms: [m for m in ms if m.topic == topic], what=topic)[0]
            assert got.payload == sent["plaintext"].encode(), (got.payload, sent["plaintext"])
            assert got.content_type == "application/json"
            assert got.user_properties["uuid"] == sent["uuid"]
            assert got.user_properties["subscriptionId"] == sent["subscription_id"]
            assert got.user_properties["event"] == event
            assert got.retain is False and got.qos == 1
        status = w.wait_status(lambda s: s["published"] >= 2, what="published >= 2")
        status_seen = time.time()
        assert status["state"] == "online" and status["transport"] == transport, status
        # Handed over after they were sent, before the status saying so was rendered (and
        # received); the times are the broker host's wall clock, in milliseconds.
        started, last, updated = (iso_seconds(status[k]) for k in (
            "started_at", "last_notification_at", "updated_at"))
        assert started <= sent_before and sent_before - 0.001 <= last <= updated <= status_seen, \
            (status, sent_before, status_seen)
        assert status["version"] == PLUGIN_VERSION and status["started_at"] == first["started_at"]
        every_request_names_the_release(sim, transport)
        assert status["subscription_id"] == first["subscription_id"] == sent_p[0]["subscription_id"]
        assert status["expiration_time"].endswith("Z")
        assert sorted(status["event_filters"]) == sorted([PRESENCE_FILTER, MESSAGE_FILTER])
        assert status["received"] == 2 and status["dropped"] == 0, status
        assert status["last_error"] is None, status["last_error"]
        for key in ("duplicates", "decrypt_errors", "renewals", "recreations", "reconnects",
                    "recoveries", "recovery_failures"):
            assert status.get(key) == 0, (key, status)
        SUBSCRIBED_ONLY_VIA[transport](sim, status)


@per_transport()
def test_topic_map_body_payload_qos_retain_prefix(transport):
    with Sim() as sim:
        opts = transport_opts(sim, transport, topic_prefix="home/rc", payload="body", qos=0,
                              retain="true",
                              topic_map=["/restapi/v1.0/account/{account}/extension/{ext}/presence "
                                         "home/phone/{ext}/presence"])
        with Broker(opts) as broker, MqttWatcher(broker.port) as w:
            status = wait_online(w, "home/rc")
            assert status["transport"] == transport
            sim.notify(PRESENCE_EVENT, {"telephonyStatus": "CallConnected"})
            sim.notify(MESSAGE_EVENT, {"n": 1})
            p = w.wait_for(lambda ms: [m for m in ms
                                       if m.topic == "home/phone/401550809004/presence"])[0]
            assert p.json() == {"telephonyStatus": "CallConnected"}, p.payload
            assert p.qos == 0
            # retain true: a client subscribing later gets the last one, flagged retained.
            with MqttWatcher(broker.port, "home/phone/#") as late:
                r = late.wait_for(lambda ms: ms, what="the retained presence")[0]
                assert r.retain is True and r.json() == {"telephonyStatus": "CallConnected"}
            m = w.wait_for(lambda ms: [m for m in ms
                                       if m.topic == "home/rc/account/~/extension/823476228762/message-store"])[0]
            assert m.json() == {"n": 1} and m.qos == 0
            # Nothing under the default prefix.
            assert w.on_topic("ringcentral/") == []


@per_transport()
def test_password_grant(transport):
    with Sim() as sim:
        opts = transport_opts(sim, transport, jwt=None, username=SIM_CREDENTIALS["username"],
                              extension=SIM_CREDENTIALS["extension"],
                              password=SIM_CREDENTIALS["password"])
        with Broker(opts) as broker, MqttWatcher(broker.port) as w:
            w.wait_state("ringcentral", "online")
            sent = sim.notify(PRESENCE_EVENT, {"x": 1})
            w.wait_for(lambda ms: [m for m in ms if m.user_properties.get("uuid") == sent[0]["uuid"]])


# Malformed notifications both transports see the same way: (what /_sim/notify is given,
# the drop cause the plugin counts). Over PubNub "plaintext" is encrypted as given; over
# WebSocket it is embedded in the frame verbatim, so malformed text makes a malformed frame.
MALFORMED = [
    ({"plaintext": "not json at all"}, "not_json"),
    ({"plaintext": '{"event":"/restapi/v1.0/x","body":{}}'}, "no_uuid"),
    ({"plaintext": '{"uuid":"u-1","body":{}}'}, "no_event"),
    ({"plaintext": '{"uuid":"u-2","event":"/restapi/v1.0/a/+/b","body":{}}'}, "topic_wildcard"),
    ({"plaintext": '{"uuid":"u-3","event":"/restapi/v1.0/a/#","body":{}}'}, "topic_wildcard"),
    ({"plaintext": '{"uuid":"u-4","event":"/restapi/v1.0/a/../b","body":{}}'}, "topic_dot_level"),
    ({"plaintext": '{"uuid":"u-5","event":"/restapi/v1.0/a\\u0000b","body":{}}'}, "topic_nul"),
    ({"plaintext": '{"uuid":"u-6","event":"/restapi/v1.0/' + "x" * 70000 + '","body":{}}'},
     "too_large"),
]
# And what only one transport can get wrong: PubNub's encrypted payload ("raw" is the
# base64 ciphertext), WebSocket's frame body ("raw" arrives as a JSON string).
MALFORMED_ONLY = {
    "pubnub": [
        ({"raw": "***not base64***"}, "bad_base64"),
        ({"raw": "QUJD"}, "bad_length"),                  # 3 bytes: not whole AES blocks
        ({"raw": "bad padding"}, "bad_padding"),         # made with the key: see below
    ],
    "websocket": [
        ({"raw": "just a string"}, "not_object"),
    ],
}
DECRYPT_CAUSES = ("bad_base64", "bad_length", "bad_padding")


def bad_padding_block(sim):
    """One AES block that decrypts, with the subscription's key, to a last byte of 0: never
    valid PKCS#7 padding (a block of zeros decrypts to random bytes, which end in a valid
    pad about once in 256 runs)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    key = base64.b64decode(sim.live_subscriptions()[0]["encryptionKey"])
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return base64.b64encode(enc.update(b"x" * 15 + b"\x00") + enc.finalize()).decode()


@per_transport()
def test_malformed_notifications_are_counted_and_skipped(transport):
    bad = MALFORMED_ONLY[transport] + MALFORMED
    with Sim() as sim, Broker(transport_opts(sim, transport)) as broker, \
            MqttWatcher(broker.port) as w:
        w.wait_state("ringcentral", "online")
        for req, _ in bad:
            if req.get("raw") == "bad padding":
                req = {"raw": bad_padding_block(sim)}
            sim.call("POST", "/_sim/notify", dict(req, event=PRESENCE_EVENT))
        dup = '{"uuid":"dup-1","event":"%s","body":{"n":1}}' % PRESENCE_EVENT
        for _ in range(2):
            sim.call("POST", "/_sim/notify", {"plaintext": dup, "event": PRESENCE_EVENT})
        good = sim.notify(PRESENCE_EVENT, {"ok": True})
        w.wait_for(lambda ms: good[0]["uuid"] in uuids_on(w),
                   what="the good notification after the bad ones")
        status = w.wait_status(lambda s: s["received"] == len(bad) + 3, what="all counted")
        assert status["state"] == "online" and status["reconnects"] == 0, status
        assert status["dropped"] == len(bad) and status["duplicates"] == 1, status
        assert status["published"] == 2, status
        expected = {}
        for _, cause in bad:
            expected[cause] = expected.get(cause, 0) + 1
        assert status["drop_causes"] == expected, (status["drop_causes"], expected)
        assert status["decrypt_errors"] == len([c for _, c in bad if c in DECRYPT_CAUSES]), status
        assert uuids_on(w) == ["dup-1", good[0]["uuid"]]
        # Logged once per cause, not once per notification.
        log = broker.log_text()
        assert log.count("skipped 1 notification(s): topic_wildcard") == 1, log[-3000:]
        assert "skipped" in log


@per_transport()
def test_duplicates_are_suppressed(transport):
    with Sim() as sim, Broker(transport_opts(sim, transport)) as broker, \
            MqttWatcher(broker.port) as w:
        w.wait_state("ringcentral", "online")
        text = '{"uuid":"dup-1","event":"%s","body":{"n":1}}' % PRESENCE_EVENT
        sim.call("POST", "/_sim/notify", {"plaintext": text, "event": PRESENCE_EVENT})
        sim.call("POST", "/_sim/notify", {"plaintext": text, "event": PRESENCE_EVENT})
        last = sim.notify(PRESENCE_EVENT, {"n": 2})
        w.wait_for(lambda ms: [m for m in ms if m.user_properties.get("uuid") == last[0]["uuid"]])
        status = w.wait_status(lambda s: s["received"] == 3)
        assert status["duplicates"] == 1 and status["published"] == 2
        assert len([m for m in w.on_topic("ringcentral/account") if m.user_properties["uuid"] == "dup-1"]) == 1


@per_transport()
def test_disabled_filters_are_logged_and_reported(transport):
    with Sim() as sim:
        sim.config(disabled_filters=[MESSAGE_FILTER])
        with Broker(transport_opts(sim, transport)) as broker, MqttWatcher(broker.port) as w:
            w.wait_state("ringcentral", "online")
            broker.wait_log("the server disabled event filter " + re.escape(MESSAGE_FILTER))
            status = w.wait_status(lambda s: s["subscription_id"])
            # The status shows the filters the server applied, not the ones asked for.
            assert status["event_filters"] == [PRESENCE_FILTER], status["event_filters"]


@per_transport()
def test_burst_of_1000_arrives_once_and_in_order(transport):
    with Sim() as sim, Broker(transport_opts(sim, transport),
                              extra_conf="max_queued_messages 0") as b, \
            MqttWatcher(b.port, "ringcentral/account/#") as w, \
            MqttWatcher(b.port, "ringcentral/bridge/#") as st:
        wait_online(st)
        start = time.monotonic()
        sent = sim.notify(PRESENCE_EVENT, {"telephonyStatus": "NoCall"}, count=1000)
        assert len(sent) == 1000
        w.wait_for(lambda ms: len(ms) >= 1000, 60, "1000 notifications")
        took = max(m.received_at for m in w.messages) - start
        assert [m.user_properties["uuid"] for m in w.messages] == [d["uuid"] for d in sent]
        by_uuid = {d["uuid"]: d["plaintext"].encode() for d in sent}
        assert all(m.payload == by_uuid[m.user_properties["uuid"]] for m in w.messages)
        status = st.wait_status(lambda s: s["published"] == 1000, what="1000 published")
        assert status["dropped"] == 0 and status["duplicates"] == 0
        print("%s burst: 1000 in %.2fs" % (transport, took))


# ---- PubNub only --------------------------------------------------------------------------------
@per_transport("pubnub")
def test_notification_sent_before_the_first_poll_answer_is_delivered(transport):
    with Sim() as sim:
        # The first poll (tt=0) is held for 2 s: a notification sent meanwhile predates the
        # timetoken that poll will answer with, yet must still be delivered.
        sim.fault(match={"method": "GET", "path_prefix": "/v2/subscribe/"}, delay=2, count=1)
        with Broker(transport_opts(sim, transport)) as broker, MqttWatcher(broker.port) as w:
            wait_until(lambda: sim.live_subscriptions(), 20, "the subscription")
            early = sim.notify(PRESENCE_EVENT, {"early": True})
            assert len(early) == 1
            w.wait_for(lambda ms: [m for m in ms if m.user_properties.get("uuid") == early[0]["uuid"]],
                       20, "the early notification")
            w.wait_state("ringcentral", "online")


if __name__ == "__main__":
    run_tests([test_byte_exact_delivery_with_properties,
               test_topic_map_body_payload_qos_retain_prefix,
               test_password_grant,
               test_malformed_notifications_are_counted_and_skipped,
               test_duplicates_are_suppressed,
               test_disabled_filters_are_logged_and_reported,
               test_burst_of_1000_arrives_once_and_in_order,
               test_notification_sent_before_the_first_poll_answer_is_delivered])
