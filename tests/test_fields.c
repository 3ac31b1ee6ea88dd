/*
 * test_fields.c: the typed field walker (src/fields.c) on a table made for
 * the test: every type filled from good values, every range kind at and
 * beyond its bounds, defaults applied only when a key is absent, enums and
 * lists of choices with suggestions, header names and values, nested objects
 * with their own unknown keys, and every problem reported at once with its
 * key path, word for word.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "expect.h"
#include "testutil.h"
#include "util.h"

struct inner {
	char *name;
	int level;
};

struct all {
	char *str, *text, *url;
	int whole;
	long big;
	double num, frac, above, share;
	bool flag;
	int64_t wait_ms, tick_ms;
	uint64_t cap, body;
	int color;
	struct ac_strings tags, figs;
	struct ac_kvs headers;
	struct inner in;
	struct ac_expect expect;
	int custom_seen;
};

static const char *const colors[] = {"red", "green", "blue", NULL};

static void read_custom(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v,
			const char *path, void *dst)
{
	if (!cJSON_IsArray(v))
		ac_cfg_error(cx, path, "custom wants a list");
	else
		*(int *)dst = cJSON_GetArraySize(v);
}

static const struct ac_field inner_fields[] = {
    {"name", AC_FT_STRING, true, offsetof(struct inner, name), NULL},
    {"level", AC_FT_INT, false, offsetof(struct inner, level), NULL, .range = AC_RANGE_CLOSED,
     .min = 1, .max = 3, .def = "2"},
};

#define A(m) offsetof(struct all, m)
static const struct ac_field all_fields[] = {
    {"str", AC_FT_STRING, false, A(str), NULL},
    {"text", AC_FT_TEXT, false, A(text), NULL},
    {"url", AC_FT_URL, false, A(url), NULL},
    {"whole", AC_FT_INT, false, A(whole), NULL, .range = AC_RANGE_CLOSED, .min = 0, .max = 5},
    {"big", AC_FT_LONG, false, A(big), NULL, .range = AC_RANGE_MIN, .min = 1},
    {"num", AC_FT_NUMBER, false, A(num), NULL, .def = "1.5"},
    {"frac", AC_FT_NUMBER, false, A(frac), NULL, .range = AC_RANGE_OPEN, .min = 0, .max = 1},
    {"above", AC_FT_NUMBER, false, A(above), NULL, .range = AC_RANGE_ABOVE, .min = 0},
    {"flag", AC_FT_BOOL, false, A(flag), NULL},
    {"wait", AC_FT_DURATION, false, A(wait_ms), NULL, .def = "\"1s\""},
    {"tick", AC_FT_DURATION, false, A(tick_ms), NULL, .range = AC_RANGE_MIN, .min = 100},
    {"cap", AC_FT_SIZE, false, A(cap), NULL},
    {"body", AC_FT_SIZE, false, A(body), NULL, .range = AC_RANGE_MIN, .min = 1024},
    {"share", AC_FT_NUMBER, false, A(share), NULL, .range = AC_RANGE_ABOVE_TO, .min = 0, .max = 1},
    {"color", AC_FT_ENUM, false, A(color), NULL, .choices = colors, .def = "\"green\""},
    {"tags", AC_FT_STRINGS, false, A(tags), NULL},
    {"figs", AC_FT_STRINGS, false, A(figs), NULL, .choices = colors},
    {"headers", AC_FT_HEADERS, false, A(headers), NULL},
    {"in", AC_FT_OBJECT, false, A(in), NULL, .sub = inner_fields,
     .nsub = AC_ARRAY_LEN(inner_fields)},
    {"expect", AC_FT_COMPARISON, false, A(expect), NULL, .expect = AC_EXPECT_ONE},
    {"custom", AC_FT_CUSTOM, false, A(custom_seen), NULL, AC_SHAPE_STRINGS, .read = read_custom},
    {"known_only", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL, AC_SHAPE_ANY},
};

/* Read json into out with the table; returns the problems ("" if none). */
static char *walk(const char *json, struct all *out)
{
	struct ac_cfg cx;
	memset(&cx, 0, sizeof(cx));
	cx.file = "t.json";
	ac_buf_init(&cx.errors, SIZE_MAX);
	cJSON *obj = cJSON_Parse(json);
	ck_assert_msg(obj, "test JSON does not parse: %s", json);
	memset(out, 0, sizeof(*out));
	int n = ac_cfg_object(&cx, obj, "c", all_fields, AC_ARRAY_LEN(all_fields), out);
	ck_assert_int_eq((size_t)n, cx.nerrors);
	cJSON_Delete(obj);
	char *e = ac_strdup(cx.errors.len ? cx.errors.buf : "");
	ac_buf_release(&cx.errors);
	return e;
}

