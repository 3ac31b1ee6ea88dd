/*
 * test_loader.c: the loader's errors and what it builds: unknown keys with
 * did-you-mean and key paths, every problem at once, secrets from env and
 * files (masked, refused when short or not from a regular file), --var,
 * control characters, journeys per target, sections and personas parsed
 * once, unique names, URLs through libcurl's parser.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "mask.h"
#include "probe.h"
#include "testutil.h"

static const char *const base =
    "{\"targets\": {\"origin\": \"http://127.0.0.1:9\"}, \"journeys\": [%s]}";

START_TEST(loader_unknown_key_did_you_mean_with_path)
{
	char *json = tu_fmt(base, "{\"name\": \"a\", \"area\": \"code\", \"owner\": \"o\", "
				  "\"steps\": [{\"url\": \"/\"}]},"
				  "{\"name\": \"b\", \"area\": \"code\", \"owner\": \"o\", "
				  "\"steps\": [{\"url\": \"/\", \"asert\": {}}]}");
	char *e = tu_load_error(json);
	ck_assert_msg(
	    strstr(e,
		   "test.json: journeys[1].steps[0].asert: unknown key, did you mean \"assert\"?"),
	    "%s", e);
	free(e);
	free(json);
}
END_TEST

START_TEST(loader_reports_every_problem_at_once)
{
	char *json =
	    tu_fmt(base, "{\"name\": \"a\", \"area\": \"cach\", \"owner\": \"o\", \"steps\": "
			 "[{\"url\": \"/${nope}\", \"timeout\": \"5 parsecs\"}]},"
			 "{\"name\": \"b\", \"owner\": \"o\", \"persona\": \"ghost\", \"steps\": "
			 "[{\"url\": \"/\", \"method\": \"POST\"}]}");
	char *e = tu_load_error(json);
	ck_assert_msg(strstr(e, "journeys[0].area: unknown area \"cach\", did you mean \"cache\"?"),
		      "%s", e);
	ck_assert_msg(strstr(e, "journeys[0].steps[0].url: undefined variable \"${nope}\""), "%s",
		      e);
	ck_assert_msg(strstr(e, "journeys[0].steps[0].timeout: expected a duration"), "%s", e);
	ck_assert_msg(strstr(e, "journeys[1]: missing required key \"area\""), "%s", e);
	ck_assert_msg(strstr(e, "journeys[1].persona: unknown persona \"ghost\""), "%s", e);
	ck_assert_msg(strstr(e, "journeys[1].steps[0].method: POST is a write"), "%s", e);
	free(e);
	free(json);
}
END_TEST

START_TEST(loader_refuses_zero_checks_and_bad_targets)
{
	char *e = tu_load_error("{\"targets\": {\"o\": \"http://x\"}}");
	ck_assert_msg(strstr(e, "no checks to run"), "%s", e);
	free(e);
	e = tu_load_error("{\"targets\": {\"o\": \"ftp://x\"}, \"journeys\": [{\"name\": \"a\", "
			  "\"area\": \"code\", \"owner\": \"o\", \"targets\": [\"orgin\"], "
			  "\"steps\": [{\"url\": \"/\"}]}]}");
	ck_assert_msg(strstr(e, "targets.o: URL must start with http:// or https://"), "%s", e);
	ck_assert_msg(strstr(e, "unknown target \"orgin\""), "%s", e);
	free(e);
	e = tu_load_error("{\"checks\": [{\"kind\": \"sqll\", \"name\": \"x\", \"area\": \"data\", "
			  "\"owner\": \"o\"}]}");
	ck_assert_msg(strstr(e, "checks[0].kind: unknown kind \"sqll\""), "%s", e);
	free(e);
}
END_TEST

/* ${file:} names a regular file: a FIFO nobody writes to would hold the
 * run at open(2) forever, a device at read(2). Refused at once, by name. */
