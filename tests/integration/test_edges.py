"""test_edges.py - server input at the edges, with the real broker and the simulator.

What the server (or anything posing as it) sends must not steer the plugin outside its
lane: an event naming the plugin's own topics is dropped under its own cause, a gateway
address without TLS is refused before any connection, absurd lifetimes do not make the
plugin log in again and again, over-long uuids are dropped, and server text reaches the
log escaped. Each behaviour runs for both transports where it applies; every wait is on an
MQTT message, a log line or a simulator query, each with a deadline."""
import json
import re
import time

from harness import (Broker, MqttWatcher, Sim, plugin_opts, run_tests, wait_until,
                     websocket_opts)

PRESENCE_EVENT = "/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true"
PRESENCE_TOPIC = "ringcentral/account/~/extension/401550809004/presence"
TRANSPORTS = (("pubnub", plugin_opts), ("websocket", websocket_opts))


def live_subscription(sim, timeout=20):
    """The id of the one live subscription, once there is one."""
    subs = wait_until(lambda: sim.live_subscriptions(), timeout, "a live subscription")
    return subs[0]["id"]


def drop_count(watcher, cause):
    status = watcher.last_status()
    return (status or {}).get("drop_causes", {}).get(cause, 0)


# ---- 5: the plugin's own topics -----------------------------------------------------------
RESERVED_EVENTS = ("/restapi/v1.0/bridge/state", "https://host/restapi/v1.0/bridge/status?x=1",
                   "/restapi/v1.0/bridge")


def check_reserved_events_dropped(name, opts):
    with Sim() as sim, Broker(opts(sim)) as broker, MqttWatcher(broker.port) as w:
        w.wait_state("ringcentral", "online", 30)
        sid = live_subscription(sim)
        for event in RESERVED_EVENTS:
            # Addressed to the subscription: no event filter would ask for these.
            sim.notify(event, body={"forged": True}, subscription_id=sid)
        sim.notify(PRESENCE_EVENT, body={"after": True})
        w.wait_for(lambda ms: any(m.topic == PRESENCE_TOPIC for m in ms), 20,
                   "the ordinary event after the forged ones (%s)" % name)
        w.wait_status(lambda s: s.get("drop_causes", {}).get("topic_reserved") == 3, 20,
                      what="topic_reserved = 3 (%s)" % name)
        # The plugin's own topics only ever carry the plugin's own messages.
        for m in w.on_topic("ringcentral/bridge"):
            if m.topic == "ringcentral/bridge/state":
                assert m.payload in (b"online", b"offline"), (name, m.payload)
            else:
                assert m.topic == "ringcentral/bridge/status", (name, m.topic)
                assert "forged" not in m.payload.decode(), (name, m.payload)
        assert re.search(r"ringcentral: skipped \d+ notification\(s\): topic_reserved event=",
                         broker.log_text()), name


def test_reserved_topics_dropped_pubnub():
    check_reserved_events_dropped(*TRANSPORTS[0])


def test_reserved_topics_dropped_websocket():
    check_reserved_events_dropped(*TRANSPORTS[1])


def test_reserved_topic_map_refused_at_start():
    with Sim() as sim:
        for tmpl in ("ringcentral/bridge/{ext}", "{acc}/bridge/state", "$SYS/{ext}"):
            b = Broker(plugin_opts(sim, topic_map="/restapi/v1.0/account/{acc}/extension/{ext}/presence "
                                   + tmpl))
            try:
                code = b.start(expect_running=False)
                assert code != 0, tmpl
                with open(b.stderr_path) as f:
                    lines = [l for l in b.log_text().splitlines() + f.read().splitlines()
                             if "ringcentral: Error" in l]
                assert len(lines) == 1 and "plugin_opt_topic_map" in lines[0], (tmpl, lines)
            finally:
                b.stop()


# ---- 6: the gateway address must use TLS ---------------------------------------------------
def test_plain_ws_gateway_refused():
    with Sim() as sim:
        sim.config(ws_uri="ws://gateway.invalid/")
        with Broker(websocket_opts(sim)) as broker, MqttWatcher(broker.port) as w:
            broker.wait_log(r"wstoken failed: (unreadable wstoken answer|wstoken answer refused: "
                            r"gateway uri 'ws://gateway\.invalid/' ws:// is only allowed)", 30)
            # Time for a connection attempt (and a second wstoken call) to show if any.
            wait_until(lambda: len(sim.requests("POST", "/restapi/oauth/wstoken")) >= 2, 20,
                       "the wstoken call to be retried")
            assert not sim.requests("WS"), sim.requests("WS")
            log = broker.log_text()
            mentions = [l for l in log.splitlines() if "gateway.invalid" in l]
            assert all("refused" in l for l in mentions), mentions
            assert w.last_status()["state"] == "offline"
            # The same server handing out its own wss:// gateway again: the plugin connects.
            sim.config(ws_uri=None)
            w.wait_state("ringcentral", "online", 60)


