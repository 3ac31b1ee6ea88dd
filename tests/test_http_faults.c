/*
 * test_http_faults.c: the HTTP probe against faults that a weaker probe
 * would wave through: TLS certificates that are self-signed, expired or for
 * another host (and the "insecure" switch that every report must show),
 * redirect limits and the redirects that must not be followed (a POST
 * replayed by 307/308, https to http, other ports, other protocols); and
 * the suite. 200 responses whose content is wrong are in
 * test_http_faults_content.c; bodies that drip or end early, and a probe
 * kind that finishes without a result, in test_http_faults_bodies.c. Each
 * test names the bug it is there to catch; each asserts the exact exit
 * code and reason.
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

/* ========================================================================== */
/* 1. TLS with real certificates                                              */
/* ========================================================================== */

static char *certs;

static void tls_setup(void)
{
	certs = hs_tls_certs();
	hs_tls_file(certs, "ok",
		    "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"ok\":true}");
}

static void tls_teardown(void)
{
	hs_tls_certs_remove(certs);
	certs = NULL;
}

/* One journey GET /ok against a TLS server with certificate `cert`. */
static char *tls_scenario(const struct hs_tls *t, const char *host, const char *settings)
{
	char *tgt = tu_fmt("\"origin\": \"https://%s:%d\"", host, t->port);
	char *path = tu_http_scenario(
	    settings, tgt,
	    TU_JOURNEY("tls", "\"steps\": [{\"name\": \"fetch\", \"url\": \"/ok\", "
			      "\"assert\": {\"json\": {\"$.ok\": true}}}]"));
	free(tgt);
	return path;
}

static char *ca_setting(void)
{
	return tu_fmt("\"ca_file\": \"%s/ca.pem\"", certs);
}

/* Bug caught: ca_file ignored (CAINFO not set), or verification that passes
 * nothing. */
START_TEST(tls_good_certificate_with_ca_file_is_restored)
{
	struct hs_tls t;
	hs_tls_start(&t, certs, "good");
	char *ca = ca_setting();
	const char *hosts[] = {"127.0.0.1", "localhost"};
	for (size_t i = 0; i < 2; i++) {
		char *path = tls_scenario(&t, hosts[i], ca);
		struct tu_proc p;
		free(tu_run_check_json(&p, path, NULL));
		TU_EXPECT(p.exit_code == 0, &p, "good cert at %s: exit %d", hosts[i], p.exit_code);
		TU_EXPECT(strstr(p.out, "VERDICT: RESTORED"), &p, "RESTORED");
		TU_EXPECT(!strstr(p.out, "TLS verification is OFF"), &p, "no insecure warning");
		tu_proc_release(&p);
		free(path);
	}
	ck_assert_int_eq(hs_tls_served(&t), 2);
	/* The same server without the CA: the system store does not know it. */
	char *path = tls_scenario(&t, "127.0.0.1", "");
	tu_expect_check(path, 2, "TLS verification failed: ");
	ck_assert_int_eq(hs_tls_served(&t), 2);
	free(path);
	/* A CA file that is not there is bad input: refused at load, nothing
	 * probed (it was an ERROR per journey, at run time). */
	path = tls_scenario(&t, "127.0.0.1", "\"ca_file\": \"/nonexistent/ca.pem\"");
	struct tu_proc p;
	free(tu_run_check_json(&p, path, NULL));
	TU_EXPECT(p.exit_code == 3, &p, "missing ca_file: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.err, "settings.ca_file: cannot read \"/nonexistent/ca.pem\": No such "
				"file or directory"),
		  &p, "missing ca_file: the reason");
	TU_EXPECT(strstr(p.err, "nothing was probed"), &p, "missing ca_file: nothing probed");
	tu_proc_release(&p);
	ck_assert_int_eq(hs_tls_served(&t), 2);
	free(path);
	free(ca);
	hs_tls_stop(&t);
}
END_TEST

