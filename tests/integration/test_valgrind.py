"""test_valgrind.py - one full bridge run with the broker under valgrind.

Start-up, delivery, a malformed notification, a SIGHUP filter change and a shutdown with
DELETE, all under memcheck: no invalid access in the plugin and no definite leak whose
stack passes through the plugin (the broker's own exit-time leaks are not ours to fix)."""
import os
import re
import tempfile

from harness import (MESSAGE_FILTER, PRESENCE_FILTER, Broker, MqttWatcher, Sim, plugin_opts,
                     run_tests, wait_until)

PLUGIN_FRAME = re.compile(r"mosquitto_ringcentral\.so|/plugin/[a-z_]+\.c")


def plugin_records(log):
    """valgrind records (blocks separated by blank lines) that involve the plugin."""
    records = re.split(r"\n==\d+== \n", log)
    return [r for r in records if PLUGIN_FRAME.search(r)
            and ("definitely lost" in r or "Invalid " in r or "uninitialised" in r
                 or "Mismatched" in r)]


def test_bridge_under_valgrind():
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        vlog = os.path.join(d, "valgrind.log")
        filters = os.path.join(d, "filters")
        with open(filters, "w") as f:
            f.write(PRESENCE_FILTER + "\n")
        wrapper = ["valgrind", "--leak-check=full", "--show-leak-kinds=definite",
                   "--keep-debuginfo=yes", "--num-callers=30", "--log-file=" + vlog]
        opts = plugin_opts(sim, event_filter=None, filters_file=filters)
        b = Broker(opts, wrapper=wrapper)
        with b, MqttWatcher(b.port) as w:
            w.wait_state("ringcentral", "online", 120)
            sent = sim.notify("/restapi/v1.0/account/~/extension/1/presence", {"n": 1})
            sim.call("POST", "/_sim/notify", {"event": PRESENCE_FILTER, "raw": "%%%"})
            w.wait_for(lambda ms: sent[0]["uuid"] in [m.user_properties.get("uuid") for m in ms], 60)
            with open(filters, "w") as f:
                f.write(PRESENCE_FILTER + "\n" + MESSAGE_FILTER + "\n")
            b.sighup()
            wait_until(lambda: sim.requests("PUT"), 60, "the PUT")
            code, took = b.stop()
        assert code == 0, code
        assert [r["status"] for r in sim.requests("DELETE")] == [204]
        with open(vlog) as f:
            log = f.read()
        summary = re.search(r"definitely lost: ([\d,]+) bytes", log)
        print("valgrind: broker %s definitely lost; shutdown took %.1fs"
              % (summary.group(1) + " bytes" if summary else "nothing", took))
        bad = plugin_records(log)
        assert not bad, "valgrind findings in the plugin:\n" + "\n\n".join(bad)[:6000]
        assert "ERROR SUMMARY" in log


if __name__ == "__main__":
    run_tests([test_bridge_under_valgrind])
