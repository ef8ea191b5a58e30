"""test_restart.py - a broker restart in the middle of a steady flow loses nothing and
publishes nothing twice (PubNub delivery with state_file, the real broker with its own
persistence, a subscriber with a persistent session).

Mosquitto hands a message a plugin publishes to its subscribers only at the start of its
next loop iteration, and a broker that stops ends its loop right after the last TICK, so
what that TICK handed over never reaches anyone. The plugin must therefore save as its
position only what certainly entered the broker, fetch the rest again after the restart,
and remember what it already published so that the overlap is not published twice.

Every wait is on an MQTT message or a process event, each with a deadline."""
import json
import os
import re
import tempfile
import threading

import paho.mqtt.client as mqtt

from harness import Broker, MqttWatcher, Sim, plugin_opts, run_tests

PRESENCE_EVENT = "/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true"
PRESENCE_TOPIC = "ringcentral/account/~/extension/401550809004/presence"
SEND_INTERVAL_S = 0.02
PER_SEND = 5                # a few notifications at a time: a busy account, not a burst


class PersistentSubscriber:
    """An MQTT v3.1.1 client with a persistent session (clean_session false) at QoS 2:
    the broker keeps its queue across the client's and the broker's own restarts, and QoS 2
    hands each message to the application exactly once. It reconnects by itself."""

    def __init__(self, port, topic):
        self.uuids = []
        self.cond = threading.Condition()
        self.client = mqtt.Client(client_id="restart-subscriber-%d" % os.getpid(),
                                  clean_session=False, protocol=mqtt.MQTTv311)
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(topic, 2)
        if not subscribed.wait(10):
            raise AssertionError("no SUBACK for " + topic)

    def _on_message(self, client, userdata, msg):
        with self.cond:
            self.uuids.append(json.loads(msg.payload)["uuid"])
            self.cond.notify_all()

    def count(self):
        with self.cond:
            return len(self.uuids)

    def wait_for(self, predicate, timeout, what):
        with self.cond:
            if not self.cond.wait_for(lambda: predicate(self.uuids), timeout):
                raise AssertionError("timed out after %ss waiting for %s (%d received)"
                                     % (timeout, what, len(self.uuids)))

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


class SteadyFlow:
    """Sends PER_SEND presence notifications every SEND_INTERVAL_S until stopped, whether or
    not the broker is up, and remembers the uuid of each."""

    def __init__(self, sim):
        self.sim = sim
        self.sent = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        n = 0
        try:
            while not self.stopping.wait(SEND_INTERVAL_S):
                n += 1
                delivered = self.sim.notify(PRESENCE_EVENT, {"n": n}, count=PER_SEND)
                assert len({d["subscription_id"] for d in delivered}) == 1, \
                    "one live subscription expected, got %r" % delivered
                with self.lock:
                    self.sent.extend(d["uuid"] for d in delivered)
        except Exception as e:  # reported by stop()
            self.error = e

    def count(self):
        with self.lock:
            return len(self.sent)

    def stop(self):
        self.stopping.set()
        self.thread.join(30)
        if self.error is not None:
            raise AssertionError("sending failed: %r" % self.error)
        return list(self.sent)


def test_broker_restart_mid_flow_delivers_every_notification_exactly_once():
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        state = os.path.join(d, "rc.state")
        opts = plugin_opts(sim, state_file=state, qos="2")
        persistence = "persistence true\npersistence_location %s/\nautosave_interval 0\n" % d
        first = Broker(opts, workdir=d, extra_conf=persistence)
        first.start()
        try:
            with MqttWatcher(first.port) as w:
                w.wait_state("ringcentral", "online")
            sub = PersistentSubscriber(first.port, PRESENCE_TOPIC)
        except Exception:
            first.stop()
            raise
        flow = None
        try:
            flow = SteadyFlow(sim)
            sub.wait_for(lambda u: len(u) >= 200, 30, "the flow to reach the subscriber")
            code, _ = first.stop()
            assert code == 0
            at_stop = flow.count()
            first_log = first.log_text()
            # The position is saved with the uuids that entered the broker before it (were
            # one that did not among them, it would be suppressed after the restart and
            # missing below).
            with open(state) as f:
                saved = json.load(f)
            assert saved["pubnub_timetoken"] != "0"
            assert saved["delivered_uuids"], saved
            with flow.lock:
                assert set(saved["delivered_uuids"]) <= set(flow.sent)
            second = Broker(opts, workdir=d, extra_conf=persistence, port=first.port)
            second.start()
            try:
                # Flowing again through the restarted broker: well past what was sent
                # before the stop.
                sub.wait_for(lambda u: len(u) >= at_stop + 200, 60,
                             "the flow to resume after the restart")
                sent = flow.stop()
                flow = None
                sub.wait_for(lambda u: set(sent) <= set(u), 60, "every notification")
                # A marker sent last: any replay of an earlier one would come before it.
                marker = sim.notify(PRESENCE_EVENT, {"marker": True})[0]["uuid"]
                sub.wait_for(lambda u: marker in u, 30, "the marker")
                assert len(sim.live_subscriptions()) == 1, "the subscription was resumed"
            finally:
                second.stop()
        finally:
            if flow is not None:
                flow.stopping.set()
            sub.close()
        got = list(sub.uuids)
        twice = sorted({u for u in got if got.count(u) > 1})
        missing = sorted(set(sent) - set(got))
        assert not missing, "%d lost: %s" % (len(missing), missing[:5])
        assert not twice, "%d published twice: %s" % (len(twice), twice[:5])
        discarded = re.search(r"(\d+) notification\(s\) fetched had not entered the broker", first_log)
        print("sent %d (%d before the stop), received each exactly once; "
              "discarded at the stop and fetched again: %s"
              % (len(sent), at_stop, discarded.group(1) if discarded else "0"))


if __name__ == "__main__":
    run_tests([test_broker_restart_mid_flow_delivers_every_notification_exactly_once])
