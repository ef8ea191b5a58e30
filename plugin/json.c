/* json.c - strict JSON parsing, and string arrays written and read (see rc_json.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rc_json.h"
#include "rc_strlist.h"

void rc_json_reader_init(struct rc_json_reader *r, unsigned nesting)
{
	*r = (struct rc_json_reader){
		.depth = nesting < RC_JSON_MAX_DEPTH ? RC_JSON_MAX_DEPTH - (int)nesting : 1,
	};
}

void rc_json_reader_destroy(struct rc_json_reader *r)
{
	if (r->tok != NULL)
		json_tokener_free(r->tok);
	r->tok = NULL;
}

enum rc_json_result rc_json_read_value(struct rc_json_reader *r, const char *buf, size_t len,
		json_object **out, size_t *used)
{
	*out = NULL;
	*used = 0;
	if (buf == NULL || len == 0 || len > (size_t)INT32_MAX || memchr(buf, '\0', len) != NULL)
		return RC_JSON_INVALID;
	if (r->tok == NULL && (r->tok = json_tokener_new_ex(r->depth)) == NULL)
		return RC_JSON_NOMEM;
	json_tokener_reset(r->tok);
	json_object *v = json_tokener_parse_ex(r->tok, buf, (int)len);
	/* json-c returns NULL for the literal null too, with success. */
	if (json_tokener_get_error(r->tok) != json_tokener_success) {
		json_object_put(v);
		rc_json_reader_destroy(r); /* a fresh tokener next time (rc_json.h) */
		return RC_JSON_INVALID;
	}
	*out = v;
	*used = json_tokener_get_parse_end(r->tok);
	return RC_JSON_OK;
}

enum rc_json_result rc_json_read(struct rc_json_reader *r, const char *buf, size_t len,
		json_object **out)
{
	size_t used;
	enum rc_json_result res = rc_json_read_value(r, buf, len, out, &used);

	if (res != RC_JSON_OK)
		return res;
	/* Only whitespace may follow the value, and a document that is just null is nothing
	 * any caller can use. */
	while (used < len && rc_json_is_space(buf[used]))
		used++;
	if (used != len || *out == NULL) {
		json_object_put(*out);
		*out = NULL;
		return RC_JSON_INVALID;
	}
	return RC_JSON_OK;
}

enum rc_json_result rc_json_parse(const char *buf, size_t len, json_object **out)
{
	struct rc_json_reader r;

	rc_json_reader_init(&r, 0);
	enum rc_json_result res = rc_json_read(&r, buf, len, out);
	rc_json_reader_destroy(&r);
	return res;
}

int rc_json_set(json_object *o, const char *key, json_object *v)
{
	if (o == NULL || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

json_object *rc_json_string_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

json_object *rc_json_strings(char *const *list, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a != NULL && i < n; i++) {
		json_object *v = list[i] != NULL ? json_object_new_string(list[i]) : NULL;
		/* A null in place of a string would be a different list: none rather than that. */
		if (v == NULL || json_object_array_add(a, v) != 0) {
			json_object_put(v);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

int rc_json_read_strings(json_object *arr, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!json_object_is_type(arr, json_type_array))
		return -1;
	size_t len = json_object_array_length(arr);
	char **list = calloc(len + 1, sizeof(*list));
	if (list == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(v, json_type_string) ||
				(list[i] = strdup(json_object_get_string(v))) == NULL) {
			rc_strlist_free(list);
			return -1;
		}
	}
	*out = list;
	*n = len;
	return 0;
}
