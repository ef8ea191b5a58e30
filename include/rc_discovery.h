/* rc_discovery.h - Home Assistant MQTT discovery: which extensions the event filters cover,
 * which topics their state arrives on, and the retained discovery messages for them.
 *
 * Pure: configuration, filters and what is known about the extensions in, outbox messages
 * out; no broker call, no network, no clock. The worker decides when to publish (after
 * login, when the filters change, when Home Assistant announces itself) and remembers
 * what it published (the keys) so that a device or an entity that is gone gets cleared.
 *
 * Device-based discovery (one retained config per device on
 * `<homeassistant_prefix>/device/<object_id>/config`, its entities as components): the
 * bridge device (connectivity from `<topic_prefix>/bridge/state`, diagnostics from
 * `<topic_prefix>/bridge/status`, a "Re-subscribe" button, with command_sms a notify
 * entity per sms_notify_to number), and one device per covered extension, whose entities
 * read the notification topics the plugin publishes (with command_presence, selects for
 * its DND and user status that publish to its presence command topic). */
#ifndef RC_DISCOVERY_H
#define RC_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include "rc_config.h"
#include "rc_outbox.h"

/* Where the "Re-subscribe" button publishes (under topic_prefix): a command topic of its
 * own (rc_command.h), which an ACL can grant to Home Assistant without the control API. */
#define RC_HA_RESUBSCRIBE_LEVELS "/bridge/command/resubscribe"

/* The kinds of notification an extension's entities are built from. */
enum rc_ha_kind {
	RC_HA_PRESENCE = 0,   /* .../extension/{id}/presence: telephony, presence, DND, on call;
	                       * with detailedTelephonyState=true also the incoming-call event */
	RC_HA_SMS,            /* .../extension/{id}/message-store/instant?type=SMS */
	RC_HA_MISSED_CALLS,   /* .../extension/{id}/missed-calls */
	RC_HA_KIND_COUNT
};

/* One extension the filters cover. All strings owned (free with rc_ha_extensions_free). */
struct rc_ha_extension {
	char *id;                          /* the numeric id event URLs carry */
	char *name;                        /* NULL: not known yet ("Extension <number or id>") */
	char *number;                      /* extensionNumber; NULL: not known yet */
	bool detailed;                     /* its presence filter asks detailedTelephonyState=true */
	/* The event its presence notifications carry: the presence filter (the detailed one
	 * if both are given) with a `~` extension written as the id; the account as the
	 * filter has it. NULL: no presence filter. (A REST read of the presence is published
	 * as a notification of this event: rc_ha_state.h.) */
	char *presence_event;
	/* Per kind, the topic its notifications are published on, as an MQTT subscription
	 * filter (NULL: the filters do not cover that kind). RingCentral writes the account of
	 * an event URL either as `~` or as the account's number (both are seen for the same
	 * filter), so when the mapped topic holds the account as a whole level, that level is
	 * `+`: Home Assistant subscribes to state topics, and wildcards are valid there. */
	char *topic[RC_HA_KIND_COUNT];
};

/* The extensions filters cover, in first-seen order, each once. A filter whose extension
 * is `~` stands for owner_id (the logged-in extension; NULL: not known yet, so such
 * filters cover nothing yet); a numeric one for itself; others cover nothing here (the
 * account-wide presence filter's extensions are named by a REST listing: rc_ha_state.h,
 * then rc_ha_extensions_listed).
 * Returns 0 with *out (NULL if none) and *n_out, or -1 on no memory. */
int rc_ha_extensions(const struct rc_config *cfg, char *const *filters, size_t n_filters,
		const char *owner_id, struct rc_ha_extension **out, size_t *n_out);
void rc_ha_extensions_free(struct rc_ha_extension *ext, size_t n);

/* The account-wide presence filter among filters (`/restapi/v1.0/account/<account>/presence`,
 * any query), the detailed one (detailedTelephonyState=true) if both are given, as RingCentral
 * then sends the detailed notifications; *detailed says which. NULL: there is none. */
const char *rc_ha_account_presence(char *const *filters, size_t n_filters, bool *detailed);

/* Adds to *exts (rc_ha_extensions' list, *n entries) the extensions listed over REST (ids,
 * n_ids) as covered by account_filter (rc_ha_account_presence's). RingCentral delivers an
 * account-wide presence notification with the per-extension event
 * `/restapi/v1.0/account/<account>/extension/<id>/presence` (plus the filter's query), so
 * such an extension's presence_event is that (the account as the filter writes it) and its
 * presence topic is rc_ha_state_topic's, exactly a per-extension filter's. An extension
 * already covered keeps its own presence filter unless only the account filter is detailed.
 * Returns 0, or -1 on no memory (*exts stays a valid list of *n entries). */
int rc_ha_extensions_listed(const struct rc_config *cfg, const char *account_filter,
		char *const *ids, size_t n_ids, struct rc_ha_extension **exts, size_t *n);

/* The topic (as above, `+` for the account where it is a whole level) on which a
 * notification of extension ext_id with the event path suffix (e.g. "presence") is
 * published under cfg's topic_prefix and topic_map. NULL if such a notification would
 * not be published (a reserved topic) or on no memory. The caller frees it. */
char *rc_ha_state_topic(const struct rc_config *cfg, const char *ext_id, const char *suffix);

/* The display name of an extension: its name, else "Extension <number>", else
 * "Extension <id>". The caller frees it. */
char *rc_ha_extension_name(const struct rc_ha_extension *ext);

/* The discovery messages for the bridge and exts, retained at QoS 1 (has_options set), as
 * a list linked by `next` (the caller owns it: push each, or free with
 * rc_outbox_msg_free). prev/n_prev: the keys published before (NULL: none): a device
 * among them that is no longer wanted gets an empty retained payload (Home Assistant
 * removes it), an entity of a device that stays gets a removal stub in its device's
 * config. *keys and *n_keys: the keys published now (a NULL-terminated list the caller frees
 * with rc_strlist_free). Returns the list, or NULL on no memory (*keys NULL). */
struct rc_outbox_msg *rc_ha_discovery(const struct rc_config *cfg,
		const struct rc_ha_extension *exts, size_t n_exts, char *const *prev, size_t n_prev,
		char ***keys, size_t *n_keys);

/* True if a message on topic (NUL-terminated) with payload is Home Assistant announcing itself:
 * `<homeassistant_prefix>/status` = `online`. Cheap: the broker thread asks it about every
 * client message. */
bool rc_ha_is_birth(const char *ha_prefix, const char *topic, const void *payload,
		size_t payload_len);

#endif
