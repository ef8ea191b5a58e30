/* subscription.c - taking the server's word on our subscription (see rc_subscription.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_logsafe.h"
#include "rc_strlist.h"
#include "rc_subscription.h"

enum rc_lc_outcome rc_sub_adopt(struct rc_sub_slot *slot, enum rc_lc_action act,
		const char *json, size_t len, char *const *sent, size_t n_sent,
		struct rc_sink *sink, int64_t wall_now, long *lifetime_s, char *what, size_t what_len)
{
	struct rc_subscription s = {0};

	if (json == NULL || rc_subscription_parse(json, len, &s) != 0) {
		snprintf(what, what_len, "unreadable subscription answer");
		rc_subscription_clear(&s);
		return RC_OUT_TRANSIENT;
	}
	if (s.status != NULL && strcmp(s.status, "Active") != 0) {
		char status[RC_LOGSAFE_BUF];
		snprintf(what, what_len, "subscription status %s", rc_logsafe_str(status, sizeof(status), s.status));
		rc_subscription_clear(&s);
		return RC_OUT_NOT_FOUND;
	}
	if (act == RC_ACT_CREATE || act == RC_ACT_MODIFY) {
		char **copy = rc_strlist_copy(sent, n_sent);
		if (copy == NULL) {
			snprintf(what, what_len, "out of memory");
			rc_subscription_clear(&s);
			return RC_OUT_TRANSIENT;
		}
		rc_strlist_free(slot->accepted);
		slot->accepted = copy;
		slot->n_accepted = n_sent;
	}
	*lifetime_s = rc_subscription_lifetime(&s, wall_now);
	if (act == RC_ACT_CREATE && slot->ever)
		rc_sink_count(sink, RC_COUNT_RECREATIONS);
	if (act == RC_ACT_RENEW || act == RC_ACT_MODIFY)
		rc_sink_count(sink, RC_COUNT_RENEWALS);
	/* Server strings reach the log escaped: a newline in one must not forge a line. */
	char id[RC_LOGSAFE_BUF], filter[RC_LOGSAFE_BUF], reason[RC_LOGSAFE_BUF];
	rc_logsafe_str(id, sizeof(id), s.id);
	if (rc_sink_set_key(sink, s.encryption ? s.encryption_key : NULL) != 0)
		rc_sink_log(sink, RC_LOG_ERR, "subscription %s has an unusable encryption key", id);
	/* What the server refused is worth a line when it was asked for, not at every renewal. */
	for (size_t i = 0; i < s.n_disabled && act != RC_ACT_RENEW && act != RC_ACT_CHECK; i++)
		rc_sink_log(sink, RC_LOG_WARNING, "the server disabled event filter %s: %s",
				rc_logsafe_str(filter, sizeof(filter), s.disabled[i].filter),
				s.disabled[i].reason ? rc_logsafe_str(reason, sizeof(reason), s.disabled[i].reason) :
				"no reason given");
	rc_sink_log(sink, act == RC_ACT_CHECK ? RC_LOG_INFO : RC_LOG_NOTICE,
			"%s ok: subscription %s expires %s", rc_lc_action_name(act), id,
			s.expiration_time != NULL ? rc_logsafe_str(reason, sizeof(reason), s.expiration_time) : "?");
	rc_subscription_clear(&slot->sub);
	slot->sub = s;
	slot->ever = true;
	rc_sink_changed(sink);
	return RC_OUT_OK;
}

void rc_sub_forget(struct rc_sub_slot *slot)
{
	rc_subscription_clear(&slot->sub);
}

bool rc_sub_filters_differ(const struct rc_sub_slot *slot, char *const *desired, size_t n)
{
	return !rc_strlist_same_set(desired, n, slot->accepted, slot->n_accepted);
}

void rc_sub_own(struct rc_sub_slot *slot, const char *id, bool ours)
{
	if (id == NULL)
		return;
	if (!ours) {
		rc_strlist_remove(slot->owned, &slot->n_owned, id);
	} else if (!rc_strlist_contains(slot->owned, slot->n_owned, id)) {
		if (slot->n_owned >= RC_SUB_OWNED_MAX)
			rc_strlist_remove(slot->owned, &slot->n_owned, slot->owned[0]); /* the oldest */
		rc_strlist_add_unique(&slot->owned, &slot->n_owned, id);
	}
}

bool rc_sub_may_have_orphans(const struct rc_sub_slot *slot)
{
	for (size_t i = 0; i < slot->n_owned; i++)
		if (slot->sub.id == NULL || strcmp(slot->owned[i], slot->sub.id) != 0)
			return true;
	return false;
}

int rc_sub_find_orphans(const struct rc_sub_slot *slot, const char *json, size_t len,
		char ***out, size_t *n_out)
{
	struct rc_subscription *list = NULL;
	size_t n = 0;

	*out = NULL;
	*n_out = 0;
	if (rc_subscription_list_parse(json, len, &list, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct rc_subscription *s = &list[i];
		if (rc_strlist_contains(slot->owned, slot->n_owned, s->id) &&
				(slot->sub.id == NULL || strcmp(s->id, slot->sub.id) != 0))
			rc_strlist_add_unique(out, n_out, s->id);
		rc_subscription_clear(s);
	}
	free(list);
	return 0;
}

void rc_sub_slot_free(struct rc_sub_slot *slot)
{
	rc_subscription_clear(&slot->sub);
	rc_strlist_free(slot->accepted);
	rc_strlist_free(slot->owned);
	*slot = (struct rc_sub_slot){0};
}
