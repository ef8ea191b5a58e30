"""test_websocket_faults.py - the fault matrix, part 3: faults only WebSocket delivery meets.

Real broker, plugin and the simulator's gateway over TLS; every fault is injected through
the simulator's control API. The connection faults: a dropped, silent (no pong), stalled,
server-closed (WSG-903 absolute timeout, WSG-902 idle timeout) connection is replaced with
a recovery, and every notification arrives once and in order on the same subscription
(harness.Flow with ordered=True, all_routed=True); a refused recovery subscribes again. The
gateway and the REST call WebSocket delivery still makes: a gateway whose certificate is
not trusted or names another host, an outage longer than the recovery window, a filter
change during an outage, wstoken refused. (Faults both transports share are in
test_faults.py; the 5000-event burst in test_burst.py.)

The simulator records socket events in its request log with method "WS": "CONNECT /ws"
(its query holds recoveryState on recovery attempts), "<METHOD> <path>" per ClientRequest
and "Heartbeat". Every wait is on an MQTT message, a log line or a simulator query, each
with a deadline."""
import datetime
import os
import subprocess
import tempfile
import re
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness import (MESSAGE_EVENT, MESSAGE_FILTER, PRESENCE_EVENT, PRESENCE_FILTER,
                     PRESENCE_TOPIC, PYTHON, Broker, Flow, MqttWatcher, Sim, pubnub_calls,
                     rest_subscription_calls, run_tests, stop_process, uuids_on, wait_online,
                     wait_until, websocket_opts, ws_calls, ws_connect_attempts, ws_connects,
                     ws_recovery_connects)

WSTOKEN = {"method": "POST", "path_prefix": "/restapi/oauth/wstoken"}


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


# ---- connection faults: recovered without loss ------------------------------------------------
def test_drop_is_recovered_without_loss():
    with Sim() as sim, Broker(websocket_opts(sim)) as b, MqttWatcher(b.port) as w:
        sub_id = wait_online(w)["subscription_id"]
        with Flow(sim, b, period=0.15) as s:
            s.wait_sent(8)
            conn_id = only_connection(sim)
            dropped_at = time.time()
            assert sim.ws_fault("drop")["connections"] == [conn_id]
            gone_at = wait_gone(sim, conn_id)
            rec = wait_until(lambda: ws_recovery_connects(sim), 15, "a recovering CONNECT")
            s.wait_more(8)
        took = rec[0]["time"] - dropped_at
        delay = first_announced_delay(b)
        lag = wstoken_after(sim, dropped_at) - gone_at - delay
        print("dropped connection: reconnected with recovery after %.2fs (announced backoff "
              "%.2fs, wstoken requested %.2fs after it)" % (took, delay, lag))
        s.check(w, "connection dropped", ordered=True, all_routed=True)
        assert len(ws_connects(sim)) == 2 and ws_recovery_connects(sim, "Failed") == []
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
        first = wait_online(w)["subscription_id"]
        before = sim.notify(PRESENCE_EVENT, {"before": "drop"})
        w.wait_for(lambda ms: before[0]["uuid"] in uuids_on(w), what="a notification before")
        sim.ws_fault("refuse_recovery")
        sim.ws_fault("drop")
        failed = wait_until(lambda: ws_recovery_connects(sim, "Failed"), 15, "a failed recovery")
        status = w.wait_status(lambda s: s["state"] == "online" and s["subscription_id"]
                               not in (None, first), 20, what="online with a new subscription")
        second = status["subscription_id"]
        assert status["recovery_failures"] == 1 and status["recoveries"] == 0, status
        assert status["reconnects"] == 1, status
        posts = ws_calls(sim, "POST")
        assert [r["status"] for r in posts] == [200, 200], posts
        assert posts[1]["time"] >= failed[0]["time"], "the new POST follows the failed recovery"
        assert len(ws_connects(sim)) == 2
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
        sub_id = wait_online(w)["subscription_id"]
        # Healthy pings keep the connection as it is.
        wait_until(lambda: len(sim.requests("WS", "Heartbeat")) >= 2, 10, "heartbeats")
        assert len(ws_connects(sim)) == 1
        with Flow(sim, b, period=0.15) as s:
            s.wait_sent(8)
            fault_at = time.time()
            sim.ws_fault(kind)
            rec = wait_until(lambda: ws_recovery_connects(sim), 20, "a recovering CONNECT")
            s.wait_more(8)
        took = rec[0]["time"] - fault_at
        print("%s: reconnected with recovery after %.2fs" % (kind, took))
        s.check(w, kind, ordered=True, all_routed=True)
        # heartbeat due <= 1 s, pong wait 2 s, a first-failure backoff <= 1 s, a few s slack.
        assert took < 1 + 2 + 1 + 3, "the silent connection was replaced only after %.2fs" % took
        b.wait_log("no pong within 2 s", 5)
        assert len(ws_connects(sim)) == 2 and len(ws_calls(sim, "POST")) == 1
        status = w.wait_status(lambda st: st["recoveries"] == 1 and st["state"] == "online",
                               what="the recovery in status")
        assert status["subscription_id"] == sub_id and status["recovery_failures"] == 0


