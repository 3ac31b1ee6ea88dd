/*
 * test_core.c: the strict JSON scanner, JSON paths, masking, variables and
 * the loader's errors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "loop.h"
#include "mask.h"
#include "probe.h"
#include "testutil.h"

static char *parse_err(const char *text)
{
	struct ac_error err = {0};
	cJSON *j = ac_json_parse_strict(text, strlen(text), "f.json", 64, &err);
	ck_assert_msg(j == NULL, "parsed but should not have: %s", text);
	return ac_strdup(err.msg);
}

START_TEST(json_syntax_error_has_line_column_and_line)
{
	char *e = parse_err("{\n  \"a\": 1,\n  \"b\": tru\n}");
	ck_assert_msg(strstr(e, "f.json:3:8: unexpected character"), "%s", e);
	ck_assert_ptr_nonnull(strstr(e, "\"b\": tru"));
	ck_assert_ptr_nonnull(strstr(e, "^"));
	free(e);
}
END_TEST

START_TEST(json_rejects_what_cjson_accepts)
{
	const char *bad[] = {
	    "{\"a\": 1} trailing",
	    "{\"a\": 1, \"a\": 2}",
	    "{\"a\": 1e999}",
	    "{\"a\": \"x\\u0000y\"}",
	    "{\"a\": [1, 2,]}",
	    "{\"a\": 1,}",
	    "{'a': 1}",
	    "// c\n{}",
	    "{\"a\": 01}",
	    "{\"a\": \"tab\there\"}",
	    "",
	    "{\"a\": -}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ac_error err = {0};
		cJSON *j = ac_json_parse_strict(bad[i], strlen(bad[i]), "f", 64, &err);
		ck_assert_msg(j == NULL, "accepted: %s", bad[i]);
		ck_assert_msg(strstr(err.msg, "f:"), "no position for %s: %s", bad[i], err.msg);
	}
	/* Keys that differ only in case are distinct and both kept. */
	struct ac_error err = {0};
	cJSON *j = ac_json_parse_strict("{\"Name\": 1, \"name\": 2}", 22, "f", 64, &err);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(ac_json_get(j, "name")->valueint, 2);
	ck_assert_int_eq(ac_json_get(j, "Name")->valueint, 1);
	ck_assert_ptr_null(ac_json_get(j, "NAME"));
	cJSON_Delete(j);
}
END_TEST

START_TEST(json_depth_is_bounded)
{
	size_t n = 10000;
	char *deep = malloc(2 * n + 1);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	char *e = parse_err(deep);
	ck_assert_ptr_nonnull(strstr(e, "nesting too deep"));
	free(e);
	free(deep);
}
END_TEST

START_TEST(jsonpath_selects)
{
	const char *doc =
	    "{\"results\":[{\"id\":10},{\"id\":20},{\"id\":30}],\"a b\":{\"c\":true}}";
	cJSON *j = ac_json_parse_body(doc, strlen(doc));
	ck_assert_ptr_nonnull(j);
	const cJSON **m;
	size_t n;
	ck_assert_int_eq(ac_jsonpath_eval(j, "$.results[0].id", &m, &n, NULL), 1);
	ck_assert_int_eq(m[0]->valueint, 10);
	free(m);
	ck_assert_int_eq(ac_jsonpath_eval(j, "$.results[-1].id", &m, &n, NULL), 1);
	ck_assert_int_eq(m[0]->valueint, 30);
	free(m);
	ck_assert_int_eq(ac_jsonpath_eval(j, "$.results[*].id", &m, &n, NULL), 3);
	free(m);
	ck_assert_int_eq(ac_jsonpath_eval(j, "$[\"a b\"].c", &m, &n, NULL), 1);
	ck_assert(cJSON_IsTrue(m[0]));
	free(m);
	ck_assert_int_eq(ac_jsonpath_eval(j, "$.results[7]", &m, &n, NULL), 0);
	free(m);
	struct ac_error err = {0};
	ck_assert_int_eq(ac_jsonpath_check("results.id", &err), -1);
	ck_assert_int_eq(ac_jsonpath_check("$.a..b", &err), -1);
	cJSON_Delete(j);
	/* Response bodies: trailing garbage is not JSON. */
	ck_assert_ptr_null(ac_json_parse_body("{} x", 4));
}
END_TEST

