/*
 * fuzz_scenario.c: libFuzzer harness for the scenario loader.
 *
 * Property: any input either loads or fails with a message; no crash, no
 * leak, no undefined behaviour, and no secret from the environment in the
 * error text.
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
		setenv("AC_FUZZ_SECRET", "fuzz-canary-7f3a", 1);
		init = 1;
	}
	struct ac_error err = {0};
	struct ac_plan *plan = ac_plan_load_text((const char *)data, size, "fuzz.json", &err);
	/* The canary may only show up in an error if the file itself holds it. */
	if (!plan && strstr(err.msg, "fuzz-canary-7f3a") &&
	    !memmem(data, size, "fuzz-canary-7f3a", 16))
		abort();
	ac_plan_destroy(plan);
	return 0;
}
