/* topic.c - from a notification's event URL to an MQTT topic (see rc_topic.h).
 *
 * Everything that reaches mosquitto_broker_publish() passes rc_topic_check() first: the
 * broker would refuse an invalid topic anyway, but only here do we know *why*, and the
 * cause is what gets counted and logged. The event string comes from the network (after
 * decryption), so nothing about it is trusted: it may hold NUL bytes, wildcards, dot levels
 * or broken UTF-8, and it may be arbitrarily long.
 *
 * Matching is level by level on the event path with the query string dropped. '#' is NOT
 * a URL fragment marker here: RingCentral event URLs never carry fragments, so a '#' can
 * only be hostile and must end up in the topic where the wildcard check refuses it. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rc_topic.h"
#include "rc_utf8.h"

#define RC_TOPIC_MAX_LEN 65535
#define RC_TOPIC_API_PREFIX "/restapi/v1.0"

/* A view into a byte buffer; never NUL-terminated. */
struct topic__span {
	const char *p;
	size_t len;
};

const char *rc_topic_strerror(enum rc_topic_result r)
{
	switch (r) {
	case RC_TOPIC_OK: return "ok";
	case RC_TOPIC_NOT_PATH: return "event is not a path or an http(s) URL with a path";
	case RC_TOPIC_WILDCARD: return "topic would contain a wildcard (+ or #)";
	case RC_TOPIC_NUL: return "topic would contain a NUL byte";
	case RC_TOPIC_BAD_UTF8: return "topic would be invalid UTF-8 or contain a control character";
	case RC_TOPIC_EMPTY_LEVEL: return "topic would contain an empty level";
	case RC_TOPIC_DOT_LEVEL: return "topic would contain a '.' or '..' level";
	case RC_TOPIC_TOO_LONG: return "topic would exceed 65535 bytes";
	case RC_TOPIC_NOMEM: return "out of memory";
	case RC_TOPIC_RESERVED:
		return "topic would be <prefix>/bridge or under it (the plugin's own) or start with '$'";
	}
	return "unknown topic error";
}

const char *rc_topic_result_name(enum rc_topic_result r)
{
	switch (r) {
	case RC_TOPIC_OK: return "ok";
	case RC_TOPIC_NOT_PATH: return "not_path";
	case RC_TOPIC_WILDCARD: return "wildcard";
	case RC_TOPIC_NUL: return "nul";
	case RC_TOPIC_BAD_UTF8: return "bad_utf8";
	case RC_TOPIC_EMPTY_LEVEL: return "empty_level";
	case RC_TOPIC_DOT_LEVEL: return "dot_level";
	case RC_TOPIC_TOO_LONG: return "too_long";
	case RC_TOPIC_NOMEM: return "nomem";
	case RC_TOPIC_RESERVED: return "reserved";
	}
	return "unknown";
}

/* ---- validation ---- */

/* The same rules as mosquitto_validate_utf8() (lib/utf8_mosq.c), which the broker applies
 * to every published topic: well-formed UTF-8 (rc_utf8.h: no overlongs, surrogates or code
 * points above U+10FFFF), and without the C0/C1 control characters MQTT forbids. Unlike
 * that function, a sequence cut off by the end of the buffer is caught before reading past
 * it. */
static bool topic__utf8_valid(const unsigned char *s, size_t len)
{
	unsigned long cp;

	for (size_t i = 0, n; i < len; i += n) {
		if ((n = rc_utf8_char(s + i, len - i, &cp)) == 0)
			return false;
		if (cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F))
			return false;
	}
	return true;
}

/* Order of checks: NUL, TOO_LONG, BAD_UTF8, WILDCARD, EMPTY_LEVEL, DOT_LEVEL. NUL comes
 * first because it is the one cause that means the event was forged to cut a C string
 * short; the length check comes before the byte-by-byte scans so a huge input costs no
 * more than one memchr. */
enum rc_topic_result rc_topic_check(const char *topic, size_t len)
{
	if (!topic)
		return RC_TOPIC_NOT_PATH;
	if (memchr(topic, '\0', len))
		return RC_TOPIC_NUL;
	if (len > RC_TOPIC_MAX_LEN)
		return RC_TOPIC_TOO_LONG;
	if (!topic__utf8_valid((const unsigned char *)topic, len))
		return RC_TOPIC_BAD_UTF8;
	if (memchr(topic, '+', len) || memchr(topic, '#', len))
		return RC_TOPIC_WILDCARD;

