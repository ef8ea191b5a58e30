#!/usr/bin/python3
"""psub.py - the benchmark's Python subscriber (paho-mqtt 1.6, MQTT 3.1.1, clean session),
as a Home Assistant or Node-RED style consumer would be; the twin of csub.c.

    psub.py PORT TOPIC QOS OUTFILE READYFILE

Subscribes to TOPIC at QOS on 127.0.0.1:PORT, creates READYFILE once the broker granted the
subscription, and appends "<uuid> <monotonic ns>\\n" to OUTFILE for every message received
(uuid from the payload JSON by the same substring search as csub.c; time.monotonic_ns(),
the CLOCK_MONOTONIC csub.c and bench.py read). A thread flushes the file every 20 ms;
SIGTERM or SIGINT disconnects, flushes and exits 0."""
import re
import signal
import sys
import threading
import time

import paho.mqtt.client as mqtt

UUID = re.compile(rb'"uuid"\s*:\s*"([^"]{1,128})"')


def main():
    port, topic, qos, out_path, ready_path = sys.argv[1:6]
    qos = int(qos)
    out = open(out_path, "wb", buffering=1 << 20)
    stopping = threading.Event()
    client = mqtt.Client(client_id="bench-psub-%d" % threading.get_native_id(),
                         clean_session=True, protocol=mqtt.MQTTv311)

    def on_connect(c, userdata, flags, rc):
        if rc != 0:
            sys.stderr.write("psub: connection refused: %s\n" % mqtt.connack_string(rc))
            sys.exit(2)
        c.subscribe(topic, qos)

    def on_subscribe(c, userdata, mid, granted):
        open(ready_path, "w").close()

    def on_message(c, userdata, msg, now=time.monotonic_ns, search=UUID.search,
                   write=out.write):
        t = now()
        m = search(msg.payload)
        write(b"%s %d\n" % (m.group(1) if m else b"-", t))

    def flusher():
        while not stopping.wait(0.02):
            out.flush()

    def stop(signum, frame):
        stopping.set()
        client.disconnect()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=flusher, daemon=True).start()
    client.connect("127.0.0.1", int(port), keepalive=60)
    rc = client.loop_forever()
    asked = stopping.is_set()
    stopping.set()
    out.flush()
    out.close()
    if not asked:
        sys.stderr.write("psub: connection lost: %s\n" % mqtt.error_string(rc))
        sys.exit(2)


if __name__ == "__main__":
    main()
