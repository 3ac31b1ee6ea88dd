/*
 * test_http_trust.c: the "trust" test case of the http suite: every node
 * of a JSON body is expanded, a signal is never a measured failure, a
 * resolver that never answers stalls only its own target, and every failure
 * reason names its cause and limit. What a journey sends to whom (URL
 * values percent-encoded, no header injected by a captured value, no cookie
 * or persona header carried to another origin) is in
 * test_http_trust_origin.c.
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

TCase *http_trust_tcase(void);
int http_trust_helper(int argc, char **argv);
void http_trust_origin_tests(TCase *tc); /* test_http_trust_origin.c */

/* --- 3: every node of a JSON body is expanded --------------------------- */

static void token_server(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	if (strcmp(q->path, "/token") == 0) {
		hs_reply(fd, 200, "X-Token: tk-81726354\r\n", "{}");
		return;
	}
	/* The body must hold the token 300 times and no template left. */
	int n = tu_count(q->body, "\"tk-81726354\"");
	if (n == 300 && !strstr(q->body, "${"))
		hs_reply(fd, 200, "", "{\"ok\":true}");
	else
		hs_reply(fd, 400, "", "not expanded");
}

START_TEST(json_body_expands_every_node)
{
	struct hs_server s;
	hs_start(&s, token_server, NULL);
	struct ac_buf arr = AC_BUF_INIT;
	for (int i = 0; i < 300; i++)
		ac_buf_addf(&arr, "%s\"${tok}\"", i ? ", " : "");
	char *steps =
	    tu_fmt("\"steps\": [{\"url\": \"/token\", \"capture\": {\"tok\": {\"header\": "
		   "\"X-Token\"}}}, {\"method\": \"POST\", \"write\": false, \"url\": "
		   "\"/bulk\", \"json\": {\"items\": [%s]}}]",
		   arr.buf);
	char *j = tu_fmt(TU_JOURNEY("bulk", "%s"), steps);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario("", t, j);
	struct tu_proc p;
	tu_run_check(&p, path, NULL);
	char *log = hs_log(&s);
	const char *post = strstr(log, "POST /bulk");
	ck_assert_ptr_nonnull(post);
	/* Checked on the server side: all 300 arrived expanded. */
	ck_assert_int_eq(tu_count(post, "\"tk-81726354\""), 300);
	ck_assert_ptr_null(strstr(post, "${tok}"));
	TU_EXPECT(p.exit_code == 0, &p, "exit %d", p.exit_code);
	free(log);
	tu_proc_release(&p);
	ac_buf_release(&arr);
	free(steps);
	free(j);
	hs_stop_free(&s, t, path);
}
END_TEST

/* --- 1: a resolver that never answers stalls only its own target -------- */

static int bind_loopback(int type, int port)
{
	int fd = socket(AF_INET, type, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Inside the namespace: a DNS server that never answers (a UDP socket on
 * 127.0.0.1:53 nobody reads) and a healthy HTTP target on 127.0.0.1:8080
 * that answers after 1.5 s, so it is mid-request while the other target's
 * name lookup hangs. Dies with its parent (the allclear run). */
static int ns_serve(const char *ready)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int dns = bind_loopback(SOCK_DGRAM, 53);
	int lfd = bind_loopback(SOCK_STREAM, 8080);
	if (dns < 0 || lfd < 0) {
		perror("ns-serve: bind");
		return 1;
	}
	FILE *f = fopen(ready, "w");
	if (f)
		fclose(f);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		char buf[4096];
		size_t got = 0;
		while (got < sizeof(buf) - 1) {
			ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		usleep(1500 * 1000);
		hs_reply(fd, 200, "", "{\"ok\":true}");
		close(fd);
	}
}

int http_trust_helper(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "ns-serve") == 0)
		return ns_serve(argv[2]);
	return -1;
}

/* Run argv with stdout and stderr into files, killed after timeout_s; with
 * sig, send it after sig_after_ms. *elapsed_ms: from the start, or from the
 * signal when one was sent. */
