"""wsg.py - RingCentral's WebSocket gateway (WSG) for rcsim, over real TLS.

Follows ../../shared/docs/ringcentral-protocol.md, "WebSocket delivery (WSG)":

- Clients connect to wss://HOST:PORT/ws?access_token=<ws token>[&wsc=<wsc token>]; a
  missing, unknown or expired ws token is refused with HTTP 401 before the upgrade.
- Every frame is a JSON array [header, body]. The first server frame is ConnectionDetails
  with the limits in force and, after a recovery attempt, recoveryState.
- ClientRequest frames create (POST), modify (PUT), read (GET) and delete (DELETE) the
  connection's one subscription in rcsim's SubscriptionStore; the answer has the same
  messageId and an HTTP-like status. A WebSocket subscription renews itself while its
  connection is up.
- ServerNotification frames carry the notification envelope as body, byte for byte what
  /_sim/notify reports as plaintext. Each advances wsc.sequence and stays in a recovery
  buffer (recoveryBufferSize events, recoveryTimeout seconds). A burst is framed from a
  template and written many frames per socket write (each frame exactly as websockets'
  own send() would write it), so the gateway is not what limits a throughput benchmark.
- Heartbeat frames are answered, WebSocket pings too (by websockets itself). Connections
  are closed after idleTimeout without client frames (WSG-902) and after absoluteTimeout
  in any case (WSG-903).
- Recovery: a reconnect with &wsc=<token> within recoveryTimeout, with a ws token of the
  same login session, replays the events after the one that token was sent with.

A WscSession is what a wsc token recovers: the sequence counter, the recovery buffer and
the subscription. A Connection is one WebSocket attached to a session. The wsc token sent
with sequence n names (session, n), so a recovering client gets exactly the events it
missed, no duplicates.

All gateway state belongs to the gateway's asyncio loop thread; rcsim's HTTP threads
reach it only through Gateway.deliver and Gateway.control, which run in that loop and wait
for the answer. So no locks here, and frames leave each connection in the order they were
queued.
"""
import asyncio
import collections
import functools
import json
import secrets
import struct
import threading
import time
import uuid
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import websockets
from websockets.exceptions import ConnectionClosed
from websockets.frames import EXTERNAL_CLOSE_CODES, Frame, Opcode
from websockets.legacy.protocol import State
from websockets.legacy.server import WebSocketServerProtocol

import bulk

WS_PATH = "/ws"
SUB_PREFIX = "/restapi/v1.0/subscription"
# Reported in ConnectionDetails as RingCentral does; the simulator does not enforce them.
MAX_CONNECTIONS_PER_SESSION = 50
MAX_ACTIVE_REQUESTS = 10
CALL_TIMEOUT = 10   # seconds an HTTP thread waits for the gateway loop
SEND_BATCH = 256 * 1024     # bytes of queued frames written to the socket at once


def text_frame_header(length):
    """The header of an unmasked, final text frame (RFC 6455 5.2) without extensions."""
    if length < 126:
        return bytes((0x81, length))
    if length < 65536:
        return struct.pack("!BBH", 0x81, 126, length)
    return struct.pack("!BBQ", 0x81, 127, length)


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class WscSession:
    """What a wsc token recovers: sequence, recovery buffer, subscription, login session."""

    def __init__(self, login):
        self.id = "WSC" + secrets.token_hex(10)
        self.login = login              # rcsim login session of the ws token used
        self.sequence = 0               # of the last notification sent
        self.buffer = collections.deque()   # (sequence, monotonic time, frame text)
        self.sub_id = None
        self.conn = None                # the attached Connection, if any
        self.detached_at = None         # monotonic time the last connection went away

    def wsc(self, seq=None):
        seq = self.sequence if seq is None else seq
        return {"token": "%s.%d" % (self.id, seq), "sequence": seq}


