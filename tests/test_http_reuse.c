/*
 * test_http_reuse.c: journey runs reuse libcurl's handles and connections,
 * never cookies. Against a keep-alive loopback server (the servers of
 * hostile.c close every connection) that logs every connection it accepts
 * and every request with its headers.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile.h"
#include "testutil.h"
#include "util.h"

TCase *http_reuse_tcase(void);

/* --- a keep-alive server ------------------------------------------------ */

#define KA_CONNS 64
#define KA_BUF 65536

struct ka_conn {
	int fd;
	size_t len;
	char buf[KA_BUF];
};

/* Answer the request in c->buf[0..hlen+blen): true to keep the connection. */
static bool ka_answer(struct ka_conn *c, size_t hlen, int seq, bool close_each, const char *logpath)
{
	char method[16] = "", path[256] = "";
	sscanf(c->buf, "%15s %255s", method, path);
	char *head = ac_strndup(c->buf, hlen);
	char *entry = ac_asprintf("=== req %d %s %s\n%s", seq, method, path, head);
	hs_log_append(logpath, entry);
	free(entry);
	const char *extra = "";
	char *cookie = NULL;
	int status = 200;
	if (strcmp(path, "/set") == 0) {
		/* a cookie of this visit only: "visit=v<request number>" */
		cookie = ac_asprintf("Set-Cookie: visit=v%d; Path=/\r\n", seq);
		extra = cookie;
	} else if (strcmp(path, "/login") == 0) {
		extra = "Set-Cookie: sid=persona-canary; Path=/; HttpOnly\r\n";
	} else if (strcmp(path, "/account") == 0) {
		status = strstr(head, "sid=persona-canary") ? 200 : 401;
	}
	/* /token hands out a value no URL can hold raw */
	const char *body = strcmp(path, "/token") == 0 ? "{\"bad\":\"x y\"}" : "{\"ok\":true}";
	char *r = ac_asprintf("HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s%s\r\n%s", status,
			      strlen(body), close_each ? "Connection: close\r\n" : "", extra, body);
	bool ok = hs_write_all(c->fd, r, strlen(r));
	free(r);
	free(cookie);
	free(head);
	return ok && !close_each;
}

