/* json.c - strict JSON parsing, and string arrays written and read (see rc_json.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rc_json.h"
#include "rc_strlist.h"

enum rc_json_result rc_json_parse(const char *buf, size_t len, json_object **out)
{
	*out = NULL;
	if (buf == NULL || len == 0 || len > (size_t)INT32_MAX || memchr(buf, '\0', len) != NULL)
		return RC_JSON_INVALID;
	json_tokener *tok = json_tokener_new_ex(RC_JSON_MAX_DEPTH);
	if (tok == NULL)
		return RC_JSON_NOMEM;
	json_object *root = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	/* Only whitespace may follow the value. */
	while (used < len && strchr(" \t\r\n", buf[used]) != NULL)
		used++;
	if (root == NULL || jerr != json_tokener_success || used != len) {
		json_object_put(root);
		return RC_JSON_INVALID;
	}
	*out = root;
	return RC_JSON_OK;
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