/* Bug caught: VERIFYPEER or VERIFYHOST off, or a TLS failure counted as a
 * product failure (exit 1) or, worse, a pass. The CA is given, so each
 * certificate has exactly one thing wrong with it. */
START_TEST(tls_bad_certificates_are_inconclusive_and_nothing_is_requested)
{
	static const struct {
		const char *cert, *why;
	} cases[] = {
	    {"self", "SSL certificate problem: self-signed certificate"},
	    {"expired", "SSL certificate problem: certificate has expired"},
	    {"wronghost", "no alternative certificate subject name matches target host name "
			  "'127.0.0.1'"},
	};
	char *ca = ca_setting();
	for (size_t i = 0; i < AC_ARRAY_LEN(cases); i++) {
		struct hs_tls t;
		hs_tls_start(&t, certs, cases[i].cert);
		char *path = tls_scenario(&t, "127.0.0.1", ca);
		struct tu_proc p;
		free(tu_run_check_json(&p, path, NULL));
		TU_EXPECT(p.exit_code == 2, &p, "%s: exit %d, expected 2", cases[i].cert,
			  p.exit_code);
		TU_EXPECT(strstr(p.out, "VERDICT: INCONCLUSIVE"), &p, "%s: INCONCLUSIVE",
			  cases[i].cert);
		char *want = tu_fmt("step \"fetch\": GET https://127.0.0.1:%d/ok: TLS verification "
				    "failed: SSL peer certificate or SSH remote key was not OK: ",
				    t.port);
		TU_EXPECT(strstr(p.out, want), &p, "%s: reason lacks: %s", cases[i].cert, want);
		TU_EXPECT(strstr(p.out, cases[i].why), &p, "%s: reason lacks: %s", cases[i].cert,
			  cases[i].why);
		ck_assert_int_eq(hs_tls_served(&t), 0);
		free(want);
		tu_proc_release(&p);
		free(path);
		hs_tls_stop(&t);
	}
	free(ca);
}
END_TEST

/* Bug caught: insecure on by default, a non-boolean accepted, or a report
 * format that does not say verification was off. */
