"""test_websocket.py - notifications over WebSocket delivery (plugin_opt_transport websocket).

The WebSocket counterpart of test_delivery.py and of the connection faults of
test_faults.py: real broker + plugin + the simulator's gateway (tests/sim/wsg.py) over TLS,
real MQTT v5 clients. It checks that the plugin subscribes over the socket only (wstoken,
CONNECT, a POST ClientRequest; no REST subscription calls, no PubNub), that notifications
are republished byte for byte with the same topics and properties as over PubNub, that
SIGHUP and shutdown go over the socket (PUT, DELETE), the new options, and that a dropped,
silent, stalled, idle-closed or expired connection is replaced with a recovery: every
notification arrives once and in order, on the same subscription; a refused recovery
subscribes again. (Gateway certificate, outage past the recovery window, server-side
deletion and wstoken errors are in test_websocket_faults.py; the 5000-event burst in
test_burst.py.)

The simulator records socket events in its request log with method "WS": "CONNECT /ws"
(its query holds recoveryState on recovery attempts), "<METHOD> <path>" per ClientRequest
and "Heartbeat". Every wait is on an MQTT message, a log line or a simulator query, each
with a deadline."""
import os
import re
import tempfile
import threading
import time

from harness import (MESSAGE_FILTER, PRESENCE_FILTER, Broker, MqttWatcher, Sim, run_tests,
                     wait_until, websocket_opts)

PRESENCE_EVENT = "/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true"
MESSAGE_EVENT = "/restapi/v1.0/account/~/extension/823476228762/message-store"
PRESENCE_TOPIC = "ringcentral/account/~/extension/401550809004/presence"
MESSAGE_TOPIC = "ringcentral/account/~/extension/823476228762/message-store"
SUB_PATH = "/restapi/v1.0/subscription"


# ---- what the simulator saw ---------------------------------------------------------------
def connects(sim):
    """WebSocket connections the gateway accepted (upgrade done), in order."""
    return [r for r in sim.requests("WS", "CONNECT ") if r["status"] == 101]


def recovery_connects(sim, state="Successful"):
    return [r for r in connects(sim) if r["query"].get("recoveryState") == state]


def ws_calls(sim, method):
    """ClientRequests of one method on the subscription resource, over the socket."""
    return sim.requests("WS", "%s %s" % (method, SUB_PATH))


def rest_subscription_calls(sim):
    """Any REST request on /restapi/v1.0/subscription (none is expected over WebSocket)."""
    return [r for r in sim.requests() if r["method"] != "WS" and r["path"].startswith(SUB_PATH)]


def pubnub_calls(sim):
    return sim.requests(prefix="/v2/")


def wait_gone(sim, conn_id, timeout=10):
    """The wall-clock time at which the gateway saw connection conn_id end."""
    return wait_until(lambda: conn_id not in [c["id"] for c in sim.ws_connections()["connections"]]
                      and time.time(), timeout, "connection %d to end" % conn_id, interval=0.01)


def only_connection(sim):
    conns = sim.ws_connections()["connections"]
    assert len(conns) == 1, conns
    return conns[0]["id"]


def first_announced_delay(b):
    """The delay the plugin logged for its first reconnect ('reconnecting in N ms'), in s."""
    return int(b.wait_log(r"reconnecting in (\d+) ms", 10).group(1)) / 1000


def wstoken_after(sim, t):
    return [r["time"] for r in sim.requests("POST", "/restapi/oauth/wstoken") if r["time"] > t][0]


def uuids_on(w, topic=PRESENCE_TOPIC):
    return [m.user_properties.get("uuid") for m in w.on_topic(topic)]


def online(w, prefix="ringcentral", timeout=30):
    """Waits for state online and a status naming a subscription; returns that status."""
    w.wait_state(prefix, "online", timeout)
    return w.wait_status(lambda s: s["state"] == "online" and s["subscription_id"], timeout,
                         prefix, "an online status with a subscription id")


