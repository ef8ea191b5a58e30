/* test_discovery.c - Home Assistant discovery (discovery.c): which extensions the filters
 * cover, on which topics their state arrives, the device configs field by field, and the
 * clearing of what is gone. */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "rc_discovery.h"
#include "rc_strlist.h"
#include "rc_test.h"

static struct rc_config cfg;

static void base_cfg(void)
{
	cfg = (struct rc_config){
		.topic_prefix = "ringcentral",
		.homeassistant = true,
		.homeassistant_prefix = "homeassistant",
		.payload = RC_PAYLOAD_NOTIFICATION,
	};
}

static char *filters[] = {
	"/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true",
	"/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS",
	"/restapi/v1.0/account/37439510/extension/101/missed-calls",
	"/restapi/v1.0/account/~/extension/101/presence",
	"/restapi/v1.0/account/~/presence",              /* account-wide: no ids here */
	"/restapi/v1.0/account/~/extension/~/message-store", /* not an HA kind */
	"/restapi/v1.0/account/~/extension/~/message-store/instant?type=Pager",
	NULL,
};

static void test_coverage(void)
{
	struct rc_ha_extension *e = NULL;
	size_t n = 0;

	base_cfg();
	CU_ASSERT_EQUAL_FATAL(rc_ha_extensions(&cfg, filters, 7, "401550809004", &e, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(e[0].id, "401550809004");
	CU_ASSERT_TRUE(e[0].detailed);
	CU_ASSERT_STRING_EQUAL(e[0].topic[RC_HA_PRESENCE], "ringcentral/account/+/extension/401550809004/presence");
	CU_ASSERT_STRING_EQUAL(e[0].topic[RC_HA_SMS],
			"ringcentral/account/+/extension/401550809004/message-store/instant");
	CU_ASSERT_PTR_NULL(e[0].topic[RC_HA_MISSED_CALLS]);
	CU_ASSERT_STRING_EQUAL(e[1].id, "101");
	CU_ASSERT_FALSE(e[1].detailed);
	CU_ASSERT_PTR_NOT_NULL(e[1].topic[RC_HA_PRESENCE]);
	CU_ASSERT_STRING_EQUAL(e[1].topic[RC_HA_MISSED_CALLS], "ringcentral/account/+/extension/101/missed-calls");
	/* The event a presence read is published as: `~` extension resolved, account kept. */
	CU_ASSERT_STRING_EQUAL(e[0].presence_event,
			"/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true");
	CU_ASSERT_STRING_EQUAL(e[1].presence_event, "/restapi/v1.0/account/~/extension/101/presence");
	rc_ha_extensions_free(e, n);

	/* Before login the owner is unknown: `~` filters cover nothing yet. */
	CU_ASSERT_EQUAL_FATAL(rc_ha_extensions(&cfg, filters, 7, NULL, &e, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(e[0].id, "101");
	rc_ha_extensions_free(e, n);
	CU_ASSERT_EQUAL_FATAL(rc_ha_extensions(&cfg, filters, 0, "1", &e, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(e);
}

/* The state topic follows topic_map: an exact topic when the rule drops the account, `+`
 * where the account is a whole level, the `~` form where it is inside a level. */
static void test_state_topic_rules(void)
{
	struct rc_topic_rule rules[] = {
		{ .pattern = "/restapi/v1.0/account/{a}/extension/{e}/presence", .tmpl = "home/phone/{e}/presence" },
		{ .pattern = "/restapi/v1.0/account/{a}/extension/{e}/missed-calls", .tmpl = "acct-{a}/{e}/missed" },
		{ .pattern = "/restapi/v1.0/account/{a}/extension/{e}/message-store/instant", .tmpl = "sms/{a}/{e}" },
	};
	char *t;

	base_cfg();
	cfg.topic_map = rules;
	cfg.n_topic_map = 3;
	t = rc_ha_state_topic(&cfg, "7", "presence");
	CU_ASSERT_STRING_EQUAL(t, "home/phone/7/presence");
	free(t);
	t = rc_ha_state_topic(&cfg, "7", "missed-calls");
	CU_ASSERT_STRING_EQUAL(t, "acct-~/7/missed");
	free(t);
	t = rc_ha_state_topic(&cfg, "7", "message-store/instant");
	CU_ASSERT_STRING_EQUAL(t, "sms/+/7");
	free(t);
	/* A reserved topic is never published: no state topic, so no entity. */
	rules[0].tmpl = "ringcentral/bridge/{e}";
	CU_ASSERT_PTR_NULL(rc_ha_state_topic(&cfg, "7", "presence"));
}

static json_object *component(json_object *root, const char *id)
{
	json_object *cmps, *c = NULL;

	CU_ASSERT_FATAL(json_object_object_get_ex(root, "components", &cmps));
	json_object_object_get_ex(cmps, id, &c);
	return c;
}

static const char *field(json_object *o, const char *key)
{
	json_object *v;

	return o != NULL && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static void free_list(struct rc_outbox_msg *m)
{
	while (m != NULL) {
		struct rc_outbox_msg *next = m->next;
		rc_outbox_msg_free(m);
		m = next;
	}
}

static void test_device_configs(void)
{
	struct rc_ha_extension *e = NULL;
	size_t n = 0, n_keys = 0;
	char **keys = NULL;

	base_cfg();
	CU_ASSERT_EQUAL_FATAL(rc_ha_extensions(&cfg, filters, 2, "401550809004", &e, &n), 0);
	struct rc_outbox_msg *m = rc_ha_discovery(&cfg, e, n, NULL, 0, &keys, &n_keys);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->next);
	CU_ASSERT_PTR_NULL(m->next->next);

	/* The bridge. */
	CU_ASSERT_STRING_EQUAL(m->topic, "homeassistant/device/rc_ringcentral_bridge/config");
	CU_ASSERT_TRUE(m->has_options && m->retain && m->qos == 1 && m->expiry_s == 0);
	CU_ASSERT_PTR_NULL(m->uuid);
	json_object *root = json_tokener_parse(m->payload);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	json_object *o;
	CU_ASSERT_TRUE(json_object_object_get_ex(root, "origin", &o));
	CU_ASSERT_STRING_EQUAL(field(o, "name"), "mosquitto-ringcentral");
	json_object *c = component(root, "connectivity");
	CU_ASSERT_STRING_EQUAL(field(c, "platform"), "binary_sensor");
	CU_ASSERT_STRING_EQUAL(field(c, "state_topic"), "ringcentral/bridge/state");
	CU_ASSERT_STRING_EQUAL(field(c, "payload_on"), "online");
	CU_ASSERT_STRING_EQUAL(field(c, "payload_off"), "offline");
	CU_ASSERT_STRING_EQUAL(field(c, "unique_id"), "rc_ringcentral_bridge_connectivity");
	c = component(root, "resubscribe");
	/* Its own command topic, not the control API's (off by default, configurable). */
	CU_ASSERT_STRING_EQUAL(field(c, "command_topic"), "ringcentral/bridge/command/resubscribe");
	CU_ASSERT_FALSE(json_object_object_get_ex(c, "payload_press", NULL));
	CU_ASSERT_STRING_EQUAL(field(component(root, "last_error"), "state_topic"), "ringcentral/bridge/status");
	CU_ASSERT_STRING_EQUAL(field(component(root, "expiration"), "device_class"), "timestamp");
	json_object_put(root);

	/* The extension. */
	struct rc_outbox_msg *x = m->next;
	CU_ASSERT_STRING_EQUAL(x->topic, "homeassistant/device/rc_ringcentral_ext_401550809004/config");
	root = json_tokener_parse(x->payload);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_TRUE(json_object_object_get_ex(root, "device", &o));
	CU_ASSERT_STRING_EQUAL(field(o, "name"), "Extension 401550809004");
	CU_ASSERT_STRING_EQUAL(field(o, "via_device"), "rc_ringcentral_bridge");
	CU_ASSERT_TRUE(json_object_object_get_ex(root, "availability", &o));
	CU_ASSERT_STRING_EQUAL(field(json_object_array_get_idx(o, 0), "topic"), "ringcentral/bridge/state");
	static const char *const want[][2] = {
		{ "telephony", "sensor" }, { "presence", "sensor" }, { "dnd", "sensor" },
		{ "on_call", "binary_sensor" }, { "incoming_call", "event" }, { "incoming_sms", "event" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		c = component(root, want[i][0]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_STRING_EQUAL(field(c, "platform"), want[i][1]);
		CU_ASSERT_PTR_NOT_NULL(strstr(field(c, "value_template"), "value_json.body"));
	}
	CU_ASSERT_PTR_NULL(component(root, "missed_call"));
	CU_ASSERT_STRING_EQUAL(field(component(root, "incoming_sms"), "state_topic"),
			"ringcentral/account/+/extension/401550809004/message-store/instant");
	json_object_put(root);
	CU_ASSERT_TRUE(rc_strlist_contains(keys, n_keys,
			"homeassistant/device/rc_ringcentral_ext_401550809004/config|incoming_sms|event"));
	CU_ASSERT_TRUE(rc_strlist_contains(keys, n_keys, "homeassistant/device/rc_ringcentral_bridge/config"));
	free_list(m);

	/* Payload body mode: the templates read value_json itself; a name is used as is. */
	cfg.payload = RC_PAYLOAD_BODY;
	free(e[0].name);
	e[0].name = strdup("Front Desk");
	char **k2 = NULL;
	size_t n2 = 0;
	m = rc_ha_discovery(&cfg, e, n, NULL, 0, &k2, &n2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	root = json_tokener_parse(m->next->payload);
	CU_ASSERT_PTR_NULL(strstr(field(component(root, "telephony"), "value_template"), "value_json.body"));
	CU_ASSERT_TRUE(json_object_object_get_ex(root, "device", &o));
	CU_ASSERT_STRING_EQUAL(field(o, "name"), "Front Desk");
	json_object_put(root);
	free_list(m);
	rc_strlist_free(k2);

	/* The SMS filter goes: the entity gets a removal stub; the extension goes: its device
	 * config is cleared (empty retained payload). */
	cfg.payload = RC_PAYLOAD_NOTIFICATION;
	rc_ha_extensions_free(e, n);
	CU_ASSERT_EQUAL_FATAL(rc_ha_extensions(&cfg, filters, 1, "401550809004", &e, &n), 0);
	m = rc_ha_discovery(&cfg, e, n, keys, n_keys, &k2, &n2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	root = json_tokener_parse(m->next->payload);
	c = component(root, "incoming_sms");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(field(c, "platform"), "event");
	CU_ASSERT_EQUAL(json_object_object_length(c), 1);
	json_object_put(root);
	CU_ASSERT_FALSE(rc_strlist_contains(k2, n2,
			"homeassistant/device/rc_ringcentral_ext_401550809004/config|incoming_sms|event"));
	free_list(m);
	rc_strlist_free(k2);
	m = rc_ha_discovery(&cfg, NULL, 0, keys, n_keys, &k2, &n2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->next);
	CU_ASSERT_STRING_EQUAL(m->next->topic, "homeassistant/device/rc_ringcentral_ext_401550809004/config");
	CU_ASSERT_EQUAL(m->next->payload_len, 0);
	CU_ASSERT_TRUE(m->next->retain);
	CU_ASSERT_PTR_NULL(m->next->next);
	free_list(m);
	rc_strlist_free(k2);
	rc_strlist_free(keys);
	rc_ha_extensions_free(e, n);
}

static void test_birth(void)
{
	CU_ASSERT_TRUE(rc_ha_is_birth("homeassistant", "homeassistant/status", "online", 6));
	CU_ASSERT_FALSE(rc_ha_is_birth("homeassistant", "homeassistant/status", "offline", 7));
	CU_ASSERT_FALSE(rc_ha_is_birth("homeassistant", "homeassistant/status", "online\n", 7));
	CU_ASSERT_FALSE(rc_ha_is_birth("homeassistant", "homeassistant/statusx", "online", 6));
	CU_ASSERT_FALSE(rc_ha_is_birth("homeassistant", "homeassistan/status", "online", 6));
	CU_ASSERT_FALSE(rc_ha_is_birth("ha", "ringcentral/x", "online", 6));
	CU_ASSERT_TRUE(rc_ha_is_birth("my/ha", "my/ha/status", "online", 6));
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "coverage from the filters", test_coverage },
		{ "state topics through topic_map", test_state_topic_rules },
		{ "device configs, stubs and clears", test_device_configs },
		{ "Home Assistant's birth message", test_birth },
		{ NULL, NULL },
	};
	return rc_test_run("discovery", NULL, NULL, cases);
}