START_TEST(tls_insecure_works_is_never_the_default_and_every_report_says_so)
{
	struct hs_tls t;
	hs_tls_start(&t, certs, "self");
	/* Not set, and set to false: verification is on. */
	char *path = tls_scenario(&t, "127.0.0.1", "");
	tu_expect_check(path, 2, "SSL certificate problem: self-signed certificate");
	free(path);
	path = tls_scenario(&t, "127.0.0.1", "\"insecure\": false");
	tu_expect_check(path, 2, "SSL certificate problem: self-signed certificate");
	free(path);
	ck_assert_int_eq(hs_tls_served(&t), 0);
	/* Only a JSON true turns it off. */
	const char *almost[] = {"\"insecure\": \"true\"", "\"insecure\": 1",
				"\"insecure\": \"yes\""};
	for (size_t i = 0; i < AC_ARRAY_LEN(almost); i++) {
		path = tls_scenario(&t, "127.0.0.1", almost[i]);
		tu_expect_check(path, 3, "");
		free(path);
	}
	ck_assert_int_eq(hs_tls_served(&t), 0);
	/* No command-line switch turns it off. */
	path = tls_scenario(&t, "127.0.0.1", "");
	const char *flags[] = {"--insecure", "-k"};
	for (size_t i = 0; i < AC_ARRAY_LEN(flags); i++) {
		const char *args[] = {"check", path, flags[i], NULL};
		struct tu_proc p;
		tu_run(&p, args, NULL, 30);
		TU_EXPECT(p.exit_code == 3, &p, "%s: exit %d", flags[i], p.exit_code);
		tu_proc_release(&p);
	}
	free(path);
	ck_assert_int_eq(hs_tls_served(&t), 0);

	/* Set: the run works and every format says so. */
	path = tls_scenario(&t, "127.0.0.1", "\"insecure\": true");
	char *json_out = tu_fmt("%s.report.json", path), *junit = tu_fmt("%s.xml", path),
	     *md = tu_fmt("%s.md", path);
	const char *args[] = {"check", path,	     "--json", json_out, "--junit",
			      junit,   "--markdown", md,       NULL};
	struct tu_proc p;
	tu_run(&p, args, NULL, 60);
	TU_EXPECT(p.exit_code == 0, &p, "insecure run: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "VERDICT: RESTORED"), &p, "RESTORED");
	TU_EXPECT(strstr(p.out, "WARNING: TLS verification is OFF for this scenario (\"insecure\": "
				"true)"),
		  &p, "terminal warning");
	char *j = tu_read_file(json_out), *x = tu_read_file(junit), *m = tu_read_file(md);
	ck_assert_msg(strstr(j, "\"insecure_tls\":\ttrue"), "json:\n%s", j);
	ck_assert_msg(strstr(x, "<property name=\"insecure_tls\" value=\"true\"/>"), "junit:\n%s",
		      x);
	ck_assert_msg(strcasestr(m, "insecure"), "markdown does not say insecure:\n%s", m);
	ck_assert_msg(strstr(m, "TLS verification was off"), "markdown:\n%s", m);
	ck_assert_int_eq(hs_tls_served(&t), 1);
	free(j);
	free(x);
	free(m);
	tu_proc_release(&p);
	/* lint says so too. */
	const char *lint[] = {"lint", path, NULL};
	tu_run(&p, lint, NULL, 30);
	TU_EXPECT(p.exit_code == 0 && strstr(p.out, "TLS verification OFF"), &p, "lint");
	tu_proc_release(&p);
	unlink(json_out);
	unlink(junit);
	unlink(md);
	free(json_out);
	free(junit);
	free(md);
	free(path);
	hs_tls_stop(&t);
}
END_TEST

/* ========================================================================== */
/* 2. Redirects                                                               */
/* ========================================================================== */

static int other_port; /* where redirects point (set before hs_start) */

/* /hop/N redirects to /hop/N-1; /hop/0 answers 200. POST /s307 and /s308
 * redirect with that code to /landing, /s303 and /s302 likewise; /go
 * redirects to http://127.0.0.1:other_port/steal; /login sets a cookie. */
static void redirects(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	long n = 0;
	if (strncmp(q->path, "/hop/", 5) == 0 && ac_parse_long(q->path + 5, &n) == 0) {
		if (n == 0) {
			hs_reply(fd, 200, "", "arrived");
		} else {
			char *loc = tu_fmt("Location: /hop/%ld\r\n", n - 1);
			hs_reply(fd, 302, loc, "moved");
			free(loc);
		}
	} else if (strncmp(q->path, "/s30", 4) == 0 && strlen(q->path) == 5) {
		hs_reply(fd, 300 + (q->path[4] - '0'), "Location: /landing\r\n", "moved");
	} else if (strcmp(q->path, "/304") == 0) {
		hs_reply(fd, 304, "ETag: \"v41\"\r\n", "");
	} else if (strcmp(q->path, "/nowhere") == 0) {
		hs_reply(fd, 302, "", "moved, but where?");
	} else if (strcmp(q->path, "/landing") == 0) {
		hs_reply(fd, 200, "", "landed");
	} else if (strcmp(q->path, "/login") == 0) {
		hs_reply(fd, 200, "Set-Cookie: sid=c00kie-canary-71; Path=/\r\n", "welcome");
	} else if (strcmp(q->path, "/go") == 0) {
		char *loc = tu_fmt("Location: http://127.0.0.1:%d/steal\r\n", other_port);
		hs_reply(fd, 302, loc, "moved");
		free(loc);
	} else {
		hs_reply(fd, 404, "", "no");
	}
}

/* Bug caught: an off-by-one in the redirect limit either way. */
START_TEST(redirect_limit_exact_passes_one_more_fails)
{
	struct hs_server s;
	hs_start(&s, redirects, NULL);
	char *tgt = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario(
	    "", tgt,
	    TU_JOURNEY("three", "\"steps\": [{\"name\": \"hops\", \"url\": \"/hop/3\", "
				"\"follow_redirects\": 3, \"assert\": {\"status\": 200, "
				"\"body\": {\"contains\": \"arrived\"}}}]"));
	tu_expect_check(path, 0, "VERDICT: RESTORED");
	ck_assert_int_eq(hs_requests(&s), 4);
	free(path);
	path = tu_http_scenario("", tgt,
				TU_JOURNEY("four",
					   "\"steps\": [{\"name\": \"hops\", \"url\": \"/hop/4\", "
					   "\"follow_redirects\": 3}]"));
	tu_expect_check(path, 1, "step \"hops\": redirect limit of 3 reached");
	/* 4 more: the first request and 3 redirects, never a 5th. */
	ck_assert_int_eq(hs_requests(&s), 8);
	char *log = hs_log(&s);
	ck_assert_int_eq(tu_count(log, " GET /hop/0\n"), 1);
	free(log);
	free(path);
	/* The settings default counts the same way. */
	path = tu_http_scenario(
	    "\"max_redirects\": 2", tgt,
	    TU_JOURNEY("two",
		       "\"steps\": [{\"name\": \"hops\", \"url\": "
		       "\"/hop/2\"}]") "," TU_JOURNEY("three", "\"steps\": [{\"name\": \"more\", "
							       "\"url\": \"/hop/3\"}]"));
	struct tu_proc p;
	free(tu_run_check_json(&p, path, NULL));
	TU_EXPECT(p.exit_code == 1, &p, "exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "step \"more\": redirect limit of 2 reached"), &p, "reason");
	TU_EXPECT(!strstr(p.out, "step \"hops\""), &p, "two @ origin failed");
	tu_proc_release(&p);
	free(path);
	hs_stop(&s);
	free(tgt);
}
END_TEST

