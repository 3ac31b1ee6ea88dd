/*
 * test_verdict.c: the judge's rules, pure: samples in, states out. Every
 * fail-closed case has a test: zero samples, too few samples, coverage too
 * low, a trend with too few points, an interrupted run.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "verdict.h"

static struct ac_check check(void)
{
	struct ac_check c;
	memset(&c, 0, sizeof(c));
	c.id = "c";
	c.name = "c";
	c.owner = "o";
	return c;
}

static void record(struct ac_check_result *cr, int round, enum ac_state st, double v)
{
	struct ac_sample s;
	memset(&s, 0, sizeof(s));
	s.round = round;
	s.t_ms = round * 60000;
	s.wall_ms = 1764000000000LL + s.t_ms;
	s.state = st;
	s.has_value = true;
	s.value = v;
	if (st != AC_STATE_PASS)
		s.reason = ac_strdup("scripted");
	ac_judge_record(cr, &s);
}

static struct ac_judge_opts opts(int rounds)
{
	struct ac_judge_opts o = {
	    .confirm = 3, .coverage = 0.8, .flake_budget = -1, .rounds = rounds, .final = true};
	return o;
}

static void release(struct ac_check_result *cr)
{
	free(cr->reason);
	free(cr->note);
	ac_sample_release(&cr->last);
	ac_sample_release(&cr->last_bad);
	const struct ac_check *c = cr->check;
	memset(cr, 0, sizeof(*cr));
	cr->check = c;
}

START_TEST(zero_samples_is_not_a_pass)
{
	struct ac_check c = check();
	struct ac_check_result cr = {.check = &c};
	struct ac_judge_opts o = opts(3);
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_ERROR);
	struct ac_result r = {.checks = &cr, .nchecks = 1, .rounds = 3};
	ac_judge_overall(&r, &o);
	ck_assert_int_eq(r.verdict, AC_INCONCLUSIVE);
	free(r.verdict_reason);
	release(&cr);
	/* and no check at all is not RESTORED either */
	struct ac_result none = {.rounds = 3};
	ac_judge_overall(&none, &o);
	ck_assert_int_eq(none.verdict, AC_INCONCLUSIVE);
	free(none.verdict_reason);
}
END_TEST

START_TEST(fail_beats_error_beats_pass)
{
	struct ac_check c = check();
	struct ac_check_result a = {.check = &c}, b = {.check = &c}, d = {.check = &c};
	for (int i = 1; i <= 3; i++) {
		record(&a, i, AC_STATE_PASS, 0);
		record(&b, i, AC_STATE_ERROR, 0);
		record(&d, i, i == 2 ? AC_STATE_FAIL : AC_STATE_PASS, 0);
	}
	struct ac_judge_opts o = opts(3);
	ac_judge_check(&a, &o);
	ac_judge_check(&b, &o);
	ac_judge_check(&d, &o);
	ck_assert_int_eq(a.state, AC_STATE_PASS);
	ck_assert_int_eq(b.state, AC_STATE_ERROR);
	ck_assert_int_eq(d.state, AC_STATE_FAIL); /* failed within the last 3 rounds */
	ck_assert_ptr_nonnull(strstr(d.reason, "green rounds needed"));
	struct ac_check_result all[3] = {a, b, d};
	struct ac_result r = {.checks = all, .nchecks = 3, .rounds = 3};
	ac_judge_overall(&r, &o);
	ck_assert_int_eq(r.verdict, AC_NOT_RESTORED);
	r.nchecks = 2;
	ac_judge_overall(&r, &o);
	ck_assert_int_eq(r.verdict, AC_INCONCLUSIVE);
	r.nchecks = 1;
	ac_judge_overall(&r, &o);
	ck_assert_int_eq(r.verdict, AC_RESTORED);
	o.interrupted = true;
	ac_judge_overall(&r, &o);
	ck_assert_int_eq(r.verdict, AC_INCONCLUSIVE); /* never RESTORED by interruption */
	free(r.verdict_reason);
	release(&a);
	release(&b);
	release(&d);
}
END_TEST

