"""ha_schema.py - Home Assistant's MQTT discovery schema, as far as the plugin uses it.

Written from Home Assistant's own validation (homeassistant/components/mqtt: schemas.py
DEVICE_DISCOVERY_SCHEMA, config.py MQTT_RO_SCHEMA/MQTT_RW_SCHEMA, event.py, button.py, select.py, notify.py,
util.py valid_subscribe_topic/valid_publish_topic) so that the tests can check a
discovery payload field by field without Home Assistant, and render its value templates
the way MqttValueTemplate does (value, value_json, this) with Jinja2 (Debian's
python3-jinja2; Home Assistant's templates are Jinja2 in a sandbox too)."""
import json

from jinja2.sandbox import ImmutableSandboxedEnvironment

# Platforms the plugin publishes, and what each requires beyond `platform`.
REQUIRED = {
    "sensor": ("state_topic",),
    "binary_sensor": ("state_topic",),
    "event": ("state_topic", "event_types"),
    "button": ("command_topic",),
    # select.py: command_topic and a non-empty list of options; notify.py: command_topic.
    "select": ("command_topic", "options"),
    "notify": ("command_topic",),
}
ENTITY_CATEGORIES = ("config", "diagnostic")


def valid_subscribe_topic(topic):
    """util.valid_subscribe_topic: UTF-8, 1..65535 bytes, no NUL, '+' and '#' only as
    whole levels, '#' only last."""
    assert isinstance(topic, str) and topic, topic
    assert len(topic.encode()) <= 65535 and "\0" not in topic, topic
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "+" in level:
            assert level == "+", topic
        if "#" in level:
            assert level == "#" and i == len(levels) - 1, topic
    return topic


def valid_publish_topic(topic):
    """util.valid_publish_topic: a valid topic without wildcards."""
    valid_subscribe_topic(topic)
    assert "+" not in topic and "#" not in topic, topic
    return topic


def check_availability(avail, state_topic):
    """MQTT_AVAILABILITY_LIST_SCHEMA, and that it is the bridge's state with its payloads."""
    assert isinstance(avail, list) and len(avail) == 1, avail
    a = avail[0]
    valid_subscribe_topic(a["topic"])
    assert a["topic"] == state_topic, a
    assert a.get("payload_available", "online") == "online", a
    assert a.get("payload_not_available", "offline") == "offline", a


def check_device_config(cfg, state_topic):
    """DEVICE_DISCOVERY_SCHEMA (device with an identifier, origin with a name, components
    with a supported platform) and each component's platform schema. Returns
    {component id: component with the device's shared options filled in}; a removal stub
    (a component with its platform alone) is checked and left out."""
    assert isinstance(cfg, dict), cfg
    dev, origin, cmps = cfg["device"], cfg["origin"], cfg["components"]
    assert isinstance(dev.get("identifiers"), list) and dev["identifiers"], dev
    assert all(isinstance(i, str) and i for i in dev["identifiers"]), dev
    for key in ("name", "manufacturer", "model", "sw_version", "via_device", "serial_number"):
        assert key not in dev or isinstance(dev[key], str), (key, dev)
    assert isinstance(origin.get("name"), str) and origin["name"], origin
    assert isinstance(cmps, dict) and cmps, cfg
    if "availability" in cfg:
        check_availability(cfg["availability"], state_topic)
    out = {}
    for cid, c in cmps.items():
        assert isinstance(c, dict) and c.get("platform") in REQUIRED, (cid, c)
        if set(c) == {"platform"}:
            continue    # a removal stub: Home Assistant removes that entity
        for key in REQUIRED[c["platform"]]:
            assert key in c, (cid, key)
        # Device discovery needs a unique_id per component (the device registry key).
        assert isinstance(c.get("unique_id"), str) and c["unique_id"], (cid, c)
        for key in ("state_topic", "json_attributes_topic"):
            if key in c:
                valid_subscribe_topic(c[key])
        if "command_topic" in c:
            valid_publish_topic(c["command_topic"])
        if "options" in c:
            assert isinstance(c["options"], list) and c["options"], (cid, c)
            assert all(isinstance(o, str) and o for o in c["options"]), (cid, c)
            assert len(set(c["options"])) == len(c["options"]), (cid, c)
        if "event_types" in c:
            assert isinstance(c["event_types"], list) and c["event_types"], (cid, c)
            assert all(isinstance(t, str) and t for t in c["event_types"]), (cid, c)
        if "entity_category" in c:
            assert c["entity_category"] in ENTITY_CATEGORIES, (cid, c)
        if "availability" in c:
            check_availability(c["availability"], state_topic)
        if "value_template" in c:
            template(c["value_template"])   # compiles
        merged = dict(c)
        for shared in ("availability", "state_topic", "command_topic"):
            if shared in cfg and shared not in merged:
                merged[shared] = cfg[shared]
        out[cid] = merged
    return out


def topic_matches(sub, topic):
    """MQTT topic filter matching (what the broker does for Home Assistant's subscription)."""
    s, t = sub.split("/"), topic.split("/")
    for i, level in enumerate(s):
        if level == "#":
            return True
        if i >= len(t) or (level != "+" and level != t[i]):
            return False
    return len(s) == len(t)


_env = ImmutableSandboxedEnvironment()


def template(text):
    return _env.from_string(text)


class _This:
    """The `this` of an MQTT template: the entity's current state."""

    def __init__(self, state):
        self.state = state


def render(value_template, payload, this_state="unknown"):
    """What Home Assistant's MqttValueTemplate renders for payload (bytes or str)."""
    value = payload.decode() if isinstance(payload, bytes) else payload
    variables = {"value": value, "this": _This(this_state)}
    try:
        variables["value_json"] = json.loads(value)
    except ValueError:
        pass
    return template(value_template).render(**variables).strip()


def event_fired(component, payload):
    """What an MQTT event entity does with payload: None (ignored: empty rendering), or
    (event_type, attributes), with the event type checked against event_types."""
    rendered = render(component["value_template"], payload)
    if not rendered or rendered in ("None", "{}"):
        return None
    attrs = json.loads(rendered)
    event_type = attrs.pop("event_type")
    assert event_type in component["event_types"], (event_type, component["event_types"])
    return event_type, attrs