/* Bug caught: every 3xx taken for a redirect: a 304 (Not Modified) failed a
 * step that asserts it whenever redirects are followed, and a 302 without a
 * Location was reported as "protocol not allowed". */
START_TEST(only_redirect_statuses_are_followed)
{
	struct hs_server s;
	hs_start(&s, redirects, NULL);
	char *tgt = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario(
	    "\"max_redirects\": 3", tgt,
	    TU_JOURNEY("cached", "\"steps\": [{\"name\": \"revalidate\", \"url\": \"/304\", "
				 "\"headers\": {\"If-None-Match\": \"\\\"v41\\\"\"}, "
				 "\"assert\": {\"status\": 304}}]"));
	tu_expect_check(path, 0, "VERDICT: RESTORED");
	free(path);
	path = tu_http_scenario(
	    "\"max_redirects\": 3", tgt,
	    TU_JOURNEY("cached", "\"steps\": [{\"name\": \"revalidate\", \"url\": \"/304\"}]"));
	tu_expect_check(path, 1, "step \"revalidate\": status: expected 2xx, got 304");
	free(path);
	path = tu_http_scenario(
	    "\"max_redirects\": 3", tgt,
	    TU_JOURNEY("nowhere", "\"steps\": [{\"name\": \"go\", \"url\": \"/nowhere\"}]"));
	tu_expect_check(path, 1, "step \"go\": redirect 302 without a Location header");
	free(path);
	ck_assert_int_eq(hs_requests(&s), 3);
	free(tgt);
	hs_stop(&s);
}
END_TEST

/* Bug caught: 307/308 after a POST followed (libcurl resends the POST) or
 * turned into a GET silently; 302/303 after a POST resent as a POST. */