def test_unanswered_ping_is_a_lost_connection():
    silent_connection_is_replaced("no_pong")


def test_stalled_connection_is_replaced():
    silent_connection_is_replaced("stall")


def test_server_close_absolute_timeout_is_recovered():
    with Sim() as sim, Broker(websocket_opts(sim)) as b, MqttWatcher(b.port) as w:
        sub_id = wait_online(w)["subscription_id"]
        with Flow(sim, b, period=0.15) as s:
            s.wait_sent(8)
            conn_id = only_connection(sim)
            closed_at = time.time()
            sim.ws_fault("close", code=1000, reason="WSG-903: Absolute timeout")
            gone_at = wait_gone(sim, conn_id)
            rec = wait_until(lambda: ws_recovery_connects(sim), 15, "a recovering CONNECT")
            s.wait_more(8)
        took = rec[0]["time"] - closed_at
        handshake = gone_at - closed_at
        delay = first_announced_delay(b)
        lag = wstoken_after(sim, closed_at) - gone_at - delay
        print("WSG-903 close: closing handshake done after %.2fs; reconnected with recovery after "
              "%.2fs (announced backoff %.2fs, wstoken requested %.2fs after it)"
              % (handshake, took, delay, lag))
        s.check(w, "WSG-903 close", ordered=True, all_routed=True)
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


def test_healthy_close_reconnects_after_a_small_random_delay():
    """After a healthy connection is closed by the gateway (its 24 h limit, a restart),
    every bridge behind it would reconnect at the same instant: each waits a random
    0-1 s instead, well inside the recovery window, and still recovers the session."""
    with Sim("--ws-absolute-timeout", "12") as sim, Broker(websocket_opts(sim)) as b, \
            MqttWatcher(b.port) as w:
        sub_id = wait_online(w)["subscription_id"]
        delays = []
        for n in (1, 2):
            line = b.wait_log(r"(?s)(?:.*?reconnecting in \d+ ms){%d}" % n, 30)
            delays.append(int(re.findall(r"reconnecting in (\d+) ms", line.group(0))[-1]))
            wait_until(lambda: len(ws_recovery_connects(sim)) >= n, 15, "recovery %d" % n)
        print("reconnect delays after healthy 12 s connections: %s ms" % delays)
        assert all(0 <= d < 1000 for d in delays), delays
        # Without the spread both would be 0 ms; with it, both 0 has odds of one in 10^6.
        assert any(d > 0 for d in delays), delays
        status = w.wait_status(lambda st: st["recoveries"] == 2 and st["state"] == "online",
                               what="both recoveries in status")
        assert status["subscription_id"] == sub_id


def test_repeated_absolute_timeouts_lose_nothing():
    with Sim("--ws-absolute-timeout", "4") as sim, Broker(websocket_opts(sim)) as b, \
            MqttWatcher(b.port) as w:
        sub_id = wait_online(w)["subscription_id"]
        with Flow(sim, b, period=0.2) as s:
            wait_until(lambda: len(ws_recovery_connects(sim)) >= 3, 60, "three recoveries")
            s.wait_more(5)
        s.check(w, "three WSG-903 closes", ordered=True, all_routed=True)
        times = [c["time"] for c in ws_connects(sim)]
        gaps = [b_ - a - 4 for a, b_ in zip(times, times[1:])]
        print("reconnect delays after each close: %s" % ", ".join("%.1fs" % g for g in gaps))
        # Short-lived connections count as failures: backoff 1, 2, 4 s (with jitter), capped.
        assert all(g < 8 for g in gaps[:3]), gaps
        assert ws_recovery_connects(sim, "Failed") == []
        assert len(ws_calls(sim, "POST")) == 1
        status = w.wait_status(lambda st: st["recoveries"] >= 3, what="three recoveries in status")
        assert status["subscription_id"] == sub_id and status["recovery_failures"] == 0
        # (the connections keep expiring: one more connect may be under way)
        assert status["recoveries"] <= status["reconnects"] <= len(ws_connects(sim)), status
        assert "WSG-903" in b.log_text()