START_TEST(mask_raw_urlencoded_base64_and_pairs)
{
	struct ac_mask *m = ac_mask_create();
	ac_mask_add(m, "p@ss w0rd/canary");
	ac_mask_add_pair(m, "alice", "hunter2-canary");
	char *a =
	    ac_mask_apply(m, "raw p@ss w0rd/canary, url p%40ss%20w0rd%2Fcanary, "
			     "b64 cEBzcyB3MHJkL2NhbmFyeQ, basic YWxpY2U6aHVudGVyMi1jYW5hcnk=");
	ck_assert_msg(!strstr(a, "canary") && !strstr(a, "%40ss") && !strstr(a, "cEBzcyB3") &&
			  !strstr(a, "YWxpY2U6aHVudGVy"),
		      "leaked: %s", a);
	free(a);
	/* A secret inside a longer base64 text. */
	char *b = ac_mask_apply(m, "Authorization-ish: eHhwQHNzIHcwcmQvY2FuYXJ5eHg=");
	ck_assert_msg(!strstr(b, "QHNzIHcwcmQvY2FuYXJ5"), "leaked: %s", b);
	free(b);
	ac_mask_destroy(m);
}
END_TEST

/* Every encoding of a secret an output can carry, each replaced whole. */
START_TEST(mask_every_encoding_any_case)
{
	struct ac_mask *m = ac_mask_create();
	ac_mask_add(m, "p/ss+w rd");
	ac_mask_add(m, "caf\xc3\xa9\"pw1");
	ac_mask_add(m, ">>>?pw~~");
	ac_mask_add(m, "pw\xf0\x9f\x94\x91key"); /* U+1F511, a surrogate pair in JSON */
	ac_mask_add_pair(m, "alice", "p/ss+w rd");
	const char *forms[] = {
	    "p/ss+w rd",
	    "p%2fss%2bw%20rd",	   /* lowercase hex */
	    "p%2Fss%2Bw%20rd",	   /* uppercase hex */
	    "p%2fss%2bw+rd",	   /* form encoding: + for space */
	    "p%2Fss%2bw%20rd",	   /* mixed case */
	    "p/ss%2Bw rd",	   /* partly encoded */
	    "%70%2F%73s+w%20r%64", /* letters encoded too */
	    "p\\/ss+w rd",	   /* JSON-escaped slash */
	    "p\\u002fss\\u002Bw\\u0020rd",
	    "cC9zcyt3IHJk",	    /* base64 */
	    "YWxpY2U6cC9zcyt3IHJk", /* Basic alice:password */
	    "caf\xc3\xa9\"pw1",
	    "caf\\u00e9\\\"pw1",
	    "caf\\u00E9\\\"pw1",
	    "caf%C3%A9%22pw1",
	    "caf%c3%a9%22pw1",
	    "caf%c3%a9\"pw1",
	    "Y2Fmw6kicHcx",
	    "Pj4+P3B3fn4=",	/* base64 standard, padded */
	    "Pj4+P3B3fn4",	/* ...unpadded */
	    "Pj4-P3B3fn4=",	/* URL-safe, padded */
	    "Pj4-P3B3fn4",	/* ...unpadded */
	    "Pj4%2BP3B3fn4%3D", /* base64 in a query string */
	    "Pj4%2bP3B3fn4%3d",
	    "pw\\ud83d\\udd11key",
	    "pw\\uD83D\\uDD11key",
	    "pw%F0%9f%94%91key",
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char *in = tu_fmt("<<%s>>", forms[i]);
		char *out = ac_mask_apply(m, in);
		ck_assert_msg(strcmp(out, "<<***>>") == 0, "form %zu: %s -> %s", i, in, out);
		free(out);
		free(in);
	}
	/* Inside a longer base64 text, at each byte offset. */
	const char *inside[] = {"WnAvc3MrdyByZFlZ", "WlpwL3NzK3cgcmRZWQ==", "Wlo+Pj4/cHd+fllZ",
				"Wlo-Pj4_cHd-fllZ", "Wj4+Pj9wd35+WVk="};
	const char *core[] = {"vc3MrdyByZ", "L3NzK3cgcm", "+Pj4/cHd+f", "-Pj4_cHd-f", "Pj9wd35+"};
	for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
		char *out = ac_mask_apply(m, inside[i]);
		ck_assert_msg(!strstr(out, core[i]), "%s -> %s", inside[i], out);
		free(out);
	}
	/* Near misses and ordinary text are left alone. */
	const char *keep[] = {"p/ss+w rX", "100% sure, 50%2 off", "a\\b \\u12 \\uZZZZ %", "pass"};
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		char *out = ac_mask_apply(m, keep[i]);
		ck_assert_str_eq(out, keep[i]);
		free(out);
	}
	/* A secret that contains another is replaced whole, wherever it starts. */
	struct ac_mask *m2 = ac_mask_create();
	ac_mask_add(m2, "xxab");
	ac_mask_add(m2, "abcd1234");
	char *o = ac_mask_apply(m2, "[xxabcd1234]");
	ck_assert_str_eq(o, "[***]");
	free(o);
	ac_mask_destroy(m2);
	ac_mask_destroy(m);
}
END_TEST