START_TEST(too_few_samples_and_low_coverage)
{
	struct ac_check c = check();
	struct ac_check_result cr = {.check = &c};
	record(&cr, 1, AC_STATE_PASS, 0);
	record(&cr, 2, AC_STATE_PASS, 0);
	struct ac_judge_opts o = opts(2);
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_ERROR);
	ck_assert_ptr_nonnull(strstr(cr.reason, "not enough evidence"));
	o.final = false;
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_PENDING);
	release(&cr);
	/* 3 passes in 10 rounds: confirm holds, coverage does not */
	for (int i = 8; i <= 10; i++)
		record(&cr, i, AC_STATE_PASS, 0);
	o = opts(10);
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_ERROR);
	ck_assert_ptr_nonnull(strstr(cr.reason, "coverage too low"));
	release(&cr);
}
END_TEST

START_TEST(trends)
{
	struct ac_check c = check();
	struct ac_check_result cr = {.check = &c};
	struct ac_judge_opts o = opts(3);
	c.trend.kind = AC_TREND_NOT_INCREASING;
	record(&cr, 1, AC_STATE_PASS, 5);
	ck_assert_int_eq(o.confirm, 3);
	o.confirm = 1;
	o.rounds = 1;
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_ERROR); /* a trend with one point */
	ck_assert_ptr_nonnull(strstr(cr.reason, "trend needs at least 2 values"));
	record(&cr, 2, AC_STATE_PASS, 7);
	record(&cr, 3, AC_STATE_PASS, 7);
	o = opts(3);
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_FAIL); /* the damage is still spreading */
	ck_assert_ptr_nonnull(strstr(cr.reason, "still growing: 5 -> 7"));
	release(&cr);
	c.trend.kind = AC_TREND_INCREASING;
	for (int i = 1; i <= 3; i++)
		record(&cr, i, AC_STATE_PASS, 10);
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_FAIL); /* quiet is not working */
	release(&cr);
	c.trend.kind = AC_TREND_DRAINING;
	c.trend.floor = 0;
	record(&cr, 1, AC_STATE_PASS, 50);
	record(&cr, 2, AC_STATE_PASS, 20);
	record(&cr, 3, AC_STATE_PASS, 3);
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_FAIL);
	ck_assert_ptr_nonnull(strstr(cr.reason, "not drained: 3"));
	record(&cr, 4, AC_STATE_PASS, 0);
	o.rounds = 4;
	o.coverage = 0.5;
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_PASS);
	release(&cr);
	c.trend.kind = AC_TREND_NONE;
	c.trend.has_max_per_min = true;
	c.trend.max_per_min = 2;
	record(&cr, 1, AC_STATE_PASS, 0);
	record(&cr, 2, AC_STATE_PASS, 3);
	record(&cr, 3, AC_STATE_PASS, 9); /* 9 over 2 minutes: 4.5 per minute */
	o = opts(3);
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_FAIL);
	ck_assert_ptr_nonnull(strstr(cr.reason, "per minute"));
	release(&cr);
}
END_TEST

START_TEST(recovered_flapping_retry_and_baseline)
{
	struct ac_check c = check();
	struct ac_check_result cr = {.check = &c};
	struct ac_judge_opts o = opts(6);
	record(&cr, 1, AC_STATE_FAIL, 0);
	record(&cr, 2, AC_STATE_FAIL, 0);
	record(&cr, 3, AC_STATE_PASS, 0);
	record(&cr, 4, AC_STATE_PASS, 0);
	record(&cr, 5, AC_STATE_PASS, 0);
	o.coverage = 0.5;
	o.rounds = 5;
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_PASS);
	ck_assert_ptr_nonnull(strstr(cr.note, "recovered at 2025-11-24T"));
	release(&cr);
	for (int i = 1; i <= 6; i++)
		record(&cr, i, i % 2 ? AC_STATE_PASS : AC_STATE_FAIL, 0);
	o.rounds = 6;
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_FAIL);
	ck_assert_ptr_nonnull(strstr(cr.note, "flapping"));
	release(&cr);
	/* passed after retry: reported, and failed past the flake budget */
	for (int i = 1; i <= 3; i++) {
		struct ac_sample s;
		memset(&s, 0, sizeof(s));
		s.round = i;
		s.state = AC_STATE_PASS;
		s.retried = i == 2;
		ac_judge_record(&cr, &s);
	}
	o = opts(3);
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_PASS);
	ck_assert_ptr_nonnull(strstr(cr.note, "passed after retry 1 time"));
	o.flake_budget = 0;
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_FAIL);
	release(&cr);
	/* within 10% of a baseline */
	c.trend.has_baseline_pct = true;
	c.trend.baseline_pct = 10;
	for (int i = 1; i <= 3; i++)
		record(&cr, i, AC_STATE_PASS, 120);
	o = opts(3);
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_ERROR); /* no baseline saved: cannot say */
	c.has_baseline = true;
	c.baseline = 100;
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_FAIL);
	c.baseline = 115;
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_PASS);
	release(&cr);
}
END_TEST

