"""test_simulator.py - the simulator alone (no broker, no plugin) behaves like RingCentral
and PubNub as ../../shared/docs/ringcentral-protocol.md describes them.

Every other integration test trusts the simulator, so this checks it over real TLS with
its own CA: OAuth grants and single-use refresh tokens, the subscription lifecycle with
granted lifetimes and 404 after expiry, PubNub long-poll with timetoken continuity and
AES-128-ECB payloads that decrypt to the exact plaintext, 403 on unknown channels, fault
injection, and a burst of 5000 notifications drained in batches of 100."""
import base64
import calendar
import http.client
import json
import ssl
import threading
import time
import urllib.parse

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from harness import SIM_CREDENTIALS, Sim, run_tests

PRESENCE_FILTER = "/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true"
SMS_FILTER = "/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS"
PRESENCE_EVENT = "/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class Client:
    """One keep-alive HTTPS connection that trusts only the simulator's CA; answers are
    (status, headers dict, parsed JSON body or None) whatever the status."""

    def __init__(self, sim, timeout=30):
        self.sim = sim
        ctx = ssl.create_default_context(cafile=sim.cafile)
        self.conn = http.client.HTTPSConnection("127.0.0.1", sim.port, context=ctx,
                                                timeout=timeout)
        self.token = None

    def request(self, method, path, body=None, headers=None, form=None, auth=True):
        hdrs = dict(headers or {})
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if auth and self.token and "Authorization" not in hdrs:
            hdrs["Authorization"] = "Bearer " + self.token
        self.conn.request(method, path, body=data, headers=hdrs)
        r = self.conn.getresponse()
        raw = r.read()
        return r.status, dict(r.getheaders()), (json.loads(raw) if raw else None)

    def login(self, **form):
        form = form or {"grant_type": JWT_GRANT, "assertion": SIM_CREDENTIALS["jwt"]}
        status, _, body = self.request("POST", "/restapi/oauth/token", form=form,
                                       headers=basic(), auth=False)
        assert status == 200, (status, body)
        self.token = body["access_token"]
        return body

    def subscribe(self, filters=(PRESENCE_FILTER,), expires_in=None):
        req = {"eventFilters": list(filters),
               "deliveryMode": {"transportType": "PubNub", "encryption": True}}
        if expires_in is not None:
            req["expiresIn"] = expires_in
        return self.request("POST", "/restapi/v1.0/subscription", req)

    def poll(self, sub, tt, **query):
        mode = sub["deliveryMode"]
        q = dict(query, tt=str(tt), tr="2", uuid="selftest", pnsdk="selftest/1")
        return self.request("GET", "/v2/subscribe/%s/%s/0?%s" % (
            mode["subscriberKey"], mode["address"], urllib.parse.urlencode(q)), auth=False)

    def close(self):
        self.conn.close()


def basic(client_id=SIM_CREDENTIALS["client_id"], secret=SIM_CREDENTIALS["client_secret"]):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (client_id, secret))
                                                         .encode()).decode()}


def decrypt(key_b64, d):
    """The reference decryption, independent of the simulator's code."""
    dec = Cipher(algorithms.AES(base64.b64decode(key_b64)), modes.ECB()).decryptor()
    padded = dec.update(base64.b64decode(d)) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def parse_iso(s):
    assert len(s) == 24 and s.endswith("Z") and s[19] == ".", s
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) + int(s[20:23]) / 1000


