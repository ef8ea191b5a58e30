"""test_startup_and_security.py - what happens before any notification flows.

Bad options stop the broker with one line naming the option; the plugin exports only the
three entry points and does not link libmosquitto; start-up never waits on the network;
TLS is always verified; http:// is refused except to loopback; secrets never reach the log
or the topics."""
import os
import re
import subprocess
import tempfile

from harness import (PLUGIN, SIM_CREDENTIALS, Broker, MqttWatcher, Sim, free_port, plugin_opts,
                     run_tests)

BAD_OPTIONS = [
    ("qos", "7"), ("qos", "one"), ("retain", "maybe"), ("payload", "xml"), ("transport", "carrier-pigeon"),
    ("expires_in", "5"), ("expires_in", "900s"), ("renew_margin", "0"), ("topic_prefix", "a/+/b"),
    ("topic_prefix", "/lead"), ("topic_map", "/no/template"), ("topic_map", "/a/{x} b/{y}"),
    ("server", "http://example.com"), ("server", "ftp://127.0.0.1"), ("pubnub_origin", "not a url"),
    ("cafile", "/nonexistent/ca.pem"), ("client_secret_file", "/nonexistent/secret"),
    ("state_file", "/nonexistent-dir/state"), ("event_filter", "no-leading-slash"),
    ("filters_file", "/nonexistent/filters"), ("max_notification_size", "12"),
    ("wake_broker", "sometimes"), ("no_such_option", "1"),
]


def start_failure_line(opts):
    """Starts a broker expected to refuse; returns the plugin's error lines."""
    b = Broker(opts)
    try:
        code = b.start(expect_running=False)
        assert code != 0, "broker started with bad options"
        with open(b.stderr_path) as f:
            lines = [l for l in b.log_text().splitlines() + f.read().splitlines()
                     if "ringcentral: Error" in l]
        return lines
    finally:
        b.stop()


def test_bad_options_stop_startup_with_one_line_naming_the_option():
    with Sim() as sim:
        for key, value in BAD_OPTIONS:
            lines = start_failure_line(plugin_opts(sim, **{key: value}))
            assert len(lines) == 1, (key, value, lines)
            assert "plugin_opt_" + key in lines[0], (key, lines[0])
        # Missing required options and conflicting auth modes.
        for override, name in (({"client_id": None}, "client_id"),
                               ({"client_secret": None}, "client_secret"),
                               ({"jwt": None}, "jwt"),
                               ({"event_filter": None}, "event_filter"),
                               ({"username": "u", "password": "p"}, "jwt")):
            lines = start_failure_line(plugin_opts(sim, **override))
            assert len(lines) == 1 and "plugin_opt_" + name in lines[0], (override, lines)
        # The error line never shows a secret.
        lines = start_failure_line(plugin_opts(sim, qos="9"))
        assert SIM_CREDENTIALS["client_secret"] not in lines[0]


def test_only_entry_points_exported_and_no_libmosquitto():
    out = subprocess.run(["nm", "-D", "--defined-only", PLUGIN], capture_output=True, text=True,
                         check=True).stdout
    exported = sorted(l.split()[2] for l in out.splitlines() if l.split()[1] in "TDB")
    assert exported == ["mosquitto_plugin_cleanup", "mosquitto_plugin_init",
                        "mosquitto_plugin_version"], exported
    ldd = subprocess.run(["ldd", PLUGIN], capture_output=True, text=True).stdout
    assert "libmosquitto" not in ldd


def test_startup_does_not_wait_on_the_network():
    # A server that accepts TCP but never answers: the broker must still serve at once.
    import socket
    with socket.socket() as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(16)
        url = "https://127.0.0.1:%d" % black_hole.getsockname()[1]
        with Sim() as sim, Broker(plugin_opts(sim, server=url, pubnub_origin=url)) as broker:
            with MqttWatcher(broker.port, "ringcentral/bridge/state") as w:
                w.wait_for(lambda ms: ms and ms[-1].payload == b"offline", 10, "offline state")
            code, took = broker.stop()
            assert took < 5, "shutdown with a stalled request took %.1fs" % took


def test_wrong_ca_is_refused():
    with Sim() as sim, Sim() as other:
        opts = plugin_opts(sim, cafile=other.cafile)
        with Broker(opts) as broker, MqttWatcher(broker.port) as w:
            broker.wait_log(r"login failed: .*(certificate|SSL)", 20)
            status = w.wait_status(lambda s: s["last_error"] and "login failed" in s["last_error"])
            assert status["state"] == "offline"
        assert not sim.requests(), "nothing may be sent over an unverified connection"


def test_plain_http_refused_except_loopback():
    with Sim() as sim:
        lines = start_failure_line(plugin_opts(sim, server="http://platform.example.com"))
        assert "http:// is only allowed to a loopback address" in lines[0]
        lines = start_failure_line(plugin_opts(sim, pubnub_origin="http://10.1.2.3"))
        assert "plugin_opt_pubnub_origin" in lines[0]
        # Loopback http is accepted at start-up (the simulator speaks TLS, so it then fails).
        with Broker(plugin_opts(sim, server="http://127.0.0.1:%d" % free_port())) as broker:
            broker.wait_log(r"ringcentral: started")


def test_secrets_never_reach_log_or_topics():
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        secret_file = os.path.join(d, "secret")
        with open(secret_file, "w") as f:
            f.write(SIM_CREDENTIALS["client_secret"] + "\n")
        os.chmod(secret_file, 0o644)
        opts = plugin_opts(sim, client_secret=None, client_secret_file=secret_file)
        with Broker(opts) as broker, MqttWatcher(broker.port) as w:
            w.wait_state("ringcentral", "online")
            sent = sim.notify("/restapi/v1.0/account/~/extension/1/presence", {"a": 1})
            w.wait_for(lambda ms: [m for m in ms if m.user_properties.get("uuid") == sent[0]["uuid"]])
            # Force a refresh and a failed call so error paths log too.
            sim.expire(subscriptions=False, tokens=True)
            sim.fault(match={"method": "POST", "path_prefix": "/restapi/oauth/token"}, status=400,
                      body={"error": "invalid_grant", "error_description": "bad"}, count=1)
            broker.sighup()
            broker.stop()
            log = broker.log_text()
            topics = b"".join(m.payload for m in w.messages)
        assert "readable by group or others" in log
        for secret in (SIM_CREDENTIALS["client_secret"], SIM_CREDENTIALS["jwt"],
                       SIM_CREDENTIALS["password"]):
            assert secret not in log and secret.encode() not in topics
        assert not re.search(r"SIM(AT|RT)-", log), "an access or refresh token was logged"
        assert b"SIMAT-" not in topics


if __name__ == "__main__":
    run_tests([test_bad_options_stop_startup_with_one_line_naming_the_option,
               test_only_entry_points_exported_and_no_libmosquitto,
               test_startup_does_not_wait_on_the_network,
               test_wrong_ca_is_refused,
               test_plain_http_refused_except_loopback,
               test_secrets_never_reach_log_or_topics])
