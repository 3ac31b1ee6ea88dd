/*
 * test_redis.c: Redis checks against a real Redis server (tests/servers.sh)
 * with states made by the real job libraries (RQ, Celery, Sidekiq, BullMQ,
 * bee-queue), an ACL-restricted server, and hostile RESP servers.
 */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

void redis_tls_tests(TCase *tc);   /* test_redis_tls.c */
void redis_drain_tests(TCase *tc); /* test_redis_drain.c */
void redis_test_sh(const char *cmd);
char *redis_test_url(int db);

static void sh(const char *cmd)
{
	int rc = system(cmd);
	ck_assert_msg(rc == 0, "fixture failed: %s", cmd);
}

static char *url(int db)
{
	return tu_fmt("redis://127.0.0.1:%s/%d", tu_env("AC_TEST_REDIS_PORT"), db);
}

/* For the other files of the suite (test_redis_drain.c). */
void redis_test_sh(const char *cmd)
{
	sh(cmd);
}

char *redis_test_url(int db)
{
	return url(db);
}

static struct ac_result *run_one(const char *servers, const char *checks, struct ac_plan **plan)
{
	char *json = tu_fmt("{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"2s\", "
			    "\"connect_timeout\": \"1s\"},"
			    " \"redis\": {%s}, \"checks\": [%s]}",
			    servers, checks);
	struct ac_result *r = tu_run_scenario(json, 1, plan);
	free(json);
	return r;
}

/* Figures in order: depth, in_flight, retrying, dead, scheduled, oldest_age_s, workers.
 * -1: unavailable (with a reason); -2: do not look. For the age, the value is a minimum. */
static void expect_figures(const struct ac_check_result *cr, const double want[7])
{
	ck_assert_msg(cr->last.state == AC_STATE_PASS, "%s: %s", cr->check->id,
		      cr->last.reason ? cr->last.reason : "");
	for (int i = 0; i < 7; i++) {
		const struct ac_figure *f = &cr->last.figures[i];
		if (want[i] == -2)
			continue;
		if (want[i] == -1)
			ck_assert_msg(!f->has_value && f->note && *f->note,
				      "%s: %s should be unavailable", cr->check->id, f->name);
		else if (i == 5)
			ck_assert_msg(f->has_value && f->value >= want[i] &&
					  f->value < want[i] + 300,
				      "%s: oldest %g", cr->check->id, f->has_value ? f->value : -1);
		else
			ck_assert_msg(f->has_value && f->value == want[i], "%s: %s = %g, want %g",
				      cr->check->id, f->name, f->has_value ? f->value : -1,
				      want[i]);
	}
}

/* Calls per command from INFO commandstats, as "name calls" lines. */
static char *command_calls(const char *u)
{
	char *cmd = tu_fmt("redis-cli -u %s INFO commandstats | sed -n "
			   "'s/^cmdstat_\\([^:]*\\):calls=\\([0-9]*\\).*/\\1 \\2/p' | sort",
			   u);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	struct ac_buf b = AC_BUF_INIT;
	char line[256];
	while (fgets(line, sizeof(line), f))
		ac_buf_add(&b, line, strlen(line));
	ck_assert_int_eq(pclose(f), 0);
	free(cmd);
	return ac_buf_detach(&b);
}

static long calls_of(const char *stats, const char *name)
{
	char *key = tu_fmt("\n%s ", name);
	char *all = tu_fmt("\n%s", stats);
	const char *at = strstr(all, key);
	long n = 0;
	if (at)
		ck_assert_int_eq(sscanf(at + strlen(key), "%ld", &n), 1);
	free(key);
	free(all);
	return n;
}

/* Every command whose call count grew between two snapshots, asked of the
 * server itself whether it is a write: none may be. */
static void assert_no_write_between(const char *u, const char *before, const char *after)
{
	char *copy = ac_strdup(after);
	int seen = 0;
	for (char *line = copy, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		long now = 0;
		ck_assert_int_eq(ac_parse_long(sp + 1, &now), 0);
		if (now <= calls_of(before, line))
			continue;
		seen++;
		/* "info" is this check's own snapshot; sub-commands are "a|b". */
		char *name = ac_strdup(line);
		char *bar = strchr(name, '|');
		if (bar)
			*bar = ' ';
		char *q = tu_fmt("redis-cli -u %s COMMAND INFO %s | grep -qx write", u, name);
		ck_assert_msg(system(q) != 0, "the server ran a write command: %s", line);
		free(q);
		free(name);
	}
	ck_assert_msg(seen > 0, "no command counted at all: the snapshot is broken");
	free(copy);
}

