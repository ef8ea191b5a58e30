"""test_pubnub_faults.py - the fault matrix, part 2: faults only PubNub delivery meets.

The REST subscription calls PubNub delivery makes (renew, create: a revoked token, 429
Retry-After, 5xx, connection resets, stalls; the subscription limit and orphans) and the
PubNub long-poll (errors, timeouts, 403), plus a clock jump that expires everything at
once. As in test_faults.py (the faults both transports share): a fault is injected through
the simulator while notifications flow (harness.Flow), the bridge must recover by itself
within the bound, every notification the server accepted for a live subscription must reach
MQTT exactly once, the broker must keep answering (MQTT round trip under 1 s), and
bridge/state and bridge/status must tell the truth. WebSocket's own faults are in
test_websocket_faults.py.

Each test prints what it measured (recovery time, sent/received/duplicates)."""
import json
import os
import re
import tempfile
import time

from harness import (PRESENCE_EVENT, Broker, Flow, MqttWatcher, Sim, plugin_opts, run_tests,
                     wait_until)


def online(w, timeout=60):
    return w.wait_state("ringcentral", "online", timeout)


def test_token_revoked_401_then_refresh_or_login():
    with Sim("--max-expires-in", "20") as sim, Broker(plugin_opts(sim, expires_in=20)) as b, \
            MqttWatcher(b.port) as w:
        online(w)
        with Flow(sim, b) as flow:
            flow.wait_sent(5)
            start = time.monotonic()
            sim.call("POST", "/_sim/revoke", {})
            # The next renewal gets a 401, the refresh is refused, a full login follows.
            wait_until(lambda: any(r["status"] == 401 for r in sim.requests("POST", "/restapi/v1.0/subscription/")),
                       30, "a 401 on renew")
            wait_until(lambda: [r for r in sim.requests("POST", "/restapi/v1.0/subscription/")
                                if r["status"] == 200 and r["time"] > time.time() - 5], 30,
                       "a successful renew after the 401")
            took = time.monotonic() - start
        flow.check(w, "token revoked")
        assert len([s for s in sim.subscriptions()]) == 1, "must renew, not re-create"
        print("recovered from revoked tokens in %.1fs (includes waiting for the renewal)" % took)


def test_rate_limited_renew_waits_for_retry_after():
    with Sim("--max-expires-in", "20") as sim, Broker(plugin_opts(sim, expires_in=20)) as b, \
            MqttWatcher(b.port) as w:
        online(w)
        sim.fault(match={"method": "POST", "path_prefix": "/restapi/v1.0/subscription/"}, status=429,
                  headers={"Retry-After": "4", "X-Rate-Limit-Group": "Light"},
                  body={"errorCode": "CMN-301", "message": "Request rate exceeded"}, count=1)
        with Flow(sim, b) as flow:
            wait_until(lambda: [r for r in sim.requests("POST", "/restapi/v1.0/subscription/")
                                if r["status"] == 200], 40, "a renew after the 429")
        renews = sim.requests("POST", "/restapi/v1.0/subscription/")
        assert renews[0]["status"] == 429
        gap = renews[1]["time"] - renews[0]["time"]
        assert gap >= 4, "retried after %.2fs despite Retry-After: 4" % gap
        flow.check(w, "429 on renew")
        print("429 Retry-After 4: next request after %.1fs" % gap)


