/*
 * test_samples.c: journeys sampled more than once per round: sizing from
 * detect_share, folding a round's runs, the strength sentence and the
 * observed share over the judged window, agreement across every run, the
 * keys' validation, and the engine running the runs concurrently under
 * the concurrency cap.
 */
#include <math.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hostile.h"
#include "report.h"
#include "probe.h"
#include "samples.h"
#include "testutil.h"
#include "verdict.h"

START_TEST(sizing_from_detect_share)
{
	ck_assert_int_eq(ac_samples_needed(0.05), 59);
	ck_assert_int_eq(ac_samples_needed(0.20), 14);
	ck_assert_int_eq(ac_samples_needed(0.01), 299);
	ck_assert_int_eq(ac_samples_needed(0.5), 5);
	ck_assert_int_eq(ac_samples_needed(0.95), 1);
	ck_assert_int_eq(ac_samples_needed(0.99), 1);
	ck_assert_int_eq(ac_samples_needed(0), 0);
	/* The smallest n with (1 - p)^n <= 0.05, for every share in 0.1% steps. */
	for (int k = 1; k < 950; k++) {
		double p = k / 1000.0;
		int n = ac_samples_needed(p);
		ck_assert_msg(pow(1 - p, n) <= 0.05 + 1e-12, "p %g: n %d misses", p, n);
		ck_assert_msg(n == 1 || pow(1 - p, n - 1) > 0.05, "p %g: n %d is not the least", p,
			      n);
	}
	bool capped = true;
	ck_assert_int_eq(ac_samples_per_round(0.05, 3, &capped), 20);
	ck_assert(!capped);
	ck_assert_int_eq(ac_samples_per_round(0.05, 1, &capped), 59);
	ck_assert_int_eq(ac_samples_per_round(0.05, 2, &capped), 30);
	ck_assert_int_eq(ac_samples_per_round(0.05, 59, &capped), 1);
	ck_assert_int_eq(ac_samples_per_round(0.05, 100, &capped), 1);
	ck_assert_int_eq(ac_samples_per_round(0.0001, 3, &capped), AC_SAMPLES_MAX);
	ck_assert(capped);
	char *s = ac_samples_sizing(0.05, 3, 20, false);
	ck_assert_str_eq(s, "detect_share 5%: 59 runs needed to see it with 95% probability; 20 "
			    "per round over 3 rounds (60 runs)");
	free(s);
	s = ac_samples_sizing(0.0001, 3, 1000, true);
	ck_assert_ptr_nonnull(strstr(s, "capped at 1000 per round: only a share above 0.1% is "
					"seen with 95% probability"));
	free(s);
}
END_TEST

START_TEST(share_seen_and_its_wording)
{
	ck_assert(fabs(ac_share_seen_95(60) - 0.0487) < 0.0001);
	ck_assert(fabs(pow(1 - ac_share_seen_95(45), 45) - 0.05) < 1e-9);
	char b[32];
	ac_share_format(b, sizeof(b), ac_share_seen_95(60));
	ck_assert_str_eq(b, "4.9%");
	ac_share_format(b, sizeof(b), ac_share_seen_95(3));
	ck_assert_str_eq(b, "63%");
	ac_share_format(b, sizeof(b), 7.0 / 45);
	ck_assert_str_eq(b, "16%");
	ac_share_format(b, sizeof(b), 0.0025);
	ck_assert_str_eq(b, "0.25%");
}
END_TEST

/* n runs with the given states; observed "o=<i % 2>" when mixed. */
static struct ac_sample *runs_of(const char *states, bool mixed_obs)
{
	size_t n = strlen(states);
	struct ac_sample *r = ac_calloc(n, sizeof(*r));
	for (size_t i = 0; i < n; i++) {
		enum ac_state st = states[i] == 'P'   ? AC_STATE_PASS
				   : states[i] == 'F' ? AC_STATE_FAIL
						      : AC_STATE_ERROR;
		ac_sample_set(&r[i], st, st == AC_STATE_PASS ? NULL : "run %zu: %s", i,
			      ac_state_name(st));
		r[i].round = 1;
		r[i].t_ms = (int64_t)i;
		r[i].observed = ac_strdup(mixed_obs && i % 4 == 3 ? "flag=true" : "flag=false");
	}
	return r;
}