#define Q(name, preset, queue, srv)                                                                \
	"{\"kind\": \"queue\", \"name\": \"" name "\", \"area\": \"jobs\", \"owner\": \"o\", "     \
	"\"preset\": \"" preset "\", \"queue\": \"" queue "\", \"redis\": \"" srv "\"}"

START_TEST(preset_rq_with_the_real_library)
{
	char *u = url(5);
	char *cmd = tu_fmt("PYTHONPATH=%s/tests/fixtures /usr/bin/python3 "
			   "%s/tests/fixtures/rq_state.py %s >/dev/null 2>&1",
			   tu_env("AC_SOURCE_ROOT"), tu_env("AC_SOURCE_ROOT"), u);
	sh(cmd);
	char *srv = tu_fmt("\"r\": \"%s\"", u);
	struct ac_plan *p;
	struct ac_result *r = run_one(srv, Q("rq", "rq", "mail", "r"), &p);
	const double want[7] = {3, 0, -1, 1, 2, 0, 0};
	expect_figures(tu_check(r, "rq"), want);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(srv);
	free(cmd);
	free(u);
}
END_TEST

START_TEST(preset_celery_with_the_real_library)
{
	char *u = url(6);
	char *cmd = tu_fmt("/usr/bin/python3 %s/tests/fixtures/celery_state.py %s >/dev/null 2>&1",
			   tu_env("AC_SOURCE_ROOT"), u);
	sh(cmd);
	char *srv = tu_fmt("\"r\": \"%s\"", u);
	struct ac_plan *p;
	struct ac_result *r = run_one(srv, Q("celery", "celery", "work", "r"), &p);
	const double want[7] = {4, 0, -1, -1, -1, -1, -1};
	expect_figures(tu_check(r, "celery"), want);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(srv);
	free(cmd);
	free(u);
}
END_TEST

START_TEST(preset_sidekiq_with_the_real_library)
{
	char *u = url(7);
	char *cmd = tu_fmt("ruby %s/tests/fixtures/sidekiq_state.rb %s >/dev/null 2>&1",
			   tu_env("AC_SOURCE_ROOT"), u);
	sh(cmd);
	/* A live process entry, as a running Sidekiq writes it. */
	char *proc =
	    tu_fmt("redis-cli -u %s SADD processes host:1:abc >/dev/null && redis-cli -u %s "
		   "HSET host:1:abc busy 2 beat $(date +%%s.%%N) >/dev/null",
		   u, u);
	sh(proc);
	char *srv = tu_fmt("\"r\": \"%s\"", u);
	struct ac_plan *p;
	struct ac_result *r = run_one(srv, Q("sidekiq", "sidekiq", "default", "r"), &p);
	const double want[7] = {3, 2, 2, 1, 2, 0, 1};
	const struct ac_check_result *cr = tu_check(r, "sidekiq");
	expect_figures(cr, want);
	ck_assert_msg(strstr(cr->last.evidence, "sidekiq < 8"), "%s", cr->last.evidence);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(srv);
	free(proc);
	free(cmd);
	free(u);
}
END_TEST

/* Every registered Sidekiq process counts (no silent cap), and a figure the
 * server refused keeps the server's own error as its reason. */
START_TEST(preset_counts_every_process_and_keeps_server_errors)
{
	char *u = url(12);
	char *cmd = tu_fmt("redis-cli -u %s FLUSHDB >/dev/null && for i in $(seq 1 40); do "
			   "redis-cli -u %s SADD processes host:$i >/dev/null && redis-cli -u %s "
			   "HSET host:$i busy 1 beat $(date +%%s) >/dev/null; done && "
			   "redis-cli -u %s RPUSH queue:default '{}' >/dev/null && "
			   "redis-cli -u %s SET queue:broken x >/dev/null",
			   u, u, u, u, u);
	sh(cmd);
	char *before = command_calls(u);
	char *srv = tu_fmt("\"r\": \"%s\"", u);
	struct ac_plan *p;
	struct ac_result *r = run_one(
	    srv, Q("sidekiq", "sidekiq", "default", "r") "," Q("broken", "sidekiq", "broken", "r"),
	    &p);
	const struct ac_check_result *cr = tu_check(r, "sidekiq");
	ck_assert_msg(cr->last.figures[1].has_value && cr->last.figures[1].value == 40,
		      "in_flight %g of 40", cr->last.figures[1].value);
	ck_assert_msg(cr->last.figures[6].has_value && cr->last.figures[6].value == 40,
		      "workers %g of 40", cr->last.figures[6].value);
	cr = tu_check(r, "broken");
	ck_assert_int_eq(cr->state, AC_STATE_ERROR);
	ck_assert_msg(strstr(cr->reason, "depth unavailable: Redis answered an error: WRONGTYPE"),
		      "%s", cr->reason);
	char *after = command_calls(u);
	assert_no_write_between(u, before, after);
	free(before);
	free(after);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(srv);
	free(cmd);
	free(u);
}
END_TEST

