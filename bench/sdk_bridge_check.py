#!/usr/bin/python3
"""sdk_bridge_check.py - checks the SDK bridges (bench/sdk_bridge.py) end to end.

Per transport (default: both) and QoS (default 0): the simulator, a plain mosquitto broker
(no plugin) on a free port, the bridge, a paho subscriber; one notify of COUNT (default
2000) presence notifications; every one must arrive exactly once on the plugin's topic, and
the payload is compared with the bytes the simulator sent. Prints the rate, from the notify
call to the last arrival.

    /usr/bin/python3 bench/sdk_bridge_check.py [--count 2000] [--qos 0] [pubnub] [websocket]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))
sys.path.insert(0, HERE)
import sdk_bridge  # noqa: E402
from harness import (PRESENCE_EVENT, PRESENCE_TOPIC, MqttWatcher, Sim, free_port,  # noqa: E402
                     stop_process, wait_until)


class PlainBroker:
    """/usr/sbin/mosquitto without the plugin on a free port."""

    def __enter__(self):
        import getpass
        import socket
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="plainbroker-")
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("user %s\nlistener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 0\nlog_dest none\n" % (getpass.getuser(), self.port))
        self.proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("mosquitto exited with %s" % self.proc.returncode)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                return False
        wait_until(up, 20, "mosquitto to listen")
        return self

    def __exit__(self, *exc):
        import shutil
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def check(transport, count, qos):
    with Sim("--cache-size", str(max(1000, 2 * count))) as sim, PlainBroker() as broker, \
            MqttWatcher(broker.port, "ringcentral/#", qos=max(qos, 1)) as w:
        started = time.monotonic()
        bridge = sdk_bridge.start_bridge(transport, sim, broker.port, qos=qos)
        ready = time.monotonic() - started
        try:
            start = time.monotonic()
            sent = sim.notify(PRESENCE_EVENT, {"telephonyStatus": "NoCall", "text": "caf\u00e9"},
                              count=count)
            assert len(sent) == count, len(sent)
            w.wait_count(count, timeout=120)
            time.sleep(0.5)         # anything extra (a duplicate) would arrive by now
            done = max(m.received_at for m in w.messages)
            msgs = w.on_topic(PRESENCE_TOPIC)
            got = [m.payload for m in msgs]
            want = [s["plaintext"].encode() for s in sent]
            assert len(w.messages) == len(msgs) == count, (len(w.messages), len(msgs), count)
            assert sorted(got) == sorted(want), "lost, duplicated or altered notifications"
            in_order = got == want
        finally:
            code, took = stop_process(bridge)
        print("%s qos %d: ready in %.1fs; %d notifications arrived once each, byte-identical, "
              "%s, in %.2fs: %.0f/s (bridge stopped: exit %s in %.1fs)"
              % (transport, qos, ready, count, "in order" if in_order else "NOT in order",
                 done - start, count / (done - start), code, took), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("transports", nargs="*", default=list(sdk_bridge.TRANSPORTS))
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--qos", type=int, default=0, choices=(0, 1, 2))
    args = ap.parse_args()
    ok, why = sdk_bridge.available()
    print("available:", ok, why, flush=True)
    if not ok:
        return 1
    for transport in args.transports:
        check(transport, args.count, args.qos)
    return 0


if __name__ == "__main__":
    sys.exit(main())
