"""test_faults.py - the fault matrix, part 1: faults both transports must survive alike.

Inject a fault through the simulator while notifications flow (harness.Flow), and check that
the bridge recovers by itself within the bound, that every notification the server accepted
for a live subscription reaches MQTT exactly once, that the broker keeps answering (MQTT
round trip under 1 s) and that bridge/state and bridge/status tell the truth. Every test
here runs once per transport (test_x[pubnub], test_x[websocket]). Faults only one transport
can meet are in test_pubnub_faults.py (REST renew/create, PubNub polls) and
test_websocket_faults.py (the socket, the gateway, wstoken).

Each test prints what it measured (recovery time, sent/received/duplicates)."""
import ssl
import time
import urllib.request

from harness import (SIM_CREDENTIALS, Broker, Flow, MqttWatcher, PRESENCE_EVENT, Sim,
                     per_transport, run_tests, transport_opts, uuids_on, wait_online,
                     wait_until, ws_calls, ws_connect_attempts)


@per_transport()
def test_refresh_token_rejected_gives_full_login(transport):
    with Sim("--access-token-ttl", "6") as sim, Broker(transport_opts(sim, transport)) as b, \
            MqttWatcher(b.port) as w:
        w.wait_state("ringcentral", "online", 60)
        sim.fault(match={"method": "POST", "path_prefix": "/restapi/oauth/token"}, status=400,
                  body={"error": "invalid_grant", "error_description": "Token is revoked"}, count=1)
        with Flow(sim, b) as flow:
            # Refresh at ~4.8 s is refused; a login must follow at once.
            wait_until(lambda: len([r for r in sim.requests("POST", "/restapi/oauth/token")
                                    if r["status"] == 200]) >= 2, 20, "a login after the refused refresh")
        tokens = sim.requests("POST", "/restapi/oauth/token")
        assert [r["status"] for r in tokens][:3] == [200, 400, 200], tokens
        assert tokens[2]["time"] - tokens[1]["time"] < 2, "login must follow the refused refresh at once"
        b.wait_log("refresh failed")
        flow.check(w, "refresh token rejected")


@per_transport()
def test_wrong_credentials_clear_error_and_no_storm(transport):
    with Sim("--client-secret", "the-real-secret") as sim, \
            Broker(transport_opts(sim, transport)) as b, MqttWatcher(b.port) as w:
        status = w.wait_status(lambda s: s["last_error"] and "login failed" in s["last_error"], 20)
        assert "HTTP 401" in status["last_error"] and status["state"] == "offline"
        assert status["transport"] == transport, status
        start = time.time()
        # Watch 45 s of retries: a few attempts, never a storm.
        wait_until(lambda: time.time() - start > 45, 60, "45 seconds", interval=1)
        attempts = [r for r in sim.requests("POST", "/restapi/oauth/token")]
        per_minute = len(attempts) * 60 / (time.time() - attempts[0]["time"])
        print("wrong credentials: %d login attempts in %.0fs" % (len(attempts), time.time() - attempts[0]["time"]))
        assert len(attempts) <= 4 and per_minute <= 6, attempts
        # Not even the secret's stem ("sim-client-secret") is logged.
        assert SIM_CREDENTIALS["client_secret"].rsplit("-", 1)[0] not in b.log_text()
        # Nothing past the failed login: no subscription, no socket.
        assert sim.subscriptions() == [] and ws_connect_attempts(sim) == []


def rest_delete_subscription(sim, sub_id):
    """DELETE over REST, as another app (or an admin) would: the gateway is not told."""
    token = sim.login()["access_token"]
    req = urllib.request.Request(sim.url + "/restapi/v1.0/subscription/" + sub_id,
                                 method="DELETE", headers={"Authorization": "Bearer " + token})
    ctx = ssl.create_default_context(cafile=sim.cafile)
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return r.status


