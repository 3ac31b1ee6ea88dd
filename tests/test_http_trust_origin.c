/*
 * test_http_trust_origin.c: the rest of the "trust" test case of the http
 * suite: what a journey sends is what the scenario says and goes only where
 * it should: no header injected by a captured value, URL values
 * percent-encoded, no cookie or persona header carried to another origin, no
 * cleanup with a capture that was never made, and a check cut by the
 * round's own budget is not a failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "hostile.h"
#include "testutil.h"
#include "util.h"

void http_trust_origin_tests(TCase *tc);

/* --- 7: a captured value cannot inject headers ------------------------- */

static void injector(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	if (strcmp(q->path, "/token") == 0)
		hs_reply(fd, 200, "", "{\"tok\": \"abc\\r\\nX-Evil: 1\"}");
	else
		hs_reply(fd, 200, "", "{\"ok\": true}");
}

START_TEST(captured_crlf_never_reaches_a_header)
{
	struct hs_server s;
	hs_start(&s, injector, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario(
	    "", t,
	    TU_JOURNEY("inject",
		       "\"steps\": [{\"url\": \"/token\", \"capture\": {\"tok\": {\"json\": "
		       "\"$.tok\"}}}, {\"name\": \"use it\", \"url\": \"/use\", \"headers\": "
		       "{\"X-Token\": \"t=${tok}\"}}]"));
	struct tu_proc p;
	tu_run_check(&p, path, NULL);
	char *log = hs_log(&s);
	/* Checked on the server: no X-Evil, and the step sent nothing. */
	ck_assert_msg(!strstr(log, "X-Evil"), "%s", log);
	ck_assert_msg(!strstr(log, "/use"), "%s", log);
	TU_EXPECT(p.exit_code == 1, &p, "exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "why: step \"use it\": header X-Token: its value holds a line "
				"break or control character: refused, the request was not sent"),
		  &p, "reason");
	free(log);
	tu_proc_release(&p);
	hs_stop_free(&s, t, path);
}
END_TEST

/* --- 6: values go into URLs percent-encoded ----------------------------- */

/* Percent-decode text up to the first stop character (or the end). */
static char *pct_decode(const char *p, const char *stops)
{
	struct ac_buf b = AC_BUF_INIT;
	while (*p && !strchr(stops, *p)) {
		unsigned v;
		if (p[0] == '%' && p[1] && p[2] && sscanf(p + 1, "%2x", &v) == 1) {
			ac_buf_addc(&b, (char)v);
			p += 3;
		} else {
			ac_buf_addc(&b, *p++);
		}
	}
	return ac_buf_detach(&b);
}

static void url_sink(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	if (strcmp(q->path, "/token") == 0) {
		hs_reply(fd, 200, "", "{\"cv\": \"x y&z+w/\\u00fc\", \"bad\": \"has space\"}");
		return;
	}
	const char *tok = strstr(q->path, "tok=");
	if (tok) {
		/* A broken page echoing the query parameter, as the server saw it. */
		char *v = pct_decode(tok + 4, "&");
		char *body = tu_fmt("you sent tok=%s", v);
		hs_reply(fd, 500, "", body);
		free(body);
		free(v);
		return;
	}
	hs_reply(fd, 200, "", "{\"ok\":true}");
}

/* The value of parameter name in the request line of path, decoded. */
static char *param_of(const char *log, const char *path_prefix, const char *name)
{
	const char *l = strstr(log, path_prefix);
	ck_assert_msg(l != NULL, "no request to %s in\n%s", path_prefix, log);
	const char *eol = strchr(l, '\n');
	char *line = ac_strndup(l, eol ? (size_t)(eol - l) : strlen(l));
	char *key = tu_fmt("%s=", name);
	const char *v = strstr(line, key);
	char *r = v ? pct_decode(v + strlen(key), "& \n") : ac_strdup("(absent)");
	free(key);
	free(line);
	return r;
}

