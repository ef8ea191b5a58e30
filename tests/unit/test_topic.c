/* test_topic.c - event URL to MQTT topic: the contract examples, topic_map rules, and
 * hostile events that must be refused with the right cause. */
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include "rc_topic.h"

/* Maps a NUL-terminated event with the default prefix and the given rules. */
static enum rc_topic_result map(const char *event, const struct rc_topic_rule *rules,
		size_t n, char **topic)
{
	return rc_topic_for_event(event, strlen(event), "ringcentral", rules, n, topic);
}

static void expect_topic(const char *event, const struct rc_topic_rule *rules, size_t n,
		const char *want)
{
	char *topic = NULL;
	enum rc_topic_result r = map(event, rules, n, &topic);

	CU_ASSERT_EQUAL(r, RC_TOPIC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(topic);
	CU_ASSERT_STRING_EQUAL(topic, want);
	free(topic);
}

static void expect_refused(const char *event, size_t len, const struct rc_topic_rule *rules,
		size_t n, enum rc_topic_result want)
{
	char *topic = (char *)"sentinel";
	enum rc_topic_result r = rc_topic_for_event(event, len, "ringcentral", rules, n, &topic);

	CU_ASSERT_EQUAL(r, want);
	CU_ASSERT_PTR_NULL(topic);
	if (r == RC_TOPIC_OK)
		free(topic);
}

static void refused(const char *event, const struct rc_topic_rule *rules, size_t n,
		enum rc_topic_result want)
{
	expect_refused(event, strlen(event), rules, n, want);
}

static void test_contract_examples(void)
{
	expect_topic("/restapi/v1.0/account/~/extension/823476228762/message-store", NULL, 0,
		"ringcentral/account/~/extension/823476228762/message-store");
	expect_topic("/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true",
		NULL, 0, "ringcentral/account/~/extension/401550809004/presence");
	expect_topic("/team-messaging/v1/posts", NULL, 0, "ringcentral/team-messaging/v1/posts");
}

static void test_default_mapping_details(void)
{
	/* Absolute URLs: scheme and authority go, the path stays. */
	expect_topic("https://platform.ringcentral.com/restapi/v1.0/account/~/extension?x=1",
		NULL, 0, "ringcentral/account/~/extension");
	expect_topic("HTTP://127.0.0.1:8080/restapi/v1.0/subscription/~", NULL, 0,
		"ringcentral/subscription/~");
	/* /restapi/v1.0 only as a whole level. */
	expect_topic("/restapi/v1.0x/a", NULL, 0, "ringcentral/restapi/v1.0x/a");
	expect_topic("/restapi/v1.0/restapi/v1.0/a", NULL, 0, "ringcentral/restapi/v1.0/a");
	/* A multi-level prefix, and no prefix at all. */
	char *topic = NULL;
	CU_ASSERT_EQUAL(rc_topic_for_event("/a/b", 4, "home/rc", NULL, 0, &topic), RC_TOPIC_OK);
	CU_ASSERT_STRING_EQUAL(topic, "home/rc/a/b");
	free(topic);
	topic = NULL;
	CU_ASSERT_EQUAL(rc_topic_for_event("/a/b", 4, NULL, NULL, 0, &topic), RC_TOPIC_OK);
	CU_ASSERT_STRING_EQUAL(topic, "a/b");
	free(topic);
	/* Non-ASCII UTF-8 is fine. */
	expect_topic("/caf\xc3\xa9/\xf0\x9f\x93\x9e", NULL, 0, "ringcentral/caf\xc3\xa9/\xf0\x9f\x93\x9e");
	/* Only the event length counts, not a terminator. */
	topic = NULL;
	CU_ASSERT_EQUAL(rc_topic_for_event("/a/bcdef", 4, "p", NULL, 0, &topic), RC_TOPIC_OK);
	CU_ASSERT_STRING_EQUAL(topic, "p/a/b");
	free(topic);
}

static void test_not_path(void)
{
	refused("", NULL, 0, RC_TOPIC_NOT_PATH);
	refused("?x", NULL, 0, RC_TOPIC_NOT_PATH);
	refused("account/~/presence", NULL, 0, RC_TOPIC_NOT_PATH);
	refused("ftp://host/a", NULL, 0, RC_TOPIC_NOT_PATH);
	refused("https://host", NULL, 0, RC_TOPIC_NOT_PATH);
	refused("https://host?a=/b", NULL, 0, RC_TOPIC_NOT_PATH);
	refused("https:///a", NULL, 0, RC_TOPIC_NOT_PATH);
	char *topic = (char *)"sentinel";
	CU_ASSERT_EQUAL(rc_topic_for_event(NULL, 0, "p", NULL, 0, &topic), RC_TOPIC_NOT_PATH);
	CU_ASSERT_PTR_NULL(topic);
}

static void test_hostile_events(void)
{
	refused("+", NULL, 0, RC_TOPIC_NOT_PATH);
	refused("#", NULL, 0, RC_TOPIC_NOT_PATH);
	refused("/a/+/b", NULL, 0, RC_TOPIC_WILDCARD);
	refused("/a/#", NULL, 0, RC_TOPIC_WILDCARD);
	/* '#' is not a fragment marker: it must not silently vanish. */
	refused("/restapi/v1.0/account/~/presence#frag", NULL, 0, RC_TOPIC_WILDCARD);
	/* NUL inside: the length says there is more than strlen() would see. */
	static const char nul_event[] = "/restapi/v1.0/a\0/b";
	expect_refused(nul_event, sizeof(nul_event) - 1, NULL, 0, RC_TOPIC_NUL);
	static const char nul_query[] = "/a?x\0y";
	expect_refused(nul_query, sizeof(nul_query) - 1, NULL, 0, RC_TOPIC_NUL);
	refused("/..", NULL, 0, RC_TOPIC_DOT_LEVEL);
	refused("..", NULL, 0, RC_TOPIC_NOT_PATH);
	refused("/restapi/v1.0/a/../b", NULL, 0, RC_TOPIC_DOT_LEVEL);
	refused("/a/./b", NULL, 0, RC_TOPIC_DOT_LEVEL);
	refused("/restapi/v1.0/a//b", NULL, 0, RC_TOPIC_EMPTY_LEVEL);
	refused("/restapi/v1.0/a/", NULL, 0, RC_TOPIC_EMPTY_LEVEL);
	refused("//a", NULL, 0, RC_TOPIC_EMPTY_LEVEL);
	refused("/restapi/v1.0", NULL, 0, RC_TOPIC_EMPTY_LEVEL);
	refused("/restapi/v1.0?x=1", NULL, 0, RC_TOPIC_EMPTY_LEVEL);
	refused("/", NULL, 0, RC_TOPIC_EMPTY_LEVEL);
	refused("/a/\xff", NULL, 0, RC_TOPIC_BAD_UTF8);
	refused("/a/\xc3", NULL, 0, RC_TOPIC_BAD_UTF8);
	refused("/a/\x1b[31m", NULL, 0, RC_TOPIC_BAD_UTF8);
	/* Invalid bytes only in the dropped query do not matter. */
	expect_topic("/a?\xff\x01", NULL, 0, "ringcentral/a");

	/* 70 KB event. */
	size_t len = 70 * 1024;
	char *big = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'a', len);
	big[0] = '/';
	expect_refused(big, len, NULL, 0, RC_TOPIC_TOO_LONG);
	free(big);
}

