/* test_broker_conf.c - unit tests for reading a Mosquitto configuration (broker_conf.c).
 *
 * Each case writes configuration files into a private mkdtemp directory (removed again)
 * and checks that the plugin blocks, their options and the problems come out as
 * Mosquitto 2.0's src/conf.c would have them: which lines count, where a value starts
 * and ends, which files include_dir reads in which order, and what makes the broker
 * refuse to start. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "rc_test.h"
#include "rc_broker_conf.h"

struct tmp {
	char dir[64];
	char path[512];
};

static void tmp_open(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_broker_conf.XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(t->dir));
}

/* Writes dir/name (the directories in name are made as needed); returns the path in
 * t->path, valid until the next call. */
static const char *tmp_file(struct tmp *t, const char *name, const char *content)
{
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
	for (char *slash = t->path + strlen(t->dir) + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
		*slash = '\0';
		mkdir(t->path, 0700);
		*slash = '/';
	}
	FILE *f = fopen(t->path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(content, f);
	fclose(f);
	return t->path;
}

static int tmp_remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void tmp_close(struct tmp *t)
{
	CU_ASSERT_EQUAL(nftw(t->dir, tmp_remove_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

/* Reads t's main file (written last) and expects it to succeed. */
static void read_ok(struct tmp *t, const char *main_path, struct rc_broker_conf *c)
{
	char err[256] = "";
	int rc = rc_broker_conf_read(main_path, c, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "\n  unexpected: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	(void)t;
}

static bool has_problem(const struct rc_broker_conf *c, int line, const char *needle)
{
	for (size_t i = 0; i < c->n_problems; i++)
		if (c->problems[i].line == line && strstr(c->problems[i].message, needle) != NULL)
			return true;
	fprintf(stderr, "\n  no problem at line %d with '%s' among %zu\n", line, needle, c->n_problems);
	for (size_t i = 0; i < c->n_problems; i++)
		fprintf(stderr, "    %d: %s\n", c->problems[i].line, c->problems[i].message);
	return false;
}

/* ---------------------------------------------------------------- values */

static void test_values_as_mosquitto_passes_them(void)
{
	struct tmp t;
	struct rc_broker_conf c;

	tmp_open(&t);
	const char *path = tmp_file(&t, "m.conf",
			"# a comment\n"
			"\n"
			"listener 1883\n"
			"plugin   /usr/lib/x86_64-linux-gnu/mosquitto_ringcentral.so  \n"
			"plugin_opt_client_id    abc\n"          /* leading blanks skipped */
			"plugin_opt_topic_prefix home \n"        /* trailing blank kept */
			"plugin_opt_topic_map /a/{x} b/{x}\n"    /* the rest of the line, spaces and all */
			"plugin_opt_jwt\tsecret\r\n"             /* a tab does not end the key */
			"  plugin_opt_qos 1\n"                   /* leading spaces before the word are fine */
			"plugin_opt_retain true # not a comment\n"
			"#plugin_opt_qos 2\n"
			"plugin_opt_payload body");               /* no final newline */
	read_ok(&t, path, &c);
	CU_ASSERT_EQUAL_FATAL(c.n_plugins, 1);
	const struct rc_conf_plugin *p = &c.plugins[0];
	CU_ASSERT_STRING_EQUAL(p->path, "/usr/lib/x86_64-linux-gnu/mosquitto_ringcentral.so");
	CU_ASSERT_EQUAL(p->line, 4);
	CU_ASSERT_EQUAL_FATAL(p->n_opts, 6);
	CU_ASSERT_STRING_EQUAL(p->opts[0].key, "client_id");
	CU_ASSERT_STRING_EQUAL(p->opts[0].value, "abc");
	CU_ASSERT_EQUAL(p->opts[0].line, 5);
	CU_ASSERT_STRING_EQUAL(p->opts[1].value, "home ");
	CU_ASSERT_STRING_EQUAL(p->opts[2].value, "/a/{x} b/{x}");
	/* "plugin_opt_jwt\tsecret" is one word: a key and no value, which Mosquitto refuses. */
	CU_ASSERT_STRING_EQUAL(p->opts[3].key, "qos");
	CU_ASSERT_STRING_EQUAL(p->opts[3].value, "1");
	CU_ASSERT_STRING_EQUAL(p->opts[4].value, "true # not a comment");
	CU_ASSERT_STRING_EQUAL(p->opts[5].key, "payload");
	CU_ASSERT_STRING_EQUAL(p->opts[5].value, "body");
	CU_ASSERT_EQUAL(c.n_problems, 1);
	CU_ASSERT_TRUE(has_problem(&c, 8, "has no value"));
	/* A problem never quotes the value. */
	CU_ASSERT_PTR_NULL(strstr(c.problems[0].message, "secret"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.problems[0].message, "a tab"));
	CU_ASSERT_PTR_NULL(c.user);
	CU_ASSERT_FALSE(c.per_listener_settings);
	CU_ASSERT_EQUAL(c.n_files, 1);
	rc_broker_conf_free(&c);
	tmp_close(&t);
}

static void test_what_mosquitto_refuses(void)
{
	struct tmp t;
	struct rc_broker_conf c;

	tmp_open(&t);
	const char *path = tmp_file(&t, "m.conf",
			"plugin_opt_qos 1\n"              /* 1: before any plugin line */
			"plugin\n"                        /* 2: no path */
			"plugin /x/mosquitto_ringcentral.so\n"
			"plugin_opt_qos\n"                /* 4: no value */
			"plugin_opt_qos \n"               /* 5: blanks only */
			"plugin_opt_ab 1\n"               /* 6: key too short */
			"auth_opt_retain true\n"          /* the old prefix works the same */
			"per_listener_settings maybe\n"   /* 8 */
			"user\n");                        /* 9 */
	read_ok(&t, path, &c);
	CU_ASSERT_TRUE(has_problem(&c, 1, "before any plugin line"));
	CU_ASSERT_TRUE(has_problem(&c, 2, "has no path"));
	CU_ASSERT_TRUE(has_problem(&c, 4, "plugin_opt_qos has no value"));
	CU_ASSERT_TRUE(has_problem(&c, 5, "plugin_opt_qos has no value"));
	CU_ASSERT_TRUE(has_problem(&c, 6, "shorter than 3"));
	CU_ASSERT_TRUE(has_problem(&c, 8, "per_listener_settings"));
	CU_ASSERT_TRUE(has_problem(&c, 9, "user has no value"));
	CU_ASSERT_EQUAL(c.n_problems, 7);
	/* The line after a path-less plugin line belongs to no block; the next plugin line
	 * starts one again. */
	CU_ASSERT_EQUAL_FATAL(c.n_plugins, 1);
	CU_ASSERT_EQUAL_FATAL(c.plugins[0].n_opts, 1);
	CU_ASSERT_STRING_EQUAL(c.plugins[0].opts[0].key, "retain");
	CU_ASSERT_PTR_EQUAL(c.problems[0].file, c.files[0]);
	rc_broker_conf_free(&c);
	tmp_close(&t);
}

/* ---------------------------------------------------------------- blocks */

static void test_blocks(void)
{
	struct tmp t;
	struct rc_broker_conf c;

	tmp_open(&t);
	const char *path = tmp_file(&t, "m.conf",
			"user nobody\n"
			"per_listener_settings true\n"
			"auth_plugin /usr/lib/mosquitto_dynamic_security.so\n"
			"plugin_opt_config_file /var/lib/dynsec.json\n"
			"plugin /opt/mosquitto_ringcentral.so\n"
			"plugin_opt_qos 0\n"
			"listener 1884\n"                  /* does not end the block (conf.c) */
			"plugin_opt_retain true\n"
			"user  mosquitto \n");             /* the last one wins, trimmed */
	read_ok(&t, path, &c);
	CU_ASSERT_EQUAL(c.n_problems, 0);
	CU_ASSERT_EQUAL_FATAL(c.n_plugins, 2);
	CU_ASSERT_FALSE(rc_broker_conf_is_ours(c.plugins[0].path));
	CU_ASSERT_EQUAL(c.plugins[0].n_opts, 1);
	CU_ASSERT_TRUE(rc_broker_conf_is_ours(c.plugins[1].path));
	CU_ASSERT_EQUAL_FATAL(c.plugins[1].n_opts, 2);
	CU_ASSERT_STRING_EQUAL(c.plugins[1].opts[1].key, "retain");
	CU_ASSERT_STRING_EQUAL(c.user, "mosquitto");
	CU_ASSERT_TRUE(c.per_listener_settings);
	rc_broker_conf_free(&c);
	tmp_close(&t);
}

static void test_is_ours(void)
{
	CU_ASSERT_TRUE(rc_broker_conf_is_ours("/usr/lib/x86_64-linux-gnu/mosquitto_ringcentral.so"));
	CU_ASSERT_TRUE(rc_broker_conf_is_ours("mosquitto_ringcentral.so"));
	CU_ASSERT_TRUE(rc_broker_conf_is_ours("/build/asan/mosquitto_ringcentral-debug.so"));
	CU_ASSERT_FALSE(rc_broker_conf_is_ours("/opt/mosquitto_ringcentral/other.so"));
	CU_ASSERT_FALSE(rc_broker_conf_is_ours("/usr/lib/mosquitto_dynamic_security.so"));
}

/* ---------------------------------------------------------------- include_dir */

static void test_include_dir(void)
{
	struct tmp t;
	struct rc_broker_conf c;
	char main_conf[600], dir[128];

	tmp_open(&t);
	snprintf(dir, sizeof(dir), "%s/conf.d", t.dir);
	tmp_file(&t, "conf.d/b.conf", "plugin /b/mosquitto_ringcentral.so\nplugin_opt_qos 1\n");
	tmp_file(&t, "conf.d/A.conf", "plugin /A.so\n");
	tmp_file(&t, "conf.d/a.conf", "plugin /a.so\n"
			"include_dir /nonexistent\n");          /* ignored outside the main file */
	tmp_file(&t, "conf.d/c.conf.disabled", "plugin /disabled.so\n");
	tmp_file(&t, "conf.d/README", "plugin /readme.so\n");
	tmp_file(&t, "conf.d/.conf", "plugin /dotconf.so\n"); /* not longer than ".conf" */
	tmp_file(&t, "conf.d/d.conf", "plugin_opt_retain true\n"); /* each file starts outside a block */
	snprintf(main_conf, sizeof(main_conf),
			"plugin /main/mosquitto_ringcentral.so\n"
			"include_dir %s\n"
			"plugin_opt_payload body\n",           /* still the main file's block */
			dir);
	const char *path = tmp_file(&t, "m.conf", main_conf);
	read_ok(&t, path, &c);
	CU_ASSERT_EQUAL_FATAL(c.n_files, 5);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.files[1], "conf.d/A.conf"));  /* A before a: case */
	CU_ASSERT_PTR_NOT_NULL(strstr(c.files[2], "conf.d/a.conf"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.files[3], "conf.d/b.conf"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.files[4], "conf.d/d.conf"));
	CU_ASSERT_EQUAL_FATAL(c.n_plugins, 4);
	CU_ASSERT_STRING_EQUAL(c.plugins[0].path, "/main/mosquitto_ringcentral.so");
	CU_ASSERT_STRING_EQUAL(c.plugins[1].path, "/A.so");
	CU_ASSERT_STRING_EQUAL(c.plugins[2].path, "/a.so");
	CU_ASSERT_STRING_EQUAL(c.plugins[3].path, "/b/mosquitto_ringcentral.so");
	CU_ASSERT_EQUAL_FATAL(c.plugins[0].n_opts, 1);
	CU_ASSERT_STRING_EQUAL(c.plugins[0].opts[0].key, "payload");
	CU_ASSERT_EQUAL(c.plugins[3].n_opts, 1);
	CU_ASSERT_PTR_EQUAL(c.plugins[3].file, c.files[3]);
	CU_ASSERT_EQUAL_FATAL(c.n_problems, 1);
	CU_ASSERT_PTR_EQUAL(c.problems[0].file, c.files[4]);
	CU_ASSERT_TRUE(has_problem(&c, 1, "before any plugin line"));
	rc_broker_conf_free(&c);
	tmp_close(&t);
}

static void test_include_dir_problems(void)
{
	struct tmp t;
	struct rc_broker_conf c;
	char main_conf[600];

	tmp_open(&t);
	tmp_file(&t, "conf.d/x.conf/inner", "");      /* a directory named like a file */
	snprintf(main_conf, sizeof(main_conf),
			"include_dir %s/conf.d\n"
			"include_dir  %s/conf.d\n"             /* not trimmed: " /tmp/..." */
			"include_dir\n", t.dir, t.dir);
	const char *path = tmp_file(&t, "m.conf", main_conf);
	read_ok(&t, path, &c);
	CU_ASSERT_TRUE(has_problem(&c, 1, "is a directory"));
	CU_ASSERT_TRUE(has_problem(&c, 2, "cannot be opened"));
	CU_ASSERT_TRUE(has_problem(&c, 3, "no directory"));
	CU_ASSERT_EQUAL(c.n_problems, 3);
	rc_broker_conf_free(&c);
	tmp_close(&t);
}

static void test_main_file_unreadable(void)
{
	struct rc_broker_conf c;
	char err[256] = "";

	CU_ASSERT_EQUAL(rc_broker_conf_read("/nonexistent/mosquitto.conf", &c, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/mosquitto.conf"));
	CU_ASSERT_EQUAL(c.n_files, 0);
	rc_broker_conf_free(&c);
	CU_ASSERT_EQUAL(rc_broker_conf_read("/tmp", &c, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "directory"));
	rc_broker_conf_free(&c);
}

static void test_name_order(void)
{
	CU_ASSERT_TRUE(rc_broker_conf_name_cmp("a.conf", "b.conf") < 0);
	CU_ASSERT_TRUE(rc_broker_conf_name_cmp("B.conf", "a.conf") > 0);   /* not plain strcmp */
	CU_ASSERT_TRUE(rc_broker_conf_name_cmp("A.conf", "a.conf") < 0);   /* ties by case */
	CU_ASSERT_TRUE(rc_broker_conf_name_cmp("a.conf", "a.conf") == 0);
	CU_ASSERT_TRUE(rc_broker_conf_name_cmp("ab.conf", "a.conf") > 0);
	CU_ASSERT_TRUE(rc_broker_conf_name_cmp("10.conf", "9.conf") < 0);  /* not numeric */
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "values as Mosquitto passes them", test_values_as_mosquitto_passes_them },
		{ "what Mosquitto refuses", test_what_mosquitto_refuses },
		{ "plugin blocks, user, per_listener_settings", test_blocks },
		{ "which plugin lines are ours", test_is_ours },
		{ "include_dir", test_include_dir },
		{ "include_dir problems", test_include_dir_problems },
		{ "main file unreadable", test_main_file_unreadable },
		{ "include_dir order", test_name_order },
		{ NULL, NULL },
	};

	return rc_test_run("broker_conf", NULL, NULL, cases);
}
