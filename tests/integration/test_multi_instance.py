"""test_multi_instance.py - several RingCentral accounts in one broker: one plugin instance
per account, side by side, sharing nothing.

Two `plugin` lines with different options (each its own simulated account, its own
topic_prefix, its own filters file; one over PubNub, one over WebSocket) run in one real
broker. Mosquitto 2.0.11 refuses a second instance of the same library file: it dlopen()s
the path, which gives the handle it already has (a symlink or a hard link too: glibc
compares the file), so the second init registers the very same callback functions and the
broker answers MOSQ_ERR_ALREADY_EXISTS; the broker stops at start-up. The supported way is
a copy of the library per extra instance, which is what runs here:

- each instance's notifications arrive only on its own topics, and its bridge/state and
  bridge/status are its own (its subscription, its counters, its transport);
- SIGHUP: Mosquitto 2.0.x stops handing MOSQ_EVT_RELOAD down its list of plugins at the
  first callback that does not answer MOSQ_ERR_PLUGIN_DEFER; this plugin defers, so both
  instances apply their own filters file, each with a PUT to its own account (over REST
  for the PubNub one, over the socket for the WebSocket one) and nothing in the other;
- shutdown deletes both subscriptions (each simulator sees its DELETE).

Run one: /usr/bin/python3 test_multi_instance.py test_x"""
import os
import shutil
import tempfile

from harness import (MESSAGE_EVENT, MESSAGE_FILTER, PLUGIN, PLUGIN_VERSION, PRESENCE_EVENT,
                     PRESENCE_FILTER, SUB_PATH, Broker, MqttWatcher, Sim, plugin_opts,
                     rest_subscription_calls, run_tests, transport_opts, wait_online,
                     wait_until, ws_calls)

SESSIONS_FILTER = "/restapi/v1.0/account/~/telephony/sessions"
SESSIONS_EVENT = "/restapi/v1.0/account/~/telephony/sessions"
# The two accounts: prefix, transport, the filter SIGHUP adds.
A = {"prefix": "office/a", "transport": "pubnub", "added": MESSAGE_FILTER}
B = {"prefix": "office/b", "transport": "websocket", "added": SESSIONS_FILTER}


def write_filters(path, filters):
    with open(path, "w") as f:
        f.write("".join(x + "\n" for x in filters))


def uuids_under(w, prefix):
    """Notification uuids w received under prefix (the bridge topics left out)."""
    return [m.user_properties.get("uuid") for m in w.on_topic(prefix + "/")
            if not m.topic.startswith(prefix + "/bridge/")]


def test_same_library_twice_is_refused():
    # The documented limit: the same file (or a symlink to it) as a second instance stops
    # the broker at start-up, naming the callback it could not register.
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        link = os.path.join(d, "link.so")
        os.symlink(PLUGIN, link)
        for second in (PLUGIN, link):
            # Mosquitto 2.0.11 then exits without cleaning up the first instance. Its worker
            # thread starts only at the first TICK, so nothing of it is running: the broker
            # exits with an error code, not a crash (a thread started in init crashed it in
            # about 4 runs of 10). What the first instance allocated is never freed, which is
            # the broker's doing: no exit-time leak check in the sanitizer run.
            broker = Broker(plugin_opts(sim, topic_prefix="office/a"),
                            extra_plugins=[(second, plugin_opts(sim, topic_prefix="office/b"))],
                            env={"ASAN_OPTIONS": "detect_leaks=0"})
            code = broker.start(expect_running=False)
            log = broker.log_text()
            assert code > 0, (second, code, log)
            assert sim.live_subscriptions() == [], "no subscription made by a broker that never ran"
            assert "Loading plugin: %s" % second in log, log
            assert "ringcentral: Error: cannot register the tick callback" in log, log
            assert log.count("ringcentral: started (") == 1, log


