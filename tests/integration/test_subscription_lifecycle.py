"""test_subscription_lifecycle.py - renew, modify, unsubscribe, resume across restarts.

Each test drives the real broker + plugin against the simulator and checks both sides:
what the simulator was asked (POST/PUT/renew/DELETE/GET) and what MQTT subscribers got."""
import os
import tempfile

from harness import (MESSAGE_FILTER, PRESENCE_FILTER, Broker, Flow, MqttWatcher, Sim, plugin_opts,
                     run_tests, wait_until)

PRESENCE_EVENT = "/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true"
MESSAGE_EVENT = "/restapi/v1.0/account/~/extension/401550809004/message-store"


def uuids_of(messages):
    return [m.user_properties.get("uuid") for m in messages if "uuid" in m.user_properties]


def test_renewal_across_three_short_lifetimes_without_gap():
    # 20 s granted lifetime: with renew_margin 120 clamped to half, renewals every ~10 s.
    with Sim("--max-expires-in", "20") as sim, \
            Broker(plugin_opts(sim, expires_in=20)) as broker, MqttWatcher(broker.port) as w:
        w.wait_state("ringcentral", "online")
        with Flow(sim, period=0.25) as flow:
            wait_until(lambda: len(sim.requests("POST", "/restapi/v1.0/subscription/")) >= 3
                       and all(r["status"] == 200 for r in sim.requests("POST", "/restapi/v1.0/subscription/")),
                       60, "three renewals")
        sent = flow.uuids()
        w.wait_for(lambda ms: set(sent) <= set(uuids_of(ms)), 20, "every notification")
        got = uuids_of(w.on_topic("ringcentral/account"))
        assert sorted(got) == sorted(sent), "lost or duplicated notifications"
        assert len(sim.requests("POST", "/restapi/v1.0/subscription")) - \
            len(sim.requests("POST", "/restapi/v1.0/subscription/")) == 1, "re-created instead of renewed"
        subs = sim.subscriptions()
        assert len(subs) == 1 and subs[0]["renews"] >= 3 and subs[0]["status"] == "active"
        status = w.wait_status(lambda s: s["renewals"] >= 3)
        assert status["recreations"] == 0
        flow.check(w, "three renewals")
        print("renewals: %d, notifications: %d, all delivered once" % (subs[0]["renews"], len(sent)))


def test_sighup_filter_change_modifies_with_put():
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        filters = os.path.join(d, "filters.txt")
        with open(filters, "w") as f:
            f.write("# what to bridge\n%s\n" % PRESENCE_FILTER)
        opts = plugin_opts(sim, event_filter=None, filters_file=filters)
        with Broker(opts) as broker, MqttWatcher(broker.port) as w:
            w.wait_state("ringcentral", "online")
            assert sim.notify(MESSAGE_EVENT, {"n": 0}) == []  # not subscribed yet
            with open(filters, "w") as f:
                f.write("%s\n%s  # SMS too\n" % (PRESENCE_FILTER, MESSAGE_FILTER))
            broker.sighup()
            wait_until(lambda: sim.requests("PUT", "/restapi/v1.0/subscription/"), 20, "a PUT")
            w.wait_status(lambda s: sorted(s["event_filters"]) == sorted([PRESENCE_FILTER, MESSAGE_FILTER]),
                          what="the new filters in the status")
            sent = sim.notify(MESSAGE_EVENT, {"n": 1})
            assert len(sent) == 1
            w.wait_for(lambda ms: sent[0]["uuid"] in uuids_of(ms), what="the new event")
            assert len(sim.requests("POST", "/restapi/v1.0/subscription")) == 1
            assert not sim.requests("DELETE")
            assert sim.subscriptions()[0]["puts"] == 1
            # An unchanged file on the next SIGHUP sends nothing.
            broker.sighup()
            broker.wait_log("event filters unchanged")
            assert len(sim.requests("PUT")) == 1
            # A broken file keeps the current filters.
            with open(filters, "w") as f:
                f.write("not-a-path\n")
            broker.sighup()
            broker.wait_log("keeping the current event filters")
            assert len(sim.requests("PUT")) == 1


def test_shutdown_deletes_the_subscription():
    with Sim() as sim:
        broker = Broker(plugin_opts(sim))
        with broker, MqttWatcher(broker.port) as w:
            w.wait_state("ringcentral", "online")
            sub_id = sim.live_subscriptions()[0]["id"]
            code, took = broker.stop()
        assert code == 0, code
        assert took < 5, "shutdown took %.1fs" % took
        deletes = sim.requests("DELETE", "/restapi/v1.0/subscription/" + sub_id)
        assert len(deletes) == 1 and deletes[0]["status"] == 204
        assert sim.live_subscriptions() == []
        print("shutdown with DELETE took %.2fs" % took)