static void test_check_order_and_limits(void)
{
	/* 65535 bytes is allowed, 65536 is not. */
	char *t = malloc(65536);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	memset(t, 'x', 65536);
	CU_ASSERT_EQUAL(rc_topic_check(t, 65535), RC_TOPIC_OK);
	CU_ASSERT_EQUAL(rc_topic_check(t, 65536), RC_TOPIC_TOO_LONG);
	/* NUL ranks above length, length above the byte scans. */
	t[70] = '\0';
	CU_ASSERT_EQUAL(rc_topic_check(t, 65536), RC_TOPIC_NUL);
	t[70] = '+';
	CU_ASSERT_EQUAL(rc_topic_check(t, 65536), RC_TOPIC_TOO_LONG);
	free(t);

	CU_ASSERT_EQUAL(rc_topic_check("a/+/\xff", 5), RC_TOPIC_BAD_UTF8);
	CU_ASSERT_EQUAL(rc_topic_check("a//#", 4), RC_TOPIC_WILDCARD);
	CU_ASSERT_EQUAL(rc_topic_check("../a//b", 7), RC_TOPIC_EMPTY_LEVEL);
	CU_ASSERT_EQUAL(rc_topic_check("", 0), RC_TOPIC_EMPTY_LEVEL);
	CU_ASSERT_EQUAL(rc_topic_check("a/.../b", 7), RC_TOPIC_OK);
	CU_ASSERT_EQUAL(rc_topic_check("a/.b/b.", 7), RC_TOPIC_OK);
	CU_ASSERT_EQUAL(rc_topic_check("a/..", 4), RC_TOPIC_DOT_LEVEL);
	CU_ASSERT_EQUAL(rc_topic_check("./a", 3), RC_TOPIC_DOT_LEVEL);
}

