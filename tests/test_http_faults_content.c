/*
 * test_http_faults_content.c: the "content" test case of the http_faults
 * suite: 200 responses whose content is wrong (body, JSON paths, counts,
 * wildcards, HEAD), each failing with the exact reason.
 */
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

#include "hostile.h"
#include "probe.h"
#include "testutil.h"
#include "util.h"

TCase *http_content_tcase(void);

/* ========================================================================== */
/* 3. Content assertions on a 200                                             */
/* ========================================================================== */

static void content(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	const char *json = "application/json";
	if (strcmp(q->path, "/") == 0)
		hs_reply(fd, 200, "", "<h1>Down for maintenance</h1> new-checkout soon");
	else if (strcmp(q->path, "/empty") == 0)
		hs_reply(fd, 200, "", "");
	else if (strcmp(q->path, "/503") == 0)
		hs_reply(fd, 503, "", "<h1>Corner Shop</h1> (cached copy)");
	else if (strcmp(q->path, "/302") == 0)
		hs_reply(fd, 302, "Location: /\r\n", "<h1>Corner Shop</h1>");
	else if (strcmp(q->path, "/203") == 0)
		hs_reply(fd, 203, "", "<h1>Corner Shop</h1>");
	else if (strncmp(q->path, "/j/", 3) == 0) {
		/* /j/<body> with a few fixed bodies */
		const char *b =
		    strcmp(q->path, "/j/none") == 0	  ? "{\"items\":[]}"
		    : strcmp(q->path, "/j/null") == 0	  ? "{\"total\":null}"
		    : strcmp(q->path, "/j/false") == 0	  ? "{\"total\":false}"
		    : strcmp(q->path, "/j/str") == 0	  ? "{\"total\":\"0\"}"
		    : strcmp(q->path, "/j/zero") == 0	  ? "{\"total\":0,\"ok\":false,"
							    "\"gone\":null}"
		    : strcmp(q->path, "/j/error") == 0	  ? "{\"error\":\"db down\"}"
		    : strcmp(q->path, "/j/emptyarr") == 0 ? "{\"failed\":[]}"
		    : strcmp(q->path, "/j/ids") == 0
			? "{\"results\":[{\"id\":5},{\"id\":0},{\"id\":7}]}"
		    : strcmp(q->path, "/j/gap") == 0	? "{\"results\":[{\"id\":1},{\"id\":2},{}]}"
		    : strcmp(q->path, "/j/idnull") == 0 ? "{\"results\":[{\"id\":1},{\"id\":null}]}"
		    : strcmp(q->path, "/j/rnull") == 0	? "{\"results\":null}"
		    : strcmp(q->path, "/j/robj") == 0	? "{\"results\":{\"error\":\"x\"}}"
		    : strcmp(q->path, "/j/nested") == 0
			? "{\"a\":[{\"b\":[{\"c\":1}]},{\"b\":[{\"c\":1},{\"d\":1}]}]}"
			: "not json";
		char *h = tu_fmt("Content-Type: %s\r\n", json);
		hs_reply(fd, 200, h, b);
		free(h);
	} else
		hs_reply(fd, 404, "", "no");
}

struct content_case {
	const char *url;
	const char *assert; /* the "assert" object */
	const char *reason; /* NULL: must pass */
};

static void run_content_cases(const struct content_case *cases, size_t n)
{
	struct hs_server s;
	hs_start(&s, content, NULL);
	char *tgt = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	for (size_t i = 0; i < n; i++) {
		char *j =
		    tu_fmt(TU_JOURNEY("c", "\"steps\": [{\"name\": \"look\", \"url\": \"%s\", "
					   "\"assert\": %s}]"),
			   cases[i].url, cases[i].assert);
		char *path = tu_http_scenario("", tgt, j);
		struct tu_proc p;
		free(tu_run_check_json(&p, path, NULL));
		int want_rc = cases[i].reason ? 1 : 0;
		TU_EXPECT(p.exit_code == want_rc, &p, "%s %s: exit %d, expected %d", cases[i].url,
			  cases[i].assert, p.exit_code, want_rc);
		if (cases[i].reason) {
			char *want = tu_fmt("step \"look\": %s\n", cases[i].reason);
			TU_EXPECT(strstr(p.out, want), &p, "%s %s: reason lacks: %s", cases[i].url,
				  cases[i].assert, want);
			free(want);
		}
		tu_proc_release(&p);
		free(path);
		free(j);
	}
	free(tgt);
	hs_stop(&s);
}

/* Reliability row 6. Bug caught: status alone passing a maintenance page;
 * contains/not_contains inverted; an empty body counted as containing. */
