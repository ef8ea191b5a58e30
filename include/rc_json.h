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

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#define RC_JSON_MAX_DEPTH 64

/* JSON's whitespace (strchr(" \t\r\n", c) would also take the terminating NUL). */
static inline bool rc_json_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum rc_json_result {
	RC_JSON_OK = 0,
	RC_JSON_INVALID,   /* empty, too long, a NUL byte, not JSON, or trailing text */
	RC_JSON_NOMEM,
};

/* Parses buf (len bytes, no terminator needed) into *out (the caller puts it). */
enum rc_json_result rc_json_parse(const char *buf, size_t len, json_object **out);

/* A reader parses a stream of texts with one tokener: allocating a tokener per parse was
 * the largest single cost of the WebSocket worker (bench/README.md, "Profile"). After a
 * failed parse the tokener is replaced, not reset: json_tokener_reset leaves a half-read
 * \u escape behind, which would change the strings of the next text. nesting is how many
 * levels inside a document the values it reads sit (0 for whole documents, 1 for the
 * elements of a list read one by one), so that a value is refused for its depth exactly
 * when the whole document would be. */
struct rc_json_reader {
	json_tokener *tok;   /* owned; NULL until needed, or after a replacement failed */
	int depth;
};

void rc_json_reader_init(struct rc_json_reader *r, unsigned nesting);
void rc_json_reader_destroy(struct rc_json_reader *r);

/* rc_json_parse with the reader's tokener. */
enum rc_json_result rc_json_read(struct rc_json_reader *r, const char *buf, size_t len,
		json_object **out);

/* Parses the one JSON value at the start of buf (leading whitespace allowed) and sets
 * *used to where json-c stopped after it: what follows is the caller's to check (json-c's
 * end also takes in whitespace and comments after the value). Same limits as
 * rc_json_parse, at the reader's depth. A number or a literal (true, false, null) needs
 * something after it to end, as in a list. On RC_JSON_OK *out is NULL for the value null
 * (which rc_json_parse refuses as a document); on failure it is NULL. */
enum rc_json_result rc_json_read_value(struct rc_json_reader *r, const char *buf, size_t len,
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
