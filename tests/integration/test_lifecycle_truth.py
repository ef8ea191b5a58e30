"""test_lifecycle_truth.py - the edges of the subscription lifecycle, with the real broker
and the simulator: the bridge must tell the truth about its subscription and lose no
change at those edges.

- A REST subscription that cannot be renewed is gone at its expiration time: bridge/state
  turns offline, the status says why, a new subscription is created (with backoff), and
  the bridge is online again once one is live (never "online" on a dead subscription).
- A filter change that arrives while a PUT is in flight is applied by the next request
  (both transports).
- A black-holed PubNub origin (connections accepted, nothing ever answered) is a failure,
  not a quiet channel: offline, last_error, backoff.
"""
import datetime
import os
import socket
import tempfile
import threading
import time

from harness import (Broker, MqttWatcher, Sim, plugin_opts, run_tests, wait_until,
                     websocket_opts, PRESENCE_FILTER, MESSAGE_FILTER)

SUBSCRIPTIONS = "/restapi/v1.0/subscription"
TEAM_FILTER = "/team-messaging/v1/posts"


def iso_to_epoch(text):
    return datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def state_changes(w, since):
    return [(m.received_at, m.payload.decode()) for m in w.messages
            if m.topic == "ringcentral/bridge/state" and m.received_at > since]


def test_expired_subscription_goes_offline_and_is_recreated():
    with Sim("--max-expires-in", "12") as sim, \
            Broker(plugin_opts(sim, expires_in=12, request_timeout=3)) as b, \
            MqttWatcher(b.port) as w:
        w.wait_state("ringcentral", "online", 30)
        old = sim.live_subscriptions()[0]
        # Every subscription call fails from now on, so the renewal (due at half the
        # 12 s lifetime) cannot succeed. New long-polls hang (as a quiet channel does),
        # so nothing but the expiration itself can tell the bridge its subscription died.
        sim.fault(match={"path_prefix": SUBSCRIPTIONS}, status=503,
                  body={"errorCode": "CMN-211", "message": "Service unavailable"}, count=-1)
        sim.fault(match={"method": "GET", "path_prefix": "/v2/subscribe/"}, delay=60,
                  status=200, count=-1)
        start = time.monotonic()
        expires_in = iso_to_epoch(old["expirationTime"]) - time.time()
        w.wait_for(lambda ms: [s for s in state_changes(w, start) if s[1] == "offline"], 30,
                   "offline at the expiration")
        went_offline = [s for s in state_changes(w, start) if s[1] == "offline"][0][0]
        line = b.wait_log(r"subscription %s expired before it could be renewed" % old["id"], 10)
        status = w.wait_status(lambda s: s["state"] == "offline" and s["last_error"], 10,
                               what="offline with an error")
        print("offline %.1fs after the fault, the subscription expired %.1fs after it (%s); "
              "last_error: %s" % (went_offline - start, expires_in, line.group(0),
                                  status["last_error"]))
        assert went_offline - start <= expires_in + 5, "still online well past the expiration"
        assert went_offline - start >= expires_in - 1, "offline before the expiration"
        assert not status["subscription_id"], status
        # From the expiration on, the plugin creates instead of renewing, with backoff.
        def failed_creates():
            return [r for r in sim.requests("POST", SUBSCRIPTIONS)
                    if r["path"] == SUBSCRIPTIONS and r["status"] == 503]
        creates = wait_until(failed_creates, 30, "a create attempt after the expiration")
        wait_until(lambda: len(failed_creates()) >= 2, 40, "a second create attempt")
        attempts = [r["time"] for r in failed_creates()]
        gaps = [b2 - a for a, b2 in zip(attempts, attempts[1:])]
        print("create attempts apart: " + ", ".join("%.1fs" % g for g in gaps))
        assert all(g >= 0.4 for g in gaps), gaps          # backoff, no tight loop
        renews_after = [r for r in sim.requests("POST", SUBSCRIPTIONS + "/")
                        if r["path"].endswith("/renew") and r["time"] > creates[0]["time"]]
        assert not renews_after, "renewed a dead subscription: %s" % renews_after
        # The outage ends: a new subscription, online again.
        sim.clear_faults()
        back = w.wait_for(lambda ms: [s for s in state_changes(w, went_offline) if s[1] == "online"],
                          60, "online again")
        new = [s for s in sim.live_subscriptions() if s["id"] != old["id"]]
        assert new, sim.subscriptions()
        status = w.wait_status(lambda s: s["state"] == "online" and s["subscription_id"] == new[0]["id"],
                               10, what="the new subscription in the status")
        assert status["recreations"] >= 1
        print("online again on a new subscription %.1fs after the fault cleared"
              % (back[0][0] - went_offline))


