/*
 * test_mask.c: what the allclear binary lets out. Secrets in every
 * encoding against every output, text that could forge the terminal,
 * the loader's error reporting and caps, and no core files.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"
#include "testutil.h"
#include "util.h"

#define NBAD 30

/* A scenario with NBAD checks, each with a distinct unknown kind. */
static char *thirty_bad_checks(void)
{
	struct ac_buf b = AC_BUF_INIT;
	ac_buf_adds(&b, "{\"checks\": [");
	for (int i = 0; i < NBAD; i++)
		ac_buf_addf(&b,
			    "%s{\"kind\": \"no-such-kind-number-%02d-with-a-long-name\", \"name\": "
			    "\"c%d\", \"area\": \"data\", \"owner\": \"o\"}",
			    i ? ", " : "", i, i);
	ac_buf_adds(&b, "]}");
	return ac_buf_detach(&b);
}

START_TEST(loader_reports_thirty_problems_whole)
{
	char *json = thirty_bad_checks();
	char *path = tu_write_temp(json, ".json");
	const char *cmds[][4] = {{"lint", path, NULL}, {"check", path, NULL}};
	for (size_t c = 0; c < 2; c++) {
		struct tu_proc p;
		tu_run(&p, cmds[c], NULL, 20);
		TU_EXPECT(p.exit_code == 3, &p, "%s: exit %d", cmds[c][0], p.exit_code);
		for (int i = 0; i < NBAD; i++) {
			char *want = tu_fmt("%s: checks[%d].kind: unknown kind "
					    "\"no-such-kind-number-%02d-with-a-long-name\"\n",
					    path, i, i);
			TU_EXPECT(strstr(p.err, want), &p, "%s: problem %d missing or cut: %s",
				  cmds[c][0], i, want);
			free(want);
		}
		tu_proc_release(&p);
	}
	free(path);
	free(json);
}
END_TEST

/* A valid scenario of exactly size bytes (padded in its description). */
static char *scenario_of_size(size_t size)
{
	const char *head =
	    "{\"targets\": {\"o\": \"http://127.0.0.1:9\"}, \"journeys\": [{\"name\": "
	    "\"a\", \"area\": \"code\", \"owner\": \"o\", \"steps\": [{\"url\": "
	    "\"/\"}]}], \"description\": \"";
	const char *tail = "\"}";
	size_t hl = strlen(head), tl = strlen(tail);
	ck_assert_uint_gt(size, hl + tl);
	char *s = malloc(size + 1);
	memcpy(s, head, hl);
	memset(s + hl, 'x', size - hl - tl);
	memcpy(s + size - tl, tail, tl + 1);
	return s;
}

START_TEST(scenario_over_four_mib_is_refused)
{
	const size_t cap = 4 * 1024 * 1024;
	/* At the cap: loads. One byte over: refused, naming the cap. */
	for (int over = 0; over <= 1; over++) {
		char *text = scenario_of_size(cap + (size_t)over);
		char *path = tu_write_temp(text, ".json");
		free(text);
		const char *args[] = {"lint", path, NULL};
		struct tu_proc p;
		tu_run(&p, args, NULL, 60);
		if (!over) {
			TU_EXPECT(p.exit_code == 0, &p, "a scenario of exactly 4 MiB: exit %d",
				  p.exit_code);
		} else {
			TU_EXPECT(p.exit_code == 3, &p, "4 MiB + 1: exit %d", p.exit_code);
			char *want = tu_fmt("%s: larger than the 4 MiB (4194304-byte) limit for a "
					    "scenario file",
					    path);
			TU_EXPECT(strstr(p.err, want), &p, "no message naming the cap: %s", want);
			free(want);
		}
		tu_proc_release(&p);
		unlink(path);
		free(path);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mask");
	TCase *tc = tcase_create("mask");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, loader_reports_thirty_problems_whole);
	tcase_add_test(tc, scenario_over_four_mib_is_refused);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