START_TEST(fold_a_round)
{
	struct ac_sample out;
	struct ac_observation *obs;
	size_t nobs;
	/* Three of twenty failed: the round failed, the first failure speaks. */
	struct ac_sample *r = runs_of("PPPPFPPPPPPFPPPPPFPP", false);
	ac_samples_fold(&out, r, 20, &obs, &nobs);
	free(r);
	ck_assert_int_eq(out.state, AC_STATE_FAIL);
	ck_assert_int_eq(out.runs, 20);
	ck_assert_int_eq(out.runs_measured, 20);
	ck_assert_int_eq(out.runs_bad, 3);
	ck_assert_str_eq(out.reason, "run 4: FAIL (3 of 20 runs failed this round)");
	ck_assert_int_eq(out.t_ms, 19);
	ck_assert_uint_eq(nobs, 1);
	ck_assert_int_eq(obs[0].runs, 20);
	free(obs[0].value);
	free(obs);
	ac_sample_release(&out);

	/* One run could not measure and none failed: never a pass. */
	r = runs_of("PPPPPPPPEPPPPPPPPPPP", true);
	ac_samples_fold(&out, r, 20, &obs, &nobs);
	free(r);
	ck_assert_int_eq(out.state, AC_STATE_ERROR);
	ck_assert_int_eq(out.runs_measured, 19);
	ck_assert_int_eq(out.runs_bad, 0);
	ck_assert_str_eq(out.reason,
			 "1 of 20 runs could not measure (fewer samples than asked: the "
			 "round does not count): run 8: ERROR");
	ck_assert_uint_eq(nobs, 2);
	ck_assert_str_eq(obs[0].value, "flag=false");
	ck_assert_int_eq(obs[0].runs, 15);
	ck_assert_str_eq(obs[1].value, "flag=true");
	ck_assert_int_eq(obs[1].runs, 5);
	for (size_t i = 0; i < nobs; i++)
		free(obs[i].value);
	free(obs);
	ac_sample_release(&out);

	/* A failure outweighs a run that could not measure. */
	r = runs_of("PEPF", false);
	ac_samples_fold(&out, r, 4, NULL, NULL);
	free(r);
	ck_assert_int_eq(out.state, AC_STATE_FAIL);
	ck_assert_int_eq(out.runs_measured, 3);
	ck_assert_str_eq(out.reason, "run 3: FAIL (1 of 4 runs failed this round)");
	ac_sample_release(&out);

	/* All passed; a single run is left as it was. */
	r = runs_of("PPP", false);
	ac_samples_fold(&out, r, 3, NULL, NULL);
	free(r);
	ck_assert_int_eq(out.state, AC_STATE_PASS);
	ck_assert_ptr_null(out.reason);
	ac_sample_release(&out);
	r = runs_of("F", false);
	ac_samples_fold(&out, r, 1, NULL, NULL);
	free(r);
	ck_assert_str_eq(out.reason, "run 0: FAIL");
	ck_assert_int_eq(out.runs, 1);
	ck_assert_int_eq(out.runs_bad, 1);
	ac_sample_release(&out);
}
END_TEST

/* A journey's result after rounds of `per` runs with bad[i] failures. */
static void record_rounds(struct ac_check_result *cr, int per, const int *bad, const int *meas,
			  size_t nrounds)
{
	for (size_t i = 0; i < nrounds; i++) {
		struct ac_sample s = {0};
		s.round = (int)i + 1;
		s.t_ms = (int64_t)i * 1000;
		s.runs = per;
		s.runs_bad = bad[i];
		s.runs_measured = meas ? meas[i] : per;
		ac_sample_set(&s,
			      bad[i]		      ? AC_STATE_FAIL
			      : s.runs_measured < per ? AC_STATE_ERROR
						      : AC_STATE_PASS,
			      bad[i] ? "bad path" : NULL);
		ac_judge_record(cr, &s);
	}
}

