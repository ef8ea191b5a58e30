"""test_simulator_ws.py - the simulator's WebSocket gateway (tests/sim/wsg.py) alone, no
broker, behaves as ../../shared/docs/ringcentral-protocol.md "WebSocket delivery (WSG)"
describes it.

Plugin tests will trust it, so this checks it over real TLS with the simulator's own CA:
wstoken, refused and accepted connects, the ConnectionDetails shape, subscribe / modify /
delete over ClientRequest frames, notifications with the exact plaintext and increasing
wsc.sequence, heartbeats and pings, recovery that replays exactly the missed events,
failed recovery (refused, new login), idle and absolute timeouts, and the fault controls.
Every wait is on a frame, a close or a simulator query, each with a deadline."""
import urllib.error

import websockets.exceptions

from harness import MESSAGE_FILTER, PRESENCE_FILTER, Sim, WsClient, run_tests, wait_until

PRESENCE_EVENT = "/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true"
MESSAGE_EVENT = "/restapi/v1.0/account/~/extension/401550809004/message-store"
SUB_PATH = "/restapi/v1.0/subscription/"


def ws_requests(sim, path):
    return [r for r in sim.requests("WS") if r["path"] == path]


def wait_disconnected(sim):
    """The gateway noticed the connection is gone (its list is the truth tests need)."""
    wait_until(lambda: not sim.ws_connections()["connections"], 10,
               "the gateway to drop the connection")


def refused_status(sim, url):
    """The HTTP status that refused the upgrade, or None if it was accepted."""
    try:
        client = WsClient(url, sim.cafile)
    except websockets.exceptions.InvalidStatusCode as e:
        return e.status_code
    client.close()
    return None


def subscribe(client, filters=(PRESENCE_FILTER,)):
    answer = client.subscribe(filters)
    assert answer.header["status"] == 200, answer
    return answer.body


def test_wstoken_and_connect():
    with Sim() as sim:
        tok = sim.login()
        ws = sim.ws_token(tok["access_token"])
        assert ws["uri"] == "wss://127.0.0.1:%d/ws" % sim.ws_port, ws
        assert sim.ws_port != sim.port
        assert ws["expires_in"] == 60 and ws["ws_access_token"].startswith("SIMWS-")
        assert sim.oauth("/restapi/oauth/wstoken", bearer="nope")[0] == 401
        assert sim.oauth("/restapi/oauth/wstoken")[0] == 401      # Basic is not Bearer

        # Refused before the upgrade: bad token, no token, another path.
        assert refused_status(sim, sim.ws_url("SIMWS-forged")) == 401
        assert refused_status(sim, sim.ws_uri) == 401
        assert refused_status(sim, sim.ws_uri.replace("/ws", "/other") + "?access_token="
                              + ws["ws_access_token"]) == 404

        with sim.ws_connect(ws_token=ws["ws_access_token"]) as c:
            details = c.wait_type("ConnectionDetails")[0]
            h = details.header
            assert h["status"] == 200 and isinstance(h["messageId"], str) and h["messageId"]
            assert isinstance(h["wsc"]["token"], str) and h["wsc"]["token"]
            assert h["wsc"]["sequence"] == 0
            assert details.body == {"maxConnectionsPerSession": 50, "recoveryBufferSize": 100,
                                    "recoveryTimeout": 180, "idleTimeout": 1800,
                                    "absoluteTimeout": 86400, "maxActiveRequests": 10}
            assert c.frames[0] is details, "ConnectionDetails is the first frame"
            conns = sim.ws_connections()["connections"]
            assert len(conns) == 1 and conns[0]["subscription_ids"] == []
            assert conns[0]["wsc"]["token"] == h["wsc"]["token"]
            # The same ws token works again until it expires.
            with sim.ws_connect(ws_token=ws["ws_access_token"]) as c2:
                c2.wait_type("ConnectionDetails")
                assert len(sim.ws_connections()["connections"]) == 2
        # An expired ws token (a clock jump) is refused.
        sim.expire(subscriptions=False, tokens=True)
        assert refused_status(sim, sim.ws_url(ws["ws_access_token"])) == 401
        statuses = [r["status"] for r in ws_requests(sim, "CONNECT /ws")]
        assert statuses.count(401) == 3 and statuses.count(101) == 2, statuses
        assert "SIMWS-" not in str(sim.requests())