def test_idle_close_is_recovered_without_loss():
    # The plugin stays silent longer than the gateway's idle timeout: WSG-902, recovery.
    with Sim("--ws-idle-timeout", "2") as sim, \
            Broker(websocket_opts(sim, heartbeat_interval=30)) as b, MqttWatcher(b.port) as w:
        sub_id = wait_online(w)["subscription_id"]
        with Flow(sim, b, period=0.15) as s:
            wait_until(lambda: len(ws_recovery_connects(sim)) >= 2, 40, "two recoveries")
            s.wait_more(5)
        s.check(w, "WSG-902 idle closes", ordered=True, all_routed=True)
        b.wait_log(r"WebSocket closed by the server \(1000 WSG-902: Idle timeout\)", 5)
        assert ws_recovery_connects(sim, "Failed") == [] and len(ws_calls(sim, "POST")) == 1
        status = w.wait_status(lambda st: st["recoveries"] >= 2, what="two recoveries in status")
        assert status["subscription_id"] == sub_id and status["recovery_failures"] == 0


# ---- the gateway, its certificate, wstoken and outages ----------------------------------------
def test_untrusted_gateway_certificate_is_refused():
    # wstoken hands out another simulator's gateway, signed by a CA the plugin does not trust.
    with Sim() as sim, Sim() as other:
        sim.config(ws_uri=other.ws_uri)
        with Broker(websocket_opts(sim)) as b, MqttWatcher(b.port) as w:
            status = w.wait_status(lambda s: "certificate" in (s["last_error"] or ""),
                                   what="a certificate error")
            assert status["state"] == "offline"
            assert "WebSocket connection failed" in status["last_error"], status["last_error"]
            # It keeps trying, with backoff: a handful of attempts, not a storm.
            time.sleep(6)   # a window to count attempts in, not a synchronisation
            attempts = len(sim.requests("POST", "/restapi/oauth/wstoken"))
            assert 2 <= attempts <= 6, attempts
        # Nothing was ever said to the untrusted gateway (the upgrade never happened).
        assert ws_connect_attempts(other) == []
        assert other.requests() == []


def make_ca_and_cert(directory, dns_name):
    """A throwaway CA and a server certificate for dns_name only (no IP address)."""
    now = datetime.datetime.utcnow()
    day = datetime.timedelta(days=1)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - day)
          .not_valid_after(now + day)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - day).not_valid_after(now + day)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = [os.path.join(directory, n) for n in ("other-ca.pem", "cert.pem", "key.pem")]
    for path, data in zip(paths, (ca.public_bytes(serialization.Encoding.PEM),
                                  cert.public_bytes(serialization.Encoding.PEM),
                                  key.private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))):
        with open(path, "wb") as f:
            f.write(data)
    return paths


# A WebSocket server with the given certificate, in its own process; prints its port, then
# one line per upgrade it accepted.
TLS_WS_SERVER = """
import asyncio, ssl, sys, websockets
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
async def handler(ws, path=None):
    print("UPGRADED", flush=True)
    await ws.close()
async def main():
    server = await websockets.serve(handler, "127.0.0.1", 0, ssl=ctx)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Future()
asyncio.run(main())
"""

def test_gateway_certificate_for_another_host_is_refused():
    # A gateway whose certificate chains to a trusted CA but names another host: the
    # plugin must check the name (here the IP address it connects to), not only the chain.
    with tempfile.TemporaryDirectory() as d, Sim() as sim:
        other_ca, cert, key = make_ca_and_cert(d, "gateway.example")
        trusted = os.path.join(d, "trusted.pem")
        with open(trusted, "w") as f, open(sim.cafile) as a, open(other_ca) as b:
            f.write(a.read() + b.read())
        out = os.path.join(d, "server.out")
        with open(out, "w") as o:
            server = subprocess.Popen([PYTHON, "-c", TLS_WS_SERVER, cert, key], stdout=o,
                                      stderr=subprocess.STDOUT)
        try:
            port = wait_until(lambda: open(out).read().split("\n")[0].strip().isdigit()
                              and int(open(out).read().split("\n")[0]), 20, "the TLS server")
            sim.config(ws_uri="wss://127.0.0.1:%d/ws" % port)
            with Broker(websocket_opts(sim, cafile=trusted)) as b, MqttWatcher(b.port) as w:
                status = w.wait_status(lambda s: "mismatch" in (s["last_error"] or ""),
                                       what="a name mismatch error")
                assert status["state"] == "offline", status
        finally:
            stop_process(server)
        assert "UPGRADED" not in open(out).read()