START_TEST(fleet_agreement_and_stale_edges)
{
	struct ac_target origin = {"origin", "http://o", "origin", ""},
			 us = {"edge-us", "http://u", "edge", "us"},
			 eu = {"edge-eu", "http://e", "edge", "eu"};
	struct ac_check c[3];
	struct ac_check_result cr[3];
	memset(cr, 0, sizeof(cr));
	const struct ac_target *t[3] = {&origin, &us, &eu};
	const char *obs[3] = {"new_checkout=false", "new_checkout=false", "new_checkout=true"};
	for (int i = 0; i < 3; i++) {
		c[i] = check();
		c[i].id = (char *)t[i]->name;
		c[i].target = t[i];
		c[i].agree = true;
		c[i].group = 7;
		cr[i].check = &c[i];
		struct ac_sample s;
		memset(&s, 0, sizeof(s));
		s.state = AC_STATE_PASS;
		s.observed = ac_strdup(obs[i]);
		ac_judge_record(&cr[i], &s);
		cr[i].state = AC_STATE_PASS;
	}
	struct ac_result r = {.checks = cr, .nchecks = 3, .rounds = 1};
	ac_judge_fleet(&r);
	ck_assert_int_eq(cr[0].state, AC_STATE_PASS);
	ck_assert_int_eq(cr[1].state, AC_STATE_PASS);
	ck_assert_int_eq(cr[2].state, AC_STATE_FAIL);
	ck_assert_msg(strstr(cr[2].reason, "targets disagree: edge-eu says \"new_checkout=true\""),
		      "%s", cr[2].reason);
	/* a failing edge next to a passing origin is a stale edge */
	struct ac_step_result st;
	memset(&st, 0, sizeof(st));
	st.state = AC_STATE_FAIL;
	st.served_by = "build v42, Age 540 s";
	cr[2].last_bad.steps = &st;
	cr[2].last_bad.nsteps = 1;
	cr[2].has_last_bad = true;
	ac_judge_fleet(&r);
	ck_assert_msg(cr[2].note && strstr(cr[2].note,
					   "origin restored, edge-eu stale: build v42, Age 540 s"),
		      "%s", cr[2].note ? cr[2].note : "(none)");
	cr[2].last_bad.steps = NULL;
	cr[2].last_bad.nsteps = 0;
	for (int i = 0; i < 3; i++)
		release(&cr[i]);
}
END_TEST

/* min_samples, from the options and from the check, above confirm: one
 * sample short is not enough evidence, exactly enough is. */