static void judge(struct ac_check_result *cr, int confirm, int rounds)
{
	struct ac_judge_opts o = {.confirm = confirm,
				  .coverage = 0.8,
				  .flake_budget = -1,
				  .rounds = rounds,
				  .final = true};
	ac_judge_check(cr, &o);
	ac_judge_strength(cr, confirm);
}

START_TEST(strength_of_a_passing_journey)
{
	struct ac_check_result cr = {0};
	cr.target.name = ac_strdup("origin");
	cr.strength.samples = 20;
	/* A failing first round outside the window does not count. */
	const int bad[] = {4, 0, 0, 0};
	record_rounds(&cr, 20, bad, NULL, 4);
	judge(&cr, 3, 4);
	ck_assert_int_eq(cr.state, AC_STATE_PASS);
	ck_assert_str_eq(cr.strength.text, "0 of 60 runs took the bad path: a share above 4.9% "
					   "would have been seen with 95% probability");
	ck_assert_int_eq(cr.strength.counted, 60);
	ck_assert(fabs(cr.strength.share_seen_95 - 0.0487) < 0.0001);
	ac_check_result_release(&cr);

	/* One run per round: the weak strength is said as plainly. */
	memset(&cr, 0, sizeof(cr));
	cr.strength.samples = 1;
	const int none[] = {0, 0, 0};
	record_rounds(&cr, 1, none, NULL, 3);
	judge(&cr, 3, 3);
	ck_assert_str_eq(cr.strength.text, "0 of 3 runs took the bad path: a share above 63% would "
					   "have been seen with 95% probability");
	ac_check_result_release(&cr);

	/* Ran once: nothing to state. Not a journey: nothing either. */
	memset(&cr, 0, sizeof(cr));
	cr.strength.samples = 1;
	record_rounds(&cr, 1, none, NULL, 1);
	judge(&cr, 1, 1);
	ck_assert_int_eq(cr.state, AC_STATE_PASS);
	ck_assert_ptr_null(cr.strength.text);
	ac_check_result_release(&cr);
	memset(&cr, 0, sizeof(cr));
	record_rounds(&cr, 1, none, NULL, 3);
	judge(&cr, 3, 3);
	ck_assert_ptr_null(cr.strength.text);
	ck_assert(!cr.strength.stated);
	ac_check_result_release(&cr);
}
END_TEST

START_TEST(observed_share_of_a_failing_journey)
{
	struct ac_check_result cr = {0};
	cr.target.name = ac_strdup("origin");
	cr.strength.samples = 15;
	const int bad[] = {9, 2, 2, 3};
	record_rounds(&cr, 15, bad, NULL, 4);
	judge(&cr, 3, 4);
	ck_assert_int_eq(cr.state, AC_STATE_FAIL);
	ck_assert_str_eq(cr.strength.text, "7 of 45 runs, 16%, on origin");
	ck_assert_int_eq(cr.strength.bad, 7);
	ck_assert_int_eq(cr.strength.runs, 45);
	ac_check_result_release(&cr);
}
END_TEST

START_TEST(short_rounds_do_not_count)
{
	struct ac_check_result cr = {0};
	cr.target.name = ac_strdup("origin");
	cr.strength.samples = 20;
	const int bad[] = {0, 0, 0};
	const int meas[] = {20, 18, 20};
	record_rounds(&cr, 20, bad, meas, 3);
	judge(&cr, 3, 3);
	ck_assert_int_eq(cr.state, AC_STATE_ERROR);
	ck_assert_str_eq(cr.strength.text,
			 "strength not stated: 40 of 60 runs counted; 1 round ran fewer samples "
			 "than asked (errors or timeouts) and does not count toward strength");
	ac_check_result_release(&cr);

	/* Failing, with a short round: the share is of the runs that measured. */
	memset(&cr, 0, sizeof(cr));
	cr.target.name = ac_strdup("origin");
	cr.strength.samples = 20;
	const int bad2[] = {3, 0, 4};
	const int meas2[] = {20, 15, 20};
	record_rounds(&cr, 20, bad2, meas2, 3);
	judge(&cr, 3, 3);
	ck_assert_int_eq(cr.state, AC_STATE_FAIL);
	ck_assert_str_eq(cr.strength.text,
			 "7 of 55 runs, 13%, on origin; 1 round ran fewer samples than asked "
			 "(errors or timeouts) and does not count toward strength");
	ac_check_result_release(&cr);
}
END_TEST

