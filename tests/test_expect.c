/*
 * test_expect.c: comparison objects (src/expect.c), the one implementation
 * behind http assertions, metric, redis, sql and queue expectations.
 *
 * Every operator at, just below and just above its bound (nextafter, so
 * "<=" read as "<" fails); between with both ends included; NaN and Inf
 * never holding, whatever the operator; strict types (the string "0" is not
 * the number 0, a missing value is not 0, false or null); durations and
 * sizes as operands; parse errors with their key paths, word for word; the
 * wording of expectations.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "expect.h"
#include "hostile.h"
#include "testutil.h"
#include "util.h"

/* --- helpers ------------------------------------------------------------- */

static struct ac_names runtime_names;

static void cx_init(struct ac_cfg *cx)
{
	memset(cx, 0, sizeof(*cx));
	cx->file = "t.json";
	ac_buf_init(&cx->errors, SIZE_MAX);
	if (runtime_names.n == 0)
		ac_names_add(&runtime_names, "id");
	cx->runtime = &runtime_names;
}

/* Parse json (a comparison object) at "expect" with flags; returns the
 * errors ("" when none) and fills e. */
static char *parse(const char *json, unsigned flags, const char *const *also, size_t nalso,
		   struct ac_expect *e)
{
	struct ac_cfg cx;
	cx_init(&cx);
	cJSON *obj = cJSON_Parse(json);
	ck_assert_msg(obj, "test JSON does not parse: %s", json);
	memset(e, 0, sizeof(*e));
	int rc = ac_expect_parse(&cx, obj, "expect", flags, also, nalso, e);
	cJSON_Delete(obj);
	char *errs = ac_strdup(cx.errors.len ? cx.errors.buf : "");
	ck_assert_msg((rc == 0) == (cx.nerrors == 0), "rc %d with %zu errors for %s", rc,
		      cx.nerrors, json);
	ac_buf_release(&cx.errors);
	return errs;
}

static void parse_ok(const char *json, unsigned flags, struct ac_expect *e)
{
	char *errs = parse(json, flags, NULL, 0, e);
	ck_assert_msg(*errs == '\0', "%s: unexpected errors: %s", json, errs);
	free(errs);
}

static void expect_error(const char *json, unsigned flags, const char *want)
{
	struct ac_expect e;
	char *errs = parse(json, flags, NULL, 0, &e);
	ck_assert_msg(strcmp(errs, want) == 0, "%s:\n got: %s\nwant: %s", json, errs, want);
	free(errs);
	ac_expect_release(&e);
}

static bool holds(const char *json, unsigned flags, double v)
{
	struct ac_expect e;
	parse_ok(json, flags, &e);
	bool r = ac_expect_holds(&e, v);
	ac_expect_release(&e);
	return r;
}

/* A comparison object against a JSON value given as text ("missing": no
 * value at all). */
static bool json_holds(const char *cmp, const char *actual_json)
{
	struct ac_expect e;
	parse_ok(cmp, AC_EXPECT_ANY_VALUE, &e);
	cJSON *actual = strcmp(actual_json, "missing") == 0 ? NULL : cJSON_Parse(actual_json);
	ck_assert_msg(actual || strcmp(actual_json, "missing") == 0, "bad JSON %s", actual_json);
	bool ok = e.n > 0;
	for (size_t i = 0; i < e.n; i++)
		ok = ok && ac_expect_cmp_json(&e.cmps[i], actual, NULL, NULL);
	cJSON_Delete(actual);
	ac_expect_release(&e);
	return ok;
}

#define BELOW(x) nextafter((x), -INFINITY)
#define ABOVE(x) nextafter((x), INFINITY)

/* --- operators at their bounds ------------------------------------------ */

START_TEST(every_operator_at_just_below_and_just_above_its_bound)
{
	static const struct {
		const char *json;
		bool at, below, above;
	} cases[] = {
	    {"{\"<=\": 5}", true, true, false},	   {"{\"<\": 5}", false, true, false},
	    {"{\">=\": 5}", true, false, true},	   {"{\">\": 5}", false, false, true},
	    {"{\"==\": 5}", true, false, false},   {"{\"!=\": 5}", false, true, true},
	    {"{\"<=\": 0.05}", true, true, false}, {"{\">=\": -3}", true, false, true},
	    {"{\"<=\": 0}", true, true, false},	   {"{\"<\": 0}", false, true, false},
	};
	for (size_t i = 0; i < AC_ARRAY_LEN(cases); i++) {
		struct ac_expect e;
		parse_ok(cases[i].json, 0, &e);
		ck_assert_uint_eq(e.n, 1);
		double b = e.cmps[0].a;
		ck_assert_msg(ac_expect_holds(&e, b) == cases[i].at, "%s at %.17g", cases[i].json,
			      b);
		ck_assert_msg(ac_expect_holds(&e, BELOW(b)) == cases[i].below, "%s below %.17g",
			      cases[i].json, BELOW(b));
		ck_assert_msg(ac_expect_holds(&e, ABOVE(b)) == cases[i].above, "%s above %.17g",
			      cases[i].json, ABOVE(b));
		/* The same through the JSON path (http assertions). */
		cJSON *at = cJSON_CreateNumber(b), *lo = cJSON_CreateNumber(BELOW(b)),
		      *hi = cJSON_CreateNumber(ABOVE(b));
		ck_assert(ac_expect_cmp_json(&e.cmps[0], at, NULL, NULL) == cases[i].at);
		ck_assert(ac_expect_cmp_json(&e.cmps[0], lo, NULL, NULL) == cases[i].below);
		ck_assert(ac_expect_cmp_json(&e.cmps[0], hi, NULL, NULL) == cases[i].above);
		cJSON_Delete(at);
		cJSON_Delete(lo);
		cJSON_Delete(hi);
		ac_expect_release(&e);
	}
}
END_TEST

