"""test_homeassistant_state.py - what Home Assistant shows before anything happens
(docs/interface.md, "Home Assistant": extension names, presence at start): with the real
broker, the simulator and real MQTT clients.

The extensions' names come from GET .../extension/{id} and rename the devices; a failing
lookup keeps the fallback name and is logged once. The current presence is read with GET
.../presence once the subscription exists and published, retained, on the presence topic as
the notification it stands for (user property source=rest), so the value templates render
it before any notification; it is read again after every new subscription; and a real
notification that arrives while the read is in flight wins over the read's answer (a held
simulator fault makes that deterministic). With the account-wide presence filter the
account's enabled users are listed over REST (page after page) and each becomes a device
named from the list, whose entities read the topic its presence notifications arrive on; an
extension gone from the account loses its device at the next listing. Every wait is on an
MQTT message, a log line or a simulator query, with a deadline."""
import json

from ha_schema import check_device_config, render, topic_matches
from harness import (PRESENCE_FILTER, Broker, MqttWatcher, Sim, read_retained, run_tests,
                     wait_until, websocket_opts, ws_connects)

OWNER = "401550809004"
EXT_CONFIG = "homeassistant/device/rc_ringcentral_ext_%s/config" % OWNER
STATE = "ringcentral/bridge/state"
PRESENCE_TOPIC = "ringcentral/account/~/extension/%s/presence" % OWNER
PRESENCE_PATH = "/restapi/v1.0/account/~/extension/%s/presence" % OWNER
INFO_PATH = "/restapi/v1.0/account/~/extension/%s" % OWNER


def ha_opts(sim, **overrides):
    return websocket_opts(sim, **dict({"event_filter": [PRESENCE_FILTER],
                                       "homeassistant": "true"}, **overrides))


def set_presence(sim, notify=False, **state):
    return sim.call("POST", "/_sim/presence", dict(state, extensionId=OWNER, notify=notify))


def reads(w):
    """Presence messages that came from a REST read."""
    return [m for m in w.on_topic(PRESENCE_TOPIC) if m.user_properties.get("source") == "rest"]


def wait_reads(w, n, timeout=30):
    return w.wait_for(lambda ms: len(reads(w)) >= n and reads(w), timeout,
                      "%d presence read(s) published" % n)[n - 1]


def ext_config(w, pred, what):
    return w.wait_for(lambda ms: next((m.json() for m in reversed(ms) if m.topic == EXT_CONFIG
                                       and m.payload and pred(m.json())), None), 30, what)


def check_rendered(cfg, payload, tel, presence, dnd):
    e = check_device_config(cfg, STATE)
    assert render(e["telephony"]["value_template"], payload) == tel
    assert render(e["presence"]["value_template"], payload) == presence
    assert render(e["dnd"]["value_template"], payload) == dnd
    assert render(e["on_call"]["value_template"], payload) == ("OFF" if tel == "NoCall" else "ON")


def test_names_and_presence_at_start():
    with Sim() as sim:
        sim.call("POST", "/_sim/extension", {"extensionId": OWNER, "name": 'Alice "Al" O\'Hara',
                                             "extensionNumber": "205"})
        set_presence(sim, telephonyStatus="OnHold", userStatus="Busy",
                     dndStatus="DoNotAcceptAnyCalls")
        with Broker(ha_opts(sim)) as broker, MqttWatcher(broker.port, "#") as w:
            m = wait_reads(w, 1)
            # Sent as RingCentral sends the notification, published as the topic_map rule
            # for presence says: retained (a Home Assistant started later sees it).
            assert m.user_properties.get("event") == PRESENCE_FILTER.replace("~/presence",
                                                                             OWNER + "/presence")
            assert "subscriptionId" not in m.user_properties and m.user_properties.get("uuid")
            body = m.json()["body"]
            assert body["extensionId"] == OWNER and body["telephonyStatus"] == "OnHold"
            assert body["userStatus"] == "Busy" and body["presenceStatus"] == "Busy"
            assert body["activeCalls"] == [] and body["totalActiveCalls"] == 0
            r = read_retained(broker.port, PRESENCE_TOPIC)
            assert r is not None and r.json() == m.json()
            # No notification was sent: the state is the read's.
            assert not [x for x in w.on_topic(PRESENCE_TOPIC) if "source" not in x.user_properties]
            gets = sim.requests("GET", PRESENCE_PATH)
            assert len(gets) == 1 and gets[0]["query"] == {"detailedTelephonyState": "true"}, gets
            cfg = ext_config(w, lambda c: c["device"]["name"] == 'Alice "Al" O\'Hara',
                             "the device renamed")
            assert cfg["device"]["serial_number"] == "205"
            check_rendered(cfg, m.payload, "OnHold", "Busy", "DoNotAcceptAnyCalls")
            # One lookup of the name, one read of the presence.
            assert len([r for r in sim.requests("GET") if r["path"] == INFO_PATH]) == 1


