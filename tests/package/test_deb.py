"""test_deb.py - the Debian package, built and installed the way a user would.

1. `cpack -G DEB` in the build directory ($RC_BUILD_DIR, set by ctest): the package's
   version is the project's, it depends on mosquitto and on runtime libraries only (never a
   -dev package), carries the example as a conffile and the maintainer scripts, and holds
   the plugin, the check command, the example and the docs, nothing of the tests.
2. A clean Debian 12 (`debootstrap --variant=minbase bookworm`, from the mirror the host's
   apt uses; built once and cached in $RC_DEB_BASE, default
   /var/cache/mosquitto-ringcentral/bookworm-minbase, then copied afresh for every run):
   `apt-get install --no-install-recommends ./<package>.deb` pulls mosquitto and the
   libraries from the archive. The plugin lands beside Debian's
   mosquitto_dynamic_security.so; /etc/mosquitto/ringcentral is mosquitto:mosquitto 0750.
3. The example configuration, copied to ringcentral.conf and filled in as its comments say
   (uncommented lines, the simulator's URL, secrets in files written with the documented
   `install ... /dev/stdin` command, the simulator's CA as `cafile`), passes the packaged
   mosquitto-ringcentral-check, offline and --online. The simulator runs on the host: a
   chroot shares the network.
4. The packaged broker, started the way Debian's systemd unit starts it (its ExecStartPre
   and ExecStart lines, run in the chroot; it drops to the mosquitto user), with a
   test-only listener in its own conf.d file, delivers a notification from the simulator
   to an MQTT client on the host.
5. `apt-get purge` keeps the secrets directory while it holds files and removes it once
   empty.

Needs root, chroot, debootstrap and cpack, and a /proc it can mount in the chroot;
otherwise it prints `SKIP: <reason>` and exits 77 (ctest reports the test as skipped).
Every process it starts is stopped by pid, the /proc it mounts is unmounted and the copy
removed, also after an interrupted run (the next run clears what a killed one left).
"""
import fcntl
import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from harness import (PLUGIN, PLUGIN_VERSION, PRESENCE_EVENT, PRESENCE_FILTER,  # noqa: E402
                     PRESENCE_TOPIC, SIM_CREDENTIALS, MqttWatcher, Sim, _start, free_port,
                     run_tests, stop_process, wait_online, wait_until)

SKIP = 77
BUILD = os.environ.get("RC_BUILD_DIR") or os.path.dirname(PLUGIN)
BASE = os.environ.get("RC_DEB_BASE", "/var/cache/mosquitto-ringcentral/bookworm-minbase")
# Changing how the base tree is made changes this, and so rebuilds a cached tree.
BASE_RECIPE = "minbase bookworm; sources; policy-rc.d 101; apt-get update; apt-get clean; v1"
RUN_PREFIX = "rc-deb-run."
RUN_PARENT = os.environ.get("TMPDIR", "/var/tmp")
CHROOT_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root",
              "DEBIAN_FRONTEND": "noninteractive"}
SECRETS = [SIM_CREDENTIALS[k] for k in ("client_secret", "jwt")]
SECRETS_DIR = "/etc/mosquitto/ringcentral"
EXAMPLE = "/etc/mosquitto/conf.d/ringcentral.conf.example"
timings = []
state = {}


def timed(what, fn, *args, **kw):
    start = time.monotonic()
    value = fn(*args, **kw)
    timings.append((what, time.monotonic() - start))
    print("timing: %s %.1fs" % (what, timings[-1][1]), flush=True)
    return value


def run(cmd, timeout=600, input=None, env=None, check=True):
    """Runs a command; on failure the assertion shows its output's end."""
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input,
                       env=env)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s" % (" ".join(cmd), p.returncode,
                                                  (p.stdout + p.stderr)[-4000:]))
    return p


def skip_reason():
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot, mount)"
    for tool in ("cpack", "debootstrap", "chroot", "dpkg-deb", "mount", "umount"):
        if shutil.which(tool) is None:
            return "%s not found (scripts/install-deps.sh installs debootstrap)" % tool
    if not os.path.exists(os.path.join(BUILD, "CPackConfig.cmake")):
        return "no CPackConfig.cmake in %s" % BUILD
    # The chroot needs its own /proc (apt, the secret files written from /dev/stdin): a
    # container without the right to mount cannot run this test.
    probe = tempfile.mkdtemp(prefix="rc-deb-probe.")
    try:
        p = subprocess.run(["mount", "-t", "proc", "proc", probe], capture_output=True,
                           text=True)
        if p.returncode != 0:
            return "cannot mount /proc here: " + p.stderr.strip()
        subprocess.run(["umount", probe], check=True)
    finally:
        os.rmdir(probe)
    return None