static void test_utf8_rules(void)
{
	static const struct {
		const char *s;
		enum rc_topic_result want;
	} cases[] = {
		{ "\xc2\xa0", RC_TOPIC_OK },               /* U+00A0, first non-control above C1 */
		{ "\xdf\xbf", RC_TOPIC_OK },               /* U+07FF */
		{ "\xe0\xa0\x80", RC_TOPIC_OK },           /* U+0800 */
		{ "\xed\x9f\xbf", RC_TOPIC_OK },           /* U+D7FF */
		{ "\xee\x80\x80", RC_TOPIC_OK },           /* U+E000 */
		{ "\xf0\x90\x80\x80", RC_TOPIC_OK },       /* U+10000 */
		{ "\xf4\x8f\xbf\xbf", RC_TOPIC_OK },       /* U+10FFFF */
		{ "\xc0\xaf", RC_TOPIC_BAD_UTF8 },         /* overlong '/' */
		{ "\xc1\xbf", RC_TOPIC_BAD_UTF8 },         /* overlong */
		{ "\xe0\x80\xaf", RC_TOPIC_BAD_UTF8 },     /* overlong '/' */
		{ "\xe0\x9f\xbf", RC_TOPIC_BAD_UTF8 },     /* overlong U+07FF */
		{ "\xf0\x80\x80\xaf", RC_TOPIC_BAD_UTF8 }, /* overlong '/' */
		{ "\xf0\x8f\xbf\xbf", RC_TOPIC_BAD_UTF8 }, /* overlong U+FFFF */
		{ "\xed\xa0\x80", RC_TOPIC_BAD_UTF8 },     /* U+D800 surrogate */
		{ "\xed\xbf\xbf", RC_TOPIC_BAD_UTF8 },     /* U+DFFF surrogate */
		{ "\xf4\x90\x80\x80", RC_TOPIC_BAD_UTF8 }, /* U+110000 */
		{ "\xf5\x80\x80\x80", RC_TOPIC_BAD_UTF8 },
		{ "\xf8\x88\x80\x80\x80", RC_TOPIC_BAD_UTF8 },
		{ "\x80", RC_TOPIC_BAD_UTF8 },             /* lone continuation */
		{ "a\xe2\x82", RC_TOPIC_BAD_UTF8 },        /* truncated 3-byte */
		{ "a\xf0\x9f\x93", RC_TOPIC_BAD_UTF8 },    /* truncated 4-byte */
		{ "\xe2\x28\xa1", RC_TOPIC_BAD_UTF8 },     /* bad continuation */
		{ "\x01", RC_TOPIC_BAD_UTF8 },
		{ "\x1f", RC_TOPIC_BAD_UTF8 },
		{ "\x7f", RC_TOPIC_BAD_UTF8 },
		{ "\xc2\x80", RC_TOPIC_BAD_UTF8 },         /* U+0080 (C1) */
		{ "\xc2\x9f", RC_TOPIC_BAD_UTF8 },         /* U+009F (C1) */
		{ " ~", RC_TOPIC_OK },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum rc_topic_result r = rc_topic_check(cases[i].s, strlen(cases[i].s));
		if (r != cases[i].want)
			fprintf(stderr, "\ncase %zu: got %s\n", i, rc_topic_result_name(r));
		CU_ASSERT_EQUAL(r, cases[i].want);
	}
	/* A truncated sequence at the very end must not be read past: give a length that
	 * stops in the middle of a valid character. */
	CU_ASSERT_EQUAL(rc_topic_check("a\xe2\x82\xac", 3), RC_TOPIC_BAD_UTF8);
	CU_ASSERT_EQUAL(rc_topic_check("a\xe2\x82\xac", 4), RC_TOPIC_OK);
}

