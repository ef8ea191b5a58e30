/* json.c - strict JSON parsing (see rc_json.h). */
#include <stdint.h>
#include <string.h>
#include "rc_json.h"

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
