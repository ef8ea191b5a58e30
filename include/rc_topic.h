/* rc_topic.h - from a notification's event URL to the MQTT topic it is published on.
 *
 * Default: path of the event URL, query dropped, leading /restapi/v1.0 dropped, prefixed
 * with topic_prefix. topic_map rules ({name} captures one level) take precedence, first
 * match wins. The result is validated here so an invalid topic is refused with a cause that
 * can be counted. Pure. */
#ifndef RC_TOPIC_H
#define RC_TOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include "rc_config.h"

enum rc_topic_result {
	RC_TOPIC_OK = 0,
	RC_TOPIC_NOT_PATH,     /* event is not a path or http(s) URL */
	RC_TOPIC_WILDCARD,     /* would contain + or # */
	RC_TOPIC_NUL,          /* contains a NUL byte */
	RC_TOPIC_BAD_UTF8,     /* invalid UTF-8 (or a control character MQTT forbids) */
	RC_TOPIC_EMPTY_LEVEL,  /* an empty level, e.g. from // */
	RC_TOPIC_DOT_LEVEL,    /* a level that is . or .. */
	RC_TOPIC_TOO_LONG,     /* more than 65535 bytes */
	RC_TOPIC_NOMEM,
	RC_TOPIC_RESERVED,     /* <prefix>/bridge, <prefix>/bridge/..., or starts with '$' */
};
#define RC_TOPIC_RESULT_COUNT (RC_TOPIC_RESERVED + 1)

const char *rc_topic_strerror(enum rc_topic_result r);
/* A short stable name for counters, e.g. "wildcard", "empty_level". */
const char *rc_topic_result_name(enum rc_topic_result r);

/* Maps event (event_len bytes, may contain NUL) to a topic. On RC_TOPIC_OK *topic is a
 * NUL-terminated heap string the caller frees. A topic the plugin keeps for itself
 * (rc_topic_is_reserved with this prefix) is refused with RC_TOPIC_RESERVED, whether the
 * default mapping or a topic_map rule produced it. */
enum rc_topic_result rc_topic_for_event(const char *event, size_t event_len,
		const char *prefix, const struct rc_topic_rule *rules, size_t n_rules,
		char **topic);
/* The same, and the rule that matched in *rule (NULL: none, the default mapping; rule may
 * be NULL). A rule without a template (tmpl NULL) maps by default but still matches: its
 * publish options apply. *rule points into rules (borrowed). */
enum rc_topic_result rc_topic_for_event_rule(const char *event, size_t event_len,
		const char *prefix, const struct rc_topic_rule *rules, size_t n_rules,
		char **topic, const struct rc_topic_rule **rule);

/* Validates a topic_map rule at start-up: pattern must be an absolute path whose levels are
 * literals or {name}; the template may only use names the pattern captures (tmpl NULL: a
 * rule that keeps the default mapping; only the pattern is checked).
 * Returns 0 or -1 with a message in err. */
int rc_topic_rule_check(const char *pattern, const char *tmpl, char *err, size_t errlen);

/* Validates a finished topic (publish rules: no wildcards, no NUL, UTF-8, length, no
 * empty or dot levels). */
enum rc_topic_result rc_topic_check(const char *topic, size_t len);

/* True if topic (len bytes) is reserved: `<prefix>/bridge` or under `<prefix>/bridge/`
 * (the plugin's own state and status; with an empty or NULL prefix, `bridge` itself), or
 * starts with '$' (the broker's). */
bool rc_topic_is_reserved(const char *topic, size_t len, const char *prefix);

/* Start-up check of a topic_map template against the topic prefix (which may be given
 * after the topic_map lines, so this runs once all options are read). Refuses a template
 * whose own literal text reaches the reserved space: a literal level `bridge` that can
 * stand right after the prefix levels (earlier levels matching them, a capture standing
 * for any text), or a literal '$' at the start. What captures alone could put there is
 * event data, not configuration: rc_topic_for_event() refuses it at run time.
 * Returns 0 or -1 with a message in err. */
int rc_topic_template_reserved_check(const char *tmpl, const char *prefix, char *err,
		size_t errlen);

#endif
