/*
 * test_http.c: journeys through the allclear binary against purpose-built
 * HTTP servers on loopback: healthy and misbehaving ones, redirects that
 * try to carry credentials away, bodies that never end, servers that never
 * answer, and canary secrets that must not reach any output.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile.h"
#include "mask.h"
#include "testutil.h"
#include "util.h"

/* --- handlers (they run in the server child) ---------------------------- */

static void shop(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	if (strcmp(q->path, "/login") == 0 && strcmp(q->method, "POST") == 0) {
		if (strstr(q->body, "password=right"))
			hs_reply(fd, 200, "Set-Cookie: sid=s3ss10n-canary; Path=/; HttpOnly\r\n",
				 "{\"user\":\"alice\"}");
		else
			hs_reply(fd, 401, "", "{\"error\":\"no\"}");
	} else if (strcmp(q->path, "/account") == 0) {
		if (strstr(q->headers, "sid=s3ss10n-canary"))
			hs_reply(fd, 200, "X-Build: v41\r\n", "{\"user\":\"alice\",\"n\":[1,2,3]}");
		else
			hs_reply(fd, 401, "", "{\"error\":\"login required\"}");
	} else if (strcmp(q->path, "/") == 0 || strncmp(q->path, "/?", 2) == 0) {
		hs_reply(fd, 200, "X-Build: v41\r\nAge: 10\r\n", "<h1>Corner Shop</h1> id=42 ok");
	} else if (strcmp(q->path, "/orders") == 0 && strcmp(q->method, "POST") == 0) {
		hs_reply(fd, 201, "", "{\"id\":7,\"status\":\"pending\"}");
	} else if (strcmp(q->path, "/orders/7") == 0 && strcmp(q->method, "GET") == 0) {
		/* processed from the third look on (request 1 is the POST) */
		hs_reply(fd, 200, "",
			 q->seq >= 4 ? "{\"status\":\"processed\"}" : "{\"status\":\"pending\"}");
	} else if (strcmp(q->path, "/orders/7") == 0 && strcmp(q->method, "DELETE") == 0) {
		hs_reply(fd, 204, "", "");
	} else if (strncmp(q->path, "/echo", 5) == 0) {
		/* A broken page that echoes the request, credentials and all. */
		struct ac_buf b = AC_BUF_INIT;
		ac_buf_adds(&b, "error page; you sent: ");
		ac_buf_adds(&b, q->path);
		ac_buf_adds(&b, q->headers);
		ac_buf_adds(&b, q->body);
		hs_reply(fd, 500, "", b.buf);
		ac_buf_release(&b);
	} else if (strcmp(q->path, "/slow") == 0) {
		sleep(30);
	} else {
		hs_reply(fd, 404, "", "{\"error\":\"not found\"}");
	}
}

static void idle(int fd, const struct hs_request *q, void *ud)
{
	(void)fd;
	(void)q;
	(void)ud;
	sleep(60);
}

static void endless(int fd, const struct hs_request *q, void *ud)
{
	(void)q;
	(void)ud;
	const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	if (write(fd, h, strlen(h)) < 0)
		return;
	char chunk[65536 + 16];
	int n = snprintf(chunk, sizeof(chunk), "10000\r\n");
	memset(chunk + n, 'x', 65536);
	memcpy(chunk + n + 65536, "\r\n", 2);
	for (int i = 0; i < 100000; i++)
		if (write(fd, chunk, (size_t)n + 65536 + 2) < 0)
			return;
}

static int echo_port;
static void redirector(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	char loc[128];
	if (strcmp(q->path, "/loop") == 0)
		snprintf(loc, sizeof(loc), "Location: /loop\r\n");
	else if (strcmp(q->path, "/file") == 0)
		snprintf(loc, sizeof(loc), "Location: file:///etc/passwd\r\n");
	else
		snprintf(loc, sizeof(loc), "Location: http://127.0.0.1:%d/steal\r\n", echo_port);
	hs_reply(fd, 302, loc, "moved");
}