START_TEST(content_assertions_on_a_200_fail_with_the_exact_reason)
{
	static const struct content_case cases[] = {
	    {"/", "{\"status\": 200, \"body\": {\"contains\": \"Corner Shop\"}}",
	     "body: expected contains \"Corner Shop\", got not found"},
	    {"/", "{\"body\": {\"not_contains\": \"new-checkout\"}}",
	     "body: expected does not contain \"new-checkout\", got found"},
	    {"/", "{\"body\": {\"contains\": [\"maintenance\", \"Corner Shop\"]}}",
	     "body: expected contains \"Corner Shop\", got not found"},
	    {"/", "{\"body\": {\"matches\": \"^<h1>Corner\"}}",
	     "body: expected matches /^<h1>Corner/, got no match"},
	    {"/empty", "{\"body\": {\"contains\": \"a\"}}",
	     "body: expected contains \"a\", got not found"},
	    {"/", "{\"json\": {\"$.status\": \"ok\"}}",
	     "json $.status: expected == ok, got body is not JSON"},
	    /* without a status assertion only 2xx passes, whatever the body says */
	    {"/503", "{\"body\": {\"contains\": \"Corner Shop\"}}",
	     "status: expected 2xx, got 503"},
	    {"/302", "{\"body\": {\"contains\": \"Corner Shop\"}}",
	     "status: expected 2xx, got 302"},
	    {"/203", "{\"status\": [200, 204]}", "status: expected 200 or 204, got 203"},
	    {"/503", "{\"status\": \"2xx\"}", "status: expected 2xx, got 503"},
	    {"/203", "{\"status\": \"2xx\", \"body\": {\"contains\": \"Corner Shop\"}}", NULL},
	    /* controls: the same server passes what is true */
	    {"/",
	     "{\"status\": 200, \"body\": {\"contains\": \"maintenance\", \"not_contains\": "
	     "\"Corner\"}}",
	     NULL},
	};
	run_content_cases(cases, AC_ARRAY_LEN(cases));
}
END_TEST

/* Bug caught: a HEAD step has no body, so "not_contains" and "size" held
 * whatever the page said: a false pass. Such a step does not load. */
START_TEST(head_step_cannot_assert_on_a_body)
{
	struct hs_server s;
	hs_start(&s, content, NULL);
	char *tgt = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	static const struct {
		const char *assert, *key;
	} cases[] = {
	    {"{\"body\": {\"not_contains\": \"maintenance\"}}", "assert.body"},
	    {"{\"size\": {\"<\": 10}}", "assert.size"},
	    {"{\"json\": {\"$.error\": {\"exists\": false}}}", "assert.json"},
	};
	for (size_t i = 0; i < AC_ARRAY_LEN(cases); i++) {
		char *j =
		    tu_fmt(TU_JOURNEY("head", "\"steps\": [{\"method\": \"HEAD\", \"url\": \"/\", "
					      "\"assert\": %s}]"),
			   cases[i].assert);
		char *path = tu_http_scenario("", tgt, j);
		struct tu_proc p;
		free(tu_run_check_json(&p, path, NULL));
		TU_EXPECT(p.exit_code == 3, &p, "%s: exit %d", cases[i].assert, p.exit_code);
		char *want = tu_fmt("journeys[0].steps[0].%s: a HEAD response has no body (use GET "
				    "to assert on it)",
				    cases[i].key);
		TU_EXPECT(strstr(p.err, want), &p, "stderr lacks: %s", want);
		free(want);
		tu_proc_release(&p);
		free(path);
		free(j);
	}
	/* Status and headers of a HEAD are fine; the capture of a body is not. */
	char *path = tu_http_scenario(
	    "", tgt,
	    TU_JOURNEY("head", "\"steps\": [{\"method\": \"HEAD\", \"url\": \"/\", "
			       "\"assert\": {\"status\": 200, \"headers\": "
			       "{\"Content-Length\": {\"exists\": true}}}}]"));
	tu_expect_check(path, 0, "VERDICT: RESTORED");
	free(path);
	path = tu_http_scenario("", tgt,
				TU_JOURNEY("head",
					   "\"steps\": [{\"method\": \"HEAD\", \"url\": \"/\", "
					   "\"capture\": {\"x\": {\"regex\": \"(m.)\"}}}]"));
	struct tu_proc p;
	free(tu_run_check_json(&p, path, NULL));
	TU_EXPECT(p.exit_code == 3, &p, "HEAD capture: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.err, "journeys[0].steps[0].capture.x: a HEAD response has no body"), &p,
		  "HEAD capture: the reason");
	tu_proc_release(&p);
	free(path);
	ck_assert_int_eq(hs_requests(&s), 1);
	free(tgt);
	hs_stop(&s);
}
END_TEST

/* Bug caught: a missing JSON path compared as 0, false or null (cJSON's
 * accessors return 0 for a missing item), or types coerced. */
