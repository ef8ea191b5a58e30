"""test_websocket_faults.py - WebSocket delivery when the gateway or the network misbehaves.

Beyond the connection faults of test_websocket.py: a gateway whose certificate is not
trusted, a subscription deleted server-side while the connection stays up, an outage
longer than the recovery window, a filter change during an outage, and the
REST call WebSocket delivery still makes (wstoken) failing. (The WebSocket burst is in
test_burst.py.) Real broker, plugin and
simulator over TLS; every fault is injected through the simulator's control API."""
import datetime
import os
import ssl
import subprocess
import tempfile
import time
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness import (MESSAGE_FILTER, PRESENCE_FILTER, PYTHON, Broker, MqttWatcher, Sim,
                     plugin_opts, run_tests, stop_process, wait_until)

PRESENCE_EVENT = "/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true"
MESSAGE_EVENT = "/restapi/v1.0/account/~/extension/823476228762/message-store"
PRESENCE_TOPIC = "ringcentral/account/~/extension/401550809004/presence"
WSTOKEN = {"method": "POST", "path_prefix": "/restapi/oauth/wstoken"}


def ws_opts(sim, **overrides):
    return plugin_opts(sim, **dict({"transport": "websocket"}, **overrides))


def connects(sim):
    return sim.requests("WS", "CONNECT")


def ws_posts(sim):
    return sim.requests("WS", "POST /restapi/v1.0/subscription")


def uuids_on(w, topic=PRESENCE_TOPIC):
    return [m.user_properties.get("uuid") for m in w.on_topic(topic)]


def rest_delete_subscription(sim, sub_id):
    """DELETE over REST, as another app (or an admin) would: the gateway is not told."""
    token = sim.login()["access_token"]
    req = urllib.request.Request(sim.url + "/restapi/v1.0/subscription/" + sub_id,
                                 method="DELETE", headers={"Authorization": "Bearer " + token})
    ctx = ssl.create_default_context(cafile=sim.cafile)
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return r.status


def test_untrusted_gateway_certificate_is_refused():
    # wstoken hands out another simulator's gateway, signed by a CA the plugin does not trust.
    with Sim() as sim, Sim() as other:
        sim.config(ws_uri=other.ws_uri)
        with Broker(ws_opts(sim)) as b, MqttWatcher(b.port) as w:
            status = w.wait_status(lambda s: "certificate" in (s["last_error"] or ""),
                                   what="a certificate error")
            assert status["state"] == "offline"
            assert "WebSocket connection failed" in status["last_error"], status["last_error"]
            # It keeps trying, with backoff: a handful of attempts, not a storm.
            time.sleep(6)   # a window to count attempts in, not a synchronisation
            attempts = len(sim.requests("POST", "/restapi/oauth/wstoken"))
            assert 2 <= attempts <= 6, attempts
        # Nothing was ever said to the untrusted gateway (the upgrade never happened).
        assert connects(other) == []
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
            with Broker(ws_opts(sim, cafile=trusted)) as b, MqttWatcher(b.port) as w:
                status = w.wait_status(lambda s: "mismatch" in (s["last_error"] or ""),
                                       what="a name mismatch error")
                assert status["state"] == "offline", status
        finally:
            stop_process(server)
        assert "UPGRADED" not in open(out).read()


def test_subscription_deleted_server_side_is_recreated():
    # 20 s subscriptions: the plugin reads its subscription back every 10 s.
    with Sim("--max-expires-in", "20") as sim, Broker(ws_opts(sim)) as b, MqttWatcher(b.port) as w:
        first = w.wait_status(lambda s: s["state"] == "online", what="online")["subscription_id"]
        assert rest_delete_subscription(sim, first) == 204
        status = w.wait_status(lambda s: s["subscription_id"] not in (None, "", first)
                               and s["state"] == "online", 30, what="a new subscription")
        assert status["recreations"] == 1
        gets = sim.requests("WS", "GET /restapi/v1.0/subscription/" + first)
        assert gets and gets[-1]["status"] == 404, gets
        assert len(ws_posts(sim)) == 2
        assert len(connects(sim)) == 1      # repaired on the same connection
        sent = sim.notify(PRESENCE_EVENT, {"after": "recreate"})
        assert sent[0]["subscription_id"] == status["subscription_id"]
        w.wait_for(lambda ms: sent[0]["uuid"] in uuids_on(w), what="a notification after it")