# ---- 7: lifetimes from the server are bounded ----------------------------------------------
LONG_MAX = 2 ** 63 - 1


def check_huge_lifetimes_do_not_loop(name, opts):
    with Sim() as sim:
        sim.config(access_token_ttl=LONG_MAX, refresh_token_ttl=LONG_MAX, ws_token_ttl=LONG_MAX)
        with Broker(opts(sim)) as broker, MqttWatcher(broker.port) as w:
            w.wait_state("ringcentral", "online", 30)
            sim.notify(PRESENCE_EVENT, body={"n": 1})
            w.wait_for(lambda ms: any(m.topic == PRESENCE_TOPIC for m in ms), 20,
                       "a notification (%s)" % name)
            # A token taken for expired at once is fetched again at once, and again: a few
            # seconds show a loop as dozens of calls.
            time.sleep(4)
            logins = sim.requests("POST", "/restapi/oauth/token")
            assert len(logins) == 1, (name, len(logins))
            assert len(sim.requests("POST", "/restapi/oauth/wstoken")) <= 1, name
            assert w.last_status()["state"] == "online", name
            assert re.search(r"login ok, token valid for 316224000 s", broker.log_text()), name


def test_huge_lifetimes_do_not_loop_pubnub():
    check_huge_lifetimes_do_not_loop(*TRANSPORTS[0])


def test_huge_lifetimes_do_not_loop_websocket():
    check_huge_lifetimes_do_not_loop(*TRANSPORTS[1])


# ---- 8: de-duplication input is bounded --------------------------------------------------
def check_long_uuid_dropped(name, opts):
    with Sim() as sim, Broker(opts(sim)) as broker, MqttWatcher(broker.port) as w:
        w.wait_state("ringcentral", "online", 30)
        long_uuid = "u" * 129 + "-" * 4000     # well past the 128-byte cap
        plaintext = json.dumps({"uuid": long_uuid, "event": PRESENCE_EVENT, "body": {"n": "long"}},
                               separators=(",", ":"))
        sim.call("POST", "/_sim/notify", {"plaintext": plaintext})
        sim.notify(PRESENCE_EVENT, body={"n": "ok"})
        w.wait_for(lambda ms: any(m.topic == PRESENCE_TOPIC for m in ms), 20,
                   "the ordinary notification (%s)" % name)
        w.wait_status(lambda s: s.get("drop_causes", {}).get("uuid_too_long") == 1, 20,
                      what="uuid_too_long = 1 (%s)" % name)
        published = [m.json()["body"]["n"] for m in w.on_topic(PRESENCE_TOPIC)]
        assert published == ["ok"], (name, published)
        assert re.search(r"ringcentral: skipped 1 notification\(s\): uuid_too_long",
                         broker.log_text()), name
        assert long_uuid not in broker.log_text(), name


def test_long_uuid_dropped_pubnub():
    check_long_uuid_dropped(*TRANSPORTS[0])


def test_long_uuid_dropped_websocket():
    check_long_uuid_dropped(*TRANSPORTS[1])


# ---- 9: server text in the log ------------------------------------------------------------
FORGED_EVENT = "/restapi/v1.0/x/\x1b[2J\nringcentral: FORGED line \u202e"


def check_server_text_escaped(name, opts):
    with Sim() as sim, Broker(opts(sim)) as broker, MqttWatcher(broker.port) as w:
        w.wait_state("ringcentral", "online", 30)
        sim.notify(FORGED_EVENT, subscription_id=live_subscription(sim))
        w.wait_status(lambda s: s.get("drop_causes", {}).get("topic_bad_utf8") == 1, 20,
                      what="topic_bad_utf8 = 1 (%s)" % name)
        line = broker.wait_log(r"skipped 1 notification\(s\): topic_bad_utf8 event=.*")
        assert line.group(0).endswith(
            r"event=/restapi/v1.0/x/\x1b[2J\nringcentral: FORGED line \xe2\x80\xae"), \
            (name, line.group(0))
        log = broker.log_text()
        assert "\x1b" not in log and "\u202e" not in log, name
        assert not any(l.split(": ", 1)[-1].startswith("ringcentral: FORGED")
                       for l in log.splitlines()), name


def test_server_text_escaped_in_log_pubnub():
    check_server_text_escaped(*TRANSPORTS[0])


def test_server_text_escaped_in_log_websocket():
    check_server_text_escaped(*TRANSPORTS[1])


if __name__ == "__main__":
    run_tests([
        test_reserved_topics_dropped_pubnub,
        test_reserved_topics_dropped_websocket,
        test_reserved_topic_map_refused_at_start,
        test_plain_ws_gateway_refused,
        test_huge_lifetimes_do_not_loop_pubnub,
        test_huge_lifetimes_do_not_loop_websocket,
        test_long_uuid_dropped_pubnub,
        test_long_uuid_dropped_websocket,
        test_server_text_escaped_in_log_pubnub,
        test_server_text_escaped_in_log_websocket,
    ])