static int run_bounded(char *const *argv, const char *out, const char *err, int timeout_s, int sig,
		       int sig_after_ms, int64_t *elapsed_ms)
{
	int64_t t0 = tu_now_ms();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr))
			_exit(127);
		setenv("NO_COLOR", "1", 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	int status = 0;
	int64_t from = t0;
	bool sent = false;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		int64_t now = tu_now_ms();
		if (sig && !sent && now - t0 >= sig_after_ms) {
			kill(pid, sig);
			sent = true;
			from = now;
		}
		if (now - t0 > (int64_t)timeout_s * 1000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			status = -1;
			break;
		}
		usleep(10 * 1000);
	}
	*elapsed_ms = tu_now_ms() - from;
	return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run allclear check on the scenario json in a network and mount namespace
 * whose only DNS server never answers and whose /etc/hosts knows only
 * localhost, with ns-serve's healthy target on 127.0.0.1:8080. False (after
 * a loud message) when this machine cannot make namespaces. */
static bool ns_check(const char *json, int sig, int sig_after_ms, struct tu_proc *p)
{
	memset(p, 0, sizeof(*p));
	char *probe_argv[] = {"unshare", "-rnm", "true", NULL};
	char *o = tu_write_temp("", ".out"), *e = tu_write_temp("", ".err");
	if (run_bounded(probe_argv, o, e, 10, 0, 0, &p->elapsed_ms) != 0) {
		char *why = tu_read_file(e);
		fprintf(stderr,
			"\n*** SKIPPED: unshare -rnm is not permitted here (%s). The silent-DNS "
			"tests need root or user namespaces; CI runs as root. ***\n\n",
			why);
		free(why);
		free(o);
		free(e);
		return false;
	}
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	char *resolv = tu_write_temp("nameserver 127.0.0.1\n", ".resolv");
	/* Nothing answers the name from /etc/hosts either. */
	char *hosts = tu_write_temp("127.0.0.1 localhost\n", ".hosts");
	char *ready = tu_fmt("%s.ready", resolv);
	unlink(ready);
	char *path = tu_write_temp(json, ".json");
	const char *script = "ip link set lo up && mount --bind \"$1\" /etc/resolv.conf && "
			     "mount --bind \"$2\" /etc/hosts && { \"$3\" ns-serve \"$4\" & } && "
			     "while [ ! -e \"$4\" ]; do sleep 0.05; done && "
			     "exec \"$5\" check \"$6\"";
	char *argv[] = {"unshare", "-rnm", "sh", "-c",	(char *)(uintptr_t)script,	     "sh",
			resolv,	   hosts,  self, ready, (char *)(uintptr_t)tu_env("AC_BIN"), path,
			NULL};
	p->exit_code = run_bounded(argv, o, e, 40, sig, sig_after_ms, &p->elapsed_ms);
	p->out = tu_read_file(o);
	p->err = tu_read_file(e);
	unlink(ready);
	free(ready);
	free(resolv);
	free(hosts);
	free(o);
	free(e);
	free(path);
	return true;
}

#define NS_TARGETS                                                                                 \
	"\"healthy\": \"http://127.0.0.1:8080\", \"dark\": "                                       \
	"\"http://silent.allclear-test.invalid:8080\""

#define NS_HOME TU_JOURNEY("home", "\"steps\": [{\"name\": \"open home\", \"url\": \"/\"}]")

START_TEST(silent_resolver_stalls_only_its_own_target)
{
	/* A metric scrape of the dark name too: its handle must not stall either. */
	const char *json = "{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"3s\", "
			   "\"connect_timeout\": \"1s\", \"round_timeout\": \"4s\", "
			   "\"run_timeout\": \"4s\"}, \"targets\": {" NS_TARGETS "}, "
			   "\"journeys\": [" NS_HOME "], \"checks\": [{\"name\": \"errors\", "
			   "\"kind\": \"metric\", \"area\": \"code\", \"owner\": \"web\", "
			   "\"scrape\": \"http://silent.allclear-test.invalid:8080/metrics\", "
			   "\"metric\": \"x\", \"expect\": {\"<=\": 1}}]}";
	struct tu_proc p;
	if (!ns_check(json, 0, 0, &p))
		return;
	/* The dark target fails on its own, at its connect timeout; the healthy
	 * one passes; the run keeps its 4 s deadline (+1 s). */
	TU_EXPECT(p.exit_code == 1, &p, "exit %d", p.exit_code);
	TU_EXPECT(p.elapsed_ms < 5000, &p, "the run took %lld ms (run_timeout 4s)",
		  (long long)p.elapsed_ms);
	TU_EXPECT(strstr(p.out, "home @ dark") && strstr(p.out, "1 check passed"), &p,
		  "only the dark target fails");
	TU_EXPECT(strstr(p.out, "could not resolve silent.allclear-test.invalid: timeout after "
				"1000 ms (connect_timeout)"),
		  &p, "the reason names the lookup and its limit");
	tu_proc_release(&p);
}
END_TEST