def test_outage_longer_than_the_recovery_window_subscribes_again():
    with Sim("--ws-recovery-timeout", "2") as sim, Broker(ws_opts(sim)) as b, MqttWatcher(b.port) as w:
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
        last = connects(sim)[-1]
        assert last["query"].get("recoveryState") is None, last
        assert len(ws_posts(sim)) == 2
        sent = sim.notify(PRESENCE_EVENT, {"after": "outage"})
        w.wait_for(lambda ms: sent[0]["uuid"] in uuids_on(w), what="a notification after it")


def test_filter_change_during_an_outage_is_applied_after_recovery():
    with tempfile.TemporaryDirectory() as d:
        filters = os.path.join(d, "filters")
        with open(filters, "w") as f:
            f.write(PRESENCE_FILTER + "\n")
        with Sim() as sim, Broker(ws_opts(sim, event_filter=None, filters_file=filters)) as b, \
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
        with Broker(ws_opts(sim)) as b, MqttWatcher(b.port) as w:
            w.wait_state("ringcentral", "online", 30)
        calls = [r["status"] for r in sim.requests("POST", "/restapi/oauth/wstoken")]
        assert calls == [401, 503, 503, 200], calls
        logins = sim.requests("POST", "/restapi/oauth/token")
        assert len(logins) >= 2, logins   # the 401 cost the access token


def test_malformed_frames_and_notifications_are_counted_and_skipped():
    with Sim() as sim, Broker(ws_opts(sim)) as b, MqttWatcher(b.port) as w:
        w.wait_state("ringcentral", "online")
        # Over WebSocket a notification is the frame's body: "plaintext" is embedded as is
        # (so malformed text makes a malformed frame), "raw" arrives as a JSON string.
        bad = [
            ({"raw": "just a string"}, "not_object"),
            ({"plaintext": "not json at all"}, "not_json"),
            ({"plaintext": '{"event":"/restapi/v1.0/x","body":{}}'}, "no_uuid"),
            ({"plaintext": '{"uuid":"u-1","body":{}}'}, "no_event"),
            ({"plaintext": '{"uuid":"u-2","event":"/restapi/v1.0/a/+/b","body":{}}'}, "topic_wildcard"),
            ({"plaintext": '{"uuid":"u-3","event":"/restapi/v1.0/a/../b","body":{}}'}, "topic_dot_level"),
            ({"plaintext": '{"uuid":"u-4","event":"/restapi/v1.0/a\\u0000b","body":{}}'}, "topic_nul"),
            ({"plaintext": '{"uuid":"u-5","event":"/restapi/v1.0/' + "x" * 70000 + '","body":{}}'},
             "too_large"),
        ]
        for req, _ in bad:
            sim.call("POST", "/_sim/notify", dict(req, event=PRESENCE_EVENT))
        dup = '{"uuid":"dup-1","event":"%s","body":{"n":1}}' % PRESENCE_EVENT
        for _ in range(2):
            sim.call("POST", "/_sim/notify", {"plaintext": dup, "event": PRESENCE_EVENT})
        good = sim.notify(PRESENCE_EVENT, {"ok": True})
        w.wait_for(lambda ms: good[0]["uuid"] in uuids_on(w), what="the good one after the bad")
        status = w.wait_status(lambda st: st["received"] == len(bad) + 3, what="all counted")
        assert status["state"] == "online" and status["reconnects"] == 0, status
        assert status["dropped"] == len(bad) and status["duplicates"] == 1, status
        assert status["published"] == 2, status
        expected = {}
        for _, cause in bad:
            expected[cause] = expected.get(cause, 0) + 1
        assert status["drop_causes"] == expected, status["drop_causes"]
        assert uuids_on(w) == ["dup-1", good[0]["uuid"]]


if __name__ == "__main__":
    run_tests([test_untrusted_gateway_certificate_is_refused,
               test_gateway_certificate_for_another_host_is_refused,
               test_subscription_deleted_server_side_is_recreated,
               test_outage_longer_than_the_recovery_window_subscribes_again,
               test_filter_change_during_an_outage_is_applied_after_recovery,
               test_wstoken_refused_then_recovers,
               test_malformed_frames_and_notifications_are_counted_and_skipped])