static void release(struct all *a)
{
	ac_cfg_release(all_fields, AC_ARRAY_LEN(all_fields), a);
	ck_assert_ptr_null(a->str);
	ck_assert_ptr_null(a->tags.v);
	ck_assert_ptr_null(a->in.name);
}

START_TEST(walker_fills_every_type)
{
	setenv("AC_FIELDS_SECRET", "s3cret-value", 1);
	struct all a;
	char *e = walk("{\"str\": \"${literal}\", \"text\": \"x-${env:AC_FIELDS_SECRET}\","
		       " \"url\": \"http://[::1]:8080/metrics\", \"whole\": 5, \"big\": 7,"
		       " \"frac\": 0.5, \"above\": 0.001, \"flag\": true, \"wait\": \"250ms\","
		       " \"tick\": 100, \"cap\": \"8MiB\", \"color\": \"blue\","
		       " \"tags\": [\"a\", \"b\"], \"figs\": [\"red\"],"
		       " \"headers\": {\"X-Token\": \"abc\"}, \"in\": {\"name\": \"n\"},"
		       " \"expect\": {\"<=\": 3}, \"custom\": [1, 2, 3], \"known_only\": {}}",
		       &a);
	ck_assert_str_eq(e, "");
	ck_assert_str_eq(a.str, "${literal}"); /* AC_FT_STRING: not expanded */
	ck_assert_str_eq(a.text, "x-s3cret-value");
	ck_assert_str_eq(a.url, "http://[::1]:8080/metrics");
	ck_assert_int_eq(a.whole, 5);
	ck_assert_int_eq(a.big, 7);
	ck_assert(a.num == 1.5); /* default */
	ck_assert(a.frac == 0.5);
	ck_assert(a.flag);
	ck_assert_int_eq(a.wait_ms, 250);
	ck_assert_int_eq(a.tick_ms, 100);
	ck_assert_uint_eq(a.cap, 8u * 1024 * 1024);
	ck_assert_int_eq(a.color, 2);
	ck_assert_uint_eq(a.tags.n, 2);
	ck_assert_str_eq(a.tags.v[1], "b");
	ck_assert_uint_eq(a.figs.n, 1);
	ck_assert_uint_eq(a.headers.n, 1);
	ck_assert_str_eq(a.headers.v[0].name, "X-Token");
	ck_assert_str_eq(a.headers.v[0].value, "abc");
	ck_assert_str_eq(a.in.name, "n");
	ck_assert_int_eq(a.in.level, 2); /* the nested default */
	ck_assert_uint_eq(a.expect.n, 1);
	ck_assert(ac_expect_holds(&a.expect, 3) && !ac_expect_holds(&a.expect, 3.5));
	ck_assert_int_eq(a.custom_seen, 3);
	release(&a);
	free(e);
}
END_TEST

/* A default is used only when the key is absent: a value given, even one
 * equal to the zero of its type, stays. */
START_TEST(walker_defaults_only_when_absent)
{
	struct all a;
	char *e = walk("{\"num\": 0, \"wait\": 0, \"color\": \"red\"}", &a);
	ck_assert_str_eq(e, "");
	ck_assert(a.num == 0);
	ck_assert_int_eq(a.wait_ms, 0);
	ck_assert_int_eq(a.color, 0);
	free(e);
	release(&a);
	e = walk("{}", &a);
	ck_assert_str_eq(e, "");
	ck_assert(a.num == 1.5);
	ck_assert_int_eq(a.wait_ms, 1000);
	ck_assert_int_eq(a.color, 1);
	ck_assert_ptr_null(a.in.name); /* an absent object is not read */
	free(e);
	release(&a);
}
END_TEST