def filter_change_during_a_put(opts_for, put_fault):
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        filters = os.path.join(d, "filters")
        with open(filters, "w") as f:
            f.write(PRESENCE_FILTER + "\n")
        with Broker(opts_for(sim, event_filter=None, filters_file=filters)) as b, \
                MqttWatcher(b.port) as w:
            w.wait_state("ringcentral", "online", 30)
            # The first PUT is held for 4 s by the server.
            sim.fault(**put_fault)
            with open(filters, "w") as f:
                f.write("%s\n%s\n" % (PRESENCE_FILTER, MESSAGE_FILTER))
            b.sighup()
            b.wait_log("reload: 2 event filter")
            # While it is in flight, the user changes the filters again.
            with open(filters, "w") as f:
                f.write("%s\n%s\n%s\n" % (PRESENCE_FILTER, MESSAGE_FILTER, TEAM_FILTER))
            b.sighup()
            b.wait_log("reload: 3 event filter")
            want = sorted([PRESENCE_FILTER, MESSAGE_FILTER, TEAM_FILTER])
            wait_until(lambda: [s for s in sim.live_subscriptions() if sorted(s["filters"]) == want],
                       30, "the server to have the latest filters")
            status = w.wait_status(lambda s: sorted(s["event_filters"]) == want and s["state"] == "online",
                                   20, what="the latest filters in the status")
            sub = sim.live_subscriptions()[0]
            print("filters on the server after two changes: %d, PUTs: %d"
                  % (len(sub["filters"]), sub["puts"]))
            assert sub["puts"] == 2, sub
            assert len(sim.subscriptions()) == 1


def test_filter_change_during_a_put_pubnub():
    filter_change_during_a_put(plugin_opts, {
        "match": {"method": "PUT", "path_prefix": SUBSCRIPTIONS + "/"},
        "delay": 4, "status": 200, "count": 1})


def test_filter_change_during_a_put_websocket():
    filter_change_during_a_put(websocket_opts, {
        "match": {"method": "WS", "path_prefix": "PUT " + SUBSCRIPTIONS + "/"},
        "delay": 4, "status": 200, "count": 1})


class FreezableProxy:
    """A TCP proxy in front of the simulator's PubNub side. freeze() turns it into a black
    hole: connections (new and old) stay open and nothing passes, as with a route that
    drops packets."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.frozen = threading.Event()
        self.stopping = threading.Event()
        self.accepted_frozen = threading.Event()
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.socks = []
        self.thread = threading.Thread(target=self.accept_loop, daemon=True)

    def accept_loop(self):
        while not self.stopping.is_set():
            try:
                client, _ = self.server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.socks.append(client)
            if self.frozen.is_set():
                self.accepted_frozen.set()  # held open, never answered
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            self.socks.append(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    def pump(self, src, dst):
        src.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                data = src.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            while self.frozen.is_set() and not self.stopping.is_set():
                time.sleep(0.05)   # swallowed by the black hole: never delivered
            if self.stopping.is_set():
                break
            try:
                dst.sendall(data)
            except OSError:
                break

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()
        for s in self.socks + [self.server]:
            try:
                s.close()
            except OSError:
                pass


def test_black_holed_pubnub_origin_is_a_failure():
    with Sim() as sim, FreezableProxy(sim.port) as proxy:
        origin = "https://127.0.0.1:%d" % proxy.port
        with Broker(plugin_opts(sim, pubnub_origin=origin, poll_timeout=10)) as b, \
                MqttWatcher(b.port) as w:
            w.wait_state("ringcentral", "online", 30)
            start = time.monotonic()
            proxy.frozen.set()
            # The poll in flight was connected: its timeout is a quiet channel. The next
            # one never gets through the handshake: that is a failure.
            wait_until(proxy.accepted_frozen.is_set, 40, "a poll into the black hole")
            status = w.wait_status(lambda s: s["state"] == "offline" and s["last_error"]
                                   and "PubNub poll failed" in s["last_error"], 40,
                                   what="offline with the poll failure")
            took = time.monotonic() - start
            print("black hole: offline after %.1fs; last_error: %s" % (took, status["last_error"]))
            # Back off: not one poll every poll_timeout without end.
            b.wait_log(r"PubNub poll failed: .*retrying in \d+ ms", 5)
            # The path heals: online again once a poll gets its request through (before
            # anything is published), and notifications flow.
            proxy.frozen.clear()
            healed = time.monotonic()
            w.wait_for(lambda ms: [m for m in ms if m.topic == "ringcentral/bridge/state"
                                   and m.received_at > healed and m.payload == b"online"],
                       60, "online again")
            sent = sim.notify("/restapi/v1.0/account/~/extension/1/presence", {"healed": 1})
            w.wait_for(lambda ms: [m for m in ms if m.user_properties.get("uuid") == sent[0]["uuid"]],
                       30, "a notification after the path healed")
            print("black hole healed: online again after %.1fs" % (time.monotonic() - healed))


if __name__ == "__main__":
    run_tests([test_expired_subscription_goes_offline_and_is_recreated,
               test_filter_change_during_a_put_pubnub,
               test_filter_change_during_a_put_websocket,
               test_black_holed_pubnub_origin_is_a_failure])
