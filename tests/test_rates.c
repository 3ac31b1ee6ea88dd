/*
 * test_rates.c: rates over the window and drain times, pure: values in,
 * numbers and sentences out. A queue that grows, one that is flat, one that
 * drains to below its floor, a noisy one, and zero or one value: no
 * estimate (never a time) whenever the values do not show a drain.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "rates.h"
#include "testutil.h"
#include "verdict.h"

/* A history of values taken `step_ms` apart, starting at t = 1000 ms. */
static void fill(struct ac_history *h, const double *v, size_t n, int64_t step_ms)
{
	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < n; i++) {
		struct ac_point p = {.t_ms = 1000 + (int64_t)i * step_ms,
				     .round = (int)i + 1,
				     .value = v[i],
				     .has_value = true,
				     .state = AC_STATE_PASS};
		ac_history_add(h, &p);
	}
}

static struct ac_rate_spec drain_spec(double floor)
{
	struct ac_rate_spec s = {.unit = "jobs",
				 .value_name = "depth",
				 .draining = true,
				 .has_target = true,
				 .target = floor,
				 .confirm = 3};
	return s;
}

#define ASSERT_NEAR(a, b, eps) ck_assert_msg(fabs((a) - (b)) <= (eps), "%.15g != %.15g", a, b)
#define ASSERT_HAS(text, part) ck_assert_msg(strstr(text, part), "\"%s\" lacks \"%s\"", text, part)
#define ASSERT_LACKS(text, part) ck_assert_msg(!strstr(text, part), "\"%s\" has \"%s\"", text, part)

START_TEST(a_queue_that_drains_gets_a_rate_and_an_eta)
{
	/* 4.2 jobs/s, a round every 5 s: 110 s to go from 482 to 20. */
	static const double v[] = {566, 545, 524, 503, 482};
	struct ac_history h;
	fill(&h, v, 5, 5000);
	struct ac_rate_spec spec = drain_spec(20);
	struct ac_rate_view rv;
	ac_rate_describe(&h, &spec, &rv);
	ck_assert(rv.has_rate);
	ck_assert(!rv.flat);
	ASSERT_NEAR(rv.per_s, -4.2, 1e-9);
	ck_assert(rv.has_eta);
	ASSERT_NEAR(rv.eta_s, 110.0, 1e-6);
	ck_assert_uint_eq(rv.points, 5);
	ASSERT_NEAR(rv.span_s, 20.0, 1e-9);
	ck_assert_str_eq(rv.text,
			 "about 1 min 50 s to depth 20 at 4.2 jobs/s (rate over 5 values in "
			 "20 s)");
	/* A trend floor passes the round the value reaches it. */
	ck_assert(rv.has_restore_eta);
	ASSERT_NEAR(rv.restore_eta_s, 110.0, 1e-6);
	/* A sample-level limit needs confirm - 1 more green rounds, 5 s apart. */
	spec.target_is_limit = true;
	ac_rate_describe(&h, &spec, &rv);
	ASSERT_NEAR(rv.restore_eta_s, 120.0, 1e-6);
	ck_assert_str_eq(rv.unit, "jobs");
	ck_assert_str_eq(rv.target_name, "depth");
}
END_TEST

START_TEST(a_queue_that_drains_to_below_its_floor)
{
	static const double v[] = {60, 45, 30, 15, 0};
	struct ac_history h;
	fill(&h, v, 5, 5000);
	struct ac_rate_spec spec = drain_spec(20);
	struct ac_rate_view rv;
	ac_rate_describe(&h, &spec, &rv);
	ASSERT_NEAR(rv.per_s, -3.0, 1e-9);
	ck_assert(rv.has_eta);
	ASSERT_NEAR(rv.eta_s, 0.0, 0);
	ck_assert_str_eq(rv.text,
			 "at or below depth 20; draining at 3.0 jobs/s (rate over 5 values "
			 "in 20 s)");
	/* at the floor exactly counts as drained too */
	static const double w[] = {80, 60, 40, 20};
	fill(&h, w, 4, 5000);
	ac_rate_describe(&h, &spec, &rv);
	ASSERT_HAS(rv.text, "at or below depth 20");
}
END_TEST