static const struct rc_topic_rule presence_rule[] = {
	{ .pattern = (char *)"/restapi/v1.0/account/{account}/extension/{ext}/presence", .tmpl = (char *)"home/phone/{ext}/presence" },
};

static void test_topic_map_contract(void)
{
	char err[256];

	CU_ASSERT_EQUAL(rc_topic_rule_check(presence_rule[0].pattern, presence_rule[0].tmpl,
		err, sizeof(err)), 0);
	expect_topic("/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true",
		presence_rule, 1, "home/phone/401550809004/presence");
	/* Same rule, an event it does not match: default mapping. */
	expect_topic("/restapi/v1.0/account/~/extension/401550809004/message-store",
		presence_rule, 1, "ringcentral/account/~/extension/401550809004/message-store");
	/* One level more or less than the pattern: default mapping. */
	expect_topic("/restapi/v1.0/account/~/extension/401550809004/presence/line",
		presence_rule, 1, "ringcentral/account/~/extension/401550809004/presence/line");
	expect_topic("/restapi/v1.0/account/~/extension/presence", presence_rule, 1,
		"ringcentral/account/~/extension/presence");
	/* Patterns match full paths: without /restapi/v1.0 it does not match. */
	expect_topic("/account/~/extension/1/presence", presence_rule, 1,
		"ringcentral/account/~/extension/1/presence");
	/* Absolute URLs match on their path. */
	expect_topic("https://platform.ringcentral.com/restapi/v1.0/account/7/extension/8/presence",
		presence_rule, 1, "home/phone/8/presence");
}