START_TEST(loader_file_variable_must_be_a_regular_file)
{
	char *dir = tu_fmt("%s/allclear-fifo-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char *fifo = tu_fmt("%s/secret.fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	const char *paths[] = {fifo, "/dev/zero", dir};
	for (size_t i = 0; i < AC_ARRAY_LEN(paths); i++) {
		char *json = tu_fmt("{\"variables\": {\"b\": \"${file:%s}\"},"
				    " \"targets\": {\"o\": \"http://127.0.0.1:9\"},"
				    " \"journeys\": [{\"name\": \"a\", \"area\": \"code\","
				    "  \"owner\": \"o\", \"steps\": [{\"url\": \"/?b=${b}\"}]}]}",
				    paths[i]);
		char *e = tu_load_error(json);
		ck_assert_msg(strstr(e, "variables.b: cannot read") &&
				  strstr(e, "not a regular file (a pipe or a device could block "
					    "the run)"),
			      "%s: %s", paths[i], e);
		free(e);
		free(json);
	}
	unlink(fifo);
	rmdir(dir);
	free(fifo);
	free(dir);
}
END_TEST

START_TEST(loader_secrets_from_env_and_file_are_masked)
{
	setenv("AC_TEST_CANARY_ENV", "env-canary-91x", 1);
	char *file = tu_write_temp("file-canary-22y\n", ".secret");
	char *json = tu_fmt(
	    "{\"variables\": {\"a\": \"${env:AC_TEST_CANARY_ENV}\", \"b\": \"${file:%s}\","
	    " \"c\": {\"value\": \"plain-canary-33z\", \"secret\": true}},"
	    " \"targets\": {\"o\": \"http://127.0.0.1:9\"},"
	    " \"journeys\": [{\"name\": \"a\", \"area\": \"code\", \"owner\": \"o\","
	    "   \"steps\": [{\"url\": \"/?a=${a}&b=${b}\", \"headers\": {\"X-C\": \"${c}\"}}]}]}",
	    file);
	struct ac_plan *p = tu_load(json);
	char *m = ac_mask_apply(p->mask, "env-canary-91x file-canary-22y plain-canary-33z");
	ck_assert_msg(!strstr(m, "canary"), "%s", m);
	/* The trailing newline of a secret file is not part of the secret. */
	ck_assert_str_eq(ac_plan_var(p, "b")->value, "file-canary-22y");
	free(m);
	ac_plan_destroy(p);
	free(json);
	/* A missing environment variable is an error, never "". */
	char *e = tu_load_error(
	    "{\"variables\": {\"a\": \"${env:AC_TEST_SURELY_UNSET_42}\"},"
	    " \"targets\": {\"o\": \"http://x\"}, \"journeys\": [{\"name\": \"a\","
	    " \"area\": \"code\", \"owner\": \"o\", \"steps\": [{\"url\": \"/\"}]}]}");
	ck_assert_msg(
	    strstr(e, "variables.a: environment variable AC_TEST_SURELY_UNSET_42 is not set"), "%s",
	    e);
	free(e);
	free(file);
}
END_TEST

/* Load path with one --var name=value; NULL and *problems on failure. */
static struct ac_plan *load_with_var(const char *path, const char *name, const char *value,
				     char **problems)
{
	struct ac_var over = {(char *)name, (char *)value, false};
	struct ac_error err = {0};
	*problems = NULL;
	return ac_plan_load_all(path, name ? &over : NULL, name ? 1 : 0, &err, problems);
}

/* A variable made from a secret is a secret, however many variables lie
 * between it and the ${env:} or ${file:} it came from: it is masked, and
 * --var cannot replace it. --var replaces any other variable, and a
 * replaced definition is not looked at (its errors are not reported). */
START_TEST(loader_secrets_through_variables_and_var_overrides)
{
	setenv("AC_TEST_DERIVED_TOK", "derived-canary-71q", 1);
	unsetenv("AC_TEST_DERIVED_UNSET");
	char *file = tu_write_temp("filed-canary-18w\n", ".secret");
	char *json = tu_fmt(
	    "{\"variables\": {\"tok\": \"${env:AC_TEST_DERIVED_TOK}\", \"fsec\": \"${file:%s}\","
	    " \"hdr\": \"Bearer ${tok}\", \"mid\": \"x-${hdr}\", \"rawd\": \"${raw:fsec}\","
	    " \"marked\": {\"value\": \"marked-canary-55e\", \"secret\": true},"
	    " \"viamarked\": \"m=${marked}\","
	    " \"host\": \"127.0.0.1\", \"base\": \"http://${host}:9\", \"lit\": \"$${tok}\","
	    " \"num\": 5},"
	    " \"targets\": {\"o\": \"${base}\"},"
	    " \"journeys\": [{\"name\": \"a\", \"area\": \"code\", \"owner\": \"o\","
	    "   \"steps\": [{\"url\": \"/?m=${mid}&r=${rawd}&v=${viamarked}\"}]}]}",
	    file);
	char *path = tu_write_temp(json, ".json");
	char *problems = NULL;
	struct ac_plan *p = load_with_var(path, NULL, NULL, &problems);
	ck_assert_msg(p != NULL, "%s", problems ? problems : "");
	const char *secret[] = {"tok", "fsec", "hdr", "mid", "rawd", "marked", "viamarked"};
	for (size_t i = 0; i < AC_ARRAY_LEN(secret); i++)
		ck_assert_msg(ac_plan_var(p, secret[i])->secret, "%s is not secret", secret[i]);
	const char *plain[] = {"host", "base", "lit", "num"};
	for (size_t i = 0; i < AC_ARRAY_LEN(plain); i++)
		ck_assert_msg(!ac_plan_var(p, plain[i])->secret, "%s is secret", plain[i]);
	ck_assert_str_eq(ac_plan_var(p, "mid")->value, "x-Bearer derived-canary-71q");
	ck_assert_str_eq(ac_plan_var(p, "lit")->value, "${tok}");
	char *m = ac_mask_apply(p->mask, "mid=x-Bearer derived-canary-71q rawd=filed-canary-18w "
					 "via=m=marked-canary-55e base=http://127.0.0.1:9");
	ck_assert_msg(!strstr(m, "canary") && strstr(m, "base=http://127.0.0.1:9"), "%s", m);
	free(m);
	ac_plan_destroy(p);

	/* Each secret, whatever it is made from: refused, one problem, the
	 * value never echoed. */
	const char *refused[] = {"tok", "fsec", "hdr", "mid", "rawd", "marked", "viamarked"};
	for (size_t i = 0; i < AC_ARRAY_LEN(refused); i++) {
		p = load_with_var(path, refused[i], "argv-canary-90a", &problems);
		ck_assert_msg(p == NULL, "--var %s accepted", refused[i]);
		char *want = tu_fmt("%s: variables.%s: a secret cannot be set with --var (the "
				    "command line is visible to every user and is not masked); "
				    "secrets come from ${env:NAME} and ${file:PATH}",
				    path, refused[i]);
		ck_assert_str_eq(problems, want);
		free(want);
		free(problems);
	}
	/* Plain ones are replaced, and what is made from them follows. */
	p = load_with_var(path, "host", "127.0.0.2", &problems);
	ck_assert_msg(p != NULL, "%s", problems ? problems : "");
	ck_assert_str_eq(ac_plan_var(p, "base")->value, "http://127.0.0.2:9");
	ck_assert(!ac_plan_var(p, "base")->secret && !ac_plan_var(p, "host")->secret);
	ac_plan_destroy(p);
	const char *replaced[] = {"base", "lit", "num"};
	for (size_t i = 0; i < AC_ARRAY_LEN(replaced); i++) {
		p = load_with_var(path, replaced[i], "http://127.0.0.3:9", &problems);
		ck_assert_msg(p != NULL, "--var %s: %s", replaced[i], problems ? problems : "");
		ck_assert_str_eq(ac_plan_var(p, replaced[i])->value, "http://127.0.0.3:9");
		ck_assert(!ac_plan_var(p, replaced[i])->secret);
		ac_plan_destroy(p);
	}
	free(path);
	free(json);

	/* A replaced definition is not expanded: an undefined name in it is
	 * no error, and a secret one is refused alone, with no second problem
	 * about what it would have read. */
	json = tu_fmt("{\"variables\": {\"u\": \"${nope}/x\", \"e\": "
		      "\"${env:AC_TEST_DERIVED_UNSET}\"},"
		      " \"targets\": {\"o\": \"http://127.0.0.1:9\"},"
		      " \"journeys\": [{\"name\": \"a\", \"area\": \"code\", \"owner\": \"o\","
		      "   \"steps\": [{\"url\": \"/\"}]}]}");
	path = tu_write_temp(json, ".json");
	p = load_with_var(path, "u", "http://127.0.0.1:9", &problems);
	ck_assert(p == NULL);
	char *want =
	    tu_fmt("%s: variables.e: environment variable AC_TEST_DERIVED_UNSET is not set", path);
	ck_assert_str_eq(problems, want);
	free(want);
	free(problems);
	p = load_with_var(path, "e", "argv-canary-90a", &problems);
	ck_assert(p == NULL);
	want = tu_fmt("%s: variables.u: undefined variable \"${nope}\" (define it in \"variables\" "
		      "or capture it in an earlier step)\n"
		      "%s: variables.e: a secret cannot be set with --var (the command line is "
		      "visible to every user and is not masked); secrets come from ${env:NAME} "
		      "and ${file:PATH}",
		      path, path);
	ck_assert_str_eq(problems, want);
	free(want);
	free(problems);
	free(path);
	free(json);
	/* ${raw:env:X} is as secret as ${env:X}, set or not. */
	json = tu_fmt("{\"variables\": {\"re\": \"${raw:env:AC_TEST_DERIVED_UNSET}\"},"
		      " \"targets\": {\"o\": \"http://127.0.0.1:9\"},"
		      " \"journeys\": [{\"name\": \"a\", \"area\": \"code\", \"owner\": \"o\","
		      "   \"steps\": [{\"url\": \"/\"}]}]}");
	path = tu_write_temp(json, ".json");
	p = load_with_var(path, "re", "argv-canary-90a", &problems);
	ck_assert_msg(p == NULL, "--var re accepted");
	want = tu_fmt("%s: variables.re: a secret cannot be set with --var (the command line is "
		      "visible to every user and is not masked); secrets come from ${env:NAME} "
		      "and ${file:PATH}",
		      path);
	ck_assert_str_eq(problems, want);
	free(want);
	free(problems);
	free(path);
	free(json);
	free(file);
}
END_TEST

START_TEST(loader_error_text_is_whole_problems_or_a_count)
{
	/* The error channel holds 1 KiB: whole problems, then how many more. */
	struct ac_buf b = AC_BUF_INIT;
	ac_buf_adds(&b, "{\"checks\": [");
	for (int i = 0; i < 30; i++)
		ac_buf_addf(&b,
			    "%s{\"kind\": \"no-such-kind-number-%02d-with-a-long-name\", \"name\": "
			    "\"c%d\", \"area\": \"data\", \"owner\": \"o\"}",
			    i ? ", " : "", i, i);
	ac_buf_adds(&b, "]}");
	char *e = tu_load_error(b.buf);
	ac_buf_release(&b);
	int whole = 0, more = -1;
	char *save = NULL;
	for (char *line = strtok_r(e, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg(more < 0, "text after the count: %s", line);
		if (sscanf(line, "... and %d more problems", &more) == 1)
			continue;
		char *want = tu_fmt("test.json: checks[%d].kind: unknown kind "
				    "\"no-such-kind-number-%02d-with-a-long-name\"",
				    whole, whole);
		ck_assert_msg(strcmp(line, want) == 0, "problem %d cut or wrong: '%s'", whole,
			      line);
		free(want);
		whole++;
	}
	ck_assert_msg(whole >= 5 && more > 0 && whole + more == 30, "%d whole + %d more", whole,
		      more);
	free(e);
}
END_TEST

/* No raw control byte (C0 but newline, DEL, C1 in UTF-8) in text. */
static void assert_no_controls(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		ck_assert_msg((*p >= 0x20 && *p != 0x7f) || *p == '\n', "raw control 0x%02x in: %s",
			      *p, text);
		ck_assert_msg(!(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f),
			      "raw C1 control in: %s", text);
	}
}

START_TEST(loader_refuses_control_characters_in_names)
{
	static const struct {
		const char *journey; /* extra keys of the journey */
		const char *top;     /* extra top-level keys */
		const char *path;    /* expected key path */
	} cases[] = {
	    {"\"name\": \"a\\u001b]0;pwned\\u0007\"", "", "journeys[0].name"},
	    {"\"name\": \"a\", \"owner\": \"team\\nVERDICT: RESTORED\"", "", "journeys[0].owner"},
	    {"\"name\": \"a\\u009b2J\"", "", "journeys[0].name"},
	    {"\"name\": \"a\\u007f\"", "", "journeys[0].name"},
	    {"\"name\": \"a\"", "\"name\": \"scen\\u001b[2J\", ", "name"},
	    {"\"name\": \"a\", \"agree\": \"g\\rX\"", "", "journeys[0].agree"},
	    {"\"name\": \"a\", \"steps\": [{\"url\": \"/\", \"name\": \"s\\u0085\"}]", "",
	     "journeys[0].steps[0].name"},
	    {"\"name\": \"a\", \"cleanup\": [{\"url\": \"/\", \"name\": \"c\\u0007\"}]", "",
	     "journeys[0].cleanup[0].name"},
	    {"\"name\": \"a\", \"persona\": \"p\"",
	     "\"personas\": {\"p\": {\"login\": [{\"url\": \"/\", \"name\": \"l\\u001b\"}]}}, ",
	     "personas.p.login[0].name"},
	    {"\"name\": \"a\", \"persona\": \"p\\u001bq\"", "\"personas\": {\"p\\u001bq\": {}}, ",
	     "personas[\"p\\x1bq\"]"},
	    {"\"name\": \"a\"", "\"targets\": {\"o\\rx\": \"http://127.0.0.1:9\"}, ",
	     "targets[\"o\\x0dx\"]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *json = tu_fmt(
		    "{%s\"targets\": {\"o\": \"http://127.0.0.1:9\"}, \"journeys\": [{\"area\": "
		    "\"code\", \"owner\": \"o\", \"steps\": [{\"url\": \"/\"}], %s}]}",
		    cases[i].top, cases[i].journey);
		/* Duplicate keys are refused: blank the defaults a case replaces. */
		const char *defaults[] = {"\"owner\": \"o\", ", "\"steps\": [{\"url\": \"/\"}], ",
					  "\"targets\": {\"o\": \"http://127.0.0.1:9\"}, "};
		for (size_t d = 0; d < 3; d++) {
			char key[16];
			size_t kl = (size_t)(strchr(defaults[d] + 1, '"') - defaults[d]) + 1;
			memcpy(key, defaults[d], kl);
			key[kl] = '\0';
			if (strstr(cases[i].journey, key) || strstr(cases[i].top, key))
				memset(strstr(json, defaults[d]), ' ', strlen(defaults[d]));
		}
		char *e = tu_load_error(json);
		char *want = tu_fmt("test.json: %s: control character", cases[i].path);
		ck_assert_msg(strstr(e, want), "case %zu: want '%s' in:\n%s", i, want, e);
		assert_no_controls(e);
		free(want);
		free(e);
		free(json);
	}
	/* Quoted values in other messages are escaped too. */
	char *e = tu_load_error(
	    "{\"targets\": {\"o\": \"http://127.0.0.1:9\"}, \"journeys\": [{\"name\": \"a\", "
	    "\"area\": \"co\\u001b[2Jde\", \"owner\": \"o\", \"steps\": [{\"url\": \"/\"}]}]}");
	ck_assert_msg(strstr(e, "unknown area \"co\\x1b[2Jde\""), "%s", e);
	assert_no_controls(e);
	free(e);
	/* Printable UTF-8 is welcome. */
	struct ac_plan *p = tu_load(
	    "{\"name\": \"caf\\u00e9 \\u2603\", \"targets\": {\"o\": \"http://127.0.0.1:9\"}, "
	    "\"journeys\": [{\"name\": \"\\u00e9t\\u00e9\", \"area\": \"code\", \"owner\": "
	    "\"\\u00e9quipe\", \"steps\": [{\"url\": \"/\", \"name\": \"pr\\u00eat\"}]}]}");
	ac_plan_destroy(p);
}
END_TEST

START_TEST(loader_refuses_secrets_under_four_bytes)
{
	/* A one-byte secret would mask every "a" in every output. */
	setenv("AC_TEST_SHORT_SECRET", "a", 1);
	setenv("AC_TEST_SHORT_EMPTY", "", 1);
	char *file = tu_write_temp("xyz\n", ".secret");
	char *json =
	    tu_fmt("{\"variables\": {\"password\": \"${env:AC_TEST_SHORT_SECRET}\","
		   " \"f\": \"${file:%s}\", \"e\": \"${env:AC_TEST_SHORT_EMPTY}\","
		   " \"c\": {\"value\": \"ab\", \"secret\": true}},"
		   " \"targets\": {\"o\": \"http://127.0.0.1:9\"},"
		   " \"journeys\": [{\"name\": \"a\", \"area\": \"code\", \"owner\": \"o\","
		   "   \"steps\": [{\"url\": \"/\", \"headers\": {\"X-T\": "
		   "\"${env:AC_TEST_SHORT_SECRET}\"}}]}]}",
		   file);
	char *e = tu_load_error(json);
	ck_assert_msg(strstr(e, "test.json: variables.password from ${env:AC_TEST_SHORT_SECRET}: "
				"secret is 1 byte, under the 4-byte minimum"),
		      "%s", e);
	char *want = tu_fmt("variables.f from ${file:%s}: secret is 3 bytes, under the 4-byte "
			    "minimum",
			    file);
	ck_assert_msg(strstr(e, want), "%s", e);
	ck_assert_msg(strstr(e, "variables.e from ${env:AC_TEST_SHORT_EMPTY}: secret is 0 bytes, "
				"under the 4-byte minimum"),
		      "%s", e);
	ck_assert_msg(strstr(e, "variables.c: secret is 2 bytes, under the 4-byte minimum"), "%s",
		      e);
	ck_assert_msg(strstr(e,
			     "journeys[0].steps[0].headers.X-T from ${env:AC_TEST_SHORT_SECRET}: "
			     "secret is 1 byte"),
		      "%s", e);
	free(want);
	free(e);
	free(json);
	/* Four bytes is enough. */
	setenv("AC_TEST_SHORT_SECRET", "abcd", 1);
	struct ac_plan *p =
	    tu_load("{\"variables\": {\"password\": \"${env:AC_TEST_SHORT_SECRET}\"},"
		    " \"targets\": {\"o\": \"http://127.0.0.1:9\"},"
		    " \"journeys\": [{\"name\": \"a\", \"area\": \"code\", \"owner\": \"o\","
		    "   \"steps\": [{\"url\": \"/\"}]}]}");
	ac_plan_destroy(p);
	free(file);
}
END_TEST

START_TEST(loader_expands_journeys_per_target_and_captures)
{
	struct ac_plan *p = tu_load(
	    "{\"settings\": {\"allow_writes\": true},"
	    " \"targets\": {\"origin\": {\"url\": \"http://127.0.0.1:9/\", \"role\": \"origin\"},"
	    "   \"edge-eu\": {\"url\": \"http://127.0.0.1:8\", \"role\": \"edge\"}},"
	    " \"personas\": {\"signed_in\": {\"login\": [{\"method\": \"POST\", \"url\": "
	    "\"/login\","
	    "   \"write\": false, \"capture\": {\"sid\": {\"cookie\": \"sid\"}}}]}},"
	    " \"journeys\": [{\"name\": \"order\", \"persona\": \"signed_in\", \"area\": \"jobs\", "
	    "\"owner\": \"p\","
	    "   \"steps\": [{\"method\": \"POST\", \"url\": \"/orders\", \"json\": {\"sid\": "
	    "\"${sid}\"},"
	    "      \"capture\": {\"id\": {\"json\": \"$.id\"}}},"
	    "     {\"url\": \"/orders/${id}\", \"wait\": {\"every\": \"1s\", \"up_to\": \"10s\"}}],"
	    "   \"cleanup\": [{\"method\": \"DELETE\", \"url\": \"/orders/${id}\"}]}]}");
	ck_assert_int_eq(p->nchecks, 2);
	ck_assert_str_eq(p->checks[0].id, "order @ origin");
	ck_assert_str_eq(p->checks[1].id, "order @ edge-eu");
	ck_assert_str_eq(p->checks[0].persona, "signed_in");
	ck_assert_str_eq(p->targets[0].url, "http://127.0.0.1:9");
	ck_assert_int_eq(p->checks[0].area, AC_AREA_JOBS);
	ac_plan_destroy(p);
	/* A capture is only usable after the step that makes it. */
	char *json =
	    tu_fmt(base, "{\"name\": \"a\", \"area\": \"code\", \"owner\": \"o\", \"steps\": ["
			 "{\"url\": \"/${id}\", \"capture\": {\"id\": {\"json\": \"$.id\"}}}]}");
	char *e = tu_load_error(json);
	ck_assert_msg(strstr(e, "journeys[0].steps[0].url: undefined variable \"${id}\""), "%s", e);
	free(e);
	free(json);
}
END_TEST

START_TEST(loader_checks_assertion_shapes)
{
	char *json = tu_fmt(
	    base,
	    "{\"name\": \"a\", \"area\": \"code\", \"owner\": \"o\", \"steps\": [{\"url\": \"/\","
	    " \"assert\": {\"status\": \"6xx\", \"json\": {\"id\": 1, \"$.n\": {\"~=\": 2}},"
	    " \"headers\": {\"X\": {\"contain\": \"a\"}}, \"body\": {\"matches\": \"(\"}}}]}");
	char *e = tu_load_error(json);
	ck_assert_msg(strstr(e, "assert.status: expected a status code"), "%s", e);
	ck_assert_msg(strstr(e, "JSON path \"id\" must start with $"), "%s", e);
	ck_assert_msg(strstr(e, "assert.json[\"$.n\"][\"~=\"]: unknown comparison"), "%s", e);
	ck_assert_msg(
	    strstr(e, "assert.headers.X.contain: unknown key, did you mean \"contains\"?"), "%s",
	    e);
	ck_assert_msg(strstr(e, "assert.body.matches: bad regular expression"), "%s", e);
	free(e);
	free(json);
}
END_TEST

/* Unique names across thousands of checks: the collision is reported at
 * the later definition, naming the earlier one, once. */
START_TEST(loader_unique_names_across_many_checks)
{
	struct ac_buf b = AC_BUF_INIT;
	for (int i = 0; i < 3000; i++)
		ac_buf_addf(&b,
			    "%s{\"name\": \"j%d\", \"area\": \"code\", \"owner\": \"o\", "
			    "\"steps\": [{\"url\": \"/\"}]}",
			    i ? "," : "",
			    i == 2999	? 5
			    : i == 2000 ? 1999
					: i);
	char *json = tu_fmt(base, b.buf);
	char *e = tu_load_error(json);
	ck_assert_msg(strstr(e, "journeys[2000]: name \"j1999\" is already used by journeys[1999]"),
		      "%s", e);
	ck_assert_msg(strstr(e, "journeys[2999]: name \"j5\" is already used by journeys[5]"), "%s",
		      e);
	ck_assert_msg(!strstr(e, "journeys[5]: name"), "%s", e);
	ck_assert_msg(strstr(e, "journeys[2000]") < strstr(e, "journeys[2999]"), "%s", e);
	free(e);
	free(json);
	ac_buf_release(&b);
}
END_TEST

/* Named servers are parsed once: a bad entry used by three checks is
 * reported once, at the entry; an unknown name gets a suggestion. */
START_TEST(loader_sections_parsed_once)
{
	const char *json =
	    "{\"databases\": {\"main\": {\"dsn\": \"host=x\", \"max_rows\": 0},"
	    "  \"replica\": \"host=y\"},"
	    " \"redis\": {\"jobs\": \"redis://127.0.0.1:0/0\"},"
	    " \"checks\": ["
	    "  {\"kind\": \"sql\", \"name\": \"a\", \"area\": \"data\", \"owner\": \"o\","
	    "   \"database\": \"main\", \"query\": \"SELECT 1\", \"expect\": {\"==\": 1}},"
	    "  {\"kind\": \"sql\", \"name\": \"b\", \"area\": \"data\", \"owner\": \"o\","
	    "   \"database\": \"main\", \"query\": \"SELECT 1\", \"expect\": {\"==\": 1}},"
	    "  {\"kind\": \"queue\", \"name\": \"c\", \"area\": \"jobs\", \"owner\": \"o\","
	    "   \"preset\": \"oban\", \"queue\": \"q\", \"database\": \"main\"},"
	    "  {\"kind\": \"sql\", \"name\": \"d\", \"area\": \"data\", \"owner\": \"o\","
	    "   \"database\": \"replca\", \"query\": \"SELECT 1\", \"expect\": {\"==\": 1}},"
	    "  {\"kind\": \"redis\", \"name\": \"e\", \"area\": \"jobs\", \"owner\": \"o\","
	    "   \"redis\": \"jobs\", \"command\": [\"PING\"], \"expect\": {\"==\": 0}}]}";
	char *e = tu_load_error(json);
	const char *once = "databases.main.max_rows: expected a whole number of at least 1";
	const char *at = strstr(e, once);
	ck_assert_msg(at && !strstr(at + 1, once), "%s", e);
	ck_assert_msg(strstr(e, "checks[3].database: unknown database \"replca\", did you mean "
				"\"replica\"?"),
		      "%s", e);
	const char *port = "redis.jobs: bad port in the Redis URL";
	at = strstr(e, port);
	ck_assert_msg(at && !strstr(at + 1, port), "%s", e);
	/* the checks naming a bad entry add nothing of their own */
	ck_assert_msg(!strstr(e, "checks[0]") && !strstr(e, "checks[2]") && !strstr(e, "checks[4]"),
		      "%s", e);
	free(e);
}
END_TEST

/* Personas are a section too: a persona's problems are reported once, at
 * the persona, however many journeys use it; a journey may use what its
 * persona's login captured; an unknown persona gets a suggestion. */
START_TEST(loader_personas_parsed_once)
{
	const char *json =
	    "{\"targets\": {\"t\": \"http://127.0.0.1:1\"},"
	    " \"personas\": {"
	    "  \"shopper\": {\"login\": [{\"url\": \"/login\", \"retries\": -1}]},"
	    "  \"admin\": {\"login\": [{\"url\": \"/login\","
	    "     \"capture\": {\"token\": {\"json\": \"$.token\"}}}]}},"
	    " \"journeys\": ["
	    "  {\"name\": \"a\", \"owner\": \"o\", \"area\": \"code\", \"persona\": \"shopper\","
	    "   \"steps\": [{\"url\": \"/\"}]},"
	    "  {\"name\": \"b\", \"owner\": \"o\", \"area\": \"code\", \"persona\": \"shopper\","
	    "   \"steps\": [{\"url\": \"/\"}]},"
	    "  {\"name\": \"c\", \"owner\": \"o\", \"area\": \"code\", \"persona\": \"admin\","
	    "   \"steps\": [{\"url\": \"/x?t=${token}\"}, {\"url\": \"/${nothing}\"}]},"
	    "  {\"name\": \"d\", \"owner\": \"o\", \"area\": \"code\", \"persona\": \"admn\","
	    "   \"steps\": [{\"url\": \"/\"}]},"
	    "  {\"name\": \"e\", \"owner\": \"o\", \"area\": \"code\", \"persona\": \"searcher\","
	    "   \"steps\": [{\"url\": \"/\"}]}]}";
	char *e = tu_load_error(json);
	const char *once = "personas.shopper.login[0].retries";
	const char *at = strstr(e, once);
	ck_assert_msg(at && !strstr(at + 1, once), "%s", e);
	/* the journeys naming the bad persona add nothing of their own */
	ck_assert_msg(!strstr(e, "journeys[0]") && !strstr(e, "journeys[1]"), "%s", e);
	/* ${token} comes from admin's login; ${nothing} from nowhere */
	ck_assert_msg(!strstr(e, "journeys[2].steps[0]"), "%s", e);
	ck_assert_msg(strstr(e, "journeys[2].steps[1].url"), "%s", e);
	ck_assert_msg(strstr(e, "journeys[3].persona: unknown persona \"admn\", did you mean "
				"\"admin\"?"),
		      "%s", e);
	ck_assert_msg(!strstr(e, "journeys[4]"), "%s", e);
	free(e);
}
END_TEST

/* Every URL the scenario holds is read by libcurl's URL parser at load:
 * http and https only, a host, IPv6 literals in brackets. */
START_TEST(loader_urls_through_curl_url)
{
	const struct {
		const char *url, *want;
	} cases[] = {
	    {"ftp://x/metrics", "checks[0].scrape: URL must start with http:// or https://"},
	    {"http://", "checks[0].scrape: bad URL: "},
	    {"http://a b/metrics", "checks[0].scrape: bad URL: "},
	    {"http://[::1]:9090/metrics", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *json = tu_fmt("{\"checks\": [{\"kind\": \"metric\", \"name\": \"m\", "
				    "\"area\": \"code\", \"owner\": \"o\", \"scrape\": \"%s\", "
				    "\"metric\": \"m\", \"expect\": {\">=\": 0}}]}",
				    cases[i].url);
		if (cases[i].want) {
			char *e = tu_load_error(json);
			ck_assert_msg(strstr(e, cases[i].want), "%s: %s", cases[i].url, e);
			free(e);
		} else {
			struct ac_plan *p = tu_load(json);
			ac_plan_destroy(p);
		}
		free(json);
	}
	char *e =
	    tu_load_error("{\"targets\": {\"o\": \"gopher://x\"}, \"journeys\": [{\"name\": "
			  "\"j\", \"area\": \"code\", \"owner\": \"o\", \"steps\": [{\"url\": "
			  "\"/\"}]}]}");
	ck_assert_msg(strstr(e, "targets.o: URL must start with http:// or https://"), "%s", e);
	free(e);
	e = tu_load_error("{\"checks\": [{\"kind\": \"metric\", \"name\": \"m\", \"area\": "
			  "\"code\", \"owner\": \"o\", \"prometheus\": \"file:///etc\", \"query\": "
			  "\"up\", \"expect\": {\">=\": 0}}]}");
	ck_assert_msg(strstr(e, "checks[0].prometheus: URL must start with http:// or https://"),
		      "%s", e);
	free(e);
}
END_TEST

void core_loader_tests(TCase *tc);
void core_loader_tests(TCase *tc)
{
	tcase_add_test(tc, loader_unknown_key_did_you_mean_with_path);
	tcase_add_test(tc, loader_reports_every_problem_at_once);
	tcase_add_test(tc, loader_refuses_zero_checks_and_bad_targets);
	tcase_add_test(tc, loader_file_variable_must_be_a_regular_file);
	tcase_add_test(tc, loader_secrets_from_env_and_file_are_masked);
	tcase_add_test(tc, loader_secrets_through_variables_and_var_overrides);
	tcase_add_test(tc, loader_error_text_is_whole_problems_or_a_count);
	tcase_add_test(tc, loader_refuses_control_characters_in_names);
	tcase_add_test(tc, loader_refuses_secrets_under_four_bytes);
	tcase_add_test(tc, loader_expands_journeys_per_target_and_captures);
	tcase_add_test(tc, loader_checks_assertion_shapes);
	tcase_add_test(tc, loader_unique_names_across_many_checks);
	tcase_add_test(tc, loader_sections_parsed_once);
	tcase_add_test(tc, loader_personas_parsed_once);
	tcase_add_test(tc, loader_urls_through_curl_url);
}
