/*
 * test_redis_drain.c: a queue drained at a known rate on the real Redis
 * server while allclear watches it: the rate and the estimate of the
 * earliest RESTORED against the drain measured in the test.
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

/* test_redis.c */
void redis_test_sh(const char *cmd);
char *redis_test_url(int db);

/* Seconds in "about 1 min 50 s" / "about 7 s" / "under 1 s"; -1 if none. */
static double about_seconds(const char *line)
{
	const char *a = strstr(line, "RESTORED at the earliest in ");
	if (!a)
		return -1;
	a += strlen("RESTORED at the earliest in ");
	if (strncmp(a, "under 1 s", 9) == 0)
		return 0.5;
	double m = 0, sec = 0;
	if (sscanf(a, "about %lf min %lf s", &m, &sec) == 2)
		return m * 60 + sec;
	if (strstr(a, " min") && sscanf(a, "about %lf min", &m) == 1 && !strstr(a, " s,"))
		return m * 60;
	if (sscanf(a, "about %lf s", &sec) == 1)
		return sec;
	return -1;
}

/* The child: remove one job every 1000/rate ms (on a fixed schedule, no
 * drift) until `n` are gone, then exit. */
static void drain(int port, int db, int n, double rate)
{
	redisContext *c = redisConnect("127.0.0.1", port);
	if (!c || c->err)
		_exit(2);
	freeReplyObject(redisCommand(c, "SELECT %d", db));
	int64_t t0 = tu_now_ms();
	for (int i = 1; i <= n; i++) {
		int64_t due = t0 + (int64_t)(i * 1000.0 / rate);
		int64_t now = tu_now_ms();
		if (due > now) {
			struct timespec ts = {(time_t)((due - now) / 1000),
					      (long)((due - now) % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		}
		redisReply *r = redisCommand(c, "LPOP queue:drain");
		if (!r)
			_exit(3);
		freeReplyObject(r);
	}
	redisFree(c);
	_exit(0);
}

/* A Sidekiq queue drained at 8 jobs/s from 130 to its floor of 10 (15 s)
 * while `allclear watch --until-restored` watches it every 500 ms: the
 * rate it shows and its estimate of the earliest RESTORED, taken mid-drain,
 * are within 30% of the drain time the test measures (and of the time the
 * verdict actually turned RESTORED). */
START_TEST(draining_queue_rate_and_eta_match_the_measured_drain)
{
	const int depth0 = 130, floor_ = 10, db = 15;
	const double rate = 8.0;
	char *u = redis_test_url(db);
	struct ac_buf push = AC_BUF_INIT;
	ac_buf_addf(&push,
		    "redis-cli -u %s DEL queue:drain >/dev/null && redis-cli -u %s RPUSH "
		    "queue:drain",
		    u, u);
	for (int i = 0; i < depth0; i++)
		ac_buf_addf(&push, " '{\"jid\":\"j%d\",\"class\":\"Pay\",\"enqueued_at\":%lld}'", i,
			    (long long)time(NULL));
	ac_buf_adds(&push, " >/dev/null");
	redis_test_sh(push.buf);
	ac_buf_release(&push);
	char *json = tu_fmt(
	    "{\"settings\": {\"interval\": \"500ms\", \"confirm\": 3, \"timeout\": \"2s\", "
	    "\"connect_timeout\": \"1s\"}, \"redis\": {\"r\": \"%s\"}, \"checks\": ["
	    "{\"kind\": \"queue\", \"name\": \"payments\", \"area\": \"jobs\", \"owner\": \"o\", "
	    "\"preset\": \"sidekiq\", \"queue\": \"drain\", \"redis\": \"r\", "
	    "\"trend\": {\"kind\": \"draining\", \"floor\": %d}}]}",
	    u, floor_);
	char *path = tu_write_temp(json, ".json");
	char *out = tu_fmt("%s.report.json", path);

	int port = (int)strtol(tu_env("AC_TEST_REDIS_PORT"), NULL, 10);
	int64_t t0 = tu_now_ms();
	pid_t drainer = fork();
	ck_assert_int_ge(drainer, 0);
	if (drainer == 0)
		drain(port, db, depth0 - floor_, rate);
	int errp[2];
	ck_assert_int_eq(pipe(errp), 0);
	pid_t ac = fork();
	ck_assert_int_ge(ac, 0);
	if (ac == 0) {
		dup2(errp[1], 2);
		close(errp[0]);
		close(errp[1]);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		execl(tu_env("AC_BIN"), "allclear", "watch", path, "--until-restored", "--deadline",
		      "45s", "--json", out, (char *)NULL);
		_exit(127);
	}
	close(errp[1]);
	/* Every live line with the time it arrived. */
	struct {
		int64_t at;
		char *text;
	} lines[400];
	size_t nlines = 0;
	int64_t drained_at = 0, restored_at = 0;
	struct ac_buf pending = AC_BUF_INIT;
	for (;;) {
		struct pollfd pf = {errp[0], POLLIN, 0};
		int pr = poll(&pf, 1, 50);
		int64_t now = tu_now_ms();
		if (!drained_at && waitpid(drainer, NULL, WNOHANG) == drainer)
			drained_at = now;
		ck_assert_msg(now - t0 < 60000, "allclear did not finish");
		if (pr <= 0)
			continue;
		char buf[4096];
		ssize_t n = read(errp[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		ac_buf_add(&pending, buf, (size_t)n);
		char *nl;
		while ((nl = memchr(pending.buf, '\n', pending.len))) {
			size_t len = (size_t)(nl - pending.buf);
			if (nlines < 400) {
				lines[nlines].at = now;
				lines[nlines].text = strndup(pending.buf, len);
				if (!restored_at && strstr(lines[nlines].text, "so far: RESTORED"))
					restored_at = now;
				nlines++;
			}
			memmove(pending.buf, nl + 1, pending.len - len - 1);
			pending.len -= len + 1;
			pending.buf[pending.len] = '\0';
		}
	}
	ac_buf_release(&pending);
	close(errp[0]);
	int st;
	waitpid(ac, &st, 0);
	if (!drained_at) {
		waitpid(drainer, NULL, 0);
		drained_at = tu_now_ms();
	}
	for (size_t i = 0; i < nlines; i++)
		fprintf(stderr, "%+7.3f s  %s\n", (double)(lines[i].at - t0) / 1000.0,
			lines[i].text);
	double actual_drain = (double)(drained_at - t0) / 1000.0;
	fprintf(stderr, "drained after %.3f s, RESTORED after %.3f s\n", actual_drain,
		restored_at ? (double)(restored_at - t0) / 1000.0 : -1.0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "allclear exit %d",
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	ck_assert_msg(restored_at > 0, "never RESTORED");

	/* Every estimate taken once the window is full (3 s in) and while at
	 * least 3 s of the drain are left: within 30% of the time left. */
	size_t judged = 0;
	for (size_t i = 0; i < nlines; i++) {
		double est = about_seconds(lines[i].text);
		double since = (double)(lines[i].at - t0) / 1000.0;
		double left_drain = (double)(drained_at - lines[i].at) / 1000.0;
		double left_restored = (double)(restored_at - lines[i].at) / 1000.0;
		if (since < 3.0 || left_drain < 3.0)
			continue;
		ck_assert_msg(est >= 0, "no estimate mid-drain: %s", lines[i].text);
		fprintf(stderr,
			"at %.1f s: estimate %.0f s, drained %.2f s later, RESTORED %.2f s later\n",
			since, est, left_drain, left_restored);
		ck_assert_msg(fabs(est - left_drain) <= 0.3 * left_drain,
			      "estimate %.0f s, drained %.2f s later: %s", est, left_drain,
			      lines[i].text);
		ck_assert_msg(fabs(est - left_restored) <= 0.3 * left_restored,
			      "estimate %.0f s, RESTORED %.2f s later: %s", est, left_restored,
			      lines[i].text);
		/* "if payments keeps draining at 8.0 jobs/s" */
		const char *at = strstr(lines[i].text, "keeps draining at ");
		ck_assert_ptr_nonnull(at);
		double shown = strtod(at + strlen("keeps draining at "), NULL);
		ck_assert_msg(fabs(shown - rate) <= 0.3 * rate, "rate %.2f: %s", shown,
			      lines[i].text);
		judged++;
	}
	ck_assert_msg(judged >= 10, "only %zu estimates mid-drain", judged);

	/* The JSON report: the rate over the last window, in jobs per second. */
	char *report = tu_read_file(out);
	ck_assert_ptr_nonnull(report);
	cJSON *j = cJSON_Parse(report);
	ck_assert_ptr_nonnull(j);
	const cJSON *rt =
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "checks"), 0), "rate");
	ck_assert_ptr_nonnull(rt);
	ck_assert_str_eq(cJSON_GetObjectItem(rt, "unit")->valuestring, "jobs");
	double per_s = cJSON_GetObjectItem(rt, "per_s")->valuedouble;
	ck_assert_msg(fabs(per_s + rate) <= 0.3 * rate, "per_s %g", per_s);
	ck_assert_msg(strstr(cJSON_GetObjectItem(rt, "text")->valuestring, "at or below depth 10"),
		      "%s", cJSON_GetObjectItem(rt, "text")->valuestring);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "restore_estimate")));
	cJSON_Delete(j);
	free(report);
	for (size_t i = 0; i < nlines; i++)
		free(lines[i].text);
	unlink(out);
	free(out);
	free(path);
	free(json);
	free(u);
}
END_TEST

void redis_drain_tests(TCase *tc);
void redis_drain_tests(TCase *tc)
{
	tcase_add_test(tc, draining_queue_rate_and_eta_match_the_measured_drain);
}