START_TEST(a_queue_that_grows_gets_no_estimate)
{
	static const double v[] = {100, 110, 120, 130, 140};
	struct ac_history h;
	fill(&h, v, 5, 5000);
	struct ac_rate_spec spec = drain_spec(20);
	struct ac_rate_view rv;
	ac_rate_describe(&h, &spec, &rv);
	ck_assert(rv.has_rate);
	ASSERT_NEAR(rv.per_s, 2.0, 1e-9);
	ck_assert(!rv.has_eta);
	ck_assert(!rv.has_restore_eta);
	ck_assert_str_eq(rv.text,
			 "not draining: no estimate (+2.0 jobs/s, rate over 5 values in 20 "
			 "s)");
	/* Damage still spreading: rows per second with the sign. */
	static const double rows[] = {10, 11, 12, 13, 14, 15};
	fill(&h, rows, 6, 1000);
	struct ac_rate_spec sp = {.unit = "rows", .spreading = true, .confirm = 3};
	ac_rate_describe(&h, &sp, &rv);
	ck_assert_str_eq(rv.text, "+1.0 row/s: damage still spreading (rate over 5 values in 4 s)");
	ck_assert(!rv.has_eta);
}
END_TEST

START_TEST(a_flat_queue_gets_no_estimate)
{
	static const double v[] = {250, 250, 250, 250, 250};
	struct ac_history h;
	fill(&h, v, 5, 5000);
	struct ac_rate_spec spec = drain_spec(20);
	struct ac_rate_view rv;
	ac_rate_describe(&h, &spec, &rv);
	ck_assert(rv.has_rate);
	ck_assert(rv.flat);
	ck_assert(!rv.has_eta);
	ck_assert(!rv.has_restore_eta);
	ck_assert_str_eq(rv.text, "not draining: no estimate (flat, rate over 5 values in 20 s)");
	/* Without a target: just "flat". */
	struct ac_rate_spec sp = {.unit = "rows", .spreading = true, .confirm = 3};
	ac_rate_describe(&h, &sp, &rv);
	ck_assert_str_eq(rv.text, "flat (rate over 5 values in 20 s)");
	/* One step down among flat values is one noisy round, not a drain. */
	static const double w[] = {250, 250, 250, 240, 250, 250};
	fill(&h, w, 6, 5000);
	ac_rate_describe(&h, &spec, &rv);
	ck_assert(rv.flat);
	ck_assert(!rv.has_eta);
}
END_TEST

START_TEST(one_noisy_round_does_not_move_the_rate)
{
	/* 4.2 jobs/s with a burst in round 3, then in round 1 */
	static const double mid[] = {566, 545, 900, 503, 482};
	static const double first[] = {5000, 545, 524, 503, 482};
	struct ac_history h;
	struct ac_rate_spec spec = drain_spec(20);
	struct ac_rate_view rv;
	fill(&h, mid, 5, 5000);
	ac_rate_describe(&h, &spec, &rv);
	ASSERT_NEAR(rv.per_s, -4.2, 1e-9);
	ASSERT_NEAR(rv.eta_s, 110.0, 1e-6);
	fill(&h, first, 5, 5000);
	ac_rate_describe(&h, &spec, &rv);
	ASSERT_NEAR(rv.per_s, -4.2, 1e-9);
	/* Uneven spacing (a slow round) is weighed by the real times, and a
	 * round without a value is skipped. */
	memset(&h, 0, sizeof(h));
	static const int64_t t[] = {0, 5000, 12000, 15000, 20000, 26000};
	static const double d[] = {500, 479, 0, 437, 416, 390.8};
	for (size_t i = 0; i < 6; i++) {
		struct ac_point p = {.t_ms = t[i], .value = d[i], .has_value = i != 2};
		ac_history_add(&h, &p);
	}
	ac_rate_describe(&h, &spec, &rv);
	ASSERT_NEAR(rv.per_s, -4.2, 1e-9);
	ck_assert_uint_eq(rv.points, 5);
}
END_TEST

START_TEST(zero_or_one_value_is_no_estimate)
{
	struct ac_history h;
	memset(&h, 0, sizeof(h));
	struct ac_rate_spec spec = drain_spec(20);
	struct ac_rate_view rv;
	ac_rate_describe(&h, &spec, &rv);
	ck_assert(!rv.has_rate);
	ck_assert(!rv.has_eta);
	ck_assert(!rv.has_restore_eta);
	ck_assert_str_eq(rv.text,
			 "not draining: no estimate (0 values at different times, 2 needed for a "
			 "rate)");
	static const double one[] = {500};
	fill(&h, one, 1, 5000);
	ac_rate_describe(&h, &spec, &rv);
	ck_assert(!rv.has_rate);
	ck_assert(!rv.has_eta);
	ASSERT_HAS(rv.text, "not draining: no estimate (1 value");
	/* two values at one time: no rate either */
	static const double two[] = {500, 400};
	fill(&h, two, 2, 0);
	ac_rate_describe(&h, &spec, &rv);
	ck_assert(!rv.has_rate);
	ck_assert(!rv.has_eta);
	ASSERT_LACKS(rv.text, "about");
	/* a value that is not a number is not a rate */
	struct ac_rate_point p[2] = {{0, 1}, {1000, NAN}};
	double r;
	ck_assert_int_eq(ac_rate_slope(p, 2, &r), -1);
	/* without a target: "no rate yet" */
	struct ac_rate_spec sp = {.unit = "rows", .spreading = true, .confirm = 3};
	fill(&h, one, 1, 5000);
	ac_rate_describe(&h, &sp, &rv);
	ck_assert_str_eq(rv.text, "no rate yet (1 value at different times, 2 needed)");
}
END_TEST