START_TEST(presets_bullmq_and_bee_queue_with_the_real_libraries)
{
	const char *mods = tu_env("AC_TEST_NODE_MODULES");
	char *cmd = tu_fmt(
	    "NODE_PATH=%s node %s/tests/fixtures/node_state.js 127.0.0.1 %s 8 >/dev/null 2>&1",
	    mods, tu_env("AC_SOURCE_ROOT"), tu_env("AC_TEST_REDIS_PORT"));
	sh(cmd);
	char *u8 = url(8), *u9 = url(9);
	char *srv = tu_fmt("\"b\": \"%s\", \"q\": \"%s\"", u8, u9);
	struct ac_plan *p;
	struct ac_result *r = run_one(
	    srv, Q("bullmq", "bullmq", "mail", "b") "," Q("bee", "bee_queue", "mail", "q"), &p);
	const double bull[7] = {3, 0, -1, 1, 2, 0, -1};
	expect_figures(tu_check(r, "bullmq"), bull);
	const double bee[7] = {2, 0, -1, 1, 1, 0, -1};
	expect_figures(tu_check(r, "bee"), bee);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(srv);
	free(u8);
	free(u9);
	free(cmd);
}
END_TEST

START_TEST(preset_resque_layout)
{
	/* Resque is not packaged in Debian: its documented layout, by hand. */
	char *u = url(10);
	char *cmd = tu_fmt(
	    "redis-cli -u %s FLUSHDB >/dev/null && redis-cli -u %s RPUSH resque:queue:mail "
	    "'{\"class\":\"Mailer\",\"args\":[1]}' '{\"class\":\"Mailer\",\"args\":[2]}' "
	    ">/dev/null && "
	    "redis-cli -u %s RPUSH resque:failed '{\"payload\":{}}' >/dev/null && "
	    "redis-cli -u %s SADD resque:workers h:1:mail h:2:mail,other h:3:other >/dev/null && "
	    "redis-cli -u %s SET resque:worker:h:1:mail '{\"queue\":\"mail\"}' >/dev/null",
	    u, u, u, u, u);
	sh(cmd);
	char *srv = tu_fmt("\"r\": \"%s\"", u);
	struct ac_plan *p;
	struct ac_result *r = run_one(srv, Q("resque", "resque", "mail", "r"), &p);
	const double want[7] = {2, 1, -1, 1, -1, -1, 2};
	expect_figures(tu_check(r, "resque"), want);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(srv);
	free(cmd);
	free(u);
}
END_TEST

/* An oldest job stamped in the future (beyond a clock-skew allowance) or
 * at an absurd time has no age we can trust: oldest_age is unavailable
 * and an expectation on it is ERROR, never a pass at age 0 (F5). Within
 * the allowance it reads as 0. */
START_TEST(future_or_absurd_enqueue_time_is_no_age)
{
	char *u = url(13);
	char *srv = tu_fmt("\"r\": \"%s\"", u);
	struct {
		const char *stamp, *want;
	} cases[] = {
	    {"+10800",
	     "oldest_age_s unavailable: oldest job's enqueued_at is 3 h in the future: clocks "
	     "disagree?"},
	    {"1e300", "oldest_age_s unavailable: oldest job's enqueued_at is not a usable time"},
	    {"-1e300", "oldest_age_s unavailable: oldest job's enqueued_at is not a usable time"},
	    {"+30", NULL},
	};
	for (size_t i = 0; i < AC_ARRAY_LEN(cases); i++) {
		char *stamp = cases[i].stamp[0] == '+'
				  ? tu_fmt("%lld", (long long)time(NULL) +
						       strtoll(cases[i].stamp + 1, NULL, 10))
				  : ac_strdup(cases[i].stamp);
		char *cmd = tu_fmt("redis-cli -u %s FLUSHDB >/dev/null && redis-cli -u %s LPUSH "
				   "queue:pay '{\"jid\":\"1\",\"enqueued_at\":%s}' >/dev/null",
				   u, u, stamp);
		sh(cmd);
		struct ac_plan *p;
		struct ac_result *r = run_one(
		    srv,
		    "{\"kind\": \"queue\", \"name\": \"q\", \"area\": \"jobs\", \"owner\": \"o\", "
		    "\"preset\": \"sidekiq\", \"queue\": \"pay\", \"redis\": \"r\", \"expect\": "
		    "{\"max_oldest_age\": \"2m\"}}",
		    &p);
		const struct ac_check_result *cr = tu_check(r, "q");
		if (cases[i].want) {
			ck_assert_msg(cr->state == AC_STATE_ERROR, "%s: state %d %s",
				      cases[i].stamp, cr->state, cr->reason ? cr->reason : "");
			ck_assert_msg(cr->reason && strstr(cr->reason, cases[i].want), "%s: %s",
				      cases[i].stamp, cr->reason ? cr->reason : "(none)");
		} else {
			ck_assert_msg(cr->state == AC_STATE_PASS, "%s: %s", cases[i].stamp,
				      cr->reason ? cr->reason : "");
			ck_assert(cr->last.figures[5].has_value && cr->last.figures[5].value == 0);
		}
		ac_result_destroy(r);
		ac_plan_destroy(p);
		free(cmd);
		free(stamp);
	}
	free(srv);
	free(u);
}
END_TEST

