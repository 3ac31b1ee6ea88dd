/*
 * test_core.c: the strict JSON scanner, JSON paths, masking, the loop's fd
 * index and the small parsers; the loader's errors are in test_loader.c.
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

/* The loader's tests (test_loader.c), in the same test case. */
void core_loader_tests(TCase *tc);

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
	tcase_add_test(tc, util_parsers);
	tcase_add_test(tc, mask_scoped_to_a_run);
	tcase_add_test(tc, excerpt_escapes_and_keeps_utf8_whole);
	tcase_add_test(tc, json_many_members_and_distant_duplicates);
	tcase_add_test(tc, loop_watches_by_fd);
	core_loader_tests(tc);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