# ---- a steady flow of notifications ---------------------------------------------------------
class Sender:
    """Sends one presence notification every `period` seconds from its own thread and keeps
    what the simulator accepted, in order. A notification no subscription took (lost on the
    server side) is counted in `unrouted`."""

    def __init__(self, sim, period=0.15):
        self.sim, self.period = sim, period
        self.sent = []              # the simulator's delivered entries, in sending order
        self.unrouted = 0
        self.errors = []
        self.cond = threading.Condition()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        n = 0
        while not self.stop_event.is_set():
            try:
                delivered = self.sim.notify(PRESENCE_EVENT, {"telephonyStatus": "Ringing", "seq": n})
            except OSError as e:    # the simulator's control port is not under test
                self.errors.append(e)
                delivered = None
            with self.cond:
                if delivered is not None:
                    routed = [d for d in delivered if d.get("sequence") is not None]
                    self.unrouted += 1 if len(routed) != 1 else 0
                    self.sent.extend(routed)
                self.cond.notify_all()
            n += 1
            self.stop_event.wait(self.period)   # pacing, not synchronisation

    def count(self):
        with self.cond:
            return len(self.sent)

    def wait_sent(self, n, timeout=30):
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.sent) >= n, timeout):
                raise AssertionError("the sender got only %d of %d notifications accepted"
                                     % (len(self.sent), n))

    def wait_more(self, n, timeout=30):
        self.wait_sent(self.count() + n, timeout)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()

    def check(self, w, what, timeout=60):
        """Every accepted notification arrived exactly once, in order, byte for byte."""
        assert not self.thread.is_alive(), "stop the sender first"
        want = [d["uuid"] for d in self.sent]
        w.wait_for(lambda ms: set(want) <= {m.user_properties.get("uuid") for m in ms},
                   timeout, "every notification sent (%s)" % what)
        got = uuids_on(w)
        dups = len(got) - len(set(got))
        print("%s: sent %d, received %d, duplicates %d, unrouted %d"
              % (what, len(want), len(set(got)), dups, self.unrouted))
        assert self.unrouted == 0, "%d notifications had no subscription to go to" % self.unrouted
        assert dups == 0, "duplicates delivered"
        assert got == want, "lost, extra or reordered notifications"
        plain = {d["uuid"]: d["plaintext"].encode() for d in self.sent}
        for m in w.on_topic(PRESENCE_TOPIC):
            assert m.payload == plain[m.user_properties["uuid"]], (m.payload, what)


# ---- delivery -------------------------------------------------------------------------------
def test_byte_exact_delivery_over_the_socket_only():
    with Sim() as sim, Broker(websocket_opts(sim)) as broker, MqttWatcher(broker.port) as w:
        first = online(w)
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
        assert status["state"] == "online" and status["transport"] == "websocket", status
        assert status["subscription_id"] == first["subscription_id"] == sent_p[0]["subscription_id"]
        assert sorted(status["event_filters"]) == sorted([PRESENCE_FILTER, MESSAGE_FILTER])
        assert status["received"] == 2 and status["dropped"] == 0, status
        assert status["last_error"] is None, status["last_error"]
        for key in ("duplicates", "decrypt_errors", "renewals", "recreations", "reconnects",
                    "recoveries", "recovery_failures"):
            assert status.get(key) == 0, (key, status)
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


