/*
 * fuzz_json.c: libFuzzer harness for the strict JSON scanner, response
 * body parsing and JSON path evaluation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ac_error err = {0};
	cJSON *a = ac_json_parse_strict((const char *)data, size, "f", AC_JSON_MAX_DEPTH, &err);
	cJSON *b = ac_json_parse_body((const char *)data, size);
	/* The first line doubles as a JSON path. */
	char path[128];
	size_t n = 0;
	while (n < size && n < sizeof(path) - 1 && data[n] != '\n' && data[n] != '\0') {
		path[n] = (char)data[n];
		n++;
	}
	path[n] = '\0';
	const cJSON **m = NULL;
	size_t nm = 0;
	ac_jsonpath_eval(b ? b : a, path, &m, &nm, &err);
	free(m);
	cJSON_Delete(a);
	cJSON_Delete(b);
	return 0;
}
