"""test_websocket.py - what only WebSocket delivery does (plugin_opt_transport websocket).

Real broker + plugin + the simulator's gateway (tests/sim/wsg.py) over TLS, real MQTT v5
clients. What both transports must do alike (byte-exact delivery, topic_map, body, qos,
retain, malformed and duplicate notifications, a burst) is in test_delivery.py, run once per
transport; this file has the WebSocket-only part: SIGHUP and shutdown go over the socket
(PUT, DELETE ClientRequests; no REST subscription call, no PubNub), the WebSocket options,
and heartbeats keeping an idle connection open. Connection faults (drop, silence, stall,
WSG-903/902, gateway certificates, outages, wstoken errors) are in test_websocket_faults.py.

The simulator records socket events in its request log with method "WS" (see harness.py).
Every wait is on an MQTT message, a log line or a simulator query, each with a deadline."""
import os
import tempfile

from harness import (MESSAGE_FILTER, MESSAGE_EVENT, MESSAGE_TOPIC, PRESENCE_EVENT,
                     PRESENCE_FILTER, SUB_PATH, Broker, MqttWatcher, Sim, pubnub_calls,
                     rest_subscription_calls, run_tests, uuids_on, wait_online, wait_until,
                     websocket_opts, ws_calls, ws_connects)


def test_sighup_filter_change_is_a_put_over_the_socket():
    with tempfile.TemporaryDirectory() as d:
        filters = os.path.join(d, "filters")
        with open(filters, "w") as f:
            f.write("# presence only\n" + PRESENCE_FILTER + "\n")
        with Sim() as sim, Broker(websocket_opts(sim, event_filter=None, filters_file=filters)) as b, \
                MqttWatcher(b.port) as w:
            sub_id = wait_online(w)["subscription_id"]
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
            assert len(ws_connects(sim)) == 1


def test_shutdown_deletes_the_subscription_over_the_socket():
    with Sim() as sim:
        b = Broker(websocket_opts(sim))
        with b, MqttWatcher(b.port) as w:
            sub_id = wait_online(w)["subscription_id"]
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
            wait_online(w)
            sent = sim.notify(PRESENCE_EVENT, {"ok": 1})
            w.wait_for(lambda ms: sent[0]["uuid"] in uuids_on(w), what="a notification")


def test_heartbeats_keep_an_idle_connection_open():
    # --ws-idle-timeout 3 stands for RingCentral's 30 minutes.
    with Sim("--ws-idle-timeout", "3") as sim, \
            Broker(websocket_opts(sim, heartbeat_interval=1)) as b, MqttWatcher(b.port) as w:
        wait_online(w)
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
        assert len(ws_connects(sim)) == 1
        beats = sim.requests("WS", "Heartbeat")
        assert len(beats) >= 5, beats
        assert "WSG-902" not in b.log_text()
        status = w.last_status()
        assert status["reconnects"] == 0 and status["state"] == "online", status


if __name__ == "__main__":
    run_tests([test_sighup_filter_change_is_a_put_over_the_socket,
               test_shutdown_deletes_the_subscription_over_the_socket,
               test_options_heartbeat_interval_and_pong_timeout_are_validated,
               test_heartbeats_keep_an_idle_connection_open],
              transport="websocket")