# ---- mounts and processes in a chroot ---------------------------------------------------------
def mounts_under(path):
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            point = line.split()[1].replace("\\040", " ")
            if point == path or point.startswith(path + "/"):
                found.append(point)
    return sorted(found, reverse=True)


def processes_in(root):
    """Pids of the processes whose root directory is root (what a run started in it)."""
    root = os.path.realpath(root)
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink("/proc/%s/root" % entry) == root:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def unmount_all(path):
    for point in mounts_under(path):
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)
    assert not mounts_under(path), "still mounted: %s" % mounts_under(path)


def remove_tree(path):
    """Removes a chroot tree that nothing runs in any more: its mounts first."""
    unmount_all(path)
    subprocess.run(["rm", "-rf", "--one-file-system", path], check=True)


def reap_stale_runs():
    """A run killed outright (a ctest timeout) leaves its copy behind, perhaps with /proc
    mounted and its broker running: the processes rooted in it are this test's own."""
    for d in glob.glob(os.path.join(RUN_PARENT, RUN_PREFIX + "*")):
        try:
            with open(os.path.join(d, ".rc-test-pid")) as f:
                owner = int(f.read())
            os.kill(owner, 0)
            continue                    # its run is still going
        except (OSError, ValueError):
            pass
        for pid in processes_in(d):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_until(lambda: not processes_in(d), 30, "stale processes in %s to end" % d)
        print("removing %s, left by an interrupted run" % d, flush=True)
        remove_tree(d)


# ---- the base tree ------------------------------------------------------------------------------
def host_sources():
    """The host's Debian 12 apt entries as (uri, suite, components): the mirror this
    machine already uses (deb822 .sources files and one-line lists)."""
    entries = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as f:
            stanzas = re.split(r"\n\s*\n", f.read())
        for stanza in stanzas:
            fields = {}
            for line in stanza.splitlines():
                m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
                if m and not line.startswith("#"):
                    fields[m.group(1).lower()] = m.group(2).split()
            if "deb" not in fields.get("types", []) or fields.get("enabled") == ["no"]:
                continue
            for uri in fields.get("uris", []):
                for suite in fields.get("suites", []):
                    if suite.startswith("bookworm"):
                        entries.append((uri, suite, fields.get("components", ["main"])))
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            m = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(bookworm\S*)\s+(.+)$", line.strip())
            if m:
                entries.append((m.group(1), m.group(2), m.group(3).split()))
    if not any(suite == "bookworm" for _, suite, _ in entries):
        entries.insert(0, ("http://deb.debian.org/debian", "bookworm", ["main"]))
    return entries


def base_tree():
    """The cached clean Debian 12 tree, made when missing or made by another recipe.
    Returns whether it had to be made."""
    sources = host_sources()
    mirror = next(uri for uri, suite, _ in sources if suite == "bookworm")
    sources_list = "".join("deb %s %s %s\n" % (uri, suite, " ".join(comps))
                           for uri, suite, comps in sources)
    recipe = BASE_RECIPE + "\n" + sources_list
    marker = os.path.join(BASE, ".rc-base")
    os.makedirs(os.path.dirname(BASE), exist_ok=True)
    with open(BASE + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(marker) as f:
                if f.read() == recipe:
                    return False
        except OSError:
            pass
        new = BASE + ".new"
        if os.path.exists(new):
            remove_tree(new)
        print("making the base tree: debootstrap --variant=minbase bookworm from %s" % mirror,
              flush=True)
        with open(BASE + ".log", "w") as log:
            p = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", new, mirror],
                               stdout=log, stderr=subprocess.STDOUT, timeout=1500)
        if p.returncode != 0:
            unmount_all(new)
            with open(BASE + ".log") as log:
                raise AssertionError("debootstrap failed (%d):\n%s" % (p.returncode,
                                                                      log.read()[-3000:]))
        unmount_all(new)
        with open(os.path.join(new, "etc/apt/sources.list"), "w") as f:
            f.write(sources_list)
        # The chroot's services are not started by package scripts (mosquitto's postinst
        # would start a broker of its own): Debian's policy-rc.d convention for chroots.
        with open(os.path.join(new, "usr/sbin/policy-rc.d"), "w") as f:
            f.write("#!/bin/sh\n# mosquitto-ringcentral test chroot: start no services\nexit 101\n")
        os.chmod(os.path.join(new, "usr/sbin/policy-rc.d"), 0o755)
        shutil.copyfile("/etc/resolv.conf", os.path.join(new, "etc/resolv.conf"))
        run(["chroot", new, "apt-get", "update", "-q"], env=CHROOT_ENV)
        run(["chroot", new, "apt-get", "clean"], env=CHROOT_ENV)
        with open(os.path.join(new, ".rc-base"), "w") as f:
            f.write(recipe)
        if os.path.exists(BASE):
            remove_tree(BASE)
        os.rename(new, BASE)
        return True