START_TEST(mask_dsn_and_url_credentials)
{
	char *a = ac_mask_dsn("host=db port=5432 user=ro password=s3cret dbname=shop");
	ck_assert_ptr_null(strstr(a, "s3cret"));
	ck_assert_ptr_nonnull(strstr(a, "password=***"));
	char *b = ac_mask_dsn("postgresql://ro:s3cret@db:5432/shop");
	ck_assert_ptr_null(strstr(b, "s3cret"));
	ck_assert_ptr_nonnull(strstr(b, "ro:***@db"));
	char *c =
	    ac_mask_apply(NULL, "see http://user:pw-1234@example.com/x and redis://:pw-5678@h:1/0");
	ck_assert_msg(!strstr(c, "pw-1234") && !strstr(c, "pw-5678"), "%s", c);
	ck_assert(ac_mask_header_is_secret("authorization"));
	ck_assert(ac_mask_header_is_secret("Set-Cookie"));
	ck_assert(ac_mask_header_is_secret("X-Api-Key"));
	ck_assert(!ac_mask_header_is_secret("X-Build"));
	char *h = ac_mask_header_value(NULL, "Cookie", "sid=abc");
	ck_assert_str_eq(h, "***");
	free(a);
	free(b);
	free(c);
	free(h);
}
END_TEST

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

/* Objects with many members parse in linear time, a duplicate far from its
 * twin is still found at its own line and column, and the member cap is an
 * error naming it, never a silent cut. */