START_TEST(redirect_after_post_is_never_replayed)
{
	struct hs_server s;
	hs_start(&s, redirects, NULL);
	char *tgt = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	/* POST 307, POST 308, PUT 307: each refused, nothing sent twice. */
	const char *codes[] = {"307", "308", "307"}, *methods[] = {"POST", "POST", "PUT"};
	int seen = 0;
	for (size_t i = 0; i < 3; i++) {
		char *j = tu_fmt(
		    TU_JOURNEY("post", "\"steps\": [{\"name\": \"submit\", \"method\": \"%s\", "
				       "\"url\": \"/s%s\", \"form\": {\"a\": \"1\"}, "
				       "\"follow_redirects\": 3}]"),
		    methods[i], codes[i]);
		char *path = tu_http_scenario("\"allow_writes\": true", tgt, j);
		char *want = tu_fmt("step \"submit\": redirect %s would replay the %s: refused",
				    codes[i], methods[i]);
		tu_expect_check(path, 1, want);
		seen++;
		ck_assert_int_eq(hs_requests(&s), seen);
		free(want);
		free(path);
		free(j);
	}
	char *log = hs_log(&s);
	ck_assert_msg(!strstr(log, "/landing"), "%s", log);
	ck_assert_int_eq(tu_count(log, " POST /s307\n") + tu_count(log, " POST /s308\n"), 2);
	ck_assert_int_eq(tu_count(log, " PUT /s307\n"), 1);
	free(log);
	/* 302 and 303 after a POST: the next request is a GET without a body. */
	const char *getcodes[] = {"302", "303"};
	for (size_t i = 0; i < 2; i++) {
		char *j = tu_fmt(
		    TU_JOURNEY("post", "\"steps\": [{\"name\": \"submit\", \"method\": \"POST\", "
				       "\"url\": \"/s%s\", \"form\": {\"a\": \"1\"}, "
				       "\"follow_redirects\": 3, \"assert\": {\"body\": "
				       "{\"contains\": \"landed\"}}}]"),
		    getcodes[i]);
		char *path = tu_http_scenario("\"allow_writes\": true", tgt, j);
		tu_expect_check(path, 0, "VERDICT: RESTORED");
		free(path);
		free(j);
	}
	log = hs_log(&s);
	ck_assert_int_eq(tu_count(log, "=== "), 7);
	ck_assert_int_eq(tu_count(log, " POST /s302\n") + tu_count(log, " POST /s303\n"), 2);
	ck_assert_int_eq(tu_count(log, " GET /landing\n"), 2);
	ck_assert_int_eq(tu_count(log, "POST /landing"), 0);
	/* The GETs carried no form body. */
	for (const char *g = log; (g = strstr(g, " GET /landing\n")); g++) {
		const char *end = strstr(g, "=== ");
		char *entry = ac_strndup(g, end ? (size_t)(end - g) : strlen(g));
		ck_assert_msg(!strcasestr(entry, "Content-Length") &&
				  !strcasestr(entry, "Content-Type") && !strstr(entry, "a=1"),
			      "%s", entry);
		free(entry);
	}
	free(log);
	hs_stop(&s);
	free(tgt);
}
END_TEST

/* A login endpoint that answers 307 to the same path on another host. */
static void login_elsewhere(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	if (strcmp(q->path, "/login") == 0) {
		char *loc = tu_fmt("Location: http://127.0.0.2:%d/login\r\n", other_port);
		hs_reply(fd, 307, loc, "moved");
		free(loc);
	} else {
		hs_reply(fd, 200, "", "ok");
	}
}

/* Reliability row 10. Bug caught: the login POST (with the password)
 * replayed to another host. */
