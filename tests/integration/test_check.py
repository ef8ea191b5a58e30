"""test_check.py - mosquitto-ringcentral-check, the built binary, on generated configurations.

Offline: a good configuration passes (exit 0); a bad option value is one error line naming
the option and its line, the very message the real broker logs; a missing secret file, a
world-readable one, a CA file without a certificate, a file the broker's user cannot read,
what Mosquitto itself refuses (checked against the real broker), include_dir and its
reading order; usage errors exit 2.
Online, against the simulator for each transport: the login, the app's subscriptions
listed (this bridge's told apart by its state_file), the event filters tried with a test
subscription that is deleted again, and the filters the simulator refuses or disables
reported by name. No output ever holds a secret or a token.

The binary is $RC_CHECK (set by ctest), else mosquitto-ringcentral-check next to the
plugin ($RC_PLUGIN)."""
import getpass
import grp
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import urllib.request


from harness import (self_signed_ca_pem, MESSAGE_FILTER, PLUGIN, PRESENCE_FILTER, SIM_CREDENTIALS, Broker,
                     MqttWatcher, Sim, free_port, per_transport, rest_subscription_calls,
                     run_tests, wait_online, ws_calls)
from test_startup_and_security import BAD_OPTIONS

CHECK = os.environ.get("RC_CHECK") or os.path.join(os.path.dirname(PLUGIN),
                                                   "mosquitto-ringcentral-check")
ME = getpass.getuser()
# Another user, not root (which may read anything), for the broker's `user`.
OTHER = "nobody" if ME != "nobody" else "daemon"
SECRETS = [SIM_CREDENTIALS[k] for k in ("client_secret", "jwt", "password")]
SMS_FILTER = "/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS"


def run_check(conf, *args, expect=None):
    """Runs the check; returns (exit code, output lines). Whatever it printed must not hold
    a secret or a token."""
    p = subprocess.run([CHECK] + list(args) + [conf], capture_output=True, text=True,
                       timeout=120)
    out = p.stdout + p.stderr
    for secret in SECRETS:
        assert secret not in out, "a secret in the output:\n" + out
    assert not re.search(r"SIM(AT|RT|WS)-", out), "a token in the output:\n" + out
    lines = p.stdout.splitlines()
    for line in lines:
        assert re.match(r"(ok|warning|error): ", line), "not a finding: %r" % line
    if expect is not None:
        assert p.returncode == expect, "exit %d, expected %d:\n%s" % (p.returncode, expect, out)
    return p.returncode, lines


def errors(lines):
    return [l for l in lines if l.startswith("error: ")]


def warnings(lines):
    return [l for l in lines if l.startswith("warning: ")]


