"""test_burst.py - a burst of notifications arrives complete, once each, in order.

5000 notifications are queued in the simulator at once, per transport: over PubNub
(encrypted) the plugin drains them in batches of 100 through the bounded outbox; over
WebSocket the gateway pushes them all and the plugin stops reading the socket whenever the
outbox is full. The rate is printed (a measurement for the README, not an assertion:
timing targets are benchmarks, not unit tests)."""
import time

from harness import Broker, MqttWatcher, Sim, per_transport, run_tests, transport_opts

EVENT = "/restapi/v1.0/account/~/extension/401550809004/presence"
COUNT = 5000


@per_transport()
def test_burst_is_delivered_completely_once_and_in_order(transport):
    # The broker would drop QoS 1 messages beyond 1000 queued for a slow subscriber, and
    # the simulated PubNub cache must hold the whole burst: raise both limits.
    with Sim("--cache-size", str(COUNT * 2)) as sim, \
            Broker(transport_opts(sim, transport),
                   extra_conf="max_queued_messages 0") as broker, \
            MqttWatcher(broker.port, "ringcentral/account/#") as w, \
            MqttWatcher(broker.port, "ringcentral/bridge/state") as state:
        state.wait_for(lambda ms: ms and ms[-1].payload == b"online", 20, "online")
        start = time.monotonic()
        sent = sim.notify(EVENT, {"telephonyStatus": "NoCall"}, count=COUNT)
        queued = time.monotonic()
        assert len(sent) == COUNT
        w.wait_for(lambda ms: len(ms) >= COUNT, 120, "%d notifications" % COUNT)
        done = max(m.received_at for m in w.messages)
        got = [m.user_properties["uuid"] for m in w.messages]
        assert got == [s["uuid"] for s in sent], "lost, duplicated or reordered notifications"
        by_uuid = {s["uuid"]: s["plaintext"].encode() for s in sent}
        assert all(m.payload == by_uuid[m.user_properties["uuid"]] for m in w.messages)
        print("%s: simulator queued %d in %.2fs; delivered end to end in %.2fs (%.0f/s)"
              % (transport, COUNT, queued - start, done - start, COUNT / (done - start)))


@per_transport()
def test_burst_of_large_notifications_beyond_the_outbox_byte_bound(transport):
    # 300 notifications of about 24 KB: about 7 MB, past the 4 MiB the outbox holds before
    # the worker stops fetching, so the transport pauses and resumes on the byte bound (not
    # on the message count) and loses nothing while it does.
    count, pad = 300, "x" * 24000
    with Sim("--cache-size", str(count * 2)) as sim, \
            Broker(transport_opts(sim, transport),
                   extra_conf="max_queued_messages 0") as broker, \
            MqttWatcher(broker.port, "ringcentral/account/#") as w, \
            MqttWatcher(broker.port, "ringcentral/bridge/state") as state:
        state.wait_for(lambda ms: ms and ms[-1].payload == b"online", 20, "online")
        sent = sim.notify(EVENT, {"telephonyStatus": "NoCall", "pad": pad}, count=count)
        assert len(sent) == count
        w.wait_for(lambda ms: len(ms) >= count, 120, "%d notifications" % count)
        got = [m.user_properties["uuid"] for m in w.messages]
        assert got == [s["uuid"] for s in sent], "lost, duplicated or reordered notifications"
        assert all(len(m.payload) > 24000 for m in w.messages)


if __name__ == "__main__":
    run_tests([test_burst_is_delivered_completely_once_and_in_order,
               test_burst_of_large_notifications_beyond_the_outbox_byte_bound])