def test_outage_longer_than_the_recovery_window_subscribes_again():
    with Sim("--ws-recovery-timeout", "2") as sim, Broker(websocket_opts(sim)) as b, MqttWatcher(b.port) as w:
        first = w.wait_status(lambda s: s["state"] == "online", what="online")["subscription_id"]
        # Hold the outage: no wstoken for 4 s, twice the recovery window.
        sim.fault(match=WSTOKEN, status=503, count=-1)
        sim.ws_fault("drop")
        w.wait_state("ringcentral", "offline")
        lost_at = time.monotonic()
        wait_until(lambda: time.monotonic() - lost_at > 4, 10, "the outage to outlast recovery")
        sim.clear_faults()
        status = w.wait_status(lambda s: s["state"] == "online" and s["subscription_id"] != first,
                               60, what="online with a new subscription")
        assert status["recoveries"] == 0
        # Past the window the plugin does not present a stale wsc token: it starts afresh.
        last = ws_connect_attempts(sim)[-1]
        assert last["query"].get("recoveryState") is None, last
        assert len(ws_calls(sim, "POST")) == 2
        sent = sim.notify(PRESENCE_EVENT, {"after": "outage"})
        w.wait_for(lambda ms: sent[0]["uuid"] in uuids_on(w), what="a notification after it")


def test_filter_change_during_an_outage_is_applied_after_recovery():
    with tempfile.TemporaryDirectory() as d:
        filters = os.path.join(d, "filters")
        with open(filters, "w") as f:
            f.write(PRESENCE_FILTER + "\n")
        with Sim() as sim, Broker(websocket_opts(sim, event_filter=None, filters_file=filters)) as b, \
                MqttWatcher(b.port) as w:
            w.wait_state("ringcentral", "online")
            sim.fault(match=WSTOKEN, status=503, count=-1)
            sim.ws_fault("drop")
            w.wait_state("ringcentral", "offline")
            with open(filters, "w") as f:
                f.write(PRESENCE_FILTER + "\n" + MESSAGE_FILTER + "\n")
            b.sighup()
            b.wait_log("reload: 2 event filter")
            assert sim.requests("WS", "PUT") == []   # nothing can go out while down
            sim.clear_faults()
            wait_until(lambda: [r for r in sim.requests("WS", "PUT") if r["status"] == 200], 30,
                       "the PUT after the recovery")
            status = w.wait_status(lambda s: len(s["event_filters"]) == 2 and s["state"] == "online",
                                   what="both filters")
            assert status["recoveries"] == 1 and status["recreations"] == 0
            sent = sim.notify(MESSAGE_EVENT, {"new": "filter"})
            w.wait_for(lambda ms: sent and sent[0]["uuid"] in
                       uuids_on(w, "ringcentral/account/~/extension/823476228762/message-store"),
                       what="a message-store notification")


def test_wstoken_refused_then_recovers():
    with Sim() as sim:
        # A 401 on wstoken means the access token is dead: log in again and carry on;
        # then two 503s are backed off from.
        sim.fault(match=WSTOKEN, status=401, count=1,
                  body={"errorCode": "AGW-401", "message": "Token expired"})
        sim.fault(match=WSTOKEN, status=503, count=2)
        with Broker(websocket_opts(sim)) as b, MqttWatcher(b.port) as w:
            w.wait_state("ringcentral", "online", 30)
        calls = [r["status"] for r in sim.requests("POST", "/restapi/oauth/wstoken")]
        assert calls == [401, 503, 503, 200], calls
        logins = sim.requests("POST", "/restapi/oauth/token")
        assert len(logins) >= 2, logins   # the 401 cost the access token


if __name__ == "__main__":
    run_tests([test_drop_is_recovered_without_loss,
               test_refused_recovery_subscribes_again,
               test_unanswered_ping_is_a_lost_connection,
               test_stalled_connection_is_replaced,
               test_server_close_absolute_timeout_is_recovered,
               test_healthy_close_reconnects_after_a_small_random_delay,
               test_repeated_absolute_timeouts_lose_nothing,
               test_idle_close_is_recovered_without_loss,
               test_untrusted_gateway_certificate_is_refused,
               test_gateway_certificate_for_another_host_is_refused,
               test_outage_longer_than_the_recovery_window_subscribes_again,
               test_filter_change_during_an_outage_is_applied_after_recovery,
               test_wstoken_refused_then_recovers],
              transport="websocket")