class Chroot:
    """A fresh copy of the base tree with /proc mounted; removed again on exit."""

    def __enter__(self):
        start = time.monotonic()
        self.dir = tempfile.mkdtemp(prefix=RUN_PREFIX, dir=RUN_PARENT)
        with open(os.path.join(self.dir, ".rc-test-pid"), "w") as f:
            f.write(str(os.getpid()))
        with open(BASE + ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)
            run(["cp", "-a", BASE + "/.", self.dir + "/"])
        timings.append(("fresh copy of the base tree", time.monotonic() - start))
        print("timing: %s %.1fs" % timings[-1], flush=True)
        os.chmod(self.dir, 0o755)
        shutil.copyfile("/etc/resolv.conf", self.path("/etc/resolv.conf"))
        run(["mount", "-t", "proc", "proc", self.path("/proc")])
        return self

    def __exit__(self, *exc):
        pids = processes_in(self.dir)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_until(lambda: not processes_in(self.dir), 30, "processes in the chroot to end")
        assert not pids, "processes left running in the chroot (killed): %s" % pids
        remove_tree(self.dir)

    def path(self, p):
        return os.path.join(self.dir, p.lstrip("/"))

    def run(self, *cmd, **kw):
        return run(["chroot", self.dir] + list(cmd), env=CHROOT_ENV, **kw)

    def read(self, p):
        with open(self.path(p)) as f:
            return f.read()

    def owner_mode(self, p):
        return self.run("stat", "-c", "%U:%G %a", p).stdout.strip()

    def uid(self, user):
        return int(self.run("id", "-u", user).stdout)


# ---- the tests ----------------------------------------------------------------------------------
def test_package_built():
    """cpack -G DEB makes the package; its control data and contents."""
    out = os.path.join(BUILD, "package")
    shutil.rmtree(out, ignore_errors=True)
    timed("cpack -G DEB", run, ["cpack", "-G", "DEB", "-B", out, "--config",
                                os.path.join(BUILD, "CPackConfig.cmake")], timeout=600)
    debs = glob.glob(os.path.join(out, "*.deb"))
    assert len(debs) == 1, debs
    deb = state["deb"] = debs[0]
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    assert os.path.basename(deb) == "mosquitto-ringcentral_%s_%s.deb" % (PLUGIN_VERSION, arch)

    def field(name):
        return run(["dpkg-deb", "-f", deb, name]).stdout.strip()
    assert field("Package") == "mosquitto-ringcentral"
    assert field("Version") == PLUGIN_VERSION, field("Version")
    depends = [d.strip() for d in field("Depends").split(",")]
    print("Depends: %s" % ", ".join(depends))
    names = [d.split()[0] for d in depends]
    assert "mosquitto (>= 2.0)" in depends, depends
    assert not [n for n in names if n.endswith("-dev")], "a -dev dependency: %s" % depends
    for lib in ("libc6", "libcurl4", "libjson-c5", "libssl3", "libwebsockets17"):
        assert lib in names, "%s missing from Depends: %s" % (lib, depends)
    assert field("Recommends") == "ca-certificates", field("Recommends")

    ctrl = subprocess.run(["dpkg-deb", "--ctrl-tarfile", deb], capture_output=True,
                          check=True).stdout
    listing = subprocess.run(["tar", "-tvf", "-"], input=ctrl, capture_output=True,
                             check=True).stdout.decode()
    for script in ("postinst", "postrm"):
        assert re.search(r"^-rwxr-xr-x .* \./%s$" % script, listing, re.M), listing
    conffiles = run(["dpkg-deb", "-I", deb, "conffiles"]).stdout.split()
    assert conffiles == [EXAMPLE], conffiles

    files = [line.split()[-1].lstrip(".") for line in run(["dpkg-deb", "-c", deb]).stdout
             .splitlines() if not line.startswith("d")]
    multiarch = run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"]).stdout.strip()
    doc = "/usr/share/doc/mosquitto-ringcentral/"
    want = ["/usr/lib/%s/mosquitto_ringcentral.so" % multiarch,
            "/usr/bin/mosquitto-ringcentral-check", EXAMPLE,
            doc + "copyright", doc + "LICENSE", doc + "README.md", doc + "interface.md",
            doc + "design.md", doc + "protocol.md", doc + "mosquitto-plugin-notes.md",
            doc + "examples/ringcentral.acl", doc + "examples/dynsec-ringcentral.sh"]
    assert sorted(files) == sorted(want), "contents:\n%s" % "\n".join(sorted(files))