START_TEST(login_307_to_another_host_is_not_replayed)
{
	struct hs_server other, s;
	hs_start_at(&other, "127.0.0.2", hs_ok_any, NULL);
	other_port = other.port;
	hs_start(&s, login_elsewhere, NULL);
	setenv("AC_TEST_PW", "pw-canary-4711", 1);
	const char *allow[] = {"", ", \"redirect_other_hosts\": true"};
	const char *why[] = {"refused (set \"redirect_other_hosts\" to follow; credentials are "
			     "never sent there)",
			     "redirect 307 would replay the POST: refused"};
	for (size_t i = 0; i < 2; i++) {
		char *json = tu_fmt(
		    "{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"3s\"},"
		    " \"targets\": {\"origin\": \"http://127.0.0.1:%d\"},"
		    " \"personas\": {\"member\": {\"login\": [{\"name\": \"sign in\", \"method\": "
		    "\"POST\", \"url\": \"/login\", \"write\": false, \"follow_redirects\": 3%s,"
		    " \"form\": {\"user\": \"alice\", \"password\": \"${env:AC_TEST_PW}\"}}]}},"
		    " \"journeys\": [" TU_JOURNEY("acct",
						  "\"persona\": \"member\", \"steps\": [{\"url\": "
						  "\"/account\"}]") "]}",
		    s.port, allow[i]);
		char *path = tu_write_temp(json, ".json");
		struct tu_proc p;
		free(tu_run_check_json(&p, path, NULL));
		TU_EXPECT(p.exit_code == 1, &p, "exit %d", p.exit_code);
		char *want = i == 0 ? tu_fmt("step \"login: sign in\": cross-origin redirect to "
					     "http://127.0.0.2:%d/login %s",
					     other.port, why[0])
				    : tu_fmt("step \"login: sign in\": %s", why[1]);
		TU_EXPECT(strstr(p.out, want), &p, "reason lacks: %s", want);
		TU_EXPECT(!strstr(p.out, "pw-canary-4711") && !strstr(p.err, "pw-canary-4711"), &p,
			  "the password leaked");
		free(want);
		tu_proc_release(&p);
		free(path);
		free(json);
	}
	/* The other host never saw a request; the origin saw one login each,
	 * and the journey's steps did not run after the login failed. */
	ck_assert_int_eq(hs_requests(&other), 0);
	char *log = hs_log(&s);
	ck_assert_int_eq(tu_count(log, " POST /login\n"), 2);
	ck_assert_int_eq(tu_count(log, "=== "), 2);
	free(log);
	hs_stop(&s);
	hs_stop(&other);
}
END_TEST

/* Bug caught: an https page that redirects to http followed (the origin
 * check missing the scheme, or redirect_other_hosts allowing a downgrade). */
START_TEST(https_to_http_downgrade_is_refused)
{
	struct hs_server plain;
	hs_start(&plain, hs_ok_any, NULL);
	char *certdir = hs_tls_certs();
	char *r =
	    tu_fmt("HTTP/1.0 302 Found\r\nLocation: http://127.0.0.1:%d/\r\n\r\n", plain.port);
	hs_tls_file(certdir, "down", r);
	free(r);
	/* Same host and port, http: the downgrade of the very same origin. */
	struct hs_tls t;
	hs_tls_start(&t, certdir, "good");
	r = tu_fmt("HTTP/1.0 302 Found\r\nLocation: http://127.0.0.1:%d/ok\r\n\r\n", t.port);
	hs_tls_file(certdir, "same", r);
	free(r);
	char *tgt = tu_fmt("\"origin\": \"https://127.0.0.1:%d\"", t.port);
	char *ca = tu_fmt("\"ca_file\": \"%s/ca.pem\"", certdir);
	const char *allow[] = {"", ", \"redirect_other_hosts\": true"};
	for (size_t i = 0; i < 2; i++) {
		char *j = tu_fmt(
		    TU_JOURNEY("down", "\"steps\": [{\"name\": \"follow\", \"url\": \"/down\", "
				       "\"follow_redirects\": 3%s}]"),
		    allow[i]);
		char *path = tu_http_scenario(ca, tgt, j);
		char *want = tu_fmt("step \"follow\": redirect to http://127.0.0.1:%d/ refused: "
				    "https to http is a downgrade",
				    plain.port);
		tu_expect_check(path, 1, want);
		free(want);
		free(path);
		free(j);
	}
	ck_assert_int_eq(hs_requests(&plain), 0);
	const char *j =
	    TU_JOURNEY("same", "\"steps\": [{\"name\": \"follow\", \"url\": \"/same\", "
			       "\"follow_redirects\": 3, \"redirect_other_hosts\": true}]");
	char *path = tu_http_scenario(ca, tgt, j);
	char *to = tu_fmt("step \"follow\": redirect to http://127.0.0.1:%d/ok refused: https to "
			  "http is a downgrade",
			  t.port);
	tu_expect_check(path, 1, to);
	free(to);
	free(path);
	ck_assert_int_eq(hs_tls_served(&t), 3);
	free(ca);
	free(tgt);
	hs_tls_stop(&t);
	hs_tls_certs_remove(certdir);
	hs_stop(&plain);
}
END_TEST