def test_topic_map_body_payload_qos_retain_prefix():
    with Sim() as sim:
        opts = websocket_opts(sim, topic_prefix="home/rc", payload="body", qos=0, retain="true",
                              topic_map=["/restapi/v1.0/account/{account}/extension/{ext}/presence "
                                         "home/phone/{ext}/presence"])
        with Broker(opts) as broker, MqttWatcher(broker.port) as w:
            status = online(w, "home/rc")
            assert status["transport"] == "websocket"
            sim.notify(PRESENCE_EVENT, {"telephonyStatus": "CallConnected"})
            sim.notify(MESSAGE_EVENT, {"n": 1})
            p = w.wait_for(lambda ms: [m for m in ms
                                       if m.topic == "home/phone/401550809004/presence"])[0]
            assert p.json() == {"telephonyStatus": "CallConnected"}, p.payload
            assert p.qos == 0
            with MqttWatcher(broker.port, "home/phone/#") as late:
                r = late.wait_for(lambda ms: ms, what="the retained presence")[0]
                assert r.retain is True and r.json() == {"telephonyStatus": "CallConnected"}
            m = w.wait_for(lambda ms: [m for m in ms
                                       if m.topic == "home/rc/account/~/extension/823476228762/message-store"])[0]
            assert m.json() == {"n": 1} and m.qos == 0
            # Nothing under the default prefix.
            assert w.on_topic("ringcentral/") == []


def test_sighup_filter_change_is_a_put_over_the_socket():
    with tempfile.TemporaryDirectory() as d:
        filters = os.path.join(d, "filters")
        with open(filters, "w") as f:
            f.write("# presence only\n" + PRESENCE_FILTER + "\n")
        with Sim() as sim, Broker(websocket_opts(sim, event_filter=None, filters_file=filters)) as b, \
                MqttWatcher(b.port) as w:
            sub_id = online(w)["subscription_id"]
            before = sim.notify(PRESENCE_EVENT, {"before": "change"})
            w.wait_for(lambda ms: before[0]["uuid"] in uuids_on(w), what="presence before the change")

            with open(filters, "w") as f:
                f.write(MESSAGE_FILTER + "\n")
            b.sighup()
            b.wait_log("reload: 1 event filter\\(s\\) changed")
            puts = wait_until(lambda: [r for r in ws_calls(sim, "PUT") if r["status"] == 200], 20,
                              "the PUT over the socket")
            assert [r["path"] for r in ws_calls(sim, "PUT")] == ["PUT %s/%s" % (SUB_PATH, sub_id)], puts
            status = w.wait_status(lambda s: s["event_filters"] == [MESSAGE_FILTER]
                                   and s["state"] == "online", what="the new filters in status")
            assert status["subscription_id"] == sub_id
            assert [s["filters"] for s in sim.subscriptions()] == [[MESSAGE_FILTER]]
            # The new filter's notifications arrive; the old filter's are no longer routed.
            assert sim.notify(PRESENCE_EVENT, {"after": "change"}) == []
            after = sim.notify(MESSAGE_EVENT, {"after": "change"})
            assert len(after) == 1 and after[0]["subscription_id"] == sub_id
            w.wait_for(lambda ms: after[0]["uuid"] in uuids_on(w, MESSAGE_TOPIC),
                       what="a message-store notification")
            assert uuids_on(w) == [before[0]["uuid"]]

            # An unchanged file (rewritten, comments differ) sends nothing.
            with open(filters, "w") as f:
                f.write("# the same filter\n" + MESSAGE_FILTER + "\n")
            b.sighup()
            b.wait_log("reload: event filters unchanged")
            # A notification through the worker after the reload: anything the reload had
            # sent would have gone out before it.
            probe = sim.notify(MESSAGE_EVENT, {"probe": 1})
            w.wait_for(lambda ms: probe[0]["uuid"] in uuids_on(w, MESSAGE_TOPIC), what="the probe")
            assert len(ws_calls(sim, "PUT")) == 1 and len(ws_calls(sim, "POST")) == 1
            assert rest_subscription_calls(sim) == [] and pubnub_calls(sim) == []
            assert len(connects(sim)) == 1


def test_shutdown_deletes_the_subscription_over_the_socket():
    with Sim() as sim:
        b = Broker(websocket_opts(sim))
        with b, MqttWatcher(b.port) as w:
            sub_id = online(w)["subscription_id"]
            code, took = b.stop()
        print("websocket shutdown took %.2fs" % took)
        assert code == 0 and took < 5, (code, took)
        deletes = ws_calls(sim, "DELETE")
        assert [(r["path"], r["status"]) for r in deletes] == [
            ("DELETE %s/%s" % (SUB_PATH, sub_id), 204)], deletes
        assert [(s["id"], s["status"]) for s in sim.subscriptions()] == [(sub_id, "deleted")]
        assert rest_subscription_calls(sim) == []
        assert sim.notify(PRESENCE_EVENT, {}) == []