START_TEST(sigterm_during_a_silent_lookup_is_honoured_at_once)
{
	const char *json = "{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"20s\", "
			   "\"connect_timeout\": \"20s\", \"round_timeout\": \"30s\"}, "
			   "\"targets\": {" NS_TARGETS "}, \"journeys\": [" NS_HOME "]}";
	struct tu_proc p;
	if (!ns_check(json, SIGTERM, 2500, &p))
		return;
	TU_EXPECT(p.exit_code == 2, &p, "exit %d", p.exit_code);
	TU_EXPECT(p.elapsed_ms < 1000, &p, "exited %lld ms after SIGTERM", (long long)p.elapsed_ms);
	TU_EXPECT(strstr(p.out, "interrupted (SIGTERM) during step \"open home\""), &p, "reason");
	tu_proc_release(&p);
}
END_TEST

/* --- 4: reasons name the cause and the limit ------------------------------ */

static void liar(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	struct ac_buf b = AC_BUF_INIT;
	if (strcmp(q->path, "/garbage") == 0) {
		ac_buf_adds(&b, "SSH-2.0-OpenSSH_9.2\r\n\r\nnot http at all\r\n");
	} else if (strcmp(q->path, "/http09") == 0) {
		ac_buf_adds(&b, "<html>hello from 1991</html>\n");
	} else if (strcmp(q->path, "/status000") == 0) {
		ac_buf_adds(&b, "HTTP/1.1 000 OK\r\nContent-Length: 2\r\n\r\nok");
	} else if (strcmp(q->path, "/bigline") == 0) {
		ac_buf_adds(&b, "HTTP/1.1 200 OK\r\nX-Big: ");
		for (int i = 0; i < 1024 * 1024; i++)
			ac_buf_addc(&b, 'a');
		ac_buf_adds(&b, "\r\nContent-Length: 2\r\n\r\nok");
	} else if (strcmp(q->path, "/cookies") == 0) {
		ac_buf_adds(&b, "HTTP/1.1 200 OK\r\n");
		for (int i = 0; i < 10000; i++)
			ac_buf_addf(&b, "Set-Cookie: c%d=v\r\n", i);
		ac_buf_adds(&b, "Content-Length: 2\r\n\r\nok");
	} else if (strcmp(q->path, "/biglen") == 0) {
		ac_buf_adds(&b, "HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n");
		for (int i = 0; i < 2000000; i++)
			ac_buf_addc(&b, 'x');
	}
	hs_write_all(fd, b.buf, b.len);
	ac_buf_release(&b);
}

/* One journey against url; the "why" line of the report. */
static char *why_of(const char *target, const char *url, int *exit_code)
{
	char *t = tu_fmt("\"origin\": \"%s\"", target);
	char *st = tu_fmt("\"steps\": [{\"name\": \"s\", \"url\": \"%s\"}]", url);
	char *j = tu_fmt(TU_JOURNEY("r", "%s"), st);
	char *path = tu_http_scenario("\"max_body\": \"1MiB\"", t, j);
	struct tu_proc p;
	tu_run_check(&p, path, NULL);
	*exit_code = p.exit_code;
	char *why = NULL;
	const char *w = strstr(p.out, "why: step \"s\": ");
	if (w) {
		w += strlen("why: step \"s\": ");
		why = ac_strndup(w, strcspn(w, "\n"));
	} else {
		why = ac_strdup(p.out);
	}
	tu_proc_release(&p);
	free(t);
	free(st);
	free(j);
	free(path);
	return why;
}