START_TEST(raw_commands_allowlist_and_absent_keys)
{
	char *u = url(11);
	char *cmd = tu_fmt("redis-cli -u %s FLUSHDB >/dev/null && redis-cli -u %s ZADD retry 1 a 2 "
			   "b 3 c >/dev/null",
			   u, u);
	sh(cmd);
	char *before = command_calls(u);
	char *srv = tu_fmt("\"r\": \"%s\"", u);
	struct ac_plan *p;
	struct ac_result *r = run_one(
	    srv,
	    "{\"kind\": \"redis\", \"name\": \"retry\", \"area\": \"jobs\", \"owner\": \"o\", "
	    "\"redis\": \"r\", \"command\": [\"ZCARD\", \"retry\"], \"expect\": {\"<=\": 2}},"
	    "{\"kind\": \"redis\", \"name\": \"range\", \"area\": \"jobs\", \"owner\": \"o\", "
	    "\"redis\": \"r\", \"command\": [\"ZCOUNT\", \"retry\", \"2\", \"+inf\"], \"expect\": "
	    "{\"between\": [1, 2]}},"
	    "{\"kind\": \"redis\", \"name\": \"absent\", \"area\": \"jobs\", \"owner\": \"o\", "
	    "\"redis\": \"r\", \"command\": [\"LLEN\", \"queue:renamed\"], \"expect\": {\"==\": "
	    "0}},"
	    "{\"kind\": \"redis\", \"name\": \"nil\", \"area\": \"jobs\", \"owner\": \"o\", "
	    "\"redis\": \"r\", \"command\": [\"GET\", \"nothing\"], \"expect\": {\"==\": 0}}",
	    &p);
	ck_assert_int_eq(tu_check(r, "retry")->state, AC_STATE_FAIL);
	ck_assert_str_eq(tu_check(r, "retry")->reason, "ZCARD retry: 3, expected <= 2");
	ck_assert_int_eq(tu_check(r, "range")->state, AC_STATE_PASS);
	ck_assert_int_eq(tu_check(r, "absent")->state, AC_STATE_ERROR);
	ck_assert_ptr_nonnull(
	    strstr(tu_check(r, "absent")->reason, "key \"queue:renamed\" absent"));
	ck_assert_int_eq(tu_check(r, "nil")->state, AC_STATE_ERROR);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	/* Anything off the allowlist is refused at load time, naming it. */
	const char *bad[] = {"DEL", "EVAL", "CONFIG", "KEYS", "BLPOP", "FLUSHALL", "SET"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *json = tu_fmt("{\"redis\": {%s}, \"checks\": [{\"kind\": \"redis\", "
				    "\"name\": \"x\", \"area\": \"jobs\","
				    " \"owner\": \"o\", \"redis\": \"r\", \"command\": [\"%s\", "
				    "\"k\"], \"expect\": {\"==\": 0}}]}",
				    srv, bad[i]);
		char *e = tu_load_error(json);
		char *want = tu_fmt("checks[0].command: %s is not allowed", bad[i]);
		ck_assert_msg(strstr(e, want), "%s", e);
		free(want);
		free(e);
		free(json);
	}
	/* The server saw no write: every command it counted meanwhile is one
	 * it does not flag as a write. */
	char *after = command_calls(u);
	ck_assert_int_gt(calls_of(after, "zcard"), calls_of(before, "zcard"));
	assert_no_write_between(u, before, after);
	free(before);
	free(after);
	free(srv);
	free(cmd);
	free(u);
}
END_TEST