def fill_in(text, name, value=None, current=None):
    """Uncomments the one example line `#plugin_opt_<name> <v>` (the one whose v is current,
    when given), with value in place of v when given."""
    pattern = re.compile(r"^#plugin_opt_%s (\S.*)$" % re.escape(name), re.M)
    found = [m for m in pattern.finditer(text) if current is None or m.group(1) == current]
    assert len(found) == 1, "the example has %d '#plugin_opt_%s' lines%s" % (
        len(found), name, "" if current is None else " for " + current)
    m = found[0]
    line = "plugin_opt_%s %s" % (name, value if value is not None else m.group(1))
    return text[:m.start()] + line + text[m.end():]


def test_installs_and_delivers():
    """apt-get install of the package into a clean Debian 12; the example filled in; the
    check; the packaged broker delivers a notification; purge."""
    assert "deb" in state, "no package (test_package_built failed)"
    made = timed("base tree (debootstrap when not cached)", base_tree)
    print("base tree %s: %s" % ("made" if made else "cached", BASE))
    with Chroot() as root:
        deb = "/tmp/" + os.path.basename(state["deb"])
        shutil.copyfile(state["deb"], root.path(deb))
        os.chmod(root.path(deb), 0o644)
        timed("apt-get update", root.run, "apt-get", "update", "-q")
        # As the README has it: apt-get install ./<file>.deb, from its directory.
        p = timed("apt-get install ./package.deb", root.run, "sh", "-c",
                  'cd /tmp && exec apt-get install -y -q --no-install-recommends "./$1"',
                  "sh", os.path.basename(deb))
        assert "mosquitto-ringcentral" in p.stdout
        check_installed(root)
        with Sim() as sim:
            port = configure(root, sim)
            check_config(root, sim)
            run_broker(root, sim, port)
        check_purge(root, deb)


def check_installed(root):
    version = root.run("dpkg-query", "-W", "-f=${Version} ${Status}",
                       "mosquitto-ringcentral").stdout
    assert version == PLUGIN_VERSION + " install ok installed", version
    ours = root.run("dpkg", "-L", "mosquitto-ringcentral").stdout.split()
    theirs = root.run("dpkg", "-L", "mosquitto").stdout.split()
    plugin = [f for f in ours if f.endswith("/mosquitto_ringcentral.so")]
    dynsec = [f for f in theirs if f.endswith("/mosquitto_dynamic_security.so")]
    assert len(plugin) == 1 and len(dynsec) == 1, (plugin, dynsec)
    assert os.path.dirname(plugin[0]) == os.path.dirname(dynsec[0]), (plugin, dynsec)
    state["plugin"] = plugin[0]
    print("plugin: %s (Debian's: %s)" % (plugin[0], dynsec[0]))
    assert root.owner_mode(SECRETS_DIR) == "mosquitto:mosquitto 750", root.owner_mode(SECRETS_DIR)
    assert root.run("dpkg-query", "-W", "-f=${Conffiles}", "mosquitto-ringcentral"
                    ).stdout.split()[0] == EXAMPLE
    assert os.path.exists(root.path("/usr/bin/mosquitto-ringcentral-check"))
    assert os.path.exists(root.path("/usr/share/doc/mosquitto-ringcentral/copyright"))
    # No -dev package came along: the runtime libraries were enough.
    dev = [line for line in root.run("dpkg-query", "-W", "-f=${Package}\n").stdout.split()
           if line.endswith("-dev")]
    assert not dev, dev


