"""bulk.py - the per-message pieces of a notification, made cheaply in bulk.

/_sim/notify with count=N must not be what limits a throughput benchmark, so the hot path
avoids per-message json.dumps, datetime and Cipher objects. Every function here produces
exactly the text the straightforward code would (json.dumps with the same separators,
str(uuid.uuid4()), rcsim.iso, rcsim.encrypt); tests/integration/test_simulator.py checks
that byte for byte against the reference forms.
"""
import binascii
import json
import os
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def uuid4s(n):
    """n random version 4 UUIDs as str(uuid.uuid4()) writes them (from one urandom call)."""
    raw = os.urandom(16 * n).hex()
    out = []
    append = out.append
    variant = _VARIANT
    for i in range(0, 32 * n, 32):
        h = raw[i:i + 32]
        append("%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], variant[h[16]], h[17:20],
                                      h[20:]))
    return out


class Clock:
    """RingCentral's ISO 8601 timestamp (milliseconds, Z) of now, formatted once per
    millisecond however many messages are stamped within it."""

    def __init__(self):
        self.last = (None, None)    # (millisecond, its text), replaced as one (threads)

    def now(self):
        ms = time.time_ns() // 1_000_000
        last = self.last
        if last[0] == ms:
            return last[1]
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + \
            ".%03dZ" % (ms % 1000)
        self.last = (ms, text)
        return text


def dumps(obj, ensure_ascii=False):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=ensure_ascii)


def envelopes(event, sub_id, owner_id, body, uuids, clock):
    """The notification texts: json.dumps({uuid, event, timestamp, subscriptionId, ownerId
    [, body]}, separators=(",", ":"), ensure_ascii=False) for each uuid, with event and body
    serialised once. body is the JSON value, or the marker `absent` for none."""
    mid = '","event":' + dumps(event) + ',"timestamp":"'
    tail = '","subscriptionId":' + dumps(sub_id) + ',"ownerId":' + dumps(owner_id) + \
        ("}" if body is absent else ',"body":' + dumps(body) + "}")
    now = clock.now
    return ['{"uuid":"' + u + mid + now() + tail for u in uuids]


absent = object()


def encrypt_many(key, datas):
    """base64(AES-128-ECB(PKCS#7(data))) of each byte string in datas, in order. ECB has no
    chaining: every data, padded to whole blocks, is encrypted in one pass over all of them
    and its own blocks are cut out again."""
    parts, lengths = [], []
    for data in datas:
        pad = 16 - len(data) % 16
        parts.append(data)
        parts.append(bytes((pad,)) * pad)
        lengths.append(len(data) + pad)
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    ct = memoryview(enc.update(b"".join(parts)) + enc.finalize())
    out, pos, b64 = [], 0, binascii.b2a_base64
    for n in lengths:
        out.append(b64(ct[pos:pos + n], newline=False).decode("ascii"))
        pos += n
    return out