START_TEST(acl_user_and_password_and_noperm)
{
	int port;
	close(tu_listen(&port));
	char *conf = tu_fmt("port %d\nbind 127.0.0.1\nsave \"\"\nappendonly no\nuser default off\n"
			    "user ro on >ro-canary-7781 ~* +llen +zcard +exists +ping +select\n",
			    port);
	char *path = tu_write_temp(conf, ".conf");
	pid_t pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execlp("redis-server", "redis-server", path, (char *)NULL);
		_exit(127);
	}
	char *ping =
	    tu_fmt("for i in $(seq 50); do redis-cli -p %d --user ro --pass ro-canary-7781 ping "
		   "2>/dev/null | grep -q PONG && exit 0; sleep 0.1; done; exit 1",
		   port);
	sh(ping);
	setenv("AC_TEST_REDIS_ACL_PW", "ro-canary-7781", 1);
	char *srv = tu_fmt("\"acl\": {\"url\": \"redis://127.0.0.1:%d/0\", \"user\": \"ro\", "
			   "\"password\": \"${env:AC_TEST_REDIS_ACL_PW}\"},"
			   " \"nopw\": \"redis://127.0.0.1:%d/0\"",
			   port, port);
	struct ac_plan *p;
	struct ac_result *r = run_one(
	    srv,
	    "{\"kind\": \"redis\", \"name\": \"ok\", \"area\": \"jobs\", \"owner\": \"o\", "
	    "\"redis\": \"acl\", \"command\": [\"LLEN\", \"q\"], \"require_key\": false, "
	    "\"expect\": {\"==\": 0}},"
	    "{\"kind\": \"redis\", \"name\": \"noperm\", \"area\": \"jobs\", \"owner\": \"o\", "
	    "\"redis\": \"acl\", \"command\": [\"GET\", \"k\"], \"expect\": {\"==\": 0}},"
	    "{\"kind\": \"redis\", \"name\": \"noauth\", \"area\": \"jobs\", \"owner\": \"o\", "
	    "\"redis\": \"nopw\", \"command\": [\"PING\"], \"expect\": {\"==\": 0}}",
	    &p);
	ck_assert_msg(tu_check(r, "ok")->state == AC_STATE_PASS, "%s", tu_check(r, "ok")->reason);
	ck_assert_int_eq(tu_check(r, "noperm")->state, AC_STATE_ERROR);
	ck_assert_msg(strstr(tu_check(r, "noperm")->reason, "NOPERM"), "%s",
		      tu_check(r, "noperm")->reason);
	ck_assert_int_eq(tu_check(r, "noauth")->state, AC_STATE_ERROR);
	for (size_t i = 0; i < r->nchecks; i++)
		ck_assert_ptr_null(r->checks[i].reason ? strstr(r->checks[i].reason, "ro-canary")
						       : NULL);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	free(srv);
	free(ping);
	free(path);
	free(conf);
}
END_TEST

/* A fake Redis: accept, read whatever comes, answer with `reply`, then
 * wait (or close when reply is NULL). */
static pid_t fake_redis(int *port, const char *reply, bool drip)
{
	int lfd = tu_listen(port);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		for (;;) {
			int fd = accept(lfd, NULL, NULL);
			if (fd < 0)
				_exit(0);
			char buf[4096];
			if (read(fd, buf, sizeof(buf)) <= 0) {
				close(fd);
				continue;
			}
			if (!reply) {
				close(fd);
				continue;
			}
			if (write(fd, reply, strlen(reply)) < 0)
				_exit(0);
			for (int i = 0; drip && i < 600; i++) {
				if (write(fd, "x", 1) < 0)
					break;
				usleep(10000);
			}
			sleep(30);
			close(fd);
		}
	}
	close(lfd);
	return pid;
}

/* Redis URLs go through libcurl's URL parser: an IPv6 literal reaches a
 * real server listening on ::1, percent-encoded credentials are decoded,
 * and what allclear would silently ignore is refused. */