/* Two targets of one journey with "agree": the origin's runs disagree
 * among themselves (a partial rollout): it fails, and is no reference. */
START_TEST(agree_compares_every_run)
{
	struct ac_target to = {.name = "origin", .url = "http://o", .role = "origin", .region = ""};
	struct ac_target te = {
	    .name = "edge-eu", .url = "http://e", .role = "edge", .region = "eu"};
	struct ac_check co = {.id = "flags @ origin", .target = &to, .agree = true, .group = 0};
	struct ac_check ce = {.id = "flags @ edge-eu", .target = &te, .agree = true, .group = 0};
	struct ac_result r = {0};
	struct ac_check_result crs[2] = {0};
	r.checks = crs;
	r.nchecks = 2;
	crs[0].check = &co;
	crs[1].check = &ce;
	for (int i = 0; i < 2; i++) {
		struct ac_sample *runs = runs_of("PPPPPPPP", i == 0);
		struct ac_sample s;
		ac_samples_fold(&s, runs, 8, &crs[i].observations, &crs[i].nobservations);
		free(runs);
		ac_judge_record(&crs[i], &s);
		crs[i].state = AC_STATE_PASS;
	}
	ac_judge_fleet(&r);
	ck_assert_int_eq(crs[0].state, AC_STATE_FAIL);
	ck_assert_str_eq(
	    crs[0].reason,
	    "runs on origin disagree: \"flag=false\" in 6 of 8 runs, \"flag=true\" in 2");
	/* The edge agrees with the origin's first run, but the origin is no
	 * reference and there is no one else: the edge is not failed for it. */
	ck_assert_int_eq(crs[1].state, AC_STATE_PASS);
	for (int i = 0; i < 2; i++) {
		crs[i].check = NULL;
		ac_check_result_release(&crs[i]);
	}
}
END_TEST

#define JOURNEY_HEAD                                                                               \
	"{\"targets\": {\"origin\": \"http://127.0.0.1:9\"}, \"settings\": {%s},"                  \
	" \"journeys\": [{\"name\": \"j\", \"area\": \"code\", \"owner\": \"o\", %s"               \
	" \"steps\": [{\"url\": \"/\"}]}]}"

static char *load_error(const char *settings, const char *journey)
{
	char *json = tu_fmt(JOURNEY_HEAD, settings, journey);
	char *e = tu_load_error(json);
	free(json);
	return e;
}

static struct ac_plan *load(const char *settings, const char *journey)
{
	char *json = tu_fmt(JOURNEY_HEAD, settings, journey);
	struct ac_plan *p = tu_load(json);
	free(json);
	return p;
}