class Connection:
    """One WebSocket: its outbound queue (drained by one sender task, so frames keep their
    order) and the timeouts in force when it opened (ConnectionDetails promised them)."""

    def __init__(self, number, ws, session, settings, recovery):
        self.id = number
        self.ws = ws
        self.session = session
        self.recovery = recovery        # None or {"state", "reason"} of the attempt
        self.queue = collections.deque()    # frame texts not yet written
        self.queued = asyncio.Event()       # set when the queue is not empty
        self.opened = self.last_frame = time.monotonic()
        self.idle_timeout = float(settings.ws_idle_timeout)
        self.absolute_timeout = float(settings.ws_absolute_timeout)
        self.stalled = False

    def send(self, text):
        self.queue.append(text)
        self.queued.set()

    def send_many(self, texts):
        self.queue.extend(texts)
        self.queued.set()


class GatewayProtocol(WebSocketServerProtocol):
    """Checks the ws token before the upgrade; can be told to stop answering pings."""

    def __init__(self, *args, gateway, **kwargs):
        super().__init__(*args, **kwargs)
        self.gateway = gateway
        self.login = None           # login session of the ws token (set by the check)
        self.wsc_param = None
        self.user_agent = None      # the client's User-Agent header (set by the check)
        self.answer_pings = True

    async def process_request(self, path, request_headers):
        return self.gateway.check_handshake(self, path, request_headers)

    async def pong(self, data=b""):
        # websockets answers pings through this method: skipping it leaves the client's
        # ping unanswered while everything else on the connection keeps working.
        if self.answer_pings:
            await super().pong(data)