START_TEST(urls_with_ipv6_literals_and_encoded_credentials)
{
	int lfd, port;
	lfd = tu_listen(&port); /* a free port number; the IPv6 server takes it */
	close(lfd);
	char *ports = tu_fmt("%d", port);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execlp("redis-server", "redis-server", "--port", ports, "--bind", "::1", "--save",
		       "", "--appendonly", "no", "--requirepass", "p@ss:w/rd%", (char *)NULL);
		_exit(127);
	}
	char *ping = tu_fmt("for i in $(seq 50); do redis-cli -h ::1 -p %d --no-auth-warning -a "
			    "'p@ss:w/rd%%' PING 2>/dev/null | grep -q PONG && exit 0; sleep 0.1; "
			    "done; exit 1",
			    port);
	sh(ping);
	char *srv = tu_fmt("\"r\": \"redis://:p%%40ss%%3Aw%%2Frd%%25@[::1]:%d/3\"", port);
	struct ac_plan *p;
	struct ac_result *r = run_one(
	    srv,
	    "{\"kind\": \"redis\", \"name\": \"ping\", \"area\": \"jobs\", \"owner\": "
	    "\"o\", \"redis\": \"r\", \"command\": [\"EXISTS\", \"k\"], \"expect\": {\"==\": 0}}",
	    &p);
	const struct ac_check_result *cr = tu_check(r, "ping");
	ck_assert_msg(cr->state == AC_STATE_PASS, "%s", cr->reason ? cr->reason : "");
	ck_assert_int_eq(p->checks[0].kind != NULL, 1);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	const struct {
		const char *url, *want;
	} bad[] = {
	    {"redis://[::1]:99999/0", "redis.r: bad Redis URL: Port number was not a decimal"},
	    {"redis://127.0.0.1:0/0", "redis.r: bad port in the Redis URL"},
	    {"redis://127.0.0.1:6379/x", "redis.r: bad database number in the Redis URL"},
	    {"redis://127.0.0.1:6379/0?timeout=1", "redis.r: the Redis URL has a query"},
	    {"redis://[::1/0", "redis.r: bad Redis URL: "},
	    {"redis:///0", "redis.r: no host in the Redis URL"},
	    {"redis://user:pw@/0", "redis.r: no host in the Redis URL"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *json = tu_fmt("{\"redis\": {\"r\": \"%s\"}, \"checks\": [{\"kind\": "
				    "\"redis\", \"name\": \"x\", \"area\": \"jobs\", \"owner\": "
				    "\"o\", \"redis\": \"r\", \"command\": [\"PING\"], \"expect\": "
				    "{\"==\": 0}}]}",
				    bad[i].url);
		char *e = tu_load_error(json);
		ck_assert_msg(strstr(e, bad[i].want), "%s: %s", bad[i].url, e);
		free(e);
		free(json);
	}
	free(srv);
	free(ping);
	free(ports);
}
END_TEST

/* SIGTERM while a Redis check and a queue check wait on a silent server:
 * nothing was measured, so both say they were interrupted (not "timed out")
 * and the run is INCONCLUSIVE, at once. */
START_TEST(signal_while_waiting_on_redis_is_not_a_timeout)
{
	int port;
	int silent = tu_listen(&port);
	char *json = tu_fmt(
	    "{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"10s\", "
	    "\"round_timeout\": \"20s\"}, \"redis\": {\"r\": \"redis://127.0.0.1:%d\"}, "
	    "\"checks\": [{\"kind\": \"redis\", \"name\": \"ping\", \"area\": \"jobs\", "
	    "\"owner\": \"o\", \"redis\": \"r\", \"command\": [\"EXISTS\", \"k\"], \"expect\": "
	    "{\"==\": 0}}, " Q("jobs", "sidekiq", "default", "r") "]}",
	    port);
	char *path = tu_write_temp(json, ".json");
	const char *args[] = {"check", "--verbose", path, NULL};
	char *out;
	int64_t took;
	int rc = tu_run_signalled(args, SIGTERM, 800, &out, &took);
	ck_assert_msg(rc == 2, "exit %d\n%s", rc, out);
	ck_assert_int_lt(took, 2000);
	ck_assert_msg(strstr(out, "redis: interrupted (SIGTERM)"), "%s", out);
	ck_assert_msg(strstr(out, "sidekiq: interrupted (SIGTERM)"), "%s", out);
	ck_assert_msg(!strstr(out, "deadline") && !strstr(out, "timed out"), "%s", out);
	unlink(path);
	free(out);
	free(path);
	free(json);
	close(silent);
}
END_TEST

