/* rc_json.h - strict JSON parsing, the one way the bridge reads JSON it is sent.
 *
 * json-c's tokener accepts a value followed by anything; every answer and notification
 * the bridge reads must be exactly one JSON value (whitespace around it allowed), with no
 * NUL byte inside and a bounded nesting depth, so that hostile input is refused the same
 * way everywhere. Also the one way answers are built: json-c aborts when a member is
 * added to a NULL object, which is what a failed json_object_new_object() returns.
 * And the one way string arrays are written and read. Pure. */
#ifndef RC_JSON_H
#define RC_JSON_H

#include <stddef.h>
#include <json-c/json.h>

#define RC_JSON_MAX_DEPTH 64

enum rc_json_result {
	RC_JSON_OK = 0,
	RC_JSON_INVALID,   /* empty, too long, a NUL byte, not JSON, or trailing text */
	RC_JSON_NOMEM,
};

/* Parses buf (len bytes, no terminator needed) into *out (the caller puts it). */
enum rc_json_result rc_json_parse(const char *buf, size_t len, json_object **out);

/* A tokener for rc_json_parse_with and rc_json_parse_value, with the bridge's depth
 * limit; NULL on no memory. The caller frees it with json_tokener_free. Whoever parses
 * every frame of a stream keeps one: allocating a tokener per parse was the largest single
 * cost of the WebSocket worker (bench/README.md, "Profile"). */
json_tokener *rc_json_tokener_new(void);

/* rc_json_parse with the caller's tokener (reset here; it stays the caller's). */
enum rc_json_result rc_json_parse_with(json_tokener *tok, const char *buf, size_t len,
		json_object **out);

/* Parses the one JSON value at the start of buf (leading whitespace allowed) with the
 * caller's tokener, and sets *used to where that value ended: what follows is the
 * caller's to check. Same limits as rc_json_parse for the value itself. A number needs
 * something after it to end (as in a list). On RC_JSON_OK *out is NULL for the value
 * null (which rc_json_parse refuses as a document); on failure it is NULL. */
enum rc_json_result rc_json_parse_value(json_tokener *tok, const char *buf, size_t len,
		json_object **out, size_t *used);

/* Adds v (taken; NULL is JSON null, as with json_object_object_add) to the object o as
 * key. When o is NULL (out of memory) v is released instead. Returns 0, or -1 if nothing
 * was added. */
int rc_json_set(json_object *o, const char *key, json_object *v);

/* A new JSON string of s, or NULL (JSON null to rc_json_set) when s is NULL or memory is
 * short. The caller owns the result. */
json_object *rc_json_string_or_null(const char *s);

/* A new JSON array of the n strings of list. All or nothing: NULL if memory is short or an
 * entry is NULL, never a partly filled array. The caller owns the result (rc_json_set takes
 * it). */
json_object *rc_json_strings(char *const *list, size_t n);

/* Reads arr, which must be a JSON array of strings only: on success *out is a new
 * NULL-terminated list of copies (rc_strlist.h; an empty array gives an empty list, not
 * NULL), *n its length, and 0 is returned; the caller frees *out with rc_strlist_free.
 * On -1 (not an array, an entry not a string, no memory) *out is NULL, *n is 0 and nothing
 * is left to free. arr stays the caller's. */
int rc_json_read_strings(json_object *arr, char ***out, size_t *n);

#endif