START_TEST(eta_and_formats)
{
	double e;
	ck_assert_int_eq(ac_rate_eta(482, 20, -4.2, &e), 0);
	ASSERT_NEAR(e, 110.0, 1e-9);
	ck_assert_int_eq(ac_rate_eta(10, 20, 5, &e), 0); /* already below */
	ASSERT_NEAR(e, 0.0, 0);
	ck_assert_int_eq(ac_rate_eta(482, 20, 0, &e), -1);
	ck_assert(isnan(e));
	ck_assert_int_eq(ac_rate_eta(482, 20, 1, &e), -1);
	ck_assert_int_eq(ac_rate_eta(NAN, 20, -1, &e), -1);
	ck_assert_int_eq(ac_rate_eta(482, 20, -INFINITY, &e), -1);

	char b[64];
	ac_rate_format(b, sizeof(b), 1.0, "rows");
	ck_assert_str_eq(b, "+1.0 row/s");
	ac_rate_format(b, sizeof(b), -4.2, "jobs");
	ck_assert_str_eq(b, "-4.2 jobs/s");
	ac_rate_format(b, sizeof(b), 0.05, "rows");
	ck_assert_str_eq(b, "+3.0 rows/min");
	ac_rate_format(b, sizeof(b), 1.0 / 3600, "rows");
	ck_assert_str_eq(b, "+1.0 row/h");
	ac_rate_format(b, sizeof(b), 2.5, NULL);
	ck_assert_str_eq(b, "+2.5/s");
	ac_rate_format_speed(b, sizeof(b), -4.2, "jobs");
	ck_assert_str_eq(b, "4.2 jobs/s");
	ac_rate_format_eta(b, sizeof(b), 110);
	ck_assert_str_eq(b, "about 1 min 50 s");
	ac_rate_format_eta(b, sizeof(b), 45.4);
	ck_assert_str_eq(b, "about 45 s");
	ac_rate_format_eta(b, sizeof(b), 120);
	ck_assert_str_eq(b, "about 2 min");
	ac_rate_format_eta(b, sizeof(b), 3725);
	ck_assert_str_eq(b, "about 1 h 2 min");
	ac_rate_format_eta(b, sizeof(b), 0.2);
	ck_assert_str_eq(b, "under 1 s");
	ac_rate_format_eta(b, sizeof(b), NAN);
	ck_assert_str_eq(b, "no estimate");
}
END_TEST

