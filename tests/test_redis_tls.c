/*
 * test_redis_tls.c: rediss:// against Debian's redis-server with TLS ports
 * and a throwaway CA made for the run (tests/hostile.c): verification of
 * the certificate and the host name, ca_file, a client certificate,
 * "insecure" in every output, the failures that end in ERROR, and a queue
 * preset reading the same figures over TLS as over plain TCP.
 *
 * Servers (ports from AC_TEST_PORT_BASE + 40..): "dual" listens on a plain
 * port and a TLS port with the good certificate; "self", "wronghost" and
 * "mtls" (client certificates required) are TLS only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile.h"
#include "testutil.h"
#include "util.h"

void redis_tls_tests(TCase *tc);

enum { DUAL_PLAIN, DUAL_TLS, SELF, WRONGHOST, MTLS, NPORTS };

static char *certs;
static int ports[NPORTS];
static pid_t pids[4];

static bool port_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* redis-server on 127.0.0.1: plain port (0 for none), TLS port with
 * NAME.pem; client certificates "yes" or "no"; a password or NULL. */
static pid_t start_redis(int plain, int tls, const char *name, const char *auth_clients,
			 const char *password)
{
	char *p = tu_fmt("%d", plain), *t = tu_fmt("%d", tls);
	char *crt = tu_fmt("%s/%s.pem", certs, name), *key = tu_fmt("%s/%s.key", certs, name);
	char *ca = tu_fmt("%s/ca.pem", certs), *log = tu_fmt("%s/redis-%d.log", certs, tls);
	pid_t pid = fork();
	if (pid == 0) {
		const char *argv[] = {"redis-server",
				      "--bind",
				      "127.0.0.1",
				      "--port",
				      p,
				      "--tls-port",
				      t,
				      "--tls-cert-file",
				      crt,
				      "--tls-key-file",
				      key,
				      "--tls-ca-cert-file",
				      ca,
				      "--tls-auth-clients",
				      auth_clients,
				      "--save",
				      "",
				      "--appendonly",
				      "no",
				      "--logfile",
				      log,
				      password ? "--requirepass" : NULL,
				      password,
				      NULL};
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int64_t deadline = tu_now_ms() + 10000;
	while (!port_open(tls) && tu_now_ms() < deadline)
		usleep(20 * 1000);
	ck_assert_msg(port_open(tls), "redis-server with TLS did not start (see %s)", log);
	free(p);
	free(t);
	free(crt);
	free(key);
	free(ca);
	free(log);
	return pid;
}

static void servers_up(void)
{
	long base = 27200;
	const char *b = getenv("AC_TEST_PORT_BASE");
	if (b)
		ck_assert_int_eq(ac_parse_long(b, &base), 0);
	for (int i = 0; i < NPORTS; i++)
		ports[i] = (int)base + 40 + i;
	certs = hs_tls_certs();
	pids[0] = start_redis(ports[DUAL_PLAIN], ports[DUAL_TLS], "good", "no", NULL);
	pids[1] = start_redis(0, ports[SELF], "self", "no", NULL);
	pids[2] = start_redis(0, ports[WRONGHOST], "wronghost", "no", NULL);
	pids[3] = start_redis(0, ports[MTLS], "good", "yes", "tls-secret");
}

static void servers_down(void)
{
	for (size_t i = 0; i < AC_ARRAY_LEN(pids); i++) {
		if (pids[i] > 0) {
			kill(pids[i], SIGTERM);
			waitpid(pids[i], NULL, 0);
		}
		pids[i] = 0;
	}
	hs_tls_certs_remove(certs);
	certs = NULL;
}

static void sh(const char *cmd)
{
	int rc = system(cmd);
	ck_assert_msg(rc == 0, "fixture failed: %s", cmd);
}

/* A "redis" entry: rediss://HOST:PORT/DB and extra members ("" for none). */
static char *entry(const char *name, const char *host, int port, int db, const char *extra)
{
	return tu_fmt("\"%s\": {\"url\": \"rediss://%s:%d/%d\"%s%s}", name, host, port, db,
		      *extra ? ", " : "", extra);
}

static char *ca_member(void)
{
	return tu_fmt("\"ca_file\": \"%s/ca.pem\"", certs);
}

#define LLEN(name, srv, want)                                                                      \
	"{\"kind\": \"redis\", \"name\": \"" name "\", \"area\": \"jobs\", \"owner\": \"o\", "     \
	"\"redis\": \"" srv "\", \"command\": [\"LLEN\", \"tlsq\"], \"expect\": {\"==\": " want    \
	"}}"

static char *scenario(const char *servers, const char *checks)
{
	return tu_fmt("{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"2s\", "
		      "\"connect_timeout\": \"1s\"}, \"redis\": {%s}, \"checks\": [%s]}",
		      servers, checks);
}

static struct ac_result *run(const char *servers, const char *checks, struct ac_plan **p)
{
	char *json = scenario(servers, checks);
	struct ac_result *r = tu_run_scenario(json, 1, p);
	free(json);
	return r;
}

static void expect_error(const struct ac_result *r, const char *id, const char *want)
{
	const struct ac_check_result *cr = tu_check(r, id);
	ck_assert_msg(cr->state == AC_STATE_ERROR, "%s: state %d (%s)", id, cr->state,
		      cr->reason ? cr->reason : "");
	ck_assert_msg(cr->reason && strstr(cr->reason, want), "%s: reason \"%s\", want \"%s\"", id,
		      cr->reason ? cr->reason : "", want);
}

/* Three items in tlsq of db 3 on the dual server (written in plain text). */
static void fill_list(void)
{
	char *cmd = tu_fmt("redis-cli -p %d -n 3 DEL tlsq >/dev/null && redis-cli -p %d -n 3 "
			   "RPUSH tlsq a b c >/dev/null",
			   ports[DUAL_PLAIN], ports[DUAL_PLAIN]);
	sh(cmd);
	free(cmd);
}

/* The good certificate, trusted through ca_file, for the address and for
 * the name "localhost" (SNI and a DNS-name match): the value is read; a
 * check expecting another value fails, so the figure is really read. The
 * reply cap holds over TLS too (a 17 MB value). */
START_TEST(rediss_good_certificate_with_ca_file_reads_a_value)
{
	fill_list();
	char *big =
	    tu_fmt("redis-cli -p %d -n 3 SETRANGE big 17000000 x >/dev/null", ports[DUAL_PLAIN]);
	sh(big);
	free(big);
	char *ca = ca_member();
	char *a = entry("ip", "127.0.0.1", ports[DUAL_TLS], 3, ca);
	char *b = entry("name", "localhost", ports[DUAL_TLS], 3, ca);
	char *servers = tu_fmt("%s, %s", a, b);
	struct ac_plan *p;
	struct ac_result *r =
	    run(servers,
		LLEN("ip", "ip", "3") "," LLEN("name", "name", "3") "," LLEN(
		    "four", "ip", "4") ","
				       "{\"kind\": \"redis\", \"name\": \"huge\", \"area\": "
				       "\"jobs\", \"owner\": \"o\", "
				       "\"redis\": \"name\", \"command\": [\"GET\", \"big\"], "
				       "\"expect\": {\"==\": 0}}",
		&p);
	ck_assert_msg(tu_check(r, "ip")->state == AC_STATE_PASS, "%s",
		      tu_check(r, "ip")->reason ? tu_check(r, "ip")->reason : "");
	ck_assert_msg(tu_check(r, "name")->state == AC_STATE_PASS, "%s",
		      tu_check(r, "name")->reason ? tu_check(r, "name")->reason : "");
	ck_assert_int_eq(tu_check(r, "four")->state, AC_STATE_FAIL);
	ck_assert_str_eq(tu_check(r, "four")->reason, "LLEN tlsq: 3, expected == 4");
	expect_error(r, "huge", "redis \"name\": reply too large (over 16777216 bytes)");
	ck_assert(!r->insecure_tls);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(servers);
	free(a);
	free(b);
	free(ca);
}
END_TEST

static long connections_received(void)
{
	char *cmd = tu_fmt("redis-cli -p %d INFO stats | tr -d '\\r' | sed -n "
			   "'s/^total_connections_received://p'",
			   ports[DUAL_PLAIN]);
	FILE *f = popen(cmd, "r");
	ck_assert(f != NULL);
	char line[64] = "";
	ck_assert(fgets(line, sizeof(line), f) != NULL);
	pclose(f);
	free(cmd);
	line[strcspn(line, "\n")] = '\0';
	long v = -1;
	ck_assert_msg(ac_parse_long(line, &v) == 0, "INFO: \"%s\"", line);
	return v;
}

/* Three rounds, two checks each: one TLS session carries them all (the
 * idle session between rounds is reused, not reopened). */
START_TEST(rediss_one_session_across_rounds)
{
	fill_list();
	char *ca = ca_member();
	char *srv = entry("r", "localhost", ports[DUAL_TLS], 3, ca);
	char *json = scenario(srv, LLEN("a", "r", "3") "," LLEN("b", "r", "3"));
	long before = connections_received();
	struct ac_plan *p;
	struct ac_result *r = tu_run_scenario(json, 3, &p);
	long after = connections_received();
	ck_assert_int_eq(r->rounds, 3);
	ck_assert_msg(tu_check(r, "a")->consecutive_passes == 3, "%s",
		      tu_check(r, "a")->reason ? tu_check(r, "a")->reason : "");
	ck_assert_int_eq(tu_check(r, "b")->consecutive_passes, 3);
	/* ours, and the second INFO's own */
	ck_assert_int_eq(after - before, 2);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(json);
	free(srv);
	free(ca);
}
END_TEST

/* Without ca_file the system's store does not know the throwaway CA; a
 * self-signed certificate and one for another host are refused even with
 * the CA trusted: all ERROR with the cause, the verdict INCONCLUSIVE. */
START_TEST(rediss_untrusted_or_wrong_host_is_inconclusive_with_the_reason)
{
	fill_list();
	char *ca = ca_member();
	char *s[4] = {
	    entry("system", "127.0.0.1", ports[DUAL_TLS], 3, ""),
	    entry("self", "127.0.0.1", ports[SELF], 0, ca),
	    entry("wrongip", "127.0.0.1", ports[WRONGHOST], 0, ca),
	    entry("wrongname", "localhost", ports[WRONGHOST], 0, ca),
	};
	char *servers = tu_fmt("%s, %s, %s, %s", s[0], s[1], s[2], s[3]);
	struct ac_plan *p;
	struct ac_result *r =
	    run(servers,
		LLEN("system", "system", "3") "," LLEN("self", "self", "0") "," LLEN(
		    "wrongip", "wrongip", "0") "," LLEN("wrongname", "wrongname", "0"),
		&p);
	char *want = tu_fmt("redis \"system\": TLS: certificate verify failed: self-signed "
			    "certificate in certificate chain (redis 127.0.0.1:%d)",
			    ports[DUAL_TLS]);
	expect_error(r, "system", want);
	free(want);
	want =
	    tu_fmt("TLS: certificate verify failed: self-signed certificate (redis 127.0.0.1:%d)",
		   ports[SELF]);
	expect_error(r, "self", want);
	free(want);
	want = tu_fmt("TLS: certificate verify failed: IP address mismatch (redis 127.0.0.1:%d)",
		      ports[WRONGHOST]);
	expect_error(r, "wrongip", want);
	free(want);
	want = tu_fmt("TLS: certificate verify failed: hostname mismatch (redis localhost:%d)",
		      ports[WRONGHOST]);
	expect_error(r, "wrongname", want);
	free(want);
	ck_assert_int_eq(r->verdict, AC_INCONCLUSIVE);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(servers);
	for (int i = 0; i < 4; i++)
		free(s[i]);
	free(ca);
}
END_TEST

/* A plain-text server behind a rediss:// URL, and a listener that never
 * answers the handshake (the connect timeout covers it): ERROR, never a
 * fall back to plain text. */
START_TEST(rediss_plain_server_and_handshake_timeout_are_errors)
{
	int silent = 0, talker = 0;
	int lfd = tu_listen(&silent);
	/* A plain-text server that answers at once, whatever it got. */
	int tfd = tu_listen(&talker);
	pid_t pid = fork();
	if (pid == 0) {
		for (;;) {
			int fd = accept(tfd, NULL, NULL);
			if (fd < 0)
				_exit(0);
			char buf[4096];
			if (read(fd, buf, sizeof(buf)) > 0 &&
			    write(fd, "-ERR unknown command\r\n", 22) < 0)
				_exit(0);
			close(fd);
		}
	}
	close(tfd);
	char *a = entry("plain", "127.0.0.1", ports[DUAL_PLAIN], 3, "");
	char *b = entry("silent", "127.0.0.1", silent, 0, "");
	char *c = entry("talker", "127.0.0.1", talker, 0, "");
	char *servers = tu_fmt("%s, %s, %s", a, b, c);
	struct ac_plan *p;
	int64_t t0 = tu_now_ms();
	struct ac_result *r = run(servers,
				  LLEN("plain", "plain", "3") "," LLEN(
				      "silent", "silent", "0") "," LLEN("talker", "talker", "0"),
				  &p);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	char *want = tu_fmt("redis \"talker\": TLS handshake failed: wrong version number (redis "
			    "127.0.0.1:%d: it does not answer in TLS; a plain-text port?)",
			    talker);
	expect_error(r, "talker", want);
	free(want);
	free(c);
	int64_t took = tu_now_ms() - t0;
	/* redis-server waits for the end of a line that never comes. */
	expect_error(r, "plain",
		     "redis \"plain\": connect timeout after 1000 ms (the TLS handshake did not "
		     "finish: is it a TLS port?)");
	expect_error(r, "silent",
		     "redis \"silent\": connect timeout after 1000 ms (the TLS handshake did not "
		     "finish: is it a TLS port?)");
	ck_assert_msg(took < 5000, "took %lld ms", (long long)took);
	ck_assert_int_eq(r->verdict, AC_INCONCLUSIVE);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	close(lfd);
	free(servers);
	free(a);
	free(b);
}
END_TEST

/* "insecure": the self-signed server is read, and every output says
 * verification was off (the report tree, the terminal, JSON, lint). */
START_TEST(rediss_insecure_works_and_is_reported)
{
	char *fill =
	    tu_fmt("redis-cli --tls --insecure -p %d RPUSH tlsq a b >/dev/null", ports[SELF]);
	sh(fill);
	free(fill);
	char *srv = entry("self", "127.0.0.1", ports[SELF], 0, "\"insecure\": true");
	char *json = scenario(srv, LLEN("self", "self", "2"));
	char *path = tu_write_temp(json, ".json");
	struct tu_proc pr;
	char *report = tu_run_check_json(&pr, path, NULL);
	ck_assert_msg(pr.exit_code == 0, "exit %d: %s %s", pr.exit_code, pr.out, pr.err);
	ck_assert_msg(strstr(pr.out, "TLS verification is OFF"), "%s", pr.out);
	ck_assert_msg(report && strstr(report, "\"insecure_tls\":\ttrue"), "%s",
		      report ? report : "(no report)");
	tu_proc_release(&pr);
	free(report);
	const char *lint[] = {"lint", path, NULL};
	tu_run(&pr, lint, NULL, 30);
	ck_assert_msg(pr.exit_code == 0 && strstr(pr.out, "TLS verification OFF"), "%s %s", pr.out,
		      pr.err);
	tu_proc_release(&pr);
	free(path);
	free(json);
	free(srv);
}
END_TEST

/* A server that requires client certificates and a password: without a
 * certificate the check is ERROR; with cert and key (signed by the CA it
 * trusts) it reads after AUTH, over TLS; a wrong password is ERROR. */
START_TEST(rediss_client_certificate)
{
	char *fill =
	    tu_fmt("redis-cli --tls --cacert %s/ca.pem --cert %s/good.pem --key "
		   "%s/good.key -p %d --no-auth-warning -a tls-secret RPUSH tlsq a >/dev/null",
		   certs, certs, certs, ports[MTLS]);
	sh(fill);
	free(fill);
	char *ca = ca_member();
	char *with = tu_fmt("%s, \"cert\": \"%s/good.pem\", \"key\": \"%s/good.key\", "
			    "\"password\": \"tls-secret\"",
			    ca, certs, certs);
	char *bad = tu_fmt("%s, \"cert\": \"%s/good.pem\", \"key\": \"%s/good.key\", "
			   "\"password\": \"not-it\"",
			   ca, certs, certs);
	char *a = entry("without", "127.0.0.1", ports[MTLS], 0, ca);
	char *b = entry("with", "127.0.0.1", ports[MTLS], 0, with);
	char *c = entry("badpass", "127.0.0.1", ports[MTLS], 0, bad);
	char *servers = tu_fmt("%s, %s, %s", a, b, c);
	struct ac_plan *p;
	struct ac_result *r = run(servers,
				  LLEN("without", "without", "1") "," LLEN(
				      "with", "with", "1") "," LLEN("badpass", "badpass", "1"),
				  &p);
	/* TLS 1.3: the server refuses after the handshake, with an alert
	 * ("certificate required") or a reset, whichever comes first. */
	expect_error(r, "without", "redis \"without\": connection lost");
	ck_assert_msg(tu_check(r, "with")->state == AC_STATE_PASS, "%s",
		      tu_check(r, "with")->reason ? tu_check(r, "with")->reason : "");
	expect_error(r, "badpass", "redis \"badpass\": AUTH or SELECT failed: WRONGPASS");
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(servers);
	free(a);
	free(b);
	free(c);
	free(bad);
	free(with);
	free(ca);
}
END_TEST

/* TLS keys on a plain URL, and files that cannot be used, are scenario
 * errors (nothing probed). */
START_TEST(rediss_keys_checked_at_load)
{
	static const char checks[] = LLEN("x", "r", "0");
	struct {
		const char *members, *want;
	} cases[] = {
	    {"\"url\": \"redis://127.0.0.1:1/0\", \"insecure\": true",
	     "redis.r.insecure: applies to rediss:// (TLS) URLs only"},
	    {"\"url\": \"redis://127.0.0.1:1/0\", \"ca_file\": \"/etc/hostname\"",
	     "redis.r.ca_file: applies to rediss:// (TLS) URLs only"},
	    {"\"url\": \"rediss://127.0.0.1:1/0\", \"ca_file\": \"/nonexistent/ca.pem\"",
	     "redis.r: ca_file: cannot read \"/nonexistent/ca.pem\": No such file or directory"},
	    {"\"url\": \"rediss://127.0.0.1:1/0\", \"ca_file\": \"/etc/hostname\"",
	     "redis.r: ca_file: cannot use \"/etc/hostname\""},
	    {"\"url\": \"rediss://127.0.0.1:1/0\", \"key\": \"/etc/hostname\"",
	     "redis.r: key: given without cert"},
	    {"\"url\": \"rediss:///0\"", "no host in the Redis URL"},
	};
	for (size_t i = 0; i < AC_ARRAY_LEN(cases); i++) {
		char *srv = tu_fmt("\"r\": {%s}", cases[i].members);
		char *json = scenario(srv, checks);
		char *e = tu_load_error(json);
		ck_assert_msg(strstr(e, cases[i].want), "case %zu: %s", i, e);
		free(e);
		free(json);
		free(srv);
	}
}
END_TEST

/* Figures in order: depth, in_flight, retrying, dead, scheduled, oldest_age_s, workers. */
static void figures_of(const struct ac_check_result *cr, double out[7], bool has[7])
{
	ck_assert_msg(cr->last.state == AC_STATE_PASS, "%s: %s", cr->check->id,
		      cr->last.reason ? cr->last.reason : "");
	for (int i = 0; i < 7; i++) {
		has[i] = cr->last.figures[i].has_value;
		out[i] = cr->last.figures[i].value;
	}
}

/* The Sidekiq preset over TLS reads what it reads over TCP from the same
 * data on the same server; for the TLS run the server's plain port is
 * closed (CONFIG SET port 0): a TLS-only server. */
START_TEST(rediss_queue_preset_reads_the_same_figures_as_tcp)
{
	char *u = tu_fmt("redis://127.0.0.1:%d/7", ports[DUAL_PLAIN]);
	char *cmd = tu_fmt("ruby %s/tests/fixtures/sidekiq_state.rb %s >/dev/null 2>&1",
			   tu_env("AC_SOURCE_ROOT"), u);
	sh(cmd);
	free(cmd);
	char *ca = ca_member();
	char *tls = entry("tls", "localhost", ports[DUAL_TLS], 7, ca);
	char *tcp = tu_fmt("\"tcp\": \"%s\"", u);
#define QS(name, srv)                                                                              \
	"{\"kind\": \"queue\", \"name\": \"" name "\", \"area\": \"jobs\", \"owner\": \"o\", "     \
	"\"preset\": \"sidekiq\", \"queue\": \"default\", \"redis\": \"" srv "\"}"
	struct ac_plan *p, *p2;
	struct ac_result *r = run(tcp, QS("over_tcp", "tcp"), &p);
	cmd = tu_fmt("redis-cli -p %d CONFIG SET port 0 >/dev/null", ports[DUAL_PLAIN]);
	sh(cmd);
	free(cmd);
	bool closed = !port_open(ports[DUAL_PLAIN]);
	struct ac_result *r2 = run(tls, QS("over_tls", "tls"), &p2);
	cmd = tu_fmt("redis-cli --tls --cacert %s/ca.pem -p %d CONFIG SET port %d >/dev/null",
		     certs, ports[DUAL_TLS], ports[DUAL_PLAIN]);
	sh(cmd);
	free(cmd);
	ck_assert_msg(closed, "the plain port stayed open");
	double a[7], b[7];
	bool ha[7], hb[7];
	figures_of(tu_check(r, "over_tcp"), a, ha);
	figures_of(tu_check(r2, "over_tls"), b, hb);
	int valued = 0;
	for (int i = 0; i < 7; i++) {
		ck_assert_msg(ha[i] == hb[i], "figure %d: has %d vs %d", i, ha[i], hb[i]);
		valued += ha[i];
		if (ha[i] && i != 5) /* the age moves with the clock */
			ck_assert_msg(a[i] == b[i], "figure %d: tcp %g, tls %g", i, a[i], b[i]);
		if (ha[i] && i == 5)
			ck_assert_msg(b[i] >= a[i] && b[i] < a[i] + 5, "age: tcp %g, tls %g", a[i],
				      b[i]);
	}
	ck_assert_int_ge(valued, 5);
	ck_assert_int_eq((int)b[0], 3); /* depth, as test_redis.c's Sidekiq test reads it */
	ac_result_destroy(r);
	ac_plan_destroy(p);
	ac_result_destroy(r2);
	ac_plan_destroy(p2);
	free(tcp);
	free(tls);
	free(ca);
	free(u);
}
END_TEST

void redis_tls_tests(TCase *tc)
{
	tcase_add_unchecked_fixture(tc, servers_up, servers_down);
	tcase_add_test(tc, rediss_good_certificate_with_ca_file_reads_a_value);
	tcase_add_test(tc, rediss_one_session_across_rounds);
	tcase_add_test(tc, rediss_untrusted_or_wrong_host_is_inconclusive_with_the_reason);
	tcase_add_test(tc, rediss_plain_server_and_handshake_timeout_are_errors);
	tcase_add_test(tc, rediss_insecure_works_and_is_reported);
	tcase_add_test(tc, rediss_client_certificate);
	tcase_add_test(tc, rediss_keys_checked_at_load);
	tcase_add_test(tc, rediss_queue_preset_reads_the_same_figures_as_tcp);
}