def test_oauth_grants_and_single_use_refresh():
    with Sim() as sim:
        c = Client(sim)
        jwt_form = {"grant_type": JWT_GRANT, "assertion": SIM_CREDENTIALS["jwt"]}
        status, _, body = c.request("POST", "/restapi/oauth/token", form=jwt_form,
                                    headers=basic(secret="wrong"), auth=False)
        assert status == 401 and body["error"] == "invalid_client", (status, body)
        status, _, body = c.request("POST", "/restapi/oauth/token", form=jwt_form, auth=False)
        assert status == 401 and body["error"] == "invalid_client", "Basic auth is required"
        status, _, body = c.request("POST", "/restapi/oauth/token", headers=basic(), auth=False,
                                    form={"grant_type": JWT_GRANT, "assertion": "other.jwt.x"})
        assert status == 400 and body["error"] == "invalid_grant", (status, body)
        status, _, body = c.request("POST", "/restapi/oauth/token", headers=basic(), auth=False,
                                    form={"grant_type": "password", "username": "someone",
                                          "password": SIM_CREDENTIALS["password"]})
        assert status == 400 and body["error"] == "invalid_grant"

        tok = c.login()
        assert tok["token_type"] == "bearer" and tok["expires_in"] == 3600
        assert tok["refresh_token_expires_in"] == 604800
        for k in ("access_token", "refresh_token", "scope", "owner_id", "endpoint_id"):
            assert isinstance(tok[k], str) and tok[k], k
        pw = c.login(grant_type="password", username=SIM_CREDENTIALS["username"],
                     extension=SIM_CREDENTIALS["extension"], password=SIM_CREDENTIALS["password"])
        assert pw["access_token"] != tok["access_token"], "tokens must be random"

        # An API call needs a valid bearer token.
        assert c.request("GET", "/restapi/v1.0/subscription")[0] == 200
        status, _, body = c.request("GET", "/restapi/v1.0/subscription",
                                    headers={"Authorization": "Bearer nonsense"})
        assert status == 401 and body["errorCode"] == "AGW-401", (status, body)
        assert c.request("GET", "/restapi/v1.0/subscription", auth=False)[0] == 401

        # Refresh: single use, with a 10 s grace for a client whose answer got lost.
        refresh = {"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]}
        first = c.login(**refresh)
        second = c.login(**refresh)
        assert first["refresh_token"] != tok["refresh_token"] != second["refresh_token"]
        time.sleep(10.5)
        status, _, body = c.request("POST", "/restapi/oauth/token", form=refresh,
                                    headers=basic(), auth=False)
        assert status == 400 and body["error"] == "invalid_grant", "refresh token reused"
        c.login(grant_type="refresh_token", refresh_token=first["refresh_token"])

        # /_sim/expire makes every token invalid (a clock jump); a new login works.
        sim.expire(subscriptions=False, tokens=True)
        assert c.request("GET", "/restapi/v1.0/subscription")[0] == 401
        status, _, body = c.request("POST", "/restapi/oauth/token", headers=basic(), auth=False,
                                    form={"grant_type": "refresh_token",
                                          "refresh_token": second["refresh_token"]})
        assert status == 400 and body["error"] == "invalid_grant"
        c.login()
        sim.revoke()
        assert c.request("GET", "/restapi/v1.0/subscription")[0] == 401
        # A short access-token lifetime set at runtime.
        sim.config(access_token_ttl=1)
        tok = c.login()
        assert tok["expires_in"] == 1
        assert c.request("GET", "/restapi/v1.0/subscription")[0] == 200
        time.sleep(1.2)
        assert c.request("GET", "/restapi/v1.0/subscription")[0] == 401
        status, _, body = c.request("POST", "/restapi/oauth/wstoken")
        assert status == 401
        c.login()
        status, _, body = c.request("POST", "/restapi/oauth/wstoken")
        assert status == 200 and body["uri"].startswith("wss://") and body["ws_access_token"]
        # The request log never shows tokens.
        assert "SIMAT-" not in json.dumps(sim.requests())
        c.close()


def test_subscription_lifecycle():
    with Sim("--max-expires-in", "30", "--max-subscriptions", "2") as sim:
        c = Client(sim)
        c.login()
        for bad in ([], ["no-slash"], "/not/a/list", [PRESENCE_FILTER, 7]):
            status, _, body = c.request("POST", "/restapi/v1.0/subscription", {
                "eventFilters": bad, "deliveryMode": {"transportType": "PubNub"}})
            assert status == 400 and body["errorCode"] == "SUB-508", (bad, status, body)

        before = time.time()
        status, _, sub = c.subscribe([PRESENCE_FILTER, SMS_FILTER], expires_in=600)
        assert status == 200, sub
        assert sub["expiresIn"] == 30 and sub["status"] == "Active"
        assert sub["eventFilters"] == [PRESENCE_FILTER, SMS_FILTER]
        assert sub["uri"].endswith("/restapi/v1.0/subscription/" + sub["id"])
        exp = parse_iso(sub["expirationTime"])
        assert before + 29 <= exp <= time.time() + 31, (before, exp)
        parse_iso(sub["creationTime"])
        mode = sub["deliveryMode"]
        assert mode["transportType"] == "PubNub" and mode["encryption"] is True
        assert mode["encryptionAlgorithm"] == "AES"
        assert len(base64.b64decode(mode["encryptionKey"])) == 16
        assert mode["address"] and mode["subscriberKey"] and "secretKey" in mode
        status, _, short = c.subscribe(expires_in=10)
        assert status == 200 and short["expiresIn"] == 10
        assert short["deliveryMode"]["encryptionKey"] != mode["encryptionKey"]
        status, _, body = c.subscribe()
        assert status == 403 and body["errorCode"] == "SUB-505", (status, body)

        status, _, listed = c.request("GET", "/restapi/v1.0/subscription")
        assert status == 200 and {s["id"] for s in listed["records"]} == {sub["id"], short["id"]}
        status, _, read = c.request("GET", "/restapi/v1.0/subscription/" + sub["id"])
        assert status == 200 and read["id"] == sub["id"]

        time.sleep(1.1)
        status, _, renewed = c.request("POST", "/restapi/v1.0/subscription/%s/renew" % sub["id"])
        assert status == 200 and parse_iso(renewed["expirationTime"]) > exp
        assert renewed["expiresIn"] == 30
        status, _, put = c.request("PUT", "/restapi/v1.0/subscription/" + sub["id"],
                                   {"eventFilters": [SMS_FILTER]})
        assert status == 200 and put["eventFilters"] == [SMS_FILTER]
        status, _, body = c.request("PUT", "/restapi/v1.0/subscription/" + sub["id"],
                                    {"eventFilters": []})
        assert status == 400 and body["errorCode"] == "SUB-508"
        status, _, put = c.request("PUT", "/restapi/v1.0/subscription/" + sub["id"], {})
        assert status == 200 and put["eventFilters"] == [SMS_FILTER], "empty PUT keeps filters"

        # A filter the account may not use is reported as disabled.
        sim.config(disabled_filters=[SMS_FILTER])
        status, _, read = c.request("GET", "/restapi/v1.0/subscription/" + sub["id"])
        assert read["eventFilters"] == [] and read["disabledFilters"][0]["filter"] == SMS_FILTER
        sim.config(disabled_filters=[])

        status, headers, body = c.request("DELETE", "/restapi/v1.0/subscription/" + short["id"])
        assert status == 204 and body is None
        for method, suffix in (("GET", ""), ("DELETE", ""), ("POST", "/renew"), ("PUT", "")):
            status, _, body = c.request(method, "/restapi/v1.0/subscription/%s%s"
                                        % (short["id"], suffix), {} if method == "PUT" else None)
            assert status == 404 and body["errorCode"] == "CMN-102", (method, status, body)
            assert body["errors"][0]["parameterName"] == "subscriptionId"

        # Expiry (a simulated suspend): the subscription is gone and gets nothing.
        sim.expire(subscriptions=True, tokens=False)
        status, _, body = c.request("POST", "/restapi/v1.0/subscription/%s/renew" % sub["id"])
        assert status == 404 and body["errorCode"] == "CMN-102"
        listed = c.request("GET", "/restapi/v1.0/subscription")[2]
        assert listed["records"] == [] and listed["uri"].endswith("/restapi/v1.0/subscription")
        assert sim.notify(PRESENCE_EVENT, {"n": 1}) == []
        assert c.poll(sub, 0)[0] == 403
        states = {s["id"]: s for s in sim.subscriptions()}
        assert states[short["id"]]["status"] == "deleted"
        assert states[sub["id"]]["status"] == "expired"
        assert states[sub["id"]]["renews"] == 1 and states[sub["id"]]["puts"] == 2
        # The limit counts live subscriptions only.
        assert c.subscribe()[0] == 200 and c.subscribe()[0] == 200
        c.close()


def test_pubnub_long_poll_delivers_exact_encrypted_plaintext():
    with Sim() as sim:
        c = Client(sim)
        c.login()
        sub = c.subscribe([PRESENCE_FILTER])[2]
        mode = sub["deliveryMode"]
        start = time.monotonic()
        status, _, first = c.poll(sub, 0)
        assert status == 200 and first["m"] == [] and time.monotonic() - start < 2
        tt0 = first["t"]["t"]
        assert len(tt0) == 17 and tt0.isdigit() and first["t"]["r"] == 2

        # Events outside the filters are not delivered.
        assert sim.notify("/restapi/v1.0/account/~/extension/1/message-store", {"x": 1}) == []
        assert sim.notify("/restapi/v1.0/account/~/extension/1/presence/extra", {"x": 1}) == []

        answer = {}

        def long_poll():
            poller = Client(sim)
            answer["r"] = poller.poll(sub, tt0)
            answer["took"] = time.monotonic() - t_start
            poller.close()
        t_start = time.monotonic()
        t = threading.Thread(target=long_poll)
        t.start()
        time.sleep(0.5)
        assert t.is_alive(), "a poll with a timetoken must wait for news"
        body = {"extensionId": "401550809004", "telephonyStatus": "Ringing",
                "text": "caf\u00e9 \u2603 \"q\" \\/"}
        sent = sim.notify(PRESENCE_EVENT, body)
        t.join(10)
        assert not t.is_alive() and len(sent) == 1
        status, _, got = answer["r"]
        assert status == 200 and len(got["m"]) == 1, got
        msg = got["m"][0]
        assert msg["k"] == mode["subscriberKey"] and msg["c"] == mode["address"]
        assert msg["p"]["t"] == sent[0]["timetoken"] == got["t"]["t"] and int(msg["p"]["t"]) > int(tt0)
        assert msg["a"] and msg["f"] == 0 and msg["i"]
        assert isinstance(msg["d"], str)
        plain = decrypt(mode["encryptionKey"], msg["d"])
        assert plain == sent[0]["plaintext"].encode(), (plain, sent[0]["plaintext"])
        note = json.loads(plain)
        assert note["uuid"] == sent[0]["uuid"] and note["event"] == PRESENCE_EVENT
        assert note["subscriptionId"] == sub["id"] and note["body"] == body
        assert note["ownerId"] and parse_iso(note["timestamp"])

        # Exact bytes and raw payloads, for the plugin's malformed-input tests.
        text = '{"uuid":"u-1","event":"%s","body":{"a":[1,2.50,"\\u00e9"]}}' % PRESENCE_EVENT
        sim.call("POST", "/_sim/notify", {"plaintext": text, "event": PRESENCE_EVENT})
        sim.call("POST", "/_sim/notify", {"raw": "***not base64***", "event": PRESENCE_EVENT})
        got = c.poll(sub, got["t"]["t"])[2]
        assert decrypt(mode["encryptionKey"], got["m"][0]["d"]) == text.encode()
        assert got["m"][1]["d"] == "***not base64***"

        # A client that hangs up during a long poll does not hurt the server.
        abandoned = Client(sim, timeout=1)
        try:
            abandoned.poll(sub, got["t"]["t"])
            raise AssertionError("the poll should have waited")
        except OSError:
            pass
        abandoned.close()
        assert c.poll(sub, 0)[0] == 200
        c.close()


def test_timetoken_continuity_and_poll_timeout():
    with Sim("--long-poll-timeout", "1") as sim:
        c = Client(sim)
        c.login()
        sub = c.subscribe([PRESENCE_FILTER])[2]
        tt0 = c.poll(sub, 0)[2]["t"]["t"]
        sent = [sim.notify(PRESENCE_EVENT, {"n": i})[0] for i in range(3)]
        tts = [int(s["timetoken"]) for s in sent]
        assert tts == sorted(tts) and len(set(tts)) == 3, "timetokens strictly increase"
        got = c.poll(sub, tt0)[2]
        assert [m["p"]["t"] for m in got["m"]] == [s["timetoken"] for s in sent]
        assert got["t"]["t"] == sent[2]["timetoken"]
        # A client that missed an answer asks again with its older timetoken.
        again = c.poll(sub, sent[0]["timetoken"])[2]
        assert [m["p"]["t"] for m in again["m"]] == [s["timetoken"] for s in sent[1:]]
        # Nothing new: the poll times out with an empty answer and the same timetoken.
        start = time.monotonic()
        status, _, empty = c.poll(sub, sent[2]["timetoken"])
        took = time.monotonic() - start
        assert status == 200 and empty == {"t": {"t": sent[2]["timetoken"], "r": 2}, "m": []}
        assert 0.8 < took < 5, took
        # A new subscription starts from now: tt=0 is later than every cached message.
        assert int(c.poll(sub, 0)[2]["t"]["t"]) >= tts[2]
        # The request log shows the polls with their query, and nothing from /_sim/.
        polls = sim.requests("GET", "/v2/subscribe/")
        assert len(polls) == 5 and all(r["status"] == 200 for r in polls)
        assert polls[1]["query"]["tt"] == tt0 and polls[1]["query"]["uuid"] == "selftest"
        assert not [r for r in sim.requests() if r["path"].startswith("/_sim/")]
        c.close()


def test_unknown_channel_is_forbidden():
    with Sim() as sim:
        c = Client(sim)
        c.login()
        sub = c.subscribe()[2]
        fake = {"deliveryMode": dict(sub["deliveryMode"], address="nonexistent_channel")}
        status, _, body = c.poll(fake, 0)
        assert status == 403 and body["error"] is True and body["status"] == 403
        assert body["payload"]["channels"] == ["nonexistent_channel"]
        fake = {"deliveryMode": dict(sub["deliveryMode"], subscriberKey="sub-c-unknown")}
        assert c.poll(fake, 0)[0] == 403
        assert c.poll(sub, 0)[0] == 200
        c.close()


def test_fault_injection():
    with Sim() as sim:
        c = Client(sim)
        c.login()
        sim.fault(match={"method": "POST", "path_prefix": "/restapi/v1.0/subscription"},
                  status=503, body={"errorCode": "CMN-211", "message": "Service unavailable"},
                  headers={"Retry-After": "5"})
        status, headers, body = c.subscribe()
        assert status == 503 and headers["Retry-After"] == "5" and body["errorCode"] == "CMN-211"
        status, _, sub = c.subscribe()
        assert status == 200, "a fault applies count times (default once)"
        assert [r["status"] for r in sim.requests("POST", "/restapi/v1.0/subscription")] == [503, 200]

        # Until cleared; other methods unaffected.
        sim.fault(match={"method": "POST", "path_prefix": "/restapi/v1.0/subscription/"},
                  status=429, headers={"Retry-After": "30"}, count=-1)
        for _ in range(3):
            assert c.request("POST", "/restapi/v1.0/subscription/%s/renew" % sub["id"])[0] == 429
        assert c.request("GET", "/restapi/v1.0/subscription/" + sub["id"])[0] == 200
        sim.clear_faults()
        assert c.request("POST", "/restapi/v1.0/subscription/%s/renew" % sub["id"])[0] == 200

        # A dropped connection and a stalled answer.
        sim.fault(match={"path_prefix": "/v2/subscribe/"}, close=True)
        try:
            c.poll(sub, 0)
            raise AssertionError("the connection should have been dropped")
        except (http.client.HTTPException, OSError):
            pass
        c.close()
        c = Client(sim)
        c.token = None
        c.login()
        sim.fault(match={"method": "GET", "path_prefix": "/restapi/v1.0/subscription"}, delay=1)
        start = time.monotonic()
        assert c.request("GET", "/restapi/v1.0/subscription")[0] == 200
        assert time.monotonic() - start >= 0.9
        # Faults never apply to the control API.
        sim.fault(match={}, status=500, count=-1)
        assert sim.subscriptions()
        assert c.poll(sub, 0)[0] == 500
        sim.clear_faults()
        c.close()


def test_burst_of_5000_is_drained_in_batches():
    count = 5000
    with Sim("--cache-size", str(2 * count)) as sim:
        c = Client(sim)
        c.login()
        sub = c.subscribe()[2]
        tt = c.poll(sub, 0)[2]["t"]["t"]
        start = time.monotonic()
        sent = sim.notify(PRESENCE_EVENT, {"telephonyStatus": "NoCall"}, count=count)
        queued = time.monotonic()
        assert len(sent) == count
        got = []
        polls = 0
        while len(got) < count:
            status, _, answer = c.poll(sub, tt)
            assert status == 200 and 0 < len(answer["m"]) <= 100, (status, len(answer["m"]))
            got.extend(answer["m"])
            tt = answer["t"]["t"]
            polls += 1
        drained = time.monotonic()
        key = sub["deliveryMode"]["encryptionKey"]
        assert [m["p"]["t"] for m in got] == [s["timetoken"] for s in sent]
        assert all(decrypt(key, m["d"]) == s["plaintext"].encode() for m, s in zip(got, sent))
        assert polls == count // 100
        took = drained - start
        print("queued %d notifications in %.2fs, drained in %d polls, %.2fs in all (%.0f/s)"
              % (count, queued - start, polls, took, count / took))
        assert took < 30, took
        c.close()


def test_bulk_builders_match_the_reference_forms():
    """/_sim/notify builds bursts with bulk.py: the same bytes as one json.dumps, uuid4,
    iso timestamp and encryption per message would give."""
    import os
    import re
    import uuid
    import bulk
    uuids = bulk.uuid4s(2000)
    assert len(set(uuids)) == 2000
    for u in uuids:
        assert str(uuid.UUID(u)) == u and uuid.UUID(u).version == 4, u
        assert uuid.UUID(u).variant == uuid.RFC_4122, u
    assert {u[19] for u in uuids} == set("89ab") and {u[14] for u in uuids} == {"4"}
    clock = bulk.Clock()
    before = time.time()
    stamp = clock.now()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp), stamp
    assert before - 0.002 <= parse_iso(stamp) <= time.time()
    bodies = [{"telephonyStatus": "NoCall", "n": 1.5, "x": None, "list": [1, "a"]},
              {"text": "caf\u00e9 \u2603 \"quoted\" \\ 100%% %s \n\u0001"}, {}, [], "s", 7]
    events = [PRESENCE_EVENT, "/restapi/v1.0/account/~/extension/~/\u00e9v\"ent%s?q=%d"]
    for event in events:
        for body in bodies + [bulk.absent]:
            texts = bulk.envelopes(event, "sub-id", "401550809004", body, uuids[:3], clock)
            for u, text in zip(uuids, texts):
                env = json.loads(text)
                ts = env["timestamp"]
                want = {"uuid": u, "event": event, "timestamp": ts, "subscriptionId": "sub-id",
                        "ownerId": "401550809004"}
                if body is not bulk.absent:
                    want["body"] = body
                assert text == json.dumps(want, separators=(",", ":"), ensure_ascii=False)
                assert list(env) == list(want)
    key = os.urandom(16)
    datas = [os.urandom(n) for n in range(0, 70)] + ["caf\u00e9".encode(), b"x" * 4096]
    for d, ct in zip(datas, bulk.encrypt_many(key, datas)):
        assert decrypt(base64.b64encode(key), ct) == d
        enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        padder = padding.PKCS7(128).padder()
        ref = enc.update(padder.update(d) + padder.finalize()) + enc.finalize()
        assert ct == base64.b64encode(ref).decode()


