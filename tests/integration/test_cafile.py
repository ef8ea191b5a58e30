"""test_cafile.py - what `cafile` means: the system store PLUS the file, for REST and PubNub
(libcurl) and for the WebSocket gateway (libwebsockets) alike.

The "system store" is OpenSSL's default locations, which honour $SSL_CERT_FILE and
$SSL_CERT_DIR: the broker is started with those pointing at a temporary file or hashed
directory that holds (or does not hold) a simulator's CA, so the real system store is never
touched. Every case runs for both transports. Real broker, plugin and simulators over TLS.
"""
import os
import shutil
import subprocess
import tempfile


from harness import (Broker, MqttWatcher, Sim, plugin_opts, run_tests, self_signed_ca_pem,
                     wait_until)

TRANSPORTS = ("pubnub", "websocket")
# The real system store, whatever the environment of the test run says.
REAL_SYSTEM_STORE = {"SSL_CERT_FILE": None, "SSL_CERT_DIR": None}


def opts(sim, transport, **overrides):
    return plugin_opts(sim, **dict({"transport": transport}, **overrides))


def unrelated_ca(directory):
    """A CA (PEM file) that signed nothing any simulator serves."""
    path = os.path.join(directory, "unrelated-ca.pem")
    with open(path, "w") as f:
        f.write(self_signed_ca_pem("unrelated test CA"))
    return path


def system_store(directory, cas, kind):
    """Broker environment making OpenSSL's default store exactly cas: one bundle file
    ($SSL_CERT_FILE, with an empty $SSL_CERT_DIR) or a hashed directory ($SSL_CERT_DIR,
    with a $SSL_CERT_FILE that does not exist)."""
    store = tempfile.mkdtemp(prefix="store-", dir=directory)
    certs = os.path.join(store, "certs")
    os.mkdir(certs)
    bundle = os.path.join(store, "bundle.pem")
    if kind == "file":
        with open(bundle, "w") as out:
            for ca in cas:
                with open(ca) as f:
                    out.write(f.read())
    else:
        for ca in cas:
            h = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", ca], check=True,
                               capture_output=True, text=True).stdout.strip()
            n = 0
            while os.path.exists(os.path.join(certs, "%s.%d" % (h, n))):
                n += 1
            shutil.copy(ca, os.path.join(certs, "%s.%d" % (h, n)))
    return {"SSL_CERT_FILE": bundle, "SSL_CERT_DIR": certs}


def wait_online(broker, w, what):
    try:
        w.wait_state("ringcentral", "online", timeout=30)
    except AssertionError:
        raise AssertionError("%s: not online; status %s\n%s" % (
            what, w.last_status(), broker.log_text()[-2000:]))


def wait_certificate_error(w, what):
    status = w.wait_status(lambda s: "certificate" in (s["last_error"] or ""), timeout=30,
                           what="%s: a certificate error" % what)
    assert status["state"] == "offline", (what, status)
    return status


def test_cafile_alone_is_trusted():
    # (1) cafile = the simulator's CA, a system store that lacks it.
    with Sim() as sim:
        for transport in TRANSPORTS:
            with Broker(opts(sim, transport), env=REAL_SYSTEM_STORE) as b, \
                    MqttWatcher(b.port) as w:
                wait_online(b, w, transport)


def test_system_store_kept_when_cafile_given():
    # (2) The system store trusts the simulator, cafile is an unrelated CA: cafile adds to
    # the system store, it does not replace it. Both ways OpenSSL finds its store.
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        other = unrelated_ca(d)
        for kind in ("file", "dir"):
            env = system_store(d, [sim.cafile], kind)
            for transport in TRANSPORTS:
                with Broker(opts(sim, transport, cafile=other), env=env) as b, \
                        MqttWatcher(b.port) as w:
                    wait_online(b, w, "%s, system store from a %s" % (transport, kind))


def test_system_store_alone_when_no_cafile():
    # No cafile at all: the system store (as OpenSSL's defaults give it) is trusted.
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        env = system_store(d, [sim.cafile], "file")
        for transport in TRANSPORTS:
            with Broker(opts(sim, transport, cafile=None), env=env) as b, \
                    MqttWatcher(b.port) as w:
                wait_online(b, w, transport)