def test_failed_lookup_keeps_fallback_logged_once():
    with Sim() as sim:
        sim.fault(match={"method": "GET", "path": INFO_PATH}, status=500, count=-1,
                  body={"errorCode": "CMN-999", "message": "boom"})
        with Broker(ha_opts(sim)) as broker, MqttWatcher(broker.port, "#") as w:
            broker.wait_log(r"cannot read extension %s's name \(HTTP 500\)" % OWNER)
            # The presence read is independent of the name and still comes.
            m = wait_reads(w, 1)
            assert m.json()["body"]["telephonyStatus"] == "NoCall"
            cfg = ext_config(w, lambda c: True, "a config")
            assert cfg["device"]["name"] == "Extension %s" % OWNER
            assert "serial_number" not in cfg["device"]
            # Tried again at the next new subscription, not in a loop; logged once.
            n_before = len([r for r in sim.requests("GET") if r["path"] == INFO_PATH])
            assert n_before == 1
            sim.ws_fault("refuse_recovery")
            sim.ws_fault("drop")
            wait_reads(w, 2)
            wait_until(lambda: len([r for r in sim.requests("GET") if r["path"] == INFO_PATH]) == 2,
                       30, "a second lookup after the new subscription")
            sim.clear_faults()
            sim.ws_fault("refuse_recovery")
            sim.ws_fault("drop")
            ext_config(w, lambda c: c["device"]["name"] == "Front Desk", "the name at last")
            assert broker.log_text().count("cannot read extension %s's name" % OWNER) == 1


def test_presence_read_again_after_new_subscription():
    with Sim() as sim, Broker(ha_opts(sim)) as broker, MqttWatcher(broker.port, "#") as w:
        first = wait_reads(w, 1)
        assert first.json()["body"]["telephonyStatus"] == "NoCall"
        # What changes while no subscription exists is never notified; the next
        # subscription's read shows it.
        set_presence(sim, telephonyStatus="CallConnected",
                     activeCalls=[{"id": "c-9", "direction": "Outbound", "from": "+15551230000",
                                   "to": "+15557654321", "telephonyStatus": "CallConnected"}])
        connects = len(ws_connects(sim))
        sim.ws_fault("refuse_recovery")
        sim.ws_fault("drop")
        second = wait_reads(w, 2)
        assert len(ws_connects(sim)) > connects
        body = second.json()["body"]
        assert body["telephonyStatus"] == "CallConnected" and body["totalActiveCalls"] == 1
        assert body["activeCalls"][0]["id"] == "c-9"
        assert second.user_properties["uuid"] != first.user_properties["uuid"]
        cfg = ext_config(w, lambda c: True, "a config")
        check_rendered(cfg, second.payload, "CallConnected", "Busy", "TakeAllCalls")
        assert read_retained(broker.port, PRESENCE_TOPIC).json() == second.json()
        assert len(sim.requests("GET", PRESENCE_PATH)) == 2


def test_newer_notification_wins_over_read_in_flight():
    stale = {"uri": "https://platform.ringcentral.com" + PRESENCE_PATH,
             "extension": {"id": OWNER, "extensionNumber": "101"},
             "presenceStatus": "Available", "telephonyStatus": "NoCall",
             "userStatus": "Available", "dndStatus": "TakeAllCalls",
             "meetingStatus": "Disconnected", "activeCalls": []}
    with Sim() as sim:
        # The read is held in the simulator, then answered with the state from before.
        sim.fault(match={"method": "GET", "path": PRESENCE_PATH}, hold="read", status=200,
                  body=stale)
        with Broker(ha_opts(sim)) as broker, MqttWatcher(broker.port, "#") as w:
            wait_until(lambda: "read" in sim.call("GET", "/_sim/fault")["holding"], 30,
                       "the presence read held in the simulator")
            set_presence(sim, notify=True, telephonyStatus="Ringing",
                         activeCalls=[{"id": "c-1", "direction": "Inbound",
                                       "from": "+15557654321", "fromName": "Alice",
                                       "telephonyStatus": "Ringing"}])
            w.wait_for(lambda ms: [m for m in ms if m.topic == PRESENCE_TOPIC
                                   and "source" not in m.user_properties], 30, "the notification")
            assert sim.call("POST", "/_sim/fault/release", {"name": "read"})["released"]
            broker.wait_log(r"presence of extension %s read over REST not published" % OWNER, 30)
            assert reads(w) == []
            r = read_retained(broker.port, PRESENCE_TOPIC)
            assert r is not None and r.json()["body"]["telephonyStatus"] == "Ringing"
            assert "source" not in r.user_properties