def test_subscribe_notify_heartbeat():
    with Sim() as sim, sim.ws_connect() as c:
        c.wait_type("ConnectionDetails")
        answer = c.subscribe([PRESENCE_FILTER])
        assert answer.header["type"] == "ClientRequest" and answer.header["status"] == 200
        assert answer.header["wsc"]["sequence"] == 0
        sub = answer.body
        assert sub["deliveryMode"] == {"transportType": "WebSocket"}, sub
        assert sub["eventFilters"] == [PRESENCE_FILTER] and sub["status"] == "Active"
        listed = [s for s in sim.subscriptions() if s["id"] == sub["id"]]
        assert listed and listed[0]["transport"] == "WebSocket"
        assert listed[0]["status"] == "active"
        assert sim.ws_connections()["connections"][0]["subscription_ids"] == [sub["id"]]
        assert len(ws_requests(sim, "POST " + SUB_PATH)) == 1
        # One subscription per connection.
        second = c.subscribe([MESSAGE_FILTER])
        assert 400 <= second.header["status"] < 500, second

        delivered = []
        for i in range(3):
            d = sim.notify(PRESENCE_EVENT, {"telephonyStatus": "Ringing", "n": i})
            assert len(d) == 1 and d[0]["subscription_id"] == sub["id"]
            delivered.append(d[0])
        assert [d["sequence"] for d in delivered] == [1, 2, 3]
        notes = c.wait_type("ServerNotification", 3)
        assert [n.body_text() for n in notes] == [d["plaintext"] for d in delivered]
        assert [n.header["wsc"]["sequence"] for n in notes] == [1, 2, 3]
        assert all(n.header["status"] == 200 for n in notes)
        assert notes[0].body["subscriptionId"] == sub["id"]
        assert sim.notify(MESSAGE_EVENT, {}) == []      # not subscribed to that

        beat = c.heartbeat()
        assert beat.header == {"type": "Heartbeat", "messageId": beat.header["messageId"],
                               "status": 200}
        assert c.ping(), "the gateway answers WebSocket pings"
        c.send("not json")
        err = c.wait_type("Error")[0]
        assert err.header["status"] == 400 and err.body["errorCode"]

        # WebSocket subscriptions do not expire while connected.
        sim.expire(subscriptions=True, tokens=False)
        assert [s["status"] for s in sim.subscriptions() if s["id"] == sub["id"]] == ["active"]

        # PUT changes the filters.
        put = c.request("PUT", SUB_PATH + sub["id"], {"eventFilters": [MESSAGE_FILTER]})
        assert put.header["status"] == 200 and put.body["eventFilters"] == [MESSAGE_FILTER]
        assert put.body["deliveryMode"] == {"transportType": "WebSocket"}
        assert sim.notify(PRESENCE_EVENT, {}) == []
        d = sim.notify(MESSAGE_EVENT, {"changes": []})
        assert len(d) == 1 and d[0]["sequence"] == 4
        note = c.wait_type("ServerNotification", 4)[3]
        assert note.body_text() == d[0]["plaintext"]

        # DELETE ends it; a new POST on the same connection is then allowed.
        gone = c.request("DELETE", SUB_PATH + sub["id"])
        assert gone.header["status"] == 204 and gone.body is None
        assert [s["status"] for s in sim.subscriptions() if s["id"] == sub["id"]] == ["deleted"]
        assert sim.notify(MESSAGE_EVENT, {}) == []
        assert c.request("DELETE", SUB_PATH + sub["id"]).header["status"] == 404
        again = subscribe(c, [MESSAGE_FILTER])
        assert again["id"] != sub["id"]
        assert len(ws_requests(sim, "POST " + SUB_PATH)) == 3
        assert len(ws_requests(sim, "DELETE " + SUB_PATH + sub["id"])) == 2
        assert len(ws_requests(sim, "Heartbeat")) == 1