def test_what_the_official_sdks_send():
    """Requests RingCentral's JS SDK and its PubNub client make, answered as RingCentral
    and PubNub do: the Authorization scheme in any case (the SDK sends the token_type it
    was given, "bearer"), and PubNub presence leave and heartbeat calls."""
    with Sim() as sim:
        c = Client(sim)
        token = c.login()["access_token"]
        c.token = None
        for scheme in ("bearer", "Bearer", "BEARER"):
            status, _, _ = c.request("GET", "/restapi/v1.0/subscription",
                                     headers={"Authorization": "%s %s" % (scheme, token)})
            assert status == 200, scheme
        for auth in ("Basic " + token, "Bearer", "bearer  ", "Bearer" + token, token):
            status, _, body = c.request("GET", "/restapi/v1.0/subscription",
                                        headers={"Authorization": auth})
            assert status == 401 and body["errorCode"] == "AGW-401", auth
        c.token = token
        sub = c.subscribe()[2]
        mode = sub["deliveryMode"]
        base = "/v2/presence/sub-key/%s/channel/%s/" % (mode["subscriberKey"], mode["address"])
        q = "?uuid=pn-selftest&pnsdk=PubNub-JS-Nodejs%2F4.37.0"
        status, _, body = c.request("GET", base + "leave" + q, auth=False)
        assert (status, body) == (200, {"status": 200, "message": "OK", "service": "Presence",
                                        "action": "leave"}), (status, body)
        status, _, body = c.request("GET", base + "heartbeat" + q + "&heartbeat=300",
                                    auth=False)
        assert (status, body) == (200, {"status": 200, "message": "OK",
                                        "service": "Presence"}), (status, body)
        assert c.request("GET", "/v2/presence/sub-key//channel/x/leave", auth=False)[0] == 400
        assert [r["status"] for r in sim.requests(prefix="/v2/presence/")] == [200, 200, 400]
        c.close()