def test_options_heartbeat_interval_and_pong_timeout_are_validated():
    with Sim() as sim:
        for key in ("heartbeat_interval", "pong_timeout"):
            for value in ("0", "-1", "abc", "1.5", "3601x"):
                b = Broker(websocket_opts(sim, **{key: value}))
                try:
                    code = b.start(expect_running=False)
                    assert code != 0, "broker started with %s=%r" % (key, value)
                    with open(b.stderr_path) as f:
                        lines = [l for l in b.log_text().splitlines() + f.read().splitlines()
                                 if "ringcentral: Error" in l]
                    assert len(lines) == 1 and "plugin_opt_" + key in lines[0], (key, value, lines)
                finally:
                    b.stop()
        # Valid values start and deliver.
        with Broker(websocket_opts(sim, heartbeat_interval=1, pong_timeout=1)) as b, \
                MqttWatcher(b.port) as w:
            online(w)
            sent = sim.notify(PRESENCE_EVENT, {"ok": 1})
            w.wait_for(lambda ms: sent[0]["uuid"] in uuids_on(w), what="a notification")


# ---- connection faults ------------------------------------------------------------------------
def test_drop_is_recovered_without_loss():
    with Sim() as sim, Broker(websocket_opts(sim)) as b, MqttWatcher(b.port) as w:
        sub_id = online(w)["subscription_id"]
        with Sender(sim) as s:
            s.wait_sent(8)
            conn_id = only_connection(sim)
            dropped_at = time.time()
            assert sim.ws_fault("drop")["connections"] == [conn_id]
            gone_at = wait_gone(sim, conn_id)
            rec = wait_until(lambda: recovery_connects(sim), 15, "a recovering CONNECT")
            s.wait_more(8)
        took = rec[0]["time"] - dropped_at
        delay = first_announced_delay(b)
        lag = wstoken_after(sim, dropped_at) - gone_at - delay
        print("dropped connection: reconnected with recovery after %.2fs (announced backoff "
              "%.2fs, wstoken requested %.2fs after it)" % (took, delay, lag))
        s.check(w, "connection dropped")
        assert len(connects(sim)) == 2 and recovery_connects(sim, "Failed") == []
        assert {m.user_properties["subscriptionId"] for m in w.on_topic(PRESENCE_TOPIC)} == {sub_id}
        status = w.wait_status(lambda st: st["published"] == len(s.sent) and st["state"] == "online",
                               what="a status counting every notification")
        assert status["subscription_id"] == sub_id
        assert status["reconnects"] == 1 and status["recoveries"] == 1, status
        assert status["recovery_failures"] == 0 and status["duplicates"] == 0, status
        assert len(ws_calls(sim, "POST")) == 1, "a recovered connection must not subscribe again"
        assert rest_subscription_calls(sim) == [] and pubnub_calls(sim) == []
        b.wait_log("WebSocket recovered; subscription %s continues" % sub_id, 5)
        # Reconnecting means: after the announced backoff, at once (not at the next idle wake).
        assert lag < 0.5, "the wstoken request came %.2fs after the announced %.2fs backoff" % (
            lag, delay)
        assert took < 3, "reconnected only after %.2fs" % took