def test_server_errors_resets_and_stalls_recover():
    """Each fault hits the create that follows a server-side expiry. Recovery is measured
    by events (the first notification sent after the fault arriving), not by a flip of
    bridge/state: a recovery inside one broker tick never shows there. Each phase must also
    prove the plugin saw its fault (a failed create in the log and in last_error): libcurl
    silently retries a request whose reused connection was closed, once per pooled
    connection, so a reset that only those retries met would test nothing."""
    phases = (
        ({"status": 503, "body": {"errorCode": "CMN-211"}, "count": 3}, "503",
         r"create failed: HTTP 503"),
        # More resets than libcurl has pooled connections to retry on (REST and the
        # long-poll): at least one reaches the plugin, and the backoff stays short.
        ({"close": True, "count": 4}, "connection reset",
         r"create failed: (?!HTTP)"),
        # The stalled create finally fails (503) instead of creating a subscription after
        # the plugin gave up on it: such an orphan would take its own copy of every
        # notification sent meanwhile, which no one reads (a race that made this test fail
        # now and then, depending on how long the recovery took).
        ({"delay": 5, "status": 503, "body": {"errorCode": "CMN-211"}, "count": 1},
         "stalled response",
         r"create failed: .*(?:[Tt]imeout|timed out)"),
    )
    with Sim() as sim, Broker(plugin_opts(sim, request_timeout=3)) as b, MqttWatcher(b.port) as w:
        online(w)
        with Flow(sim, b) as flow:
            for fault, what, seen in phases:
                flow.quiesced(w)
                log_before = len(b.log_text())
                sim.fault(match={"method": "POST", "path_prefix": "/restapi/v1.0/subscription"},
                          **fault)
                start = time.monotonic()
                sim.expire(subscriptions=True, tokens=False)  # forces a create through the fault
                flow.resume()
                took = flow.recovered_after(w, start, 60)
                failures = re.findall(seen, b.log_text()[log_before:])
                print("%s: notifications flowing again after %.1fs (%d failed create(s) seen)"
                      % (what, took, len(failures)))
                assert failures, "the plugin never saw the %s" % what
                assert took < 60
                sim.clear_faults()  # resets pooled retries did not consume
                status = w.wait_status(lambda s: s["state"] == "online" and s["subscription_id"])
                assert status["subscription_id"] == sim.live_subscriptions()[0]["id"]
        flow.check(w, "503, resets and a stall on create")
        assert len(sim.live_subscriptions()) == 1


def test_pubnub_errors_and_timeouts():
    with Sim("--long-poll-timeout", "1") as sim, Broker(plugin_opts(sim)) as b, MqttWatcher(b.port) as w:
        online(w)
        with Flow(sim, b) as flow:
            # Long-poll timeouts are normal: several empty polls, no error.
            wait_until(lambda: len(sim.requests("GET", "/v2/subscribe/")) >= 4, 20, "empty polls")
            assert w.last_status()["last_error"] is None
            for status, body in ((400, {"message": "Invalid", "error": True}), (500, None),
                                 (200, "garbage")):
                sim.fault(match={"method": "GET", "path_prefix": "/v2/subscribe/"},
                          status=status, body=body, count=1)
            first_error = wait_until(lambda: [r for r in sim.requests("GET", "/v2/subscribe/")
                                              if r["status"] == 400], 20, "the injected poll errors")
            # The 500 and the garbage answer follow the 400, then a poll that works.
            wait_until(lambda: len([r for r in sim.requests("GET", "/v2/subscribe/")
                                    if r["time"] > first_error[0]["time"]]) >= 3, 30,
                       "the polls after the injected errors")
            flow.wait_more(5)
        flow.check(w, "PubNub 400/500/garbage")
        assert len(sim.subscriptions()) == 1
        online(w)


def test_pubnub_403_recreates():
    with Sim() as sim, Broker(plugin_opts(sim)) as b, MqttWatcher(b.port) as w:
        online(w)
        sim.fault(match={"method": "GET", "path_prefix": "/v2/subscribe/"}, status=403,
                  body={"message": "Forbidden", "error": True, "status": 403}, count=1)
        sim.notify(PRESENCE_EVENT, {"kick": 1})  # ends the current long-poll so the next one hits the fault
        wait_until(lambda: len(sim.subscriptions()) == 2, 30, "a new subscription after PubNub 403")
        old, new = sim.subscriptions()
        assert old["status"] == "deleted", "the old subscription must not be leaked"
        online(w)


def test_clock_jump_expires_everything():
    with Sim() as sim, Broker(plugin_opts(sim)) as b, MqttWatcher(b.port) as w:
        online(w)
        with Flow(sim, b) as flow:
            flow.wait_sent(5)
            flow.quiesced(w)
            start = time.monotonic()
            sim.expire(subscriptions=True, tokens=True)
            flow.resume()
            took = flow.recovered_after(w, start, 60)
        flow.check(w, "everything expired at once")
        w.wait_state("ringcentral", "online")
        print("recovered from a simulated suspend: notifications flowing again after %.1fs" % took)