START_TEST(url_values_arrive_intact)
{
	struct hs_server s;
	hs_start(&s, url_sink, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *j = tu_fmt(
	    "{\"variables\": {\"v\": \"a b&c+d/\\u00e9\"}, \"settings\": {\"rounds\": 1, "
	    "\"confirm\": 1, \"timeout\": \"3s\"}, \"targets\": {%s}, \"journeys\": [%s]}",
	    t,
	    TU_JOURNEY("q", "\"steps\": [{\"url\": \"/token\", \"capture\": {\"cv\": {\"json\": "
			    "\"$.cv\"}}}, {\"url\": \"/search?q=${v}&x=1\"}, {\"url\": "
			    "\"/item/${v}?c=${cv}\"}]"));
	char *path = tu_write_temp(j, ".json");
	struct tu_proc p;
	tu_run_check(&p, path, NULL);
	TU_EXPECT(p.exit_code == 0, &p, "exit %d", p.exit_code);
	char *log = hs_log(&s);
	/* Decoded on the server side: every value arrives whole. */
	char *q = param_of(log, "GET /search?", "q"), *x = param_of(log, "GET /search?", "x");
	ck_assert_str_eq(q, "a b&c+d/\xc3\xa9");
	ck_assert_str_eq(x, "1");
	char *c = param_of(log, "GET /item/", "c");
	ck_assert_str_eq(c, "x y&z+w/\xc3\xbc");
	ck_assert_msg(strstr(log, "GET /item/a%20b%26c%2Bd%2F%C3%A9?c="), "%s", log);
	free(q);
	free(x);
	free(c);
	free(log);
	tu_proc_release(&p);
	free(j);
	hs_stop_free(&s, t, path);
}
END_TEST

START_TEST(url_secret_with_ampersand_is_sent_whole_and_masked)
{
	struct hs_server s;
	hs_start(&s, url_sink, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario(
	    "", t, TU_JOURNEY("e", "\"steps\": [{\"url\": \"/echo?tok=${env:AC_TEST_QTOKEN}\"}]"));
	const char *env[] = {"AC_TEST_QTOKEN=s3cr3tpart&tail+x", NULL};
	const char *args[] = {"check", path, NULL};
	struct tu_proc p;
	tu_run(&p, args, env, 60);
	TU_EXPECT(p.exit_code == 1, &p, "exit %d", p.exit_code);
	char *log = hs_log(&s);
	char *tok = param_of(log, "GET /echo?", "tok");
	ck_assert_str_eq(tok, "s3cr3tpart&tail+x");
	/* The server echoed what it got: no part of the secret is printed. */
	TU_EXPECT(!strstr(p.out, "s3cr3t") && !strstr(p.err, "s3cr3t"), &p, "secret printed");
	TU_EXPECT(strstr(p.out, "you sent tok=***"), &p, "masked echo");
	free(tok);
	free(log);
	tu_proc_release(&p);
	hs_stop_free(&s, t, path);
}
END_TEST

START_TEST(url_that_cannot_be_built_sends_nothing)
{
	struct hs_server s;
	hs_start(&s, url_sink, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	/* Known at load: a raw value with a space is a scenario error. */
	char *j = tu_fmt(
	    "{\"variables\": {\"v\": \"a b\"}, \"settings\": {\"rounds\": 1}, \"targets\": {%s}, "
	    "\"journeys\": [%s]}",
	    t,
	    TU_JOURNEY("raw", "\"steps\": [{\"url\": \"/token\"}, {\"url\": \"/p?q=${raw:v}\"}]"));
	char *path = tu_write_temp(j, ".json");
	struct tu_proc p;
	tu_run_check(&p, path, NULL);
	TU_EXPECT(p.exit_code == 3, &p, "exit %d", p.exit_code);
	TU_EXPECT(strstr(p.err, "journeys[0].steps[1].url: cannot build a URL from \"/p?q=a b\""),
		  &p, "names the key");
	ck_assert_int_eq(hs_requests(&s), 0);
	tu_proc_release(&p);
	free(path);
	free(j);
	/* A literal the URL cannot hold, next to a capture: still known at load. */
	path = tu_http_scenario(
	    "", t,
	    TU_JOURNEY("sp", "\"steps\": [{\"url\": \"/token\", \"capture\": {\"tok\": "
			     "{\"json\": \"$.cv\"}}}, {\"url\": \"/a b/${tok}\"}]"));
	tu_run_check(&p, path, NULL);
	TU_EXPECT(p.exit_code == 3, &p, "exit %d", p.exit_code);
	TU_EXPECT(
	    strstr(p.err, "journeys[0].steps[1].url: cannot build a URL from \"/a b/${tok}\""), &p,
	    "names the key");
	ck_assert_int_eq(hs_requests(&s), 0);
	tu_proc_release(&p);
	free(path);
	/* Known at run time only: the step is an ERROR, nothing sent. */
	path = tu_http_scenario(
	    "", t,
	    TU_JOURNEY("raw", "\"steps\": [{\"url\": \"/token\", \"capture\": {\"bad\": {\"json\": "
			      "\"$.bad\"}}}, {\"name\": \"use\", \"url\": \"/p?q=${raw:bad}\"}]"));
	tu_run_check(&p, path, NULL);
	TU_EXPECT(p.exit_code == 2, &p, "exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "why: step \"use\": could not build URL ("), &p, "reason");
	ck_assert_int_eq(hs_requests(&s), 1);
	tu_proc_release(&p);
	hs_stop_free(&s, t, path);
}
END_TEST

/* --- 5: cookies stay with the origin that set them ------------------------ */

static int other_port;

static void cookie_origin_a(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	if (strcmp(q->path, "/login") == 0) {
		char *h = tu_fmt("Set-Cookie: sid=a-cookie-canary; Path=/\r\n"
				 "Location: http://127.0.0.1:%d/landing\r\n",
				 other_port);
		hs_reply(fd, 302, h, "moved");
		free(h);
	} else if (strstr(q->headers, "sid=a-cookie-canary")) {
		hs_reply(fd, 200, "", "{\"signed_in\":true}");
	} else {
		hs_reply(fd, 401, "", "{\"signed_in\":false}");
	}
}

static void cookie_origin_b(int fd, const struct hs_request *q, void *ud)
{
	(void)q;
	(void)ud;
	hs_reply(fd, 200, "Set-Cookie: b=b-cookie-canary; Path=/\r\n", "{\"ok\":true}");
}

START_TEST(cookies_never_cross_to_another_port)
{
	struct hs_server a, b;
	hs_start(&b, cookie_origin_b, NULL);
	other_port = b.port;
	hs_start(&a, cookie_origin_a, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", a.port);
	char *steps =
	    tu_fmt("\"steps\": [{\"url\": \"/login\", \"follow_redirects\": 2, "
		   "\"redirect_other_hosts\": true}, {\"url\": \"http://127.0.0.1:%d/again\"}, "
		   "{\"name\": \"still signed in\", \"url\": \"/account\"}]",
		   b.port);
	char *j = tu_fmt(TU_JOURNEY("c", "%s"), steps);
	char *path = tu_http_scenario("", t, j);
	struct tu_proc p;
	tu_run_check(&p, path, NULL);
	char *la = hs_log(&a), *lb = hs_log(&b);
	/* B (same host, other port) never sees A's cookie, A never sees B's;
	 * A's own cookie still goes back to A. */
	ck_assert_int_eq(hs_requests(&b), 2);
	ck_assert_msg(!strstr(lb, "a-cookie-canary"), "%s", lb);
	ck_assert_msg(!strstr(la, "b-cookie-canary"), "%s", la);
	TU_EXPECT(p.exit_code == 0, &p, "exit %d", p.exit_code);
	free(la);
	free(lb);
	tu_proc_release(&p);
	hs_stop(&b);
	free(steps);
	free(j);
	hs_stop_free(&a, t, path);
}
END_TEST

/* --- a persona's headers go to the target only ---------------------------- */

static void ok_empty(int fd, const struct hs_request *q, void *ud)
{
	(void)q;
	(void)ud;
	hs_reply(fd, 200, "", "{}");
}

/* A step with an absolute URL to another origin gets its own headers but
 * never the persona's: those are credentials for the target. */
START_TEST(persona_headers_never_go_to_another_origin)
{
	struct hs_server a, b;
	hs_start(&a, ok_empty, NULL);
	hs_start(&b, ok_empty, NULL);
	char *json =
	    tu_fmt("{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"3s\"},"
		   " \"targets\": {\"origin\": \"http://127.0.0.1:%d\"},"
		   " \"personas\": {\"member\": {\"headers\": {\"Authorization\": \"Bearer "
		   "persona-canary-token\", \"X-Api-Key\": \"persona-canary-key\"}}},"
		   " \"journeys\": [" TU_JOURNEY(
		       "j", "\"persona\": \"member\", \"steps\": [{\"url\": \"/mine\"}, "
			    "{\"url\": \"http://127.0.0.1:%d/elsewhere\", \"headers\": "
			    "{\"X-Step\": \"own\"}}]") "]}",
		   a.port, b.port);
	char *path = tu_write_temp(json, ".json");
	struct tu_proc p;
	tu_run_check(&p, path, NULL);
	char *la = hs_log(&a), *lb = hs_log(&b);
	TU_EXPECT(p.exit_code == 0, &p, "exit %d", p.exit_code);
	ck_assert_msg(strstr(la, "persona-canary-token") && strstr(la, "persona-canary-key"), "%s",
		      la);
	ck_assert_int_eq(hs_requests(&b), 1);
	ck_assert_msg(!strstr(lb, "persona-canary"), "%s", lb);
	ck_assert_msg(strstr(lb, "X-Step: own"), "%s", lb);
	free(la);
	free(lb);
	tu_proc_release(&p);
	hs_stop(&b);
	free(json);
	hs_stop_free(&a, path, NULL);
}
END_TEST

/* --- a cleanup step never runs with a capture that was never made ------- */

static void place_fails(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	if (strcmp(q->path, "/orders") == 0 && strcmp(q->method, "POST") == 0)
		hs_reply(fd, 500, "", "{\"error\": \"down\"}");
	else if (strcmp(q->path, "/carts") == 0)
		hs_reply(fd, 200, "", "{}"); /* 200, but no id to capture */
	else
		hs_reply(fd, 204, "", "");
}

/* The README's own shape: place an order, capture its id, DELETE it in
 * cleanup. When placing fails before the capture, the cleanup must not
 * send "DELETE /orders/" (the collection) or a body with "" for the id. */
START_TEST(cleanup_never_runs_with_a_missing_capture)
{
	struct hs_server s;
	hs_start(&s, place_fails, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *j = ac_strdup(TU_JOURNEY(
	    "orders",
	    "\"steps\": [{\"name\": \"place\", \"method\": \"POST\", \"url\": "
	    "\"/orders\", \"capture\": {\"order\": {\"json\": \"$.id\"}}}], "
	    "\"cleanup\": [{\"name\": \"delete\", \"method\": \"DELETE\", \"url\": "
	    "\"/orders/${order}\"}]") "," TU_JOURNEY("carts",
						     "\"steps\": [{\"name\": \"cart\", \"method\": "
						     "\"POST\", \"url\": \"/carts\", \"capture\": "
						     "{\"cart\": {\"json\": \"$.id\"}}}], "
						     "\"cleanup\": "
						     "[{\"name\": \"drop\", \"method\": \"POST\", "
						     "\"url\": "
						     "\"/drop\", \"json\": {\"id\": "
						     "\"${cart}\"}}]"));
	char *path = tu_http_scenario("\"allow_writes\": true", t, j);
	struct tu_proc p;
	tu_run_check(&p, path, NULL);
	char *log = hs_log(&s);
	TU_EXPECT(p.exit_code == 1, &p, "exit %d", p.exit_code);
	ck_assert_msg(!strstr(log, "DELETE") && !strstr(log, "/drop"), "%s", log);
	ck_assert_int_eq(hs_requests(&s), 2);
	TU_EXPECT(strstr(p.out, "not sent: ${order} was never captured"), &p, "no reason");
	free(log);
	tu_proc_release(&p);
	free(j);
	hs_stop_free(&s, t, path);
}
END_TEST

/* --- a check starved by allclear's own round budget measured nothing ---- */

static void hang_or_ok(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	if (strcmp(q->path, "/hang") == 0)
		sleep(8);
	hs_reply(fd, 200, "", "{}");
}

/* With one check at a time, b starts when a has used up the round: b is cut
 * by the round's limit, not by anything the product did. */
START_TEST(check_cut_by_the_round_budget_is_not_a_failure)
{
	struct hs_server s;
	hs_start(&s, hang_or_ok, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path =
	    tu_http_scenario("\"concurrency\": 1, \"round_timeout\": \"2s\"", t,
			     TU_JOURNEY("a", "\"steps\": [{\"url\": \"/hang\"}]") "," TU_JOURNEY(
				 "b", "\"steps\": [{\"url\": \"/ok\"}]"));
	char *json = tu_fmt("%s.json", path);
	const char *args[] = {"check", path, "--json", json, NULL};
	struct tu_proc p;
	tu_run(&p, args, NULL, 60);
	char *rep = tu_read_file(json);
	cJSON *doc = cJSON_Parse(rep);
	ck_assert_ptr_nonnull(doc);
	const cJSON *c;
	int seen = 0;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "checks"))
	{
		const char *id = cJSON_GetObjectItem(c, "id")->valuestring;
		const char *st = cJSON_GetObjectItem(c, "state")->valuestring;
		if (strncmp(id, "b", 1) == 0) {
			seen++;
			ck_assert_msg(strcmp(st, "ERROR") == 0, "b is %s", st);
		}
		if (strncmp(id, "a", 1) == 0)
			ck_assert_msg(strcmp(st, "FAIL") == 0, "a is %s", st);
	}
	ck_assert_int_eq(seen, 1);
	TU_EXPECT(p.exit_code == 1, &p, "exit %d", p.exit_code);
	cJSON_Delete(doc);
	unlink(json);
	free(rep);
	free(json);
	tu_proc_release(&p);
	hs_stop_free(&s, t, path);
}
END_TEST

void http_trust_origin_tests(TCase *tc)
{
	tcase_add_test(tc, captured_crlf_never_reaches_a_header);
	tcase_add_test(tc, url_values_arrive_intact);
	tcase_add_test(tc, url_secret_with_ampersand_is_sent_whole_and_masked);
	tcase_add_test(tc, url_that_cannot_be_built_sends_nothing);
	tcase_add_test(tc, cookies_never_cross_to_another_port);
	tcase_add_test(tc, persona_headers_never_go_to_another_origin);
	tcase_add_test(tc, cleanup_never_runs_with_a_missing_capture);
	tcase_add_test(tc, check_cut_by_the_round_budget_is_not_a_failure);
}