START_TEST(hostile_servers_end_in_error_not_in_memory)
{
	int p1, p2, p3, p4, p5;
	pid_t a = fake_redis(&p1, "*10000000\r\n", false);
	pid_t b = fake_redis(&p2, "$2147483647\r\n", true);
	pid_t c = fake_redis(&p3, NULL, false);
	pid_t d = fake_redis(&p4, "%garbage\r\n", false);
	int silent = tu_listen(&p5);
	char *srv = tu_fmt("\"a\": \"redis://127.0.0.1:%d\", \"b\": \"redis://127.0.0.1:%d\", "
			   "\"c\": \"redis://127.0.0.1:%d\","
			   " \"d\": \"redis://127.0.0.1:%d\", \"e\": \"redis://127.0.0.1:%d\"",
			   p1, p2, p3, p4, p5);
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	int64_t t0 = tu_now_ms();
	struct ac_plan *p;
	struct ac_result *r =
	    run_one(srv,
		    "{\"kind\": \"redis\", \"name\": \"huge\", \"area\": \"jobs\", \"owner\": "
		    "\"o\", \"redis\": \"a\", \"command\": [\"PING\"], \"expect\": {\"==\": 0}},"
		    "{\"kind\": \"redis\", \"name\": \"drip\", \"area\": \"jobs\", \"owner\": "
		    "\"o\", \"redis\": \"b\", \"command\": [\"PING\"], \"expect\": {\"==\": 0}},"
		    "{\"kind\": \"redis\", \"name\": \"closed\", \"area\": \"jobs\", \"owner\": "
		    "\"o\", \"redis\": \"c\", \"command\": [\"PING\"], \"expect\": {\"==\": 0}},"
		    "{\"kind\": \"redis\", \"name\": \"garbage\", \"area\": \"jobs\", \"owner\": "
		    "\"o\", \"redis\": \"d\", \"command\": [\"PING\"], \"expect\": {\"==\": 0}},"
		    "{\"kind\": \"redis\", \"name\": \"silent\", \"area\": \"jobs\", \"owner\": "
		    "\"o\", \"redis\": \"e\", \"command\": [\"PING\"], \"expect\": {\"==\": 0}}",
		    &p);
	int64_t took = tu_now_ms() - t0;
	getrusage(RUSAGE_SELF, &ru1);
	ck_assert_int_lt(took, 5000);
	ck_assert_msg(strstr(tu_check(r, "huge")->reason, "reply too large"), "%s",
		      tu_check(r, "huge")->reason);
	ck_assert_msg(strstr(tu_check(r, "drip")->reason, "timeout"), "%s",
		      tu_check(r, "drip")->reason);
	ck_assert_msg(strstr(tu_check(r, "closed")->reason, "closed the connection"), "%s",
		      tu_check(r, "closed")->reason);
	ck_assert_msg(strstr(tu_check(r, "garbage")->reason, "protocol error"), "%s",
		      tu_check(r, "garbage")->reason);
	ck_assert_msg(strstr(tu_check(r, "silent")->reason, "timeout"), "%s",
		      tu_check(r, "silent")->reason);
	for (size_t i = 0; i < r->nchecks; i++)
		ck_assert_int_eq(r->checks[i].state, AC_STATE_ERROR);
	ck_assert_int_eq(r->verdict, AC_INCONCLUSIVE);
	/* "*10000000" did not make anyone allocate 80 MB. */
	ck_assert_int_lt(ru1.ru_maxrss - ru0.ru_maxrss, 32 * 1024);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	kill(a, SIGKILL);
	kill(b, SIGKILL);
	kill(c, SIGKILL);
	kill(d, SIGKILL);
	waitpid(a, NULL, 0);
	waitpid(b, NULL, 0);
	waitpid(c, NULL, 0);
	waitpid(d, NULL, 0);
	close(silent);
	free(srv);
}
END_TEST

/* Replies must be plain decimal numbers and counts cannot be negative (F13):
 * "0x10" is not 16, and a count of -5 from a broken server or proxy is no
 * measurement. */
START_TEST(hex_replies_and_negative_counts_are_no_measurement)
{
	char *u = url(14);
	char *cmd = tu_fmt("redis-cli -u %s FLUSHDB >/dev/null && redis-cli -u %s SET k 0x10 "
			   ">/dev/null && redis-cli -u %s SET n ' 5' >/dev/null",
			   u, u, u);
	sh(cmd);
	int p1, p2;
	pid_t a = fake_redis(&p1, ":-5\r\n", false);
	pid_t b = fake_redis(&p2, ":-5\r\n:0\r\n*0\r\n", false);
	char *srv = tu_fmt("\"r\": \"%s\", \"neg\": \"redis://127.0.0.1:%d\", \"negq\": "
			   "\"redis://127.0.0.1:%d\"",
			   u, p1, p2);
	struct ac_plan *p;
	struct ac_result *r = run_one(
	    srv,
	    "{\"kind\": \"redis\", \"name\": \"hex\", \"area\": \"jobs\", \"owner\": \"o\", "
	    "\"redis\": \"r\", \"command\": [\"GET\", \"k\"], \"expect\": {\"<=\": 100}},"
	    "{\"kind\": \"redis\", \"name\": \"blank\", \"area\": \"jobs\", \"owner\": \"o\", "
	    "\"redis\": \"r\", \"command\": [\"GET\", \"n\"], \"expect\": {\"<=\": 100}},"
	    "{\"kind\": \"redis\", \"name\": \"neg\", \"area\": \"jobs\", \"owner\": \"o\", "
	    "\"redis\": \"neg\", \"command\": [\"LLEN\", \"q\"], \"require_key\": false, "
	    "\"expect\": {\"<=\": 10}},"
	    "{\"kind\": \"queue\", \"name\": \"negq\", \"area\": \"jobs\", \"owner\": \"o\", "
	    "\"preset\": \"resque\", \"queue\": \"mail\", \"redis\": \"negq\", \"expect\": "
	    "{\"max_depth\": 10}}",
	    &p);
	const char *names[] = {"hex", "blank", "neg", "negq"};
	for (size_t i = 0; i < AC_ARRAY_LEN(names); i++)
		ck_assert_msg(tu_check(r, names[i])->state == AC_STATE_ERROR, "%s: state %d %s",
			      names[i], tu_check(r, names[i])->state,
			      tu_check(r, names[i])->reason ? tu_check(r, names[i])->reason : "");
	ck_assert_str_eq(tu_check(r, "hex")->reason, "no measurement: GET did not answer a number");
	ck_assert_str_eq(tu_check(r, "neg")->reason,
			 "no measurement: LLEN answered -5, and a count is never below zero");
	ck_assert_msg(
	    strstr(tu_check(r, "negq")->reason,
		   "depth unavailable: Redis answered -5, and a count is never below zero"),
	    "%s", tu_check(r, "negq")->reason);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	kill(a, SIGKILL);
	kill(b, SIGKILL);
	waitpid(a, NULL, 0);
	waitpid(b, NULL, 0);
	free(srv);
	free(cmd);
	free(u);
}
END_TEST

