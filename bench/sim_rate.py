#!/usr/bin/python3
"""sim_rate.py - how fast the simulator alone delivers a burst (no broker, no plugin).

A throughput benchmark must not be limited by the simulator: this measures its bulk path,
one /_sim/notify with count=N, with clients that cost little per message:

- websocket: a raw TLS socket speaking just enough WebSocket (no extension offered, as the
  plugin's libwebsockets client) that counts frames; the time is from the notify call to
  the last frame (and, in brackets, from the first frame to the last);
- pubnub: one keep-alive HTTPS connection long-polling the channel (100 messages per
  answer, as PubNub), from the notify call to the last message.

    /usr/bin/python3 bench/sim_rate.py [--count 20000] [--rounds 3] [websocket] [pubnub]
"""
import argparse
import base64
import http.client
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))
from harness import PRESENCE_EVENT, PRESENCE_FILTER, Sim  # noqa: E402

BODY = {"telephonyStatus": "NoCall", "presenceStatus": "Available"}


class RawWs:
    """A minimal client: handshake, masked text frames out, unmasked frames in."""

    def __init__(self, url, cafile):
        u = urllib.parse.urlsplit(url)
        ctx = ssl.create_default_context(cafile=cafile)
        self.sock = ctx.wrap_socket(socket.create_connection((u.hostname, u.port), timeout=60),
                                    server_hostname=u.hostname)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s?%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n"
                           % (u.path, u.query, u.netloc, key)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def _more(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("the gateway closed the connection")
        self.buf += data

    def _need(self, n):
        while len(self.buf) < n:
            self._more()

    def recv(self):
        self._need(2)
        n, off = self.buf[1] & 0x7f, 2
        if n == 126:
            self._need(4)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(off + n)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return payload

    def send(self, obj):
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        head = bytes((0x81, 0x80 | 126)) + struct.pack("!H", len(data)) if len(data) >= 126 \
            else bytes((0x81, 0x80 | len(data)))
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def notify_in_background(sim, count, result):
    def send():
        result["delivered"] = sim.notify(PRESENCE_EVENT, BODY, count=count)
        result["answered"] = time.monotonic()
    thread = threading.Thread(target=send)
    thread.start()
    return thread


def websocket_rate(count, rounds):
    with Sim() as sim:
        ws = RawWs(sim.ws_url(sim.ws_token(sim.login()["access_token"])["ws_access_token"]),
                   sim.cafile)
        ws.recv()   # ConnectionDetails
        ws.send([{"type": "ClientRequest", "messageId": "rate-1", "method": "POST",
                  "path": "/restapi/v1.0/subscription/"},
                 {"eventFilters": [PRESENCE_FILTER],
                  "deliveryMode": {"transportType": "WebSocket"}}])
        ws.recv()
        for r in range(rounds):
            result = {}
            start = time.monotonic()
            thread = notify_in_background(sim, count, result)
            ws.recv()
            first = time.monotonic()
            for _ in range(count - 1):
                ws.recv()
            last = time.monotonic()
            thread.join()
            assert len(result["delivered"]) == count
            print("websocket round %d: %d frames in %.3fs: %.0f frames/s (first to last "
                  "frame %.0f/s; notify answered after %.2fs)"
                  % (r, count, last - start, count / (last - start),
                     (count - 1) / max(last - first, 1e-9), result["answered"] - start),
                  flush=True)


def pubnub_rate(count, rounds):
    with Sim("--cache-size", str(2 * count)) as sim:
        ctx = ssl.create_default_context(cafile=sim.cafile)
        conn = http.client.HTTPSConnection("127.0.0.1", sim.port, context=ctx, timeout=60)
        token = sim.login()["access_token"]
        conn.request("POST", "/restapi/v1.0/subscription", body=json.dumps({
            "eventFilters": [PRESENCE_FILTER],
            "deliveryMode": {"transportType": "PubNub", "encryption": True}}),
            headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        mode = json.loads(conn.getresponse().read())["deliveryMode"]

        def poll(tt):
            q = urllib.parse.urlencode({"tt": tt, "tr": "2", "uuid": "rate", "pnsdk": "rate/1"})
            conn.request("GET", "/v2/subscribe/%s/%s/0?%s" % (mode["subscriberKey"],
                                                             mode["address"], q))
            return json.loads(conn.getresponse().read())
        tt = poll(0)["t"]["t"]
        for r in range(rounds):
            result = {}
            start = time.monotonic()
            thread = notify_in_background(sim, count, result)
            got = polls = 0
            while got < count:
                answer = poll(tt)
                tt = answer["t"]["t"]
                got += len(answer["m"])
                polls += 1
            last = time.monotonic()
            thread.join()
            assert got == count and len(result["delivered"]) == count
            print("pubnub round %d: %d messages in %d polls, %.3fs: %.0f messages/s "
                  "(notify answered after %.2fs)"
                  % (r, count, polls, last - start, count / (last - start),
                     result["answered"] - start), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("transports", nargs="*", default=["websocket", "pubnub"])
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    for t in args.transports:
        {"websocket": websocket_rate, "pubnub": pubnub_rate}[t](args.count, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
