/* rc_logsafe.h - untrusted text (server answers, notification fields, close reasons) made
 * fit for one log line.
 *
 * Whatever the server sends can reach a log line; raw, a newline would forge a second
 * line, an escape sequence would drive the operator's terminal, and a megabyte would flood
 * the log. rc_logsafe() renders it escaped and bounded. Pure, no allocation. */
#ifndef RC_LOGSAFE_H
#define RC_LOGSAFE_H

#include <stddef.h>

/* A buffer size that suits most log lines: about 120 bytes of text, escapes included. */
#define RC_LOGSAFE_BUF 128

/* Renders s (len bytes; may hold NUL bytes; NULL renders as "(null)") into out, which the
 * caller owns (out_len bytes, >= 1), and returns out, so it can sit in a printf argument
 * list. Printable ASCII and well-formed UTF-8 characters are copied; a backslash becomes
 * \\, newline, carriage return and tab become \n, \r, \t; any other byte (C0/C1 control
 * characters, DEL, bytes that are not well-formed UTF-8, and the line separators and
 * bidirectional overrides U+2028, U+2029, U+202A..U+202E, U+2066..U+2069) becomes \xHH per
 * byte. The result is always NUL-terminated and never cut inside an escape or a UTF-8
 * character; text that does not fit ends in "..." (out_len >= 4 leaves room for it). */
char *rc_logsafe(char *out, size_t out_len, const char *s, size_t len);

/* The same for a NUL-terminated string (NULL renders as "(null)"). */
char *rc_logsafe_str(char *out, size_t out_len, const char *s);

#endif