START_TEST(min_samples_is_enforced_exactly)
{
	struct ac_check c = check();
	struct ac_check_result cr = {.check = &c};
	for (int i = 1; i <= 4; i++)
		record(&cr, i, AC_STATE_PASS, 0);
	struct ac_judge_opts o = opts(4);
	c.min_samples = 5;
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_ERROR);
	ck_assert_str_eq(cr.reason, "not enough evidence: 4 valid samples, 5 needed");
	record(&cr, 5, AC_STATE_PASS, 0);
	o.rounds = 5;
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_PASS);
	/* the run-wide option alone */
	c.min_samples = 0;
	o.min_samples = 6;
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_ERROR);
	ck_assert_str_eq(cr.reason, "not enough evidence: 5 valid samples, 6 needed");
	o.min_samples = 5;
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_PASS);
	/* errors are not evidence: 5 samples, one of them an error */
	release(&cr);
	record(&cr, 1, AC_STATE_ERROR, 0);
	for (int i = 2; i <= 5; i++)
		record(&cr, i, AC_STATE_PASS, 0);
	o.coverage = 0;
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_ERROR);
	ck_assert_str_eq(cr.reason, "not enough evidence: 4 valid samples, 5 needed");
	release(&cr);
}
END_TEST

/* Coverage exactly at the threshold passes; one valid sample fewer does
 * not. 8 of 10 rounds at 80%, then 7 of 10. */
START_TEST(coverage_at_the_threshold)
{
	struct ac_check c = check();
	struct ac_check_result cr = {.check = &c};
	record(&cr, 1, AC_STATE_ERROR, 0);
	record(&cr, 2, AC_STATE_ERROR, 0);
	for (int i = 3; i <= 10; i++)
		record(&cr, i, AC_STATE_PASS, 0);
	struct ac_judge_opts o = opts(10);
	ac_judge_check(&cr, &o);
	ck_assert_msg(cr.state == AC_STATE_PASS, "%s", cr.reason ? cr.reason : "");
	release(&cr);
	for (int i = 1; i <= 3; i++)
		record(&cr, i, AC_STATE_ERROR, 0);
	for (int i = 4; i <= 10; i++)
		record(&cr, i, AC_STATE_PASS, 0);
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_ERROR);
	ck_assert_str_eq(cr.reason,
			 "coverage too low: valid samples in 7 of 10 rounds, 80% needed");
	release(&cr);
}
END_TEST

/* Agreement among n checks observing the given values; returns how many
 * failed and checks that failures carry the disagreement. */
static size_t fleet_fails(size_t n, const char *const *obs)
{
	struct ac_check c[8];
	struct ac_check_result cr[8];
	char names[8][8];
	memset(cr, 0, sizeof(cr));
	for (size_t i = 0; i < n; i++) {
		c[i] = check();
		snprintf(names[i], sizeof(names[i]), "t%zu", i);
		c[i].id = names[i];
		c[i].agree = true;
		c[i].agree_group = "flags";
		cr[i].check = &c[i];
		struct ac_sample s;
		memset(&s, 0, sizeof(s));
		s.state = AC_STATE_PASS;
		s.observed = ac_strdup(obs[i]);
		ac_judge_record(&cr[i], &s);
		cr[i].state = AC_STATE_PASS;
	}
	struct ac_result r = {.checks = cr, .nchecks = n, .rounds = 1};
	ac_judge_fleet(&r);
	size_t fails = 0;
	for (size_t i = 0; i < n; i++) {
		if (cr[i].state == AC_STATE_FAIL) {
			fails++;
			ck_assert_ptr_nonnull(strstr(cr[i].reason, "checks disagree: "));
		}
		release(&cr[i]);
	}
	return fails;
}

/* A tie has no majority to trust: everyone in it fails. A lone dissenter
 * fails alone; unanimity passes. */
START_TEST(fleet_ties_fail_everyone)
{
	const char *two[] = {"on", "off"};
	ck_assert_int_eq(fleet_fails(2, two), 2);
	const char *four[] = {"on", "off", "on", "off"};
	ck_assert_int_eq(fleet_fails(4, four), 4);
	const char *three_ways[] = {"a", "b", "c"};
	ck_assert_int_eq(fleet_fails(3, three_ways), 3);
	const char *one_off[] = {"on", "on", "off"};
	ck_assert_int_eq(fleet_fails(3, one_off), 1);
	const char *same[] = {"on", "on", "on", "on"};
	ck_assert_int_eq(fleet_fails(4, same), 0);
}
END_TEST

/* Judge a check whose values are vals[0..n-1] in rounds 1..n, one minute
 * apart, as the run does after round n (final or not). */
