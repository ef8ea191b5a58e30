/* utf8.c - reading UTF-8 (see rc_utf8.h). */
#include "rc_utf8.h"

size_t rc_utf8_char(const unsigned char *s, size_t len, unsigned long *cp)
{
	unsigned char c = s[0];
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {          /* C0 and C1 would be overlong */
		n = 2;
		*cp = c & 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3;
		*cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {   /* beyond F4: above U+10FFFF */
		n = 4;
		*cp = c & 0x07;
	} else {
		return 0;                          /* a stray continuation byte, or F8..FF */
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

bool rc_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned long cp;

	for (size_t i = 0, n; i < len; i += n)
		if ((n = rc_utf8_char(u + i, len - i, &cp)) == 0)
			return false;
	return true;
}
