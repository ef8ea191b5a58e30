"""test_demo.py - the README's first command shows decrypted notifications quickly.

Runs scripts/demo.py (what scripts/demo.sh executes after installing and building) for a
bounded time and checks that a newcomer sees the bridge come online and presence, call and
SMS notifications arrive."""
import os
import subprocess
import time

from harness import PYTHON, ROOT, run_tests


def demo_prints_live_notifications(*extra):
    start = time.monotonic()
    out = subprocess.run([PYTHON, os.path.join(ROOT, "scripts", "demo.py"), "--duration", "12",
                          "--every", "1"] + list(extra), capture_output=True, text=True,
                         timeout=90, env=dict(os.environ)).stdout
    took = time.monotonic() - start
    lines = out.splitlines()
    assert "ringcentral/bridge/state online" in lines, out
    assert any(l.startswith("ringcentral/account/37439510/extension/401550809004/presence {")
               and '"telephonyStatus":"Ringing"' in l for l in lines), out
    assert any(l.startswith("ringcentral/account/37439510/telephony/sessions {") for l in lines), out
    assert any("message-store/instant {" in l and "Dinner at 8?" in l for l in lines), out
    assert took < 60
    return out


def test_demo_prints_live_notifications():
    out = demo_prints_live_notifications()
    assert "transport:  websocket" in out.splitlines(), out   # the default transport


def test_demo_over_pubnub():
    out = demo_prints_live_notifications("--transport", "pubnub")
    assert "transport:  pubnub" in out.splitlines(), out


if __name__ == "__main__":
    run_tests([test_demo_prints_live_notifications, test_demo_over_pubnub])