START_TEST(between_includes_both_ends_and_nothing_outside)
{
	struct ac_expect e;
	parse_ok("{\"between\": [1, 5]}", 0, &e);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_int_eq(e.cmps[0].op, AC_EXPECT_BETWEEN);
	ck_assert(ac_expect_holds(&e, 1));
	ck_assert(ac_expect_holds(&e, 5));
	ck_assert(ac_expect_holds(&e, 3));
	ck_assert(ac_expect_holds(&e, ABOVE(1.0)));
	ck_assert(ac_expect_holds(&e, BELOW(5.0)));
	ck_assert(!ac_expect_holds(&e, BELOW(1.0)));
	ck_assert(!ac_expect_holds(&e, ABOVE(5.0)));
	ck_assert(!ac_expect_holds(&e, 0));
	ck_assert(!ac_expect_holds(&e, 6));
	ac_expect_release(&e);
	/* A range of one value. */
	ck_assert(holds("{\"between\": [2, 2]}", 0, 2));
	ck_assert(!holds("{\"between\": [2, 2]}", 0, ABOVE(2.0)));
	ck_assert(!holds("{\"between\": [2, 2]}", 0, BELOW(2.0)));
	/* Negative ranges. */
	ck_assert(holds("{\"between\": [-5, -1]}", 0, -5));
	ck_assert(!holds("{\"between\": [-5, -1]}", 0, 0));
	/* Through the JSON path too. */
	ck_assert(json_holds("{\"between\": [1, 5]}", "1"));
	ck_assert(json_holds("{\"between\": [1, 5]}", "5"));
	ck_assert(!json_holds("{\"between\": [1, 5]}", "5.0000001"));
	ck_assert(!json_holds("{\"between\": [1, 5]}", "0.9999999"));
}
END_TEST

START_TEST(every_comparison_of_an_object_must_hold)
{
	const char *j = "{\">\": 0, \"<\": 10}";
	ck_assert(holds(j, 0, 5));
	ck_assert(!holds(j, 0, 0));
	ck_assert(!holds(j, 0, 10));
	ck_assert(!holds(j, 0, -1));
	ck_assert(holds("{\">=\": 1, \"!=\": 3}", 0, 2));
	ck_assert(!holds("{\">=\": 1, \"!=\": 3}", 0, 3));
	/* An empty expectation holds nothing (fail closed). */
	struct ac_expect e = {0};
	ck_assert(!ac_expect_holds(&e, 0));
	ck_assert(!ac_expect_holds(NULL, 0));
}
END_TEST

/* --- NaN and infinities --------------------------------------------------- */

START_TEST(nan_and_infinity_never_hold_whatever_the_operator)
{
	static const char *const objs[] = {
	    "{\"<=\": 5}", "{\"<\": 5}",  "{\">=\": 5}", "{\">\": 5}",
	    "{\"==\": 5}", "{\"!=\": 5}", "{\"!=\": 0}", "{\"between\": [-1e308, 1e308]}",
	};
	const double bad[] = {NAN, -NAN, INFINITY, -INFINITY};
	for (size_t i = 0; i < AC_ARRAY_LEN(objs); i++) {
		struct ac_expect e;
		parse_ok(objs[i], 0, &e);
		for (size_t k = 0; k < AC_ARRAY_LEN(bad); k++) {
			ck_assert_msg(!ac_expect_holds(&e, bad[k]), "%s held for %g", objs[i],
				      bad[k]);
			ck_assert_msg(
			    !ac_expect_num_holds(e.cmps[0].op, bad[k], e.cmps[0].a, e.cmps[0].b),
			    "%s held for %g", objs[i], bad[k]);
			cJSON *n = cJSON_CreateNumber(bad[k]);
			ck_assert_msg(!ac_expect_cmp_json(&e.cmps[0], n, NULL, NULL),
				      "%s held for JSON %g", objs[i], bad[k]);
			cJSON_Delete(n);
		}
		ac_expect_release(&e);
	}
	/* ANY_VALUE "!=" (http json): NaN is not "a number other than 0". */
	struct ac_expect e;
	parse_ok("{\"!=\": 0}", AC_EXPECT_ANY_VALUE, &e);
	cJSON *n = cJSON_CreateNumber(NAN), *inf = cJSON_CreateNumber(INFINITY);
	ck_assert(!ac_expect_cmp_json(&e.cmps[0], n, NULL, NULL));
	ck_assert(!ac_expect_cmp_json(&e.cmps[0], inf, NULL, NULL));
	cJSON_Delete(n);
	cJSON_Delete(inf);
	ac_expect_release(&e);
	/* Operands that are not finite never hold either. */
	const enum ac_expect_op ops[] = {AC_EXPECT_EQ, AC_EXPECT_NE, AC_EXPECT_LT,     AC_EXPECT_LE,
					 AC_EXPECT_GT, AC_EXPECT_GE, AC_EXPECT_BETWEEN};
	for (size_t i = 0; i < AC_ARRAY_LEN(ops); i++) {
		ck_assert(!ac_expect_num_holds(ops[i], 1, NAN, 2));
		ck_assert(!ac_expect_num_holds(ops[i], 1, INFINITY, INFINITY));
		ck_assert(!ac_expect_num_holds(ops[i], 1, -INFINITY, 2));
	}
	ck_assert(!ac_expect_num_holds(AC_EXPECT_BETWEEN, 1, 0, NAN));
	/* NaN is not "a number other than the string 3" either. */
	ck_assert(!holds("{\"!=\": \"3\"}", AC_EXPECT_ANY_VALUE, NAN));
	ck_assert(holds("{\"!=\": \"3\"}", AC_EXPECT_ANY_VALUE, 3));
	ck_assert(!ac_expect_num_holds(AC_EXPECT_BETWEEN, 1, 0, INFINITY));
	/* Controls: finite values do hold. */
	ck_assert(ac_expect_num_holds(AC_EXPECT_NE, 1, 0, 0));
	ck_assert(ac_expect_num_holds(AC_EXPECT_BETWEEN, 1, 0, 2));
}
END_TEST