/* Bug caught: a redirect to another port followed by default, or carrying
 * the session cookie, Authorization or X-Api-Key when it is allowed. */
static void cross_port(bool check_cookie)
{
	struct hs_server echo, s;
	hs_start(&echo, hs_ok_any, NULL);
	other_port = echo.port;
	hs_start(&s, redirects, NULL);
	setenv("AC_TEST_TOKEN", "tok-canary-2231", 1);
	const char *allow[] = {"", ", \"redirect_other_hosts\": true"};
	for (size_t i = 0; i < 2; i++) {
		char *json = tu_fmt(
		    "{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"3s\"},"
		    " \"targets\": {\"origin\": \"http://127.0.0.1:%d\"},"
		    " \"personas\": {\"member\": {\"login\": [{\"name\": \"sign in\", \"method\": "
		    "\"POST\", \"url\": \"/login\", \"write\": false, \"form\": {\"u\": \"a\"}}]}},"
		    " \"journeys\": [" TU_JOURNEY(
			"go", "\"persona\": \"member\", \"steps\": [{\"name\": "
			      "\"go\", \"url\": \"/go\", \"follow_redirects\": 2%s,"
			      " \"headers\": {\"Authorization\": \"Bearer "
			      "${env:AC_TEST_TOKEN}\", \"X-Api-Key\": "
			      "\"${env:AC_TEST_TOKEN}\"}}]") "]}",
		    s.port, allow[i]);
		char *path = tu_write_temp(json, ".json");
		if (i == 0) {
			char *want = tu_fmt("step \"go\": cross-origin redirect to "
					    "http://127.0.0.1:%d/steal refused",
					    echo.port);
			tu_expect_check(path, 1, want);
			free(want);
			ck_assert_int_eq(hs_requests(&echo), 0);
		} else {
			tu_expect_check(path, 0, "VERDICT: RESTORED");
			ck_assert_int_eq(hs_requests(&echo), 1);
		}
		free(path);
		free(json);
	}
	char *log = hs_log(&echo);
	ck_assert_msg(!strcasestr(log, "Authorization") && !strcasestr(log, "X-Api-Key") &&
			  !strstr(log, "tok-canary"),
		      "the other port got credentials:\n%s", log);
	if (check_cookie)
		ck_assert_msg(!strcasestr(log, "\r\nCookie:") && !strstr(log, "c00kie-canary"),
			      "the other port got the session cookie:\n%s", log);
	free(log);
	/* The origin did get the cookie on its own /go. */
	log = hs_log(&s);
	ck_assert_int_eq(tu_count(log, "sid=c00kie-canary-71"), 2);
	free(log);
	hs_stop(&s);
	hs_stop(&echo);
}

START_TEST(cross_port_redirect_refused_or_carries_no_credentials)
{
	cross_port(false);
}
END_TEST

/* libcurl's cookie engine scopes cookies by host, not port: allclear keeps
 * one jar per origin, so the session cookie never reaches 127.0.0.1:OTHER. */
START_TEST(cross_port_redirect_carries_no_session_cookie)
{
	cross_port(true);
}
END_TEST

