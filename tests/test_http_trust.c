/*
 * test_http_trust.c: the "trust" test case of the http suite: what a
 * journey sends is what the scenario says (every body node expanded, URL
 * values percent-encoded, no header injected by a captured value, no cookie
 * carried to another origin), a signal is never a measured failure, a
 * resolver that never answers stalls only its own target, and every failure
 * reason names its cause and limit.
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

/* --- helpers ------------------------------------------------------------ */

static void stop_free(struct hs_server *s, char *a, char *b)
{
	hs_stop(s);
	free(a);
	free(b);
}

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
	stop_free(&s, t, path);
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
	stop_free(&s, t, path);
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
	stop_free(&s, t, path);
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
	stop_free(&s, json, path);
}
END_TEST

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
	stop_free(&s, t, path);
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
	stop_free(&s, t, path);
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
	stop_free(&s, t, path);
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
	stop_free(&s, t, path);
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
	stop_free(&a, t, path);
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
	stop_free(&a, path, NULL);
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
	stop_free(&s, t, path);
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
	stop_free(&s, t, path);
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
	tcase_add_test(tc, captured_crlf_never_reaches_a_header);
	tcase_add_test(tc, url_values_arrive_intact);
	tcase_add_test(tc, url_secret_with_ampersand_is_sent_whole_and_masked);
	tcase_add_test(tc, url_that_cannot_be_built_sends_nothing);
	tcase_add_test(tc, cookies_never_cross_to_another_port);
	tcase_add_test(tc, persona_headers_never_go_to_another_origin);
	tcase_add_test(tc, cleanup_never_runs_with_a_missing_capture);
	tcase_add_test(tc, check_cut_by_the_round_budget_is_not_a_failure);
	return tc;
}
