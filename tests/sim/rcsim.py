#!/usr/bin/python3
"""rcsim.py - a local stand-in for RingCentral's REST API and PubNub, over real TLS.

The integration tests and the README demo point the plugin at this server. It follows
../../shared/docs/ringcentral-protocol.md: OAuth grants with expiring, single-use refresh
tokens; subscriptions with granted lifetimes, renew/modify/delete/list and 404 after
expiry; PubNub v2 long-poll with timetokens, a recent-message cache and batches of at most
100; per-subscription AES-128-ECB encryption. A control API under /_sim/ lets tests send
notifications, read what the plugin asked for and inject faults.

Run with Debian's /usr/bin/python3 (python3-cryptography):
    rcsim.py --dir DIR --ready-file DIR/ready.json [--demo 3]
"""
import argparse
import base64
import datetime
import json
import os
import secrets
import select
import signal
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

DEFAULTS = {
    "client_id": "sim-client-id",
    "client_secret": "sim-client-secret-0123456789",
    "jwt": "eyJhbGciOiJSUzI1NiJ9.sim-jwt-payload.sim-jwt-signature",
    "username": "+15551230000",
    "extension": "101",
    "password": "sim-password-9876",
}
OWNER_ID = "401550809004"
ACCOUNT_ID = "37439510"


def iso(ts):
    """Epoch seconds to RingCentral's ISO 8601 form with milliseconds."""
    d = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


def path_levels(url):
    return urlsplit(url).path.split("/")


def event_matches(filt, event):
    """A filter matches an event when each level is equal or the filter's is '~'."""
    f, e = path_levels(filt), path_levels(event)
    if len(f) != len(e):
        return False
    return all(a == b or a == "~" or b == "~" for a, b in zip(f, e))