def test_recovery_replays_missed_events():
    with Sim() as sim:
        tok = sim.login()
        c = sim.ws_connect(tok["access_token"])
        c.wait_type("ConnectionDetails")
        sub = subscribe(c)
        first = sim.notify(PRESENCE_EVENT, {"n": 1})[0]
        c.wait_type("ServerNotification")
        wsc = c.wsc()
        assert wsc["sequence"] == 1
        sim.ws_fault("drop")
        code, _ = c.wait_closed()
        assert code == 1006, "dropped without a close frame"
        c.close()
        wait_disconnected(sim)
        missed = [sim.notify(PRESENCE_EVENT, {"n": n})[0] for n in (2, 3)]
        assert [m["sequence"] for m in missed] == [2, 3]
        assert [s["status"] for s in sim.subscriptions() if s["id"] == sub["id"]] == ["active"]

        # Same login session (a refreshed token), fresh ws token, &wsc=.
        tok2 = sim.refresh(tok["refresh_token"])
        with sim.ws_connect(tok2["access_token"], wsc=wsc["token"]) as r:
            details = r.wait_type("ConnectionDetails")[0]
            assert details.body["recoveryState"] == "Successful"
            assert details.header["wsc"]["sequence"] == 1
            replay = r.wait_type("ServerNotification", 2)
            assert r.frames[1:3] == replay, "replayed right after ConnectionDetails"
            assert [n.body_text() for n in replay] == [m["plaintext"] for m in missed]
            assert [n.header["wsc"]["sequence"] for n in replay] == [2, 3]
            assert first["plaintext"] not in [n.body_text() for n in replay]
            # The subscription carried over and is pinned again.
            conn = sim.ws_connections()["connections"][0]
            assert conn["subscription_ids"] == [sub["id"]]
            assert conn["recovery"]["state"] == "Successful"
            live = sim.notify(PRESENCE_EVENT, {"n": 4})[0]
            assert live["sequence"] == 4
            assert r.wait_type("ServerNotification", 3)[2].body_text() == live["plaintext"]
            wsc = r.wsc()

        # Only the last recoveryBufferSize events survive a longer outage.
        wait_disconnected(sim)
        sim.config(ws_recovery_buffer_size=5)
        missed = [sim.notify(PRESENCE_EVENT, {"n": n})[0] for n in range(5, 13)]
        with sim.ws_connect(tok2["access_token"], wsc=wsc["token"]) as r:
            assert r.wait_type("ConnectionDetails")[0].body["recoveryState"] == "Successful"
            replay = r.wait_type("ServerNotification", 5)
            assert [n.body_text() for n in replay] == [m["plaintext"] for m in missed[-5:]]
            assert [n.header["wsc"]["sequence"] for n in replay] == list(range(8, 13))
        assert [r["query"] for r in ws_requests(sim, "CONNECT /ws")][1:] == [
            {"recoveryState": "Successful"}] * 2


