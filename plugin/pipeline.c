/* pipeline.c - from a delivered message to an MQTT message (see rc_pipeline.h). */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "rc_logsafe.h"
#include "rc_notification.h"
#include "rc_pipeline.h"
#include "rc_json.h"
#include "rc_topic.h"

int rc_pipeline_init(struct rc_pipeline *p, const struct rc_config *cfg, size_t dedupe_capacity)
{
	*p = (struct rc_pipeline){0};
	p->cfg = cfg;
	p->dedupe = rc_dedupe_new(dedupe_capacity);
	rc_json_reader_init(&p->reader, 0);
	return p->dedupe != NULL ? 0 : -1;
}

void rc_pipeline_destroy(struct rc_pipeline *p)
{
	rc_dedupe_free(p->dedupe);
	rc_json_reader_destroy(&p->reader);
	OPENSSL_cleanse(p->key, sizeof(p->key));
	*p = (struct rc_pipeline){0};
}

int rc_pipeline_set_key(struct rc_pipeline *p, const char *b64)
{
	p->have_key = false;
	OPENSSL_cleanse(p->key, sizeof(p->key));
	if (b64 == NULL)
		return 0;
	if (rc_crypto_key_from_base64(b64, p->key) != 0)
		return -1;
	p->have_key = true;
	return 0;
}

static enum rc_drop_cause pipeline__decrypt_cause(enum rc_decrypt_result r)
{
	switch (r) {
	case RC_DECRYPT_BAD_BASE64: return RC_DROP_BAD_BASE64;
	case RC_DECRYPT_BAD_LENGTH: return RC_DROP_BAD_LENGTH;
	case RC_DECRYPT_BAD_PADDING: return RC_DROP_BAD_PADDING;
	default: return RC_DROP_NOMEM;
	}
}

static enum rc_drop_cause pipeline__envelope_cause(enum rc_envelope_result r)
{
	switch (r) {
	case RC_ENVELOPE_NOT_JSON: return RC_DROP_NOT_JSON;
	case RC_ENVELOPE_NOT_OBJECT: return RC_DROP_NOT_OBJECT;
	case RC_ENVELOPE_NO_UUID: return RC_DROP_NO_UUID;
	case RC_ENVELOPE_NO_EVENT: return RC_DROP_NO_EVENT;
	case RC_ENVELOPE_BAD_BODY: return RC_DROP_BAD_BODY;
	case RC_ENVELOPE_UUID_TOO_LONG: return RC_DROP_UUID_TOO_LONG;
	default: return RC_DROP_NOMEM;
	}
}

static enum rc_drop_cause pipeline__topic_cause(enum rc_topic_result r)
{
	switch (r) {
	case RC_TOPIC_NOT_PATH: return RC_DROP_TOPIC_NOT_PATH;
	case RC_TOPIC_WILDCARD: return RC_DROP_TOPIC_WILDCARD;
	case RC_TOPIC_NUL: return RC_DROP_TOPIC_NUL;
	case RC_TOPIC_BAD_UTF8: return RC_DROP_TOPIC_BAD_UTF8;
	case RC_TOPIC_EMPTY_LEVEL: return RC_DROP_TOPIC_EMPTY_LEVEL;
	case RC_TOPIC_DOT_LEVEL: return RC_DROP_TOPIC_DOT_LEVEL;
	case RC_TOPIC_TOO_LONG: return RC_DROP_TOPIC_TOO_LONG;
	case RC_TOPIC_RESERVED: return RC_DROP_TOPIC_RESERVED;
	default: return RC_DROP_NOMEM;
	}
}

/* A rule's publish options (rc_config.h), completed with the configured qos and retain:
 * a rule that says only retain=true keeps plugin_opt_qos. */
static void pipeline__options(const struct rc_pipeline *p, const struct rc_topic_rule *rule,
		struct rc_outbox_msg *m)
{
	if (rule == NULL || (!rule->has_qos && !rule->has_retain && rule->expiry_s == 0))
		return;
	m->has_options = true;
	m->qos = rule->has_qos ? rule->qos : p->cfg->qos;
	m->retain = rule->has_retain ? rule->retain : p->cfg->retain;
	m->expiry_s = rule->expiry_s;
}