START_TEST(keys_are_validated)
{
	struct ac_plan *p = load("\"confirm\": 3", "\"samples\": 20,");
	ck_assert_int_eq(p->checks[0].samples, 20);
	ac_plan_destroy(p);
	p = load("\"detect_share\": \"5%\"", "");
	ck_assert(fabs(p->settings.detect_share - 0.05) < 1e-12);
	ac_plan_destroy(p);
	p = load("\"confirm\": 2", "\"detect_share\": 2.5,");
	ck_assert(fabs(p->checks[0].detect_share - 0.025) < 1e-12);
	ac_plan_destroy(p);

	char *e = load_error("\"confirm\": 3", "\"samples\": 0,");
	ck_assert_msg(strstr(e, "journeys[0].samples"), "%s", e);
	free(e);
	e = load_error("\"confirm\": 3", "\"samples\": 1001,");
	ck_assert_msg(strstr(e, "journeys[0].samples"), "%s", e);
	free(e);
	e = load_error("\"confirm\": 3", "\"detect_share\": \"0%\",");
	ck_assert_msg(strstr(e, "journeys[0].detect_share: expected a share of runs above 0% and "
				"below 100%, such as \"5%\""),
		      "%s", e);
	free(e);
	e = load_error("\"detect_share\": \"100%\"", "");
	ck_assert_msg(strstr(e, "settings.detect_share: expected a share"), "%s", e);
	free(e);
	e = load_error("\"confirm\": 3", "\"samples\": 5, \"detect_share\": \"5%\",");
	ck_assert_msg(strstr(e, "give \"samples\" or \"detect_share\", not both"), "%s", e);
	free(e);
	e = load_error("\"confirm\": 1", "\"detect_share\": \"0.01%\",");
	ck_assert_msg(strstr(e, "detect_share 0.01% needs 29956 runs: more than 1000 per round "
				"over 1 confirm round"),
		      "%s", e);
	free(e);
	/* Not for checks that read shared state. */
	e = tu_load_error("{\"redis\": {\"r\": {\"url\": \"redis://127.0.0.1:9\"}},"
			  " \"checks\": [{\"name\": \"k\", \"kind\": \"redis\", \"area\": \"data\","
			  " \"owner\": \"o\", \"redis\": \"r\", \"command\": [\"GET\", \"x\"],"
			  " \"samples\": 3}]}");
	ck_assert_msg(strstr(e, "checks[0].samples: only journeys take samples"), "%s", e);
	free(e);
}
END_TEST

/* The engine: a per-target kind that finishes on a timer, so runs overlap. */
static int in_flight, max_in_flight, started_runs;
static int64_t fake_delay_ms = 5;
static bool fake_all_pass;
struct fake_run {
	struct ac_timer timer;
	struct ac_probe_run *run;
};

static void fake_done(void *ud)
{
	struct fake_run *f = ud;
	struct ac_probe_run *run = f->run;
	in_flight--;
	run->state = NULL;
	free(f);
	ac_probe_finish(run);
}

static void fake_start(struct ac_probe_run *run)
{
	struct fake_run *f = ac_calloc(1, sizeof(*f));
	f->run = run;
	run->state = f;
	started_runs++;
	in_flight++;
	if (in_flight > max_in_flight)
		max_in_flight = in_flight;
	/* Every fifth run takes the bad path. */
	if (started_runs % 5 == 0 && !fake_all_pass)
		ac_sample_set(&run->sample, AC_STATE_FAIL, "new flow");
	else
		ac_sample_set(&run->sample, AC_STATE_PASS, NULL);
	ac_loop_timer_start(run->loop, &f->timer, ac_loop_now(run->loop) + fake_delay_ms, fake_done,
			    f);
}

static void fake_abort(struct ac_probe_run *run)
{
	struct fake_run *f = run->state;
	if (f) {
		ac_loop_timer_stop(run->loop, &f->timer);
		in_flight--;
		free(f);
		run->state = NULL;
	}
	ac_sample_set(&run->sample, AC_STATE_ERROR, "aborted");
	ac_probe_finish(run);
}

static const struct ac_probe_kind fake_kind = {
    .name = "fake",
    .section = "journeys",
    .per_target = true,
    .start = fake_start,
    .abort = fake_abort,
};