def make_certs(directory):
    """A test CA and a server certificate for 127.0.0.1, ::1 and localhost."""
    ca_path = os.path.join(directory, "ca.pem")
    cert_path = os.path.join(directory, "server.pem")
    key_path = os.path.join(directory, "server.key")
    if all(os.path.exists(p) for p in (ca_path, cert_path, key_path)):
        return ca_path, cert_path, key_path
    import ipaddress
    now = datetime.datetime.utcnow()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rcsim test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ])
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    with open(ca_path, "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return ca_path, cert_path, key_path


def encrypt(key, plaintext):
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


class HttpError(Exception):
    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def api_error(status, code, message, parameter=None):
    err = {"errorCode": code, "message": message}
    if parameter:
        err["parameterName"] = parameter
    return HttpError(status, {"errorCode": code, "message": message, "errors": [err]})


class Settings:
    def __init__(self, args):
        self.access_token_ttl = args.access_token_ttl
        self.refresh_token_ttl = args.refresh_token_ttl
        self.max_expires_in = args.max_expires_in
        self.long_poll_timeout = args.long_poll_timeout
        self.cache_size = args.cache_size
        self.cache_seconds = args.cache_seconds
        self.max_subscriptions = args.max_subscriptions
        self.encryption = not args.no_encryption
        self.disabled_filters = []


class TokenStore:
    """Access tokens expire; refresh tokens are single use, with a 10 s grace."""

    def __init__(self, settings):
        self.s = settings
        self.lock = threading.Lock()
        self.access = {}    # token -> expiry
        self.refresh = {}   # token -> [expiry, used_at]

    def issue(self):
        now = time.time()
        at, rt = "SIMAT-" + secrets.token_urlsafe(24), "SIMRT-" + secrets.token_urlsafe(24)
        with self.lock:
            self.access[at] = now + self.s.access_token_ttl
            self.refresh[rt] = [now + self.s.refresh_token_ttl, None]
        return {"access_token": at, "token_type": "bearer",
                "expires_in": self.s.access_token_ttl, "refresh_token": rt,
                "refresh_token_expires_in": self.s.refresh_token_ttl,
                "scope": "ReadAccounts ReadPresence ReadMessages SubscriptionWebhook",
                "owner_id": OWNER_ID, "endpoint_id": "sim-endpoint"}

    def use_refresh(self, rt):
        now = time.time()
        with self.lock:
            entry = self.refresh.get(rt)
            if entry is None or entry[0] < now or (entry[1] is not None and now - entry[1] > 10):
                return False
            entry[1] = entry[1] or now
            return True

    def valid(self, at):
        with self.lock:
            exp = self.access.get(at)
            return exp is not None and exp > time.time()

    def expire_all(self):
        with self.lock:
            for k in self.access:
                self.access[k] = 0
            for v in self.refresh.values():
                v[0] = 0

    def revoke_all(self):
        with self.lock:
            self.access.clear()
            self.refresh.clear()


class Channels:
    """PubNub channels: timetokens, a bounded cache and long-poll waiters."""

    def __init__(self, settings):
        self.s = settings
        self.cond = threading.Condition()
        self.messages = {}  # channel -> list of (tt, message dict)
        self.last_tt = 0

    def _next_tt(self):
        self.last_tt = max(time.time_ns() // 100, self.last_tt + 1)
        return self.last_tt

    def now_tt(self):
        with self.cond:
            return max(time.time_ns() // 100, self.last_tt)

    def publish(self, channel, sub_key, payload):
        with self.cond:
            tt = self._next_tt()
            msg = {"a": "4", "f": 0, "i": "rcsim-publisher", "p": {"t": str(tt), "r": 2},
                   "k": sub_key, "c": channel, "d": payload}
            cache = self.messages.setdefault(channel, [])
            cache.append((tt, msg))
            horizon = (time.time() - self.s.cache_seconds) * 10_000_000
            while cache and (len(cache) > self.s.cache_size or cache[0][0] < horizon):
                cache.pop(0)
            self.cond.notify_all()
            return tt

    def fetch(self, channel, after, timeout, alive):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                newer = [m for tt, m in self.messages.get(channel, []) if tt > after]
                if newer:
                    batch = newer[:100]
                    return batch, int(batch[-1]["p"]["t"])
                left = deadline - time.monotonic()
                if left <= 0 or not alive():
                    return [], after
                self.cond.wait(min(left, 1.0))


class Subscription:
    def __init__(self, filters, expires_in):
        self.id = str(uuid.uuid4())
        self.filters = filters
        self.expires_in = expires_in
        self.created = time.time()
        self.expiration = self.created + expires_in
        self.deleted = False
        self.key = secrets.token_bytes(16)
        self.address = "%s_%s" % (secrets.randbelow(10**14), secrets.token_hex(4))
        self.sub_key = "sub-c-" + str(uuid.uuid4())
        self.renews = 0
        self.puts = 0

    def live(self):
        return not self.deleted and time.time() < self.expiration

    def status(self):
        return "deleted" if self.deleted else ("active" if self.live() else "expired")


class Simulator:
    def __init__(self, args):
        self.args = args
        self.s = Settings(args)
        self.tokens = TokenStore(self.s)
        self.channels = Channels(self.s)
        self.lock = threading.Lock()
        self.subs = {}
        self.log = []
        self.faults = []
        self.stopping = False

    # ---- bookkeeping -------------------------------------------------------------------
    def record(self, method, path, status):
        with self.lock:
            self.log.append({"method": method, "path": path, "status": status,
                             "time": time.time()})

    def take_fault(self, method, path):
        with self.lock:
            for f in self.faults:
                m = f.get("match", {})
                if m.get("method") and m["method"] != method:
                    continue
                if not path.startswith(m.get("path_prefix", "")):
                    continue
                if f.get("count", 1) == 0:
                    continue
                if f.get("count", 1) > 0:
                    f["count"] = f.get("count", 1) - 1
                return dict(f)
        return None

    def sub_json(self, sub):
        mode = {"transportType": "PubNub", "encryption": self.s.encryption,
                "address": sub.address, "subscriberKey": sub.sub_key,
                "secretKey": "sec-c-sim"}
        if self.s.encryption:
            mode["encryptionAlgorithm"] = "AES"
            mode["encryptionKey"] = base64.b64encode(sub.key).decode()
        active = [f for f in sub.filters if f not in self.s.disabled_filters]
        body = {"id": sub.id, "uri": "/restapi/v1.0/subscription/" + sub.id,
                "creationTime": iso(sub.created), "expirationTime": iso(sub.expiration),
                "expiresIn": max(0, int(sub.expiration - time.time())), "status": "Active",
                "eventFilters": active, "deliveryMode": mode}
        disabled = [f for f in sub.filters if f in self.s.disabled_filters]
        if disabled:
            body["disabledFilters"] = [{"filter": f, "reason": "Permission",
                                        "message": "Not permitted"} for f in disabled]
        return body

    # ---- OAuth -------------------------------------------------------------------------
    def oauth_token(self, headers, form):
        auth = headers.get("Authorization", "")
        expected = base64.b64encode(("%s:%s" % (self.args.client_id, self.args.client_secret))
                                    .encode()).decode()
        if auth != "Basic " + expected:
            raise HttpError(401, {"error": "invalid_client",
                                  "error_description": "Invalid client credentials"})
        grant = form.get("grant_type", [""])[0]
        ok = False
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            ok = form.get("assertion", [""])[0] == self.args.jwt
        elif grant == "password":
            ok = (form.get("username", [""])[0] == self.args.username
                  and form.get("password", [""])[0] == self.args.password
                  and form.get("extension", [self.args.extension])[0] in (self.args.extension, ""))
        elif grant == "refresh_token":
            ok = self.tokens.use_refresh(form.get("refresh_token", [""])[0])
        else:
            raise HttpError(400, {"error": "unsupported_grant_type",
                                  "error_description": "Unsupported grant type"})
        if not ok:
            raise HttpError(400, {"error": "invalid_grant",
                                  "error_description": "Invalid or expired grant"})
        return 200, self.tokens.issue()

    def require_token(self, headers):
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not self.tokens.valid(auth[7:]):
            raise api_error(401, "TokenInvalid", "Token not found or expired")

    # ---- subscriptions -------------------------------------------------------------------
    def live_sub(self, sid):
        with self.lock:
            sub = self.subs.get(sid)
        if sub is None or not sub.live():
            raise api_error(404, "CMN-102",
                            "Resource for parameter [subscriptionId] is not found",
                            "subscriptionId")
        return sub

    def check_filters(self, filters):
        if (not isinstance(filters, list) or not filters
                or not all(isinstance(f, str) and f.startswith("/") for f in filters)):
            raise api_error(400, "SUB-508", "Invalid event filters", "eventFilters")

    def granted(self, requested):
        if not isinstance(requested, int) or requested <= 0:
            return self.s.max_expires_in
        return min(requested, self.s.max_expires_in)

    def create(self, body):
        self.check_filters(body.get("eventFilters"))
        mode = body.get("deliveryMode") or {}
        if mode.get("transportType") not in ("PubNub", None):
            raise api_error(400, "SUB-521", "Unsupported transport type", "transportType")
        with self.lock:
            live = sum(1 for s in self.subs.values() if s.live())
            if live >= self.s.max_subscriptions:
                raise api_error(403, "SUB-505", "Subscriptions limit exceeded")
            sub = Subscription(list(body["eventFilters"]), self.granted(body.get("expiresIn")))
            self.subs[sub.id] = sub
        return 200, self.sub_json(sub)

    def renew(self, sub, requested=None):
        sub.expires_in = self.granted(requested) if requested else sub.expires_in
        sub.expiration = time.time() + sub.expires_in
        sub.renews += 1

    def route_subscription(self, method, parts, body):
        # parts: path split after /restapi/v1.0/subscription
        if method == "POST" and not parts:
            return self.create(body)
        if method == "GET" and not parts:
            with self.lock:
                subs = [s for s in self.subs.values() if s.live()]
            return 200, {"records": [self.sub_json(s) for s in subs]}
        sub = self.live_sub(parts[0])
        if method == "GET" and len(parts) == 1:
            return 200, self.sub_json(sub)
        if method == "POST" and parts[1:] == ["renew"]:
            self.renew(sub)
            return 200, self.sub_json(sub)
        if method == "PUT" and len(parts) == 1:
            if body.get("eventFilters") is not None:
                self.check_filters(body["eventFilters"])
                sub.filters = list(body["eventFilters"])
            sub.puts += 1
            self.renew(sub, body.get("expiresIn"))
            return 200, self.sub_json(sub)
        if method == "DELETE" and len(parts) == 1:
            sub.deleted = True
            with self.channels.cond:
                self.channels.cond.notify_all()
            return 204, None
        raise api_error(404, "CMN-100", "Resource not found")

    # ---- PubNub --------------------------------------------------------------------------
    def pubnub(self, sub_key, channel, query, alive):
        with self.lock:
            subs = [s for s in self.subs.values()
                    if s.address == channel and s.sub_key == sub_key and s.live()]
        if not subs:
            raise HttpError(403, {"message": "Forbidden", "payload": {"channels": [channel]},
                                  "error": True, "service": "Access Manager", "status": 403})
        tt = query.get("tt", ["0"])[0]
        if not tt.isdigit():
            raise HttpError(400, {"message": "Invalid timetoken", "error": True, "status": 400})
        if int(tt) == 0:
            return 200, {"t": {"t": str(self.channels.now_tt()), "r": 2}, "m": []}

        def still_alive():
            return alive() and subs[0].live() and not self.stopping

        msgs, nxt = self.channels.fetch(channel, int(tt), self.s.long_poll_timeout, still_alive)
        return 200, {"t": {"t": str(nxt), "r": 2}, "m": msgs}

    # ---- notifications ---------------------------------------------------------------------
    def notify(self, req):
        event = req.get("event", "/restapi/v1.0/account/~/extension/%s/presence" % OWNER_ID)
        count = int(req.get("count", 1))
        target = req.get("subscription_id")
        with self.lock:
            subs = [s for s in self.subs.values() if s.live()
                    and (target is None or s.id == target)
                    and (target is not None or "raw" in req or "plaintext" in req
                         or any(event_matches(f, event) for f in s.filters))]
        delivered = []
        for _ in range(count):
            for sub in subs:
                note_uuid = str(uuid.uuid4())
                plaintext = None
                if "raw" in req:
                    payload = req["raw"]
                elif "plaintext" in req:
                    plaintext = req["plaintext"]
                    payload = encrypt(sub.key, plaintext.encode("utf-8", "surrogatepass"))
                else:
                    env = {"uuid": note_uuid, "event": event, "timestamp": iso(time.time()),
                           "subscriptionId": sub.id, "ownerId": OWNER_ID}
                    if "body" in req:
                        env["body"] = req["body"]
                    plaintext = json.dumps(env, separators=(",", ":"), ensure_ascii=False)
                    payload = (encrypt(sub.key, plaintext.encode()) if self.s.encryption
                               else env)
                tt = self.channels.publish(sub.address, sub.sub_key, payload)
                delivered.append({"subscription_id": sub.id, "uuid": note_uuid,
                                  "timetoken": str(tt), "plaintext": plaintext})
        return 200, {"delivered": delivered}

    def control(self, method, path, body):
        if path == "/_sim/notify" and method == "POST":
            return self.notify(body)
        if path == "/_sim/requests" and method == "GET":
            with self.lock:
                return 200, {"requests": list(self.log)}
        if path == "/_sim/requests/clear" and method == "POST":
            with self.lock:
                self.log.clear()
            return 200, {}
        if path == "/_sim/subscriptions" and method == "GET":
            with self.lock:
                subs = list(self.subs.values())
            return 200, {"subscriptions": [
                {"id": s.id, "filters": s.filters, "status": s.status(),
                 "expirationTime": iso(s.expiration), "expiresIn": s.expires_in,
                 "renews": s.renews, "puts": s.puts, "address": s.address} for s in subs]}
        if path == "/_sim/config" and method == "POST":
            for k, v in body.items():
                if not hasattr(self.s, k):
                    raise HttpError(400, {"error": "unknown setting " + k})
                setattr(self.s, k, v)
            return 200, {}
        if path == "/_sim/fault" and method == "POST":
            with self.lock:
                self.faults.append(body)
            return 200, {}
        if path == "/_sim/fault/clear" and method == "POST":
            with self.lock:
                self.faults.clear()
            return 200, {}
        if path == "/_sim/expire" and method == "POST":
            if body.get("subscriptions", True):
                with self.lock:
                    for s in self.subs.values():
                        s.expiration = min(s.expiration, time.time() - 1)
                with self.channels.cond:
                    self.channels.cond.notify_all()
            if body.get("tokens", True):
                self.tokens.expire_all()
            return 200, {}
        if path == "/_sim/revoke" and method == "POST":
            self.tokens.revoke_all()
            return 200, {}
        raise HttpError(404, {"error": "unknown control path"})

    # ---- demo ------------------------------------------------------------------------------
    def demo_loop(self, period):
        """A realistic stream: a call rings, is answered, ends; an SMS arrives."""
        ext = OWNER_ID
        steps = [
            ("/restapi/v1.0/account/%s/extension/%s/presence?detailedTelephonyState=true"
             % (ACCOUNT_ID, ext),
             {"extensionId": ext, "telephonyStatus": "Ringing", "presenceStatus": "Busy",
              "userStatus": "Available", "dndStatus": "TakeAllCalls", "meetingStatus": "Disconnected"}),
            ("/restapi/v1.0/account/%s/telephony/sessions" % ACCOUNT_ID,
             {"telephonySessionId": "s-%s", "sessionId": "sess", "parties": [
                 {"direction": "Inbound", "from": {"phoneNumber": "+15557654321", "name": "Alice"},
                  "to": {"phoneNumber": "+15551230000", "extensionId": ext},
                  "status": {"code": "Proceeding"}}]}),
            ("/restapi/v1.0/account/%s/extension/%s/presence?detailedTelephonyState=true"
             % (ACCOUNT_ID, ext),
             {"extensionId": ext, "telephonyStatus": "CallConnected", "presenceStatus": "Busy",
              "userStatus": "Available", "dndStatus": "TakeAllCalls", "meetingStatus": "Disconnected"}),
            ("/restapi/v1.0/account/%s/extension/%s/presence?detailedTelephonyState=true"
             % (ACCOUNT_ID, ext),
             {"extensionId": ext, "telephonyStatus": "NoCall", "presenceStatus": "Available",
              "userStatus": "Available", "dndStatus": "TakeAllCalls", "meetingStatus": "Disconnected"}),
            ("/restapi/v1.0/account/%s/extension/%s/message-store/instant?type=SMS"
             % (ACCOUNT_ID, ext),
             {"id": "m-%s", "type": "SMS", "direction": "Inbound", "subject": "Dinner at 8?",
              "from": {"phoneNumber": "+15557654321", "name": "Alice"},
              "to": [{"phoneNumber": "+15551230000"}], "messageStatus": "Received"}),
        ]
        sequence = 0
        while not self.stopping:
            event, body = steps[sequence % len(steps)]
            body = json.loads(json.dumps(body).replace("%s", str(sequence)))
            if "presence" in event:
                body["sequence"] = sequence
            self.notify({"event": event, "body": body})
            sequence += 1
            time.sleep(period)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rcsim/1"

    def log_message(self, fmt, *args):  # quiet: tests read /_sim/requests instead
        if self.server.sim.args.verbose:
            sys.stderr.write("rcsim: " + (fmt % args) + "\n")

    def send_json(self, status, body, headers=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def alive(self):
        """False once the client has hung up on a long-poll: a waiting client sends
        nothing, so a readable socket means a close (FIN or a TLS close alert)."""
        try:
            readable, _, _ = select.select([self.connection.fileno()], [], [], 0)
            return not readable
        except (OSError, ValueError):
            return False

    def handle_any(self, method):
        sim = self.server.sim
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status = 500
        try:
            if path.startswith("/_sim/"):
                status, body = sim.control(method, path, json.loads(raw or b"{}"))
                self.send_json(status, body)
                return
            fault = sim.take_fault(method, path)
            if fault:
                if fault.get("delay"):
                    time.sleep(float(fault["delay"]))
                if fault.get("close"):
                    status = 0
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault.get("status"):
                    raise HttpError(int(fault["status"]), fault.get("body"),
                                    fault.get("headers"))
            status, body = self.route(sim, method, path, query, raw)
            self.send_json(status, body)
        except HttpError as e:
            status = e.status
            self.send_json(e.status, e.body, e.headers)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        except Exception as e:  # a simulator bug must show, not hang the client
            status = 500
            sys.stderr.write("rcsim: internal error on %s %s: %r\n" % (method, path, e))
            try:
                self.send_json(500, {"errorCode": "SIM-500", "message": "simulator error"})
            except OSError:
                pass
        finally:
            if not path.startswith("/_sim/"):
                sim.record(method, path, status)

    def route(self, sim, method, path, query, raw):
        if path == "/restapi/oauth/token" and method == "POST":
            return sim.oauth_token(self.headers, parse_qs(raw.decode(), keep_blank_values=True))
        if path == "/restapi/oauth/revoke" and method == "POST":
            sim.tokens.revoke_all()
            return 200, {}
        if path == "/restapi/oauth/wstoken" and method == "POST":
            sim.require_token(self.headers)
            return 200, {"ws_access_token": "SIMWS-" + secrets.token_urlsafe(16),
                         "uri": "wss://127.0.0.1:%d/ws" % self.server.server_port,
                         "expires_in": 60}
        if path.startswith("/restapi/v1.0/subscription"):
            sim.require_token(self.headers)
            parts = [p for p in path[len("/restapi/v1.0/subscription"):].split("/") if p]
            body = json.loads(raw) if raw else {}
            return sim.route_subscription(method, parts, body)
        if path.startswith("/v2/subscribe/") and method == "GET":
            parts = path.split("/")
            if len(parts) != 6:
                raise HttpError(400, {"message": "Invalid path", "error": True, "status": 400})
            return sim.pubnub(parts[3], parts[4], query, self.alive)
        raise api_error(404, "CMN-100", "Resource not found")

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        pass  # TLS handshakes refused by a client with a wrong CA are expected in tests


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dir", required=True, help="where the test CA and certificates live")
    ap.add_argument("--ready-file")
    for k, v in DEFAULTS.items():
        ap.add_argument("--" + k.replace("_", "-"), default=v)
    ap.add_argument("--access-token-ttl", type=int, default=3600)
    ap.add_argument("--refresh-token-ttl", type=int, default=604800)
    ap.add_argument("--max-expires-in", type=int, default=900)
    ap.add_argument("--long-poll-timeout", type=float, default=280)
    ap.add_argument("--cache-size", type=int, default=1000)
    ap.add_argument("--cache-seconds", type=int, default=600)
    ap.add_argument("--max-subscriptions", type=int, default=20)
    ap.add_argument("--no-encryption", action="store_true")
    ap.add_argument("--demo", type=float, default=0, help="emit a demo event every N seconds")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    ca, cert, key = make_certs(args.dir)
    sim = Simulator(args)
    server = Server((args.host, args.port), Handler)
    server.sim = sim
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)

    def stop(signum, frame):
        sim.stopping = True
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = server.server_address[1]
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"port": port, "url": "https://127.0.0.1:%d" % port, "cafile": ca,
                       "pid": os.getpid()}, f)
        os.rename(tmp, args.ready_file)
    if args.demo > 0:
        threading.Thread(target=sim.demo_loop, args=(args.demo,), daemon=True).start()
    server.serve_forever(poll_interval=0.2)
    server.server_close()


if __name__ == "__main__":
    main()
