"""feeder.py - puts a burst of notifications into the simulator as fast as it takes them.

One thread, one keep-alive TLS connection to the simulator's control API, POST
/_sim/notify with `count` notifications per call (a chunk), HTTP/1.1-pipelined two deep:
the next request is already on the wire while the previous answer is being read and
parsed, so the simulator never waits for this client. From each answer only what the
benchmark needs is kept: the uuids in the order the simulator made them (`delivered`),
and how many found no live subscription or (WebSocket) no gateway session ("unrouted":
lost on the simulated cloud's side, before the path under test could see them).

A burst larger than what the path under test has consumed by more than `window`
notifications waits (progress() tells how far it got): the simulator buffers what it
sent and nobody fetched yet (PubNub: its message cache, which must then be at least
that large; WebSocket: the gateway's send queue), and a 200,000 x 16 KB burst would
otherwise sit in its memory. The window is far larger than anything a path holds in
flight, so it never starves the path; the time spent waiting on it is excluded from the
simulator's own send rate and reported."""
import json
import socket
import ssl
import time
import urllib.parse


class NotifyClient:
    """A minimal pipelining HTTP/1.1 client for /_sim/notify (http.client cannot pipeline)."""

    def __init__(self, sim):
        u = urllib.parse.urlsplit(sim.url)
        self.host, self.port = u.hostname, u.port
        raw = socket.create_connection((self.host, self.port), timeout=120)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if u.scheme == "https":
            ctx = ssl.create_default_context(cafile=sim.cafile)
            raw = ctx.wrap_socket(raw, server_hostname=self.host)
        self.sock = raw
        self.rfile = raw.makefile("rb", buffering=1 << 20)

    def send(self, body):
        data = json.dumps(body, separators=(",", ":")).encode()
        head = ("POST /_sim/notify HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json"
                "\r\nContent-Length: %d\r\n\r\n" % (self.host, self.port, len(data))).encode()
        self.sock.sendall(head + data)

    def receive(self):
        """The next answer's parsed JSON body (answers come back in request order)."""
        status = self.rfile.readline()
        if not status:
            raise ConnectionError("the simulator closed the control connection")
        code = int(status.split()[1])
        length = 0
        while True:
            line = self.rfile.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        data = self.rfile.read(length) if length else b""
        if code != 200:
            raise RuntimeError("simulator notify answered %d: %r" % (code, data[:300]))
        return json.loads(data)

    def close(self):
        try:
            self.rfile.close()
            self.sock.close()
        except OSError:
            pass


class BurstResult:
    def __init__(self):
        self.uuids = []         # in the order the simulator made them
        self.unrouted = 0       # made for no live subscription / no gateway session
        self.t_start = 0        # monotonic ns just before the first request
        self.t_sent = 0         # monotonic ns when the last answer was in
        self.window_wait = 0    # ns spent waiting on the window with nothing in flight
        self.cut = False        # stopped at the deadline before `count` were asked for
        self.size = None        # bytes of the first notification's plaintext

    @property
    def sim_rate(self):
        busy = self.t_sent - self.t_start - self.window_wait
        return len(self.uuids) * 1e9 / busy if busy > 0 else float("inf")


def send_burst(sim, event, body, count, chunk, window=None, progress=None, stall=5.0,
               deadline=None):
    """Asks the simulator for `count` notifications of `event` with `body`, `chunk` per
    call, pipelined two deep. window/progress: stay at most `window` notifications ahead of
    progress() (a count of notifications the path consumed since the burst began); if
    progress() stays still for `stall` seconds while the window is full (a path that lost
    some never catches up), the window is let go. deadline (monotonic seconds): ask for no
    more after it (the result says `cut`). Returns a BurstResult."""
    res = BurstResult()
    client = NotifyClient(sim)
    requested = 0
    in_flight = []

    def take_answer():
        answer = client.receive()
        res.unrouted += max(0, in_flight[0] - len(answer["delivered"]))
        for d in answer["delivered"]:
            if res.size is None and d.get("plaintext") is not None:
                res.size = len(d["plaintext"].encode())
            if d.get("sequence", 0) is None:
                res.unrouted += 1
            else:
                res.uuids.append(d["uuid"])
        in_flight.pop(0)

    try:
        res.t_start = time.monotonic_ns()
        while requested < count or in_flight:
            if requested < count and deadline is not None and time.monotonic() > deadline:
                res.cut = True
                count = requested
                continue
            can_send = requested < count and len(in_flight) < 2
            if can_send and window is not None and requested - progress() >= window:
                if in_flight:
                    take_answer()
                    continue
                waited = time.monotonic_ns()
                last, still_since = progress(), time.monotonic()
                while requested - progress() >= window:
                    if deadline is not None and time.monotonic() > deadline:
                        break
                    time.sleep(0.01)
                    now = progress()
                    if now != last:
                        last, still_since = now, time.monotonic()
                    elif time.monotonic() - still_since > stall:
                        window = None       # the path stopped consuming: let it go
                        break
                res.window_wait += time.monotonic_ns() - waited
                continue
            if can_send:
                n = min(chunk, count - requested)
                client.send({"event": event, "body": body, "count": n})
                in_flight.append(n)
                requested += n
                if len(in_flight) < 2 and requested < count:
                    continue        # fill the pipeline before reading
            take_answer()
        res.t_sent = time.monotonic_ns()
    finally:
        client.close()
    return res
