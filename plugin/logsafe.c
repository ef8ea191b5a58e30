/* logsafe.c - escaping untrusted text for log lines (see rc_logsafe.h).
 *
 * One helper for every place that logs what the server sent, so "printable" means the same
 * thing everywhere. The escapes are unambiguous (a backslash is doubled), so the log still
 * says exactly which bytes arrived. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "rc_logsafe.h"

/* Length of the well-formed UTF-8 character at s (1..4), or 0 if the bytes there are not
 * one: overlong forms, surrogates, code points above U+10FFFF and truncated sequences are
 * all refused. *cp receives the code point. */
static size_t logsafe__utf8(const unsigned char *s, size_t len, unsigned long *cp)
{
	unsigned char c = s[0];
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		*cp = c & 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3;
		*cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		*cp = c & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && *cp < 0x800) || (n == 4 && (*cp < 0x10000 || *cp > 0x10FFFF)) ||
	    (*cp >= 0xD800 && *cp <= 0xDFFF))
		return 0;
	return n;
}

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
		size_t n = logsafe__utf8(u + i, len - i, &cp);

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
