"""test_shutdown_dns.py - shutdown stays bounded while a name lookup hangs.

The broker runs in a private mount namespace (unshare --mount, as root) where
/etc/resolv.conf names a test-owned UDP socket on 127.53.x.y:53 that receives DNS queries
and never answers (resolv.conf asks for 30 s x 5 attempts), /etc/hosts knows only
localhost and gw-alias.test (both 127.0.0.1) and nsswitch sends other names to DNS. The
real machine's files are untouched; all traffic stays on 127.0.0.0/8.

Covered: a stop while the REST login's lookup hangs (curl's threaded resolver), with
PubNub and with WebSocket delivery; a stop while the gateway's lookup hangs (the login on
127.0.0.1 works, the wstoken answer's uri names the hung host); a hung lookup that times
out does not freeze the worker; and a gateway reached by name is verified against that
name (not against the address it resolved to). Each stop must end with exit code 0 in
under 5 s, and the fake DNS socket must have received the query before the stop.
Must run as root (unshare, mount, port 53)."""
import os
import random
import shutil
import socket
import tempfile
import threading

from harness import (Broker, MqttWatcher, Sim, plugin_opts, run_tests, wait_until,
                     websocket_opts)

HUNG_NAME = "rc-sim.test"       # not in /etc/hosts: goes to the DNS that never answers
ALIAS_NAME = "gw-alias.test"    # in the namespace's /etc/hosts: 127.0.0.1
STOP_LIMIT_S = 5.0