/* --- types ---------------------------------------------------------------- */

START_TEST(types_are_strict_and_missing_is_never_a_value)
{
	/* The number 0. */
	ck_assert(json_holds("{\"==\": 0}", "0"));
	ck_assert(json_holds("{\"==\": 0}", "-0"));
	ck_assert(!json_holds("{\"==\": 0}", "\"0\""));
	ck_assert(!json_holds("{\"==\": 0}", "false"));
	ck_assert(!json_holds("{\"==\": 0}", "null"));
	ck_assert(!json_holds("{\"==\": 0}", "missing"));
	ck_assert(!json_holds("{\"==\": 0}", "[]"));
	/* != is strict too: a string is not the number 0; missing is nothing. */
	ck_assert(!json_holds("{\"!=\": 0}", "0"));
	ck_assert(json_holds("{\"!=\": 0}", "\"0\""));
	ck_assert(json_holds("{\"!=\": 0}", "null"));
	ck_assert(json_holds("{\"!=\": 0}", "1"));
	ck_assert(!json_holds("{\"!=\": 0}", "missing"));
	/* The string "0". */
	ck_assert(json_holds("{\"==\": \"0\"}", "\"0\""));
	ck_assert(!json_holds("{\"==\": \"0\"}", "0"));
	ck_assert(!json_holds("{\"==\": \"0\"}", "missing"));
	ck_assert(!json_holds("{\"==\": \"\"}", "missing"));
	ck_assert(!json_holds("{\"==\": \"\"}", "null"));
	/* false. */
	ck_assert(json_holds("{\"==\": false}", "false"));
	ck_assert(!json_holds("{\"==\": false}", "0"));
	ck_assert(!json_holds("{\"==\": false}", "null"));
	ck_assert(!json_holds("{\"==\": false}", "\"false\""));
	ck_assert(!json_holds("{\"==\": false}", "missing"));
	ck_assert(!json_holds("{\"!=\": false}", "missing"));
	/* null. */
	ck_assert(json_holds("{\"==\": null}", "null"));
	ck_assert(!json_holds("{\"==\": null}", "missing"));
	ck_assert(!json_holds("{\"==\": null}", "0"));
	ck_assert(!json_holds("{\"==\": null}", "false"));
	ck_assert(!json_holds("{\"==\": null}", "\"\""));
	ck_assert(!json_holds("{\"!=\": null}", "missing"));
	ck_assert(json_holds("{\"!=\": null}", "0"));
	/* Ordering needs a number: not a numeric string, bool or null. */
	ck_assert(json_holds("{\"<=\": 5}", "3"));
	ck_assert(!json_holds("{\"<=\": 5}", "\"3\""));
	ck_assert(!json_holds("{\"<=\": 5}", "true"));
	ck_assert(!json_holds("{\"<=\": 5}", "null"));
	ck_assert(!json_holds("{\"<=\": 5}", "missing"));
	ck_assert(!json_holds("{\">=\": 0}", "false"));
	ck_assert(!json_holds("{\"between\": [1, 5]}", "\"3\""));
	/* Arrays and objects compare by value. */
	ck_assert(json_holds("{\"==\": [1, \"a\"]}", "[1, \"a\"]"));
	ck_assert(!json_holds("{\"==\": [1, \"a\"]}", "[\"1\", \"a\"]"));
	/* A number judged against a non-number expectation. */
	ck_assert(!holds("{\"==\": \"3\"}", AC_EXPECT_ANY_VALUE, 3));
	ck_assert(holds("{\"!=\": \"3\"}", AC_EXPECT_ANY_VALUE, 3));
	ck_assert(holds("{\"==\": 3}", AC_EXPECT_ANY_VALUE, 3));
}
END_TEST