START_TEST(json_missing_path_fails_as_missing_never_zero)
{
	static const struct content_case cases[] = {
	    {"/j/none", "{\"json\": {\"$.total\": {\"==\": 0}}}",
	     "json $.total: expected == 0, got (missing)"},
	    {"/j/none", "{\"json\": {\"$.total\": 0}}",
	     "json $.total: expected == 0, got (missing)"},
	    {"/j/none", "{\"json\": {\"$.total\": {\"==\": false}}}",
	     "json $.total: expected == false, got (missing)"},
	    {"/j/none", "{\"json\": {\"$.total\": {\"==\": null}}}",
	     "json $.total: expected == null, got (missing)"},
	    {"/j/none", "{\"json\": {\"$.total\": {\"!=\": 1}}}",
	     "json $.total: expected != 1, got (missing)"},
	    {"/j/none", "{\"json\": {\"$.total\": {\"<=\": 0}}}",
	     "json $.total: expected <= 0, got (missing)"},
	    {"/j/none", "{\"json\": {\"$.items[*].id\": {\"!=\": 0}}}",
	     "json $.items[*].id: expected != 0, got (missing)"},
	    /* present, but of another type */
	    {"/j/null", "{\"json\": {\"$.total\": 0}}", "json $.total: expected == 0, got null"},
	    {"/j/null", "{\"json\": {\"$.total\": {\"<=\": 0}}}",
	     "json $.total: expected <= 0, got null"},
	    {"/j/false", "{\"json\": {\"$.total\": 0}}", "json $.total: expected == 0, got false"},
	    {"/j/str", "{\"json\": {\"$.total\": 0}}",
	     "json $.total: expected == 0, got 0 (a string)"},
	    {"/j/zero", "{\"json\": {\"$.total\": \"0\"}}",
	     "json $.total: expected == 0, got 0 (a number)"},
	    /* the element that failed is the one shown */
	    {"/j/ids", "{\"json\": {\"$.results[*].id\": {\"!=\": 0}}}",
	     "json $.results[*].id: expected != 0, got 0"},
	    {"/j/zero", "{\"json\": {\"$.total\": false}}",
	     "json $.total: expected == false, got 0"},
	    {"/j/zero", "{\"json\": {\"$.total\": null}}", "json $.total: expected == null, got 0"},
	    /* controls */
	    {"/j/zero", "{\"json\": {\"$.total\": 0, \"$.ok\": false, \"$.gone\": null}}", NULL},
	    {"/j/zero", "{\"json\": {\"$.total\": {\"<=\": 0, \">=\": 0}}}", NULL},
	    {"/j/none", "{\"json\": {\"$.total\": {\"exists\": false}}}", NULL},
	};
	run_content_cases(cases, AC_ARRAY_LEN(cases));
}
END_TEST

/* Bug caught: "count" of a path that is not there read as 0, so an error
 * body passes "no failed jobs" ({"count": {"==": 0}}). */
START_TEST(json_count_of_a_missing_path_is_not_zero)
{
	static const struct content_case cases[] = {
	    {"/j/error", "{\"json\": {\"$.failed\": {\"count\": {\"==\": 0}}}}",
	     "json $.failed: expected count == 0, got (missing)"},
	    {"/j/error", "{\"json\": {\"$.failed[*]\": {\"count\": {\"==\": 0}}}}",
	     "json $.failed[*]: expected count == 0, got (missing)"},
	    {"/j/error", "{\"json\": {\"$.failed[*].id\": {\"count\": {\"<\": 1}}}}",
	     "json $.failed[*].id: expected count < 1, got (missing)"},
	    /* controls: an empty array is a count of 0 */
	    {"/j/emptyarr", "{\"json\": {\"$.failed\": {\"count\": {\"==\": 0}}}}", NULL},
	    {"/j/emptyarr", "{\"json\": {\"$.failed[*]\": {\"count\": {\"==\": 0}}}}", NULL},
	    {"/j/emptyarr", "{\"json\": {\"$.failed[*].id\": {\"count\": {\"==\": 0}}}}", NULL},
	};
	run_content_cases(cases, AC_ARRAY_LEN(cases));
}
END_TEST

/* Bug caught (review F12): a [*] element without the field was no match,
 * so "every match holds" held; != passed null, strings and booleans; a
 * count of null or of an object was 1. */