#define EXPECT_WHY(target, url, want)                                                              \
	do {                                                                                       \
		int rc_;                                                                           \
		char *w_ = why_of(target, url, &rc_);                                              \
		ck_assert_msg(strcmp(w_, want) == 0, "%s:\n got: %s\nwant: %s", url, w_, want);    \
		ck_assert_int_eq(rc_, 1);                                                          \
		free(w_);                                                                          \
	} while (0)

START_TEST(failure_reasons_name_cause_and_limit)
{
	struct hs_server s;
	hs_start(&s, liar, NULL);
	char *o = tu_fmt("http://127.0.0.1:%d", s.port);
	char *u;
	u = tu_fmt("GET %s/garbage: malformed HTTP response (not HTTP/1.x or HTTP/2)", o);
	EXPECT_WHY(o, "/garbage", u);
	free(u);
	u = tu_fmt("GET %s/http09: malformed HTTP response (not HTTP/1.x or HTTP/2)", o);
	EXPECT_WHY(o, "/http09", u);
	free(u);
	u = tu_fmt("GET %s/status000: malformed HTTP response: the status code is not a valid "
		   "HTTP status",
		   o);
	EXPECT_WHY(o, "/status000", u);
	free(u);
	u = tu_fmt("GET %s/bigline: response header line exceeds the cap of 102400 bytes (100 KiB)",
		   o);
	EXPECT_WHY(o, "/bigline", u);
	free(u);
	u = tu_fmt("GET %s/cookies: more than 1000 response headers (cap 1000)", o);
	EXPECT_WHY(o, "/cookies", u);
	free(u);
	u = tu_fmt("GET %s/biglen: response body exceeds the cap of 1048576 bytes (1 MiB)", o);
	EXPECT_WHY(o, "/biglen", u);
	free(u);
	hs_stop(&s);

	/* Nothing listens: refused, naming where. */
	int port;
	close(tu_listen(&port));
	char *ro = tu_fmt("http://127.0.0.1:%d", port);
	u = tu_fmt("GET %s/: connection refused by 127.0.0.1:%d", ro, port);
	EXPECT_WHY(ro, "/", u);
	free(u);
	free(ro);

	/* A listener whose backlog is full drops the SYN: connect times out. */
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(lfd, 0), 0);
	socklen_t al = sizeof(a);
	getsockname(lfd, (struct sockaddr *)&a, &al);
	int fill[4];
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&a, sizeof(a));
	}
	usleep(100 * 1000);
	char *bo = tu_fmt("http://127.0.0.1:%d", ntohs(a.sin_port));
	u = tu_fmt("GET %s/: could not connect to 127.0.0.1:%d: timeout after 1000 ms "
		   "(connect_timeout)",
		   bo, ntohs(a.sin_port));
	EXPECT_WHY(bo, "/", u);
	free(u);
	free(bo);
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
	free(o);
}
END_TEST

/* --- 2: a signal mid-request is not a measured failure ------------------- */

static void slow_ok(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	if (strcmp(q->path, "/broken") == 0) {
		hs_reply(fd, 500, "", "broken");
		return;
	}
	sleep(4); /* healthy, only slow: well inside the step timeout */
	if (strcmp(q->path, "/metrics") == 0)
		hs_reply(fd, 200, "Content-Type: text/plain\r\n", "x 0\n");
	else
		hs_reply(fd, 200, "", "{\"ok\":true}");
}

/* Start allclear check on the scenario, send sig after 800 ms; the exit
 * status, its stdout, and how long it took to exit after the signal. */
static int check_with_signal(const char *path, int sig, char **out, int64_t *exit_ms)
{
	const char *args[] = {"check", path, NULL};
	return tu_run_signalled(args, sig, 800, out, exit_ms);
}

