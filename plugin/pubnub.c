/* pubnub.c - PubNub v2 subscribe long-poll: URLs and parsed answers (see rc_pubnub.h).
 *
 * The answer comes from the network, so it is parsed strictly: exactly one JSON object
 * (trailing whitespace aside), a timetoken that is 1..31 digits (it is echoed into the next
 * URL, so nothing else may get through), and an "m" array. Anything else is BAD_SHAPE and
 * the caller keeps its old cursor, so a bad answer costs a retry, never a gap. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "rc_pubnub.h"
#include "rc_http.h"
#include "rc_json.h"

const char *rc_pubnub_strerror(enum rc_pubnub_result r)
{
	switch (r) {
	case RC_PUBNUB_OK: return "ok";
	case RC_PUBNUB_NOT_JSON: return "subscribe answer is not a JSON document";
	case RC_PUBNUB_BAD_SHAPE: return "subscribe answer lacks a valid timetoken or message array";
	case RC_PUBNUB_NOMEM: return "out of memory";
	}
	return "unknown PubNub error";
}

char *rc_pubnub_subscribe_url(const char *origin, const char *subscribe_key,
		const char *channel, const struct rc_pubnub_cursor *cursor,
		const char *uuid, const char *pnsdk)
{
	if (!origin || !*origin || !subscribe_key || !*subscribe_key || !channel || !*channel)
		return NULL;

	const char *tt = cursor && cursor->tt[0] ? cursor->tt : "0";
	int tr = cursor ? cursor->tr : 0;
	size_t olen = strlen(origin);
	if (origin[olen - 1] == '/')   /* tolerate a trailing slash on the base URL */
		olen--;

	char *key = rc_url_escape(subscribe_key);
	char *chan = rc_url_escape(channel);
	char *ett = rc_url_escape(tt);
	char *euuid = uuid ? rc_url_escape(uuid) : NULL;
	char *esdk = pnsdk ? rc_url_escape(pnsdk) : NULL;
	char *url = NULL;
	char trbuf[32] = "";

	if (!key || !chan || !ett || (uuid && !euuid) || (pnsdk && !esdk))
		goto out;
	if (tr != 0)
		snprintf(trbuf, sizeof(trbuf), "&tr=%d", tr);
	if (asprintf(&url, "%.*s/v2/subscribe/%s/%s/0?tt=%s%s%s%s%s%s", (int)olen, origin,
			key, chan, ett, trbuf,
			euuid ? "&uuid=" : "", euuid ? euuid : "",
			esdk ? "&pnsdk=" : "", esdk ? esdk : "") < 0)
		url = NULL;
out:
	curl_free(key);
	curl_free(chan);
	curl_free(ett);
	curl_free(euuid);
	curl_free(esdk);
	return url;
}

/* Copies a timetoken into the cursor if it is 1..31 ASCII digits. */
static bool pubnub__set_tt(struct rc_pubnub_cursor *c, const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= RC_PUBNUB_TT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	memcpy(c->tt, s, n + 1);
	return true;
}

static enum rc_pubnub_result pubnub__parse_json(const char *buf, size_t len,
		json_object **out)
{
	switch (rc_json_parse(buf, len, out)) {
	case RC_JSON_OK: return RC_PUBNUB_OK;
	case RC_JSON_NOMEM: return RC_PUBNUB_NOMEM;
	case RC_JSON_INVALID: break;
	}
	return RC_PUBNUB_NOT_JSON;
}

enum rc_pubnub_result rc_pubnub_parse(const char *buf, size_t len, struct rc_pubnub_response *r)
{
	json_object *root, *t, *tt, *tr, *m;

	memset(r, 0, sizeof(*r));
	enum rc_pubnub_result res = pubnub__parse_json(buf, len, &root);
	if (res != RC_PUBNUB_OK)
		return res;

	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "t", &t) || !json_object_is_type(t, json_type_object) ||
	    !json_object_object_get_ex(t, "t", &tt))
		goto bad;

	/* Usually a string (it does not fit a double); some PubNub versions send a number.
	 * For a number, json-c's own serialisation gives its exact digits (also above
	 * INT64_MAX) and a negative one fails the digit check. */
	if (json_object_is_type(tt, json_type_string)) {
		if ((size_t)json_object_get_string_len(tt) != strlen(json_object_get_string(tt)) ||
		    !pubnub__set_tt(&r->next, json_object_get_string(tt)))
			goto bad;
	} else if (json_object_is_type(tt, json_type_int)) {
		if (!pubnub__set_tt(&r->next, json_object_to_json_string_ext(tt, JSON_C_TO_STRING_PLAIN)))
			goto bad;
	} else {
		goto bad;
	}

	if (json_object_object_get_ex(t, "r", &tr)) {
		if (!json_object_is_type(tr, json_type_int))
			goto bad;
		int64_t region = json_object_get_int64(tr);
		if (region < 0 || region > INT32_MAX)
			goto bad;
		r->next.tr = (int)region;
	}

	if (!json_object_object_get_ex(root, "m", &m) || !json_object_is_type(m, json_type_array))
		goto bad;
	r->root = root;
	r->messages = m;
	r->n_messages = json_object_array_length(m);
	return RC_PUBNUB_OK;
bad:
	json_object_put(root);
	memset(r, 0, sizeof(*r));
	return RC_PUBNUB_BAD_SHAPE;
}

int rc_pubnub_message_payload(const struct rc_pubnub_response *r, size_t i,
		int *is_string, const char **str, size_t *str_len, json_object **obj)
{
	json_object *msg, *d;

	*is_string = 0;
	*str = NULL;
	*str_len = 0;
	*obj = NULL;
	if (!r->messages || i >= r->n_messages)
		return -1;
	msg = json_object_array_get_idx(r->messages, i);
	if (!json_object_is_type(msg, json_type_object) || !json_object_object_get_ex(msg, "d", &d))
		return -1;
	if (json_object_is_type(d, json_type_string)) {
		*is_string = 1;
		*str = json_object_get_string(d);
		*str_len = (size_t)json_object_get_string_len(d);
		return 0;
	}
	if (json_object_is_type(d, json_type_object)) {
		*obj = d;
		return 0;
	}
	return -1;
}

void rc_pubnub_response_clear(struct rc_pubnub_response *r)
{
	if (!r)
		return;
	json_object_put(r->root);
	memset(r, 0, sizeof(*r));
}
