/* rc_utf8.h - reading UTF-8, one way for the whole bridge.
 *
 * Topics (MQTT requires well-formed UTF-8), log escaping and the control API's strings all
 * decide "is this UTF-8" the same way: overlong forms, surrogates, code points above
 * U+10FFFF and truncated sequences are refused. Pure. */
#ifndef RC_UTF8_H
#define RC_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1..4) of the well-formed UTF-8 character at s (len bytes available, len >= 1),
 * with its code point in *cp; 0 if the bytes there are not one. */
size_t rc_utf8_char(const unsigned char *s, size_t len, unsigned long *cp);

/* True if s (len bytes) is entirely well-formed UTF-8. */
bool rc_utf8_valid(const char *s, size_t len);

#endif
