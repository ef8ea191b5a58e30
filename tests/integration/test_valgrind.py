"""test_valgrind.py - full bridge runs with the broker under valgrind, one per transport.

Start-up, delivery, a malformed notification, a SIGHUP filter change and a shutdown with
DELETE (over REST for PubNub, over the socket for WebSocket, which also loses and recovers
its connection once), all under memcheck: no invalid access in the plugin and no definite leak whose
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


def bridge_under_valgrind(transport):
    with Sim() as sim, tempfile.TemporaryDirectory() as d:
        vlog = os.path.join(d, "valgrind.log")
        filters = os.path.join(d, "filters")
        with open(filters, "w") as f:
            f.write(PRESENCE_FILTER + "\n")
        wrapper = ["valgrind", "--leak-check=full", "--show-leak-kinds=definite",
                   "--keep-debuginfo=yes", "--num-callers=30", "--log-file=" + vlog]
        opts = plugin_opts(sim, event_filter=None, filters_file=filters, transport=transport)
        ws = transport == "websocket"
        b = Broker(opts, wrapper=wrapper)
        with b, MqttWatcher(b.port) as w:
            w.wait_state("ringcentral", "online", 120)
            sent = sim.notify("/restapi/v1.0/account/~/extension/1/presence", {"n": 1})
            sim.call("POST", "/_sim/notify", {"event": PRESENCE_FILTER, "raw": "%%%"})
            w.wait_for(lambda ms: sent[0]["uuid"] in [m.user_properties.get("uuid") for m in ms], 60)
            if ws:
                sim.ws_fault("drop")
                wait_until(lambda: len(sim.requests("WS", "CONNECT")) == 2, 60, "the reconnect")
                w.wait_status(lambda s: s["recoveries"] == 1 and s["state"] == "online", 60,
                              what="the recovery")
            with open(filters, "w") as f:
                f.write(PRESENCE_FILTER + "\n" + MESSAGE_FILTER + "\n")
            b.sighup()
            if ws:
                wait_until(lambda: sim.requests("WS", "PUT "), 60, "the PUT over the socket")
            else:
                wait_until(lambda: sim.requests("PUT"), 60, "the PUT")
            code, took = b.stop()
        assert code == 0, code
        if ws:
            assert [r["status"] for r in sim.requests("WS", "DELETE ")] == [204]
        else:
            assert [r["status"] for r in sim.requests("DELETE")] == [204]
        with open(vlog) as f:
            log = f.read()
        summary = re.search(r"definitely lost: ([\d,]+) bytes", log)
        print("valgrind (%s): broker %s definitely lost; shutdown took %.1fs"
              % (transport, summary.group(1) + " bytes" if summary else "nothing", took))
        bad = plugin_records(log)
        assert not bad, "valgrind findings in the plugin:\n" + "\n\n".join(bad)[:6000]
        assert "ERROR SUMMARY" in log


def test_pubnub_bridge_under_valgrind():
    bridge_under_valgrind("pubnub")


def test_websocket_bridge_under_valgrind():
    bridge_under_valgrind("websocket")


if __name__ == "__main__":
    run_tests([test_pubnub_bridge_under_valgrind, test_websocket_bridge_under_valgrind])