def test_demo_stream_matches_filters():
    with Sim("--demo", "0.2") as sim:
        c = Client(sim)
        c.login()
        sub = c.subscribe([PRESENCE_FILTER, SMS_FILTER])[2]
        tt = c.poll(sub, 0)[2]["t"]["t"]
        notes = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
                {"Ringing", "CallConnected", "NoCall"} <= {n["body"].get("telephonyStatus") for n in notes}
                and any("message-store/instant" in n["event"] for n in notes)):
            answer = c.poll(sub, tt)[2]
            tt = answer["t"]["t"]
            notes += [json.loads(decrypt(sub["deliveryMode"]["encryptionKey"], m["d"]))
                      for m in answer["m"]]
        events = {n["event"].split("?")[0].rsplit("/", 1)[-1] for n in notes}
        assert events == {"presence", "instant"}, events  # only what the filters ask for
        sms = [n for n in notes if n["event"].split("?")[0].endswith("/instant")][0]["body"]
        assert sms["type"] == "SMS" and sms["from"]["phoneNumber"] and sms["to"] and sms["subject"]
        seqs = [n["body"]["sequence"] for n in notes]
        assert seqs == sorted(seqs)
        presence = [n["body"] for n in notes if "telephonyStatus" in n["body"]]
        assert all(p["presenceStatus"] and p["userStatus"] and p["dndStatus"] for p in presence)
        c.close()