	enum rc_topic_result dot = RC_TOPIC_OK;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && topic[i] != '/')
			continue;
		size_t n = i - start;
		if (n == 0)
			return RC_TOPIC_EMPTY_LEVEL;   /* also catches the empty topic */
		if ((n == 1 && topic[start] == '.') ||
		    (n == 2 && topic[start] == '.' && topic[start + 1] == '.'))
			dot = RC_TOPIC_DOT_LEVEL;      /* keep scanning: empty levels rank higher */
		start = i + 1;
	}
	return dot;
}

/* ---- levels and rules ---- */

/* Level k (0-based) of s split on '/'. Returns false if s has fewer levels. */
static bool topic__level(struct topic__span s, size_t k, struct topic__span *out)
{
	size_t start = 0;

	for (size_t i = 0; i <= s.len; i++) {
		if (i < s.len && s.p[i] != '/')
			continue;
		if (k == 0) {
			out->p = s.p + start;
			out->len = i - start;
			return true;
		}
		k--;
		start = i + 1;
	}
	return false;
}

static size_t topic__level_count(struct topic__span s)
{
	size_t n = 1;

	for (size_t i = 0; i < s.len; i++)
		n += s.p[i] == '/';
	return n;
}

static bool topic__is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '_';
}

/* True if level is exactly "{name}" with a non-empty [A-Za-z0-9_] name; *name is set to
 * the part between the braces. */
static bool topic__is_capture(struct topic__span level, struct topic__span *name)
{
	if (level.len < 3 || level.p[0] != '{' || level.p[level.len - 1] != '}')
		return false;
	for (size_t i = 1; i < level.len - 1; i++)
		if (!topic__is_name_char(level.p[i]))
			return false;
	name->p = level.p + 1;
	name->len = level.len - 2;
	return true;
}

/* Index of the pattern level that captures name, or -1. */
static long topic__capture_index(struct topic__span pattern, struct topic__span name)
{
	struct topic__span level, cap;

	for (size_t k = 0; topic__level(pattern, k, &level); k++)
		if (topic__is_capture(level, &cap) && cap.len == name.len &&
		    memcmp(cap.p, name.p, name.len) == 0)
			return (long)k;
	return -1;
}

static bool topic__rule_matches(struct topic__span pattern, struct topic__span path)
{
	struct topic__span pl, el, name;

	if (topic__level_count(pattern) != topic__level_count(path))
		return false;
	for (size_t k = 0; topic__level(pattern, k, &pl); k++) {
		if (!topic__level(path, k, &el))
			return false;
		if (topic__is_capture(pl, &name)) {
			if (el.len == 0)
				return false;
		} else if (pl.len != el.len || memcmp(pl.p, el.p, pl.len) != 0) {
			return false;
		}
	}
	return true;
}

/* Walks the template once; with out == NULL it only measures. A "{name}" the pattern
 * captures becomes the matching path level, anything else is copied as it is (start-up
 * validation already refused such templates; copying keeps this total). */
static size_t topic__expand(const char *tmpl, struct topic__span pattern,
		struct topic__span path, char *out)
{
	size_t n = 0;

	for (const char *t = tmpl; *t;) {
		if (*t == '{') {
			const char *close = strchr(t, '}');
			if (close) {
				struct topic__span name = { t + 1, (size_t)(close - t - 1) };
				struct topic__span value;
				long k = topic__capture_index(pattern, name);
				if (k >= 0 && topic__level(path, (size_t)k, &value)) {
					if (out)
						memcpy(out + n, value.p, value.len);
					n += value.len;
					t = close + 1;
					continue;
				}
			}
		}
		if (out)
			out[n] = *t;
		n++;
		t++;
	}
	return n;
}

/* ---- event to topic ---- */

/* The path of an event: the event itself if it starts with '/', or the path of an
 * http(s) URL. The query string is dropped either way. */
