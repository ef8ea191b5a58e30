/* fuzz_config.c - libFuzzer target: option parsing and validation.
 *
 * The input is a list of "key value" lines, as the broker would hand them over. File
 * options are skipped so the fuzzer does not touch the file system. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rc_config.h"

#define MAX_OPTS 32

static void ignore_warning(void *userdata, const char *message)
{
	(void)userdata;
	(void)message;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rc_option opts[MAX_OPTS];
	struct rc_config cfg;
	char err[512];
	int n = 0;
	char *text = strndup((const char *)data, size);
	char *save = NULL;

	if (text == NULL)
		return 0;
	for (char *line = strtok_r(text, "\n", &save); line != NULL && n < MAX_OPTS;
			line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		if (sp == NULL)
			continue;
		*sp = '\0';
		if (strstr(line, "file") != NULL || strcmp(line, "cafile") == 0)
			continue;
		opts[n].key = line;
		opts[n].value = sp + 1;
		n++;
	}
	if (rc_config_parse(&cfg, opts, n, ignore_warning, NULL, err, sizeof(err)) == 0)
		rc_config_free(&cfg);
	free(text);
	return 0;
}