ACCOUNT_FILTER = "/restapi/v1.0/account/~/presence"
LIST_PATH = "/restapi/v1.0/account/~/extension"
SALES = "823476228762"          # in the simulator's directory from the start
WAREHOUSE = "555000111222"
DISABLED = "555000333444"
IVR = "555000555666"


def config_topic(ext):
    return "homeassistant/device/rc_ringcentral_ext_%s/config" % ext


def last_config(w, ext):
    ms = w.on_topic(config_topic(ext))
    return ms[-1] if ms else None


def test_account_wide_filter_lists_extensions():
    with Sim() as sim:
        # Three enabled users (two pages of two), a disabled user and an IVR menu, which
        # the listing's type=User&status=Enabled leaves out.
        sim.config(extension_page_size=2)
        sim.call("POST", "/_sim/extension", {"extensionId": WAREHOUSE, "name": "Warehouse",
                                             "extensionNumber": "103"})
        sim.call("POST", "/_sim/extension", {"extensionId": DISABLED, "name": "Old Timer",
                                             "extensionNumber": "104", "status": "Disabled"})
        sim.call("POST", "/_sim/extension", {"extensionId": IVR, "name": "Main Menu",
                                             "extensionNumber": "105", "type": "IvrMenu"})
        names = {OWNER: "Front Desk", SALES: "Sales", WAREHOUSE: "Warehouse"}
        opts = websocket_opts(sim, event_filter=[ACCOUNT_FILTER], homeassistant="true")
        with Broker(opts) as broker, MqttWatcher(broker.port, "#") as w:
            def named(ms):
                cfgs = {e: last_config(w, e) for e in names}
                return (all(m is not None and m.payload and m.json()["device"]["name"] == names[e]
                            for e, m in cfgs.items()) and cfgs)
            cfgs = w.wait_for(named, 60, "a device per listed extension, named from the list")
            numbers = {OWNER: "101", SALES: "102", WAREHOUSE: "103"}
            for ext, m in cfgs.items():
                cfg = m.json()
                assert cfg["device"]["serial_number"] == numbers[ext], cfg
                check_device_config(cfg, STATE)
            # Two pages, asked as the plugin asks; no per-extension name lookups.
            lists = sim.requests("GET", LIST_PATH)
            lists = [r for r in lists if r["path"] == LIST_PATH]
            assert [r["query"].get("page") for r in lists] == ["1", "2"], lists
            assert all(r["query"].get("type") == "User" and r["query"].get("status") == "Enabled"
                       for r in lists), lists
            assert not [r for r in sim.requests("GET", LIST_PATH + "/")
                        if "/presence" not in r["path"]]
            assert not w.on_topic(config_topic(DISABLED)) and not w.on_topic(config_topic(IVR))
            # Their presence is read at start, published on their presence topics.
            wanted = {e: cfgs[e].json()["components"]["telephony"]["state_topic"] for e in names}
            w.wait_for(lambda ms: all(any(topic_matches(wanted[e], m.topic)
                                          and m.user_properties.get("source") == "rest"
                                          for m in ms) for e in names), 30,
                       "a presence read for each listed extension")
            # A notification for Sales (the account-wide subscription gets Sales' own
            # event URL) arrives on the topic its device's entities read.
            sim.call("POST", "/_sim/presence", {"extensionId": SALES, "telephonyStatus": "Ringing"})
            m = w.wait_for(lambda ms: next((x for x in ms if topic_matches(wanted[SALES], x.topic)
                                            and "source" not in x.user_properties), None),
                           30, "Sales' presence notification")
            assert m.user_properties.get("event") == \
                "/restapi/v1.0/account/~/extension/%s/presence" % SALES
            sales = check_device_config(cfgs[SALES].json(), STATE)
            assert render(sales["telephony"]["value_template"], m.payload) == "Ringing"
            assert not topic_matches(wanted[OWNER], m.topic)

            # Warehouse leaves the account; the next subscription's listing clears its device.
            sim.call("POST", "/_sim/extension", {"extensionId": WAREHOUSE, "remove": True})
            sim.ws_fault("refuse_recovery")
            sim.ws_fault("drop")
            w.wait_for(lambda ms: (lambda c: c is not None and not c.payload)(
                last_config(w, WAREHOUSE)), 60, "Warehouse's device cleared")
            r = read_retained(broker.port, config_topic(WAREHOUSE))
            assert r is None or not r.payload
            for ext in (OWNER, SALES):
                assert last_config(w, ext).payload, ext
            assert "cannot list" not in broker.log_text()


if __name__ == "__main__":
    run_tests([test_names_and_presence_at_start, test_failed_lookup_keeps_fallback_logged_once,
               test_presence_read_again_after_new_subscription,
               test_newer_notification_wins_over_read_in_flight,
               test_account_wide_filter_lists_extensions])
