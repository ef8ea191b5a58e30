#!/usr/bin/python3
"""rcsim.py - a local stand-in for RingCentral's REST API and PubNub, over real TLS.

The integration tests and the README demo point the plugin at this server (server and
pubnub_origin are both its URL). It follows ../../shared/docs/ringcentral-protocol.md:

- OAuth (TokenStore): jwt-bearer, password and refresh_token grants behind Basic client
  auth; access tokens expire; refresh tokens are single use with a 10 s grace; revoke ends
  the session; every /restapi/v1.0 call needs a valid Bearer token.
- Subscriptions (SubscriptionStore): create/list/read/renew/modify/delete, granted
  lifetime min(requested, max), 404 CMN-102 once expired or deleted, 403 SUB-505 beyond the
  limit, 400 SUB-508 for bad filters (and for those set as invalid_filters), filters set as
  disabled_filters accepted but listed in disabledFilters, a per-subscription AES-128 key
  and PubNub channel.
- PubNub (PubNubChannels): v2 subscribe long-poll, strictly increasing 17-digit
  timetokens, a bounded recent-message cache, at most 100 messages per answer; payloads are
  encrypted once when published (AES-128-ECB, PKCS#7, base64); presence leave and heartbeat
  calls (PubNub's own clients send them) are answered as PubNub does.
- Bursts (/_sim/notify with count) are built in bulk (bulk.py) and kept as ready JSON
  text, so that the simulator is not what limits a throughput benchmark.
- Extensions, presence and SMS (Directory): GET /restapi/v1.0/account/{~|id}/extension/{~|id}
  (name, extensionNumber, type, status), the paged list GET .../account/{~|id}/extension
  (type and status filters, perPage and page, paging and navigation; /_sim/config
  extension_page_size caps a page), GET and PUT .../presence (userStatus and
  dndStatus settable and validated; a change is notified to the subscriptions whose
  presence filter matches, detailed or not, the account-wide .../account/~/presence
  included, with the extension's own event URL), POST .../sms (from must be one of the
  extension's SMS numbers, to E.164 numbers, text 1..1000 characters; 400 CMN-101 or
  MSG-304 otherwise), each counted in RingCentral's rate-limit groups (GET Light, PUT and
  POST Medium: 429 CMN-301 with Retry-After and X-Rate-Limit-* over the limit, a 60 s
  penalty that restarts with every request; /_sim/config rate_limits lowers them and
  rate_window shortens the window).
- Tests drive it through a control API under /_sim/ (no auth, JSON): notify, requests,
  subscriptions, config, fault (FaultInjector; a rule with "hold": name keeps its request
  waiting until POST /_sim/fault/release names it, GET /_sim/fault lists those held),
  expire, revoke, sms (what was sent), presence (set a call's telephonyStatus and
  activeCalls, userStatus, dndStatus, ..., notified like a PUT unless "notify": false),
  extension (set an extension's name, extensionNumber, type and status, adding it if new;
  "remove": true deletes it). --demo emits
  a realistic stream of presence, call and SMS events.
- WebSocket delivery: wsg.py's Gateway on its own TLS port; POST /restapi/oauth/wstoken
  hands out its URI and short-lived ws tokens bound to the caller's login session; its
  subscriptions live in the same SubscriptionStore and /_sim/notify reaches them too;
  /_sim/ws/... controls it.

Run with Debian's /usr/bin/python3 (python3-cryptography):
    rcsim.py --dir DIR --ready-file DIR/ready.json [--port 0] [--demo 3] [--log FILE]
             [--ws-port 0] [--ws-idle-timeout 1800] ... (see --help)
"""
import argparse
import base64
import bisect
import datetime
import ipaddress
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
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

import bulk
from credentials import SIM_CREDENTIALS
from wsg import Gateway

# Fixed test credentials, shared with tests/integration/harness.py.
DEFAULTS = dict(SIM_CREDENTIALS)
OWNER_ID = "401550809004"
ACCOUNT_ID = "37439510"
PUBNUB_BATCH = 100          # PubNub answers with at most this many messages
REFRESH_GRACE = 10          # seconds a used refresh token still works
SUB_PREFIX = "/restapi/v1.0/subscription"
# RingCentral's rate-limit groups (requests per user per minute) and its penalty: over the
# limit, 429 for 60 s, a window that starts again with every request made during it.
RATE_LIMITS = {"Light": 50, "Medium": 40, "Heavy": 10, "Auth": 5}
RATE_WINDOW = 60
USER_STATUSES = ("Offline", "Busy", "Available")
DND_STATUSES = ("TakeAllCalls", "DoNotAcceptAnyCalls", "DoNotAcceptDepartmentCalls",
                "TakeDepartmentCallsOnly")


# ---- helpers ------------------------------------------------------------------------------
def iso(ts):
    """Epoch seconds to RingCentral's ISO 8601 form with milliseconds and Z."""
    d = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


def event_matches(filt, event):
    """Paths (query dropped) with the same number of levels, each equal or '~' on either
    side: '~' in a filter stands for 'my account/extension', and events may use it too.
    The account-wide presence filter /restapi/v1.0/account/{a}/presence matches every
    extension's presence event of the account, /restapi/v1.0/account/{a}/extension/{id}/
    presence: RingCentral's "Account Presence Event" page shows such a notification with
    that per-extension event URL."""
    f, e = urlsplit(filt).path.split("/"), urlsplit(event).path.split("/")
    if (len(f) == 6 and f[1:4] == ["restapi", "v1.0", "account"] and f[5] == "presence"
            and len(e) == 8 and e[5] == "extension" and e[7] == "presence"):
        e = e[:5] + e[7:]
    return len(f) == len(e) and all(a == b or a == "~" or b == "~" for a, b in zip(f, e))


def encrypt(key, plaintext):
    """base64(AES-128-ECB(PKCS#7(plaintext))), as RingCentral encrypts PubNub payloads."""
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode("ascii")


def make_certs(directory):
    """A test CA (ca.pem) and a server certificate for 127.0.0.1, ::1 and localhost signed
    by it; reused when already present so a restarted simulator keeps its CA."""
    ca_path = os.path.join(directory, "ca.pem")
    cert_path = os.path.join(directory, "server.pem")
    key_path = os.path.join(directory, "server.key")
    if all(os.path.exists(p) for p in (ca_path, cert_path, key_path)):
        return ca_path, cert_path, key_path
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
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
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
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))

    def write(path, data, mode=0o644):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    write(key_path, key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()), 0o600)
    write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    write(ca_path, ca.public_bytes(serialization.Encoding.PEM))
    return ca_path, cert_path, key_path


class HttpError(Exception):
    """An HTTP answer other than success, raised anywhere below the handler."""

    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def api_error(status, code, message, parameter=None):
    """RingCentral's error body: errorCode, message and an errors array."""
    err = {"errorCode": code, "message": message}
    if parameter:
        err["parameterName"] = parameter
    return HttpError(status, {"errorCode": code, "message": message, "errors": [err]})


def not_found_subscription():
    return api_error(404, "CMN-102", "Resource for parameter [subscriptionId] is not found",
                     "subscriptionId")


