"""test_bridge_fanout.py - scaling out with Mosquitto's own bridge, as README's "Scaling
out" recommends: the broker that runs the plugin forwards the plugin's topics
(`topic ringcentral/# out 1`, MQTT v5) to another broker, here a second stock mosquitto
without the plugin standing in for a clustered broker (EMQX, VerneMQ, HiveMQ) that does
the fan-out.

A subscriber on the far broker must get every notification of a small flow exactly once
(told apart by the uuid inside the payload JSON, the one identifier that survives any
bridge), byte for byte, with the MQTT v5 properties kept; the retained bridge/state and
bridge/status must be retained there too; and when the plugin's broker stops, the
bridge's own connection state on the far broker says so (a retained `online` there can
outlive the link).

Run one: /usr/bin/python3 test_bridge_fanout.py test_x"""
import collections
import os

from harness import (MESSAGE_EVENT, PLUGIN_VERSION, PRESENCE_EVENT, Broker, MqttWatcher, Sim,
                     plugin_opts, read_retained, run_tests, wait_online)

FLOW = 40       # notifications, alternating two events (two topics)


def bridge_conf(far_port, client_id):
    # The README's recipe, with the far broker's address.
    return ("connection fanout\n"
            "address 127.0.0.1:%d\n"
            "remote_clientid %s\n"
            "bridge_protocol_version mqttv50\n"
            "try_private false\n"
            "topic ringcentral/# out 1\n" % (far_port, client_id))


def notifications(ms):
    """(payload uuid, message) of every notification in ms (the bridge topics left out)."""
    return [(m.json()["uuid"], m) for m in ms
            if m.topic.startswith("ringcentral/") and not m.topic.startswith("ringcentral/bridge/")]


def test_bridge_forwards_every_notification_once():
    client_id = "rc-fanout-%d" % os.getpid()
    with Sim() as sim, Broker(None) as far, MqttWatcher(far.port, "ringcentral/#") as remote:
        near = Broker(plugin_opts(sim), extra_conf=bridge_conf(far.port, client_id))
        with near, MqttWatcher(near.port, "ringcentral/#") as local:
            # online, with a subscription, as seen through the bridge
            first = wait_online(remote)
            sent = []
            for i in range(FLOW):
                got = sim.notify(PRESENCE_EVENT if i % 2 == 0 else MESSAGE_EVENT, {"seq": i})
                assert len(got) == 1, got
                sent.extend(got)
            want = [d["uuid"] for d in sent]
            # The bridge keeps the order of what it forwards: once the last one is there,
            # everything before it is too; nothing can follow without a reconnect.
            remote.wait_for(lambda ms: want[-1] in [u for u, _ in notifications(ms)], 30,
                            "the last notification on the far broker")
            status = remote.wait_status(lambda s: s["published"] == FLOW, 20,
                                        what="published == %d on the far broker" % FLOW)

            far_got = notifications(remote.messages)
            counts = collections.Counter(u for u, _ in far_got)
            assert sorted(counts) == sorted(want), "lost or extra notifications on the far broker"
            assert [u for u, c in counts.items() if c > 1] == [], "duplicates on the far broker"
            # Nothing lost or added by the bridge: the same as a subscriber of the plugin's
            # own broker got, byte for byte, QoS 1, properties kept (MQTT v5 bridge).
            local.wait_for(lambda ms: want[-1] in [u for u, _ in notifications(ms)], 10,
                           "the last notification on the plugin's broker")
            assert sorted(u for u, _ in notifications(local.messages)) == sorted(want)
            plain = {d["uuid"]: d["plaintext"].encode() for d in sent}
            for uid, m in far_got:
                assert m.payload == plain[uid] and m.qos == 1, (m.topic, m.payload, m.qos)
                assert m.user_properties.get("uuid") == uid, m.user_properties
                assert m.content_type == "application/json"
            assert status["subscription_id"] == first["subscription_id"]

            # The retained status topics are retained on the far broker too.
            states = [m.payload.decode() for m in remote.messages
                      if m.topic == "ringcentral/bridge/state"]
            assert states.count("online") == 1 and states[-1] == "online", states
            state = read_retained(far.port, "ringcentral/bridge/state")
            assert state is not None and state.payload == b"online", state
            retained = read_retained(far.port, "ringcentral/bridge/status")
            assert retained is not None and retained.json()["published"] == FLOW, retained
            assert retained.json()["version"] == PLUGIN_VERSION

            # The bridge's own state on the far broker: 1 while the link is up ...
            link = read_retained(far.port, "$SYS/broker/connection/%s/state" % client_id)
            assert link is not None and link.payload == b"1", link
            code, _ = near.stop()
        assert code == 0, code
        # ... and 0 once the plugin's broker is gone (its will), while bridge/state still
        # says online there: consumers on the far side watch both.
        link = read_retained(far.port, "$SYS/broker/connection/%s/state" % client_id)
        assert link is not None and link.payload == b"0", link
        assert read_retained(far.port, "ringcentral/bridge/state").payload == b"online"


if __name__ == "__main__":
    run_tests([test_bridge_forwards_every_notification_once])
