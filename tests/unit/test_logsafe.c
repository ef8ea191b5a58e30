/* test_logsafe.c - untrusted text rendered for a log line: escaped, bounded, never cut
 * inside an escape or a UTF-8 character. */
#include <stdio.h>
#include <string.h>
#include "rc_test.h"
#include "rc_logsafe.h"

static void expect(const char *s, size_t len, size_t out_len, const char *want)
{
	char out[512];

	memset(out, 'Z', sizeof(out));
	CU_ASSERT_PTR_EQUAL(rc_logsafe(out, out_len, s, len), out);
	CU_ASSERT_STRING_EQUAL(out, want);
	if (strcmp(out, want) != 0)
		fprintf(stderr, "\n  got '%s', want '%s'\n", out, want);
	CU_ASSERT(strlen(out) < out_len);
}

static void expect_str(const char *s, const char *want)
{
	expect(s, strlen(s), 512, want);
}

static void test_plain_text_unchanged(void)
{
	expect_str("", "");
	expect_str("Subscription limit exceeded (SUB-505)", "Subscription limit exceeded (SUB-505)");
	expect_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e");
}

static void test_controls_escaped(void)
{
	expect_str("line1\r\nline2\tx", "line1\\r\\nline2\\tx");
	expect_str("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	expect_str("a\\nb", "a\\\\nb");          /* a literal backslash stays distinguishable */
	expect_str("\x7f\x01", "\\x7f\\x01");
	expect_str("\xc2\x9b" "2J", "\\xc2\\x9b2J");   /* U+009B, the C1 CSI */
	expect_str("a\xe2\x80\xa8" "b", "a\\xe2\\x80\\xa8b");   /* U+2028 line separator */
	expect_str("\xe2\x80\xae" "txt", "\\xe2\\x80\\xaetxt");   /* U+202E right-to-left override */
	expect("a\0b", 3, 512, "a\\x00b");
}

static void test_bad_utf8_escaped(void)
{
	expect_str("\xff\xfe", "\\xff\\xfe");
	expect_str("\xc0\xaf", "\\xc0\\xaf");               /* overlong '/' */
	expect_str("\xed\xa0\x80", "\\xed\\xa0\\x80");      /* surrogate */
	expect_str("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");   /* above U+10FFFF */
	expect_str("ok\xe2\x82", "ok\\xe2\\x82");           /* truncated at the end */
	expect_str("\xe2\x28\xa1", "\\xe2(\\xa1");          /* bad continuation: the '(' survives */
	expect_str("\x80x", "\\x80x");
}

static void test_bounded(void)
{
	char big[4096];

	memset(big, 'a', sizeof(big));
	expect(big, sizeof(big), 16, "aaaaaaaaaaaa...");   /* 12 + "..." + NUL */
	expect("abc", 3, 4, "abc");                         /* fits exactly: no "..." */
	expect("abcd", 4, 4, "...");
	expect("abcd", 4, 1, "");
	expect("abcd", 4, 3, "ab");                         /* too small for "...": just cut */
	/* Never half an escape or half a character. */
	expect("\n\n\n\n\n\n", 6, 10, "\\n\\n\\n...");
	expect("\x1b\x1b\x1b", 3, 12, "\\x1b\\x1b...");
	expect("\x1b\x1b\x1b", 3, 11, "\\x1b...");
	expect("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8, 8, "\xc3\xa9\xc3\xa9...");
	/* A hostile 4 KB of escapes stays within the buffer. */
	memset(big, '\x1b', sizeof(big));
	char out[RC_LOGSAFE_BUF];
	rc_logsafe(out, sizeof(out), big, sizeof(big));
	CU_ASSERT(strlen(out) < sizeof(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "..."));
}

static void test_null_and_str(void)
{
	char out[32];

	CU_ASSERT_STRING_EQUAL(rc_logsafe(out, sizeof(out), NULL, 5), "(null)");
	CU_ASSERT_STRING_EQUAL(rc_logsafe_str(out, sizeof(out), NULL), "(null)");
	CU_ASSERT_STRING_EQUAL(rc_logsafe_str(out, sizeof(out), "bye\n"), "bye\\n");
	CU_ASSERT_PTR_NULL(rc_logsafe(NULL, 0, "x", 1));
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "plain text unchanged", test_plain_text_unchanged },
		{ "controls escaped", test_controls_escaped },
		{ "bad utf8 escaped", test_bad_utf8_escaped },
		{ "bounded", test_bounded },
		{ "null and str", test_null_and_str },
		{ NULL, NULL },
	};
	return rc_test_run("logsafe", NULL, NULL, cases);
}