def test_sighup_during_renew_and_shutdown_during_stall():
    with Sim("--max-expires-in", "20") as sim:
        b = Broker(plugin_opts(sim, expires_in=20))
        with b, MqttWatcher(b.port) as w:
            online(w)
            sim.fault(match={"method": "POST", "path_prefix": "/restapi/v1.0/subscription/"}, delay=60,
                      status=200, count=1)
            wait_until(lambda: b.log_text().count("ringcentral: renew") >= 1, 30, "a renew in flight")
            b.sighup()
            b.wait_log("event filters unchanged")
            code, took = b.stop()
            print("shutdown during a stalled renew took %.2fs" % took)
            assert code == 0 and took < 5


def test_subscription_limit_deletes_only_orphans_this_bridge_created():
    """At the subscription limit (SUB-505) the bridge deletes only subscriptions it can
    prove it created (ids recorded in its state file), never one that merely looks like
    its own: two brokers on one account (staging and production, a failover pair) must
    not delete each other's subscriptions."""
    with Sim("--max-subscriptions", "1") as sim, tempfile.TemporaryDirectory() as d:
        state = os.path.join(d, "rc.state")
        opts = plugin_opts(sim, state_file=state)
        with Broker(opts, workdir=d) as b, MqttWatcher(b.port) as w:
            online(w)
        ours = sim.live_subscriptions()[0]["id"]
        with open(state) as f:
            saved = json.load(f)
        assert saved["owned_subscriptions"] == [ours], saved
        # Another bridge's state file (same app, same user, same filters) is a fresh one:
        # it knows nothing of `ours`. It must leave it alone and report the limit.
        other = os.path.join(d, "other.state")
        with Broker(plugin_opts(sim, state_file=other), workdir=d) as b, MqttWatcher(b.port) as w:
            status = w.wait_status(lambda s: s["last_error"] and "SUB-505" in s["last_error"], 20)
            assert status["state"] == "offline"
        assert not sim.requests("DELETE"), sim.requests("DELETE")
        assert ours in [s["id"] for s in sim.live_subscriptions()]
        # The first bridge lost track of its live subscription (its saved id is gone, as
        # after a failed delete and a crash) but recorded that it created `ours`: that
        # one is its orphan, deleted to make room.
        saved["subscription_id"] = "lost-" + ours
        with open(state, "w") as f:
            json.dump(saved, f)
        sim.clear_requests()
        with Broker(opts, workdir=d) as b, MqttWatcher(b.port) as w:
            online(w)
            creates = [r for r in sim.requests("POST") if r["path"] == "/restapi/v1.0/subscription"]
            assert [r["status"] for r in creates] == [403, 200], creates
            assert [r["status"] for r in sim.requests("DELETE")] == [204]
            assert ours not in [s["id"] for s in sim.live_subscriptions()]
            b.wait_log("deleted orphan subscription " + ours)
        with open(state) as f:
            saved = json.load(f)
        assert ours not in saved["owned_subscriptions"], saved
        # Without a state file nothing of earlier runs is known: the limit is reported
        # clearly and not worked around.
        with Broker(plugin_opts(sim)) as b, MqttWatcher(b.port) as w:
            status = w.wait_status(lambda s: s["last_error"] and "SUB-505" in s["last_error"], 20)
            assert status["state"] == "offline"


if __name__ == "__main__":
    run_tests([test_token_revoked_401_then_refresh_or_login,
               test_rate_limited_renew_waits_for_retry_after,
               test_server_errors_resets_and_stalls_recover,
               test_pubnub_errors_and_timeouts,
               test_pubnub_403_recreates,
               test_clock_jump_expires_everything,
               test_sighup_during_renew_and_shutdown_during_stall,
               test_subscription_limit_deletes_only_orphans_this_bridge_created],
              transport="pubnub")