static void other_protocols(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	char *loc;
	if (strcmp(q->path, "/ftp") == 0)
		loc = tu_fmt("Location: ftp://127.0.0.1:%d/pub/x\r\n", other_port);
	else if (strcmp(q->path, "/gopher") == 0)
		loc = tu_fmt("Location: gopher://127.0.0.1:%d/1\r\n", other_port);
	else if (strcmp(q->path, "/file") == 0)
		loc = tu_fmt("Location: file:///etc/passwd\r\n");
	else
		loc = tu_fmt("Location: dict://127.0.0.1:%d/d:x\r\n", other_port);
	hs_reply(fd, 302, loc, "moved");
	free(loc);
}

/* Reliability row 9. Bug caught: a Location of another protocol handed to
 * libcurl (which speaks ftp, gopher, file, dict...). Other hosts are
 * allowed here, so only the protocol rule can stop it. */
START_TEST(redirect_to_other_protocols_is_refused_and_nothing_read)
{
	struct hs_server counter, s;
	hs_start_counting(&counter);
	other_port = counter.port;
	hs_start(&s, other_protocols, NULL);
	char *tgt = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	const char *paths[] = {"/ftp", "/gopher", "/file", "/dict"};
	for (size_t i = 0; i < AC_ARRAY_LEN(paths); i++) {
		char *j = tu_fmt(TU_JOURNEY("other",
					    "\"steps\": [{\"name\": \"follow\", \"url\": \"%s\", "
					    "\"follow_redirects\": 3, \"redirect_other_hosts\": "
					    "true}]"),
				 paths[i]);
		char *path = tu_http_scenario("", tgt, j);
		struct tu_proc p;
		free(tu_run_check_json(&p, path, NULL));
		TU_EXPECT(p.exit_code == 1, &p, "%s: exit %d", paths[i], p.exit_code);
		TU_EXPECT(strstr(p.out, "step \"follow\": redirect 302 to an unsupported URL: "
					"protocol not allowed"),
			  &p, "%s: reason", paths[i]);
		TU_EXPECT(!strstr(p.out, "root:") && !strstr(p.err, "root:"), &p,
			  "%s: /etc/passwd was read", paths[i]);
		tu_proc_release(&p);
		free(path);
		free(j);
	}
	ck_assert_int_eq(hs_requests(&counter), 0);
	ck_assert_int_eq(hs_requests(&s), 4);
	free(tgt);
	hs_stop(&s);
	hs_stop(&counter);
}
END_TEST

TCase *http_content_tcase(void); /* test_http_faults_content.c */
TCase *http_bodies_tcase(void);	 /* test_http_faults_bodies.c */
TCase *http_guard_tcase(void);	 /* test_http_faults_bodies.c */

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	Suite *s = suite_create("http_faults");
	TCase *tls = tcase_create("tls");
	tcase_set_timeout(tls, 120);
	tcase_add_unchecked_fixture(tls, tls_setup, tls_teardown);
	tcase_add_test(tls, tls_good_certificate_with_ca_file_is_restored);
	tcase_add_test(tls, tls_bad_certificates_are_inconclusive_and_nothing_is_requested);
	tcase_add_test(tls, tls_insecure_works_is_never_the_default_and_every_report_says_so);
	suite_add_tcase(s, tls);
	TCase *red = tcase_create("redirects");
	tcase_set_timeout(red, 120);
	tcase_add_test(red, redirect_limit_exact_passes_one_more_fails);
	tcase_add_test(red, only_redirect_statuses_are_followed);
	tcase_add_test(red, redirect_after_post_is_never_replayed);
	tcase_add_test(red, login_307_to_another_host_is_not_replayed);
	tcase_add_test(red, https_to_http_downgrade_is_refused);
	tcase_add_test(red, cross_port_redirect_refused_or_carries_no_credentials);
	tcase_add_test(red, redirect_to_other_protocols_is_refused_and_nothing_read);
	tcase_add_test(red, cross_port_redirect_carries_no_session_cookie);
	suite_add_tcase(s, red);
	suite_add_tcase(s, http_content_tcase());
	suite_add_tcase(s, http_bodies_tcase());
	suite_add_tcase(s, http_guard_tcase());
	return tu_main(s);
}