static enum ac_state judge_series(struct ac_check *c, const double *vals, int n, int confirm,
				  bool final, char **reason)
{
	struct ac_check_result cr = {.check = c};
	for (int i = 0; i < n; i++)
		record(&cr, i + 1, AC_STATE_PASS, vals[i]);
	struct ac_judge_opts o = opts(n);
	o.confirm = confirm;
	o.final = final;
	ac_judge_check(&cr, &o);
	enum ac_state st = cr.state;
	*reason = cr.reason ? ac_strdup(cr.reason) : NULL;
	release(&cr);
	return st;
}

/* The final verdict judges the same evidence as the last round did: a
 * trend over the last `confirm` rounds, never only the window's first and
 * last value. Orders that came in once and then stopped are not "orders
 * keep coming in" (review F19). */
START_TEST(final_trend_judges_the_last_confirm_rounds)
{
	struct ac_check c = check();
	char *why;
	c.trend.kind = AC_TREND_INCREASING;
	const double stopped[] = {5, 100, 100, 100, 100, 100};
	for (int final = 0; final <= 1; final++) {
		ck_assert_int_eq(judge_series(&c, stopped, 6, 3, final, &why), AC_STATE_FAIL);
		ck_assert_msg(why && strstr(why, "not increasing: 100 -> 100 (rounds 4-6)"), "%s",
			      why ? why : "(none)");
		free(why);
	}
	/* still rising in the tail: passes, round by round and at the end */
	const double rising[] = {5, 100, 100, 100, 100, 101};
	for (int final = 0; final <= 1; final++) {
		ck_assert_int_eq(judge_series(&c, rising, 6, 3, final, &why), AC_STATE_PASS);
		free(why);
	}
	/* not_increasing: growth early in the window, flat since: the rounds
	 * say RESTORED (--until-restored stops there), so does the end */
	c.trend.kind = AC_TREND_NOT_INCREASING;
	const double settled[] = {10, 20, 15, 15, 15};
	for (int final = 0; final <= 1; final++) {
		ck_assert_int_eq(judge_series(&c, settled, 5, 3, final, &why), AC_STATE_PASS);
		free(why);
	}
	const double grows_late[] = {15, 15, 15, 15, 16};
	for (int final = 0; final <= 1; final++) {
		ck_assert_int_eq(judge_series(&c, grows_late, 5, 3, final, &why), AC_STATE_FAIL);
		ck_assert_msg(strstr(why, "still growing: 15 -> 16 (rounds 4-5)"), "%s", why);
		free(why);
	}
	/* draining: every step down, or at/below the floor, ending at/below it */
	c.trend.kind = AC_TREND_DRAINING;
	c.trend.floor = 10;
	const double drained[] = {50, 60, 40, 5, 8};
	for (int final = 0; final <= 1; final++) {
		ck_assert_int_eq(judge_series(&c, drained, 5, 3, final, &why), AC_STATE_PASS);
		free(why);
	}
	const double refilled[] = {50, 40, 5, 8, 30};
	for (int final = 0; final <= 1; final++) {
		ck_assert_int_eq(judge_series(&c, refilled, 5, 3, final, &why), AC_STATE_FAIL);
		ck_assert_msg(strstr(why, "still growing: 8 -> 30 (rounds 4-5)"), "%s", why);
		free(why);
	}
	/* a growth rate: a jump in the last rounds is not averaged over the
	 * window (30 in the last 2 minutes is 15 per minute, not 6) */
	c.trend.kind = AC_TREND_NONE;
	c.trend.has_max_per_min = true;
	c.trend.max_per_min = 10;
	const double jump[] = {0, 0, 0, 0, 0, 30};
	for (int final = 0; final <= 1; final++) {
		ck_assert_int_eq(judge_series(&c, jump, 6, 3, final, &why), AC_STATE_FAIL);
		ck_assert_msg(strstr(why, "growing 15 per minute"), "%s", why);
		free(why);
	}
	const double early[] = {0, 30, 30, 30, 30, 30};
	for (int final = 0; final <= 1; final++) {
		ck_assert_int_eq(judge_series(&c, early, 6, 3, final, &why), AC_STATE_PASS);
		free(why);
	}
}
END_TEST