START_TEST(json_wildcard_elements_must_all_have_the_field)
{
	static const struct content_case cases[] = {
	    {"/j/gap", "{\"json\": {\"$.results[*].id\": {\"!=\": 0}}}",
	     "json $.results[*].id: expected != 0, got results[2].id missing"},
	    {"/j/gap", "{\"json\": {\"$.results[*].id\": {\"count\": {\">=\": 1}}}}",
	     "json $.results[*].id: expected count >= 1, got results[2].id missing"},
	    {"/j/gap", "{\"json\": {\"$.results[*].id\": {\"exists\": true}}}",
	     "json $.results[*].id: expected exists, got results[2].id missing"},
	    {"/j/nested", "{\"json\": {\"$.a[*].b[*].c\": {\"==\": 1}}}",
	     "json $.a[*].b[*].c: expected == 1, got a[1].b[1].c missing"},
	    {"/j/idnull", "{\"json\": {\"$.results[*].id\": {\"!=\": 0}}}",
	     "json $.results[*].id: expected != 0, got null"},
	    {"/j/str", "{\"json\": {\"$.total\": {\"!=\": 0}}}",
	     "json $.total: expected != 0, got 0 (a string)"},
	    {"/j/false", "{\"json\": {\"$.total\": {\"!=\": 1}}}",
	     "json $.total: expected != 1, got false"},
	    {"/j/null", "{\"json\": {\"$.total\": {\"!=\": 5}}}",
	     "json $.total: expected != 5, got null"},
	    {"/j/rnull", "{\"json\": {\"$.results\": {\"count\": {\"<=\": 5}}}}",
	     "json $.results: expected count <= 5, got null (not an array)"},
	    {"/j/robj", "{\"json\": {\"$.results\": {\"count\": {\"<=\": 5}}}}",
	     "json $.results: expected count <= 5, got an object (not an array)"},
	    /* controls */
	    {"/j/gap", "{\"json\": {\"$.results[*]\": {\"count\": {\"==\": 3}}}}", NULL},
	    {"/j/ids",
	     "{\"json\": {\"$.results[*].id\": {\"count\": {\"==\": 3}}, "
	     "\"$.results\": {\"count\": 3}}}",
	     NULL},
	    {"/j/nested", "{\"json\": {\"$.a[*].b[0].c\": {\"==\": 1}}}", NULL},
	    {"/j/zero", "{\"json\": {\"$.total\": {\"!=\": 1}, \"$.ok\": {\"!=\": true}}}", NULL},
	};
	run_content_cases(cases, AC_ARRAY_LEN(cases));
}
END_TEST

/* A body with a NUL byte: "classic-checkout \0 new-checkout". */
static void nul_body(int fd, const struct hs_request *q, void *ud)
{
	(void)q;
	(void)ud;
	static const char body[] = "classic-checkout \0 new-checkout";
	char head[160];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 sizeof(body) - 1);
	hs_write_all(fd, head, (size_t)n);
	hs_write_all(fd, body, sizeof(body) - 1);
}

/* Review: regular expressions ran on a C string, so a NUL byte ended the
 * subject: "classic-checkout [^n]*$" passed on a page that goes on to say
 * new-checkout, and a pattern after the NUL never matched. The whole body
 * is the subject now (REG_STARTEND), for assertions and captures. */
START_TEST(regex_sees_past_a_nul_byte)
{
	struct hs_server s;
	hs_start(&s, nul_body, NULL);
	char *tgt = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	const struct {
		const char *step;
		int exit;
	} cases[] = {
	    {"\"assert\": {\"body\": {\"matches\": \"classic-checkout [^n]*$\"}}", 1},
	    {"\"assert\": {\"body\": {\"matches\": \"new-checkout$\"}}", 0},
	    {"\"capture\": {\"flow\": {\"regex\": \"(new-[a-z]+)\"}}", 0},
	};
	for (size_t i = 0; i < AC_ARRAY_LEN(cases); i++) {
		char *steps =
		    tu_fmt("\"steps\": [{\"name\": \"page\", \"url\": \"/\", %s}]", cases[i].step);
		char *j = tu_fmt(TU_JOURNEY("nul", "%s"), steps);
		char *path = tu_http_scenario("", tgt, j);
		const char *args[] = {"check", path, NULL};
		struct tu_proc p;
		tu_run(&p, args, NULL, 30);
		TU_EXPECT(p.exit_code == cases[i].exit, &p, "case %zu: exit %d", i, p.exit_code);
		tu_proc_release(&p);
		free(path);
		free(j);
		free(steps);
	}
	free(tgt);
	hs_stop(&s);
}
END_TEST

TCase *http_content_tcase(void)
{
	TCase *con = tcase_create("content");
	tcase_set_timeout(con, 120);
	tcase_add_test(con, content_assertions_on_a_200_fail_with_the_exact_reason);
	tcase_add_test(con, head_step_cannot_assert_on_a_body);
	tcase_add_test(con, regex_sees_past_a_nul_byte);
	tcase_add_test(con, json_missing_path_fails_as_missing_never_zero);
	tcase_add_test(con, json_count_of_a_missing_path_is_not_zero);
	tcase_add_test(con, json_wildcard_elements_must_all_have_the_field);
	return con;
}