static bool topic__event_path(const char *event, size_t len, struct topic__span *path)
{
	const char *p = event;
	const char *end = event + len;

	if (len > 0 && event[0] != '/') {
		size_t skip;
		if (len >= 7 && strncasecmp(event, "http://", 7) == 0)
			skip = 7;
		else if (len >= 8 && strncasecmp(event, "https://", 8) == 0)
			skip = 8;
		else
			return false;
		p = event + skip;
		const char *q = p;
		while (q < end && *q != '/' && *q != '?')
			q++;
		if (q == p || q == end || *q != '/')
			return false;   /* no host, or no path */
		p = q;
	}
	if (p == end)
		return false;
	const char *query = memchr(p, '?', (size_t)(end - p));
	path->p = p;
	path->len = (size_t)((query ? query : end) - p);
	return true;
}

enum rc_topic_result rc_topic_for_event(const char *event, size_t event_len,
		const char *prefix, const struct rc_topic_rule *rules, size_t n_rules,
		char **topic)
{
	return rc_topic_for_event_rule(event, event_len, prefix, rules, n_rules, topic, NULL);
}

enum rc_topic_result rc_topic_for_event_rule(const char *event, size_t event_len,
		const char *prefix, const struct rc_topic_rule *rules, size_t n_rules,
		char **topic, const struct rc_topic_rule **rule)
{
	struct topic__span path;
	char *out;
	size_t n;

	*topic = NULL;
	if (rule != NULL)
		*rule = NULL;
	if (!event || event_len == 0)
		return RC_TOPIC_NOT_PATH;
	/* A NUL anywhere (even in the dropped query) means the sender tried to make the
	 * event read differently to different parsers: refuse the whole notification. */
	if (memchr(event, '\0', event_len))
		return RC_TOPIC_NUL;
	if (!topic__event_path(event, event_len, &path))
		return RC_TOPIC_NOT_PATH;

	for (size_t i = 0; i < n_rules; i++) {
		if (!rules[i].pattern)
			continue;
		struct topic__span pattern = { rules[i].pattern, strlen(rules[i].pattern) };
		if (!topic__rule_matches(pattern, path))
			continue;
		if (rule != NULL)
			*rule = &rules[i];
		if (!rules[i].tmpl)
			break;   /* publish options only: the default mapping below */
		n = topic__expand(rules[i].tmpl, pattern, path, NULL);
		if (n > RC_TOPIC_MAX_LEN)
			return RC_TOPIC_TOO_LONG;
		out = malloc(n + 1);
		if (!out)
			return RC_TOPIC_NOMEM;
		topic__expand(rules[i].tmpl, pattern, path, out);
		out[n] = '\0';
		goto check;
	}

	size_t api_len = strlen(RC_TOPIC_API_PREFIX);
	if (path.len >= api_len && memcmp(path.p, RC_TOPIC_API_PREFIX, api_len) == 0 &&
	    (path.len == api_len || path.p[api_len] == '/')) {
		path.p += api_len;
		path.len -= api_len;
	}
	if (path.len > 0) {   /* drop the one leading '/'; a second one stays an empty level */
		path.p++;
		path.len--;
	}
	/* No prefix configured: the path alone, without a leading '/'. */
	size_t plen = prefix && *prefix ? strlen(prefix) + 1 : 0;
	n = plen + path.len;
	if (n > RC_TOPIC_MAX_LEN)
		return RC_TOPIC_TOO_LONG;
	out = malloc(n + 1);
	if (!out)
		return RC_TOPIC_NOMEM;
	if (plen) {
		memcpy(out, prefix, plen - 1);
		out[plen - 1] = '/';
	}
	memcpy(out + plen, path.p, path.len);
	out[n] = '\0';

check:;
	enum rc_topic_result r = rc_topic_check(out, n);
	/* Last, on the finished topic: whatever produced it (an event naming /bridge/..., a
	 * capture that reads "bridge" or "$SYS"), the plugin's and the broker's topics stay
	 * theirs. */
	if (r == RC_TOPIC_OK && rc_topic_is_reserved(out, n, prefix))
		r = RC_TOPIC_RESERVED;
	if (r != RC_TOPIC_OK) {
		free(out);
		return r;
	}
	*topic = out;
	return RC_TOPIC_OK;
}

/* ---- reserved topics ---- */

#define RC_TOPIC_BRIDGE "bridge"