/* Each range kind at its bound and one step past it. */
START_TEST(walker_ranges_at_their_bounds)
{
	static const struct {
		const char *json, *want; /* want NULL: accepted */
	} cases[] = {
	    {"{\"whole\": 0}", NULL},
	    {"{\"whole\": 5}", NULL},
	    {"{\"whole\": -1}", "t.json: c.whole: expected a whole number from 0 to 5\n"},
	    {"{\"whole\": 6}", "t.json: c.whole: expected a whole number from 0 to 5\n"},
	    {"{\"whole\": 2.5}", "t.json: c.whole: expected a whole number\n"},
	    {"{\"big\": 1}", NULL},
	    {"{\"big\": 0}", "t.json: c.big: expected a whole number of at least 1\n"},
	    {"{\"frac\": 0.000001}", NULL},
	    {"{\"frac\": 0.999999}", NULL},
	    {"{\"frac\": 0}", "t.json: c.frac: expected a number between 0 and 1 (exclusive)\n"},
	    {"{\"frac\": 1}", "t.json: c.frac: expected a number between 0 and 1 (exclusive)\n"},
	    {"{\"above\": 0}", "t.json: c.above: expected a number above 0\n"},
	    {"{\"above\": -0.5}", "t.json: c.above: expected a number above 0\n"},
	    {"{\"tick\": \"100ms\"}", NULL},
	    {"{\"tick\": \"99ms\"}", "t.json: c.tick: expected a duration of at least 100 ms\n"},
	    {"{\"tick\": \"1x\"}", "t.json: c.tick: expected a duration such as \"5s\" or "
				   "\"250ms\"\n"},
	    {"{\"share\": 1}", NULL},
	    {"{\"share\": 0}", "t.json: c.share: expected a number above 0 and at most 1\n"},
	    {"{\"share\": 1.0001}", "t.json: c.share: expected a number above 0 and at most 1\n"},
	    {"{\"body\": \"1KiB\"}", NULL},
	    {"{\"body\": 1023}", "t.json: c.body: expected a size of at least 1024 bytes\n"},
	    {"{\"in\": {\"name\": \"n\", \"level\": 4}}",
	     "t.json: c.in.level: expected a whole number from 1 to 3\n"},
	};
	for (size_t i = 0; i < AC_ARRAY_LEN(cases); i++) {
		struct all a;
		char *e = walk(cases[i].json, &a);
		ck_assert_msg(strcmp(e, cases[i].want ? cases[i].want : "") == 0, "%s -> %s",
			      cases[i].json, e);
		free(e);
		release(&a);
	}
}
END_TEST

/* Every problem of an object at once, each at its key path; a value that
 * fails leaves the field as it was (no half-read value). */
START_TEST(walker_reports_every_problem_at_once)
{
	struct all a;
	char *e = walk("{\"str\": 1, \"url\": \"ftp://x/\", \"color\": \"gren\","
		       " \"tags\": [\"a\", 2], \"figs\": [\"red\", \"pink\"],"
		       " \"headers\": {\"X:Y\": \"v\", \"Ok\": \"a\\nb\", \"N\": true},"
		       " \"in\": {\"nme\": \"x\"}, \"expect\": {\"<=\": 1, \">\": 0},"
		       " \"custom\": 3, \"colr\": 1, \"cap\": -1, \"flag\": \"yes\"}",
		       &a);
	const char *want[] = {
	    "t.json: c.colr: unknown key, did you mean \"color\"?\n",
	    "t.json: c.str: expected a string\n",
	    "t.json: c.url: URL must start with http:// or https://\n",
	    "t.json: c.flag: expected true or false\n",
	    "t.json: c.cap: expected a size such as \"8MiB\"\n",
	    "t.json: c.color: unknown color \"gren\", did you mean \"green\"?\n",
	    "t.json: c.tags[1]: expected a string\n",
	    "t.json: c.figs[1]: unknown value \"pink\" (red, green or blue)\n",
	    "t.json: c.headers[\"X:Y\"]: bad header or field name\n",
	    "t.json: c.headers.Ok: line breaks are not allowed in values\n",
	    "t.json: c.headers.N: expected a string\n",
	    "t.json: c.in.nme: unknown key, did you mean \"name\"?\n",
	    "t.json: c.in: missing required key \"name\"\n",
	    "t.json: c.expect: ",
	    "t.json: c.custom: custom wants a list\n",
	};
	size_t lines = 0;
	for (const char *p = e; *p; p++)
		lines += *p == '\n';
	for (size_t i = 0; i < AC_ARRAY_LEN(want); i++)
		ck_assert_msg(strstr(e, want[i]), "missing <%s> in:\n%s", want[i], e);
	ck_assert_msg(lines == AC_ARRAY_LEN(want), "%zu problems:\n%s", lines, e);
	ck_assert_ptr_null(a.str);
	ck_assert_ptr_null(a.url);
	ck_assert_uint_eq(a.tags.n, 1);
	ck_assert_uint_eq(a.figs.n, 1);
	ck_assert_uint_eq(a.headers.n, 0);
	ck_assert_int_eq(a.custom_seen, 0);
	free(e);
	release(&a);
}
END_TEST

/* Not an object at all: one problem, nothing read. */
START_TEST(walker_wants_an_object)
{
	struct all a;
	char *e = walk("[1]", &a);
	ck_assert_str_eq(e, "t.json: c: expected an object\n");
	ck_assert(a.num == 0); /* no defaults either */
	free(e);
	release(&a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fields");
	TCase *tc = tcase_create("fields");
	tcase_add_test(tc, walker_fills_every_type);
	tcase_add_test(tc, walker_defaults_only_when_absent);
	tcase_add_test(tc, walker_ranges_at_their_bounds);
	tcase_add_test(tc, walker_reports_every_problem_at_once);
	tcase_add_test(tc, walker_wants_an_object);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