class Gateway:
    """The WSG listener and its state. start() and stop() from rcsim's main thread;
    deliver() and control() from any thread."""

    def __init__(self, sim, host, port, ssl_context, ping_interval, http_error):
        self.sim = sim
        self.s = sim.s
        self.host, self.port, self.ssl = host, port, ssl_context
        self.ping_interval = ping_interval      # None: the gateway sends no pings
        self.http_error = http_error            # rcsim's HttpError, raised by its stores
        self.loop = None
        self.thread = None
        self.server = None
        self.uri = None
        self.sessions = {}          # session id -> WscSession
        self.by_sub = {}            # subscription id -> WscSession
        self.connections = {}       # connection number -> Connection
        self.next_connection = 1
        self.refuse_recoveries = 0  # pending refuse_recovery faults
        self.tasks = set()          # fire-and-forget tasks, referenced until done

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self):
        """Listens (in a new loop thread) and returns once the port is known."""
        started = threading.Event()
        failure = []

        def run():
            self.loop = asyncio.new_event_loop()
            try:
                self.loop.run_until_complete(self._listen())
            except Exception as e:      # reported to start()'s caller
                failure.append(e)
                started.set()
                return
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, name="wsg", daemon=True)
        self.thread.start()
        started.wait()
        if failure:
            raise failure[0]
        host = "[%s]" % self.host if ":" in self.host else self.host
        self.uri = "%s://%s:%d%s" % ("wss" if self.ssl else "ws", host, self.port, WS_PATH)

    async def _listen(self):
        self.server = await websockets.serve(
            self.handle, self.host, self.port, ssl=self.ssl,
            create_protocol=functools.partial(GatewayProtocol, gateway=self),
            ping_interval=self.ping_interval, ping_timeout=10, close_timeout=5)
        self.port = self.server.sockets[0].getsockname()[1]

    def stop(self):
        """Closes every connection with 1001 (going away), briefly, then ends the loop."""
        async def shutdown():
            self.server.close()
            try:
                await asyncio.wait_for(self.server.wait_closed(), 2)
            except asyncio.TimeoutError:
                pass
        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(5)
        except Exception:
            pass    # exiting anyway
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(2)

    def _call(self, fn, *args):
        """Runs fn(*args) in the gateway loop and returns (or raises) its result."""
        async def run():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(CALL_TIMEOUT)

    def _spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # ---- notifications (rcsim's notify path) --------------------------------------------
    def deliver(self, sub_id, texts):
        """Sends one ServerNotification per body text to the subscription's session (queued
        for recovery when it is not connected); returns their sequences, or Nones when no
        session holds the subscription (the events are lost, as on the real gateway)."""
        return self._call(self._deliver, sub_id, list(texts))

    def _deliver(self, sub_id, texts):
        session = self.by_sub.get(sub_id)
        if session is None:
            return [None] * len(texts)
        first = session.sequence + 1
        session.sequence += len(texts)
        sequences = list(range(first, session.sequence + 1))
        # Each frame is '[' + dumps(header) + ',' + body + ']' with header {"type":
        # "ServerNotification", "messageId", "status": 200, "wsc": session.wsc(seq)}, made
        # from a template (the body concatenated, not re-serialised: the exact plaintext).
        head = '[{"type":"ServerNotification","messageId":"'
        mid = '","status":200,"wsc":{"token":"%s.' % session.id
        frames = [head + m + mid + str(seq) + '","sequence":' + str(seq) + "}}," + text + "]"
                  for m, seq, text in zip(bulk.uuid4s(len(texts)), sequences, texts)]
        if session.conn is not None:
            session.conn.send_many(frames)
        # Only the newest recoveryBufferSize can stay in the buffer: _trim would drop the rest.
        keep = max(0, int(self.s.ws_recovery_buffer_size))
        now = time.monotonic()
        session.buffer.extend((seq, now, frame) for seq, frame
                              in zip(sequences[-keep:] if keep else [],
                                     frames[-keep:] if keep else []))
        self._trim(session)
        return sequences

    def _trim(self, session):
        buf = session.buffer
        while len(buf) > max(0, int(self.s.ws_recovery_buffer_size)):
            buf.popleft()
        horizon = time.monotonic() - float(self.s.ws_recovery_timeout)
        while buf and buf[0][1] < horizon:
            buf.popleft()

    # ---- connections ------------------------------------------------------------------
    def check_handshake(self, ws, path, headers):
        """None to accept the upgrade, else the HTTP answer (rcsim's error shapes)."""
        split = urlsplit(path)
        query = parse_qs(split.query)
        ws.user_agent = headers.get("User-Agent")
        if split.path != WS_PATH:
            self.sim.log.record("WS", "CONNECT " + split.path, {}, 404, 0, ws.user_agent)
            return (HTTPStatus.NOT_FOUND, [("Content-Type", "application/json")],
                    dumps({"errorCode": "CMN-100", "message": "Resource not found"}).encode())
        login = self.sim.tokens.ws_session(query.get("access_token", [""])[0])
        if login is None:
            self.sim.log.record("WS", "CONNECT " + WS_PATH, {}, 401, 0, ws.user_agent)
            return (HTTPStatus.UNAUTHORIZED, [("Content-Type", "application/json")],
                    dumps({"errorCode": "AGW-401",
                           "message": "Access token is invalid or expired"}).encode())
        ws.login = login
        ws.wsc_param = query.get("wsc", [None])[0]
        return None

    async def handle(self, ws):
        """One accepted connection, from ConnectionDetails to detaching its session."""
        self._forget_stale_sessions()
        session, recovery, seen = self._open_session(ws.login, ws.wsc_param)
        conn = Connection(self.next_connection, ws, session, self.s, recovery)
        self.next_connection += 1
        self.connections[conn.id] = conn
        if session.conn is not None:
            # Recovered while the old socket still looked open: the new one takes over.
            session.conn.ws.transport.abort()
        session.conn, session.detached_at = conn, None
        if session.sub_id is not None:
            self.sim.subs.pin(session.sub_id, True)
        body = {"maxConnectionsPerSession": MAX_CONNECTIONS_PER_SESSION,
                "recoveryBufferSize": int(self.s.ws_recovery_buffer_size),
                "recoveryTimeout": self.s.ws_recovery_timeout,
                "idleTimeout": self.s.ws_idle_timeout,
                "absoluteTimeout": self.s.ws_absolute_timeout,
                "maxActiveRequests": MAX_ACTIVE_REQUESTS}
        if recovery is not None:
            body["recoveryState"] = recovery["state"]
        header = {"type": "ConnectionDetails", "messageId": str(uuid.uuid4()), "status": 200,
                  "wsc": session.wsc(seen)}
        conn.send(dumps([header, body]))
        conn.send_many(frame for seq, _, frame in session.buffer if seq > seen)
        self.sim.log.record("WS", "CONNECT " + WS_PATH,
                            {"recoveryState": recovery["state"]} if recovery else {}, 101, 0,
                            ws.user_agent)

        sender = asyncio.ensure_future(self._sender(conn))
        watchdog = asyncio.ensure_future(self._watchdog(conn))
        try:
            async for message in ws:
                conn.last_frame = time.monotonic()
                await self._on_frame(conn, message)
        except ConnectionClosed:
            pass
        finally:
            sender.cancel()
            watchdog.cancel()
            del self.connections[conn.id]
            if session.conn is conn:
                session.conn, session.detached_at = None, time.monotonic()
                if session.sub_id is not None:
                    # The subscription lives as long as the session can be recovered.
                    self.sim.subs.pin(session.sub_id, False, float(self.s.ws_recovery_timeout))

    def _open_session(self, login, wsc_param):
        """(session, recovery outcome or None, last sequence the client has)."""
        if wsc_param is None:
            return self._new_session(login), None, 0
        sid, _, seq_text = wsc_param.rpartition(".")
        session = self.sessions.get(sid)
        seen = int(seq_text) if seq_text.isdigit() else None
        if self.refuse_recoveries > 0:
            self.refuse_recoveries -= 1
            if session is not None:
                # The gateway "lost" the session: its subscription goes with it.
                self._forget(session)
                try:
                    self.sim.subs.delete(session.sub_id)
                except self.http_error:
                    pass
            reason = "refused by /_sim/ws/fault"
        elif session is None or seen is None or seen > session.sequence:
            reason = "unknown or expired wsc token"
        elif session.login != login:
            reason = "WSG-1003: recovery needs the same OAuth session"
        elif (session.conn is None and time.monotonic() - session.detached_at
              > float(self.s.ws_recovery_timeout)):
            reason = "recovery timeout passed"
        else:
            self._trim(session)
            return session, {"state": "Successful", "reason": None}, seen
        return self._new_session(login), {"state": "Failed", "reason": reason}, 0

    def _new_session(self, login):
        session = WscSession(login)
        self.sessions[session.id] = session
        return session

    def _forget(self, session):
        self.sessions.pop(session.id, None)
        if session.sub_id is not None:
            self.by_sub.pop(session.sub_id, None)

    def _forget_stale_sessions(self):
        """Sessions past their recovery window (their subscriptions expired with it)."""
        horizon = time.monotonic() - float(self.s.ws_recovery_timeout)
        for session in list(self.sessions.values()):
            if session.conn is None and session.detached_at < horizon:
                self._forget(session)

    async def _sender(self, conn):
        """Writes the queued frames in order, many per socket write (a burst of
        notifications is one TLS write per SEND_BATCH bytes, not one per frame), each frame
        exactly as websockets' send() would frame it; then waits for the socket to drain
        (flow control), as send() does."""
        ws = conn.ws
        while True:
            if not conn.queue:
                conn.queued.clear()
                await conn.queued.wait()
                continue
            try:
                await ws.ensure_open()
            except ConnectionClosed:
                return
            if ws.state is not State.OPEN:
                return
            chunks, size = [], 0
            extensions = ws.extensions
            while conn.queue and size < SEND_BATCH:
                data = conn.queue.popleft().encode("utf-8")
                frame = (Frame(Opcode.TEXT, data).serialize(mask=False, extensions=extensions)
                         if extensions else text_frame_header(len(data)) + data)
                chunks.append(frame)
                size += len(frame)
            ws.transport.write(b"".join(chunks))
            try:
                await ws.drain()
            except ConnectionClosed:
                return

    async def _watchdog(self, conn):
        """Idle (WSG-902) and absolute (WSG-903) timeouts of one connection."""
        while True:
            now = time.monotonic()
            absolute_at = conn.opened + conn.absolute_timeout
            idle_at = conn.last_frame + conn.idle_timeout
            if now >= absolute_at:
                self._close(conn, 1000, "WSG-903: Absolute timeout")
                return
            if now >= idle_at:
                self._close(conn, 1000, "WSG-902: Idle timeout")
                return
            await asyncio.sleep(min(absolute_at, idle_at) - now)

    def _close(self, conn, code, reason):
        # Its own task: the closing handshake must not be cancelled along with the
        # watchdog when the handler ends.
        self._spawn(conn.ws.close(code, reason))

    # ---- client frames ----------------------------------------------------------------
    async def _on_frame(self, conn, message):
        frame = None
        if isinstance(message, str):
            try:
                frame = json.loads(message)
            except ValueError:
                pass
        if not (isinstance(frame, list) and 1 <= len(frame) <= 2 and isinstance(frame[0], dict)
                and isinstance(frame[0].get("type"), str)):
            conn.send(self._error(conn, None, "CMN-101",
                                  "A frame is a JSON text [header, body] with a header type"))
            return
        header, body = frame[0], (frame[1] if len(frame) == 2 else None)
        kind, message_id = header["type"], header.get("messageId")
        if kind == "Heartbeat":
            self.sim.log.record("WS", "Heartbeat", {}, 200, 0)
            conn.send(dumps([{"type": "Heartbeat", "messageId": message_id, "status": 200}]))
        elif kind == "ClientRequest":
            await self._client_request(conn, header, body)
        else:
            conn.send(self._error(conn, message_id, "CMN-101",
                                  "Unsupported frame type %r" % kind))

    def _error(self, conn, message_id, code, message):
        header = {"type": "Error", "messageId": message_id, "status": 400,
                  "wsc": conn.session.wsc()}
        return dumps([header, {"errorCode": code, "message": message,
                               "errors": [{"errorCode": code, "message": message}]}])

    async def _client_request(self, conn, header, body):
        started = time.monotonic()
        method, path = header.get("method"), header.get("path")
        label = "%s %s" % (method, path)
        status = answer = None
        # Only rules that name method "WS" apply here (see FaultInjector.take).
        fault = self.sim.faults.take("WS", label, explicit=True)
        if fault:
            if fault.get("delay"):
                await asyncio.sleep(float(fault["delay"]))
            if fault.get("close"):
                conn.ws.transport.abort()
                self.sim.log.record("WS", label, {}, 0, time.monotonic() - started)
                return
            if fault.get("status") and (int(fault["status"]) >= 300 or "body" in fault):
                status, answer = int(fault["status"]), fault.get("body")
        if status is None:
            try:
                status, answer = self._subscription_request(conn, method, path, body)
            except self.http_error as e:
                status, answer = e.status, e.body
        reply = {"type": "ClientRequest", "messageId": header.get("messageId"),
                 "status": status, "wsc": conn.session.wsc()}
        conn.send(dumps([reply, answer]))
        self.sim.log.record("WS", label, {}, status, time.monotonic() - started)

    def _subscription_request(self, conn, method, path, body):
        """The REST semantics of rcsim, except that POST makes the connection's one
        WebSocket subscription."""
        def error(status, code, message):
            return status, {"errorCode": code, "message": message,
                            "errors": [{"errorCode": code, "message": message}]}
        if not isinstance(method, str) or not isinstance(path, str):
            return error(400, "CMN-101", "ClientRequest needs method and path")
        p = urlsplit(path).path
        if p != SUB_PREFIX and not p.startswith(SUB_PREFIX + "/"):
            return error(404, "CMN-100", "Resource not found")
        if body is None:
            body = {}
        if not isinstance(body, dict):
            return error(400, "CMN-101", "Request body must be a JSON object")
        parts = [x for x in p[len(SUB_PREFIX):].split("/") if x]
        session = conn.session
        if not parts and method == "POST":
            if session.sub_id is not None and self._live(session.sub_id):
                # The simulator's own code: the real error for this case is undocumented.
                return error(400, "SIM-WSG-ONE-SUB", "One subscription per connection")
            sub = self.sim.subs.create(body, transport="WebSocket")
            self.sim.subs.pin(sub.id, True)
            if session.sub_id is not None:
                self.by_sub.pop(session.sub_id, None)
            session.sub_id = sub.id
            self.by_sub[sub.id] = session
            return 200, self.sim.subs.to_json(sub)
        status, answer = self.sim.subscription(method, parts, body)
        if method == "DELETE" and parts and parts[0] == session.sub_id:
            self.by_sub.pop(session.sub_id, None)
            session.sub_id = None
        return status, answer

    def _live(self, sub_id):
        try:
            self.sim.subs.live(sub_id)
            return True
        except self.http_error:
            return False

    # ---- control API (/_sim/ws/...) ---------------------------------------------------
    def control(self, method, path, body):
        return self._call(self._control, method, path, body)

    def _control(self, method, path, body):
        if path == "/_sim/ws/connections" and method == "GET":
            return 200, self._snapshot()
        if path == "/_sim/ws/fault" and method == "POST":
            return self._fault(body)
        if path == "/_sim/ws/fault/clear" and method == "POST":
            self.refuse_recoveries = 0
            return 200, {}
        raise self.http_error(404, {"error": "unknown control call %s %s" % (method, path)})

    def _snapshot(self):
        now = time.monotonic()
        conns = [{"id": c.id, "session": c.session.id,
                  "subscription_ids": [c.session.sub_id] if c.session.sub_id else [],
                  "wsc": c.session.wsc(), "age": round(now - c.opened, 3),
                  "idleTimeout": c.idle_timeout, "absoluteTimeout": c.absolute_timeout,
                  "answeringPings": c.ws.answer_pings, "stalled": c.stalled,
                  "recovery": c.recovery}
                 for c in self.connections.values()]
        sessions = [{"id": s.id, "connected": s.conn is not None,
                     "subscription_id": s.sub_id, "sequence": s.sequence,
                     "buffered": len(s.buffer)}
                    for s in self.sessions.values()]
        return {"connections": conns, "sessions": sessions,
                "pending_refuse_recovery": self.refuse_recoveries}

    def _fault(self, body):
        kind = body.get("kind")
        target = body.get("connection")     # optional: one connection id, else all
        conns = [c for c in self.connections.values() if target in (None, c.id)]
        if kind == "drop":
            for c in conns:
                c.ws.transport.abort()      # no close frame: the client sees 1006
        elif kind == "no_pong":
            for c in conns:
                c.ws.answer_pings = False
        elif kind == "stall":
            # Nothing is read any more: no pongs, no heartbeat or request answers, while
            # notifications still go out (a half-dead path).
            for c in conns:
                c.ws.transport.pause_reading()
                c.stalled = True
        elif kind == "refuse_recovery":
            self.refuse_recoveries += int(body.get("count", 1))
        elif kind == "close":
            code, reason = body.get("code", 1000), str(body.get("reason", ""))
            if (not isinstance(code, int) or not (code in EXTERNAL_CLOSE_CODES
                                                  or 3000 <= code < 5000)
                    or len(reason.encode("utf-8")) > 123):
                raise self.http_error(400, {"error": "invalid close code or reason too long"})
            for c in conns:
                self._close(c, code, reason)
        else:
            raise self.http_error(400, {"error": "unknown kind %r" % kind, "kinds": [
                "drop", "no_pong", "stall", "refuse_recovery", "close"]})
        return 200, {"connections": [c.id for c in conns]}