def test_trusted_by_neither_is_refused():
    # (3) cafile = an unrelated CA, the real system store: refused before anything is sent.
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        other = unrelated_ca(d)
        for transport in TRANSPORTS:
            with Broker(opts(sim, transport, cafile=other), env=REAL_SYSTEM_STORE) as b, \
                    MqttWatcher(b.port) as w:
                status = wait_certificate_error(w, transport)
                assert "login failed" in status["last_error"], status
            assert sim.requests() == [], "nothing may be sent over an unverified connection"


# The two legs of each transport, each through a different source of trust in one process.
# "websocket": REST (libcurl) on sim, the gateway (libwebsockets) on other's.
# "pubnub": REST on sim, PubNub (libcurl, another connection) on other.
def split_opts(sim, other, transport, cafile):
    if transport == "websocket":
        sim.config(ws_uri=other.ws_uri)
        return opts(sim, transport, cafile=cafile)
    return opts(sim, transport, cafile=cafile, pubnub_origin=other.url)


def second_leg_requests(other, transport):
    return other.requests("WS", "CONNECT") if transport == "websocket" else other.requests()


def test_each_leg_trusts_system_store_plus_cafile():
    # REST trusted through cafile and the second leg through the system store, then the
    # other way round: each library uses both sources at once. The second leg's server is
    # another simulator, which does not know the first one's tokens or channels: that its
    # request reached it at all shows the TLS handshake verified.
    for transport in TRANSPORTS:
        for rest_via in ("cafile", "system store"):
            with Sim() as sim, Sim() as other, tempfile.TemporaryDirectory() as d:
                cafile, in_store = ((sim.cafile, other.cafile) if rest_via == "cafile"
                                    else (other.cafile, sim.cafile))
                env = system_store(d, [in_store], "file")
                with Broker(split_opts(sim, other, transport, cafile), env=env) as b, \
                        MqttWatcher(b.port):
                    wait_until(lambda: second_leg_requests(other, transport), 30,
                               "%s: a request on the second leg (REST via %s); log:\n%s"
                               % (transport, rest_via, b.log_text()[-2000:]))
                    assert sim.requests("POST", "/restapi/oauth/token")


def test_second_leg_trusted_by_neither_is_refused():
    # (3) for the second leg alone: REST is trusted (cafile), the gateway's / PubNub's CA is
    # in neither cafile nor the system store: a certificate error, nothing sent there.
    for transport in TRANSPORTS:
        with Sim() as sim, Sim() as other:
            with Broker(split_opts(sim, other, transport, sim.cafile),
                        env=REAL_SYSTEM_STORE) as b, MqttWatcher(b.port) as w:
                status = wait_certificate_error(w, transport)
                if transport == "websocket":
                    assert "WebSocket connection failed" in status["last_error"], status
            assert second_leg_requests(other, transport) == []
            assert other.requests() == []


def test_cafile_without_certificates_is_an_error():
    # A readable file that holds no certificate never means "trust less, quietly".
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        bad = os.path.join(d, "bad.pem")
        with open(bad, "w") as f:
            f.write("this is not a certificate\n")
        # WebSocket: the trust store is made when the transport starts, so the broker
        # refuses to start.
        b = Broker(opts(sim, "websocket", cafile=bad), env=REAL_SYSTEM_STORE)
        try:
            assert b.start(expect_running=False) != 0, "broker started with a bad cafile"
            with open(b.stderr_path) as f:
                text = b.log_text() + f.read()
            assert "cannot load CA file " + bad in text, text[-2000:]
        finally:
            b.stop()
        # PubNub: the store is made for every new TLS connection; the first fails.
        with Broker(opts(sim, "pubnub", cafile=bad), env=REAL_SYSTEM_STORE) as b, \
                MqttWatcher(b.port) as w:
            status = w.wait_status(lambda s: "cannot load CA file" in (s["last_error"] or ""),
                                   timeout=30, what="the CA file error")
            assert status["state"] == "offline", status
        assert sim.requests() == []


if __name__ == "__main__":
    run_tests([test_cafile_alone_is_trusted,
               test_system_store_kept_when_cafile_given,
               test_system_store_alone_when_no_cafile,
               test_trusted_by_neither_is_refused,
               test_each_leg_trusts_system_store_plus_cafile,
               test_second_leg_trusted_by_neither_is_refused,
               test_cafile_without_certificates_is_an_error])
