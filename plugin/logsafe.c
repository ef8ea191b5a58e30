/* logsafe.c - escaping untrusted text for log lines (see rc_logsafe.h).
 *
 * One helper for every place that logs what the server sent, so "printable" means the same
 * thing everywhere. The escapes are unambiguous (a backslash is doubled), so the log still
 * says exactly which bytes arrived. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "rc_logsafe.h"
#include "rc_utf8.h"

/* Characters that are valid but would mislead a reader: controls, line separators and the
 * bidirectional overrides that make a line display differently from what it holds. */
static bool logsafe__hidden(unsigned long cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
		(cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

char *rc_logsafe(char *out, size_t out_len, const char *s, size_t len)
{
	static const char ellipsis[] = "...";
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0;
	size_t mark = 0;   /* the last piece boundary with room left for "..." */
	bool mark_ok = out_len >= sizeof(ellipsis);

	if (out == NULL || out_len == 0)
		return out;
	if (s == NULL) {
		snprintf(out, out_len, "(null)");
		return out;
	}
	for (size_t i = 0; i < len;) {
		char piece[16];
		size_t plen;
		unsigned long cp = 0;
		size_t n = rc_utf8_char(u + i, len - i, &cp);

		if (n == 0 || logsafe__hidden(cp)) {
			unsigned char c = u[i];
			if (c == '\n' || c == '\r' || c == '\t') {
				piece[0] = '\\';
				piece[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
				plen = 2;
			} else {
				plen = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", c);
			}
			n = 1;   /* a bad or hidden sequence is escaped byte by byte */
		} else if (cp == '\\') {
			memcpy(piece, "\\\\", 2);
			plen = 2;
		} else {
			memcpy(piece, u + i, n);
			plen = n;
		}
		if (o + plen + 1 > out_len) {
			/* Does not fit: go back to the last piece boundary that leaves room for
			 * "...", which says the text goes on. */
			if (mark_ok) {
				memcpy(out + mark, ellipsis, sizeof(ellipsis) - 1);
				o = mark + sizeof(ellipsis) - 1;
			}
			break;
		}
		memcpy(out + o, piece, plen);
		o += plen;
		i += n;
		if (o + sizeof(ellipsis) <= out_len) {
			mark = o;
			mark_ok = true;
		}
	}
	out[o] = '\0';
	return out;
}

char *rc_logsafe_str(char *out, size_t out_len, const char *s)
{
	return rc_logsafe(out, out_len, s, s != NULL ? strlen(s) : 0);
}
