/*
 * test_notify.c: webhook notifications (src/notify.c) against loopback
 * receivers, through the real binary.
 *
 * A target scripted by request number makes a journey fail, pass, fail and
 * pass again; the receiver gets exactly one post per change and one at the
 * end, in order, each with a one-line "text". A receiver answering 500
 * twice gets the message on the third try; one that never answers cannot
 * hold the run past its bound, and its failure is reported, not turned
 * into a verdict. Secrets (a header from ${env:}, the webhook's own URL)
 * reach the receiver but no output.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"
#include "testutil.h"
#include "util.h"

#define TOKEN "Bearer notify-canary-7781"
#define HOOK_PATH "/hooks/T0-secret-hook-path-5531"

/* Requests 1-2 fail, 3-4 pass, 5 fails, 6 and later pass. */
static void scripted(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	bool bad = q->seq <= 2 || q->seq == 5;
	hs_reply(fd, bad ? 503 : 200, "", bad ? "down" : "ok");
}

/* 500 to the first two posts, then 200. */
static void flaky(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	hs_reply(fd, q->seq <= 2 ? 500 : 200, "", "");
}

/* Reads the request, then never answers. */
static void hangs(int fd, const struct hs_request *q, void *ud)
{
	(void)fd;
	(void)q;
	(void)ud;
	sleep(120);
}

/* A scenario "shop" with one journey against the target and the given
 * top-level members (a "notify" section, or ""). */
static char *scenario_for(int target_port, const char *extra)
{
	char *json = tu_fmt(
	    "{\"name\": \"shop\", \"settings\": {\"timeout\": \"3s\", \"connect_timeout\": \"1s\"},"
	    " \"targets\": {\"origin\": \"http://127.0.0.1:%d\"},%s%s"
	    " \"journeys\": [{\"name\": \"home\", \"area\": \"code\", \"owner\": \"web\","
	    "  \"steps\": [{\"url\": \"/\", \"name\": \"open\"}]}]}",
	    target_port, extra, *extra ? "," : "");
	char *path = tu_write_temp(json, ".json");
	free(json);
	return path;
}

/* The "text" fields the receiver got, one per line, in order. */
static char *texts(const char *log)
{
	struct ac_buf b = AC_BUF_INIT;
	for (const char *p = strstr(log, "{\"text\":\""); p; p = strstr(p + 1, "{\"text\":\"")) {
		const char *s = p + 9, *e = strstr(s, "\",\"");
		if (e)
			ac_buf_addf(&b, "%.*s\n", (int)(e - s), s);
	}
	return ac_buf_detach(&b);
}

static void run(struct tu_proc *p, const char *path, const char *hook, const char *on, int rounds)
{
	char *r = tu_fmt("%d", rounds);
	const char *args[] = {"check",	     path,	  "--rounds", r,	  "--interval",
			      "150ms",	     "--confirm", "1",	      "--notify", hook,
			      "--notify-on", on,	  "--format", "json",	  NULL};
	const char *env[] = {"AC_NOTIFY_TOKEN=" TOKEN, NULL};
	tu_run(p, args, env, 60);
	free(r);
}

START_TEST(one_post_per_change_and_one_at_the_end)
{
	struct hs_server target, recv;
	hs_start(&target, scripted, NULL);
	hs_start(&recv, hs_ok_any, NULL);
	char *path = scenario_for(target.port, "\"notify\": {\"headers\": {\"Authorization\": "
					       "\"${env:AC_NOTIFY_TOKEN}\"}}");
	char *hook = tu_fmt("http://127.0.0.1:%d" HOOK_PATH, recv.port);
	struct tu_proc p;
	/* rounds: FAIL FAIL PASS PASS FAIL PASS -> changes at 3, 5 and 6 */
	run(&p, path, hook, "both", 6);
	TU_EXPECT(p.exit_code == 0, &p, "exit %d", p.exit_code);
	ck_assert_int_eq(hs_requests(&recv), 4);
	char *log = hs_log(&recv);
	char *t = texts(log);
	const char *want = "allclear: RESTORED (was NOT RESTORED) for shop: home @ origin FAIL -> "
			   "PASS (owner web)\n"
			   "allclear: NOT RESTORED (was RESTORED) for shop: home @ origin PASS -> "
			   "FAIL (owner web)\n"
			   "allclear: RESTORED (was NOT RESTORED) for shop: home @ origin FAIL -> "
			   "PASS (owner web)\n"
			   "allclear: RESTORED (final) for shop\n";
	ck_assert_msg(strcmp(t, want) == 0, "got:\n%s\nwant:\n%s\nlog:\n%s", t, want, log);
	/* the receiver gets the credential and JSON; no output shows them */
	ck_assert_int_eq(tu_count(log, "Authorization: " TOKEN), 4);
	ck_assert_int_eq(tu_count(log, "Content-Type: application/json"), 4);
	ck_assert_ptr_nonnull(strstr(log, HOOK_PATH));
	ck_assert_ptr_null(strstr(p.out, "notify-canary"));
	ck_assert_ptr_null(strstr(p.err, "notify-canary"));
	ck_assert_ptr_null(strstr(p.out, "secret-hook-path"));
	ck_assert_ptr_null(strstr(p.err, "secret-hook-path"));
	ck_assert_ptr_nonnull(strstr(p.out, "\"notifications\":"));
	ck_assert_ptr_nonnull(strstr(p.out, "\"sent\":\t4"));
	free(t);
	free(log);
	tu_proc_release(&p);

	/* Only changes, then only the end: 3 posts, then 1 (a new target
	 * each time, its request count from 1 again). */
	const char *ons[] = {"change", "end"};
	const int want_posts[] = {3, 1};
	for (size_t i = 0; i < 2; i++) {
		hs_stop(&target);
		hs_start(&target, scripted, NULL);
		free(path);
		path = scenario_for(target.port, "");
		int before = hs_requests(&recv);
		run(&p, path, hook, ons[i], 6);
		ck_assert_int_eq(hs_requests(&recv) - before, want_posts[i]);
		tu_proc_release(&p);
	}
	free(hook);
	free(path);
	hs_stop(&recv);
	hs_stop(&target);
}
END_TEST