static char *expand_id(void *ud, const char *tmpl)
{
	(void)ud;
	return strcmp(tmpl, "${id}") == 0 ? ac_strdup("42") : ac_strdup(tmpl);
}

START_TEST(string_operands_are_templates_expanded_at_run_time)
{
	struct ac_expect e;
	parse_ok("{\"==\": \"${id}\"}", AC_EXPECT_ANY_VALUE, &e);
	cJSON *s42 = cJSON_CreateString("42"), *n42 = cJSON_CreateNumber(42);
	ck_assert(ac_expect_cmp_json(&e.cmps[0], s42, expand_id, NULL));
	ck_assert(!ac_expect_cmp_json(&e.cmps[0], n42, expand_id, NULL));
	ck_assert(!ac_expect_cmp_json(&e.cmps[0], s42, NULL, NULL));
	char *t = ac_expect_text(&e, "", expand_id, NULL);
	ck_assert_str_eq(t, "== 42");
	free(t);
	cJSON_Delete(s42);
	cJSON_Delete(n42);
	ac_expect_release(&e);
}
END_TEST

/* --- durations and sizes ---------------------------------------------------- */

START_TEST(durations_and_sizes_as_operands_where_allowed)
{
	struct ac_expect e;
	parse_ok("{\"<=\": \"500ms\"}", AC_EXPECT_DURATION, &e);
	ck_assert(e.cmps[0].a == 500);
	ck_assert(ac_expect_holds(&e, 500));
	ck_assert(!ac_expect_holds(&e, 501));
	ac_expect_release(&e);
	parse_ok("{\"between\": [\"1s\", \"2m\"]}", AC_EXPECT_DURATION, &e);
	ck_assert(e.cmps[0].a == 1000 && e.cmps[0].b == 120000);
	ac_expect_release(&e);
	parse_ok("{\"<\": 250}", AC_EXPECT_DURATION, &e); /* a number is ms */
	ck_assert(e.cmps[0].a == 250);
	ac_expect_release(&e);
	parse_ok("{\"<=\": \"8MiB\"}", AC_EXPECT_SIZE, &e);
	ck_assert(e.cmps[0].a == 8388608);
	ck_assert(ac_expect_holds(&e, 8388608));
	ck_assert(!ac_expect_holds(&e, 8388609));
	ac_expect_release(&e);
	parse_ok("{\">\": \"64KiB\", \"<\": \"1MB\"}", AC_EXPECT_SIZE, &e);
	ck_assert(e.cmps[0].a == 65536 && e.cmps[1].a == 1000000);
	ac_expect_release(&e);
	/* Not where the caller does not allow them, nor one for the other. */
	expect_error("{\"<=\": \"500ms\"}", 0, "t.json: expect[\"<=\"]: expected a number\n");
	expect_error("{\"<=\": \"8MiB\"}", AC_EXPECT_DURATION,
		     "t.json: expect[\"<=\"]: expected a duration (\"500ms\", \"2s\") or a "
		     "number of milliseconds\n");
	expect_error("{\"<=\": \"500ms\"}", AC_EXPECT_SIZE,
		     "t.json: expect[\"<=\"]: expected a size (\"64KiB\", \"8MiB\") or a number "
		     "of bytes\n");
	expect_error("{\"between\": [\"1s\", \"soon\"]}", AC_EXPECT_DURATION,
		     "t.json: expect.between[1]: expected a duration (\"500ms\", \"2s\") or a "
		     "number of milliseconds\n");
	expect_error("{\"between\": [\"2s\", \"1s\"]}", AC_EXPECT_DURATION,
		     "t.json: expect.between: expected [low, high]: low 2000 is above high "
		     "1000\n");
}
END_TEST

/* --- parse errors ------------------------------------------------------------ */

START_TEST(unknown_operators_name_the_key_and_suggest)
{
	static const char *const list = "(==, !=, <, <=, >, >=, between)";
	char *w;
	w = tu_fmt("t.json: expect[\"=<\"]: unknown comparison \"=<\", did you mean \"<=\"? %s\n",
		   list);
	expect_error("{\"=<\": 5}", 0, w);
	free(w);
	w = tu_fmt("t.json: expect[\"=>\"]: unknown comparison \"=>\", did you mean \">=\"? %s\n",
		   list);
	expect_error("{\"=>\": 5}", 0, w);
	free(w);
	w = tu_fmt("t.json: expect[\"=\"]: unknown comparison \"=\", did you mean \"==\"? %s\n",
		   list);
	expect_error("{\"=\": 5}", 0, w);
	free(w);
	w = tu_fmt("t.json: expect.betwen: unknown comparison \"betwen\", did you mean "
		   "\"between\"? %s\n",
		   list);
	expect_error("{\"betwen\": [1, 2]}", 0, w);
	free(w);
	w = tu_fmt("t.json: expect.BETWEEN: unknown comparison \"BETWEEN\", did you mean "
		   "\"between\"? %s\n",
		   list);
	expect_error("{\"BETWEEN\": [1, 2]}", 0, w);
	free(w);
	w = tu_fmt("t.json: expect.foo: unknown comparison \"foo\" %s\n", list);
	expect_error("{\"foo\": 1}", 0, w);
	free(w);
	/* The caller's own keys are suggested and listed too. */
	static const char *const also[] = {"exists", "count"};
	struct ac_expect e;
	char *errs = parse("{\"exist\": true}", AC_EXPECT_ANY_VALUE, also, 2, &e);
	ck_assert_str_eq(errs, "t.json: expect.exist: unknown comparison \"exist\", did you mean "
			       "\"exists\"? (==, !=, <, <=, >, >=, between, exists, count)\n");
	free(errs);
	ac_expect_release(&e);
}
END_TEST