static struct rc_outbox_msg *pipeline__message(const struct rc_pipeline *p,
		const struct rc_notification *n, char *topic, char *plain, size_t plain_len)
{
	struct rc_outbox_msg *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		free(topic);
		free(plain);
		return NULL;
	}
	m->topic = topic;
	if (p->cfg->payload == RC_PAYLOAD_BODY) {
		m->payload = rc_notification_body_json(n, &m->payload_len);
		free(plain);
	} else {
		m->payload = plain;
		m->payload_len = plain_len;
	}
	m->uuid = strdup(n->uuid);
	m->event = strndup(n->event, n->event_len);
	m->subscription_id = n->subscription_id != NULL ? strdup(n->subscription_id) : NULL;
	if (m->payload == NULL || m->uuid == NULL || m->event == NULL ||
			(n->subscription_id != NULL && m->subscription_id == NULL)) {
		rc_outbox_msg_free(m);
		return NULL;
	}
	return m;
}

enum rc_pipeline_result rc_pipeline_process(struct rc_pipeline *p, const char *str, size_t len,
		json_object *obj, struct rc_outbox_msg **out, enum rc_drop_cause *cause,
		char *detail, size_t detail_len)
{
	struct rc_notification n;
	enum rc_envelope_result er;
	char *plain = NULL;
	size_t plain_len = 0;

	*out = NULL;
	if (detail_len > 0)
		detail[0] = '\0';

	if (str != NULL) {
		/* The size cap applies before any work is done on the message. */
		if (len > p->cfg->max_notification_size) {
			*cause = RC_DROP_TOO_LARGE;
			return RC_PIPE_DROP;
		}
		if (p->have_key) {
			enum rc_decrypt_result dr = rc_crypto_decrypt(p->key, str, len, &plain, &plain_len);
			if (dr != RC_DECRYPT_OK) {
				*cause = pipeline__decrypt_cause(dr);
				return RC_PIPE_DROP;
			}
		} else {
			plain = strndup(str, len);
			plain_len = len;
			if (plain == NULL) {
				*cause = RC_DROP_NOMEM;
				return RC_PIPE_DROP;
			}
		}
		/* The caller's object was parsed from this very text (a clear notification). */
		er = obj != NULL && !p->have_key ? rc_notification_from_object(obj, &n) :
				rc_notification_read(&p->reader, plain, plain_len, &n);
	} else if (obj != NULL) {
		er = rc_notification_from_object(obj, &n);
		if (er == RC_ENVELOPE_OK) {
			const char *text = json_object_to_json_string_ext(n.root,
					JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
			plain = text != NULL ? strdup(text) : NULL;
			plain_len = plain != NULL ? strlen(plain) : 0;
			if (plain == NULL) {
				rc_notification_clear(&n);
				*cause = RC_DROP_NOMEM;
				return RC_PIPE_DROP;
			}
			if (plain_len > p->cfg->max_notification_size) {
				rc_notification_clear(&n);
				free(plain);
				*cause = RC_DROP_TOO_LARGE;
				return RC_PIPE_DROP;
			}
		}
	} else {
		*cause = RC_DROP_BAD_PAYLOAD;
		return RC_PIPE_DROP;
	}

	if (er != RC_ENVELOPE_OK) {
		free(plain);
		*cause = pipeline__envelope_cause(er);
		return RC_PIPE_DROP;
	}

	char *topic = NULL;
	const struct rc_topic_rule *rule = NULL;
	enum rc_topic_result tr = rc_topic_for_event_rule(n.event, n.event_len, p->cfg->topic_prefix,
			p->cfg->topic_map, p->cfg->n_topic_map, &topic, &rule);
	if (tr != RC_TOPIC_OK) {
		/* Escaped and bounded: hostile events can be 70 KB of anything. */
		rc_logsafe(detail, detail_len, n.event, n.event_len);
		*cause = pipeline__topic_cause(tr);
		rc_notification_clear(&n);
		free(plain);
		return RC_PIPE_DROP;
	}

	/* De-duplication comes last, so a notification we could not publish does not mark its
	 * uuid as delivered. */
	if (rc_dedupe_check_and_add(p->dedupe, n.uuid)) {
		rc_notification_clear(&n);
		free(plain);
		free(topic);
		return RC_PIPE_DUPLICATE;
	}

	*out = pipeline__message(p, &n, topic, plain, plain_len);
	rc_notification_clear(&n);
	if (*out == NULL) {
		*cause = RC_DROP_NOMEM;
		return RC_PIPE_DROP;
	}
	pipeline__options(p, rule, *out);
	return RC_PIPE_PUBLISH;
}