class Setup:
    """A private directory with secret files (mode 0600) and configurations written into it;
    removed again at the end of the with block."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rccheck-")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def file(self, name, content, mode=0o600):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, mode)
        return path

    def secrets(self):
        """Options that take the credentials from files."""
        return {"client_secret": None, "jwt": None,
                "client_secret_file": self.file("client_secret", SIM_CREDENTIALS["client_secret"] + "\n"),
                "jwt_file": self.file("jwt", SIM_CREDENTIALS["jwt"] + "\n")}

    def conf(self, name, opts, user=ME, head="", plugin=PLUGIN, mode=0o600):
        """A broker configuration loading the plugin with opts ((key, value) pairs); returns
        its path and the line number of each option, in order."""
        lines = ["user %s" % user, "listener %d 127.0.0.1" % free_port()] if user else []
        lines += head.splitlines() + ["plugin %s" % plugin]
        numbers = []
        for k, v in opts:
            lines.append("plugin_opt_%s %s" % (k, v))
            numbers.append(len(lines))
        return self.file(name, "\n".join(lines) + "\n", mode), numbers


def opts_for(server="https://platform.ringcentral.com", **overrides):
    """Plugin options as (key, value) pairs: inline credentials (the configuration file is
    then private), two filters; overrides replace (None removes) a key."""
    opts = {"server": server, "client_id": SIM_CREDENTIALS["client_id"],
            "client_secret": SIM_CREDENTIALS["client_secret"], "jwt": SIM_CREDENTIALS["jwt"],
            "event_filter": [PRESENCE_FILTER, MESSAGE_FILTER]}
    opts.update(overrides)
    pairs = []
    for k, v in opts.items():
        for item in ([] if v is None else v if isinstance(v, list) else [v]):
            pairs.append((k, str(item)))
    return pairs


def ca_file(setup):
    """A PEM file with one self-signed CA certificate."""
    return setup.file("ca.pem", self_signed_ca_pem("check test CA"), 0o644)


# ---- offline ---------------------------------------------------------------------------------

def test_good_configuration_passes():
    with Setup() as s:
        filters = s.file("filters", "# presence and SMS\n%s\n" % SMS_FILTER)
        opts = opts_for(**s.secrets(), filters_file=filters, cafile=ca_file(s), qos="2",
                        transport="pubnub", state_file=s.path("state.json"))
        conf, _ = s.conf("mosquitto.conf", opts)
        _, lines = run_check(conf, expect=0)
        assert not errors(lines) and not warnings(lines), lines
        assert "ok: read %s" % conf in lines, lines
        assert any(l.endswith("options valid: pubnub transport, JWT grant, 3 event filter(s)")
                   for l in lines), lines
        for key in ("client_secret_file", "jwt_file", "filters_file", "cafile"):
            assert any(("plugin_opt_%s: " % key) in l and l.endswith("is readable by " + ME)
                       for l in lines), (key, lines)
        assert any("plugin_opt_state_file: %s is writable by %s" % (s.dir, ME) in l
                   for l in lines), lines


def test_bad_option_is_the_brokers_own_line():
    """The check prints the line the broker logs ("ringcentral: Error: <this>"), located at
    the option, and nothing else is wrong."""
    broker = Broker(opts_for(qos="7", retain="true"))
    conf = broker.write_conf()
    os.chmod(conf, 0o600)       # it holds inline secrets; start() rewrites it in place
    try:
        _, lines = run_check(conf, expect=1)
        assert broker.start(expect_running=False) != 0
        logged = re.findall(r"ringcentral: Error: (.*)", broker.log_text())
    finally:
        broker.stop()
    with open(conf) as f:
        line_no = next(i + 1 for i, l in enumerate(f) if l.startswith("plugin_opt_qos"))
    assert logged == ["plugin_opt_qos: must be 0, 1 or 2, got '7'"], logged
    assert errors(lines) == ["error: %s:%d: %s" % (conf, line_no, logged[0])], (lines, logged)


def test_every_bad_option_is_one_error_naming_it():
    with Setup() as s:
        for key, value in BAD_OPTIONS:
            opts = opts_for(**{key: value})
            conf, numbers = s.conf("bad.conf", opts)
            _, lines = run_check(conf, expect=1)
            errs = errors(lines)
            assert len(errs) == 1, (key, value, lines)
            assert "plugin_opt_" + key in errs[0], (key, errs)
            # Located at the option's line.
            line = numbers[[k for k, _ in opts].index(key)]
            assert errs[0].startswith("error: %s:%d: plugin_opt_%s: " % (conf, line, key)), (key, errs)
        # A required option missing is located at the plugin line.
        conf, _ = s.conf("bad.conf", opts_for(client_id=None))
        _, lines = run_check(conf, expect=1)
        assert errors(lines) == ["error: %s:3: plugin_opt_client_id: required" % conf], lines


def test_missing_secret_file():
    with Setup() as s:
        opts = opts_for(**dict(s.secrets(), jwt_file=s.path("no-such-jwt")))
        conf, numbers = s.conf("mosquitto.conf", opts)
        _, lines = run_check(conf, expect=1)
        errs = errors(lines)
        assert len(errs) == 1, lines
        jwt_line = numbers[[k for k, _ in opts].index("jwt_file")]
        assert errs[0] == ("error: %s:%d: plugin_opt_jwt_file: cannot read %s: No such file or "
                           "directory" % (conf, jwt_line, s.path("no-such-jwt"))), errs


def test_readable_secrets():
    with Setup() as s:
        opts = opts_for(**s.secrets())
        conf, numbers = s.conf("mosquitto.conf", opts)
        jwt_line = numbers[[k for k, _ in opts].index("jwt_file")]
        # Readable by everyone: the plugin's warning, and an error from the check.
        os.chmod(s.path("jwt"), 0o644)
        _, lines = run_check(conf, expect=1)
        assert warnings(lines) == ["warning: %s:%d: plugin_opt_jwt_file: %s is readable by group "
                                   "or others; chmod 600 it" % (conf, jwt_line, s.path("jwt"))], lines
        errs = errors(lines)
        assert len(errs) == 1 and errs[0].startswith("error: %s:%d: plugin_opt_jwt_file: %s (mode 0644"
                                                     % (conf, jwt_line, s.path("jwt"))), lines
        assert errs[0].endswith("is readable by every local user; chmod 600 it"), errs
        # Readable by the group only: the plugin's warning alone.
        os.chmod(s.path("jwt"), 0o640)
        _, lines = run_check(conf, expect=0)
        assert len(warnings(lines)) == 1 and not errors(lines), lines
        # Inline secrets in a configuration file everyone can read.
        os.chmod(s.path("jwt"), 0o600)
        conf, numbers = s.conf("inline.conf", opts_for(), mode=0o644)
        _, lines = run_check(conf, expect=1)
        errs = errors(lines)
        assert len(errs) == 2, lines
        assert errs[0].startswith("error: %s:%d: plugin_opt_client_secret is written inline in a "
                                  "file readable by every local user" % (conf, numbers[2])), errs
        assert errs[1].startswith("error: %s:%d: plugin_opt_jwt is written inline" % (conf, numbers[3]))


def test_cafile_without_a_certificate():
    """The broker would not start with websocket, and every connection would fail with
    pubnub: an error either way."""
    with Setup() as s:
        opts = opts_for(**s.secrets(), cafile=s.file("ca.pem", "not a certificate\n", 0o644))
        conf, numbers = s.conf("mosquitto.conf", opts)
        _, lines = run_check(conf, expect=1)
        errs = errors(lines)
        # The reason is OpenSSL's ("no certificate or crl found" in 3.0).
        assert len(errs) == 1 and errs[0].startswith(
            "error: %s:%d: plugin_opt_cafile: cannot load CA file %s: no certificate"
            % (conf, numbers[-1], s.path("ca.pem"))), lines


def owner_of(path):
    st = os.stat(path)
    return "%s:%s" % (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name)


def test_files_the_brokers_user_cannot_read():
    """The broker reads its files as its `user`; the check judges them for that user."""
    with Setup() as s:
        opts = opts_for(**s.secrets(), transport="pubnub", state_file=s.path("state.json"))
        keys = [k for k, _ in opts]
        conf, numbers = s.conf("mosquitto.conf", opts, user=OTHER)
        secret_line = numbers[keys.index("client_secret_file")]
        state_line = numbers[keys.index("state_file")]
        # The private directory (0700) keeps nobody out of everything in it.
        _, lines = run_check(conf, expect=1)
        errs = errors(lines)
        assert len(errs) == 3, lines
        for e in errs[:2]:
            assert ("directory %s (mode 0700, owner %s) is not searchable by %s (the broker's "
                    "user)" % (s.dir, owner_of(s.dir), OTHER)) in e, e
        assert errs[2] == ("error: %s:%d: plugin_opt_state_file: %s (mode 0700, owner %s) is not "
                           "writable by %s (the broker's user): the state cannot be saved"
                           % (conf, state_line, s.dir, owner_of(s.dir), OTHER)), errs
        # Searchable: now the files' own modes count.
        os.chmod(s.dir, 0o711)
        _, lines = run_check(conf, expect=1)
        errs = errors(lines)
        assert len(errs) == 3, lines
        assert errs[0] == ("error: %s:%d: plugin_opt_client_secret_file: %s (mode 0600, owner %s) "
                           "is not readable by %s (the broker's user)"
                           % (conf, secret_line, s.path("client_secret"),
                              owner_of(s.path("client_secret")), OTHER)), errs
        assert "is not writable by %s" % OTHER in errs[2], errs
        # An unknown user: Mosquitto started as root would refuse to start.
        conf, _ = s.conf("mosquitto.conf", opts_for(), user="no-such-user-rc-check")
        _, lines = run_check(conf, expect=1)
        assert any("user 'no-such-user-rc-check' does not exist" in l for l in errors(lines)), lines


def test_include_dir_is_followed_in_mosquittos_order():
    with Setup() as s:
        s.file("conf.d/b.conf", "plugin %s\n%s" % (PLUGIN, "".join(
            "plugin_opt_%s %s\n" % kv for kv in opts_for(qos="7"))))
        s.file("conf.d/A.conf", "plugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so\n"
               "plugin_opt_config_file /var/lib/mosquitto/dynamic-security.json\n")
        s.file("conf.d/c.conf.dpkg-old", "plugin %s\nplugin_opt_qos 9\n" % PLUGIN)
        s.file("conf.d/d.conf", "plugin_opt_retain true\n")
        main = s.file("mosquitto.conf", "user %s\nlistener %d\ninclude_dir %s\n"
                      % (ME, free_port(), s.path("conf.d")))
        _, lines = run_check(main, expect=1)
        assert lines[0] == "ok: read %s, %s, %s, %s" % (
            main, s.path("conf.d/A.conf"), s.path("conf.d/b.conf"), s.path("conf.d/d.conf")), lines
        qos_line = [k for k, _ in opts_for(qos="7")].index("qos") + 2   # after the plugin line
        assert errors(lines) == [
            "error: %s:1: plugin_opt_retain comes before any plugin line in this file (Mosquitto "
            "will not start)" % s.path("conf.d/d.conf"),
            "error: %s:%d: plugin_opt_qos: must be 0, 1 or 2, got '7'" % (s.path("conf.d/b.conf"),
                                                                       qos_line),
        ], lines
        assert "ok: %s:1: plugin %s with 7 option(s)" % (s.path("conf.d/b.conf"), PLUGIN) in lines


def test_what_mosquitto_itself_refuses():
    """An option line without a value stops the real broker before any plugin is loaded;
    the check says so, naming the line."""
    with Setup() as s:
        conf, numbers = s.conf("mosquitto.conf", opts_for(qos=" "))
        _, lines = run_check(conf, expect=1)
        assert ("error: %s:%d: plugin_opt_qos has no value (Mosquitto will not start)"
                % (conf, numbers[-1])) in errors(lines), lines
        broker = subprocess.run(["/usr/sbin/mosquitto", "-c", conf], capture_output=True,
                                text=True, timeout=30)
        assert broker.returncode != 0
        assert "Empty qos value" in broker.stdout + broker.stderr, broker
        # A tab is no separator for Mosquitto.
        conf = s.file("tab.conf", "plugin %s\nplugin_opt_qos\t1\n" % PLUGIN)
        _, lines = run_check(conf, expect=1)
        assert ("error: %s:2: plugin_opt_qos has no value (Mosquitto will not start); separate "
                "the value with a space, not a tab" % conf) in errors(lines), lines


def test_no_plugin_line_and_usage():
    with Setup() as s:
        conf = s.file("mosquitto.conf", "user %s\nlistener 1883\nplugin /usr/lib/other.so\n" % ME)
        _, lines = run_check(conf, expect=1)
        assert errors(lines) == ["error: no plugin line loads mosquitto_ringcentral.so in the files "
                                 "read"], lines
        _, lines = run_check(s.path("missing.conf"), expect=1)
        assert lines == ["error: cannot read %s: No such file or directory"
                         % s.path("missing.conf")], lines
        for args in ([], ["--frobnicate", conf], [conf, conf]):
            p = subprocess.run([CHECK] + args, capture_output=True, text=True, timeout=30)
            assert p.returncode == 2 and "usage:" in p.stderr and not p.stdout, (args, p)
        p = subprocess.run([CHECK, "--help"], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and p.stdout.startswith("usage:"), p


# ---- online ----------------------------------------------------------------------------------

def sim_opts(s, sim, transport, **overrides):
    return opts_for(**dict(s.secrets(), server=sim.url, pubnub_origin=sim.url,
                           cafile=sim.cafile, transport=transport, **overrides))


def rest_subscribe(sim, filters):
    """A PubNub subscription made over REST by someone else (a login of its own)."""
    token = sim.login()["access_token"]
    req = urllib.request.Request(
        sim.url + "/restapi/v1.0/subscription", method="POST",
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
        data=json.dumps({"eventFilters": filters,
                         "deliveryMode": {"transportType": "PubNub"}}).encode())
    with urllib.request.urlopen(req, context=sim.ssl, timeout=30) as r:
        return json.loads(r.read())["id"]


def online_lines(lines):
    return [l for l in lines if ": online: " in l]


@per_transport()
def test_online_login_list_and_filters(transport):
    with Setup() as s, Sim() as sim:
        if transport == "pubnub":
            # This bridge's own subscription: made by the plugin, kept in its state_file.
            opts = sim_opts(s, sim, transport, state_file=s.path("state.json"))
            with Broker(opts) as broker:
                with MqttWatcher(broker.port) as w:
                    ours = wait_online(w)["subscription_id"]
            # Stopped: with a state_file it keeps the subscription for the next start.
            mark = "this bridge's, from its state_file"
        else:
            opts = sim_opts(s, sim, transport)
            ours = rest_subscribe(sim, [PRESENCE_FILTER, MESSAGE_FILTER])
            mark = "the same filters as this configuration"
        other = rest_subscribe(sim, [SMS_FILTER])
        conf, _ = s.conf("mosquitto.conf", opts)
        sim.clear_requests()
        _, lines = run_check(conf, "--online", expect=0)
        online = online_lines(lines)
        assert online[0] == "ok: online: logged in to %s (JWT grant)" % sim.url, lines
        assert online[1] == "ok: online: 2 subscription(s) of this app for this user", lines
        listed = [l for l in online if l.startswith("ok: online: subscription ")]
        assert len(listed) == 2, lines
        assert [l for l in listed if ours in l][0].endswith(mark), listed
        assert [l for l in listed if other in l][0].endswith("1 filter(s)"), listed
        how = ("over the WebSocket gateway" if transport == "websocket"
               else "over REST, PubNub delivery")
        for f in (PRESENCE_FILTER, MESSAGE_FILTER):
            assert ("ok: online: event filter %s: accepted (test subscription %s, deleted again)"
                    % (f, how)) in online, lines
        # The test subscription was made the plugin's way and is gone again.
        if transport == "websocket":
            assert "ok: online: connected to the WebSocket gateway" in online
            assert len(ws_calls(sim, "POST")) == 1 and len(ws_calls(sim, "DELETE")) == 1
            assert not [r for r in rest_subscription_calls(sim) if r["method"] != "GET"]
        else:
            calls = [(r["method"], r["status"]) for r in rest_subscription_calls(sim)]
            assert calls == [("GET", 200), ("POST", 200), ("DELETE", 204)], calls
        assert sorted(x["id"] for x in sim.live_subscriptions()) == sorted([ours, other])


@per_transport()
def test_online_refused_filters_are_named(transport):
    with Setup() as s, Sim() as sim:
        sim.config(invalid_filters=[PRESENCE_FILTER], disabled_filters=[MESSAGE_FILTER])
        opts = sim_opts(s, sim, transport, event_filter=[PRESENCE_FILTER, MESSAGE_FILTER, SMS_FILTER])
        conf, _ = s.conf("mosquitto.conf", opts)
        _, lines = run_check(conf, "--online", expect=1)
        assert errors(lines) == [
            "error: online: event filter %s: refused by the server: HTTP 400 SUB-508: Invalid event "
            "filters" % PRESENCE_FILTER,
            "error: online: event filter %s: disabled by the server (PermissionDenied); the bridge "
            "would never receive it" % MESSAGE_FILTER,
        ], lines
        assert any(l.startswith("ok: online: event filter %s: accepted" % SMS_FILTER)
                   for l in lines), lines
        assert sim.live_subscriptions() == [], "a test subscription was left behind"


def test_online_wrong_credentials():
    with Setup() as s, Sim() as sim:
        opts = sim_opts(s, sim, "websocket")
        s.file("jwt", "not-the-jwt\n")
        conf, _ = s.conf("mosquitto.conf", opts)
        _, lines = run_check(conf, "--online", expect=1)
        assert errors(lines) == [
            "error: online: login to %s refused (JWT grant): HTTP 400 OAU-140: Invalid resource "
            "owner credentials; check client_id, the client secret and the JWT" % sim.url], lines
        assert "not-the-jwt" not in "\n".join(lines)
        # A bad option: nothing is sent.
        conf, _ = s.conf("mosquitto.conf", sim_opts(s, sim, "websocket", qos="7"))
        sim.clear_requests()
        _, lines = run_check(conf, "--online", expect=1)
        assert any("online checks skipped" in l for l in warnings(lines)), lines
        assert not sim.requests()


if __name__ == "__main__":
    run_tests([test_good_configuration_passes,
               test_bad_option_is_the_brokers_own_line,
               test_every_bad_option_is_one_error_naming_it,
               test_missing_secret_file,
               test_readable_secrets,
               test_cafile_without_a_certificate,
               test_files_the_brokers_user_cannot_read,
               test_include_dir_is_followed_in_mosquittos_order,
               test_what_mosquitto_itself_refuses,
               test_no_plugin_line_and_usage,
               test_online_login_list_and_filters,
               test_online_refused_filters_are_named,
               test_online_wrong_credentials])