START_TEST(malformed_objects_name_the_key_path)
{
	expect_error("{}", 0,
		     "t.json: expect: expected a comparison, e.g. {\"<=\": 10}, not an empty "
		     "object\n");
	expect_error("5", 0,
		     "t.json: expect: expected a comparison object, e.g. {\"<=\": 10} or "
		     "{\"between\": [1, 5]}\n");
	expect_error("[1, 2]", 0,
		     "t.json: expect: expected a comparison object, e.g. {\"<=\": 10} or "
		     "{\"between\": [1, 5]}\n");
	static const char *const arity = "t.json: expect.between: expected [low, high]: two "
					 "numbers, both included\n";
	expect_error("{\"between\": [1]}", 0, arity);
	expect_error("{\"between\": [1, 2, 3]}", 0, arity);
	expect_error("{\"between\": []}", 0, arity);
	expect_error("{\"between\": 3}", 0, arity);
	expect_error("{\"between\": {\"a\": 1, \"b\": 2}}", 0, arity);
	expect_error("{\"between\": [5, 1]}", 0,
		     "t.json: expect.between: expected [low, high]: low 5 is above high 1\n");
	expect_error("{\"between\": [1, \"x\"]}", 0,
		     "t.json: expect.between[1]: expected a number\n");
	expect_error("{\"between\": [null, 2]}", 0,
		     "t.json: expect.between[0]: expected a number\n");
	expect_error("{\"<=\": \"x\"}", 0, "t.json: expect[\"<=\"]: expected a number\n");
	expect_error("{\"<=\": true}", 0, "t.json: expect[\"<=\"]: expected a number\n");
	expect_error("{\"<=\": null}", 0, "t.json: expect[\"<=\"]: expected a number\n");
	expect_error("{\"<=\": [1]}", 0, "t.json: expect[\"<=\"]: expected a number\n");
	expect_error("{\"<=\": \"5\"}", 0,
		     "t.json: expect[\"<=\"]: expected a number, not the string \"5\" (drop the "
		     "quotes)\n");
	expect_error("{\"==\": \"0\"}", 0,
		     "t.json: expect[\"==\"]: expected a number, not the string \"0\" (drop the "
		     "quotes)\n");
	expect_error("{\"<=\": 1e999}", 0, "t.json: expect[\"<=\"]: expected a finite number\n");
	expect_error("{\"==\": -1e999}", AC_EXPECT_ANY_VALUE,
		     "t.json: expect[\"==\"]: expected a finite number\n");
	/* Ordering takes numbers even where == takes any value. */
	expect_error("{\"<\": \"a\"}", AC_EXPECT_ANY_VALUE,
		     "t.json: expect[\"<\"]: expected a number\n");
	/* One comparison where the caller takes one. */
	expect_error("{\"<=\": 1, \">\": 0}", AC_EXPECT_ONE,
		     "t.json: expect: expected one comparison, not 2 (for a range: "
		     "{\"between\": [low, high]})\n");
	struct ac_expect e;
	parse_ok("{\"<=\": 1, \">\": 0}", 0, &e);
	ck_assert_uint_eq(e.n, 2);
	ac_expect_release(&e);
	/* Every problem is reported, not only the first. */
	expect_error("{\"<=\": \"x\", \"foo\": 1, \"between\": [3, 2]}", 0,
		     "t.json: expect[\"<=\"]: expected a number\n"
		     "t.json: expect.foo: unknown comparison \"foo\" (==, !=, <, <=, >, >=, "
		     "between)\n"
		     "t.json: expect.between: expected [low, high]: low 3 is above high 2\n");
	/* A path below another one. */
	struct ac_cfg cx;
	cx_init(&cx);
	cJSON *obj = cJSON_Parse("{\"<=\": \"x\"}");
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(ac_expect_parse(&cx, obj, "checks[2].expect", 0, NULL, 0, &e), -1);
	ck_assert_str_eq(cx.errors.buf, "t.json: checks[2].expect[\"<=\"]: expected a number\n");
	cJSON_Delete(obj);
	ac_buf_release(&cx.errors);
	ac_expect_release(&e);
}
END_TEST

/* --- wording ------------------------------------------------------------------- */