static void ka_child(int lfd, const char *logpath, bool close_each)
{
	signal(SIGPIPE, SIG_IGN);
	struct ka_conn *conns = ac_calloc(KA_CONNS, sizeof(*conns));
	for (int i = 0; i < KA_CONNS; i++)
		conns[i].fd = -1;
	int seq = 0;
	for (;;) {
		struct pollfd pf[KA_CONNS + 1];
		pf[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (int i = 0; i < KA_CONNS; i++)
			pf[i + 1] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
		if (poll(pf, KA_CONNS + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (pf[0].revents & POLLIN) {
			int fd = accept(lfd, NULL, NULL);
			int slot = -1;
			for (int i = 0; i < KA_CONNS && slot < 0 && fd >= 0; i++)
				if (conns[i].fd < 0)
					slot = i;
			if (slot < 0) {
				if (fd >= 0)
					close(fd);
			} else {
				hs_log_append(logpath, "=== accept\n");
				conns[slot].fd = fd;
				conns[slot].len = 0;
			}
		}
		for (int i = 0; i < KA_CONNS; i++) {
			struct ka_conn *c = &conns[i];
			if (c->fd < 0 || !(pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(c->fd, c->buf + c->len, KA_BUF - 1 - c->len);
			if (n <= 0) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			c->len += (size_t)n;
			c->buf[c->len] = '\0';
			bool keep = true;
			char *end;
			while (keep && (end = strstr(c->buf, "\r\n\r\n"))) {
				size_t hlen = (size_t)(end - c->buf) + 4;
				size_t blen = 0;
				const char *cl = strcasestr(c->buf, "\r\nContent-Length:");
				if (cl && cl < end)
					blen = strtoul(cl + 17, NULL, 10);
				if (c->len < hlen + blen)
					break;
				keep = ka_answer(c, hlen, ++seq, close_each, logpath);
				memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen + 1);
				c->len -= hlen + blen;
			}
			if (!keep) {
				close(c->fd);
				c->fd = -1;
			}
		}
	}
}

static void ka_serve(int lfd, const char *logpath, void *arg)
{
	ka_child(lfd, logpath, *(const bool *)arg);
}

static void ka_start(struct hs_server *s, bool close_each)
{
	hs_spawn(s, tu_listen(&s->port), ka_serve, &close_each);
}

/* The log's request entries in order, each "=== req N METHOD PATH\n<head>". */
static char **requests(const char *log, int *n)
{
	char **r = NULL;
	*n = 0;
	for (const char *p = strstr(log, "=== req "); p;) {
		const char *next = strstr(p + 4, "=== ");
		size_t len = next ? (size_t)(next - p) : strlen(p);
		r = ac_realloc(r, (size_t)(*n + 1) * sizeof(*r));
		r[(*n)++] = ac_strndup(p, len);
		p = next ? strstr(next, "=== req ") : NULL;
	}
	return r;
}

static void free_requests(char **r, int n)
{
	for (int i = 0; i < n; i++)
		free(r[i]);
	free(r);
}

static void run_scenario(struct tu_proc *p, const char *json)
{
	char *path = tu_write_temp(json, ".json");
	tu_run_check(p, path, NULL);
	unlink(path);
	free(path);
}

/* The 2-step journey: /set hands out a cookie of this visit, /check shows
 * what the client sends back. */
#define TWO_STEPS "\"steps\": [{\"url\": \"/set\"}, {\"url\": \"/check\"}]"

/* --- tests ---------------------------------------------------------------- */

/* 20 runs of a 2-step journey in sequence: every run is a fresh visitor
 * (no cookie of an earlier run, though the handles are the same), its own
 * cookie reaches its own second step, and the 40 requests share a few
 * connections. */
START_TEST(runs_reuse_connections_never_cookies)
{
	struct hs_server s;
	ka_start(&s, false);
	char *json =
	    tu_fmt("{\"settings\": {\"rounds\": 20, \"interval\": \"100ms\", \"confirm\": 1, "
		   "\"concurrency\": 1, \"timeout\": \"3s\"},"
		   " \"targets\": {\"origin\": \"http://127.0.0.1:%d\"},"
		   " \"journeys\": [" TU_JOURNEY("visit", TWO_STEPS) "]}",
		   s.port);
	struct tu_proc p;
	run_scenario(&p, json);
	ck_assert_msg(p.exit_code == 0, "%s\n%s", p.out, p.err);
	char *log = hs_log(&s);
	int n;
	char **req = requests(log, &n);
	ck_assert_int_eq(n, 40);
	for (int i = 0; i < n; i++) {
		int seq = 0;
		char path[64] = "";
		ck_assert_int_eq(sscanf(req[i], "=== req %d %*s %63s", &seq, path), 2);
		if (strcmp(path, "/set") == 0) {
			/* a fresh visitor: nothing of the run before */
			ck_assert_msg(!strcasestr(req[i], "\r\nCookie:"), "%s", req[i]);
		} else {
			ck_assert_str_eq(path, "/check");
			char *mine = tu_fmt("Cookie: visit=v%d\r\n", seq - 1);
			ck_assert_msg(strstr(req[i], mine), "wanted %s in\n%s", mine, req[i]);
			ck_assert_int_eq(tu_count(req[i], "visit="), 1);
			free(mine);
		}
	}
	/* Connections are reused across runs: one would do; a few is fine. */
	int accepts = tu_count(log, "=== accept");
	ck_assert_msg(accepts >= 1 && accepts <= 4, "%d connections for 40 requests", accepts);
	free_requests(req, n);
	free(log);
	tu_proc_release(&p);
	hs_stop(&s);
	free(json);
}
END_TEST

/* Persona A's cookie never reaches persona B, though B's run takes the
 * handle A's run gave back (one check at a time, alternating). */
START_TEST(personas_never_share_a_reused_handle)
{
	struct hs_server s;
	ka_start(&s, false);
	char *json = tu_fmt(
	    "{\"settings\": {\"rounds\": 5, \"interval\": \"100ms\", \"confirm\": 1, "
	    "\"concurrency\": 1, "
	    "\"timeout\": \"3s\"},"
	    " \"targets\": {\"origin\": \"http://127.0.0.1:%d\"},"
	    " \"personas\": {\"signed_in\": {\"login\": [{\"method\": \"POST\", \"url\": "
	    "\"/login\", \"write\": false, \"form\": {\"user\": \"alice\"}}]}},"
	    " \"journeys\": [" TU_JOURNEY(
		"acct",
		"\"persona\": \"signed_in\", \"steps\": [{\"url\": "
		"\"/account\", \"assert\": {\"status\": 200}}]") ", " TU_JOURNEY("anon",
										 "\"persona\": "
										 "\"visitor\", "
										 "\"steps\": "
										 "[{\"url\": "
										 "\"/account\", "
										 "\"assert\": "
										 "{\"status\": "
										 "401}}]") "]}",
	    s.port);
	struct tu_proc p;
	run_scenario(&p, json);
	ck_assert_msg(p.exit_code == 0, "%s\n%s", p.out, p.err);
	char *log = hs_log(&s);
	int n;
	char **req = requests(log, &n);
	ck_assert_int_eq(n, 15); /* 5 x (login, account) + 5 x account */
	int with = 0, without = 0;
	for (int i = 0; i < n; i++) {
		if (!strstr(req[i], " GET /account\n"))
			continue;
		if (strstr(req[i], "sid="))
			with++;
		else
			without++;
	}
	ck_assert_int_eq(with, 5);
	ck_assert_int_eq(without, 5);
	ck_assert_int_le(tu_count(log, "=== accept"), 4);
	free_requests(req, n);
	free(log);
	tu_proc_release(&p);
	hs_stop(&s);
	free(json);
}
END_TEST

/* Rounds of many journeys at once: the connections of one round serve the
 * next (libcurl's default cache shrinks with the transfers in flight, so a
 * draining round closed most of them). */
START_TEST(connections_outlive_a_round)
{
	struct hs_server s;
	ka_start(&s, false);
	struct ac_buf js = AC_BUF_INIT;
	for (int i = 0; i < 16; i++)
		ac_buf_addf(
		    &js, "%s{\"name\": \"visit %d\", \"area\": \"code\", \"owner\": \"web\", %s}",
		    i ? ", " : "", i, TWO_STEPS);
	char *json =
	    tu_fmt("{\"settings\": {\"rounds\": 3, \"interval\": \"100ms\", \"confirm\": 1, "
		   "\"concurrency\": 16, \"timeout\": \"3s\"},"
		   " \"targets\": {\"origin\": \"http://127.0.0.1:%d\"},"
		   " \"journeys\": [%s]}",
		   s.port, js.buf);
	struct tu_proc p;
	run_scenario(&p, json);
	ck_assert_msg(p.exit_code == 0, "%s\n%s", p.out, p.err);
	char *log = hs_log(&s);
	ck_assert_int_eq(tu_count(log, "=== req "), 96);
	/* at most one connection per journey in flight, for all three rounds */
	int accepts = tu_count(log, "=== accept");
	ck_assert_msg(accepts >= 1 && accepts <= 16, "%d connections for 96 requests", accepts);
	free(log);
	tu_proc_release(&p);
	hs_stop(&s);
	free(json);
	ac_buf_release(&js);
}
END_TEST

/* URL checks are remembered for the run: the same unbuildable URL, run
 * after run, is refused every time and never sent; good URLs still go. */
START_TEST(remembered_url_checks_still_refuse)
{
	struct hs_server s;
	ka_start(&s, false);
	char *json =
	    tu_fmt("{\"settings\": {\"rounds\": 3, \"interval\": \"100ms\", \"confirm\": 1, "
		   "\"concurrency\": 1, "
		   "\"timeout\": \"3s\"},"
		   " \"targets\": {\"origin\": \"http://127.0.0.1:%d\"},"
		   " \"journeys\": [" TU_JOURNEY(
		       "raw", "\"steps\": [{\"url\": \"/token\", \"capture\": {\"bad\": "
			      "{\"json\": \"$.bad\"}}}, {\"name\": \"use\", \"url\": "
			      "\"/p?q=${raw:bad}\"}]") "]}",
		   s.port);
	struct tu_proc p;
	run_scenario(&p, json);
	ck_assert_msg(p.exit_code == 2, "%s\n%s", p.out, p.err);
	ck_assert_msg(strstr(p.out, "step \"use\": could not build URL ("), "%s", p.out);
	char *log = hs_log(&s);
	ck_assert_int_eq(tu_count(log, "=== req "), 3);
	ck_assert_int_eq(tu_count(log, " GET /token\n"), 3);
	free(log);
	tu_proc_release(&p);
	hs_stop(&s);
	free(json);
}
END_TEST

/* A server that closes every connection (Connection: close): every run
 * still passes, on a new connection per request. */
START_TEST(connection_close_server_still_works)
{
	struct hs_server s;
	ka_start(&s, true);
	char *json =
	    tu_fmt("{\"settings\": {\"rounds\": 20, \"interval\": \"100ms\", \"confirm\": 1, "
		   "\"concurrency\": 1, \"timeout\": \"3s\"},"
		   " \"targets\": {\"origin\": \"http://127.0.0.1:%d\"},"
		   " \"journeys\": [" TU_JOURNEY("visit", TWO_STEPS) "]}",
		   s.port);
	struct tu_proc p;
	run_scenario(&p, json);
	ck_assert_msg(p.exit_code == 0, "%s\n%s", p.out, p.err);
	ck_assert_msg(strstr(p.out, "RESTORED"), "%s", p.out);
	char *log = hs_log(&s);
	ck_assert_int_eq(tu_count(log, "=== req "), 40);
	ck_assert_int_eq(tu_count(log, "=== accept"), 40);
	free(log);
	tu_proc_release(&p);
	hs_stop(&s);
	free(json);
}
END_TEST

/* A 103 with its own headers, then the response: headers are read from
 * libcurl's store (curl_easy_header), so assertions, captures and "served
 * by" see the final response's values, without the space around them. A
 * header sent twice must hold in both (/dup: v41, then v42). */
static void early_hints(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	if (strncmp(q->path, "/next", 5) == 0) {
		hs_reply(fd, 200, "", strstr(q->path, "b=v41") ? "got v41" : "wrong build");
		return;
	}
	if (strcmp(q->path, "/dup") == 0) {
		hs_reply(fd, 200, "X-Build: v41\r\nX-Build: v42\r\n", "ok");
		return;
	}
	const char *r = "HTTP/1.1 103 Early Hints\r\nX-Build: early\r\nLink: </a.css>\r\n\r\n"
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
			"x-build:   v41 \t\r\nX-Build: v41\r\nX-Cache: HIT\r\n\r\nok";
	hs_write_all(fd, r, strlen(r));
}

START_TEST(headers_are_the_final_responses)
{
	struct hs_server s;
	hs_start(&s, early_hints, NULL);
	char *json = tu_fmt(
	    "{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"3s\"},"
	    " \"targets\": {\"origin\": \"http://127.0.0.1:%d\"},"
	    " \"journeys\": [" TU_JOURNEY(
		"home",
		"\"steps\": [{\"url\": \"/\", \"assert\": {\"headers\": "
		"{\"X-Build\": \"v41\", \"Link\": {\"exists\": false}}},"
		" \"capture\": {\"b\": {\"header\": \"X-BUILD\"}}},"
		" {\"url\": \"/next?b=${b}\", \"assert\": "
		"{\"body\": {\"contains\": \"got v41\"}}}]") "," TU_JOURNEY("stale",
									    "\"steps\": [{\"url\": "
									    "\"/\", "
									    "\"assert\": "
									    "{\"status\": "
									    "500}}]") "," TU_JOURNEY("dup",
												     "\"steps\": [{\"url\": \"/dup\", \"assert\": {\"headers\": {\"X-Build\": \"v41\"}}}]") "]}",
	    s.port);
	struct tu_proc p;
	run_scenario(&p, json);
	/* home passes; stale fails on its status and says what served it */
	ck_assert_msg(p.exit_code == 1, "%s\n%s", p.out, p.err);
	ck_assert_msg(!strstr(p.out, "home @ origin"), "%s", p.out);
	ck_assert_msg(strstr(p.out, "served by: build v41, X-Cache HIT"), "%s", p.out);
	ck_assert_msg(strstr(p.out, "header X-Build: expected equals \"v41\", got v42 (one of 2 "
				    "X-Build headers)"),
		      "%s", p.out);
	tu_proc_release(&p);
	hs_stop(&s);
	free(json);
}
END_TEST

/* "served by" is looked up only when such a header came (header_cb notes
 * it): one sent as a chunked trailer or in lower case still shows, and a
 * response with none shows no "served by". */
static void trailer_build(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	const char *r;
	if (strcmp(q->path, "/trailer") == 0)
		r = "HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\nTrailer: X-Build\r\n"
		    "Connection: close\r\n\r\n4\r\nbad!\r\n0\r\nX-Build: v43\r\n\r\n";
	else if (strcmp(q->path, "/lower") == 0)
		r = "HTTP/1.1 500 Oops\r\nContent-Length: 4\r\nConnection: close\r\n"
		    "cf-cache-status: MISS\r\nage: 7\r\n\r\nbad!";
	else
		r = "HTTP/1.1 500 Oops\r\nContent-Length: 4\r\nConnection: close\r\n"
		    "X-Cachet: no\r\n\r\nbad!";
	hs_write_all(fd, r, strlen(r));
}

START_TEST(served_by_from_a_trailer_or_a_lower_case_name)
{
	struct hs_server s;
	hs_start(&s, trailer_build, NULL);
	static const char journeys[] =
	    TU_JOURNEY("trailer", "\"steps\": [{\"url\": \"/trailer\"}]") ", " TU_JOURNEY(
		"lower",
		"\"steps\": [{\"url\": \"/lower\"}]") ", " TU_JOURNEY("none",
								      "\"steps\": [{\"url\": "
								      "\"/none\"}]");
	char *json =
	    tu_fmt("{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"3s\"},"
		   " \"targets\": {\"origin\": \"http://127.0.0.1:%d\"}, \"journeys\": [%s]}",
		   s.port, journeys);
	struct tu_proc p;
	run_scenario(&p, json);
	ck_assert_msg(p.exit_code == 1, "%s\n%s", p.out, p.err);
	ck_assert_msg(strstr(p.out, "served by: build v43"), "%s", p.out);
	ck_assert_msg(strstr(p.out, "served by: Age 7 s, CF-Cache-Status MISS"), "%s", p.out);
	/* three failed journeys, two of them with a "served by" line */
	size_t n = 0;
	for (const char *q = p.out; (q = strstr(q, "served by:")); q++)
		n++;
	ck_assert_msg(n == 2, "%zu in %s", n, p.out);
	tu_proc_release(&p);
	hs_stop(&s);
	free(json);
}
END_TEST

TCase *http_reuse_tcase(void)
{
	TCase *tc = tcase_create("reuse");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, runs_reuse_connections_never_cookies);
	tcase_add_test(tc, personas_never_share_a_reused_handle);
	tcase_add_test(tc, connections_outlive_a_round);
	tcase_add_test(tc, connection_close_server_still_works);
	tcase_add_test(tc, remembered_url_checks_still_refuse);
	tcase_add_test(tc, headers_are_the_final_responses);
	tcase_add_test(tc, served_by_from_a_trailer_or_a_lower_case_name);
	return tc;
}