# ---- state --------------------------------------------------------------------------------
class Settings:
    """Values that /_sim/config may change while running (read without a lock: each is
    replaced atomically)."""
    TUNABLE = ("access_token_ttl", "refresh_token_ttl", "max_expires_in", "long_poll_timeout",
               "cache_size", "cache_seconds", "max_subscriptions", "disabled_filters",
               "invalid_filters",
               "encryption", "ws_token_ttl", "ws_recovery_timeout", "ws_recovery_buffer_size",
               "ws_idle_timeout", "ws_absolute_timeout", "ws_uri", "rate_limits", "rate_window",
               "extension_page_size")

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
        # Filters a create or modify refuses outright (400 SUB-508), as RingCentral refuses
        # filters it does not know; disabled_filters are accepted but not delivered.
        self.invalid_filters = []
        # WebSocket gateway: the timeouts apply to connections opened after a change.
        self.ws_token_ttl = args.ws_token_ttl
        self.ws_recovery_timeout = args.ws_recovery_timeout
        self.ws_recovery_buffer_size = args.ws_recovery_buffer_size
        self.ws_idle_timeout = args.ws_idle_timeout
        self.ws_absolute_timeout = args.ws_absolute_timeout
        # The uri wstoken hands out; None: this simulator's own gateway. Tests point it
        # elsewhere (another simulator's gateway, signed by another CA).
        self.ws_uri = None
        # Requests per minute per rate-limit group for the extension, presence and SMS
        # endpoints (RingCentral's per-user limits; tests lower them to reach a 429).
        self.rate_limits = dict(RATE_LIMITS)
        # The window and penalty in seconds (RingCentral's: 60); tests shorten it to see a
        # client wait for Retry-After and then succeed.
        self.rate_window = RATE_WINDOW
        # The most records an extension list page holds, whatever perPage asks (RingCentral
        # answers up to perPage; tests lower this to see a client follow the pages).
        self.extension_page_size = 1000

    def update(self, changes):
        for k in changes:
            if k not in self.TUNABLE:
                raise HttpError(400, {"error": "unknown setting %r" % k,
                                      "settings": list(self.TUNABLE)})
        for k, v in changes.items():
            if k == "rate_limits":
                v = dict(self.rate_limits, **v)
            setattr(self, k, list(v) if k in ("disabled_filters", "invalid_filters") else v)


class TokenStore:
    """Access tokens expire after access_token_ttl; refresh tokens after refresh_token_ttl
    and are single use, still accepted for REFRESH_GRACE seconds after first use.

    Every token belongs to a login session (a password or JWT grant starts one, a refresh
    continues it): WebSocket recovery only works within the same session. WebSocket
    tokens (wstoken) expire after ws_token_ttl and may be used for any number of connects
    until then."""

    def __init__(self, settings):
        self.s = settings
        self.lock = threading.Lock()
        self.access = {}    # token -> expiry (epoch seconds)
        self.refresh = {}   # token -> [expiry, first use or None]
        self.sessions = {}  # access or refresh token -> login session id
        self.ws = {}        # ws token -> (expiry, login session id)

    def issue(self, session=None):
        now = time.time()
        at, rt = "SIMAT-" + secrets.token_urlsafe(24), "SIMRT-" + secrets.token_urlsafe(24)
        session = session or "login-" + secrets.token_hex(6)
        with self.lock:
            self.access[at] = now + self.s.access_token_ttl
            self.refresh[rt] = [now + self.s.refresh_token_ttl, None]
            self.sessions[at] = self.sessions[rt] = session
        return {"access_token": at, "token_type": "bearer",
                "expires_in": self.s.access_token_ttl, "refresh_token": rt,
                "refresh_token_expires_in": self.s.refresh_token_ttl,
                "scope": "ReadAccounts ReadPresence ReadMessages ReadCallLog SubscriptionWebhook",
                "owner_id": OWNER_ID, "endpoint_id": "sim-endpoint-" + secrets.token_hex(4)}

    def use_refresh(self, rt):
        now = time.time()
        with self.lock:
            entry = self.refresh.get(rt)
            if entry is None or entry[0] <= now:
                return False
            if entry[1] is not None and now - entry[1] > REFRESH_GRACE:
                return False
            if entry[1] is None:
                entry[1] = now
            return True

    def valid(self, at):
        with self.lock:
            exp = self.access.get(at)
            return exp is not None and exp > time.time()

    def session_of(self, token):
        with self.lock:
            return self.sessions.get(token)

    def issue_ws(self, at):
        """A WebSocket token for the login session of access token `at`: (token, ttl)."""
        ttl = self.s.ws_token_ttl
        wt = "SIMWS-" + secrets.token_urlsafe(24)
        with self.lock:
            self.ws[wt] = (time.time() + ttl, self.sessions.get(at))
        return wt, ttl

    def ws_session(self, wt):
        """The login session of a valid, unexpired WebSocket token, else None."""
        with self.lock:
            entry = self.ws.get(wt)
            return entry[1] if entry is not None and entry[0] > time.time() else None

    def expire_all(self):
        """A clock jump: everything issued so far is expired."""
        with self.lock:
            for k in self.access:
                self.access[k] = 0
            for v in self.refresh.values():
                v[0] = 0
            for k, v in self.ws.items():
                self.ws[k] = (0, v[1])

    def revoke_all(self):
        with self.lock:
            self.access.clear()
            self.refresh.clear()
            self.sessions.clear()
            self.ws.clear()


class Subscription:
    def __init__(self, filters, expires_in, transport="PubNub"):
        self.id = str(uuid.uuid4())
        self.transport = transport            # "PubNub" or "WebSocket"
        # A WebSocket subscription renews itself while its connection is up: the gateway
        # pins it then, and on disconnect leaves it the recovery window to live.
        self.pinned = False
        self.filters = filters
        self.expires_in = expires_in          # granted lifetime, reused by renew
        self.created = time.time()
        self.expiration = self.created + expires_in
        self.deleted = False
        self.key = secrets.token_bytes(16)
        self.address = "%014d_%s" % (secrets.randbelow(10 ** 14), secrets.token_hex(4))
        self.sub_key = "sub-c-" + str(uuid.uuid4())
        self.renews = 0
        self.puts = 0

    def live(self, now=None):
        return not self.deleted and (self.pinned or (now or time.time()) < self.expiration)

    def shown_expiration(self):
        """What the API reports: a pinned subscription always has its full lifetime left."""
        return time.time() + self.expires_in if self.pinned else self.expiration

    def status(self):
        return "deleted" if self.deleted else ("active" if self.live() else "expired")