/* Against a saved baseline of 0 only 0 is within any percentage: 9 is
 * not "within 10%" of 0 (review F2). */
START_TEST(baseline_of_zero_admits_only_zero)
{
	struct ac_check c = check();
	c.trend.has_baseline_pct = true;
	c.trend.baseline_pct = 10;
	c.has_baseline = true;
	c.baseline = 0;
	struct ac_check_result cr = {.check = &c};
	struct ac_judge_opts o = opts(3);
	for (int i = 1; i <= 3; i++)
		record(&cr, i, AC_STATE_PASS, 9);
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_FAIL);
	ck_assert_str_eq(cr.reason, "9 is above the baseline 0 (any change from 0 is outside 10%)");
	release(&cr);
	for (int i = 1; i <= 3; i++)
		record(&cr, i, AC_STATE_PASS, -0.5);
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_FAIL);
	ck_assert_str_eq(cr.reason,
			 "-0.5 is below the baseline 0 (any change from 0 is outside 10%)");
	release(&cr);
	for (int i = 1; i <= 3; i++)
		record(&cr, i, AC_STATE_PASS, 0);
	ac_judge_check(&cr, &o);
	ck_assert_int_eq(cr.state, AC_STATE_PASS);
	release(&cr);
}
END_TEST

/* A check that asked for agreement and has nothing to compare never passes
 * silently (review F3): a passing sample without an observation is an
 * ERROR, and so is a check whose group has no other member. */
START_TEST(agreement_with_nothing_to_compare_is_an_error)
{
	struct ac_check c[2];
	struct ac_check_result cr[2];
	memset(cr, 0, sizeof(cr));
	const char *obs[2] = {NULL, "on"};
	for (int i = 0; i < 2; i++) {
		c[i] = check();
		c[i].id = i ? "b" : "a";
		c[i].agree = true;
		c[i].agree_group = "g";
		cr[i].check = &c[i];
		struct ac_sample s;
		memset(&s, 0, sizeof(s));
		s.state = AC_STATE_PASS;
		s.observed = obs[i] ? ac_strdup(obs[i]) : NULL;
		ac_judge_record(&cr[i], &s);
		cr[i].state = AC_STATE_PASS;
	}
	struct ac_result r = {.checks = cr, .nchecks = 2, .rounds = 1};
	ac_judge_fleet(&r);
	ck_assert_int_eq(cr[0].state, AC_STATE_ERROR);
	ck_assert_str_eq(cr[0].reason, "nothing to compare (no observe/value)");
	/* b's only partner observed nothing: b agreed with no one */
	ck_assert_int_eq(cr[1].state, AC_STATE_ERROR);
	ck_assert_str_eq(cr[1].reason, "nothing to agree with: no other check in group \"g\" "
				       "observed anything");
	/* alone in its group */
	cr[1].state = AC_STATE_PASS;
	r.checks = &cr[1];
	r.nchecks = 1;
	ac_judge_fleet(&r);
	ck_assert_int_eq(cr[1].state, AC_STATE_ERROR);
	ck_assert_str_eq(cr[1].reason, "nothing to agree with: no other check in group \"g\" "
				       "observed anything");
	for (int i = 0; i < 2; i++)
		release(&cr[i]);
}
END_TEST

/* With an origin, the origin's observation is the reference: three stale
 * edges do not outvote a passing origin (review F22). Without an origin,
 * the majority rule applies. */