def test_two_accounts_side_by_side():
    with Sim() as sim_a, Sim() as sim_b, tempfile.TemporaryDirectory() as d:
        # A copy of the library: a file of its own, so the broker gets a second handle.
        copy = os.path.join(d, "mosquitto_ringcentral_b.so")
        shutil.copyfile(PLUGIN, copy)
        files = {}
        for acct, sim in ((A, sim_a), (B, sim_b)):
            files[acct["prefix"]] = os.path.join(d, acct["prefix"].replace("/", "_") + ".filters")
            write_filters(files[acct["prefix"]], [PRESENCE_FILTER])
        opts_a = transport_opts(sim_a, A["transport"], topic_prefix=A["prefix"], event_filter=None,
                                filters_file=files[A["prefix"]])
        opts_b = transport_opts(sim_b, B["transport"], topic_prefix=B["prefix"], event_filter=None,
                                filters_file=files[B["prefix"]])
        broker = Broker(opts_a, extra_plugins=[(copy, opts_b)])
        with broker, MqttWatcher(broker.port) as w:
            status = {A["prefix"]: wait_online(w, A["prefix"]), B["prefix"]: wait_online(w, B["prefix"])}
            log = broker.log_text()
            for acct, sim in ((A, sim_a), (B, sim_b)):
                assert ("ringcentral: started (version %s, %s transport, server %s)"
                        % (PLUGIN_VERSION, acct["transport"], sim.url)) in log, log
                # Each status is its own: its account's one live subscription, its transport.
                s = status[acct["prefix"]]
                live = sim.live_subscriptions()
                assert [x["id"] for x in live] == [s["subscription_id"]], (live, s)
                assert s["transport"] == acct["transport"] and s["event_filters"] == [PRESENCE_FILTER]
            assert status[A["prefix"]]["subscription_id"] != status[B["prefix"]]["subscription_id"]

            # The same event in both accounts: 3 in A, 2 in B, each on its own topics only.
            sent = {A["prefix"]: [], B["prefix"]: []}
            for acct, sim, n in ((A, sim_a, 3), (B, sim_b, 2)):
                for i in range(n):
                    got = sim.notify(PRESENCE_EVENT, {"account": acct["prefix"], "n": i})
                    assert len(got) == 1, got
                    sent[acct["prefix"]].append(got[0]["uuid"])
            for prefix in sent:
                w.wait_for(lambda ms, p=prefix: set(sent[p]) <= set(uuids_under(w, p)),
                           what="the notifications of " + prefix)
                w.wait_status(lambda s, p=prefix: s["published"] == len(sent[p]), prefix=prefix,
                              what=prefix + " published")
            for prefix in sent:
                assert uuids_under(w, prefix) == sent[prefix], (prefix, uuids_under(w, prefix))
                s = w.last_status(prefix)
                assert s["received"] == len(sent[prefix]) and s["duplicates"] == 0, s
                assert s["last_notification_at"] is not None, s
            assert w.on_topic("ringcentral/") == [], "nothing under the default prefix"

            # SIGHUP with both filters files changed: each instance applies its own file to
            # its own account.
            for acct in (A, B):
                write_filters(files[acct["prefix"]], [PRESENCE_FILTER, acct["added"]])
            broker.sighup()
            for acct, sim in ((A, sim_a), (B, sim_b)):
                want = sorted([PRESENCE_FILTER, acct["added"]])
                wait_until(lambda sim=sim, want=want:
                           [sorted(x["filters"]) for x in sim.live_subscriptions()] == [want],
                           20, "the new filters of " + acct["prefix"])
                s = w.wait_status(lambda s, want=want: sorted(s["event_filters"]) == want,
                                  prefix=acct["prefix"], what="the new filters of " + acct["prefix"])
                assert s["subscription_id"] == status[acct["prefix"]]["subscription_id"], s
            assert [r["status"] for r in sim_a.requests("PUT", SUB_PATH)] == [200]
            assert len(ws_calls(sim_b, "PUT")) == 1 and rest_subscription_calls(sim_b) == []
            assert broker.log_text().count("ringcentral: reload: ") == 2, broker.log_text()
            # Each added event reaches its own instance's topics only.
            late_a = sim_a.notify(MESSAGE_EVENT, {"after": "reload"})
            late_b = sim_b.notify(SESSIONS_EVENT, {"after": "reload"})
            assert len(late_a) == 1 and len(late_b) == 1, (late_a, late_b)
            w.wait_for(lambda ms: late_a[0]["uuid"] in uuids_under(w, A["prefix"]) and
                       late_b[0]["uuid"] in uuids_under(w, B["prefix"]),
                       what="the added event of each instance")
            assert late_a[0]["uuid"] not in uuids_under(w, B["prefix"])
            assert late_b[0]["uuid"] not in uuids_under(w, A["prefix"])

            code, took = broker.stop()
        assert code == 0 and took < 5, (code, took)
        # Each instance deleted its own subscription in its own account.
        ids = {p: s["subscription_id"] for p, s in status.items()}
        assert [r["status"] for r in sim_a.requests("DELETE", SUB_PATH + "/" + ids[A["prefix"]])] == [204]
        assert [(r["path"], r["status"]) for r in ws_calls(sim_b, "DELETE")] == [
            ("DELETE %s/%s" % (SUB_PATH, ids[B["prefix"]]), 204)]
        assert sim_a.live_subscriptions() == [] and sim_b.live_subscriptions() == []


if __name__ == "__main__":
    run_tests([test_same_library_twice_is_refused,
               test_two_accounts_side_by_side])