/* Through the judge: a queue check's rate, and the earliest RESTORED. */
START_TEST(judge_fills_rates_and_the_earliest_restored)
{
	extern const struct ac_probe_kind ac_probe_queue;
	struct ac_check cq, cs;
	memset(&cq, 0, sizeof(cq));
	memset(&cs, 0, sizeof(cs));
	cq.id = cq.name = "payment jobs";
	cq.owner = "payments";
	cq.area = AC_AREA_JOBS;
	cq.kind = &ac_probe_queue;
	cq.trend.kind = AC_TREND_DRAINING;
	cq.trend.floor = 20;
	cs.id = cs.name = "orphans";
	cs.owner = "data";
	cs.area = AC_AREA_DATA;
	struct ac_check_result cr[2];
	memset(cr, 0, sizeof(cr));
	cr[0].check = &cq;
	cr[0].id = "payment jobs";
	cr[1].check = &cs;
	cr[1].id = "orphans";
	static const double v[] = {566, 545, 524, 503, 482};
	for (int i = 0; i < 5; i++) {
		struct ac_sample s;
		memset(&s, 0, sizeof(s));
		s.round = i + 1;
		s.t_ms = 1000 + i * 5000;
		s.state = AC_STATE_PASS;
		s.has_value = true;
		s.value = v[i];
		s.value_name = "depth";
		ac_judge_record(&cr[0], &s);
		memset(&s, 0, sizeof(s));
		s.round = i + 1;
		s.t_ms = 1000 + i * 5000;
		s.state = AC_STATE_PASS;
		ac_judge_record(&cr[1], &s);
	}
	struct ac_judge_opts o = {
	    .confirm = 3, .coverage = 0.8, .flake_budget = -1, .rounds = 5, .final = false};
	struct ac_result r;
	memset(&r, 0, sizeof(r));
	r.checks = cr;
	r.nchecks = 2;
	for (int i = 0; i < 2; i++)
		ac_judge_check(&cr[i], &o);
	ac_judge_overall(&r, &o);
	ck_assert_int_eq(cr[0].state, AC_STATE_FAIL);
	ck_assert_str_eq(cr[0].rate.text, "about 1 min 50 s to depth 20 at 4.2 jobs/s (rate over "
					  "5 values in 20 s)");
	ck_assert(!cr[1].rate.has_rate); /* no value, no trend: no rate */
	ck_assert_str_eq(cr[1].rate.text, "");
	ck_assert(r.has_restore_eta);
	ASSERT_NEAR(r.restore_eta_s, 110.0, 1e-6);
	ck_assert_str_eq(r.restore_text,
			 "RESTORED at the earliest in about 1 min 50 s, if payment "
			 "jobs keeps draining at 4.2 jobs/s and nothing else fails");
	/* A check that passes but still gathers its green rounds waits for
	 * them: 2 more rounds 5 s apart, well within the drain. */
	r.interval_ms = 5000;
	struct ac_sample ps;
	memset(&ps, 0, sizeof(ps));
	ps.round = 5;
	ps.t_ms = 21000;
	ps.state = AC_STATE_PASS;
	cr[1].state = AC_STATE_PENDING;
	ac_sample_release(&cr[1].last);
	cr[1].last = ps;
	cr[1].consecutive_passes = 1;
	ac_judge_overall(&r, &o);
	ck_assert(r.has_restore_eta);
	ASSERT_NEAR(r.restore_eta_s, 110.0, 1e-6);
	/* ... and decides when the drain is nearly done */
	cr[1].consecutive_passes = 0;
	r.interval_ms = 60000;
	ac_judge_overall(&r, &o);
	ASSERT_NEAR(r.restore_eta_s, 180.0, 1e-6);
	ck_assert_str_eq(r.restore_text, "RESTORED at the earliest in about 3 min, if payment jobs "
					 "keeps draining at 4.2 jobs/s and nothing else fails");
	/* A pending check with no passing sample: no estimate. */
	cr[1].last.state = AC_STATE_ERROR;
	ac_judge_overall(&r, &o);
	ck_assert(!r.has_restore_eta);
	ck_assert_str_eq(r.restore_text, "no estimate of when RESTORED: orphans has no passing "
					 "sample yet");
	cr[1].last.state = AC_STATE_PASS;
	cr[1].state = AC_STATE_PASS;
	/* Another failing check without a drain: no estimate at all. */
	struct ac_sample s;
	memset(&s, 0, sizeof(s));
	s.round = 6;
	s.t_ms = 26000;
	s.state = AC_STATE_FAIL;
	s.reason = ac_strdup("3 orphans");
	ac_judge_record(&cr[1], &s);
	ac_judge_check(&cr[1], &o);
	ac_judge_overall(&r, &o);
	ck_assert(!r.has_restore_eta);
	ck_assert_str_eq(r.restore_text,
			 "no estimate of when RESTORED: orphans is not a drain to wait for");
	/* A queue that stops draining: no estimate, never a time. */
	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 5; i++) {
		s.round = 6 + i;
		s.t_ms = 26000 + i * 5000;
		s.state = AC_STATE_PASS;
		s.has_value = true;
		s.value = 482 + i * 10;
		s.value_name = "depth";
		ac_judge_record(&cr[0], &s);
	}
	ac_judge_check(&cr[0], &o);
	free(cr[1].reason);
	cr[1].reason = NULL;
	cr[1].state = AC_STATE_PASS;
	ac_judge_overall(&r, &o);
	ck_assert(!cr[0].rate.has_eta);
	ck_assert(!r.has_restore_eta);
	ck_assert_str_eq(r.restore_text,
			 "no estimate of when RESTORED: payment jobs is not draining");
	free(r.verdict_reason);
	for (int i = 0; i < 2; i++) {
		free(cr[i].reason);
		free(cr[i].note);
		ac_sample_release(&cr[i].last);
		ac_sample_release(&cr[i].last_bad);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rates");
	TCase *tc = tcase_create("rates");
	tcase_add_test(tc, a_queue_that_drains_gets_a_rate_and_an_eta);
	tcase_add_test(tc, a_queue_that_drains_to_below_its_floor);
	tcase_add_test(tc, a_queue_that_grows_gets_no_estimate);
	tcase_add_test(tc, a_flat_queue_gets_no_estimate);
	tcase_add_test(tc, one_noisy_round_does_not_move_the_rate);
	tcase_add_test(tc, zero_or_one_value_is_no_estimate);
	tcase_add_test(tc, eta_and_formats);
	tcase_add_test(tc, judge_fills_rates_and_the_earliest_restored);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