static void interrupted_journey(int sig, const char *name)
{
	struct hs_server s;
	hs_start(&s, slow_ok, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario(
	    "\"round_timeout\": \"20s\"", t,
	    TU_JOURNEY("home", "\"steps\": [{\"name\": \"slow page\", \"url\": \"/\", "
			       "\"timeout\": \"10s\"}]"));
	char *out;
	int64_t ms;
	int rc = check_with_signal(path, sig, &out, &ms);
	ck_assert_msg(rc == 2, "%s: exit %d\n%s", name, rc, out);
	ck_assert_int_lt(ms, 2000);
	ck_assert_msg(strstr(out, "VERDICT: INCONCLUSIVE"), "%s", out);
	char *want = tu_fmt("why: interrupted (%s) during step \"slow page\"", name);
	ck_assert_msg(strstr(out, want), "want %s in\n%s", want, out);
	ck_assert_msg(!strstr(out, "journey time limit") && !strstr(out, "FAIL "), "%s", out);
	free(want);
	free(out);
	hs_stop_free(&s, t, path);
}

START_TEST(sigterm_mid_request_is_not_a_failure)
{
	interrupted_journey(SIGTERM, "SIGTERM");
}
END_TEST

START_TEST(sigint_mid_request_is_not_a_failure)
{
	interrupted_journey(SIGINT, "SIGINT");
}
END_TEST

/* A failure measured before the signal still counts. */
START_TEST(failure_before_the_signal_stands)
{
	struct hs_server s;
	hs_start(&s, slow_ok, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario(
	    "\"round_timeout\": \"20s\"", t,
	    TU_JOURNEY("broken", "\"steps\": [{\"url\": \"/broken\"}]") ", " TU_JOURNEY(
		"slow", "\"steps\": [{\"name\": \"slow page\", \"url\": \"/\", "
			"\"timeout\": \"10s\"}]"));
	char *out;
	int64_t ms;
	int rc = check_with_signal(path, SIGTERM, &out, &ms);
	ck_assert_msg(rc == 1, "exit %d\n%s", rc, out);
	ck_assert_msg(strstr(out, "VERDICT: NOT RESTORED") &&
			  strstr(out, "interrupted (SIGTERM) during step \"slow page\""),
		      "%s", out);
	free(out);
	hs_stop_free(&s, t, path);
}
END_TEST

/* A metric scrape cut short by a signal is not measured either. */
START_TEST(signal_mid_scrape_is_not_a_failure)
{
	struct hs_server s;
	hs_start(&s, slow_ok, NULL);
	char *json = tu_fmt(
	    "{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"10s\", "
	    "\"round_timeout\": \"20s\"}, \"checks\": [{\"name\": \"m\", \"kind\": \"metric\", "
	    "\"area\": \"code\", \"owner\": \"web\", \"scrape\": "
	    "\"http://127.0.0.1:%d/metrics\", \"metric\": \"x\", \"expect\": {\"<=\": 1}}]}",
	    s.port);
	char *path = tu_write_temp(json, ".json");
	int sigs[] = {SIGTERM, SIGINT};
	for (int i = 0; i < 2; i++) {
		char *out;
		int64_t ms;
		int rc = check_with_signal(path, sigs[i], &out, &ms);
		ck_assert_msg(rc == 2, "exit %d\n%s", rc, out);
		ck_assert_int_lt(ms, 2000);
		ck_assert_msg(strstr(out, "VERDICT: INCONCLUSIVE") && !strstr(out, "FAIL "), "%s",
			      out);
		char *want = tu_fmt("why: scrape: interrupted (%s)", i == 0 ? "SIGTERM" : "SIGINT");
		ck_assert_msg(strstr(out, want), "want %s in\n%s", want, out);
		free(want);
		free(out);
	}
	hs_stop_free(&s, json, path);
}
END_TEST

/* --- the test case -------------------------------------------------------- */

TCase *http_trust_tcase(void)
{
	TCase *tc = tcase_create("trust");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, json_body_expands_every_node);
	tcase_add_test(tc, silent_resolver_stalls_only_its_own_target);
	tcase_add_test(tc, sigterm_during_a_silent_lookup_is_honoured_at_once);
	tcase_add_test(tc, failure_reasons_name_cause_and_limit);
	tcase_add_test(tc, sigterm_mid_request_is_not_a_failure);
	tcase_add_test(tc, sigint_mid_request_is_not_a_failure);
	tcase_add_test(tc, failure_before_the_signal_stands);
	tcase_add_test(tc, signal_mid_scrape_is_not_a_failure);
	http_trust_origin_tests(tc);
	return tc;
}