class SubscriptionStore:
    """Every subscription ever created (tests inspect dead ones too); only live ones are
    visible through the REST API."""

    def __init__(self, settings):
        self.s = settings
        self.lock = threading.Lock()
        self.subs = {}

    def granted(self, requested):
        if isinstance(requested, bool) or not isinstance(requested, int) or requested <= 0:
            return self.s.max_expires_in
        return min(requested, self.s.max_expires_in)

    def check_filters(self, filters):
        if (not isinstance(filters, list) or not filters
                or not all(isinstance(f, str) and f.startswith("/") for f in filters)
                or any(f in self.s.invalid_filters for f in filters)):
            raise api_error(400, "SUB-508", "Invalid event filters", "eventFilters")

    def create(self, body, transport="PubNub"):
        """REST creates PubNub subscriptions; the gateway creates WebSocket ones."""
        self.check_filters(body.get("eventFilters"))
        mode = body.get("deliveryMode")
        if not isinstance(mode, dict) or mode.get("transportType") != transport:
            raise api_error(400, "SUB-521", "Unsupported delivery mode transport type",
                            "deliveryMode.transportType")
        with self.lock:
            now = time.time()
            if sum(1 for s in self.subs.values() if s.live(now)) >= self.s.max_subscriptions:
                raise api_error(403, "SUB-505", "Subscriptions limit exceeded")
            sub = Subscription(list(body["eventFilters"]), self.granted(body.get("expiresIn")),
                               transport)
            self.subs[sub.id] = sub
            return sub

    def pin(self, sid, pinned, grace=0):
        """The gateway's hook: pinned while connected; unpinned, it lives `grace` seconds."""
        with self.lock:
            sub = self.subs.get(sid)
            if sub is not None:
                sub.pinned = pinned
                if not pinned:
                    sub.expiration = time.time() + grace

    def live(self, sid):
        with self.lock:
            sub = self.subs.get(sid)
            if sub is None or not sub.live():
                raise not_found_subscription()
            return sub

    def renew(self, sid):
        with self.lock:
            sub = self.subs.get(sid)
            if sub is None or not sub.live():
                raise not_found_subscription()
            sub.expiration = time.time() + sub.expires_in
            sub.renews += 1
            return sub

    def modify(self, sid, body):
        filters = body.get("eventFilters")
        if filters is not None:
            self.check_filters(filters)
        with self.lock:
            sub = self.subs.get(sid)
            if sub is None or not sub.live():
                raise not_found_subscription()
            if filters is not None:
                sub.filters = list(filters)
            if body.get("expiresIn") is not None:
                sub.expires_in = self.granted(body.get("expiresIn"))
            sub.expiration = time.time() + sub.expires_in
            sub.puts += 1
            return sub

    def delete(self, sid):
        with self.lock:
            sub = self.subs.get(sid)
            if sub is None or not sub.live():
                raise not_found_subscription()
            sub.deleted = True

    def all(self, live_only=False):
        with self.lock:
            now = time.time()
            return [s for s in self.subs.values() if not live_only or s.live(now)]

    def find_channel(self, sub_key, channel):
        with self.lock:
            now = time.time()
            for s in self.subs.values():
                if (s.address == channel and s.sub_key == sub_key and s.transport == "PubNub"
                        and s.live(now)):
                    return s
        return None

    def expire_all(self):
        with self.lock:
            now = time.time()
            for s in self.subs.values():
                s.expiration = min(s.expiration, now - 0.001)

    def active_filters(self, sub):
        return [f for f in sub.filters if f not in self.s.disabled_filters]

    def to_json(self, sub):
        """The REST representation, as RingCentral answers create/renew/read."""
        if sub.transport == "WebSocket":
            mode = {"transportType": "WebSocket"}   # no channel, no encryption
        else:
            mode = {"transportType": "PubNub", "encryption": self.s.encryption,
                    "address": sub.address, "subscriberKey": sub.sub_key,
                    "secretKey": "sec-c-" + sub.id[:8]}
            if self.s.encryption:
                mode["encryptionAlgorithm"] = "AES"
                mode["encryptionKey"] = base64.b64encode(sub.key).decode("ascii")
        expiration = sub.shown_expiration()
        body = {"id": sub.id, "uri": "https://platform.ringcentral.com" + SUB_PREFIX + "/" + sub.id,
                "creationTime": iso(sub.created), "expirationTime": iso(expiration),
                "expiresIn": max(0, round(expiration - time.time())), "status": "Active",
                "eventFilters": self.active_filters(sub), "deliveryMode": mode}
        disabled = [f for f in sub.filters if f in self.s.disabled_filters]
        if disabled:
            body["disabledFilters"] = [{"filter": f, "reason": "PermissionDenied",
                                        "message": "Insufficient permissions for this filter"}
                                       for f in disabled]
        return body

    def snapshot(self):
        """For /_sim/subscriptions: every subscription with its history."""
        return [{"id": s.id, "filters": list(s.filters), "status": s.status(),
                 "transport": s.transport,
                 "creationTime": iso(s.created), "expirationTime": iso(s.shown_expiration()),
                 "expiresIn": s.expires_in, "created": 1, "renews": s.renews, "puts": s.puts,
                 "address": s.address, "subscriberKey": s.sub_key,
                 "encryptionKey": base64.b64encode(s.key).decode("ascii")}
                for s in self.all()]