bool rc_topic_is_reserved(const char *topic, size_t len, const char *prefix)
{
	size_t plen = prefix != NULL ? strlen(prefix) : 0;
	size_t blen = strlen(RC_TOPIC_BRIDGE);

	if (topic == NULL)
		return false;
	if (len > 0 && topic[0] == '$')
		return true;
	if (plen > 0) {
		if (len <= plen || memcmp(topic, prefix, plen) != 0 || topic[plen] != '/')
			return false;
		topic += plen + 1;
		len -= plen + 1;
	}
	return len >= blen && memcmp(topic, RC_TOPIC_BRIDGE, blen) == 0 &&
		(len == blen || topic[blen] == '/');
}

/* True if the template level tl can read exactly s: its literal bytes must match and each
 * {name} stands for one or more bytes of anything (a capture is one event path level, so
 * never a '/'; s holds none either). Small dynamic programme over (template, s) offsets:
 * both are configuration, so short, but backtracking could still go exponential. */
static bool topic__level_can_be(struct topic__span tl, struct topic__span s)
{
	bool *can = calloc(s.len + 1, sizeof(*can));   /* can[j]: the template so far reads s[0..j) */
	bool result;

	if (can == NULL)
		return true;   /* cannot tell: assume the worst, the caller refuses */
	can[0] = true;
	for (size_t i = 0; i < tl.len;) {
		if (tl.p[i] == '{') {
			const char *close = memchr(tl.p + i, '}', tl.len - i);
			size_t end = close != NULL ? (size_t)(close - tl.p) + 1 : tl.len;
			/* One or more bytes: reachable at j if reachable at some k < j. */
			bool any = false;
			for (size_t j = 0; j <= s.len; j++) {
				bool was = can[j];
				can[j] = any;
				any = any || was;
			}
			i = end;
		} else {
			for (size_t j = s.len + 1; j-- > 0;)
				can[j] = j > 0 && can[j - 1] && s.p[j - 1] == tl.p[i];
			i++;
		}
	}
	result = can[s.len];
	free(can);
	return result;
}

int rc_topic_template_reserved_check(const char *tmpl, const char *prefix, char *err,
		size_t errlen)
{
	char buf[1];

	if (!err || errlen == 0) {
		err = buf;
		errlen = sizeof(buf);
	}
	err[0] = '\0';
	if (!tmpl)
		return 0;
	if (tmpl[0] == '$') {
		snprintf(err, errlen, "template '%s' starts with '$': such topics are the broker's", tmpl);
		return -1;
	}
	struct topic__span t = { tmpl, strlen(tmpl) };
	struct topic__span p = { prefix ? prefix : "", prefix ? strlen(prefix) : 0 };
	size_t k = p.len > 0 ? topic__level_count(p) : 0;
	struct topic__span level, want = { NULL, 0 };

	if (!topic__level(t, k, &level) || level.len != strlen(RC_TOPIC_BRIDGE) ||
	    memcmp(level.p, RC_TOPIC_BRIDGE, level.len) != 0)
		return 0;   /* no literal "bridge" right after the prefix levels */
	for (size_t i = 0; i < k; i++) {
		topic__level(t, i, &level);
		topic__level(p, i, &want);
		if (!topic__level_can_be(level, want))
			return 0;
	}
	snprintf(err, errlen, "template '%s' can publish under '%s%s" RC_TOPIC_BRIDGE "', which is "
		"reserved for the plugin's own topics", tmpl, p.len ? prefix : "", p.len ? "/" : "");
	return -1;
}

/* ---- start-up validation of topic_map rules ---- */