def test_recovery_failures():
    with Sim() as sim:
        tok = sim.login()
        c = sim.ws_connect(tok["access_token"])
        c.wait_type("ConnectionDetails")
        sub = subscribe(c)
        wsc = c.wsc()
        sim.ws_fault("drop")
        c.wait_closed()
        c.close()
        wait_disconnected(sim)

        # A new login is another OAuth session: WSG-1003, Failed.
        with sim.ws_connect(sim.login()["access_token"], wsc=wsc["token"]) as r:
            details = r.wait_type("ConnectionDetails")[0]
            assert details.body["recoveryState"] == "Failed"
            assert details.header["wsc"]["sequence"] == 0
            assert details.header["wsc"]["token"] != wsc["token"]
            conn = sim.ws_connections()["connections"][0]
            assert "WSG-1003" in conn["recovery"]["reason"]
            assert conn["subscription_ids"] == []
        wait_disconnected(sim)

        # The right session still recovers after that failed attempt...
        sim.ws_fault("refuse_recovery")
        assert sim.ws_connections()["pending_refuse_recovery"] == 1
        # ...unless the gateway refuses: then Failed, and the subscription is gone.
        with sim.ws_connect(tok["access_token"], wsc=wsc["token"]) as r:
            assert r.wait_type("ConnectionDetails")[0].body["recoveryState"] == "Failed"
            assert [s["status"] for s in sim.subscriptions()
                    if s["id"] == sub["id"]] == ["deleted"]
            fresh = subscribe(r)       # subscribe again works
            d = sim.notify(PRESENCE_EVENT, {})
            assert [x["subscription_id"] for x in d] == [fresh["id"]]
            assert r.wait_type("ServerNotification")[0].header["wsc"]["sequence"] == 1
        # An unknown wsc token fails too.
        with sim.ws_connect(tok["access_token"], wsc="WSCdeadbeef.3") as r:
            assert r.wait_type("ConnectionDetails")[0].body["recoveryState"] == "Failed"
        assert sim.ws_connections()["pending_refuse_recovery"] == 0


def test_idle_and_absolute_timeouts():
    with Sim("--ws-idle-timeout", "1") as sim:
        with sim.ws_connect() as c:
            assert c.wait_type("ConnectionDetails")[0].body["idleTimeout"] == 1
            # Client frames keep it open well past idleTimeout...
            for _ in range(6):
                c.heartbeat()
                assert c.closed_within(0.4) is None
            # ...silence does not.
            code, reason = c.wait_closed(5)
            assert code == 1000 and "WSG-902" in reason, (code, reason)
        sim.config(ws_idle_timeout=1800, ws_absolute_timeout=1)
        with sim.ws_connect() as c:
            assert c.wait_type("ConnectionDetails")[0].body["absoluteTimeout"] == 1
            c.heartbeat()
            code, reason = c.wait_closed(5)
            assert code == 1000 and "WSG-903" in reason, (code, reason)


def test_fault_controls():
    with Sim() as sim:
        # close: the given code and reason arrive in a close frame.
        with sim.ws_connect() as c:
            c.wait_type("ConnectionDetails")
            sim.ws_fault("close", code=1000, reason="WSG-902 forced by test")
            assert c.wait_closed() == (1000, "WSG-902 forced by test")
        # no_pong: pings go unanswered, frames still flow.
        with sim.ws_connect() as c:
            c.wait_type("ConnectionDetails")
            assert c.ping(2)
            sim.ws_fault("no_pong")
            assert not c.ping(1)
            assert c.heartbeat().header["status"] == 200
            assert sim.ws_connections()["connections"][0]["answeringPings"] is False
        # stall: nothing is read any more.
        with sim.ws_connect() as c:
            c.wait_type("ConnectionDetails")
            sim.ws_fault("stall")
            assert not c.ping(1)
            try:
                c.heartbeat(timeout=1)
                raise AssertionError("a stalled gateway answered a heartbeat")
            except AssertionError as e:
                assert "timed out" in str(e), e
            sim.ws_fault("drop")    # a stalled socket would make the client's close wait
            assert c.wait_closed()[0] == 1006
        # HTTP fault rules that name method WS apply to ClientRequests; others do not.
        with sim.ws_connect() as c:
            c.wait_type("ConnectionDetails")
            sim.fault(match={"method": "WS", "path_prefix": "POST " + SUB_PATH}, status=429,
                      body={"errorCode": "CMN-301", "message": "Request rate exceeded"})
            sim.fault(status=500, body={"errorCode": "SIM-500"})
            limited = c.subscribe([PRESENCE_FILTER])
            assert limited.header["status"] == 429 and limited.body["errorCode"] == "CMN-301"
            subscribe(c)
            assert sim.oauth("/restapi/oauth/wstoken", bearer="x")[0] == 500
            sim.fault(match={"method": "WS"}, close=True)
            c.send([{"type": "ClientRequest", "messageId": "m", "method": "GET",
                     "path": SUB_PATH}])
            assert c.wait_closed()[0] == 1006
        try:
            sim.ws_fault("melt")
            raise AssertionError("unknown fault kind accepted")
        except urllib.error.HTTPError as e:
            assert e.code == 400, e