def test_state_file_resumes_without_new_subscription_or_loss():
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        state = os.path.join(d, "rc.state")
        # retain: what the plugin republishes right at start-up (before this test's client
        # can subscribe to the restarted broker) is still there for the client to see, one
        # message per topic; the two missed notifications go to two topics.
        opts = plugin_opts(sim, state_file=state, retain="true")
        port = None
        with Broker(opts, workdir=d) as broker, MqttWatcher(broker.port) as w:
            port = broker.port
            w.wait_state("ringcentral", "online")
            first = sim.notify(PRESENCE_EVENT, {"n": 1})
            w.wait_for(lambda ms: first[0]["uuid"] in uuids_of(ms))
            code, took = broker.stop()
            assert code == 0 and took < 5
        assert not sim.requests("DELETE"), "the subscription must be kept"
        assert os.path.exists(state)
        assert oct(os.stat(state).st_mode & 0o777) == "0o600"
        sub_id = sim.live_subscriptions()[0]["id"]
        # Sent while the broker is down.
        missed = sim.notify(PRESENCE_EVENT, {"n": 2}) + sim.notify(MESSAGE_EVENT, {"n": 3})
        assert len(missed) == 2
        sim.call("POST", "/_sim/requests/clear", {})
        with Broker(opts, workdir=d, port=port) as broker, MqttWatcher(broker.port) as w:
            w.wait_for(lambda ms: {m["uuid"] for m in missed} <= set(uuids_of(ms)), 30,
                       "the notifications sent while the broker was down")
            w.wait_state("ringcentral", "online")
            later = sim.notify(PRESENCE_EVENT, {"n": 4})
            w.wait_for(lambda ms: later[0]["uuid"] in uuids_of(ms))
            creates = [r for r in sim.requests("POST") if r["path"] == "/restapi/v1.0/subscription"]
            assert creates == [], "resumed subscription must not be re-created"
            assert sim.requests("GET", "/restapi/v1.0/subscription/" + sub_id)
            assert sim.requests("POST", "/restapi/v1.0/subscription/%s/renew" % sub_id)
            assert [s["id"] for s in sim.live_subscriptions()] == [sub_id]
            got = uuids_of(w.on_topic("ringcentral/account"))
            assert len(got) == len(set(got)), "duplicates after resume"
            broker.stop()


def test_state_file_with_changed_filters_modifies_on_start():
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        state = os.path.join(d, "rc.state")
        with Broker(plugin_opts(sim, state_file=state, event_filter=[PRESENCE_FILTER]), workdir=d) as b, \
                MqttWatcher(b.port) as w:
            w.wait_state("ringcentral", "online")
        sim.call("POST", "/_sim/requests/clear", {})
        with Broker(plugin_opts(sim, state_file=state), workdir=d) as b, MqttWatcher(b.port) as w:
            w.wait_state("ringcentral", "online")
            wait_until(lambda: sim.requests("PUT"), 20, "a PUT with the new filters")
            creates = [r for r in sim.requests("POST") if r["path"] == "/restapi/v1.0/subscription"]
            assert creates == []
            assert sorted(sim.live_subscriptions()[0]["filters"]) == sorted([PRESENCE_FILTER, MESSAGE_FILTER])


def test_state_file_of_expired_subscription_creates_a_new_one():
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        state = os.path.join(d, "rc.state")
        with Broker(plugin_opts(sim, state_file=state), workdir=d) as b, MqttWatcher(b.port) as w:
            w.wait_state("ringcentral", "online")
        sim.expire(tokens=False)
        with Broker(plugin_opts(sim, state_file=state), workdir=d) as b, MqttWatcher(b.port) as w:
            w.wait_state("ringcentral", "online")
            assert len(sim.live_subscriptions()) == 1
            creates = [r for r in sim.requests("POST") if r["path"] == "/restapi/v1.0/subscription"]
            assert len(creates) == 2
            sent = sim.notify(PRESENCE_EVENT, {"n": 1})
            w.wait_for(lambda ms: sent[0]["uuid"] in uuids_of(ms))


if __name__ == "__main__":
    run_tests([test_renewal_across_three_short_lifetimes_without_gap,
               test_sighup_filter_change_modifies_with_put,
               test_shutdown_deletes_the_subscription,
               test_state_file_resumes_without_new_subscription_or_loss,
               test_state_file_with_changed_filters_modifies_on_start,
               test_state_file_of_expired_subscription_creates_a_new_one])