def end_pubnub_subscription(sim, sub_id):
    # Expired server-side: PubNub refuses its channel at the next poll.
    sim.expire(subscriptions=True, tokens=False)


def end_websocket_subscription(sim, sub_id):
    # Deleted by another app while the connection stays up: the plugin reads its
    # subscription back every half lifetime (10 s here) and gets a 404.
    assert rest_delete_subscription(sim, sub_id) == 204


# How the subscription ends server-side, and the simulator's options for it.
END_SUBSCRIPTION = {"pubnub": ((), end_pubnub_subscription),
                    "websocket": (("--max-expires-in", "20"), end_websocket_subscription)}


@per_transport()
def test_subscription_deleted_server_side_is_recreated(transport):
    sim_args, end = END_SUBSCRIPTION[transport]
    with Sim(*sim_args) as sim, Broker(transport_opts(sim, transport)) as b, \
            MqttWatcher(b.port) as w:
        first = wait_online(w, timeout=60)["subscription_id"]
        assert [s["id"] for s in sim.live_subscriptions()] == [first]
        with Flow(sim, b) as flow:
            flow.wait_sent(5)
            flow.quiesced(w)
            start = time.monotonic()
            end(sim, first)
            flow.resume()
            took = flow.recovered_after(w, start, 30)
            wait_until(lambda: sim.live_subscriptions(), 30, "a new subscription")
        flow.check(w, "subscription ended server-side", ordered=True)
        subs = sim.subscriptions()
        assert len(subs) == 2 and sim.live_subscriptions()[0]["id"] != first, subs
        status = w.wait_status(lambda s: s["recreations"] == 1)
        assert status["state"] == "online", status
        status = w.wait_status(lambda s: s["subscription_id"] not in (None, "", first)
                               and s["state"] == "online", 30, what="a new subscription")
        assert status["recreations"] == 1, status
        assert status["subscription_id"] == sim.live_subscriptions()[0]["id"]
        if transport == "websocket":
            gets = sim.requests("WS", "GET /restapi/v1.0/subscription/" + first)
            assert gets and gets[-1]["status"] == 404, gets
            assert len(ws_calls(sim, "POST")) == 2
            assert len(ws_connect_attempts(sim)) == 1      # repaired on the same connection
        sent = sim.notify(PRESENCE_EVENT, {"after": "recreate"})
        assert sent[0]["subscription_id"] == status["subscription_id"]
        w.wait_for(lambda ms: sent[0]["uuid"] in uuids_on(w), what="a notification after it")
        print("re-created the subscription; notifications flowing again after %.1fs" % took)


@per_transport()
def test_untrusted_cafile_reaches_no_server(transport):
    with Sim() as sim, Sim() as other:
        # other's CA did not sign sim's certificate.
        with Broker(transport_opts(sim, transport, cafile=other.cafile)) as b, \
                MqttWatcher(b.port) as w:
            status = w.wait_status(lambda s: s["last_error"], what="an error in status")
            print("untrusted CA: last_error = %s" % status["last_error"])
            err = status["last_error"].lower()
            assert "certificate" in err or "ssl" in err or "tls" in err, status["last_error"]
            assert status["state"] == "offline" and status["transport"] == transport
            assert not status["subscription_id"], status
            # It tries again (with backoff), failing the same way; nothing reaches the simulator.
            wait_until(lambda: b.log_text().count("login failed") >= 2, 30, "a second attempt")
            state = [m.payload for m in w.on_topic("ringcentral/bridge/state")]
            assert state and set(state) == {b"offline"}, state
        assert sim.requests() == [], sim.requests()
        assert sim.ws_connections()["connections"] == []
        assert other.requests() == []


if __name__ == "__main__":
    run_tests([test_refresh_token_rejected_gives_full_login,
               test_wrong_credentials_clear_error_and_no_storm,
               test_subscription_deleted_server_side_is_recreated,
               test_untrusted_cafile_reaches_no_server])