def configure(root, sim):
    """What the example's comments tell an administrator to do, with the simulator as
    RingCentral: ringcentral.conf from the example, its lines uncommented and filled in,
    the secrets in files written with the documented command. Plus, test-only, a listener
    in its own conf.d file."""
    example = root.read(EXAMPLE)
    active = [l for l in example.splitlines() if l.strip() and not l.startswith("#")]
    # Safe as shipped: the plugin line alone is active (no listener, no allow_anonymous),
    # and it names the installed plugin.
    assert active == ["plugin " + state["plugin"]], active
    text = example
    text = fill_in(text, "client_id", SIM_CREDENTIALS["client_id"])
    text = fill_in(text, "client_secret_file")
    text = fill_in(text, "jwt_file")
    text = fill_in(text, "server", sim.url)
    text = fill_in(text, "event_filter", current=PRESENCE_FILTER)
    text = fill_in(text, "cafile")
    options = dict(re.findall(r"^plugin_opt_(\S+) (.*)$", text, re.M))
    for key in ("client_secret_file", "jwt_file", "cafile"):
        assert options[key].startswith(SECRETS_DIR + "/"), options
    conf = "/etc/mosquitto/conf.d/ringcentral.conf"
    with open(root.path(conf), "w") as f:
        f.write(text)
    # The secrets as the example's step 2 writes them: from standard input.
    for key, secret in (("client_secret_file", SIM_CREDENTIALS["client_secret"]),
                        ("jwt_file", SIM_CREDENTIALS["jwt"])):
        root.run("install", "-m", "600", "-o", "mosquitto", "-g", "mosquitto", "/dev/stdin",
                 options[key], input=secret + "\n")
        assert root.owner_mode(options[key]) == "mosquitto:mosquitto 600"
    with open(sim.cafile) as f:
        root.run("install", "-m", "644", "/dev/stdin", options["cafile"], input=f.read())
    port = free_port()
    with open(root.path("/etc/mosquitto/conf.d/test-listener.conf"), "w") as f:
        f.write("# test_deb.py only: a listener for the test's MQTT client\n"
                "listener %d 127.0.0.1\nallow_anonymous true\n" % port)
    return port


def check_config(root, sim):
    """The packaged check, as the README says to run it, offline and --online."""
    for args in ([], ["--online"]):
        p = timed("mosquitto-ringcentral-check %s" % " ".join(args) if args else
                  "mosquitto-ringcentral-check", root.run, "mosquitto-ringcentral-check",
                  *(args + ["/etc/mosquitto/mosquitto.conf"]), check=False, timeout=120)
        out = p.stdout + p.stderr
        for secret in SECRETS:
            assert secret not in out, "a secret in the check's output"
        assert not re.search(r"SIM(AT|RT|WS)-", out), "a token in the check's output"
        print("\n".join("check%s: %s" % (" --online" if args else "", l)
                        for l in p.stdout.splitlines()))
        assert p.returncode == 0, "check exit %d:\n%s" % (p.returncode, out)
        assert not [l for l in p.stdout.splitlines() if not l.startswith("ok: ")], out
    assert sim.live_subscriptions() == [], "the check left a test subscription behind"


def unit_commands(root):
    """ExecStartPre and ExecStart of Debian's mosquitto.service, as argument lists."""
    unit = root.read("/lib/systemd/system/mosquitto.service")
    pre = [shlex.split(v.lstrip("-+!@:")) for v in re.findall(r"^ExecStartPre=(.*)$", unit, re.M)]
    start = [shlex.split(v) for v in re.findall(r"^ExecStart=(.*)$", unit, re.M)]
    assert len(start) == 1, unit
    assert start[0] == ["/usr/sbin/mosquitto", "-c", "/etc/mosquitto/mosquitto.conf"], start
    return pre, start[0]