def qname(packet):
    """The question name of a DNS query packet ('' if unreadable)."""
    labels, i = [], 12
    try:
        while packet[i]:
            n = packet[i]
            labels.append(packet[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
    except IndexError:
        return ""
    return ".".join(labels).lower()


class HungDns:
    """A UDP socket on 127.53.x.y:53 that records queries and never answers, and the
    files (resolv.conf, hosts, nsswitch.conf) a broker is run with in its own mount
    namespace (wrapper())."""

    def __init__(self):
        self.queries = []
        self.cond = threading.Condition()
        self.sock = None
        for _ in range(50):
            addr = "127.53.%d.%d" % (random.randint(0, 255), random.randint(1, 254))
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind((addr, 53))
            except OSError:
                s.close()
                continue
            self.sock, self.addr = s, addr
            break
        if self.sock is None:
            raise AssertionError("no free 127.53.x.y:53 for the fake DNS")
        self.dir = tempfile.mkdtemp(prefix="rcdns-")
        self.resolv = os.path.join(self.dir, "resolv.conf")
        self.hosts = os.path.join(self.dir, "hosts")
        self.nsswitch = os.path.join(self.dir, "nsswitch.conf")
        with open(self.resolv, "w") as f:
            f.write("nameserver %s\noptions timeout:30 attempts:5\n" % self.addr)
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 localhost\n127.0.0.1 %s\n" % ALIAS_NAME)
        try:
            with open("/etc/nsswitch.conf") as f:
                lines = [l for l in f.read().splitlines() if not l.startswith("hosts:")]
        except FileNotFoundError:
            lines = []
        with open(self.nsswitch, "w") as f:
            f.write("\n".join(lines + ["hosts: files dns"]) + "\n")
        self.thread = threading.Thread(target=self._receive, daemon=True)
        self.thread.start()

    def _receive(self):
        while True:
            try:
                data, _ = self.sock.recvfrom(4096)
            except OSError:
                return      # closed
            with self.cond:
                self.queries.append(qname(data))
                self.cond.notify_all()

    def wait_query(self, name, timeout=20):
        with self.cond:
            if not self.cond.wait_for(lambda: name in self.queries, timeout):
                raise AssertionError("the fake DNS never saw a query for %s (saw %s)"
                                     % (name, self.queries[-10:]))

    def count(self, name):
        with self.cond:
            return self.queries.count(name)

    def wrapper(self):
        """Runs the command in a private mount namespace where the test's resolver files
        lie over /etc's (a read-only overlay: no file needs to exist there already, as
        /etc/hosts does not on a minimal Debian); unshare execs sh, which execs the command
        (same pid). In a chroot "/" is no mount point, so unshare cannot make it private
        itself: the script does what it can and refuses to go on if its mounts could
        propagate out of the namespace."""
        script = ('mount --make-rprivate / 2>/dev/null; '
                  'case "$(findmnt -n -o PROPAGATION -T /etc 2>/dev/null)" in '
                  'shared*) echo "mount propagation is shared: refusing" >&2; exit 97;; esac; '
                  'mount -t overlay overlay -o lowerdir="$1":/etc /etc && shift && exec "$@"')
        return ["/usr/bin/unshare", "--mount", "--propagation", "unchanged", "/bin/sh", "-c",
                script, "sh", self.dir]

    def close(self):
        self.sock.close()
        self.thread.join(5)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def stop_bounded(b):
    code, seconds = b.stop()
    print("    broker stopped: exit code %s in %.2f s" % (code, seconds), flush=True)
    assert code == 0, (code, b.log_text()[-3000:])
    assert seconds < STOP_LIMIT_S, "stop took %.2f s" % seconds
    return seconds


def hung_server(sim):
    return "https://%s:%d" % (HUNG_NAME, sim.port)


def test_stop_during_hung_rest_lookup_pubnub():
    with HungDns() as dns, Sim() as sim:
        b = Broker(plugin_opts(sim, server=hung_server(sim)), wrapper=dns.wrapper())
        with b:
            dns.wait_query(HUNG_NAME)
            assert sim.requests(prefix="/restapi") == []    # still resolving
            stop_bounded(b)


def test_stop_during_hung_rest_lookup_websocket():
    with HungDns() as dns, Sim() as sim:
        b = Broker(websocket_opts(sim, server=hung_server(sim)), wrapper=dns.wrapper())
        with b:
            dns.wait_query(HUNG_NAME)
            assert sim.requests(prefix="/restapi") == []
            stop_bounded(b)


def test_stop_during_hung_gateway_lookup():
    with HungDns() as dns, Sim() as sim:
        sim.config(ws_uri="wss://%s:%d/ws" % (HUNG_NAME, sim.ws_port))
        b = Broker(websocket_opts(sim), wrapper=dns.wrapper())
        with b:
            wait_until(lambda: sim.requests("POST", "/restapi/oauth/wstoken"), 20,
                       "the wstoken request")
            dns.wait_query(HUNG_NAME)
            assert sim.requests("WS") == []     # the gateway was never reached
            stop_bounded(b)


def test_hung_lookups_time_out_without_freezing_the_worker():
    # request_timeout 2 s: each hung lookup is given up after 2 s and reported, while the
    # worker keeps running (status updates), then the stop is still bounded.
    with HungDns() as dns, Sim() as sim:
        b = Broker(plugin_opts(sim, server=hung_server(sim), request_timeout=2),
                   wrapper=dns.wrapper())
        with b, MqttWatcher(b.port) as w:
            w.wait_status(lambda s: "resolv" in (s["last_error"] or "").lower(), 20,
                          what="a REST lookup timeout")
            # The worker got past the timeout: it tries again after its backoff.
            wait_until(lambda: b.log_text().count("login failed: Resolving timed out") >= 2,
                       30, "a second login attempt timing out")
            stop_bounded(b)
    with HungDns() as dns, Sim() as sim:
        sim.config(ws_uri="wss://%s:%d/ws" % (HUNG_NAME, sim.ws_port))
        b = Broker(websocket_opts(sim, request_timeout=2), wrapper=dns.wrapper())
        with b, MqttWatcher(b.port) as w:
            w.wait_status(lambda s: "look" in (s["last_error"] or "").lower(), 20,
                          what="a gateway lookup timeout")
            wait_until(lambda: len(sim.requests("POST", "/restapi/oauth/wstoken")) >= 2, 30,
                       "a second wstoken request")
            stop_bounded(b)


def test_gateway_by_name_is_verified_against_the_name():
    # The gateway's certificate names localhost, 127.0.0.1 and ::1. Reached as localhost
    # (resolved by the plugin, then connected to by address) it is accepted; reached as
    # gw-alias.test, which resolves to the same 127.0.0.1, it must be refused: the name
    # is checked, not the address connected to.
    with HungDns() as dns, Sim() as sim:
        sim.config(ws_uri="wss://localhost:%d/ws" % sim.ws_port)
        b = Broker(websocket_opts(sim), wrapper=dns.wrapper())
        with b, MqttWatcher(b.port) as w:
            w.wait_status(lambda s: s["state"] == "online", 30, what="online via localhost")
            stop_bounded(b)
        assert dns.count("localhost") == 0
    with HungDns() as dns, Sim() as sim:
        sim.config(ws_uri="wss://%s:%d/ws" % (ALIAS_NAME, sim.ws_port))
        b = Broker(websocket_opts(sim), wrapper=dns.wrapper())
        with b, MqttWatcher(b.port) as w:
            status = w.wait_status(lambda s: "mismatch" in (s["last_error"] or ""), 30,
                                   what="a name mismatch error")
            assert status["state"] == "offline", status
            assert not [r for r in sim.requests("WS") if r.get("status") == 101]
            stop_bounded(b)


if __name__ == "__main__":
    run_tests([test_stop_during_hung_rest_lookup_pubnub,
               test_stop_during_hung_rest_lookup_websocket,
               test_stop_during_hung_gateway_lookup,
               test_hung_lookups_time_out_without_freezing_the_worker,
               test_gateway_by_name_is_verified_against_the_name])