START_TEST(healthy_target_is_restored)
{
	struct hs_server s;
	hs_start(&s, shop, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario(
	    "", t,
	    TU_JOURNEY("home",
		       "\"steps\": [{\"url\": \"/\", \"assert\": {\"status\": 200, "
		       "\"headers\": {\"X-Build\": \"v41\", \"Age\": {\"exists\": true}, "
		       "\"X-Nope\": {\"exists\": false}}, \"body\": {\"contains\": \"Corner\","
		       " \"not_contains\": \"new-checkout\", \"matches\": \"id=[0-9]+\"},"
		       " \"duration\": \"2s\", \"size\": {\"<\": 1000}}}]"));
	struct tu_proc p;
	char *rep = tu_run_check_json(&p, path, NULL);
	ck_assert_msg(p.exit_code == 0, "exit %d\n%s\n%s", p.exit_code, p.out, p.err);
	ck_assert_ptr_nonnull(strstr(p.out, "VERDICT: RESTORED"));
	ck_assert_ptr_nonnull(rep);
	ck_assert_ptr_nonnull(strstr(rep, "\"verdict\":\t\"RESTORED\""));
	free(rep);
	tu_proc_release(&p);
	hs_stop(&s);
	free(t);
	free(path);
}
END_TEST

START_TEST(assertion_failure_names_step_expectation_actual_and_excerpt)
{
	struct hs_server s;
	hs_start(&s, shop, NULL);
	char *t = tu_fmt("\"edge-eu\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario(
	    "", t,
	    TU_JOURNEY("home", "\"steps\": [{\"name\": \"open home\", \"url\": \"/\","
			       " \"assert\": {\"headers\": {\"X-Build\": \"v42\"}}}]"));
	struct tu_proc p;
	free(tu_run_check_json(&p, path, NULL));
	ck_assert_int_eq(p.exit_code, 1);
	ck_assert_msg(strstr(p.out, "VERDICT: NOT RESTORED"), "%s", p.out);
	ck_assert_msg(
	    strstr(p.out, "step \"open home\": header X-Build: expected equals \"v42\", got v41"),
	    "%s", p.out);
	ck_assert_ptr_nonnull(strstr(p.out, "body: <h1>Corner Shop</h1>"));
	ck_assert_ptr_nonnull(strstr(p.out, "owner: web"));
	ck_assert_ptr_nonnull(strstr(p.out, "target: edge-eu"));
	ck_assert_ptr_nonnull(strstr(p.out, "served by: build v41, Age 10 s"));
	tu_proc_release(&p);
	hs_stop(&s);
	free(t);
	free(path);
}
END_TEST

START_TEST(refused_connection_fails_naming_the_step)
{
	int port;
	int fd = tu_listen(&port);
	close(fd); /* nothing listens there now */
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", port);
	char *path = tu_http_scenario(
	    "", t, TU_JOURNEY("home", "\"steps\": [{\"name\": \"open home\", \"url\": \"/\"}]"));
	struct tu_proc p;
	free(tu_run_check_json(&p, path, NULL));
	ck_assert_int_eq(p.exit_code, 1);
	ck_assert_msg(strstr(p.out, "step \"open home\": GET http://127.0.0.1:") &&
			  strstr(p.out, "connection refused"),
		      "%s", p.out);
	tu_proc_release(&p);
	free(t);
	free(path);
}
END_TEST

START_TEST(silent_server_times_out_in_bounded_time)
{
	struct hs_server s;
	hs_start(&s, idle, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario(
	    "", t, TU_JOURNEY("home", "\"steps\": [{\"url\": \"/\", \"timeout\": \"1s\"}]"));
	struct tu_proc p;
	free(tu_run_check_json(&p, path, NULL));
	ck_assert_int_eq(p.exit_code, 1);
	ck_assert_msg(strstr(p.out, "timeout after") && strstr(p.out, "no response"), "%s", p.out);
	ck_assert_int_lt(p.elapsed_ms, 4000);
	tu_proc_release(&p);
	hs_stop(&s);
	free(t);
	free(path);
}
END_TEST

START_TEST(endless_body_is_cut_at_the_cap)
{
	struct hs_server s;
	hs_start(&s, endless, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario("\"max_body\": \"1MiB\"", t,
				      TU_JOURNEY("big", "\"steps\": [{\"url\": \"/\"}]"));
	struct tu_proc p;
	free(tu_run_check_json(&p, path, NULL));
	ck_assert_int_eq(p.exit_code, 1);
	ck_assert_msg(strstr(p.out, "response body exceeds the cap of 1048576 bytes"), "%s", p.out);
	ck_assert_int_lt(p.elapsed_ms, 3000);
	tu_proc_release(&p);
	hs_stop(&s);
	free(t);
	free(path);
}
END_TEST

START_TEST(redirect_to_another_host_never_carries_credentials)
{
	struct hs_server echo, red;
	hs_start(&echo, hs_ok_any, NULL);
	echo_port = echo.port;
	hs_start(&red, redirector, NULL);
	setenv("AC_TEST_TOKEN", "tok-canary-5150", 1);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", red.port);
	char *path = tu_http_scenario(
	    "", t,
	    TU_JOURNEY("account",
		       "\"steps\": [{\"url\": \"/go\", \"follow_redirects\": 3,"
		       " \"headers\": {\"Authorization\": \"Bearer ${env:AC_TEST_TOKEN}\","
		       " \"X-Api-Key\": \"${env:AC_TEST_TOKEN}\"}}]"));
	struct tu_proc p;
	free(tu_run_check_json(&p, path, NULL));
	ck_assert_int_eq(p.exit_code, 1);
	ck_assert_msg(strstr(p.out, "cross-origin redirect to http://127.0.0.1:") &&
			  strstr(p.out, "refused"),
		      "%s", p.out);
	ck_assert_int_eq(hs_requests(&echo), 0);
	ck_assert_int_eq(hs_requests(&red), 1);
	tu_proc_release(&p);

	/* Allowed to follow: the other host sees none of the step's headers. */
	char *path2 = tu_http_scenario(
	    "", t,
	    TU_JOURNEY("account",
		       "\"steps\": [{\"url\": \"/go\", \"follow_redirects\": 3,"
		       " \"redirect_other_hosts\": true,"
		       " \"headers\": {\"Authorization\": \"Bearer ${env:AC_TEST_TOKEN}\","
		       " \"X-Api-Key\": \"${env:AC_TEST_TOKEN}\"}}]"));
	free(tu_run_check_json(&p, path2, NULL));
	ck_assert_msg(p.exit_code == 0, "%s", p.out);
	char *log = hs_log(&echo);
	ck_assert_int_eq(hs_requests(&echo), 1);
	ck_assert_msg(!strstr(log, "tok-canary") && !strcasestr(log, "Authorization") &&
			  !strcasestr(log, "X-Api-Key"),
		      "%s", log);
	free(log);
	tu_proc_release(&p);

	/* A redirect loop stops at the limit; file:// is never followed. */
	char *path3 = tu_http_scenario(
	    "", t,
	    TU_JOURNEY(
		"loop",
		"\"steps\": [{\"url\": \"/loop\", "
		"\"follow_redirects\": 4}]") "," TU_JOURNEY("file",
							    "\"steps\": [{\"url\": \"/file\", "
							    "\"follow_redirects\": 4}]"));
	free(tu_run_check_json(&p, path3, NULL));
	ck_assert_int_eq(p.exit_code, 1);
	ck_assert_msg(strstr(p.out, "redirect limit of 4 reached"), "%s", p.out);
	ck_assert_msg(strstr(p.out, "protocol not allowed"), "%s", p.out);
	tu_proc_release(&p);
	hs_stop(&echo);
	hs_stop(&red);
	free(t);
	free(path);
	free(path2);
	free(path3);
}
END_TEST

START_TEST(malformed_scenario_exits_3_and_sends_nothing)
{
	struct hs_server s;
	hs_start(&s, hs_ok_any, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario(
	    "", t,
	    TU_JOURNEY("a", "\"steps\": [{\"url\": \"/\"}]") "," TU_JOURNEY(
		"b", "\"steps\": [{\"url\": \"/\", \"asert\": {\"status\": 200}}]"));
	struct tu_proc p;
	free(tu_run_check_json(&p, path, NULL));
	ck_assert_int_eq(p.exit_code, 3);
	ck_assert_msg(
	    strstr(p.err, "journeys[1].steps[0].asert: unknown key, did you mean \"assert\"?"),
	    "%s", p.err);
	ck_assert_ptr_nonnull(strstr(p.err, "nothing was probed"));
	ck_assert_int_eq(hs_requests(&s), 0);
	tu_proc_release(&p);
	/* lint: the same verdict on the file, without a request either */
	const char *args[] = {"lint", path, NULL};
	tu_run(&p, args, NULL, 20);
	ck_assert_int_eq(p.exit_code, 3);
	ck_assert_int_eq(hs_requests(&s), 0);
	tu_proc_release(&p);
	hs_stop(&s);
	free(t);
	free(path);
}
END_TEST

static void assert_no_canary(const char *where, const char *text, const char *canary)
{
	/* raw, URL-encoded (no special characters in these canaries) and base64 */
	ck_assert_msg(!strstr(text, canary), "%s leaks %s:\n%s", where, canary, text);
	struct ac_mask *m = ac_mask_create();
	ac_mask_add(m, canary);
	char *masked = ac_mask_apply(m, text);
	ck_assert_msg(strcmp(masked, text) == 0, "%s leaks an encoded form of %s:\n%s", where,
		      canary, text);
	free(masked);
	ac_mask_destroy(m);
}

START_TEST(canary_secrets_reach_no_output)
{
	struct hs_server s;
	hs_start(&s, shop, NULL);
	setenv("AC_TEST_PW", "pw-canary-8c1d", 1);
	char *file = tu_write_temp("file-canary-93ab\n", ".secret");
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *journeys = tu_fmt(
	    TU_JOURNEY(
		"echo",
		"\"persona\": \"signed_in\", \"steps\": [{\"url\": \"/echo?key=${env:AC_TEST_PW}\","
		" \"headers\": {\"Authorization\": \"Basic ${file:%s}\", \"X-Api-Key\": "
		"\"${env:AC_TEST_PW}\"},"
		" \"assert\": {\"body\": {\"contains\": \"${env:AC_TEST_PW}\"}, \"status\": "
		"200}}]"),
	    file);
	char *json =
	    tu_fmt("{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"allow_writes\": true},"
		   " \"targets\": {%s}, \"variables\": {\"pw\": \"${env:AC_TEST_PW}\"},"
		   " \"personas\": {\"signed_in\": {\"login\": [{\"method\": \"POST\", \"url\": "
		   "\"/login\","
		   "   \"write\": false, \"form\": {\"user\": \"alice\", \"password\": \"right\", "
		   "\"x\": \"${pw}\"},"
		   "   \"capture\": {\"sid\": {\"cookie\": \"sid\"}}}]}},"
		   " \"journeys\": [%s]}",
		   t, journeys);
	char *path = tu_write_temp(json, ".json");
	char *junit = tu_fmt("%s.xml", path), *md = tu_fmt("%s.md", path);
	char *json_out = tu_fmt("%s.report.json", path);
	const char *args[] = {"check", path,	     "--json", json_out, "--junit",
			      junit,   "--markdown", md,       "-v",	 NULL};
	struct tu_proc p;
	tu_run(&p, args, NULL, 60);
	ck_assert_msg(p.exit_code == 1, "exit %d\n%s\n%s", p.exit_code, p.out, p.err);
	/* The server did get the secrets: the test proves masking, not absence. */
	char *log = hs_log(&s);
	ck_assert_ptr_nonnull(strstr(log, "pw-canary-8c1d"));
	free(log);
	const char *canaries[] = {"pw-canary-8c1d", "file-canary-93ab", "s3ss10n-canary"};
	char *outs[3] = {tu_read_file(json_out), tu_read_file(junit), tu_read_file(md)};
	for (size_t c = 0; c < 3; c++) {
		assert_no_canary("stdout", p.out, canaries[c]);
		assert_no_canary("stderr", p.err, canaries[c]);
		for (size_t o = 0; o < 3; o++)
			assert_no_canary(o == 0	  ? "json"
					 : o == 1 ? "junit"
						  : "markdown",
					 outs[o], canaries[c]);
	}
	/* ...and the failure is still explained. */
	ck_assert_msg(strstr(p.out, "status: expected 200, got 500"), "%s", p.out);
	for (size_t o = 0; o < 3; o++)
		free(outs[o]);
	unlink(json_out);
	unlink(junit);
	unlink(md);
	tu_proc_release(&p);
	hs_stop(&s);
	free(json_out);
	free(junit);
	free(md);
	free(journeys);
	free(json);
	free(t);
	free(path);
	free(file);
}
END_TEST

START_TEST(capture_wait_and_cleanup)
{
	struct hs_server s;
	hs_start(&s, shop, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario(
	    "\"allow_writes\": true", t,
	    TU_JOURNEY(
		"order",
		"\"steps\": [{\"name\": \"place\", \"method\": \"POST\", \"url\": \"/orders\","
		" \"json\": {\"product_id\": 10}, \"assert\": {\"status\": 201},"
		" \"capture\": {\"id\": {\"json\": \"$.id\"}}},"
		"{\"name\": \"processed\", \"url\": \"/orders/${id}\","
		" \"wait\": {\"every\": \"100ms\", \"up_to\": \"5s\"},"
		" \"assert\": {\"json\": {\"$.status\": \"processed\"}}},"
		"{\"name\": \"break\", \"url\": \"/nope\"}],"
		" \"cleanup\": [{\"name\": \"delete\", \"method\": \"DELETE\", \"url\": "
		"\"/orders/${id}\"}]"));
	struct tu_proc p;
	char *rep = tu_run_check_json(&p, path, NULL);
	ck_assert_int_eq(p.exit_code, 1);
	ck_assert_msg(strstr(p.out, "step \"break\""), "%s", p.out);
	ck_assert_ptr_nonnull(rep);
	ck_assert_msg(strstr(rep, "\"name\":\t\"processed\"") && strstr(rep, "\"tries\":\t3"), "%s",
		      rep);
	char *log = hs_log(&s);
	/* the cleanup ran after the failure, with the captured id */
	ck_assert_msg(strstr(log, "DELETE /orders/7"), "%s", log);
	free(log);
	free(rep);
	tu_proc_release(&p);
	hs_stop(&s);
	free(t);
	free(path);
}
END_TEST

START_TEST(personas_do_not_share_cookies)
{
	struct hs_server s;
	hs_start(&s, shop, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *json = tu_fmt(
	    "{\"settings\": {\"rounds\": 2, \"interval\": \"100ms\", \"confirm\": 1},"
	    " \"targets\": {%s},"
	    " \"personas\": {\"signed_in\": {\"login\": [{\"method\": \"POST\", \"url\": "
	    "\"/login\","
	    "   \"write\": false, \"form\": {\"user\": \"alice\", \"password\": \"right\"}}]}},"
	    " \"journeys\": [" TU_JOURNEY(
		"acct",
		"\"persona\": \"signed_in\", \"steps\": [{\"url\": \"/account\","
		" \"assert\": {\"json\": {\"$.n\": {\"count\": 3}, \"$.n[*]\": {\">\": "
		"0}}}}]") "," TU_JOURNEY("anon",
					 "\"persona\": \"visitor\", \"steps\": [{\"url\": "
					 "\"/account\", \"assert\": {\"status\": 401}}]") "]}",
	    t);
	char *path = tu_write_temp(json, ".json");
	struct tu_proc p;
	char *rep = tu_run_check_json(&p, path, NULL);
	ck_assert_ptr_nonnull(rep); /* the report is written */
	free(rep);
	ck_assert_msg(p.exit_code == 0, "%s\n%s", p.out, p.err);
	char *log = hs_log(&s);
	/* Visitors never carry the signed-in persona's cookie. */
	const char *q = log;
	int anon = 0;
	while ((q = strstr(q, "=== "))) {
		const char *next = strstr(q + 4, "=== ");
		size_t len = next ? (size_t)(next - q) : strlen(q);
		char *req = ac_strndup(q, len);
		if (strstr(req, "GET /account") && !strstr(req, "sid=")) {
			anon++;
		}
		free(req);
		q += 4;
	}
	ck_assert_int_eq(anon, 2);
	free(log);
	tu_proc_release(&p);
	hs_stop(&s);
	free(json);
	free(t);
	free(path);
}
END_TEST

START_TEST(one_hanging_journey_of_twenty_keeps_the_others)
{
	struct hs_server s;
	hs_start(&s, shop, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	struct ac_buf b = AC_BUF_INIT;
	for (int i = 0; i < 19; i++)
		ac_buf_addf(&b,
			    "{\"name\": \"ok %d\", \"area\": \"code\", \"owner\": \"w\", "
			    "\"steps\": [{\"url\": \"/\"}]},",
			    i);
	ac_buf_adds(
	    &b, TU_JOURNEY("hang", "\"steps\": [{\"url\": \"/slow\", \"timeout\": \"1500ms\"}]"));
	char *path = tu_http_scenario("", t, b.buf);
	struct tu_proc p;
	char *rep = tu_run_check_json(&p, path, NULL);
	ck_assert_ptr_nonnull(rep); /* the report is written */
	free(rep);
	ck_assert_int_eq(p.exit_code, 1);
	ck_assert_int_lt(p.elapsed_ms, 5000);
	ck_assert_msg(strstr(p.out, "hang @ origin") && strstr(p.out, "19 checks passed"), "%s",
		      p.out);
	tu_proc_release(&p);
	ac_buf_release(&b);
	hs_stop(&s);
	free(t);
	free(path);
}
END_TEST

START_TEST(tls_failure_is_inconclusive_not_a_pass)
{
	struct hs_server s;
	hs_start(&s, hs_ok_any, NULL);
	char *t = tu_fmt("\"origin\": \"https://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario("", t, TU_JOURNEY("tls", "\"steps\": [{\"url\": \"/\"}]"));
	struct tu_proc p;
	char *rep = tu_run_check_json(&p, path, NULL);
	ck_assert_ptr_nonnull(rep); /* the report is written */
	free(rep);
	ck_assert_msg(p.exit_code == 2 || p.exit_code == 1, "%d %s", p.exit_code, p.out);
	ck_assert_ptr_null(strstr(p.out, "VERDICT: RESTORED"));
	tu_proc_release(&p);
	hs_stop(&s);
	free(t);
	free(path);
}
END_TEST

START_TEST(sigterm_mid_window_reports_and_is_inconclusive)
{
	struct hs_server s;
	hs_start(&s, shop, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario("\"interval\": \"500ms\"", t,
				      TU_JOURNEY("home", "\"steps\": [{\"url\": \"/\"}]"));
	char *json_out = tu_fmt("%s.report.json", path), *o;
	const char *args[] = {"watch", path, "--window", "60s", "--json", json_out, NULL};
	int64_t exit_ms;
	int rc = tu_run_signalled(args, SIGTERM, 1600, &o, &exit_ms);
	ck_assert_int_lt(exit_ms, 5000);
	ck_assert_int_eq(rc, 2);
	char *rep = tu_read_file(json_out);
	ck_assert_msg(strstr(o, "VERDICT: INCONCLUSIVE") && strstr(o, "interrupted"), "%s", o);
	ck_assert_msg(strstr(rep, "\"interrupted\":\ttrue"), "%s", rep);
	unlink(json_out);
	free(o);
	free(rep);
	free(json_out);
	hs_stop(&s);
	free(t);
	free(path);
}
END_TEST

START_TEST(baseline_save_and_within_baseline)
{
	struct hs_server s;
	hs_start(&s, shop, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	/* The value comes from a regex capture; a header capture rides along. */
	char *path = tu_http_scenario(
	    "", t,
	    TU_JOURNEY("home", "\"value\": \"${id}\", \"within_baseline\": \"10%\","
			       " \"steps\": [{\"url\": \"/\", \"capture\": {\"id\": {\"regex\":"
			       " \"id=([0-9]+)\"}, \"build\": {\"header\": \"X-Build\"}}},"
			       " {\"url\": \"/?b=${build}\", \"assert\": {\"status\": 200}}]"));
	char *base = tu_fmt("%s.baseline.json", path);
	struct tu_proc p;
	/* Without a saved baseline the check cannot be judged. */
	char *rep = tu_run_check_json(&p, path, NULL);
	ck_assert_ptr_nonnull(rep); /* the report is written */
	free(rep);
	TU_EXPECT(p.exit_code == 2, &p, "no baseline: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "no baseline value saved"), &p, "says why");
	tu_proc_release(&p);
	const char *save[] = {"baseline", "save", path, "-o", base, NULL};
	tu_run(&p, save, NULL, 30);
	TU_EXPECT(p.exit_code == 0, &p, "baseline save: exit %d", p.exit_code);
	char *saved = tu_read_file(base);
	ck_assert_msg(strstr(saved, "\"home @ origin\":\t42"), "%s", saved);
	tu_proc_release(&p);
	char *json_out = tu_fmt("%s.report.json", path);
	const char *check[] = {"check", path, "--baseline", base, "--json", json_out, NULL};
	tu_run(&p, check, NULL, 30);
	TU_EXPECT(p.exit_code == 0, &p, "within the baseline: exit %d", p.exit_code);
	tu_proc_release(&p);
	/* A baseline the value is far from fails. */
	char *far = ac_strdup(saved);
	char *at = strstr(far, "\"home @ origin\":\t42");
	memcpy(at + strlen("\"home @ origin\":\t"), "10", 2);
	FILE *f = fopen(base, "w");
	fputs(far, f);
	fclose(f);
	tu_run(&p, check, NULL, 30);
	TU_EXPECT(p.exit_code == 1, &p, "off the baseline: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "away from the baseline 10"), &p, "says how far");
	tu_proc_release(&p);
	/* A baseline of another scenario is refused before anything is probed. */
	f = fopen(base, "w");
	fputs("{\"version\": 1, \"scenario\": \"another shop\","
	      " \"values\": {\"home @ origin\": 42}}",
	      f);
	fclose(f);
	int before = hs_requests(&s);
	tu_run(&p, check, NULL, 30);
	TU_EXPECT(p.exit_code == 3, &p, "another scenario's baseline: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.err, "a baseline of scenario \"another shop\", not of"), &p, "says why");
	ck_assert_int_eq(hs_requests(&s), before);
	tu_proc_release(&p);
	/* A report file that cannot be written is found before probing. */
	const char *bad_out[] = {"check", path, "--json", "/nonexistent-dir/r.json", NULL};
	tu_run(&p, bad_out, NULL, 30);
	TU_EXPECT(p.exit_code == 3, &p, "unwritable --json: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.err, "cannot write /nonexistent-dir/r.json") &&
		      strstr(p.err, "nothing was probed"),
		  &p, "says why");
	ck_assert_int_eq(hs_requests(&s), before);
	tu_proc_release(&p);
	const char *same[] = {"check", path, "--json", json_out, "--markdown", json_out, NULL};
	tu_run(&p, same, NULL, 30);
	TU_EXPECT(p.exit_code == 3 && strstr(p.err, "is named for two reports"), &p,
		  "one file for two reports: exit %d", p.exit_code);
	ck_assert_int_eq(hs_requests(&s), before);
	tu_proc_release(&p);
	/* "--json -": the JSON report on standard output, after the terminal
	 * report, and no file named "-". */
	f = fopen(base, "w");
	fputs(saved, f);
	fclose(f);
	const char *dash[] = {"check", path, "--baseline", base, "--quiet", "--json", "-", NULL};
	unlink("-");
	tu_run(&p, dash, NULL, 30);
	TU_EXPECT(p.exit_code == 0, &p, "--json -: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "RESTORED") && strstr(p.out, "\"verdict\":\t\"RESTORED\""), &p,
		  "the JSON report on stdout");
	ck_assert_int_ne(access("-", F_OK), 0);
	tu_proc_release(&p);
	/* A report that cannot be written whole is never exit 0: the same
	 * passing run, its standard output on a full disk. */
	f = fopen(base, "w");
	fputs(saved, f);
	fclose(f);
	char *cmd = tu_fmt("'%s' check '%s' --baseline '%s' >/dev/full 2>/dev/null",
			   getenv("AC_BIN"), path, base);
	int st = system(cmd);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3, "stdout full: status %d", st);
	free(cmd);
	free(far);
	unlink(base);
	unlink(json_out);
	free(json_out);
	free(saved);
	free(base);
	hs_stop(&s);
	free(t);
	free(path);
}
END_TEST

START_TEST(cli_usage_and_version)
{
	struct tu_proc p;
	const char *a1[] = {"--version", NULL};
	tu_run(&p, a1, NULL, 10);
	ck_assert_int_eq(p.exit_code, 0);
	ck_assert_ptr_nonnull(strstr(p.out, "allclear "));
	tu_proc_release(&p);
	const char *a2[] = {"frobnicate", NULL};
	tu_run(&p, a2, NULL, 10);
	ck_assert_int_eq(p.exit_code, 3);
	tu_proc_release(&p);
	const char *a3[] = {"check", "/nonexistent/scenario.json", NULL};
	tu_run(&p, a3, NULL, 10);
	ck_assert_int_eq(p.exit_code, 3);
	ck_assert_ptr_nonnull(strstr(p.err, "cannot open"));
	tu_proc_release(&p);
	const char *a4[] = {"check", "x.json", "--rounds", "zero", NULL};
	tu_run(&p, a4, NULL, 10);
	ck_assert_int_eq(p.exit_code, 3);
	tu_proc_release(&p);
}
END_TEST

TCase *http_trust_tcase(void);
TCase *http_reuse_tcase(void);
int http_trust_helper(int argc, char **argv);

int main(int argc, char **argv)
{
	/* The trust case re-runs this binary as a helper (in a namespace). */
	int hrc = http_trust_helper(argc, argv);
	if (hrc >= 0)
		return hrc;
	signal(SIGPIPE, SIG_IGN);
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("http");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, healthy_target_is_restored);
	tcase_add_test(tc, assertion_failure_names_step_expectation_actual_and_excerpt);
	tcase_add_test(tc, refused_connection_fails_naming_the_step);
	tcase_add_test(tc, silent_server_times_out_in_bounded_time);
	tcase_add_test(tc, endless_body_is_cut_at_the_cap);
	tcase_add_test(tc, redirect_to_another_host_never_carries_credentials);
	tcase_add_test(tc, malformed_scenario_exits_3_and_sends_nothing);
	tcase_add_test(tc, canary_secrets_reach_no_output);
	tcase_add_test(tc, capture_wait_and_cleanup);
	tcase_add_test(tc, personas_do_not_share_cookies);
	tcase_add_test(tc, one_hanging_journey_of_twenty_keeps_the_others);
	tcase_add_test(tc, tls_failure_is_inconclusive_not_a_pass);
	tcase_add_test(tc, sigterm_mid_window_reports_and_is_inconclusive);
	tcase_add_test(tc, baseline_save_and_within_baseline);
	tcase_add_test(tc, cli_usage_and_version);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, http_trust_tcase());
	suite_add_tcase(s, http_reuse_tcase());
	return tu_main(s);
}