static void text_is(const char *json, unsigned flags, const char *unit, const char *want)
{
	struct ac_expect e;
	parse_ok(json, flags, &e);
	char *t = ac_expect_text(&e, unit, NULL, NULL);
	ck_assert_msg(strcmp(t, want) == 0, "%s: got \"%s\", want \"%s\"", json, t, want);
	free(t);
	ac_expect_release(&e);
}

START_TEST(wording_of_expectations)
{
	text_is("{\"<=\": 0.05}", 0, "", "<= 0.05");
	text_is("{\"<\": 5}", 0, "", "< 5");
	text_is("{\">\": 0, \"<\": 10}", 0, "", "> 0 and < 10");
	text_is("{\"between\": [1, 5]}", 0, "", "between 1 and 5");
	text_is("{\"between\": [0.5, 2.25]}", 0, "", "between 0.5 and 2.25");
	text_is("{\"<=\": \"500ms\"}", AC_EXPECT_DURATION, " ms", "<= 500 ms");
	text_is("{\"between\": [\"100ms\", \"1s\"]}", AC_EXPECT_DURATION, " ms",
		"between 100 ms and 1000 ms");
	text_is("{\"<=\": \"1KiB\"}", AC_EXPECT_SIZE, " bytes", "<= 1024 bytes");
	text_is("{\"==\": \"ok\"}", AC_EXPECT_ANY_VALUE, "", "== ok");
	text_is("{\"!=\": null}", AC_EXPECT_ANY_VALUE, "", "!= null");
	text_is("{\"==\": false}", AC_EXPECT_ANY_VALUE, "", "== false");
	text_is("{\"==\": 7}", AC_EXPECT_ANY_VALUE, " ms", "== 7 ms");
	text_is("{\"==\": 0.1}", 0, "", "== 0.1");
	text_is("{\"<\": 1e20}", 0, "", "< 1e+20");
	struct ac_expect e;
	parse_ok("{\"<=\": 0.05}", 0, &e);
	char *f = ac_expect_fail_text("error ratio", "0.8", &e, "");
	ck_assert_str_eq(f, "error ratio 0.8, expected <= 0.05");
	free(f);
	ac_expect_release(&e);
	parse_ok("{\"between\": [1, 5]}", 0, &e);
	f = ac_expect_fail_text("value", "7", &e, "");
	ck_assert_str_eq(f, "value 7, expected between 1 and 5");
	free(f);
	ac_expect_release(&e);
	char *n = ac_expect_num_text(1.0 / 3.0);
	ck_assert_str_eq(n, "0.333333333333333");
	free(n);
	ck_assert_str_eq(ac_expect_op_name(AC_EXPECT_LE), "<=");
	ck_assert_str_eq(ac_expect_op_name(AC_EXPECT_NE), "!=");
	ck_assert_str_eq(ac_expect_op_name(AC_EXPECT_BETWEEN), "between");
	/* Built by hand (a bare limit), it reads the same. */
	struct ac_expect h = {0};
	ac_expect_add(&h, AC_EXPECT_LE, 300, NAN);
	char *t = ac_expect_text(&h, " ms", NULL, NULL);
	ck_assert_str_eq(t, "<= 300 ms");
	free(t);
	ac_expect_release(&h);
	ac_expect_release(NULL);
}
END_TEST

/* --- the probes that use it ------------------------------------------------ */

/* Scenarios for each kind with expect (or an http assertion) set to x. */
static char *http_scenario(const char *assert_json)
{
	return tu_fmt("{\"targets\": {\"origin\": \"http://127.0.0.1:9\"}, \"journeys\": "
		      "[{\"name\": \"a\", \"area\": \"code\", \"owner\": \"o\", \"steps\": "
		      "[{\"url\": \"/\", \"assert\": %s}]}]}",
		      assert_json);
}

static char *check_scenario(const char *kind, const char *x)
{
	if (strcmp(kind, "redis") == 0)
		return tu_fmt(
		    "{\"redis\": {\"r\": \"redis://127.0.0.1:9/0\"}, \"checks\": [{\"kind\": "
		    "\"redis\", \"name\": \"x\", \"area\": \"jobs\", \"owner\": \"o\", "
		    "\"redis\": \"r\", \"command\": [\"LLEN\", \"k\"], \"expect\": %s}]}",
		    x);
	if (strcmp(kind, "sql") == 0)
		return tu_fmt(
		    "{\"databases\": {\"db\": \"host=127.0.0.1 port=9\"}, \"checks\": "
		    "[{\"kind\": \"sql\", \"name\": \"x\", \"area\": \"data\", \"owner\": "
		    "\"o\", \"database\": \"db\", \"query\": \"SELECT 1\", \"expect\": "
		    "%s}]}",
		    x);
	return tu_fmt("{\"checks\": [{\"kind\": \"metric\", \"name\": \"x\", \"area\": \"code\", "
		      "\"owner\": \"o\", \"scrape\": \"http://127.0.0.1:9/metrics\", \"metric\": "
		      "\"up\", \"expect\": %s}]}",
		      x);
}

static void load_fails_with(char *json, const char *want)
{
	char *e = tu_load_error(json);
	ck_assert_msg(strstr(e, want), "want \"%s\" in:\n%s", want, e);
	free(e);
	free(json);
}