def test_refused_recovery_subscribes_again():
    with Sim() as sim, Broker(websocket_opts(sim)) as b, MqttWatcher(b.port) as w:
        first = online(w)["subscription_id"]
        before = sim.notify(PRESENCE_EVENT, {"before": "drop"})
        w.wait_for(lambda ms: before[0]["uuid"] in uuids_on(w), what="a notification before")
        sim.ws_fault("refuse_recovery")
        sim.ws_fault("drop")
        failed = wait_until(lambda: recovery_connects(sim, "Failed"), 15, "a failed recovery")
        status = w.wait_status(lambda s: s["state"] == "online" and s["subscription_id"]
                               not in (None, first), 20, what="online with a new subscription")
        second = status["subscription_id"]
        assert status["recovery_failures"] == 1 and status["recoveries"] == 0, status
        assert status["reconnects"] == 1, status
        posts = ws_calls(sim, "POST")
        assert [r["status"] for r in posts] == [200, 200], posts
        assert posts[1]["time"] >= failed[0]["time"], "the new POST follows the failed recovery"
        assert len(connects(sim)) == 2
        assert {s["id"]: s["status"] for s in sim.subscriptions()} == {first: "deleted",
                                                                       second: "active"}
        after = [sim.notify(PRESENCE_EVENT, {"after": n}) for n in range(3)]
        assert [a[0]["subscription_id"] for a in after] == [second] * 3
        w.wait_for(lambda ms: {a[0]["uuid"] for a in after} <= set(uuids_on(w)),
                   what="notifications on the new subscription")
        assert uuids_on(w) == [before[0]["uuid"]] + [a[0]["uuid"] for a in after]
        assert {m.user_properties["subscriptionId"] for m in w.on_topic(PRESENCE_TOPIC)} == \
            {first, second}
        assert rest_subscription_calls(sim) == [] and pubnub_calls(sim) == []
        b.wait_log("WebSocket recovery failed; subscribing again", 5)


def silent_connection_is_replaced(kind):
    """no_pong or stall: with heartbeat_interval 1 and pong_timeout 2 the plugin notices
    within about 3 s, drops the connection and recovers the session."""
    with Sim() as sim, Broker(websocket_opts(sim, heartbeat_interval=1, pong_timeout=2)) as b, \
            MqttWatcher(b.port) as w:
        sub_id = online(w)["subscription_id"]
        # Healthy pings keep the connection as it is.
        wait_until(lambda: len(sim.requests("WS", "Heartbeat")) >= 2, 10, "heartbeats")
        assert len(connects(sim)) == 1
        with Sender(sim) as s:
            s.wait_sent(8)
            fault_at = time.time()
            sim.ws_fault(kind)
            rec = wait_until(lambda: recovery_connects(sim), 20, "a recovering CONNECT")
            s.wait_more(8)
        took = rec[0]["time"] - fault_at
        print("%s: reconnected with recovery after %.2fs" % (kind, took))
        s.check(w, kind)
        # heartbeat due <= 1 s, pong wait 2 s, a first-failure backoff <= 1 s, a few s slack.
        assert took < 1 + 2 + 1 + 3, "the silent connection was replaced only after %.2fs" % took
        b.wait_log("no pong within 2 s", 5)
        assert len(connects(sim)) == 2 and len(ws_calls(sim, "POST")) == 1
        status = w.wait_status(lambda st: st["recoveries"] == 1 and st["state"] == "online",
                               what="the recovery in status")
        assert status["subscription_id"] == sub_id and status["recovery_failures"] == 0


def test_unanswered_ping_is_a_lost_connection():
    silent_connection_is_replaced("no_pong")


def test_stalled_connection_is_replaced():
    silent_connection_is_replaced("stall")