def test_extension_presence_and_sms():
    """Round two's REST calls, as RingCentral answers them: extension info, presence read
    and set (and notified), SMS validated, rate limits per group."""
    with Sim() as sim:
        c = Client(sim)
        c.login()
        status, _, info = c.request("GET", "/restapi/v1.0/account/~/extension/~")
        assert status == 200 and info["id"] == 401550809004, (status, info)
        assert (info["name"], info["extensionNumber"], info["type"], info["status"]) == \
            ("Front Desk", "101", "User", "Enabled")
        status, _, same = c.request("GET", "/restapi/v1.0/account/37439510/extension/401550809004")
        assert status == 200 and same == info
        status, _, err = c.request("GET", "/restapi/v1.0/account/~/extension/999")
        assert status == 404 and err["errorCode"] == "CMN-102" and \
            err["errors"][0]["parameterName"] == "extensionId", err
        status, _, err = c.request("GET", "/restapi/v1.0/account/1/extension/~")
        assert status == 404 and err["errors"][0]["parameterName"] == "accountId", err

        status, _, sub = c.subscribe([PRESENCE_FILTER])
        assert status == 200
        status, _, first = c.poll(sub, 0)     # the channel's position before the change
        tt = first["t"]["t"]
        status, hdrs, p = c.request("GET", "/restapi/v1.0/account/~/extension/~/presence"
                                    "?detailedTelephonyState=true")
        assert status == 200 and hdrs.get("X-Rate-Limit-Group") == "Light", hdrs
        assert (p["presenceStatus"], p["telephonyStatus"], p["userStatus"], p["dndStatus"]) == \
            ("Available", "NoCall", "Available", "TakeAllCalls") and p["activeCalls"] == [], p
        status, _, plain = c.request("GET", "/restapi/v1.0/account/~/extension/~/presence")
        assert "activeCalls" not in plain
        for bad in ({"dndStatus": "Sleeping"}, {"userStatus": "Away"}):
            status, _, err = c.request("PUT", "/restapi/v1.0/account/~/extension/~/presence", bad)
            assert status == 400 and err["errorCode"] == "CMN-101" and \
                err["errors"][0]["parameterName"] == list(bad)[0], err
        status, hdrs, p = c.request("PUT", "/restapi/v1.0/account/~/extension/~/presence",
                                    {"dndStatus": "DoNotAcceptAnyCalls", "userStatus": "Busy",
                                     "telephonyStatus": "Ringing"})
        assert status == 200 and hdrs.get("X-Rate-Limit-Group") == "Medium"
        assert (p["dndStatus"], p["userStatus"], p["presenceStatus"], p["telephonyStatus"]) == \
            ("DoNotAcceptAnyCalls", "Busy", "Busy", "NoCall"), p   # telephonyStatus is read-only
        # The change reached the subscriber of the presence filter, detailed as it asked.
        status, _, got = c.poll(sub, tt)
        assert status == 200 and len(got["m"]) == 1, got
        n = json.loads(decrypt(sub["deliveryMode"]["encryptionKey"], got["m"][0]["d"]))
        assert n["event"].endswith("/extension/401550809004/presence?detailedTelephonyState=true")
        assert n["body"]["dndStatus"] == "DoNotAcceptAnyCalls" and "activeCalls" in n["body"]

        sms = {"from": {"phoneNumber": "+15551230000"}, "to": [{"phoneNumber": "+15557654321"}],
               "text": "On my way"}
        status, _, msg = c.request("POST", "/restapi/v1.0/account/~/extension/~/sms", sms)
        assert status == 200, (status, msg)
        assert (msg["type"], msg["direction"], msg["messageStatus"], msg["subject"]) == \
            ("SMS", "Outbound", "Queued", "On my way"), msg
        assert msg["to"] == [{"phoneNumber": "+15557654321"}]
        for bad, code, param in (
                (dict(sms, **{"from": {"phoneNumber": "+15550000000"}}), "MSG-304", "from.phoneNumber"),
                (dict(sms, **{"from": {"phoneNumber": "555"}}), "CMN-101", "from.phoneNumber"),
                (dict(sms, to=[]), "CMN-101", "to.phoneNumber"),
                (dict(sms, to=[{"phoneNumber": "not a number"}]), "CMN-101", "to.phoneNumber"),
                (dict(sms, text=""), "CMN-101", "text"),
                (dict(sms, text="x" * 1001), "CMN-101", "text")):
            status, _, err = c.request("POST", "/restapi/v1.0/account/~/extension/~/sms", bad)
            assert status == 400 and err["errorCode"] == code and \
                err["errors"][0]["parameterName"] == param, (bad, status, err)
        assert [m["subject"] for m in sim.call("GET", "/_sim/sms")["sms"]] == ["On my way"]

        # Over the Medium limit: 429 with Retry-After, and the penalty holds (it restarts
        # with every request) while the Light group still answers.
        sim.config(rate_limits={"Medium": 1})
        sim.call("POST", "/_sim/requests/clear", {})
        status, hdrs, err = c.request("POST", "/restapi/v1.0/account/~/extension/~/sms", sms)
        assert status == 429 and err["errorCode"] == "CMN-301", (status, err)
        assert hdrs["Retry-After"] == "60" and hdrs["X-Rate-Limit-Group"] == "Medium", hdrs
        sim.config(rate_limits={"Medium": 40})
        status, _, _ = c.request("PUT", "/restapi/v1.0/account/~/extension/~/presence", {})
        assert status == 429, "the penalty lasts 60 s from the last request"
        status, _, _ = c.request("GET", "/restapi/v1.0/account/~/extension/~")
        assert status == 200
        c.close()


if __name__ == "__main__":
    run_tests([test_oauth_grants_and_single_use_refresh,
               test_subscription_lifecycle,
               test_pubnub_long_poll_delivers_exact_encrypted_plaintext,
               test_timetoken_continuity_and_poll_timeout,
               test_unknown_channel_is_forbidden,
               test_fault_injection,
               test_burst_of_5000_is_drained_in_batches,
               test_bulk_builders_match_the_reference_forms,
               test_what_the_official_sdks_send,
               test_demo_stream_matches_filters,
               test_extension_presence_and_sms])