START_TEST(engine_runs_samples_concurrently_under_the_cap)
{
	struct ac_plan *p = load("\"confirm\": 3, \"rounds\": 3, \"interval\": \"100ms\", "
				 "\"concurrency\": 4, \"detect_share\": \"5%\"",
				 "");
	p->checks[0].kind = &fake_kind;
	in_flight = max_in_flight = started_runs = 0;
	struct ac_run_opts o = {.mode = AC_MODE_CHECK};
	struct ac_error err = {0};
	struct ac_result *r = ac_engine_run(p, &o, &err);
	ck_assert_msg(r != NULL, "%s", err.msg);
	ck_assert_int_eq(started_runs, 60);
	ck_assert_int_eq(max_in_flight, 4);
	ck_assert_int_eq(in_flight, 0);
	const struct ac_check_result *cr = &r->checks[0];
	ck_assert_int_eq(cr->history.total, 3);
	ck_assert_int_eq(cr->history.runs, 60);
	ck_assert_int_eq(cr->history.runs_bad, 12);
	ck_assert_int_eq(cr->state, AC_STATE_FAIL);
	ck_assert_int_eq(cr->strength.samples, 20);
	ck_assert_str_eq(cr->strength.text, "12 of 60 runs, 20%, on origin");
	ck_assert_str_eq(cr->strength.sizing, "detect_share 5%: 59 runs needed to see it with 95% "
					      "probability; 20 per round over 3 rounds (60 runs)");
	ck_assert_str_eq(cr->reason, "new flow (4 of 20 runs failed this round)");
	ck_assert_int_eq(r->verdict, AC_NOT_RESTORED);
	ac_result_destroy(r);

	/* --rounds 1 narrows the window: the sizing follows it. */
	p->settings.rounds = 1;
	in_flight = max_in_flight = started_runs = 0;
	r = ac_engine_run(p, &o, &err);
	ck_assert_int_eq(started_runs, 59);
	ck_assert_int_eq(r->checks[0].strength.samples, 59);
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

/* A hand-built tree: one sampled journey passing, one failing. */
static struct ac_check_result *journey_of(struct ac_result *r, const char *id, const char *target,
					  enum ac_state st, const int *bad, int per)
{
	r->checks = ac_realloc(r->checks, (r->nchecks + 1) * sizeof(*r->checks));
	struct ac_check_result *cr = &r->checks[r->nchecks++];
	memset(cr, 0, sizeof(*cr));
	cr->id = ac_strdup(id);
	cr->name = ac_strdup(id);
	cr->kind = ac_strdup("http");
	cr->area = ac_strdup("flags");
	cr->owner = ac_strdup("release-eng");
	cr->persona = ac_strdup("visitor");
	cr->target.name = ac_strdup(target);
	cr->strength.samples = per;
	if (per == 20) {
		cr->strength.detect_share = 0.05;
		cr->strength.needed = 59;
		cr->strength.sizing = ac_samples_sizing(0.05, 3, 20, false);
	}
	record_rounds(cr, per, bad, NULL, 3);
	judge(cr, 3, 3);
	ck_assert_int_eq(cr->state, st);
	return cr;
}

static struct ac_check_result *journey(struct ac_result *r, const char *id, const char *target,
				       enum ac_state st, const int *bad)
{
	return journey_of(r, id, target, st, bad, 20);
}

static char *write_as(const char *format, const struct ac_result *r, bool verbose)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct ac_report_opts o = {.verbose = verbose};
	ck_assert_int_eq(ac_writer_find(format)->write(f, r, &o), 0);
	fclose(f);
	return buf;
}