START_TEST(origin_is_the_reference_whatever_the_number_of_edges)
{
	struct ac_target origin = {"origin", "http://o", "origin", ""},
			 ea = {"edge-a", "http://a", "edge", ""},
			 eb = {"edge-b", "http://b", "edge", ""},
			 ec = {"edge-c", "http://c", "edge", ""};
	const struct ac_target *t[4] = {&origin, &ea, &eb, &ec};
	const char *obs[4] = {"1", "2", "2", "2"};
	struct ac_check c[4];
	struct ac_check_result cr[4];
	memset(cr, 0, sizeof(cr));
	for (int i = 0; i < 4; i++) {
		c[i] = check();
		c[i].id = (char *)t[i]->name;
		c[i].target = t[i];
		c[i].agree = true;
		c[i].group = 3;
		cr[i].check = &c[i];
		struct ac_sample s;
		memset(&s, 0, sizeof(s));
		s.state = AC_STATE_PASS;
		s.observed = ac_strdup(obs[i]);
		ac_judge_record(&cr[i], &s);
		cr[i].state = AC_STATE_PASS;
	}
	struct ac_result r = {.checks = cr, .nchecks = 4, .rounds = 1};
	ac_judge_fleet(&r);
	ck_assert_int_eq(cr[0].state, AC_STATE_PASS);
	for (int i = 1; i < 4; i++) {
		ck_assert_int_eq(cr[i].state, AC_STATE_FAIL);
		char *want =
		    tu_fmt("targets disagree: %s says \"2\", origin says \"1\"", t[i]->name);
		ck_assert_str_eq(cr[i].reason, want);
		free(want);
		char *note = tu_fmt("origin restored, %s differs: no cache status or Age header",
				    t[i]->name);
		ck_assert_msg(cr[i].note && strstr(cr[i].note, note), "%s",
			      cr[i].note ? cr[i].note : "(none)");
		free(note);
	}
	struct ac_judge_opts o = opts(1);
	ac_judge_overall(&r, &o);
	ck_assert_int_eq(r.verdict, AC_NOT_RESTORED);
	ck_assert_msg(strstr(r.verdict_reason, "first to fix: edge-a"), "%s", r.verdict_reason);
	free(r.verdict_reason);
	r.verdict_reason = NULL;
	/* an origin that does not pass is no reference: the majority rules */
	for (int i = 0; i < 4; i++) {
		cr[i].state = AC_STATE_PASS;
		free(cr[i].reason);
		cr[i].reason = NULL;
	}
	cr[0].state = AC_STATE_ERROR;
	ac_judge_fleet(&r);
	ck_assert_int_eq(cr[0].state, AC_STATE_ERROR);
	for (int i = 1; i < 4; i++)
		ck_assert_int_eq(cr[i].state, AC_STATE_PASS);
	for (int i = 0; i < 4; i++)
		release(&cr[i]);
}
END_TEST

/* "stale" only when the edge's response came from its cache; a fresh
 * fetch that still differs is the region's own flag or config; without a
 * cache status or Age nothing is claimed. */
