/*
 * test_engine.c: the engine's rounds and window rules with an injected
 * clock and a scripted probe kind: ten-minute windows in milliseconds,
 * flat memory over thousands of rounds, and the fail-closed stops.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "probe.h"
#include "testutil.h"

/* The script: what the fake kind answers in each round. */
static enum ac_state (*script)(int round, const struct ac_check *c);
static struct ac_fake_clock fclock;
static int64_t probe_cost_ms;
static volatile sig_atomic_t stop_after_round_flag;
static int stop_at_round;
static int retry_every;		   /* passes in rounds divisible by this are "after a retry" */
static bool leave_state_unset;	   /* finish without saying how it went */
static int64_t wall_step_at_round; /* step the wall clock back an hour in this round */
static bool learn_secrets;	   /* each run learns a fresh "session cookie" */
static size_t mask_count_first, mask_count_seen; /* in the first run, in the last */
static const double *values;			 /* the value in round i is values[i - 1] */
static int nvalues;				 /* (the last one repeats) */
static enum ac_verdict round_verdict[64];	 /* the verdict so far after each round */

static void fake_start(struct ac_probe_run *run)
{
	if (probe_cost_ms)
		ac_fake_clock_advance(&fclock, probe_cost_ms);
	if (wall_step_at_round && run->round == wall_step_at_round)
		fclock.wall0_ms -= 3600 * 1000;
	if (leave_state_unset) {
		ac_probe_finish(run);
		return;
	}
	if (learn_secrets) {
		/* As a journey does: a step quotes a token the server handed out,
		 * then the token is learnt as a secret (a later capture). */
		char *token = ac_asprintf("sess-%08d-%s", run->round, run->check->id);
		struct ac_step_result *stp = ac_sample_add_step(&run->sample);
		stp->name = ac_strdup("login");
		stp->excerpt = ac_asprintf("{\"session\": \"%s\"}", token);
		ac_mask_add(run->mask, token);
		mask_count_seen = ac_mask_count(run->mask);
		if (!mask_count_first)
			mask_count_first = mask_count_seen;
		free(token);
	}
	enum ac_state st = script(run->round, run->check);
	ac_sample_set(&run->sample, st, st == AC_STATE_PASS ? NULL : "scripted %s",
		      ac_state_name(st));
	run->sample.has_value = true;
	run->sample.value = run->round;
	if (values)
		run->sample.value = values[(run->round < nvalues ? run->round : nvalues) - 1];
	if (retry_every && st == AC_STATE_PASS && run->round % retry_every == 0)
		run->sample.retried = true;
	ac_probe_finish(run);
}

static const struct ac_probe_kind fake_kind = {
    .name = "fake",
    .section = "checks",
    .start = fake_start,
};

static const char *const two_checks =
    "{\"targets\": {\"origin\": \"http://127.0.0.1:9\"},"
    " \"settings\": {\"interval\": \"15s\", \"window\": \"10m\", \"confirm\": 3},"
    " \"journeys\": [{\"name\": \"a\", \"area\": \"code\", \"owner\": \"o\", \"critical\": true,"
    "   \"steps\": [{\"url\": \"/\"}]},"
    "  {\"name\": \"b\", \"area\": \"data\", \"owner\": \"o\", \"steps\": [{\"url\": \"/\"}]}]}";

static struct ac_plan *fake_plan(const char *json)
{
	struct ac_plan *p = tu_load(json);
	for (size_t i = 0; i < p->nchecks; i++)
		p->checks[i].kind = &fake_kind;
	return p;
}

static void on_round_stop(const struct ac_result *r, int64_t left, void *ud)
{
	(void)left;
	(void)ud;
	if (r->rounds > 0 && r->rounds < 64)
		round_verdict[r->rounds] = r->verdict;
	if (stop_at_round && r->rounds >= stop_at_round)
		stop_after_round_flag = 1;
}