def run_broker(root, sim, port):
    pre, start = unit_commands(root)
    for cmd in pre:
        root.run(*cmd)
    log = root.path("/var/log/mosquitto/mosquitto.log")
    err = open(os.path.join(root.dir, "broker.err"), "w+")
    proc = _start(["chroot", root.dir] + start, env=CHROOT_ENV, stdout=subprocess.DEVNULL,
                  stderr=err)

    def log_text():
        try:
            with open(log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""
    try:
        def up():
            if proc.poll() is not None:
                err.seek(0)
                raise AssertionError("broker exited with %s:\n%s%s" % (
                    proc.returncode, log_text()[-3000:], err.read()[-2000:]))
            return "mosquitto version" in log_text() and "running" in log_text()
        timed("broker start", wait_until, up, 30, "the packaged broker to run")
        started = wait_until(lambda: re.search(
            r"ringcentral: started \(version (\S+), websocket transport, server (\S+)\)",
            log_text()), 30, "the plugin's start-up line")
        assert started.group(1) == PLUGIN_VERSION and started.group(2) == sim.url, \
            started.group(0)
        # Debian's way: started as root, the broker runs as the mosquitto user.
        with open("/proc/%d/status" % proc.pid) as f:
            uids = re.search(r"^Uid:\s+(.*)$", f.read(), re.M).group(1).split()
        assert set(uids) == {str(root.uid("mosquitto"))}, uids
        print("the broker (pid %d) runs as the mosquitto user (uid %s)" % (proc.pid, uids[0]))
        with MqttWatcher(port, "ringcentral/#") as w:
            status = timed("online", wait_online, w, timeout=60)
            assert status["version"] == PLUGIN_VERSION, status
            delivered = sim.notify(PRESENCE_EVENT, {"telephonyStatus": "Ringing",
                                                    "test": "test_deb"})
            assert len(delivered) == 1 and delivered[0].get("sequence") is not None, delivered
            uid = delivered[0]["uuid"]
            got = timed("notification", w.wait_for, lambda ms: [
                m for m in ms if m.topic == PRESENCE_TOPIC
                and m.user_properties.get("uuid") == uid], 30, "the notification")
            assert got[0].payload == delivered[0]["plaintext"].encode(), got[0].payload
            print("notification on %s through the packaged broker" % got[0].topic)
    finally:
        code, took = stop_process(proc, timeout=30)
        err.close()
    assert code == 0, "broker exit %s" % code
    text = log_text()
    for secret in SECRETS:
        assert secret not in text, "a secret in the broker's log"
    assert not re.search(r"ringcentral: Error", text), text[-3000:]
    print("broker stopped (SIGTERM) in %.1fs, exit 0" % took)


def check_purge(root, deb):
    """purge keeps the secrets directory with its files, removes it once empty; the
    administrator's ringcentral.conf is never the package's to remove."""
    pkg = "mosquitto-ringcentral"
    root.run("apt-get", "purge", "-y", "-q", pkg)
    assert not os.path.exists(root.path(state["plugin"]))
    assert not os.path.exists(root.path(EXAMPLE)), "the conffile outlived the purge"
    assert os.path.exists(root.path("/etc/mosquitto/conf.d/ringcentral.conf"))
    assert sorted(os.listdir(root.path(SECRETS_DIR))) == ["ca.pem", "client_secret", "jwt"]
    # Installed again, the existing directory is left as the administrator keeps it.
    os.chmod(root.path(SECRETS_DIR), 0o700)
    root.run("dpkg", "-i", deb)
    assert root.owner_mode(SECRETS_DIR) == "mosquitto:mosquitto 700"
    for name in os.listdir(root.path(SECRETS_DIR)):
        os.unlink(os.path.join(root.path(SECRETS_DIR), name))
    root.run("apt-get", "purge", "-y", "-q", pkg)
    assert not os.path.exists(root.path(SECRETS_DIR)), "empty secrets directory kept"


def main():
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    reason = skip_reason()
    if reason is None:
        reap_stale_runs()
    if reason is not None:
        print("SKIP: package test: %s" % reason, flush=True)
        sys.exit(SKIP)
    try:
        run_tests([test_package_built, test_installs_and_delivers])
    finally:
        if timings:
            print("timings: " + ", ".join("%s %.1fs" % t for t in timings), flush=True)


if __name__ == "__main__":
    main()