static int topic__pattern_check(const char *pattern, char *err, size_t errlen)
{
	struct topic__span pat = { pattern, strlen(pattern) };
	struct topic__span level, name, other = { NULL, 0 };

	if (pattern[0] != '/') {
		snprintf(err, errlen, "pattern '%s' must start with '/'", pattern);
		return -1;
	}
	if (strchr(pattern, '?')) {
		snprintf(err, errlen, "pattern '%s' must not contain a query string "
			"(events are matched with the query dropped)", pattern);
		return -1;
	}
	for (size_t k = 1; topic__level(pat, k, &level); k++) {
		if (level.len == 0) {
			snprintf(err, errlen, "pattern '%s' has an empty level", pattern);
			return -1;
		}
		if (topic__is_capture(level, &name)) {
			for (size_t j = 1; j < k; j++) {
				struct topic__span oname;
				/* Levels before k exist: the loop above already walked them. */
				if (topic__level(pat, j, &other) && topic__is_capture(other, &oname) && oname.len == name.len &&
				    memcmp(oname.p, name.p, name.len) == 0) {
					snprintf(err, errlen, "pattern '%s' captures {%.*s} twice",
						pattern, (int)name.len, name.p);
					return -1;
				}
			}
			continue;
		}
		for (size_t j = 0; j < level.len; j++) {
			if (strchr("{}+#", level.p[j])) {
				snprintf(err, errlen, "pattern '%s': level '%.*s' must be a literal "
					"without { } + # or exactly {name} with name of [A-Za-z0-9_]",
					pattern, (int)level.len, level.p);
				return -1;
			}
		}
	}
	return 0;
}

static int topic__template_check(const char *pattern, const char *tmpl, char *err,
		size_t errlen)
{
	struct topic__span pat = { pattern, strlen(pattern) };

	if (!*tmpl) {
		snprintf(err, errlen, "empty topic template");
		return -1;
	}
	for (const char *t = tmpl; *t; t++) {
		if (*t == '}') {
			snprintf(err, errlen, "template '%s' has an unbalanced '}'", tmpl);
			return -1;
		}
		if (*t == '+' || *t == '#') {
			snprintf(err, errlen, "template '%s' contains the wildcard '%c'", tmpl, *t);
			return -1;
		}
		if (*t != '{')
			continue;
		const char *s = t + 1;
		while (topic__is_name_char(*s))
			s++;
		if (*s != '}' || s == t + 1) {
			snprintf(err, errlen, "template '%s': '{' must be followed by a name of "
				"[A-Za-z0-9_] and '}'", tmpl);
			return -1;
		}
		struct topic__span name = { t + 1, (size_t)(s - t - 1) };
		if (topic__capture_index(pat, name) < 0) {
			snprintf(err, errlen, "template '%s' uses {%.*s}, which the pattern does "
				"not capture", tmpl, (int)name.len, name.p);
			return -1;
		}
		t = s;
	}
	return 0;
}

int rc_topic_rule_check(const char *pattern, const char *tmpl, char *err, size_t errlen)
{
	char buf[1];

	if (!err || errlen == 0) {
		err = buf;
		errlen = sizeof(buf);
	}
	err[0] = '\0';
	if (!pattern) {
		snprintf(err, errlen, "a rule needs a pattern");
		return -1;
	}
	if (!tmpl)
		return topic__pattern_check(pattern, err, errlen);
	if (topic__pattern_check(pattern, err, errlen) != 0 ||
	    topic__template_check(pattern, tmpl, err, errlen) != 0)
		return -1;

	/* Dry run with a harmless capture value: catches templates that can never give a
	 * valid topic (leading or doubled '/', dot levels, control characters, ...). The
	 * pattern levels are rewritten so that every capture reads "x". */
	struct topic__span pat = { pattern, strlen(pattern) };
	size_t levels = topic__level_count(pat);
	char *sample = malloc(pat.len + 1);
	if (!sample) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t n = 0;
	struct topic__span level, name;
	for (size_t k = 0; k < levels && topic__level(pat, k, &level); k++) {
		if (k > 0)
			sample[n++] = '/';
		if (topic__is_capture(level, &name)) {
			sample[n++] = 'x';
		} else {
			memcpy(sample + n, level.p, level.len);
			n += level.len;
		}
	}
	struct topic__span sample_path = { sample, n };
	size_t tlen = topic__expand(tmpl, pat, sample_path, NULL);
	char *topic = malloc(tlen + 1);
	if (!topic) {
		free(sample);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	topic__expand(tmpl, pat, sample_path, topic);
	topic[tlen] = '\0';
	enum rc_topic_result r = rc_topic_check(topic, tlen);
	free(topic);
	free(sample);
	if (r != RC_TOPIC_OK) {
		snprintf(err, errlen, "template '%s' cannot give a valid topic: %s", tmpl,
			rc_topic_strerror(r));
		return -1;
	}
	return 0;
}