class PubNubChannels:
    """Per channel, a bounded cache of published messages in timetoken order, and long-poll
    waiters blocked on one condition variable. Each message is kept as its JSON text (what
    json.dumps with the HTTP answer's separators makes of it), so that an answer is one
    join, however big the burst behind it."""

    def __init__(self, settings):
        self.s = settings
        self.cond = threading.Condition()
        self.tts = {}       # channel -> [timetoken, ...] ascending
        self.msgs = {}      # channel -> [message JSON text, ...] parallel to tts
        self.last_tt = 0
        self.publisher = str(uuid.uuid4())

    def now_tt(self):
        """The current timetoken; later messages get strictly larger ones."""
        with self.cond:
            self.last_tt = max(time.time_ns() // 100, self.last_tt)
            return self.last_tt

    def publish(self, channel, sub_key, payloads):
        """Appends the (already encrypted) payloads; returns their timetokens."""
        # {"a":"4","f":0,"i":..,"p":{"t":"<tt>","r":2},"k":..,"c":..,"d":..}, the d payload
        # serialised as the answer's json.dumps would (ASCII-only).
        head = '{"a":"4","f":0,"i":%s,"p":{"t":"' % bulk.dumps(self.publisher)
        mid = '","r":2},"k":%s,"c":%s,"d":' % (bulk.dumps(sub_key), bulk.dumps(channel))
        ds = [bulk.dumps(p, ensure_ascii=True) for p in payloads]
        out = []
        with self.cond:
            tts = self.tts.setdefault(channel, [])
            msgs = self.msgs.setdefault(channel, [])
            last = self.last_tt
            for d in ds:
                last = max(time.time_ns() // 100, last + 1)
                tts.append(last)
                msgs.append(head + str(last) + mid + d + "}")
                out.append(last)
            self.last_tt = last
            horizon = int((time.time() - self.s.cache_seconds) * 10_000_000)
            drop = max(len(tts) - self.s.cache_size, bisect.bisect_left(tts, horizon), 0)
            if drop:
                del tts[:drop]
                del msgs[:drop]
            self.cond.notify_all()
        return out

    def wake(self):
        with self.cond:
            self.cond.notify_all()

    def fetch(self, channel, after, timeout, alive):
        """The JSON texts of the messages newer than `after` (at most PUBNUB_BATCH, oldest
        first) and the timetoken to continue from; waits up to timeout for the first one.
        alive() is checked every second so abandoned polls and deleted subscriptions end."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                tts = self.tts.get(channel, [])
                i = bisect.bisect_right(tts, after)
                if i < len(tts):
                    batch = self.msgs[channel][i:i + PUBNUB_BATCH]
                    return batch, tts[i + len(batch) - 1]
                left = deadline - time.monotonic()
                if left <= 0 or not alive():
                    return [], after
                self.cond.wait(min(left, 1.0))


class FaultInjector:
    """Rules from /_sim/fault: the first matching rule with count left applies."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.holding = {}           # hold name -> Event: requests held until released

    def hold(self, name, stopping, limit=120):
        """A rule with "hold": name keeps its request waiting (before anything else of the
        rule applies) until POST /_sim/fault/release names it, so that a test can act
        while a request is certainly in flight; at most limit seconds."""
        with self.lock:
            ev = self.holding.setdefault(name, threading.Event())
        deadline = time.monotonic() + limit
        while not ev.wait(0.05) and not stopping.is_set() and time.monotonic() < deadline:
            pass
        with self.lock:
            if self.holding.get(name) is ev:
                del self.holding[name]

    def release(self, name):
        with self.lock:
            ev = self.holding.get(name)
        if ev is not None:
            ev.set()
        return ev is not None

    def held(self):
        with self.lock:
            return sorted(self.holding)

    def add(self, rule):
        if not isinstance(rule, dict):
            raise HttpError(400, {"error": "a fault is a JSON object"})
        rule = dict(rule)
        rule.setdefault("count", 1)
        with self.lock:
            self.rules.append(rule)

    def clear(self):
        with self.lock:
            self.rules.clear()

    def take(self, method, path, explicit=False):
        """explicit: only rules naming this method apply (WebSocket requests, method "WS",
        must not eat the catch-all rules meant for the REST API)."""
        with self.lock:
            for rule in self.rules:
                m = rule.get("match") or {}
                if m.get("method") and m["method"] != method:
                    continue
                if explicit and m.get("method") != method:
                    continue
                if not path.startswith(m.get("path_prefix", "")):
                    continue
                if m.get("path") and m["path"] != path:
                    continue
                if rule["count"] == 0:
                    continue
                if rule["count"] > 0:
                    rule["count"] -= 1
                return dict(rule)
        return None


class RequestLog:
    """What clients asked (never /_sim/ calls, never tokens or bodies), kept for tests and
    optionally appended to a file. Each entry also names the client's User-Agent (None
    if it sent none), which tells the plugin's release."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.entries = []
        self.file = open(path, "a", buffering=1) if path else None

    def record(self, method, path, query, status, took, user_agent=None):
        entry = {"method": method, "path": path, "status": status, "time": time.time(),
                 "query": query, "user_agent": user_agent}
        with self.lock:
            self.entries.append(entry)
            if self.file:
                self.file.write("%s %s %s %s %.3fs\n" % (iso(entry["time"]), method, path,
                                                         status, took))

    def list(self):
        with self.lock:
            return list(self.entries)

    def clear(self):
        with self.lock:
            self.entries.clear()


class Directory:
    """The account's extensions with their presence, the SMS sent, and the rate limits of
    the endpoints that serve them. Field names and error shapes follow RingCentral's API
    reference: GET .../extension/{id} (ExtensionInfo), GET/PUT .../presence (PresenceInfo,
    userStatus and dndStatus settable), POST .../sms (GetSMSMessageInfoResponse)."""

    def __init__(self, settings):
        self.s = settings
        self.lock = threading.Lock()
        self.ext = {
            OWNER_ID: {"name": "Front Desk", "extensionNumber": "101", "type": "User",
                       "status": "Enabled", "sms_numbers": ["+15551230000"]},
            "823476228762": {"name": "Sales", "extensionNumber": "102", "type": "User",
                             "status": "Enabled", "sms_numbers": ["+15551230002"]},
        }
        self.presence = {i: {"userStatus": "Available", "dndStatus": "TakeAllCalls",
                             "telephonyStatus": "NoCall", "meetingStatus": "Disconnected",
                             "message": "", "activeCalls": []} for i in self.ext}
        self.sms = []               # every accepted SMS, for /_sim/sms
        self.hits = {}              # group -> [request times within the window]
        self.penalty = {}           # group -> end of the 429 penalty

    def rate(self, group):
        """Counts one request of group; raises 429 CMN-301 over the limit, with RingCentral's
        X-Rate-Limit-* headers and Retry-After."""
        limit = int(self.s.rate_limits.get(group, RATE_LIMITS[group]))
        window = int(self.s.rate_window)
        now = time.time()
        with self.lock:
            hits = [t for t in self.hits.get(group, []) if t > now - window]
            if self.penalty.get(group, 0) > now or len(hits) >= limit:
                self.penalty[group] = now + window     # restarts with every request
                raise HttpError(429, {"errorCode": "CMN-301", "message": "Request rate exceeded",
                                      "errors": [{"errorCode": "CMN-301",
                                                  "message": "Request rate exceeded"}]},
                                {"Retry-After": window, "X-Rate-Limit-Group": group,
                                 "X-Rate-Limit-Limit": limit, "X-Rate-Limit-Remaining": 0,
                                 "X-Rate-Limit-Window": window})
            hits.append(now)
            self.hits[group] = hits
            return {"X-Rate-Limit-Group": group, "X-Rate-Limit-Limit": limit,
                    "X-Rate-Limit-Remaining": limit - len(hits), "X-Rate-Limit-Window": window}

    def resolve(self, account, ext):
        if account not in ("~", ACCOUNT_ID):
            raise api_error(404, "CMN-102", "Resource for parameter [accountId] is not found",
                            "accountId")
        ext = OWNER_ID if ext == "~" else ext
        if ext not in self.ext:
            raise api_error(404, "CMN-102", "Resource for parameter [extensionId] is not found",
                            "extensionId")
        return ext

    def info(self, ext):
        e = self.ext[ext]
        first, _, last = e["name"].partition(" ")
        return {"uri": "https://platform.ringcentral.com/restapi/v1.0/account/%s/extension/%s"
                       % (ACCOUNT_ID, ext),
                "id": int(ext), "extensionNumber": e["extensionNumber"], "name": e["name"],
                "type": e["type"], "status": e["status"],
                "contact": {"firstName": first, "lastName": last},
                "account": {"id": ACCOUNT_ID}}

    def presence_info(self, ext, detailed):
        p = self.presence[ext]
        on_call = p["telephonyStatus"] != "NoCall"
        body = {"uri": "https://platform.ringcentral.com/restapi/v1.0/account/%s/extension/%s/presence"
                       % (ACCOUNT_ID, ext),
                "extension": {"id": ext, "extensionNumber": self.ext[ext]["extensionNumber"]},
                "presenceStatus": "Offline" if p["userStatus"] == "Offline" else
                ("Busy" if on_call or p["userStatus"] == "Busy" else "Available"),
                "telephonyStatus": p["telephonyStatus"], "userStatus": p["userStatus"],
                "dndStatus": p["dndStatus"], "meetingStatus": p["meetingStatus"],
                "message": p["message"], "allowSeeMyPresence": True,
                "ringOnMonitoredCall": False, "pickUpCallsOnHold": False}
        if detailed:
            body["activeCalls"] = list(p["activeCalls"])
        return body

    def update_presence(self, ext, body):
        """PUT .../presence: userStatus, dndStatus and message may change; others are
        read-only and ignored, as RingCentral does."""
        for key, allowed in (("userStatus", USER_STATUSES), ("dndStatus", DND_STATUSES)):
            if key in body and body[key] not in allowed:
                raise api_error(400, "CMN-101", "Parameter [%s] value is invalid" % key, key)
        if "message" in body and not isinstance(body["message"], str):
            raise api_error(400, "CMN-101", "Parameter [message] value is invalid", "message")
        with self.lock:
            p = self.presence[ext]
            for key in ("userStatus", "dndStatus", "message"):
                if key in body:
                    p[key] = body[key]

    def send_sms(self, ext, body):
        """POST .../sms: from must be one of the extension's SMS numbers, to a non-empty
        list of E.164 numbers, text 1..1000 characters."""
        def number(v):
            return (isinstance(v, dict) and isinstance(v.get("phoneNumber"), str)
                    and v["phoneNumber"].startswith("+") and v["phoneNumber"][1:].isdigit()
                    and 8 <= len(v["phoneNumber"]) <= 16)
        frm, to, text = body.get("from"), body.get("to"), body.get("text")
        if not number(frm):
            raise api_error(400, "CMN-101", "Parameter [from.phoneNumber] value is invalid",
                            "from.phoneNumber")
        if frm["phoneNumber"] not in self.ext[ext]["sms_numbers"]:
            raise api_error(400, "MSG-304", "Phone number [%s] does not belong to extension [%s]"
                            " or is not enabled for SMS" % (frm["phoneNumber"], ext),
                            "from.phoneNumber")
        if not isinstance(to, list) or not to or not all(number(t) for t in to):
            raise api_error(400, "CMN-101", "Parameter [to.phoneNumber] value is invalid",
                            "to.phoneNumber")
        if not isinstance(text, str) or not text or len(text) > 1000:
            raise api_error(400, "CMN-101", "Parameter [text] value is invalid", "text")
        now = iso(time.time())
        with self.lock:
            mid = str(2000000 + len(self.sms))
            msg = {"uri": "https://platform.ringcentral.com/restapi/v1.0/account/%s/extension/%s"
                          "/message-store/%s" % (ACCOUNT_ID, ext, mid),
                   "id": int(mid), "type": "SMS", "direction": "Outbound",
                   "from": {"phoneNumber": frm["phoneNumber"], "name": self.ext[ext]["name"]},
                   "to": [{"phoneNumber": t["phoneNumber"]} for t in to],
                   "subject": text, "messageStatus": "Queued", "readStatus": "Read",
                   "priority": "Normal", "availability": "Alive", "creationTime": now,
                   "lastModifiedTime": now, "conversation": {"id": str(7000000 + len(self.sms))},
                   "attachments": [{"id": int(mid), "type": "Text", "contentType": "text/plain"}]}
            self.sms.append(dict(msg, extensionId=ext))
        return msg


# ---- behaviour ----------------------------------------------------------------------------
class Simulator:
    """RingCentral REST, PubNub and the control API on top of the stores."""

    def __init__(self, args):
        self.args = args
        self.s = Settings(args)
        self.tokens = TokenStore(self.s)
        self.subs = SubscriptionStore(self.s)
        self.channels = PubNubChannels(self.s)
        self.faults = FaultInjector()
        self.log = RequestLog(args.log)
        self.stopping = threading.Event()
        self.wsg = None     # the WebSocket Gateway, attached by main() once it listens
        self.clock = bulk.Clock()   # notification timestamps
        self.directory = Directory(self.s)

    # -- OAuth
    def oauth_token(self, headers, form):
        self.check_client(headers)
        grant = form.get("grant_type", [""])[0]
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            ok = form.get("assertion", [""])[0] == self.args.jwt
        elif grant == "password":
            ok = (form.get("username", [""])[0] == self.args.username
                  and form.get("password", [""])[0] == self.args.password
                  and form.get("extension", [""])[0] in (self.args.extension, ""))
        elif grant == "refresh_token":
            rt = form.get("refresh_token", [""])[0]
            ok = self.tokens.use_refresh(rt)
            if ok:  # a refresh continues the login session
                return 200, self.tokens.issue(self.tokens.session_of(rt))
        else:
            raise HttpError(400, {"error": "unsupported_grant_type",
                                  "error_description": "Unsupported grant type"})
        if not ok:
            raise HttpError(400, {"error": "invalid_grant",
                                  "error_description": "Invalid or expired grant",
                                  "errors": [{"errorCode": "OAU-140",
                                              "message": "Invalid resource owner credentials"}]})
        return 200, self.tokens.issue()

    def check_client(self, headers):
        expected = base64.b64encode(("%s:%s" % (self.args.client_id, self.args.client_secret))
                                    .encode()).decode("ascii")
        if headers.get("Authorization", "") != "Basic " + expected:
            raise HttpError(401, {"error": "invalid_client",
                                  "error_description": "Invalid client credentials",
                                  "errors": [{"errorCode": "OAU-123",
                                              "message": "Client authentication is required"}]})

    def require_token(self, headers):
        """The valid Bearer access token of the request (else 401). The scheme is matched
        case-insensitively (RFC 7235): RingCentral's own SDKs send the token_type it
        answers, "bearer <token>"."""
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not self.tokens.valid(token):
            raise HttpError(401, {"errorCode": "AGW-401",
                                  "message": "Access token is invalid or expired",
                                  "errors": [{"errorCode": "OAU-213",
                                              "message": "Token not found"}]})
        return token

    # -- REST
    def route(self, method, path, query, headers, raw):
        if path == "/restapi/oauth/token" and method == "POST":
            return self.oauth_token(headers, parse_qs(raw.decode("utf-8", "replace"),
                                                      keep_blank_values=True))
        if path == "/restapi/oauth/revoke" and method == "POST":
            self.check_client(headers)
            self.tokens.revoke_all()
            return 200, None
        if path == "/restapi/oauth/wstoken" and method == "POST":
            wt, ttl = self.tokens.issue_ws(self.require_token(headers))
            return 200, {"ws_access_token": wt, "uri": self.s.ws_uri or self.wsg.uri,
                         "expires_in": ttl}
        if path.startswith("/restapi/v1.0/"):
            self.require_token(headers)
            if path == SUB_PREFIX or path.startswith(SUB_PREFIX + "/"):
                parts = [p for p in path[len(SUB_PREFIX):].split("/") if p]
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except ValueError:
                    raise api_error(400, "CMN-101", "Request body is not valid JSON")
                if not isinstance(body, dict):
                    raise api_error(400, "CMN-101", "Request body must be a JSON object")
                return self.subscription(method, parts, body)
            parts = path[len("/restapi/v1.0/"):].split("/")
            if len(parts) >= 4 and parts[0] == "account" and parts[2] == "extension":
                return self.extension(method, parts[1], parts[3], parts[4:], query, raw)
            if len(parts) == 3 and parts[0] == "account" and parts[2] == "extension":
                return self.extension_list(method, parts[1], query)
        if path.startswith("/v2/subscribe/") and method == "GET":
            parts = path.split("/")
            if len(parts) != 6 or not parts[3] or not parts[4]:
                raise HttpError(400, {"message": "Invalid Subscribe Key", "error": True,
                                      "service": "Access Manager", "status": 400})
            return self.pubnub(parts[3], parts[4], query)
        if path.startswith("/v2/presence/") and method == "GET":
            # PubNub presence: its clients (the SDK's pubnub package) announce a leave when
            # they unsubscribe, and send heartbeats when configured to; PubNub answers both.
            parts = path.split("/")
            if (len(parts) == 8 and parts[3] == "sub-key" and parts[4] and parts[5] == "channel"
                    and parts[6] and parts[7] in ("leave", "heartbeat")):
                answer = {"status": 200, "message": "OK", "service": "Presence"}
                if parts[7] == "leave":
                    answer["action"] = "leave"
                return 200, answer
            raise HttpError(400, {"message": "Invalid Subscribe Key", "error": True,
                                  "service": "Presence", "status": 400})
        raise api_error(404, "CMN-100", "Resource not found")

    def subscription(self, method, parts, body):
        subs = self.subs
        if not parts:
            if method == "POST":
                return 200, subs.to_json(subs.create(body))
            if method == "GET":
                # RingCentral's SubscriptionListResource: the subscriptions the user created
                # for this app (here one user and one app), each as GET /{id} shows it.
                return 200, {"uri": "https://platform.ringcentral.com" + SUB_PREFIX,
                             "records": [subs.to_json(s) for s in subs.all(live_only=True)]}
        elif len(parts) == 1:
            if method == "GET":
                return 200, subs.to_json(subs.live(parts[0]))
            if method == "PUT":
                return 200, subs.to_json(subs.modify(parts[0], body))
            if method == "DELETE":
                subs.delete(parts[0])
                self.channels.wake()
                return 204, None
        elif len(parts) == 2 and parts[1] == "renew" and method == "POST":
            return 200, subs.to_json(subs.renew(parts[0]))
        raise api_error(405 if len(parts) <= 2 else 404, "CMN-405" if len(parts) <= 2
                        else "CMN-100", "Method or resource not supported")

    # -- extensions, presence, SMS
    def extension_list(self, method, account, query):
        """GET /restapi/v1.0/account/{~|id}/extension (GetExtensionListResponse): the
        extensions in id order, filtered by type and status (each may be repeated),
        perPage (1..1000, default 100) and page (from 1); paging and navigation as
        RingCentral gives them (navigation's nextPage/previousPage only where such a page
        exists). Light."""
        d = self.directory
        if method != "GET":
            raise api_error(405, "CMN-405", "Method or resource not supported")
        headers = d.rate("Light")
        if account not in ("~", ACCOUNT_ID):
            raise api_error(404, "CMN-102", "Resource for parameter [accountId] is not found",
                            "accountId")
        try:
            page = int(query.get("page", ["1"])[0])
            per_page = int(query.get("perPage", ["100"])[0])
        except ValueError:
            raise api_error(400, "CMN-101", "Parameter [page] value is invalid", "page")
        if page < 1 or not 1 <= per_page <= 1000:
            raise api_error(400, "CMN-101", "Parameter [perPage] value is invalid", "perPage")
        per_page = min(per_page, int(self.s.extension_page_size))
        types, statuses = query.get("type"), query.get("status")
        with d.lock:
            ids = sorted((i for i, e in d.ext.items()
                          if (not types or e["type"] in types)
                          and (not statuses or e["status"] in statuses)), key=int)
            records = [d.info(i) for i in ids[(page - 1) * per_page:page * per_page]]
        total = len(ids)
        pages = max(1, (total + per_page - 1) // per_page)
        base = "https://platform.ringcentral.com/restapi/v1.0/account/%s/extension" % ACCOUNT_ID
        keep = [(k, v) for k in ("type", "status") for v in query.get(k, [])]

        def nav(p):
            return {"uri": base + "?" + urlencode(keep + [("page", p), ("perPage", per_page)])}
        paging = {"page": page, "totalPages": pages, "perPage": per_page,
                  "totalElements": total}
        if records:
            paging["pageStart"] = (page - 1) * per_page
            paging["pageEnd"] = paging["pageStart"] + len(records) - 1
        navigation = {"firstPage": nav(1), "lastPage": nav(pages)}
        if page < pages:
            navigation["nextPage"] = nav(page + 1)
        if 1 < page <= pages:
            navigation["previousPage"] = nav(page - 1)
        return 200, {"uri": base + "?" + urlencode(keep + [("page", page),
                                                           ("perPage", per_page)]),
                     "records": records, "paging": paging, "navigation": navigation}, headers

    def extension(self, method, account, ext, rest, query, raw):
        """GET .../extension/{id}; GET and PUT .../presence (a change is notified to the
        subscriptions whose presence filter matches, as RingCentral does); POST .../sms.
        GETs count against the Light group, PUT and POST against Medium."""
        d = self.directory
        if rest not in ([], ["presence"], ["sms"]):
            raise api_error(404, "CMN-100", "Resource not found")
        allowed = {(): ("GET",), ("presence",): ("GET", "PUT"), ("sms",): ("POST",)}[tuple(rest)]
        if method not in allowed:
            raise api_error(405, "CMN-405", "Method or resource not supported")
        headers = d.rate("Light" if method == "GET" else "Medium")
        ext = d.resolve(account, ext)
        body = {}
        if method in ("PUT", "POST"):
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                raise api_error(400, "CMN-101", "Request body is not valid JSON")
            if not isinstance(body, dict):
                raise api_error(400, "CMN-101", "Request body must be a JSON object")
        detailed = query.get("detailedTelephonyState", ["false"])[0] == "true"
        if not rest:
            return 200, d.info(ext), headers
        if rest == ["presence"] and method == "GET":
            return 200, d.presence_info(ext, detailed), headers
        if rest == ["presence"]:
            d.update_presence(ext, body)
            self.notify_presence(ext)
            return 200, d.presence_info(ext, detailed), headers
        return 200, d.send_sms(ext, body), headers

    def notify_presence(self, ext):
        """The notification a presence change sends: one per matching subscription, with
        the detailed body to those that asked for detailedTelephonyState=true."""
        d = self.directory
        for detailed in (False, True):
            info = d.presence_info(ext, detailed)
            body = {k: info[k] for k in ("telephonyStatus", "presenceStatus", "userStatus",
                                         "dndStatus", "meetingStatus", "message",
                                         "allowSeeMyPresence", "ringOnMonitoredCall",
                                         "pickUpCallsOnHold") if k in info}
            body["extensionId"] = ext
            if detailed:
                body["activeCalls"] = info["activeCalls"]
            event = "/restapi/v1.0/account/~/extension/%s/presence%s" % (
                ext, "?detailedTelephonyState=true" if detailed else "")
            for sub in self.subs.all(live_only=True):
                wants = [f for f in self.subs.active_filters(sub) if event_matches(f, event)]
                if any(("detailedTelephonyState=true" in f) == detailed for f in wants):
                    self.notify({"event": event, "body": body, "subscription_id": sub.id})

    # -- PubNub
    def pubnub(self, sub_key, channel, query):
        sub = self.subs.find_channel(sub_key, channel)
        if sub is None:
            raise HttpError(403, {"message": "Forbidden", "payload": {"channels": [channel]},
                                  "error": True, "service": "Access Manager", "status": 403})
        tt = query.get("tt", ["0"])[0]
        if not tt.isdigit():
            raise HttpError(400, {"message": "Invalid timetoken", "error": True,
                                  "service": "Balancer", "status": 400})
        if int(tt) == 0:
            return 200, {"t": {"t": str(self.channels.now_tt()), "r": 2}, "m": []}
        return "poll", (channel, int(tt), sub)

    # -- notifications
    def notify(self, req):
        """Queues one message (or `count`) per matching live subscription; answers what was
        sent, with the exact plaintext so tests can compare bytes."""
        if not isinstance(req, dict):
            raise HttpError(400, {"error": "notify takes a JSON object"})
        event = req.get("event", "/restapi/v1.0/account/~/extension/%s/presence" % OWNER_ID)
        count = max(0, int(req.get("count", 1)))
        target = req.get("subscription_id")
        subs = []
        for s in self.subs.all(live_only=True):
            if target is not None:
                if s.id == target:
                    subs.append(s)
            elif "event" not in req and ("raw" in req or "plaintext" in req):
                subs.append(s)      # malformed-input tests need not name an event
            elif any(event_matches(f, event) for f in self.subs.active_filters(s)):
                subs.append(s)
        delivered = []
        for sub in subs:
            uuids = bulk.uuid4s(count)
            payloads, plaintexts = self.build(req, sub, event, uuids)
            entries = [{"subscription_id": sub.id, "uuid": u, "plaintext": p}
                       for u, p in zip(uuids, plaintexts)]
            delivered.extend(entries)
            if sub.transport == "WebSocket":
                for entry, seq in zip(entries, self.wsg.deliver(sub.id, payloads)):
                    entry["sequence"] = seq     # None: no gateway session (lost)
                continue
            tts = self.channels.publish(sub.address, sub.sub_key, payloads)
            for entry, tt in zip(entries, tts):
                entry["timetoken"] = str(tt)
        return 200, {"delivered": delivered}

    def build(self, req, sub, event, uuids):
        """(payloads, exact plaintexts or Nones), one each per uuid. A PubNub payload is
        `d` (the encrypted text, or without encryption the notification object); a
        WebSocket frame carries the plaintext itself as its body (for "raw", the raw value
        as JSON). "plaintext" is used verbatim, so malformed text makes a malformed
        message on purpose. Built in bulk (bulk.py): the same bytes as one json.dumps,
        uuid4 and encryption per message, at a fraction of the cost."""
        n = len(uuids)
        websocket = sub.transport == "WebSocket"
        if "raw" in req:
            raw = req["raw"]
            return [json.dumps(raw) if websocket else raw] * n, [None] * n
        if "plaintext" in req:
            texts = [req["plaintext"]] * n
        else:
            texts = bulk.envelopes(event, sub.id, OWNER_ID, req.get("body", bulk.absent),
                                   uuids, self.clock)
        if websocket:
            return texts, texts
        if not self.s.encryption:
            payloads = []
            for text in texts:
                try:
                    payloads.append(json.loads(text))
                except ValueError:
                    payloads.append(text)
            return payloads, texts
        return bulk.encrypt_many(sub.key, (t.encode("utf-8", "surrogatepass")
                                           for t in texts)), texts

    # -- control API
    def control(self, method, path, body):
        if not isinstance(body, dict):
            raise HttpError(400, {"error": "control calls take a JSON object"})
        if path == "/_sim/notify" and method == "POST":
            return self.notify(body)
        if path == "/_sim/requests" and method == "GET":
            return 200, {"requests": self.log.list()}
        if path == "/_sim/requests/clear" and method == "POST":
            self.log.clear()
            return 200, {}
        if path == "/_sim/sms" and method == "GET":
            with self.directory.lock:
                return 200, {"sms": list(self.directory.sms)}
        if path == "/_sim/presence" and method == "POST":
            # A call's progress as the telephony side would set it (tests, the demo); with
            # "notify": false the state changes silently (what a REST read will find).
            ext = self.directory.resolve("~", str(body.get("extensionId", OWNER_ID)))
            with self.directory.lock:
                p = self.directory.presence[ext]
                for k in ("telephonyStatus", "activeCalls", "userStatus", "dndStatus",
                          "meetingStatus", "message"):
                    if k in body:
                        p[k] = body[k]
            if body.get("notify", True):
                self.notify_presence(ext)
            return 200, self.directory.presence_info(ext, True)
        if path == "/_sim/extension" and method == "POST":
            # The directory's name and extensionNumber of an extension (added if new), or
            # with "remove": true the extension deleted from the account.
            ext = str(body.get("extensionId", OWNER_ID))
            d = self.directory
            if body.get("remove"):
                with d.lock:
                    found = d.ext.pop(ext, None) is not None
                    d.presence.pop(ext, None)
                return 200, {"removed": found}
            with d.lock:
                e = d.ext.setdefault(ext, {"name": "", "extensionNumber": "", "type": "User",
                                           "status": "Enabled", "sms_numbers": []})
                for k in ("name", "extensionNumber", "type", "status"):
                    if k in body:
                        e[k] = body[k]
                d.presence.setdefault(ext, {"userStatus": "Available", "dndStatus": "TakeAllCalls",
                                            "telephonyStatus": "NoCall",
                                            "meetingStatus": "Disconnected", "message": "",
                                            "activeCalls": []})
            return 200, d.info(ext)
        if path == "/_sim/subscriptions" and method == "GET":
            return 200, {"subscriptions": self.subs.snapshot()}
        if path == "/_sim/config" and method == "POST":
            self.s.update(body)
            self.channels.wake()
            return 200, {k: getattr(self.s, k) for k in Settings.TUNABLE}
        if path == "/_sim/fault" and method == "POST":
            self.faults.add(body)
            return 200, {}
        if path == "/_sim/fault" and method == "GET":
            return 200, {"holding": self.faults.held()}
        if path == "/_sim/fault/release" and method == "POST":
            return 200, {"released": self.faults.release(str(body.get("name")))}
        if path == "/_sim/fault/clear" and method == "POST":
            self.faults.clear()
            return 200, {}
        if path == "/_sim/expire" and method == "POST":
            if body.get("subscriptions", True):
                self.subs.expire_all()
                self.channels.wake()
            if body.get("tokens", True):
                self.tokens.expire_all()
            return 200, {}
        if path == "/_sim/revoke" and method == "POST":
            self.tokens.revoke_all()
            return 200, {}
        if path.startswith("/_sim/ws/"):
            return self.wsg.control(method, path, body)
        raise HttpError(404, {"error": "unknown control call %s %s" % (method, path)})

    # -- demo
    def demo_loop(self, period):
        """A realistic stream, one event per period while anyone is subscribed: a call rings,
        is answered and ends; an SMS arrives. Only subscriptions whose filters match get
        each event."""
        ext, acc = OWNER_ID, ACCOUNT_ID
        presence = ("/restapi/v1.0/account/%s/extension/%s/presence?detailedTelephonyState=true"
                    % (acc, ext))
        sessions = "/restapi/v1.0/account/%s/telephony/sessions" % acc
        caller = {"phoneNumber": "+15557654321", "name": "Alice Example"}
        me = {"phoneNumber": "+15551230000", "name": "Front Desk", "extensionId": ext}

        def pres(tel, status, user="Available", dnd="TakeAllCalls"):
            return presence, {"extensionId": ext, "telephonyStatus": tel,
                              "presenceStatus": status, "userStatus": user,
                              "dndStatus": dnd, "meetingStatus": "Disconnected"}

        def call(code, n):
            return sessions, {
                "eventTime": None, "telephonySessionId": "s-demo-%d" % n,
                "sessionId": "%d" % (9000000000 + n), "serverId": "sim.1", "origin": {"type": "Call"},
                "parties": [{"accountId": acc, "extensionId": ext, "id": "p-demo-%d-1" % n,
                             "direction": "Inbound", "from": caller, "to": me,
                             "status": {"code": code, "rcc": False}, "missedCall": False,
                             "standAlone": False, "muted": False}]}

        def sms(n):
            return ("/restapi/v1.0/account/%s/extension/%s/message-store/instant?type=SMS"
                    % (acc, ext),
                    {"id": "%d" % (1000000 + n), "type": "SMS", "direction": "Inbound",
                     "from": caller, "to": [{"phoneNumber": me["phoneNumber"], "name": me["name"]}],
                     "subject": "Dinner at 8?", "creationTime": None, "lastModifiedTime": None,
                     "readStatus": "Unread", "priority": "Normal", "availability": "Alive",
                     "messageStatus": "Received",
                     "conversation": {"id": "%d" % (7000000 + n)},
                     "attachments": [{"id": "%d" % (1000000 + n), "type": "Text",
                                      "contentType": "text/plain"}]})

        def store(n):
            return ("/restapi/v1.0/account/%s/extension/%s/message-store" % (acc, ext),
                    {"accountId": acc, "extensionId": ext, "lastUpdated": None,
                     "changes": [{"type": "SMS", "newCount": 1, "updatedCount": 0,
                                  "newMessageIds": [1000000 + n]}]})

        steps = [lambda n: pres("Ringing", "Busy"), lambda n: call("Proceeding", n),
                 lambda n: pres("CallConnected", "Busy"), lambda n: call("Answered", n),
                 lambda n: pres("NoCall", "Available"), lambda n: call("Disconnected", n),
                 sms, store, lambda n: pres("NoCall", "Available", "Busy", "DoNotAcceptAnyCalls"),
                 lambda n: pres("NoCall", "Available")]
        sequence = 0
        while not self.stopping.wait(period):
            if not self.subs.all(live_only=True):
                continue
            n = sequence // len(steps)
            event, body = steps[sequence % len(steps)](n)
            now = iso(time.time())
            for k in ("eventTime", "creationTime", "lastModifiedTime", "lastUpdated"):
                if k in body:
                    body[k] = now
            body["sequence"] = sequence
            self.notify({"event": event, "body": body})
            sequence += 1


# ---- HTTP ---------------------------------------------------------------------------------
class RawJson(str):
    """An answer body already serialised (send_json sends it as is)."""


class Handler(BaseHTTPRequestHandler):
    """One HTTP/1.1 keep-alive connection: control calls, faults, then the simulator."""
    protocol_version = "HTTP/1.1"
    server_version = "rcsim/2"
    # Headers and body are separate writes: with Nagle's algorithm and the client's
    # delayed ACK every answer would stall 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass  # tests read /_sim/requests; --log writes the request log

    def send_json(self, status, body, headers=None):
        if body is None:
            data = b""
        elif isinstance(body, RawJson):
            data = body.encode()
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        if status != 204:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)
        self.wfile.flush()

    def client_alive(self):
        """False once the client hung up on a long poll: a waiting client sends nothing, so
        a readable socket means a close (FIN, RST or a TLS close alert)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return not readable
        except (OSError, ValueError):
            return False

    def handle_any(self, method):
        sim = self.server.sim
        started = time.monotonic()
        split = urlsplit(self.path)
        path = split.path
        query = parse_qs(split.query, keep_blank_values=True)
        status = 0
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length > 0 else b""
            if path.startswith("/_sim/"):
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except ValueError:
                    raise HttpError(400, {"error": "invalid JSON"})
                status, answer = sim.control(method, path, body)
                self.send_json(status, answer)
                return
            fault = sim.faults.take(method, path)
            if fault:
                if fault.get("hold"):
                    sim.faults.hold(str(fault["hold"]), sim.stopping)
                if fault.get("delay"):
                    sim.stopping.wait(float(fault["delay"]))
                if fault.get("close"):
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                # A 2xx status without a body only delays the real answer.
                if fault.get("status") and (int(fault["status"]) >= 300 or "body" in fault):
                    raise HttpError(int(fault["status"]), fault.get("body"), fault.get("headers"))
            routed = sim.route(method, path, query, self.headers, raw)
            status, answer = routed[0], routed[1]
            extra_headers = routed[2] if len(routed) > 2 else None
            if status == "poll":
                channel, after, sub = answer
                msgs, nxt = sim.channels.fetch(
                    channel, after, float(sim.s.long_poll_timeout),
                    lambda: self.client_alive() and sub.live() and not sim.stopping.is_set())
                # json.dumps({"t": {"t": str(nxt), "r": 2}, "m": msgs}) from the texts.
                status, answer = 200, RawJson('{"t":{"t":"%d","r":2},"m":[%s]}'
                                              % (nxt, ",".join(msgs)))
            self.send_json(status, answer, extra_headers)
        except HttpError as e:
            status = e.status
            try:
                self.send_json(e.status, e.body, e.headers)
            except OSError:
                self.close_connection = True
        except OSError:                     # the client went away (ssl.SSLError included)
            self.close_connection = True
        except Exception as e:              # a simulator bug must show, not hang the client
            status = 500
            sys.stderr.write("rcsim: internal error on %s %s: %r\n" % (method, path, e))
            try:
                self.send_json(500, {"errorCode": "SIM-500", "message": "simulator error"})
            except OSError:
                self.close_connection = True
        finally:
            if not path.startswith("/_sim/"):
                # PubNub's and the account resources' queries carry no secret.
                logged = ({k: v[0] for k, v in query.items()}
                          if path.startswith(("/v2/", "/restapi/v1.0/account/")) else {})
                sim.log.record(method, path, logged, status, time.monotonic() - started,
                               self.headers.get("User-Agent"))

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_PATCH(self):
        self.handle_any("PATCH")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        pass  # refused TLS handshakes (wrong CA tests) and resets are expected


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--dir", required=True, help="state dir: test CA and server certificate")
    ap.add_argument("--ready-file", help="JSON {port,url,cafile,pid} written once listening")
    for k, v in DEFAULTS.items():
        ap.add_argument("--" + k.replace("_", "-"), default=v)
    ap.add_argument("--access-token-ttl", type=int, default=3600)
    ap.add_argument("--refresh-token-ttl", type=int, default=604800)
    ap.add_argument("--max-expires-in", type=int, default=900)
    ap.add_argument("--max-subscriptions", type=int, default=20)
    ap.add_argument("--long-poll-timeout", type=float, default=280)
    ap.add_argument("--cache-size", type=int, default=1000, help="messages kept per channel")
    ap.add_argument("--cache-seconds", type=int, default=600)
    ap.add_argument("--no-encryption", action="store_true", help="deliver plaintext objects")
    ap.add_argument("--demo", type=float, default=0, help="emit a demo event every N seconds")
    ap.add_argument("--log", help="append one line per request (no tokens, no bodies)")
    ap.add_argument("--plain-http", action="store_true", help="serve http:// without TLS")
    ap.add_argument("--ws-port", type=int, default=0,
                    help="WebSocket gateway port (0 picks a free one)")
    ap.add_argument("--ws-token-ttl", type=int, default=60, help="wstoken expires_in")
    ap.add_argument("--ws-recovery-timeout", type=float, default=180)
    ap.add_argument("--ws-recovery-buffer-size", type=int, default=100)
    ap.add_argument("--ws-idle-timeout", type=float, default=1800)
    ap.add_argument("--ws-absolute-timeout", type=float, default=86400)
    ap.add_argument("--ws-ping-interval", type=float, default=0,
                    help="gateway-sent WebSocket pings every N seconds (0: none)")
    return ap.parse_args(argv)


def main():
    args = parse_args()
    os.makedirs(args.dir, exist_ok=True)
    ca, cert, key = make_certs(args.dir)
    sim = Simulator(args)
    if ":" in args.host:
        Server.address_family = socket.AF_INET6
    server = Server((args.host, args.port), Handler)
    server.sim = sim
    ctx = None
    if not args.plain_http:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        # The handshake happens in the connection's thread, so a client that connects and
        # says nothing cannot stall the accept loop.
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)

    # The gateway gets its own port: the HTTP server is thread-per-connection and the
    # gateway an asyncio loop, and handing an upgraded socket from one to the other would
    # be more machinery than a second listener. Same certificate, same host.
    sim.wsg = Gateway(sim, args.host, args.ws_port, ctx, args.ws_ping_interval or None,
                      HttpError)
    sim.wsg.start()

    def stop(signum, frame):
        sim.stopping.set()
        sim.channels.wake()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = server.server_address[1]
    host = "[%s]" % args.host if ":" in args.host else args.host
    url = "%s://%s:%d" % ("http" if args.plain_http else "https", host, port)
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"port": port, "url": url, "cafile": os.path.abspath(ca),
                       "pid": os.getpid(), "ws_port": sim.wsg.port, "ws_uri": sim.wsg.uri}, f)
        os.replace(tmp, args.ready_file)
    sys.stderr.write("rcsim: listening on %s\n" % url)
    if args.demo > 0:
        threading.Thread(target=sim.demo_loop, args=(args.demo,), daemon=True).start()
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    sim.wsg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