START_TEST(json_many_members_and_distant_duplicates)
{
	struct ac_buf b = AC_BUF_INIT;
	ac_buf_adds(&b, "{\n");
	for (int i = 0; i < 20000; i++)
		ac_buf_addf(&b, "\"k%d\": %d,\n", i, i);
	size_t ok_len = b.len;
	ac_buf_adds(&b, "\"last\": 0}");
	struct ac_error err = {0};
	cJSON *j = ac_json_parse_strict(b.buf, b.len, "f", 64, &err);
	ck_assert_msg(j != NULL, "%s", err.msg);
	ck_assert_int_eq(cJSON_GetArraySize(j), 20001);
	cJSON_Delete(j);
	/* the same with "k7" again as the last member: line 20002, column 1 */
	b.len = ok_len;
	ac_buf_adds(&b, "\"k7\": 0}");
	j = ac_json_parse_strict(b.buf, b.len, "f", 64, &err);
	ck_assert_ptr_null(j);
	ck_assert_msg(strstr(err.msg, "f:20002:1: duplicate member name"), "%s", err.msg);
	ac_buf_release(&b);
	/* one member over the cap */
	ac_buf_addc(&b, '{');
	for (int i = 0; i <= AC_JSON_MAX_MEMBERS; i++)
		ac_buf_addf(&b, "%s\"%x\":0", i ? "," : "", (unsigned)i);
	ac_buf_addc(&b, '}');
	j = ac_json_parse_strict(b.buf, b.len, "f", 64, &err);
	ck_assert_ptr_null(j);
	ck_assert_msg(strstr(err.msg, "object has more than 1,000,000 members"), "%s", err.msg);
	ac_buf_release(&b);
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

/* Excerpts of what servers send: controls and C1 escaped, a UTF-8
 * character never cut in two, stray bytes shown as \xNN. */
START_TEST(excerpt_escapes_and_keeps_utf8_whole)
{
	const char *t = "a\033[2J\302\233K caf\303\251 \377\303";
	char *e = ac_excerpt(t, strlen(t), 100);
	ck_assert_str_eq(e, "a\\x1b[2J\\u009bK caf\303\251 \\xff\\xc3");
	free(e);
	/* the cut falls inside "é": the excerpt stops before it */
	e = ac_excerpt("caf\303\251s", 6, 4);
	ck_assert_str_eq(e, "caf...");
	free(e);
	e = ac_excerpt("\342\202\254\342\202\254", 6, 5);
	ck_assert_str_eq(e, "\342\202\254...");
	free(e);
}
END_TEST

/* A run's mask: its own secrets and its parent's, in one pass (a span
 * covering both is one mask), and the parent unchanged when it goes. */
START_TEST(mask_scoped_to_a_run)
{
	struct ac_mask *plan = ac_mask_create();
	ac_mask_add(plan, "plan-secret");
	struct ac_mask *run = ac_mask_create_scoped(plan);
	ac_mask_add(run, "cookie-1234");
	struct ac_mask *alone = ac_mask_create();
	ac_mask_add(alone, "cookie-1234");
	ck_assert_uint_eq(ac_mask_count(run), ac_mask_count(plan) + ac_mask_count(alone));
	ac_mask_destroy(alone);
	char *m = ac_mask_apply(run, "a plan-secret b cookie%2D1234 c plan-secretcookie-1234 d");
	ck_assert_str_eq(m, "a *** b *** c ****** d");
	free(m);
	ac_mask_add(run, "secretcook");
	m = ac_mask_apply(run, "plan-secretcookie-1234");
	ck_assert_str_eq(m, "***");
	free(m);
	size_t before = ac_mask_count(plan);
	ac_mask_destroy(run);
	ck_assert_uint_eq(ac_mask_count(plan), before);
	m = ac_mask_apply(plan, "plan-secret cookie-1234");
	ck_assert_str_eq(m, "*** cookie-1234");
	free(m);
	ac_mask_destroy(plan);
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

/* The loop's watches, found by fd through an index: ready fds are
 * dispatched once each with their own callback and data, a watch changed
 * or removed in place (the last one moved into its slot) stays right, a
 * high fd number grows the index, and a callback that removes another
 * ready fd's watch in the same tick keeps that one from being called. */
struct loop_hits {
	int fd[16];
	int n;
	struct ac_loop *loop;
	int unwatch_on_call; /* the fd to unwatch from inside a callback, or -1 */
};

static void loop_hit(void *ud, int fd, unsigned ev)
{
	struct loop_hits *h = ud;
	ck_assert(ev & AC_LOOP_READ);
	if (h->n < 16)
		h->fd[h->n] = fd;
	h->n++;
	if (h->unwatch_on_call >= 0) {
		ac_loop_unwatch(h->loop, h->unwatch_on_call);
		h->unwatch_on_call = -1;
	}
}

static void loop_never(void *ud, int fd, unsigned ev)
{
	(void)ud;
	(void)ev;
	ck_abort_msg("fd %d dispatched to a removed or replaced watch", fd);
}

static bool hit(const struct loop_hits *h, int fd)
{
	for (int i = 0; i < h->n && i < 16; i++)
		if (h->fd[i] == fd)
			return true;
	return false;
}

START_TEST(loop_watches_by_fd)
{
	struct ac_loop *loop = ac_loop_create(NULL);
	int p[4][2];
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pipe(p[i]), 0);
		ck_assert_int_eq(write(p[i][1], "x", 1), 1);
	}
	int high = dup2(p[3][0], 700); /* past the index's first size */
	ck_assert_int_eq(high, 700);
	struct loop_hits h = {.loop = loop, .unwatch_on_call = -1};
	for (int i = 0; i < 3; i++)
		ac_loop_watch(loop, p[i][0], AC_LOOP_READ, loop_never, NULL);
	ac_loop_watch(loop, high, AC_LOOP_READ, loop_hit, &h);
	/* replace one in place, remove the first (the last moves into its slot) */
	ac_loop_watch(loop, p[1][0], AC_LOOP_READ, loop_hit, &h);
	ac_loop_unwatch(loop, p[0][0]);
	ac_loop_unwatch(loop, p[0][0]);			   /* twice: nothing */
	ac_loop_watch(loop, p[2][0], 0, loop_never, NULL); /* events 0 removes */
	ck_assert_uint_eq(ac_loop_watch_count(loop), 2);
	ac_loop_run_once(loop, ac_loop_now(loop) + 1000);
	ck_assert_int_eq(h.n, 2);
	ck_assert(hit(&h, p[1][0]) && hit(&h, high));
	/* still ready (nothing was read): the removed one comes back, one is
	 * removed and added again */
	ac_loop_watch(loop, p[0][0], AC_LOOP_READ, loop_hit, &h);
	ac_loop_unwatch(loop, high);
	ac_loop_watch(loop, high, AC_LOOP_READ, loop_hit, &h);
	h.n = 0;
	ac_loop_run_once(loop, ac_loop_now(loop) + 1000);
	ck_assert_int_eq(h.n, 3);
	ck_assert(hit(&h, p[0][0]) && hit(&h, p[1][0]) && hit(&h, high));
	/* two ready fds: whichever is dispatched first removes the other */
	ac_loop_unwatch(loop, p[0][0]);
	struct loop_hits a = {.loop = loop, .unwatch_on_call = high};
	struct loop_hits b = {.loop = loop, .unwatch_on_call = p[1][0]};
	ac_loop_watch(loop, p[1][0], AC_LOOP_READ, loop_hit, &a);
	ac_loop_watch(loop, high, AC_LOOP_READ, loop_hit, &b);
	ac_loop_run_once(loop, ac_loop_now(loop) + 1000);
	ck_assert_int_eq(a.n + b.n, 1);
	int first_fd = a.n ? p[1][0] : high;
	ck_assert_uint_eq(ac_loop_watch_count(loop), 1);
	ac_loop_unwatch(loop, first_fd);
	ck_assert_uint_eq(ac_loop_watch_count(loop), 0);
	ac_loop_destroy(loop);
	for (int i = 0; i < 4; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
	close(high);
}
END_TEST

START_TEST(util_parsers)
{
	int64_t ms;
	ck_assert_int_eq(ac_parse_duration_ms("250ms", &ms), 0);
	ck_assert_int_eq(ms, 250);
	ck_assert_int_eq(ac_parse_duration_ms("1m30s", &ms), 0);
	ck_assert_int_eq(ms, 90000);
	ck_assert_int_eq(ac_parse_duration_ms("1500", &ms), 0);
	ck_assert_int_eq(ms, 1500);
	ck_assert_int_eq(ac_parse_duration_ms("5 s", &ms), -1);
	ck_assert_int_eq(ac_parse_duration_ms("-5s", &ms), -1);
	uint64_t sz;
	ck_assert_int_eq(ac_parse_size("8MiB", &sz), 0);
	ck_assert_uint_eq(sz, 8u * 1024 * 1024);
	ck_assert_int_eq(ac_parse_size("8 MiB", &sz), -1);
	long l;
	ck_assert_int_eq(ac_parse_long("12x", &l), -1);
	ck_assert_int_eq(ac_parse_long("99999999999999999999", &l), -1);
	/* Numbers read from servers and captures are plain decimal (F13). */
	const char *good[][2] = {
	    {"5", "5"},	 {"-5", "-5"},	  {"+5", "5"},	    {"2.5", "2.5"},	 {".5", "0.5"},
	    {"5.", "5"}, {"1e3", "1000"}, {"1E-2", "0.01"}, {"-1.5e+2", "-150"}, {"007", "7"}};
	for (size_t i = 0; i < AC_ARRAY_LEN(good); i++) {
		double d = NAN;
		ck_assert_msg(ac_parse_double(good[i][0], &d) == 0, "%s refused", good[i][0]);
		ck_assert_msg(d == strtod(good[i][1], NULL), "%s read as %g", good[i][0], d);
	}
	const char *bad[] = {"0x10", "0X1p4", "0x5f3a", "inf",	"-Infinity", "nan", "NAN(1)",
			     " 5",   "5 ",    "\t5",	"5\n",	"",	     ".",   "-",
			     "+",    "e5",    "5e",	"5e+",	"1.2.3",     "1,5", "--5",
			     "+-5",  "5_000", "1e999",	"1 000"};
	for (size_t i = 0; i < AC_ARRAY_LEN(bad); i++) {
		double d = 42;
		ck_assert_msg(ac_parse_double(bad[i], &d) == -1, "\"%s\" read as %g", bad[i], d);
	}
	struct ac_buf b;
	ac_buf_init(&b, 4);
	ck_assert_int_eq(ac_buf_adds(&b, "abcdef"), -1);
	ck_assert(b.truncated);
	ck_assert_str_eq(b.buf, "abcd");
	ac_buf_release(&b);
	const char *cands[] = {"assert", "capture", "headers"};
	ck_assert_str_eq(ac_suggest("asert", cands, 3), "assert");
	ck_assert_ptr_null(ac_suggest("zzzzzz", cands, 3));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, json_syntax_error_has_line_column_and_line);
	tcase_add_test(tc, json_rejects_what_cjson_accepts);
	tcase_add_test(tc, json_depth_is_bounded);
	tcase_add_test(tc, jsonpath_selects);
	tcase_add_test(tc, mask_raw_urlencoded_base64_and_pairs);
	tcase_add_test(tc, mask_every_encoding_any_case);
	tcase_add_test(tc, mask_dsn_and_url_credentials);
	tcase_add_test(tc, loader_unknown_key_did_you_mean_with_path);
	tcase_add_test(tc, loader_reports_every_problem_at_once);
	tcase_add_test(tc, loader_refuses_zero_checks_and_bad_targets);
	tcase_add_test(tc, loader_secrets_from_env_and_file_are_masked);
	tcase_add_test(tc, loader_secrets_through_variables_and_var_overrides);
	tcase_add_test(tc, loader_error_text_is_whole_problems_or_a_count);
	tcase_add_test(tc, loader_refuses_control_characters_in_names);
	tcase_add_test(tc, loader_refuses_secrets_under_four_bytes);
	tcase_add_test(tc, loader_expands_journeys_per_target_and_captures);
	tcase_add_test(tc, loader_checks_assertion_shapes);
	tcase_add_test(tc, util_parsers);
	tcase_add_test(tc, loader_urls_through_curl_url);
	tcase_add_test(tc, loader_sections_parsed_once);
	tcase_add_test(tc, loader_personas_parsed_once);
	tcase_add_test(tc, loader_file_variable_must_be_a_regular_file);
	tcase_add_test(tc, mask_scoped_to_a_run);
	tcase_add_test(tc, excerpt_escapes_and_keeps_utf8_whole);
	tcase_add_test(tc, json_many_members_and_distant_duplicates);
	tcase_add_test(tc, loader_unique_names_across_many_checks);
	tcase_add_test(tc, loop_watches_by_fd);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
