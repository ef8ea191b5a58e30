#!/usr/bin/python3
"""demo.py - the README's first command: a broker with the plugin, fed by the simulator,
printing live notifications.

Starts the RingCentral simulator (REST, WebSocket gateway and PubNub; emitting presence
changes, incoming calls and SMS every few seconds), the stock mosquitto broker with
mosquitto_ringcentral.so on a free port (the plugin's default transport, websocket, unless
--transport says otherwise), and mosquitto_sub on ringcentral/#. Ctrl-C (or --duration)
stops all three."""
import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=0, help="stop after this many seconds")
    ap.add_argument("--every", type=float, default=3, help="seconds between demo events")
    ap.add_argument("--transport", choices=("websocket", "pubnub"), default=None,
                    help="plugin_opt_transport (default: the plugin's own default)")
    args = ap.parse_args()

    with harness.Sim("--demo", str(args.every)) as sim:
        opts = harness.plugin_opts(sim, event_filter=[
            harness.PRESENCE_FILTER,
            "/restapi/v1.0/account/~/telephony/sessions",
            "/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS"],
            transport=args.transport)
        with harness.Broker(opts) as broker:
            print("simulator:  %s (test CA %s)" % (sim.url, sim.cafile))
            print("broker:     mqtt://127.0.0.1:%d, log %s" % (broker.port, broker.log))
            print("listening:  mosquitto_sub -h 127.0.0.1 -p %d -v -t 'ringcentral/#'" % broker.port)
            started = broker.wait_log(r"ringcentral: started \(version ([^,]+), (\w+) transport")
            print("plugin:     mosquitto-ringcentral %s" % started.group(1))
            print("transport:  %s" % started.group(2))
            print("status:     mosquitto_sub -h 127.0.0.1 -p %d -C 1 -t ringcentral/bridge/status" % broker.port)
            print("-" * 72, flush=True)
            sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port),
                                    "-V", "5", "-v", "-t", "ringcentral/#",
                                    "-T", "ringcentral/bridge/status"])
            try:
                if args.duration > 0:
                    sub.wait(args.duration)
                else:
                    sub.wait()
            except subprocess.TimeoutExpired:
                pass
            except KeyboardInterrupt:
                pass
            finally:
                harness.stop_process(sub)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    sys.exit(main())