static struct ac_result *run(struct ac_plan *p, enum ac_mode mode, bool until, bool fail_fast)
{
	ac_fake_clock_init(&fclock, 1764000000000LL);
	stop_after_round_flag = 0;
	struct ac_run_opts o = {
	    .mode = mode,
	    .until_restored = until,
	    .fail_fast = fail_fast,
	    .clock = &fclock.clock,
	    .stop = &stop_after_round_flag,
	    .on_round = on_round_stop,
	};
	struct ac_error err = {0};
	struct ac_result *r = ac_engine_run(p, &o, &err);
	ck_assert_msg(r != NULL, "%s", err.msg);
	return r;
}

static enum ac_state all_pass(int round, const struct ac_check *c)
{
	(void)round;
	(void)c;
	return AC_STATE_PASS;
}

START_TEST(ten_minute_window_in_well_under_a_second)
{
	script = all_pass;
	struct ac_plan *p = fake_plan(two_checks);
	int64_t t0 = tu_now_ms();
	struct ac_result *r = run(p, AC_MODE_WATCH, false, false);
	int64_t took = tu_now_ms() - t0;
	ck_assert_int_eq(r->rounds, 40); /* 10 min / 15 s */
	ck_assert_int_eq(r->verdict, AC_RESTORED);
	ck_assert_int_lt(took, 1000);
	ck_assert_int_eq(r->checks[0].history.total, 40);
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

static enum ac_state burst_mid_window(int round, const struct ac_check *c)
{
	(void)c;
	return round >= 10 && round <= 20 ? AC_STATE_FAIL : AC_STATE_PASS;
}

START_TEST(error_burst_that_ends_is_restored_and_recovered_at)
{
	script = burst_mid_window;
	struct ac_plan *p = fake_plan(two_checks);
	struct ac_result *r = run(p, AC_MODE_WATCH, false, false);
	ck_assert_int_eq(r->verdict, AC_RESTORED);
	ck_assert_ptr_nonnull(r->checks[0].note);
	ck_assert_msg(strstr(r->checks[0].note, "recovered at"), "note: %s", r->checks[0].note);
	ck_assert_int_eq(r->checks[0].history.fails, 11);
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

static enum ac_state burst_at_end(int round, const struct ac_check *c)
{
	(void)c;
	return round == 39 ? AC_STATE_FAIL : AC_STATE_PASS;
}

START_TEST(burst_within_last_confirm_rounds_is_not_restored)
{
	script = burst_at_end;
	struct ac_plan *p = fake_plan(two_checks);
	struct ac_result *r = run(p, AC_MODE_WATCH, false, false);
	ck_assert_int_eq(r->verdict, AC_NOT_RESTORED);
	ck_assert_int_eq(r->checks[0].state, AC_STATE_FAIL);
	ck_assert_ptr_nonnull(strstr(r->checks[0].reason, "green rounds needed"));
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

static enum ac_state green_from_5(int round, const struct ac_check *c)
{
	(void)c;
	return round < 5 ? AC_STATE_FAIL : AC_STATE_PASS;
}

START_TEST(until_restored_stops_after_k_green_rounds)
{
	script = green_from_5;
	struct ac_plan *p = fake_plan(two_checks);
	struct ac_result *r = run(p, AC_MODE_WATCH, true, false);
	ck_assert_int_eq(r->verdict, AC_RESTORED);
	ck_assert_int_eq(r->rounds, 7); /* rounds 5, 6, 7 green */
	ck_assert(r->stopped_early);
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

static enum ac_state never_green(int round, const struct ac_check *c)
{
	(void)round;
	return strcmp(c->name, "b") == 0 ? AC_STATE_ERROR : AC_STATE_PASS;
}

START_TEST(until_restored_deadline_is_inconclusive_with_why)
{
	script = never_green;
	struct ac_plan *p = fake_plan(two_checks);
	p->settings.deadline_ms = 2 * 60 * 1000;
	struct ac_result *r = run(p, AC_MODE_WATCH, true, false);
	ck_assert_int_eq(r->verdict, AC_INCONCLUSIVE);
	ck_assert_int_eq(r->rounds, 8);
	ck_assert_ptr_nonnull(strstr(r->verdict_reason, "could not be measured"));
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

static enum ac_state critical_fails(int round, const struct ac_check *c)
{
	(void)round;
	return strcmp(c->name, "a") == 0 ? AC_STATE_FAIL : AC_STATE_PASS;
}

START_TEST(fail_fast_stops_at_first_critical_failure)
{
	script = critical_fails;
	struct ac_plan *p = fake_plan(two_checks);
	p->settings.concurrency = 1;
	struct ac_result *r = run(p, AC_MODE_WATCH, false, true);
	ck_assert_int_eq(r->rounds, 1);
	ck_assert_int_eq(r->verdict, AC_NOT_RESTORED);
	ck_assert(r->stopped_early);
	/* The second check was never started: no sample, not a pass. */
	ck_assert_int_eq(r->checks[1].history.total, 0);
	ck_assert_int_ne(r->checks[1].state, AC_STATE_PASS);
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

START_TEST(interrupted_is_never_restored)
{
	script = all_pass;
	struct ac_plan *p = fake_plan(two_checks);
	stop_at_round = 5;
	struct ac_result *r = run(p, AC_MODE_WATCH, false, false);
	stop_at_round = 0;
	ck_assert(r->interrupted);
	ck_assert_int_eq(r->rounds, 5);
	ck_assert_int_eq(r->verdict, AC_INCONCLUSIVE);
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

START_TEST(slow_rounds_are_recorded_and_never_overlap)
{
	script = all_pass;
	struct ac_plan *p = fake_plan(two_checks);
	probe_cost_ms = 10000; /* two checks one after the other: 20 s > 15 s */
	p->settings.concurrency = 1;
	struct ac_result *r = run(p, AC_MODE_WATCH, false, false);
	probe_cost_ms = 0;
	ck_assert_int_eq(r->slow_rounds, r->rounds);
	ck_assert_int_eq(r->rounds, 30); /* 600 s / 20 s */
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

/* Heap in use, from the allocator that is actually linked. */
size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));
static size_t heap_in_use(void)
{
	if (__sanitizer_get_current_allocated_bytes)
		return __sanitizer_get_current_allocated_bytes();
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks;
}

static size_t heap_at[2];
static void on_round_measure(const struct ac_result *r, int64_t left, void *ud)
{
	(void)left;
	(void)ud;
	if (r->rounds == 1000)
		heap_at[0] = heap_in_use();
	if (r->rounds == 6000)
		heap_at[1] = heap_in_use();
}

static enum ac_state flapping(int round, const struct ac_check *c)
{
	(void)c;
	return round % 7 == 0 ? AC_STATE_FAIL : round % 11 == 0 ? AC_STATE_ERROR : AC_STATE_PASS;
}

START_TEST(memory_stays_flat_over_long_windows)
{
	script = flapping;
	struct ac_plan *p = fake_plan(two_checks);
	p->settings.window_ms = 6000LL * 15000;
	ac_fake_clock_init(&fclock, 1764000000000LL);
	struct ac_run_opts o = {
	    .mode = AC_MODE_WATCH, .clock = &fclock.clock, .on_round = on_round_measure};
	struct ac_error err = {0};
	struct ac_result *r = ac_engine_run(p, &o, &err);
	ck_assert_int_eq(r->rounds, 6000);
	ck_assert_int_le(r->checks[0].history.len, AC_HISTORY_MAX);
	ck_assert_int_eq(r->checks[0].history.total, 6000);
	/* 5000 more rounds may not cost more than a few KiB. */
	ck_assert_msg(heap_at[1] <= heap_at[0] + 16384, "heap grew from %zu to %zu bytes",
		      heap_at[0], heap_at[1]);
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

/* Every round the judge rewrites each check's note ("recovered at ...",
 * "passed after retry N times", "flapping ..."): the old one must be freed.
 * Under LeakSanitizer a leak fails the suite at exit; the heap check catches
 * it in the plain build. */
static enum ac_state recovering(int round, const struct ac_check *c)
{
	(void)c;
	return round % 4 == 1 ? AC_STATE_FAIL : AC_STATE_PASS;
}

START_TEST(notes_rewritten_every_round_do_not_leak)
{
	script = recovering;
	retry_every = 3;
	struct ac_plan *p = fake_plan(two_checks);
	p->settings.window_ms = 6000LL * 15000;
	p->settings.confirm = 1;
	ac_fake_clock_init(&fclock, 1764000000000LL);
	struct ac_run_opts o = {
	    .mode = AC_MODE_WATCH, .clock = &fclock.clock, .on_round = on_round_measure};
	struct ac_error err = {0};
	struct ac_result *r = ac_engine_run(p, &o, &err);
	retry_every = 0;
	ck_assert_int_eq(r->rounds, 6000);
	/* The last round (6000 % 4 == 0) passed after a retry, following a
	 * failure: both notes are there, so the concatenating path ran. */
	ck_assert_msg(r->checks[1].note && strstr(r->checks[1].note, "recovered at ") &&
			  strstr(r->checks[1].note, "; passed after retry 1500 times"),
		      "%s", r->checks[1].note ? r->checks[1].note : "(none)");
	ck_assert_msg(heap_at[1] <= heap_at[0] + 16384, "heap grew from %zu to %zu bytes",
		      heap_at[0], heap_at[1]);
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

/* The engine's guard: a kind that calls ac_probe_finish without setting a
 * state measured nothing, and that is never a pass. */
START_TEST(probe_finishing_without_a_result_is_an_error)
{
	script = all_pass;
	leave_state_unset = true;
	struct ac_plan *p = fake_plan(two_checks);
	struct ac_result *r = run(p, AC_MODE_CHECK, false, false);
	leave_state_unset = false;
	ck_assert_int_eq(r->verdict, AC_INCONCLUSIVE);
	for (size_t i = 0; i < r->nchecks; i++) {
		ck_assert_int_eq(r->checks[i].state, AC_STATE_ERROR);
		ck_assert_int_eq(r->checks[i].last.state, AC_STATE_ERROR);
		ck_assert_str_eq(r->checks[i].last.reason, "probe finished without a result");
	}
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

/* The wall clock stepped back an hour mid-run (NTP, an operator): report
 * timestamps come from one wall reading plus monotonic offsets, so nothing
 * ends before it started and samples stay in order. */
START_TEST(wall_clock_stepped_back_keeps_report_times_in_order)
{
	script = all_pass;
	wall_step_at_round = 3;
	struct ac_plan *p = fake_plan(two_checks);
	struct ac_result *r = run(p, AC_MODE_WATCH, false, false);
	wall_step_at_round = 0;
	ck_assert_int_eq(r->rounds, 40);
	ck_assert_int_eq(r->started_wall_ms, 1764000000000LL);
	/* 39 intervals of 15 s after the start */
	ck_assert_int_eq(r->ended_wall_ms - r->started_wall_ms, 39 * 15000);
	ck_assert_int_ge(r->checks[0].last.wall_ms, r->started_wall_ms);
	ck_assert_int_le(r->checks[0].last.wall_ms, r->ended_wall_ms);
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

/* A watch whose journey learns a fresh session cookie every run: the
 * secret belongs to that run, masks what the run wrote (a step recorded
 * before the secret was learnt included), and is dropped with it, so the
 * mask and the heap stay flat over thousands of rounds. */
START_TEST(secrets_learnt_in_a_run_are_masked_and_dropped_with_it)
{
	script = all_pass;
	learn_secrets = true;
	struct ac_plan *p = fake_plan(two_checks);
	size_t plan_secrets = ac_mask_count(p->mask);
	p->settings.window_ms = 6000LL * 15000;
	ac_fake_clock_init(&fclock, 1764000000000LL);
	struct ac_run_opts o = {
	    .mode = AC_MODE_WATCH, .clock = &fclock.clock, .on_round = on_round_measure};
	struct ac_error err = {0};
	struct ac_result *r = ac_engine_run(p, &o, &err);
	learn_secrets = false;
	ck_assert_int_eq(r->rounds, 6000);
	/* the last run's mask knew the plan's secrets and its own, no more
	 * than the first run's did */
	ck_assert_uint_gt(mask_count_first, plan_secrets);
	ck_assert_uint_eq(mask_count_seen, mask_count_first);
	ck_assert_uint_eq(ac_mask_count(p->mask), plan_secrets);
	const struct ac_sample *last = &r->checks[0].last;
	ck_assert_uint_eq(last->nsteps, 1);
	ck_assert_str_eq(last->steps[0].excerpt, "{\"session\": \"***\"}");
	ck_assert_msg(heap_at[1] <= heap_at[0] + 16384, "heap grew from %zu to %zu bytes",
		      heap_at[0], heap_at[1]);
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

static const char *const trend_check =
    "{\"targets\": {\"origin\": \"http://127.0.0.1:9\"},"
    " \"settings\": {\"interval\": \"15s\", \"window\": \"10m\", \"confirm\": 3,"
    " \"rounds\": 6},"
    " \"journeys\": [{\"name\": \"orders\", \"area\": \"data\", \"owner\": \"o\","
    "   \"trend\": \"%s\", \"steps\": [{\"url\": \"/\"}]}]}";

/* Orders came in once (round 2) and stopped: every round from 4 on says
 * NOT RESTORED, and so does the end; the final verdict weighs the same
 * last `confirm` rounds, not the window's first and last value (F19). */
START_TEST(final_trend_verdict_matches_the_last_rounds)
{
	script = all_pass;
	static const double stopped[] = {5, 100, 100, 100, 100, 100};
	values = stopped;
	nvalues = 6;
	char *json = tu_fmt(trend_check, "increasing");
	struct ac_plan *p = fake_plan(json);
	struct ac_result *r = run(p, AC_MODE_CHECK, false, false);
	ck_assert_int_eq(r->rounds, 6);
	ck_assert_int_eq(round_verdict[3], AC_RESTORED);
	for (int i = 4; i <= 6; i++)
		ck_assert_int_eq(round_verdict[i], AC_NOT_RESTORED);
	ck_assert_int_eq(r->verdict, AC_NOT_RESTORED);
	ck_assert_msg(strstr(r->checks[0].reason, "not increasing: 100 -> 100"), "%s",
		      r->checks[0].reason);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(json);
	/* --until-restored: growth early in the window, flat since. The run
	 * stops when the rounds say RESTORED, and the final verdict agrees. */
	static const double settled[] = {10, 20, 15, 15, 15, 15};
	values = settled;
	json = tu_fmt(trend_check, "not_increasing");
	p = fake_plan(json);
	r = run(p, AC_MODE_WATCH, true, false);
	ck_assert(r->stopped_early);
	ck_assert_int_eq(r->rounds, 4); /* 20, 15, 15 */
	ck_assert_int_eq(round_verdict[4], AC_RESTORED);
	ck_assert_msg(r->verdict == AC_RESTORED, "%s", r->verdict_reason);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(json);
	values = NULL;
}
END_TEST

/* Agreement that compares nothing is refused at load (review F3): a group
 * name used by one check only (a typo), "agree": true over one target, on
 * a check that does not run per target, or on a journey with nothing to
 * observe. */
START_TEST(agreement_with_nothing_to_compare_is_refused_at_load)
{
	static const char *const head =
	    "{\"targets\": {\"o\": {\"url\": \"http://127.0.0.1:9\", \"role\": \"origin\"},"
	    " \"e\": {\"url\": \"http://127.0.0.2:9\", \"role\": \"edge\"}},"
	    " \"redis\": {\"r\": \"redis://127.0.0.1:9/0\"},";
	static const struct {
		const char *body;
		const char *want;
	} cases[] = {
	    {"\"journeys\": [{\"name\": \"a\", \"area\": \"flags\", \"owner\": \"o\","
	     " \"agree\": \"checkout-flag\", \"observe\": \"x\", \"targets\": [\"o\"],"
	     " \"steps\": [{\"url\": \"/\"}]}],"
	     " \"checks\": [{\"kind\": \"redis\", \"name\": \"b\", \"area\": \"flags\","
	     " \"owner\": \"o\", \"redis\": \"r\", \"command\": [\"GET\", \"f\"],"
	     " \"expect\": {\">=\": 0}, \"agree\": \"checkout_flag\"}]}",
	     "test.json: checks[0].agree: agree group \"checkout_flag\" has no other member: "
	     "nothing to compare with (did you mean \"checkout-flag\"?)"},
	    {"\"journeys\": [{\"name\": \"a\", \"area\": \"flags\", \"owner\": \"o\","
	     " \"agree\": true, \"steps\": [{\"url\": \"/\"}]}]}",
	     "test.json: journeys[0].agree: nothing to compare: add \"observe\" (or \"value\")"},
	    {"\"journeys\": [{\"name\": \"a\", \"area\": \"flags\", \"owner\": \"o\","
	     " \"agree\": true, \"observe\": \"x\", \"targets\": [\"o\"],"
	     " \"steps\": [{\"url\": \"/\"}]}]}",
	     "test.json: journeys[0].agree: agree: true compares targets, and this journey runs "
	     "on one target only"},
	    {"\"checks\": [{\"kind\": \"redis\", \"name\": \"b\", \"area\": \"flags\","
	     " \"owner\": \"o\", \"redis\": \"r\", \"command\": [\"GET\", \"f\"],"
	     " \"expect\": {\">=\": 0}, \"agree\": true}]}",
	     "test.json: checks[0].agree: agree: true compares the targets of a journey; name a "
	     "group (\"agree\": \"NAME\") to compare this check with others"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *json = tu_fmt("%s%s", head, cases[i].body);
		char *e = tu_load_error(json);
		ck_assert_msg(strstr(e, cases[i].want), "case %zu: want '%s' in:\n%s", i,
			      cases[i].want, e);
		free(e);
		free(json);
	}
	/* Comparisons that compare something load. */
	char *json =
	    tu_fmt("%s\"journeys\": [{\"name\": \"a\", \"area\": \"flags\", \"owner\": \"o\","
		   " \"agree\": true, \"observe\": \"x\", \"steps\": [{\"url\": \"/\"}]},"
		   " {\"name\": \"c\", \"area\": \"flags\", \"owner\": \"o\", \"agree\": \"g\","
		   " \"value\": \"1\", \"targets\": [\"o\"], \"steps\": [{\"url\": \"/\"}]}],"
		   " \"checks\": [{\"kind\": \"redis\", \"name\": \"b\", \"area\": \"flags\","
		   " \"owner\": \"o\", \"redis\": \"r\", \"command\": [\"GET\", \"f\"],"
		   " \"expect\": {\">=\": 0}, \"agree\": \"g\"}]}",
		   head);
	struct ac_plan *p = tu_load(json);
	ac_plan_destroy(p);
	free(json);
}
END_TEST

static Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("window");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ten_minute_window_in_well_under_a_second);
	tcase_add_test(tc, error_burst_that_ends_is_restored_and_recovered_at);
	tcase_add_test(tc, burst_within_last_confirm_rounds_is_not_restored);
	tcase_add_test(tc, until_restored_stops_after_k_green_rounds);
	tcase_add_test(tc, until_restored_deadline_is_inconclusive_with_why);
	tcase_add_test(tc, fail_fast_stops_at_first_critical_failure);
	tcase_add_test(tc, interrupted_is_never_restored);
	tcase_add_test(tc, slow_rounds_are_recorded_and_never_overlap);
	tcase_add_test(tc, memory_stays_flat_over_long_windows);
	tcase_add_test(tc, notes_rewritten_every_round_do_not_leak);
	tcase_add_test(tc, probe_finishing_without_a_result_is_an_error);
	tcase_add_test(tc, wall_clock_stepped_back_keeps_report_times_in_order);
	tcase_add_test(tc, secrets_learnt_in_a_run_are_masked_and_dropped_with_it);
	tcase_add_test(tc, final_trend_verdict_matches_the_last_rounds);
	tcase_add_test(tc, agreement_with_nothing_to_compare_is_refused_at_load);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_main(engine_suite());
}