START_TEST(writers_print_strength_and_observed_share)
{
	struct ac_result *r = ac_calloc(1, sizeof(*r));
	r->scenario_path = ac_strdup("scenarios/demo-rollout.json");
	r->scenario_name = ac_strdup("rollout");
	r->mode = ac_strdup("check");
	r->verdict = AC_NOT_RESTORED;
	r->verdict_reason = ac_strdup("1 of 2 checks failed");
	r->rounds = 3;
	r->confirm = 3;
	const int none[] = {0, 0, 0}, some[] = {4, 5, 3};
	journey(r, "checkout @ edge-eu", "edge-eu", AC_STATE_PASS, none);
	journey(r, "checkout @ origin", "origin", AC_STATE_FAIL, some);
	journey_of(r, "home @ origin", "origin", AC_STATE_PASS, none, 1);
	journey_of(r, "home @ edge-eu", "edge-eu", AC_STATE_PASS, none, 1);
	const char *pass = "0 of 60 runs took the bad path: a share above 4.9% would have been "
			   "seen with 95% probability";
	const char *sizing = "detect_share 5%: 59 runs needed to see it with 95% probability; 20 "
			     "per round over 3 rounds (60 runs)";

	char *t = write_as("terminal", r, false);
	ck_assert_msg(strstr(t, "      observed share: 12 of 60 runs, 20%, on origin\n"), "%s", t);
	char *l = tu_fmt("  checkout @ edge-eu: %s\n    sizing: %s\n", pass, sizing);
	ck_assert_msg(strstr(t, l), "%s", t);
	ck_assert_msg(strstr(t, "journey runs by persona: visitor 12 of 126 failed (10%)"), "%s",
		      t);
	/* Journeys with the same sentence share one line. */
	ck_assert_msg(
	    strstr(t, "  0 of 3 runs took the bad path: a share above 63% would have "
		      "been seen with 95% probability\n    2 journeys: home @ origin; home @ "
		      "edge-eu\n"),
	    "%s", t);
	free(l);
	free(t);
	t = write_as("terminal", r, true);
	l = tu_fmt("      strength: %s\n", pass);
	ck_assert_msg(strstr(t, l), "%s", t);
	free(l);
	free(t);

	char *m = write_as("markdown", r, false);
	ck_assert_msg(strstr(m, "(observed share: 12 of 60 runs, 20%, on origin)"), "%s", m);
	l = tu_fmt("- checkout @ edge-eu: %s (%s)", pass, sizing);
	ck_assert_msg(strstr(m, l), "%s", m);
	ck_assert_msg(strstr(m,
			     "- 0 of 3 runs took the bad path: a share above 63% would have been "
			     "seen with 95% probability: 2 journeys (home @ origin; home @ "
			     "edge-eu)\n"),
		      "%s", m);
	free(l);
	free(m);

	char *j = write_as("json", r, false);
	cJSON *root = cJSON_Parse(j);
	ck_assert_ptr_nonnull(root);
	cJSON *checks = cJSON_GetObjectItem(root, "checks");
	cJSON *sp = cJSON_GetObjectItem(cJSON_GetArrayItem(checks, 0), "strength");
	cJSON *sf = cJSON_GetObjectItem(cJSON_GetArrayItem(checks, 1), "strength");
	ck_assert_int_eq(cJSON_GetObjectItem(sp, "runs")->valueint, 60);
	ck_assert_int_eq(cJSON_GetObjectItem(sp, "bad")->valueint, 0);
	ck_assert(fabs(cJSON_GetObjectItem(sp, "share_seen_95")->valuedouble - 0.0487) < 1e-4);
	ck_assert_str_eq(cJSON_GetObjectItem(sp, "text")->valuestring, pass);
	ck_assert_str_eq(cJSON_GetObjectItem(sp, "sizing")->valuestring, sizing);
	ck_assert(fabs(cJSON_GetObjectItem(sp, "detect_share")->valuedouble - 0.05) < 1e-12);
	ck_assert_int_eq(cJSON_GetObjectItem(sf, "bad")->valueint, 12);
	ck_assert(fabs(cJSON_GetObjectItem(sf, "observed_share")->valuedouble - 0.2) < 1e-12);
	ck_assert_str_eq(cJSON_GetObjectItem(sf, "text")->valuestring,
			 "12 of 60 runs, 20%, on origin");
	cJSON *h =
	    cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(checks, 1), "history"), 1);
	ck_assert_int_eq(cJSON_GetObjectItem(h, "runs")->valueint, 20);
	ck_assert_int_eq(cJSON_GetObjectItem(h, "runs_measured")->valueint, 20);
	ck_assert_int_eq(cJSON_GetObjectItem(h, "runs_failed")->valueint, 5);
	/* Single runs keep the history as it was. */
	h = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(checks, 2), "history"), 1);
	ck_assert_ptr_null(cJSON_GetObjectItem(h, "runs"));
	cJSON_Delete(root);
	free(j);
	ac_result_destroy(r);
}
END_TEST

/* A visitor without a cookie gets one; with it, it is greeted back. */
static void visit(int fd, const struct hs_request *req, void *ud)
{
	(void)ud;
	if (strcasestr(req->headers, "\r\nCookie:")) {
		hs_reply(fd, 200, "", "returning");
	} else {
		char *h = tu_fmt("Set-Cookie: v=%d; Path=/\r\n", req->seq);
		hs_reply(fd, 200, h, "new");
		free(h);
	}
}

/* Every run of a sampled journey is a new visitor (its own cookie jar),
 * and its cookies carry through its own steps. */