static void test_topic_map_first_match_wins(void)
{
	static const struct rc_topic_rule rules[] = {
		{ .pattern = (char *)"/restapi/v1.0/account/~/extension/{ext}/presence", .tmpl = (char *)"first/{ext}" },
		{ .pattern = (char *)"/restapi/v1.0/account/{a}/extension/{ext}/presence", .tmpl = (char *)"second/{a}/{ext}" },
		{ .pattern = (char *)"/restapi/v1.0/account/{a}/extension/{ext}/{what}", .tmpl = (char *)"third/{what}/{ext}/{a}/{ext}" },
	};
	char err[256];

	for (size_t i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(rc_topic_rule_check(rules[i].pattern, rules[i].tmpl, err,
			sizeof(err)), 0);
	expect_topic("/restapi/v1.0/account/~/extension/5/presence", rules, 3, "first/5");
	expect_topic("/restapi/v1.0/account/9/extension/5/presence", rules, 3, "second/9/5");
	expect_topic("/restapi/v1.0/account/9/extension/5/message-store", rules, 3,
		"third/message-store/5/9/5");
	/* Order matters: with the general rule first, it wins. */
	const struct rc_topic_rule reversed[] = { rules[1], rules[0] };
	expect_topic("/restapi/v1.0/account/~/extension/5/presence", reversed, 2, "second/~/5");
}

static void test_topic_map_hostile_captures(void)
{
	/* A capture holding a wildcard or a dot level must not reach the topic. */
	refused("/restapi/v1.0/account/~/extension/+/presence", presence_rule, 1,
		RC_TOPIC_WILDCARD);
	refused("/restapi/v1.0/account/~/extension/a+b/presence", presence_rule, 1,
		RC_TOPIC_WILDCARD);
	refused("/restapi/v1.0/account/~/extension/#/presence", presence_rule, 1,
		RC_TOPIC_WILDCARD);
	refused("/restapi/v1.0/account/~/extension/../presence", presence_rule, 1,
		RC_TOPIC_DOT_LEVEL);
	refused("/restapi/v1.0/account/~/extension/\xc0\xae/presence", presence_rule, 1,
		RC_TOPIC_BAD_UTF8);
	/* An empty capture does not match; the default mapping then refuses the //. */
	refused("/restapi/v1.0/account/~/extension//presence", presence_rule, 1,
		RC_TOPIC_EMPTY_LEVEL);
	/* A template that places the capture first: a huge capture is too long. */
	static const struct rc_topic_rule wide[] = {
		{ .pattern = (char *)"/x/{v}", .tmpl = (char *)"{v}/{v}" },
	};
	size_t len = 40000;
	char *ev = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	memset(ev, 'v', len);
	memcpy(ev, "/x/", 3);
	expect_refused(ev, len, wide, 1, RC_TOPIC_TOO_LONG);
	free(ev);
}

static void rule_ok(const char *pattern, const char *tmpl)
{
	char err[256] = "untouched";

	CU_ASSERT_EQUAL(rc_topic_rule_check(pattern, tmpl, err, sizeof(err)), 0);
}

static void rule_bad(const char *pattern, const char *tmpl, const char *needle)
{
	char err[256] = "";

	CU_ASSERT_EQUAL(rc_topic_rule_check(pattern, tmpl, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fprintf(stderr, "\nerror '%s' lacks '%s'\n", err, needle);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
}

static void test_rule_check(void)
{
	rule_ok("/team-messaging/v1/posts", "chat/posts");
	rule_ok("/restapi/v1.0/account/{a_1}/extension/{B2}/message-store", "m/{B2}/{a_1}");
	rule_ok("/a/{x}", "{x}");
	rule_ok("/a/{x}", "fixed");

	rule_bad("restapi/v1.0/a", "t", "start with '/'");
	rule_bad("", "t", "start with '/'");
	rule_bad("/a//b", "t", "empty level");
	rule_bad("/a/", "t", "empty level");
	rule_bad("/a?x=1", "t", "query");
	rule_bad("/a/+/b", "t", "'+'");
	rule_bad("/a/#", "t", "'#'");
	rule_bad("/a/x{y}", "t", "'x{y}'");
	rule_bad("/a/{}", "t", "'{}'");
	rule_bad("/a/{a b}", "t", "'{a b}'");
	rule_bad("/a/{a}/{a}", "{a}", "twice");
	rule_bad("/a/{x}", "", "empty");
	rule_bad("/a/{x}", "t/{y}", "{y}");
	rule_bad("/a/{x}", "t/{x", "'{'");
	rule_bad("/a/{x}", "t/x}", "unbalanced");
	rule_bad("/a/{x}", "t/{}", "'{'");
	rule_bad("/a/{x}", "t/+/{x}", "wildcard");
	rule_bad("/a/{x}", "t/#", "wildcard");
	rule_bad("/a/{x}", "/t/{x}", "empty level");
	rule_bad("/a/{x}", "t//{x}", "empty level");
	rule_bad("/a/{x}", "t/../{x}", "'.'");
	rule_bad(NULL, "t", "pattern");
	/* A tiny error buffer is still NUL-terminated; NULL is tolerated. */
	char tiny[4];
	CU_ASSERT_EQUAL(rc_topic_rule_check("x", "t", tiny, sizeof(tiny)), -1);
	CU_ASSERT_EQUAL(strlen(tiny), 3);
	CU_ASSERT_EQUAL(rc_topic_rule_check("x", "t", NULL, 0), -1);
}

/* The plugin's own topics (<prefix>/bridge/...) and the broker's ($...) are never the
 * result of an event, whichever way it maps there. */

/* A rule without a template keeps the default mapping but is reported as the match (its
 * publish options apply); the first match wins, so an earlier rule hides a later one. */
static void test_rule_without_template(void)
{
	static const struct rc_topic_rule rules[] = {
		{ .pattern = (char *)"/restapi/v1.0/account/{a}/extension/{e}/presence", .has_retain = true,
		  .retain = true },
		{ .pattern = (char *)"/restapi/v1.0/account/{a}/extension/{e}/{what}", .tmpl = (char *)"x/{what}" },
	};
	const struct rc_topic_rule *rule = (const struct rc_topic_rule *)1;
	char *topic = NULL;
	const char *ev = "/restapi/v1.0/account/~/extension/42/presence?detailedTelephonyState=true";

	CU_ASSERT_EQUAL(rc_topic_for_event_rule(ev, strlen(ev), "ringcentral", rules, 2, &topic,
			&rule), RC_TOPIC_OK);
	CU_ASSERT_STRING_EQUAL(topic, "ringcentral/account/~/extension/42/presence");
	CU_ASSERT_PTR_EQUAL(rule, &rules[0]);
	free(topic);
	ev = "/restapi/v1.0/account/~/extension/42/missed-calls";
	CU_ASSERT_EQUAL(rc_topic_for_event_rule(ev, strlen(ev), "ringcentral", rules, 2, &topic,
			&rule), RC_TOPIC_OK);
	CU_ASSERT_STRING_EQUAL(topic, "x/missed-calls");
	CU_ASSERT_PTR_EQUAL(rule, &rules[1]);
	free(topic);
	ev = "/team-messaging/v1/posts";
	CU_ASSERT_EQUAL(rc_topic_for_event_rule(ev, strlen(ev), "ringcentral", rules, 2, &topic,
			&rule), RC_TOPIC_OK);
	CU_ASSERT_PTR_NULL(rule);
	free(topic);
	/* A reserved default topic stays refused under a template-less rule too. */
	static const struct rc_topic_rule bridge[] = { { .pattern = (char *)"/restapi/v1.0/bridge/{x}" } };
	refused("/restapi/v1.0/bridge/state", bridge, 1, RC_TOPIC_RESERVED);
	char err[128];
	CU_ASSERT_EQUAL(rc_topic_rule_check("/a/{x}", NULL, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rc_topic_rule_check("a/{x}", NULL, err, sizeof(err)), -1);
}

static void test_reserved_at_run_time(void)
{
	struct rc_topic_rule rules[] = {
		{ .pattern = "/restapi/v1.0/account/{a}/extension/{e}/presence", .tmpl = "ringcentral/{e}/state" },
		{ .pattern = "/x/{a}/{b}", .tmpl = "{a}/{b}" },
		{ .pattern = "/y/{a}", .tmpl = "{a}/t" },
	};

	refused("/restapi/v1.0/bridge/state", NULL, 0, RC_TOPIC_RESERVED);
	refused("/restapi/v1.0/bridge/status?x=1", NULL, 0, RC_TOPIC_RESERVED);
	refused("https://host/restapi/v1.0/bridge/status?x=1", NULL, 0, RC_TOPIC_RESERVED);
	refused("/restapi/v1.0/bridge", NULL, 0, RC_TOPIC_RESERVED);
	refused("/restapi/v1.0/bridge?x=1", NULL, 0, RC_TOPIC_RESERVED);
	refused("/bridge/anything/deeper", NULL, 0, RC_TOPIC_RESERVED);
	/* Neighbours are not reserved: only the exact level "bridge" is. */
	expect_topic("/restapi/v1.0/bridges/state", NULL, 0, "ringcentral/bridges/state");
	expect_topic("/restapi/v1.0/Bridge/state", NULL, 0, "ringcentral/Bridge/state");
	expect_topic("/restapi/v1.0/a/bridge/state", NULL, 0, "ringcentral/a/bridge/state");
	/* Captures that put a rule's topic there are refused too. */
	refused("/restapi/v1.0/account/~/extension/bridge/presence", rules, 3, RC_TOPIC_RESERVED);
	expect_topic("/restapi/v1.0/account/~/extension/42/presence", rules, 3, "ringcentral/42/state");
	refused("/x/ringcentral/bridge", rules, 3, RC_TOPIC_RESERVED);
	expect_topic("/x/other/bridge", rules, 3, "other/bridge");
	refused("/y/$SYS", rules, 3, RC_TOPIC_RESERVED);
	refused("/y/$share", rules, 3, RC_TOPIC_RESERVED);
	expect_topic("/y/a$b", rules, 3, "a$b/t");

	CU_ASSERT_TRUE(rc_topic_is_reserved("p/q/bridge", 10, "p/q"));
	CU_ASSERT_FALSE(rc_topic_is_reserved("p/q/bridge", 10, "p"));
	CU_ASSERT_TRUE(rc_topic_is_reserved("bridge/x", 8, NULL));
	CU_ASSERT_TRUE(rc_topic_is_reserved("bridge", 6, ""));
	CU_ASSERT_FALSE(rc_topic_is_reserved("ringcentral", 11, "ringcentral"));
	CU_ASSERT_FALSE(rc_topic_is_reserved("ringcentralx/bridge", 19, "ringcentral"));
	CU_ASSERT_TRUE(rc_topic_is_reserved("$x", 2, "ringcentral"));
}

static void reserved_ok(const char *tmpl, const char *prefix)
{
	char err[256];

	CU_ASSERT_EQUAL(rc_topic_template_reserved_check(tmpl, prefix, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
}

static void reserved_bad(const char *tmpl, const char *prefix, const char *needle)
{
	char err[256];

	CU_ASSERT_EQUAL(rc_topic_template_reserved_check(tmpl, prefix, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, tmpl));
}

/* Start-up: a template whose own literal text lands in the reserved space is refused;
 * one where only a capture could is accepted (the run-time check covers it). */
static void test_reserved_templates(void)
{
	reserved_bad("ringcentral/bridge", "ringcentral", "reserved");
	reserved_bad("ringcentral/bridge/state", "ringcentral", "'ringcentral/bridge'");
	reserved_bad("ringcentral/bridge/{e}", "ringcentral", "reserved");
	reserved_bad("{x}/bridge/state", "ringcentral", "reserved");       /* x may read ringcentral */
	reserved_bad("ring{x}/bridge", "ringcentral", "reserved");         /* x may read central */
	reserved_bad("{x}l/bridge", "ringcentral", "reserved");
	reserved_bad("a/{x}/bridge/s", "a/b", "'a/b/bridge'");
	reserved_bad("bridge/{x}", NULL, "'bridge'");
	reserved_bad("$SYS/{x}", "ringcentral", "'$'");
	reserved_bad("$x", "ringcentral", "'$'");

	reserved_ok("ringcentral/{e}/state", "ringcentral");   /* only e = "bridge": dropped */
	reserved_ok("{a}/{b}", "ringcentral");
	reserved_ok("{x}/state", "ringcentral");
	reserved_ok("home/bridge/x", "ringcentral");
	reserved_ok("ringcentral/bridges", "ringcentral");
	reserved_ok("ringcentral/x/bridge", "ringcentral");
	reserved_ok("ringx{a}/bridge", "ringcentral");          /* literal 'x' never matches */
	reserved_ok("{a}{b}x/bridge", "ringcentral");           /* must end in 'x' */
	reserved_ok("ringcentral", "ringcentral");
	reserved_ok("a/bridge", "a/b");
	reserved_ok("a$/b", "ringcentral");
	/* Many captures against a long prefix stay cheap (no backtracking). */
	reserved_ok("{a}{b}{c}{d}{e}{f}{g}{h}{i}{j}{k}{l}{m}{n}{o}{p}!/bridge",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CU_ASSERT_EQUAL(rc_topic_template_reserved_check("$", "p", NULL, 0), -1);
}

static void test_names(void)
{
	static const char *want[RC_TOPIC_RESULT_COUNT] = {
		"ok", "not_path", "wildcard", "nul", "bad_utf8", "empty_level", "dot_level",
		"too_long", "nomem", "reserved",
	};
	for (int i = 0; i < RC_TOPIC_RESULT_COUNT; i++) {
		CU_ASSERT_STRING_EQUAL(rc_topic_result_name((enum rc_topic_result)i), want[i]);
		CU_ASSERT_PTR_NOT_NULL(rc_topic_strerror((enum rc_topic_result)i));
		CU_ASSERT_STRING_NOT_EQUAL(rc_topic_strerror((enum rc_topic_result)i), "unknown topic error");
	}
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "contract examples", test_contract_examples },
		{ "default mapping details", test_default_mapping_details },
		{ "not a path", test_not_path },
		{ "hostile events", test_hostile_events },
		{ "check order and limits", test_check_order_and_limits },
		{ "utf8 rules", test_utf8_rules },
		{ "topic_map contract example", test_topic_map_contract },
		{ "topic_map first match wins", test_topic_map_first_match_wins },
		{ "topic_map hostile captures", test_topic_map_hostile_captures },
		{ "rule check", test_rule_check },
		{ "result names", test_names },
		{ "reserved topics at run time", test_reserved_at_run_time },
		{ "rule without a template", test_rule_without_template },
		{ "reserved topics in templates", test_reserved_templates },
		{ NULL, NULL },
	};

	return rc_test_run("topic", NULL, NULL, cases);
}