def test_burst_frames_are_exact_and_recoverable():
    """A burst from one notify (written to the socket in batches) is, frame by frame, what
    one json.dumps per header would make; the recovery buffer keeps the newest 100."""
    import json
    count = 3000
    with Sim() as sim:
        tok = sim.login()
        c = sim.ws_connect(tok["access_token"])
        session = c.wait_type("ConnectionDetails")[0].header["wsc"]["token"].split(".")[0]
        subscribe(c)
        sim.notify(PRESENCE_EVENT, {"n": -1})
        sent = sim.notify(PRESENCE_EVENT, {"telephonyStatus": "NoCall", "text": "caf\u00e9"},
                          count=count)
        assert [d["sequence"] for d in sent] == list(range(2, count + 2))
        notes = c.wait_type("ServerNotification", count + 1, timeout=30)[1:]
        assert len({n.header["messageId"] for n in notes}) == count
        for n, d in zip(notes, sent):
            seq = d["sequence"]
            header = {"type": "ServerNotification", "messageId": n.header["messageId"],
                      "status": 200, "wsc": {"token": "%s.%d" % (session, seq),
                                             "sequence": seq}}
            assert n.text == "[%s,%s]" % (json.dumps(header, separators=(",", ":"),
                                                     ensure_ascii=False), d["plaintext"])
        assert len({d["uuid"] for d in sent}) == count
        c.close()
        wait_disconnected(sim)
        assert sim.ws_connections()["sessions"][0]["buffered"] == 100
        # Recovering from the 50th-last event replays the last 50, the very same frames.
        tok2 = sim.refresh(tok["refresh_token"])
        with sim.ws_connect(tok2["access_token"], wsc=notes[-51].header["wsc"]["token"]) as r:
            assert r.wait_type("ConnectionDetails")[0].body["recoveryState"] == "Successful"
            replay = r.wait_type("ServerNotification", 50)
            assert [f.text for f in r.frames[1:]] == [n.text for n in notes[-50:]]
            live = sim.notify(PRESENCE_EVENT, {"n": 0}, count=2)
            assert [d["sequence"] for d in live] == [count + 2, count + 3]
            more = r.wait_type("ServerNotification", 52)[50:]
            assert [m.body_text() for m in more] == [d["plaintext"] for d in live]
            assert replay


def test_sdk_style_client_request():
    """RingCentral's JS SDK 5 (@rc-ex/ws) writes its ClientRequest without the trailing
    slash and with headers in the header frame: the gateway takes it as any other."""
    with Sim() as sim:
        c = sim.ws_connect()
        c.wait_type("ConnectionDetails")
        c.send([{"type": "ClientRequest", "messageId": "0b9c7bda-sdk-1", "method": "POST",
                 "path": "/restapi/v1.0/subscription",
                 "headers": {"X-User-Agent": "bench/1.0 ringcentral-extensible/ws/0.16"}},
                {"deliveryMode": {"transportType": "WebSocket"},
                 "eventFilters": [PRESENCE_FILTER]}])
        answer = c.wait_for(lambda fs: next((f for f in fs if f.type == "ClientRequest"
                                             and f.header.get("messageId") == "0b9c7bda-sdk-1"),
                                            None), 10, "the answer")
        assert answer.header["status"] == 200 and answer.body["eventFilters"] == [
            PRESENCE_FILTER], answer
        d = sim.notify(PRESENCE_EVENT, {"n": 1})
        assert c.wait_type("ServerNotification")[0].body_text() == d[0]["plaintext"]
        c.close()


if __name__ == "__main__":
    run_tests([test_wstoken_and_connect, test_subscribe_notify_heartbeat,
               test_burst_frames_are_exact_and_recoverable, test_sdk_style_client_request,
               test_recovery_replays_missed_events, test_recovery_failures,
               test_idle_and_absolute_timeouts, test_fault_controls])
