"""test_wake.py - the broker wake timer (wake_broker) changes when the broker looks, and
nothing else.

With wake_broker on (the default) the plugin sends SIGURG to the broker thread while
notifications wait, to end Mosquitto's idle wait of up to 100 ms. These tests run a
steady flow (so the timer keeps firing) and check, with the real broker, what else the
signal could disturb: SIGHUP reloads, SIGTERM stops cleanly and saves the broker's
persistence file, and the broker's own websockets listener serves its clients. With
wake_broker off everything still flows at the broker's own pace. Every wait is on an MQTT
message, a log line or a process exit, each with a deadline; how much sooner messages
arrive is the benchmark's to measure (bench/), not a test's."""
import json
import os
import tempfile
import threading

import paho.mqtt.client as mqtt

from harness import (Broker, MqttWatcher, Sim, free_port, per_transport, run_tests,
                     transport_opts)

PRESENCE_EVENT = "/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true"
PRESENCE_TOPIC = "ringcentral/account/~/extension/401550809004/presence"


def uuids_of(messages):
    return [m.user_properties.get("uuid") for m in messages if "uuid" in m.user_properties]


class Flow:
    """Sends a notification every 10 ms until stopped; remembers the uuids."""

    def __init__(self, sim):
        self.sim, self.sent, self.error = sim, [], None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while not self.stopping.wait(0.01):
                self.sent.extend(d["uuid"] for d in self.sim.notify(PRESENCE_EVENT, {}))
        except Exception as e:
            self.error = e

    def stop(self):
        self.stopping.set()
        self.thread.join(30)
        assert self.error is None, self.error
        return list(self.sent)


class WebsocketsClient:
    """A paho client over the broker's websockets listener, recording payload uuids."""

    def __init__(self, port, topic):
        self.got, self.cond = [], threading.Condition()
        self.client = mqtt.Client(client_id="ws-listener-%d" % os.getpid(), transport="websockets")
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(topic, 1)
        assert subscribed.wait(10), "no SUBACK over websockets"

    def _on_message(self, client, userdata, msg):
        with self.cond:
            self.got.append(json.loads(msg.payload)["uuid"])
            self.cond.notify_all()

    def wait_for(self, uuids, timeout=30):
        with self.cond:
            assert self.cond.wait_for(lambda: set(uuids) <= set(self.got), timeout), \
                "websockets client missed %d" % len(set(uuids) - set(self.got))

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


# PubNub only: the wake timer does not depend on the transport, and with the WebSocket
# transport a broker that also runs its own websockets listener leaks the plugin's TLS
# trust store once at exit under LeakSanitizer (Debian's mosquitto carries its own copy of
# libwebsockets and exports it, so the plugin's lws calls land in the broker's copy, which
# then holds two contexts); that is recorded for its own investigation, not hidden here.
@per_transport("pubnub")
def test_signals_listeners_and_persistence_unchanged_while_waking(transport):
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        ws_port = free_port()
        extra = ("persistence true\npersistence_location %s/\nautosave_interval 0\n"
                 "listener %d 127.0.0.1\nprotocol websockets\n" % (d, ws_port))
        broker = Broker(transport_opts(sim, transport), extra_conf=extra, workdir=d)
        broker.start()
        ws = flow = None
        try:
            with MqttWatcher(broker.port) as w:
                w.wait_state("ringcentral", "online", 30)
                ws = WebsocketsClient(ws_port, PRESENCE_TOPIC)
                flow = Flow(sim)
                w.wait_for(lambda ms: len(uuids_of(ms)) >= 50, 30, "the flow")
                broker.sighup()
                broker.wait_log(r"Reloading config\.")
                reloaded_at = len(flow.sent)
                w.wait_for(lambda ms: len(uuids_of(ms)) >= reloaded_at + 50, 30,
                           "the flow after the reload")
                sent = flow.stop()
                flow = None
                w.wait_for(lambda ms: set(sent) <= set(uuids_of(ms)), 30, "every notification")
                got = uuids_of(w.on_topic(PRESENCE_TOPIC))
                assert len(got) == len(set(got)), "duplicates"
                ws.wait_for(sent)
            code, took = broker.stop()
            assert code == 0 and took < 5, (code, took)
            assert os.path.getsize(os.path.join(d, "mosquitto.db")) > 0
            assert "Error" not in "".join(l for l in broker.log_text().splitlines()
                                          if "ringcentral" not in l), broker.log_text()[-2000:]
        finally:
            if flow is not None:
                flow.stopping.set()
            if ws is not None:
                ws.close()
            broker.stop()


@per_transport()
def test_wake_broker_off_still_delivers(transport):
    with Sim() as sim, Broker(transport_opts(sim, transport, wake_broker="off")) as b, \
            MqttWatcher(b.port) as w:
        w.wait_state("ringcentral", "online", 30)
        sent = [d["uuid"] for _ in range(20) for d in sim.notify(PRESENCE_EVENT, {})]
        w.wait_for(lambda ms: set(sent) <= set(uuids_of(ms)), 30, "every notification")
        assert "wake_broker" not in b.log_text()


if __name__ == "__main__":
    run_tests([test_signals_listeners_and_persistence_unchanged_while_waking,
               test_wake_broker_off_still_delivers])