START_TEST(stale_only_when_served_from_a_cache)
{
	static const struct {
		const char *served_by;
		enum ac_served want;
	} cases[] = {
	    {"build v42, X-Cache-Status HIT", AC_SERVED_CACHE},
	    {"build v42, Age 540 s", AC_SERVED_CACHE},
	    {"X-Cache-Status STALE", AC_SERVED_CACHE},
	    {"X-Cache-Status UPDATING", AC_SERVED_CACHE},
	    {"X-Cache Hit from cloudfront", AC_SERVED_CACHE},
	    {"X-Cache RefreshHit from cloudfront", AC_SERVED_CACHE},
	    {"X-Cache TCP_MEM_HIT", AC_SERVED_CACHE},
	    {"CF-Cache-Status HIT", AC_SERVED_CACHE},
	    /* Fastly: the edge missed, its shield had it */
	    {"X-Cache MISS, HIT", AC_SERVED_CACHE},
	    /* a miss with an Age came from a cache further in */
	    {"build v42, Age 30 s, X-Cache-Status MISS", AC_SERVED_CACHE},
	    {"build v42, X-Cache-Status MISS", AC_SERVED_ORIGIN},
	    {"build v42, Age 0 s, X-Cache-Status EXPIRED", AC_SERVED_ORIGIN},
	    {"X-Cache-Status BYPASS", AC_SERVED_ORIGIN},
	    {"CF-Cache-Status DYNAMIC", AC_SERVED_ORIGIN},
	    {"X-Cache Miss from cloudfront", AC_SERVED_ORIGIN},
	    {"X-Cache-Status REVALIDATED", AC_SERVED_ORIGIN},
	    {"build v42", AC_SERVED_UNKNOWN},
	    {"build v42, Age 0 s", AC_SERVED_UNKNOWN},
	    {"build HIT", AC_SERVED_UNKNOWN}, /* a build named HIT is not a cache status */
	    {"Age abc s", AC_SERVED_UNKNOWN},
	    {"", AC_SERVED_UNKNOWN},
	    {NULL, AC_SERVED_UNKNOWN},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(ac_judge_served_from(cases[i].served_by) == cases[i].want,
			      "\"%s\": %d, wanted %d",
			      cases[i].served_by ? cases[i].served_by : "NULL",
			      ac_judge_served_from(cases[i].served_by), cases[i].want);

	/* The note an edge that fails next to a passing origin gets. */
	static const struct {
		const char *served_by, *note;
	} notes[] = {
	    {"build v42, X-Cache-Status HIT", "origin restored, edge-eu stale: build v42, "
					      "X-Cache-Status HIT"},
	    {"build v42, X-Cache-Status MISS",
	     "origin restored, edge-eu differs on a fresh fetch from the origin: a "
	     "region-specific flag or config (region eu), not a stale cache: build v42, "
	     "X-Cache-Status MISS"},
	    {"build v42",
	     "origin restored, edge-eu differs: no cache status or Age header tells a stale cache "
	     "from a region-specific flag or config: build v42"},
	    {NULL, "origin restored, edge-eu differs: no cache status or Age header tells a stale "
		   "cache from a region-specific flag or config"},
	};
	struct ac_target origin = {"origin", "http://o", "origin", ""},
			 eu = {"edge-eu", "http://e", "edge", "eu"};
	for (size_t k = 0; k < sizeof(notes) / sizeof(notes[0]); k++) {
		struct ac_check c[2] = {check(), check()};
		struct ac_check_result cr[2];
		memset(cr, 0, sizeof(cr));
		c[0].target = &origin;
		c[1].target = &eu;
		c[0].group = c[1].group = 4;
		for (int i = 0; i < 2; i++) {
			cr[i].check = &c[i];
			struct ac_sample s;
			memset(&s, 0, sizeof(s));
			s.state = i ? AC_STATE_FAIL : AC_STATE_PASS;
			if (i) {
				struct ac_step_result *st = ac_sample_add_step(&s);
				st->state = AC_STATE_FAIL;
				st->served_by =
				    notes[k].served_by ? ac_strdup(notes[k].served_by) : NULL;
			}
			ac_judge_record(&cr[i], &s);
			cr[i].state = i ? AC_STATE_FAIL : AC_STATE_PASS;
		}
		struct ac_result r = {.checks = cr, .nchecks = 2, .rounds = 1};
		ac_judge_fleet(&r);
		ck_assert_msg(cr[1].note, "no note for %s", notes[k].served_by);
		ck_assert_str_eq(cr[1].note, notes[k].note);
		for (int i = 0; i < 2; i++)
			release(&cr[i]);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("verdict");
	tcase_add_test(tc, zero_samples_is_not_a_pass);
	tcase_add_test(tc, fail_beats_error_beats_pass);
	tcase_add_test(tc, too_few_samples_and_low_coverage);
	tcase_add_test(tc, trends);
	tcase_add_test(tc, recovered_flapping_retry_and_baseline);
	tcase_add_test(tc, fleet_agreement_and_stale_edges);
	tcase_add_test(tc, min_samples_is_enforced_exactly);
	tcase_add_test(tc, coverage_at_the_threshold);
	tcase_add_test(tc, fleet_ties_fail_everyone);
	tcase_add_test(tc, final_trend_judges_the_last_confirm_rounds);
	tcase_add_test(tc, baseline_of_zero_admits_only_zero);
	tcase_add_test(tc, agreement_with_nothing_to_compare_is_an_error);
	tcase_add_test(tc, origin_is_the_reference_whatever_the_number_of_edges);
	tcase_add_test(tc, stale_only_when_served_from_a_cache);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