START_TEST(every_run_is_a_new_visitor)
{
	struct hs_server srv = {0};
	hs_start(&srv, visit, NULL);
	char *json = tu_fmt(
	    "{\"targets\": {\"origin\": {\"url\": \"http://127.0.0.1:%d\", \"role\": \"origin\"}},"
	    " \"settings\": {\"confirm\": 2, \"concurrency\": 4},"
	    " \"journeys\": [{\"name\": \"visit\", \"area\": \"code\", \"owner\": \"o\","
	    " \"samples\": 10, \"steps\": ["
	    "  {\"url\": \"/visit\", \"assert\": {\"body\": {\"contains\": \"new\"}}},"
	    "  {\"url\": \"/visit\", \"assert\": {\"body\": {\"contains\": \"returning\"}}}]}]}",
	    srv.port);
	struct ac_plan *plan;
	struct ac_result *r = tu_run_scenario(json, 2, &plan);
	const struct ac_check_result *cr = tu_check(r, "visit @ origin");
	ck_assert_msg(cr->state == AC_STATE_PASS, "%s", cr->reason ? cr->reason : "");
	ck_assert_int_eq(hs_requests(&srv), 40);
	ck_assert_int_eq(cr->history.runs, 20);
	ck_assert_str_eq(cr->strength.text, "0 of 20 runs took the bad path: a share above 14% "
					    "would have been seen with 95% probability");
	ck_assert_ptr_null(cr->strength.sizing);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	free(json);
	hs_stop(&srv);
}
END_TEST

/* Rounds that could not run every sample: never a pass, never strength. */
START_TEST(rounds_short_of_samples_are_not_measured)
{
	struct ac_plan *p = load("\"confirm\": 2, \"rounds\": 2, \"interval\": \"100ms\", "
				 "\"concurrency\": 1, \"round_timeout\": \"100ms\"",
				 "\"samples\": 10,");
	p->checks[0].kind = &fake_kind;
	in_flight = max_in_flight = started_runs = 0;
	fake_delay_ms = 30;
	fake_all_pass = true;
	struct ac_run_opts o = {.mode = AC_MODE_CHECK};
	struct ac_error err = {0};
	struct ac_result *r = ac_engine_run(p, &o, &err);
	fake_delay_ms = 5;
	fake_all_pass = false;
	ck_assert_msg(r != NULL, "%s", err.msg);
	const struct ac_check_result *cr = &r->checks[0];
	ck_assert_int_eq(in_flight, 0);
	ck_assert_int_eq(cr->state, AC_STATE_ERROR);
	ck_assert_int_eq(r->verdict, AC_INCONCLUSIVE);
	ck_assert_ptr_nonnull(cr->reason);
	ck_assert_msg(strstr(cr->reason, " of 10 runs could not measure (fewer samples than asked: "
					 "the round does not count): "),
		      "%s", cr->reason);
	ck_assert_msg(strstr(cr->strength.text, "strength not stated: 0 of 20 runs counted; 2 "
						"rounds ran fewer samples than asked (errors or "
						"timeouts) and do not count toward strength"),
		      "%s", cr->strength.text);
	ck_assert_int_eq(cr->strength.short_rounds, 2);
	ck_assert_int_lt(cr->strength.runs, 20);
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("samples");
	TCase *tc = tcase_create("samples");
	tcase_add_test(tc, sizing_from_detect_share);
	tcase_add_test(tc, share_seen_and_its_wording);
	tcase_add_test(tc, fold_a_round);
	tcase_add_test(tc, strength_of_a_passing_journey);
	tcase_add_test(tc, observed_share_of_a_failing_journey);
	tcase_add_test(tc, short_rounds_do_not_count);
	tcase_add_test(tc, agree_compares_every_run);
	tcase_add_test(tc, keys_are_validated);
	tcase_add_test(tc, engine_runs_samples_concurrently_under_the_cap);
	tcase_add_test(tc, writers_print_strength_and_observed_share);
	tcase_add_test(tc, every_run_is_a_new_visitor);
	tcase_add_test(tc, rounds_short_of_samples_are_not_measured);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