/* Several checks queued on one server's connection: a server that refuses
 * fails every one of them with its error; one that hangs up is connected
 * to again for the next check; a live server answers them all in turn. */
START_TEST(checks_queued_on_one_connection)
{
	int refused;
	close(tu_listen(&refused));
	int hangup;
	pid_t h = fake_redis(&hangup, NULL, false);
	char *srv = tu_fmt("\"refused\": \"redis://127.0.0.1:%d\", \"hangup\": "
			   "\"redis://127.0.0.1:%d\", \"live\": \"%s\"",
			   refused, hangup, tu_env("AC_TEST_REDIS_URL"));
	struct ac_buf b = AC_BUF_INIT;
	const char *servers[] = {"refused", "hangup", "live"};
	for (int i = 0; i < 9; i++)
		ac_buf_addf(&b,
			    "%s{\"kind\": \"redis\", \"name\": \"%s%d\", \"area\": \"jobs\", "
			    "\"owner\": \"o\", \"redis\": \"%s\", \"command\": [\"EXISTS\", "
			    "\"no-such-key\"], \"expect\": {\"==\": 0}}",
			    i ? "," : "", servers[i % 3], i / 3, servers[i % 3]);
	int64_t t0 = tu_now_ms();
	struct ac_plan *p;
	struct ac_result *r = run_one(srv, b.buf, &p);
	ck_assert_int_lt(tu_now_ms() - t0, 3000);
	for (int i = 0; i < 3; i++) {
		char id[16];
		snprintf(id, sizeof(id), "refused%d", i);
		const struct ac_check_result *cr = tu_check(r, id);
		ck_assert_msg(cr->state == AC_STATE_ERROR &&
				  strstr(cr->reason, "Connection refused"),
			      "%s: %s", id, cr->reason ? cr->reason : "");
		snprintf(id, sizeof(id), "hangup%d", i);
		cr = tu_check(r, id);
		ck_assert_msg(cr->state == AC_STATE_ERROR &&
				  strstr(cr->reason, "the server closed the connection"),
			      "%s: %s", id, cr->reason ? cr->reason : "");
		snprintf(id, sizeof(id), "live%d", i);
		ck_assert_int_eq(tu_check(r, id)->state, AC_STATE_PASS);
	}
	ac_result_destroy(r);
	ac_plan_destroy(p);
	ac_buf_release(&b);
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	free(srv);
}
END_TEST

/* --- a queue drained at a known rate --------------------------------------- */

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	Suite *s = suite_create("redis");
	TCase *tc = tcase_create("redis");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, preset_rq_with_the_real_library);
	tcase_add_test(tc, preset_celery_with_the_real_library);
	tcase_add_test(tc, preset_sidekiq_with_the_real_library);
	tcase_add_test(tc, preset_counts_every_process_and_keeps_server_errors);
	tcase_add_test(tc, urls_with_ipv6_literals_and_encoded_credentials);
	tcase_add_test(tc, signal_while_waiting_on_redis_is_not_a_timeout);
	tcase_add_test(tc, presets_bullmq_and_bee_queue_with_the_real_libraries);
	tcase_add_test(tc, preset_resque_layout);
	tcase_add_test(tc, raw_commands_allowlist_and_absent_keys);
	tcase_add_test(tc, acl_user_and_password_and_noperm);
	tcase_add_test(tc, hostile_servers_end_in_error_not_in_memory);
	tcase_add_test(tc, checks_queued_on_one_connection);
	tcase_add_test(tc, future_or_absurd_enqueue_time_is_no_age);
	tcase_add_test(tc, hex_replies_and_negative_counts_are_no_measurement);
	suite_add_tcase(s, tc);
	tc = tcase_create("drain");
	tcase_set_timeout(tc, 90);
	redis_drain_tests(tc);
	suite_add_tcase(s, tc);
	tc = tcase_create("redis_tls");
	tcase_set_timeout(tc, 90);
	redis_tls_tests(tc);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