static void loads(char *json)
{
	ac_plan_destroy(tu_load(json));
	free(json);
}

/* Bug caught: a size comparison read "5s" as 5000 bytes, and refused
 * "8MiB"; a count read "1m" as 60000. */
START_TEST(http_size_and_count_take_sizes_and_numbers_not_durations)
{
	load_fails_with(http_scenario("{\"size\": {\"<=\": \"5s\"}}"),
			"assert.size[\"<=\"]: expected a size");
	loads(http_scenario("{\"size\": {\"<=\": \"8MiB\"}}"));
	loads(http_scenario("{\"size\": \"64KiB\"}"));
	loads(http_scenario("{\"duration\": {\"<=\": \"500ms\"}}"));
	load_fails_with(http_scenario("{\"duration\": {\"<=\": \"8MiB\"}}"),
			"assert.duration[\"<=\"]: expected a duration");
	load_fails_with(http_scenario("{\"json\": {\"$.a\": {\"count\": {\"<=\": \"1m\"}}}}"),
			"assert.json[\"$.a\"].count[\"<=\"]: expected a number");
	/* between, everywhere a comparison object is taken */
	loads(http_scenario("{\"duration\": {\"between\": [\"10ms\", \"2s\"]}, \"json\": "
			    "{\"$.n\": {\"between\": [1, 5]}, \"$.a\": {\"count\": {\"between\": "
			    "[1, 3]}}}}"));
	load_fails_with(http_scenario("{\"json\": {\"$.n\": {\"=<\": 5}}}"),
			"assert.json[\"$.n\"][\"=<\"]: unknown comparison \"=<\", did you mean "
			"\"<=\"? (==, !=, <, <=, >, >=, between, exists, count)");
}
END_TEST

/* Bug caught: redis took {"between": [5, 1]}, a check that can never pass;
 * metric had no between; all kinds now say the same about the same
 * mistake. */
START_TEST(checks_read_comparisons_alike)
{
	static const char *const kinds[] = {"redis", "sql", "metric"};
	for (size_t i = 0; i < AC_ARRAY_LEN(kinds); i++) {
		const char *k = kinds[i];
		loads(check_scenario(k, "{\"between\": [1, 5]}"));
		loads(check_scenario(k, "{\"<=\": 0.05}"));
		load_fails_with(check_scenario(k, "{\"between\": [5, 1]}"),
				"checks[0].expect.between: expected [low, high]: low 5 is above "
				"high 1");
		load_fails_with(check_scenario(k, "{\"between\": [1]}"),
				"checks[0].expect.between: expected [low, high]: two numbers");
		load_fails_with(check_scenario(k, "{\"<=\": \"5\"}"),
				"checks[0].expect[\"<=\"]: expected a number, not the string "
				"\"5\"");
		/* sql lists its own expectations too */
		load_fails_with(check_scenario(k, "{\"<=\": 1, \">\": 0}"),
				strcmp(k, "sql") == 0 ? "checks[0].expect: expected one of"
						      : "checks[0].expect: expected one "
							"comparison, not 2");
		load_fails_with(check_scenario(k, "{\"=<\": 1}"),
				"checks[0].expect[\"=<\"]: unknown comparison \"=<\", did you mean "
				"\"<=\"?");
	}
	/* sql keeps its own expectations, and suggests among them */
	loads(check_scenario("sql", "{\"no_rows\": true}"));
	loads(check_scenario("sql", "{\"min_rows\": 2}"));
	load_fails_with(check_scenario("sql", "{\"min_row\": 2}"),
			"checks[0].expect.min_row: unknown comparison \"min_row\", did you mean "
			"\"min_rows\"?");
}
END_TEST

/* --- judged in a run ------------------------------------------------------ */

static void serve(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	char body[2048];
	if (strcmp(q->path, "/j") == 0) {
		hs_reply(fd, 200, "Content-Type: application/json\r\n",
			 "{\"n\": 5, \"s\": 6, \"str\": \"3\", \"items\": [1, 2, 3]}");
	} else if (strcmp(q->path, "/big") == 0) {
		memset(body, 'x', 2000);
		body[2000] = '\0';
		hs_reply(fd, 200, "", body);
	} else {
		/* Every observation lands above the highest finite bucket (1). */
		int n = q->seq * 100;
		snprintf(body, sizeof(body),
			 "# TYPE g gauge\ng 7\n# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 0\n"
			 "lat_bucket{le=\"1\"} 0\nlat_bucket{le=\"+Inf\"} %d\nlat_sum %d\n"
			 "lat_count %d\n",
			 n, n * 5, n);
		hs_reply(fd, 200, "", body);
	}
}

static void judged(const struct ac_result *r, const char *name, enum ac_state st,
		   const char *reason)
{
	tu_expect_last(tu_check_named(r, name), name, st, reason);
}

#define J(name, url, asserts)                                                                      \
	"{\"name\": \"" name                                                                       \
	"\", \"area\": \"code\", \"owner\": \"o\", \"steps\": [{\"url\": \"" url                   \
	"\", \"assert\": " asserts "}]}"