def test_server_close_absolute_timeout_is_recovered():
    with Sim() as sim, Broker(websocket_opts(sim)) as b, MqttWatcher(b.port) as w:
        sub_id = online(w)["subscription_id"]
        with Sender(sim) as s:
            s.wait_sent(8)
            conn_id = only_connection(sim)
            closed_at = time.time()
            sim.ws_fault("close", code=1000, reason="WSG-903: Absolute timeout")
            gone_at = wait_gone(sim, conn_id)
            rec = wait_until(lambda: recovery_connects(sim), 15, "a recovering CONNECT")
            s.wait_more(8)
        took = rec[0]["time"] - closed_at
        handshake = gone_at - closed_at
        delay = first_announced_delay(b)
        lag = wstoken_after(sim, closed_at) - gone_at - delay
        print("WSG-903 close: closing handshake done after %.2fs; reconnected with recovery after "
              "%.2fs (announced backoff %.2fs, wstoken requested %.2fs after it)"
              % (handshake, took, delay, lag))
        s.check(w, "WSG-903 close")
        b.wait_log(r"WebSocket closed by the server \(1000 WSG-903: Absolute timeout\)", 5)
        status = w.wait_status(lambda st: st["recoveries"] == 1 and st["state"] == "online",
                               what="the recovery in status")
        assert status["subscription_id"] == sub_id and len(ws_calls(sim, "POST")) == 1
        # The gateway's close frame is answered at once (a responsive client takes ms)...
        assert handshake < 0.5, "the close frame was answered only after %.2fs" % handshake
        # ...and the reconnect follows the announced backoff at once.
        assert lag < 0.5, "the wstoken request came %.2fs after the announced %.2fs backoff" % (
            lag, delay)
        assert took < 3, "reconnected only after %.2fs" % took


def test_repeated_absolute_timeouts_lose_nothing():
    with Sim("--ws-absolute-timeout", "4") as sim, Broker(websocket_opts(sim)) as b, \
            MqttWatcher(b.port) as w:
        sub_id = online(w)["subscription_id"]
        with Sender(sim, 0.2) as s:
            wait_until(lambda: len(recovery_connects(sim)) >= 3, 60, "three recoveries")
            s.wait_more(5)
        s.check(w, "three WSG-903 closes")
        times = [c["time"] for c in connects(sim)]
        gaps = [b_ - a - 4 for a, b_ in zip(times, times[1:])]
        print("reconnect delays after each close: %s" % ", ".join("%.1fs" % g for g in gaps))
        # Short-lived connections count as failures: backoff 1, 2, 4 s (with jitter), capped.
        assert all(g < 8 for g in gaps[:3]), gaps
        assert recovery_connects(sim, "Failed") == []
        assert len(ws_calls(sim, "POST")) == 1
        status = w.wait_status(lambda st: st["recoveries"] >= 3, what="three recoveries in status")
        assert status["subscription_id"] == sub_id and status["recovery_failures"] == 0
        # (the connections keep expiring: one more connect may be under way)
        assert status["recoveries"] <= status["reconnects"] <= len(connects(sim)), status
        assert "WSG-903" in b.log_text()


def test_heartbeats_keep_an_idle_connection_open():
    # --ws-idle-timeout 3 stands for RingCentral's 30 minutes.
    with Sim("--ws-idle-timeout", "3") as sim, \
            Broker(websocket_opts(sim, heartbeat_interval=1)) as b, MqttWatcher(b.port) as w:
        online(w)
        sent = []

        def old_enough():
            conns = sim.ws_connections()["connections"]
            assert [c["id"] for c in conns] == [1], "the connection was replaced: %s" % conns
            if len(sent) < 3 and conns[0]["age"] > 2.5 * (len(sent) + 1):
                sent.extend(sim.notify(PRESENCE_EVENT, {"idle": len(sent)}))
            return conns[0]["age"] > 10
        wait_until(old_enough, 20, "the connection to outlive three idle timeouts", interval=0.2)
        assert len(sent) == 3
        w.wait_for(lambda ms: set(d["uuid"] for d in sent) <= set(uuids_on(w)), what="the notifications")
        assert uuids_on(w) == [d["uuid"] for d in sent]
        assert len(connects(sim)) == 1
        beats = sim.requests("WS", "Heartbeat")
        assert len(beats) >= 5, beats
        assert "WSG-902" not in b.log_text()
        status = w.last_status()
        assert status["reconnects"] == 0 and status["state"] == "online", status


