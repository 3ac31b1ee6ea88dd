/*
 * fuzz_scenario.c: libFuzzer harness for the scenario loader.
 *
 * Property: any input either loads or fails with a message; no crash, no
 * leak, no undefined behaviour, and no secret from the environment in the
 * error text. The canary starts with letters no escape sequence writes
 * ("\xff" before "uzz..." once read as a leak of "fuzz..."), so finding it
 * in a message means the input held it literally or the loader leaked it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		setenv("AC_FUZZ_SECRET", "QZ-canary-7f3a", 1);
		init = 1;
	}
	struct ac_error err = {0};
	struct ac_plan *plan = ac_plan_load_text((const char *)data, size, "fuzz.json", &err);
	/* The canary may only show up in an error if the file itself holds it. */
	if (!plan && strstr(err.msg, "QZ-canary-7f3a") && !memmem(data, size, "QZ-canary-7f3a", 14))
		abort();
	ac_plan_destroy(plan);
	return 0;
}
