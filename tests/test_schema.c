/*
 * test_schema.c: `allclear schema` is made from the loader's own tables, so
 * it must accept every scenario the repository ships and every whole
 * example in the README, and refuse what the tables refuse (unknown keys,
 * wrong types, values outside an enumeration, missing required keys), as
 * `allclear lint` does. Validated with python3-jsonschema (Debian).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static char *schema_file(void)
{
	const char *args[] = {"schema", NULL};
	struct tu_proc p;
	tu_run(&p, args, NULL, 30);
	TU_EXPECT(p.exit_code == 0, &p, "allclear schema: exit %d", p.exit_code);
	char *path = tu_write_temp(p.out, ".schema.json");
	tu_proc_release(&p);
	return path;
}

/* Run the checker; its output on failure. */
static int check(const char *schema, const char *mode, const char *files, char **out)
{
	char *cmd = tu_fmt("python3 %s/tests/schema_check.py %s %s %s 2>&1",
			   tu_env("AC_SOURCE_ROOT"), schema, mode, files);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	struct ac_buf b = AC_BUF_INIT;
	char line[512];
	while (fgets(line, sizeof(line), f))
		ac_buf_adds(&b, line);
	int rc = pclose(f);
	free(cmd);
	*out = ac_buf_detach(&b);
	return rc;
}

START_TEST(schema_accepts_every_scenario_in_the_repository)
{
	char *schema = schema_file();
	const char *root = tu_env("AC_SOURCE_ROOT");
	char *files = tu_fmt("%s/scenarios/*.json %s/bench/journey.json", root, root);
	char *out;
	int rc = check(schema, "valid", files, &out);
	ck_assert_msg(rc == 0 && strstr(out, "demo.json: valid"), "%s", out);
	free(out);
	char *readme = tu_fmt("%s/README.md", root);
	rc = check(schema, "readme", readme, &out);
	ck_assert_msg(rc == 0 && strstr(out, "example 1: valid"), "%s", out);
	free(out);
	unlink(schema);
	free(readme);
	free(files);
	free(schema);
}
END_TEST

/* Each of these is refused by the loader (exit 3) and by the schema. */
START_TEST(schema_refuses_what_the_tables_refuse)
{
	static const char *const bad[] = {
	    /* unknown key in a step, with the loader's did-you-mean */
	    "{\"targets\": {\"o\": \"http://127.0.0.1:9\"}, \"journeys\": [{\"name\": \"j\", "
	    "\"area\": \"code\", \"owner\": \"o\", \"steps\": [{\"url\": \"/\", \"asert\": "
	    "{}}]}]}",
	    /* an area outside the enumeration */
	    "{\"targets\": {\"o\": \"http://127.0.0.1:9\"}, \"journeys\": [{\"name\": \"j\", "
	    "\"area\": \"cach\", \"owner\": \"o\", \"steps\": [{\"url\": \"/\"}]}]}",
	    /* a step without its required url */
	    "{\"targets\": {\"o\": \"http://127.0.0.1:9\"}, \"journeys\": [{\"name\": \"j\", "
	    "\"area\": \"code\", \"owner\": \"o\", \"steps\": [{\"name\": \"x\"}]}]}",
	    /* a setting of the wrong type */
	    "{\"settings\": {\"confirm\": \"three\"}, \"targets\": {\"o\": "
	    "\"http://127.0.0.1:9\"}, "
	    "\"journeys\": [{\"name\": \"j\", \"area\": \"code\", \"owner\": \"o\", \"steps\": "
	    "[{\"url\": \"/\"}]}]}",
	    /* an unknown kind */
	    "{\"checks\": [{\"kind\": \"sqll\", \"name\": \"c\", \"area\": \"data\", \"owner\": "
	    "\"o\"}]}",
	    /* an unknown key in a database entry */
	    "{\"databases\": {\"d\": {\"dsn\": \"host=x\", \"max_row\": 5}}, \"checks\": "
	    "[{\"kind\": \"sql\", \"name\": \"c\", \"area\": \"data\", \"owner\": \"o\", "
	    "\"database\": \"d\", \"query\": \"SELECT 1\", \"expect\": {\"==\": 1}}]}",
	    /* a metric selector with an unknown key */
	    "{\"checks\": [{\"kind\": \"metric\", \"name\": \"m\", \"area\": \"code\", \"owner\": "
	    "\"o\", \"scrape\": \"http://127.0.0.1:9/metrics\", \"errors\": {\"metric\": \"e\", "
	    "\"mach\": {}}, \"total\": {\"metric\": \"t\"}, \"expect\": {\"<=\": 0.01}}]}",
	};
	char *schema = schema_file();
	struct ac_buf files = AC_BUF_INIT;
	char *paths[sizeof(bad) / sizeof(bad[0])];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		paths[i] = tu_write_temp(bad[i], ".json");
		const char *args[] = {"lint", paths[i], NULL};
		struct tu_proc p;
		tu_run(&p, args, NULL, 30);
		TU_EXPECT(p.exit_code == 3, &p, "lint accepted bad scenario %zu", i);
		tu_proc_release(&p);
		ac_buf_addf(&files, " %s", paths[i]);
	}
	char *out;
	int rc = check(schema, "invalid", files.buf, &out);
	ck_assert_msg(rc == 0, "%s", out);
	free(out);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
	ac_buf_release(&files);
	unlink(schema);
	free(schema);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("schema");
	TCase *tc = tcase_create("schema");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, schema_accepts_every_scenario_in_the_repository);
	tcase_add_test(tc, schema_refuses_what_the_tables_refuse);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