#define MC(name, body)                                                                             \
	"{\"kind\": \"metric\", \"name\": \"" name "\", \"area\": \"code\", \"owner\": \"o\", "    \
	"\"scrape\": \"http://127.0.0.1:%1$d/metrics\", " body "}"

/* between and sizes, judged end to end by http and metric (neither had
 * between before); the highest-bucket rule of metric with a range. */
START_TEST(between_and_sizes_judged_in_a_run)
{
	struct hs_server s;
	hs_start(&s, serve, NULL);
	char *json =
	    tu_fmt(
		"{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"5s\"}, \"targets\": "
		"{\"origin\": \"http://127.0.0.1:%1$d\"}, \"journeys\": [" J("in", "/j", "{\"json\": {\"$.n\": {\"between\": [1, 5]}}}") "," J("out", "/j", "{\"json\": {\"$.s\": {\"between\": [1, 5]}}}") "," J(
		    "str", "/j",
		    "{\"json\": "
		    "{\"$.str\": "
		    "{\"between\": [1, "
		    "5]}}}") "," J("count", "/j",
				   "{\"json"
				   "\": "
				   "{\"$."
				   "items\""
				   ": "
				   "{\"coun"
				   "t\": "
				   "{\"betw"
				   "een\": "
				   "[4, "
				   "9]}}}}") "," J("size", "/big",
						   "{\"size\": {\"<=\": \"1KiB\"}}") "," J("bare "
											   "size",
											   "/big",
											   "{\"size"
											   "\": "
											   "\"2000B"
											   "\"}") "," J("duration",
													"/j",
													"{\"duration\": {\"between\": [\"0ms\", \"5s\"]}}") "], \"checks\": [" MC("gauge out",
																						  "\"metric\": \"g\", \"expect\": {\"between\": [1, 5]}") "," MC("gauge in", "\"metric\": \"g\", \"expect\": {\"between\": [7, 7]}") "," MC("p95 range below", "\"gap\": \"200ms\", \"histogram\": \"lat\", \"quantile\": 0.95, "
																																									       "\"expect\": {\"between\": [0, 0.5]}") "," MC("p95 range across",
																																															     "\"gap\": \"200ms\", \"histogram\": \"lat\", \"quantile\": "
																																															     "0.95, \"expect\": {\"between\": [0, 5]}") "," MC("p95 above",
																																																					       "\"gap\": \"200ms\", \"histogram\": \"lat\", \"quantile\": 0.95, "
																																																					       "\"expect\": {\">=\": 1}") "]}",
		s.port);
	struct ac_plan *p;
	struct ac_result *r = tu_run_scenario(json, 1, &p);
	judged(r, "in", AC_STATE_PASS, NULL);
	judged(r, "out", AC_STATE_FAIL, "json $.s: expected between 1 and 5, got 6");
	judged(r, "str", AC_STATE_FAIL, "json $.str: expected between 1 and 5, got 3");
	judged(r, "count", AC_STATE_FAIL,
	       "json $.items: expected count between 4 and 9, got count 3");
	judged(r, "size", AC_STATE_FAIL, "body size: expected <= 1024 bytes, got 2000 bytes");
	judged(r, "bare size", AC_STATE_PASS, NULL);
	judged(r, "duration", AC_STATE_PASS, NULL);
	judged(r, "gauge out", AC_STATE_FAIL, "7, expected between 1 and 5");
	judged(r, "gauge in", AC_STATE_PASS, NULL);
	judged(r, "p95 range below", AC_STATE_FAIL,
	       "above 1, the highest finite bucket, expected between 0 and 0.5");
	judged(r, "p95 range across", AC_STATE_ERROR,
	       "above 1, the highest finite bucket: cannot tell whether it is between 0 and 5");
	judged(r, "p95 above", AC_STATE_PASS, NULL);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(json);
	hs_stop(&s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("expect");
	TCase *tc = tcase_create("expect");
	tcase_add_test(tc, every_operator_at_just_below_and_just_above_its_bound);
	tcase_add_test(tc, between_includes_both_ends_and_nothing_outside);
	tcase_add_test(tc, every_comparison_of_an_object_must_hold);
	tcase_add_test(tc, nan_and_infinity_never_hold_whatever_the_operator);
	tcase_add_test(tc, types_are_strict_and_missing_is_never_a_value);
	tcase_add_test(tc, string_operands_are_templates_expanded_at_run_time);
	tcase_add_test(tc, durations_and_sizes_as_operands_where_allowed);
	tcase_add_test(tc, unknown_operators_name_the_key_and_suggest);
	tcase_add_test(tc, malformed_objects_name_the_key_path);
	tcase_add_test(tc, wording_of_expectations);
	suite_add_tcase(s, tc);
	TCase *kinds = tcase_create("kinds");
	tcase_add_test(kinds, http_size_and_count_take_sizes_and_numbers_not_durations);
	tcase_add_test(kinds, checks_read_comparisons_alike);
	tcase_add_test(kinds, between_and_sizes_judged_in_a_run);
	tcase_set_timeout(kinds, 60);
	suite_add_tcase(s, kinds);
	int rc = tu_main(s);
	ac_names_release(&runtime_names);
	return rc;
}