def test_idle_close_is_recovered_without_loss():
    # The plugin stays silent longer than the gateway's idle timeout: WSG-902, recovery.
    with Sim("--ws-idle-timeout", "2") as sim, \
            Broker(websocket_opts(sim, heartbeat_interval=30)) as b, MqttWatcher(b.port) as w:
        sub_id = online(w)["subscription_id"]
        with Sender(sim) as s:
            wait_until(lambda: len(recovery_connects(sim)) >= 2, 40, "two recoveries")
            s.wait_more(5)
        s.check(w, "WSG-902 idle closes")
        b.wait_log(r"WebSocket closed by the server \(1000 WSG-902: Idle timeout\)", 5)
        assert recovery_connects(sim, "Failed") == [] and len(ws_calls(sim, "POST")) == 1
        status = w.wait_status(lambda st: st["recoveries"] >= 2, what="two recoveries in status")
        assert status["subscription_id"] == sub_id and status["recovery_failures"] == 0


def test_untrusted_cafile_opens_no_websocket():
    with Sim() as sim, Sim() as other:
        # other's CA did not sign sim's certificate.
        with Broker(websocket_opts(sim, cafile=other.cafile)) as b, MqttWatcher(b.port) as w:
            status = w.wait_status(lambda s: s["last_error"], what="an error in status")
            print("untrusted CA: last_error = %s" % status["last_error"])
            err = status["last_error"].lower()
            assert "certificate" in err or "ssl" in err or "tls" in err, status["last_error"]
            assert status["state"] == "offline" and status["transport"] == "websocket"
            assert not status["subscription_id"], status
            # It tries again (with backoff), failing the same way; nothing reaches the simulator.
            wait_until(lambda: b.log_text().count("login failed") >= 2, 30, "a second attempt")
            state = [m.payload for m in w.on_topic("ringcentral/bridge/state")]
            assert state and set(state) == {b"offline"}, state
        assert sim.requests() == [], sim.requests()
        assert sim.ws_connections()["connections"] == []
        assert other.requests() == []


def test_burst_of_1000_arrives_once_and_in_order():
    with Sim() as sim, Broker(websocket_opts(sim), extra_conf="max_queued_messages 0") as b, \
            MqttWatcher(b.port, "ringcentral/account/#") as w, \
            MqttWatcher(b.port, "ringcentral/bridge/#") as st:
        online(st)
        start = time.monotonic()
        sent = sim.notify(PRESENCE_EVENT, {"telephonyStatus": "NoCall"}, count=1000)
        assert len(sent) == 1000
        w.wait_for(lambda ms: len(ms) >= 1000, 60, "1000 notifications")
        took = time.monotonic() - start
        assert [m.user_properties["uuid"] for m in w.messages] == [d["uuid"] for d in sent]
        by_uuid = {d["uuid"]: d["plaintext"].encode() for d in sent}
        assert all(m.payload == by_uuid[m.user_properties["uuid"]] for m in w.messages)
        status = st.wait_status(lambda s: s["published"] == 1000, what="1000 published")
        assert status["dropped"] == 0 and status["duplicates"] == 0
        print("websocket burst: 1000 in %.2fs" % took)


if __name__ == "__main__":
    run_tests([test_byte_exact_delivery_over_the_socket_only,
               test_topic_map_body_payload_qos_retain_prefix,
               test_sighup_filter_change_is_a_put_over_the_socket,
               test_shutdown_deletes_the_subscription_over_the_socket,
               test_options_heartbeat_interval_and_pong_timeout_are_validated,
               test_drop_is_recovered_without_loss,
               test_refused_recovery_subscribes_again,
               test_unanswered_ping_is_a_lost_connection,
               test_stalled_connection_is_replaced,
               test_server_close_absolute_timeout_is_recovered,
               test_repeated_absolute_timeouts_lose_nothing,
               test_heartbeats_keep_an_idle_connection_open,
               test_idle_close_is_recovered_without_loss,
               test_untrusted_cafile_opens_no_websocket,
               test_burst_of_1000_arrives_once_and_in_order])