START_TEST(a_failing_webhook_is_retried_and_never_changes_the_verdict)
{
	struct hs_server target, recv, hang;
	hs_start(&target, hs_ok_any, NULL);
	hs_start(&recv, flaky, NULL);
	char *path = scenario_for(target.port, "");
	char *hook = tu_fmt("http://127.0.0.1:%d" HOOK_PATH, recv.port);
	struct tu_proc p;
	run(&p, path, hook, "end", 1);
	TU_EXPECT(p.exit_code == 0, &p, "exit %d", p.exit_code);
	/* 500, 500, then 200: three tries, delivered */
	ck_assert_int_eq(hs_requests(&recv), 3);
	ck_assert_ptr_nonnull(strstr(p.out, "\"sent\":\t1"));
	ck_assert_ptr_nonnull(strstr(p.out, "\"failed\":\t0"));
	tu_proc_release(&p);
	free(hook);

	/* A receiver that never answers: the run ends within its bound, the
	 * verdict is the product's, the failure is said (host only). */
	hs_start(&hang, hangs, NULL);
	hook = tu_fmt("http://127.0.0.1:%d" HOOK_PATH, hang.port);
	run(&p, path, hook, "end", 1);
	TU_EXPECT(p.exit_code == 0, &p, "exit %d", p.exit_code);
	TU_EXPECT(p.elapsed_ms < 15000, &p, "took %lld ms", (long long)p.elapsed_ms);
	ck_assert_ptr_nonnull(strstr(p.err, "notification to 127.0.0.1 failed"));
	ck_assert_ptr_nonnull(strstr(p.out, "\"failed\":\t1"));
	ck_assert_ptr_null(strstr(p.err, "secret-hook-path"));
	ck_assert_ptr_null(strstr(p.out, "secret-hook-path"));
	tu_proc_release(&p);
	free(hook);
	free(path);
	hs_stop(&hang);
	hs_stop(&recv);
	hs_stop(&target);
}
END_TEST

START_TEST(notify_options_are_checked_before_probing)
{
	struct tu_proc p;
	const char *a1[] = {"check", "x.json", "--notify", "ftp://example.com/hook", NULL};
	tu_run(&p, a1, NULL, 10);
	TU_EXPECT(p.exit_code == 3, &p, "exit %d", p.exit_code);
	tu_proc_release(&p);
	const char *a2[] = {"check", "x.json", "--notify-on", "sometimes", NULL};
	tu_run(&p, a2, NULL, 10);
	TU_EXPECT(p.exit_code == 3 && strstr(p.err, "change, end or both"), &p, "exit %d",
		  p.exit_code);
	tu_proc_release(&p);
	/* the scenario's section: an URL that is not http(s), a short header */
	char *path = scenario_for(9, "\"notify\": {\"urls\": [\"file:///etc/passwd\"],"
				     " \"on\": \"often\", \"headers\": {\"X-K\": \"ab\"}}");
	const char *a3[] = {"lint", path, NULL};
	tu_run(&p, a3, NULL, 10);
	TU_EXPECT(p.exit_code == 3, &p, "exit %d", p.exit_code);
	TU_EXPECT(strstr(p.err, "notify.urls[0]: URL must start with http:// or https://"), &p,
		  "url");
	TU_EXPECT(strstr(p.err, "notify.on: unknown on \"often\""), &p, "on");
	TU_EXPECT(strstr(p.err, "notify.headers.X-K: secret is 2 bytes"), &p, "short");
	tu_proc_release(&p);
	free(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");
	tcase_add_test(tc, one_post_per_change_and_one_at_the_end);
	tcase_add_test(tc, a_failing_webhook_is_retried_and_never_changes_the_verdict);
	tcase_add_test(tc, notify_options_are_checked_before_probing);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
