/*
 * test_metric_window.c: error ratios judged over the confirm window (the
 * increases of the last `confirm` rounds summed; min_requests on the sum;
 * resets and failed scrapes).
 */
#include <stdlib.h>
#include <string.h>

#include "hostile.h"
#include "result.h"
#include "scenario.h"
#include "test_metric.h"
#include "testutil.h"
#include "util.h"

/* Cumulative counters per scrape: request 0 is round 1's baseline, request
 * k round k. {ok, errors}; ok < 0: HTTP 500. */
static const struct {
	const char *path;
	int c[6][2];
} windowed_scripts[] = {
    /* a spike of 40 errors in round 2 among 200 requests a round */
    {"/win-spike", {{1000, 10}, {1200, 10}, {1360, 50}, {1560, 50}, {1760, 50}, {1960, 50}}},
    /* 4 requests a round, 1 error in round 2; min_requests 10 */
    {"/win-few", {{100, 0}, {104, 0}, {107, 1}, {111, 1}, {115, 1}, {119, 1}}},
    /* 50% errors, then a restart in round 3 and none */
    {"/win-reset", {{1000, 0}, {1100, 100}, {1200, 200}, {200, 0}, {400, 0}, {600, 0}}},
    /* round 2's scrape fails: round 3's increase covers both */
    {"/win-gap", {{1000, 0}, {1200, 0}, {-1, 0}, {1560, 40}, {1760, 40}, {1960, 40}}},
};

static void windowed(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	static int served[8];
	for (size_t i = 0; i < sizeof(windowed_scripts) / sizeof(windowed_scripts[0]); i++) {
		if (strcmp(q->path, windowed_scripts[i].path) != 0)
			continue;
		int k = served[i]++;
		if (k > 5)
			k = 5;
		const int *c = windowed_scripts[i].c[k];
		if (c[0] < 0) {
			hs_reply(fd, 500, "", "down\n");
			return;
		}
		char body[128];
		snprintf(body, sizeof(body), "r_total{code=\"200\"} %d\nr_total{code=\"500\"} %d\n",
			 c[0], c[1]);
		hs_reply(fd, 200, "", body);
		return;
	}
	hs_reply(fd, 404, "", "no such script\n");
}

/* The state and value of round k of a check's history. */
static const struct ac_point *round_of(const struct ac_check_result *cr, int k)
{
	for (size_t i = 0; i < cr->history.len; i++) {
		const struct ac_point *p = ac_history_at(&cr->history, i);
		if (p->round == k)
			return p;
	}
	ck_abort_msg("%s: no round %d", cr->id, k);
	return NULL;
}

static void expect_rounds(const struct ac_check_result *cr, const char *states)
{
	for (int k = 1; states[k - 1]; k++) {
		const struct ac_point *p = round_of(cr, k);
		char want = states[k - 1];
		char got = p->state == AC_STATE_PASS ? 'P' : p->state == AC_STATE_FAIL ? 'F' : 'E';
		ck_assert_msg(got == want, "%s round %d: %c, wanted %c (rounds %s)", cr->id, k, got,
			      want, states);
	}
}

/* Error ratios are judged over the confirm window: the increases of the
 * last `confirm` rounds summed, min_requests applied to that sum, the
 * counts shown; each round's own ratio stays in the history. */
START_TEST(error_ratio_over_the_confirm_window)
{
	struct hs_server s;
	hs_start(&s, windowed, NULL);
	char *c[4] = {ratio_check(s.port, "/win-spike", "{\"<=\": 0.05}"),
		      ratio_check_x(s.port, "/win-few", "{\"<=\": 0.1}", ", \"min_requests\": 10"),
		      ratio_check(s.port, "/win-reset", "{\"<=\": 0.05}"),
		      ratio_check(s.port, "/win-gap", "{\"<=\": 0.05}")};
	char *json = tu_fmt(
	    "{\"settings\": {\"rounds\": 5, \"confirm\": 3, \"coverage\": 0.6, \"timeout\": "
	    "\"3s\"}, \"checks\": ["
	    "{\"kind\": \"metric\", \"name\": \"spike\", \"area\": \"code\", \"owner\": \"web\", "
	    "%s},"
	    "{\"kind\": \"metric\", \"name\": \"few\", \"area\": \"code\", \"owner\": \"web\", %s},"
	    "{\"kind\": \"metric\", \"name\": \"reset\", \"area\": \"code\", \"owner\": \"web\", "
	    "%s},"
	    "{\"kind\": \"metric\", \"name\": \"gap\", \"area\": \"code\", \"owner\": \"web\", "
	    "%s}]}",
	    c[0], c[1], c[2], c[3]);
	struct ac_plan *p;
	struct ac_result *r = tu_run_scenario(json, 5, &p);

	/* The spike: 40 of 200 in round 2 fails that round and the two after
	 * (40 of 600 over 3 rounds), then leaves the window. */
	const struct ac_check_result *spike = tu_check(r, "spike");
	expect_rounds(spike, "PFFFP");
	ck_assert_double_eq_tol(round_of(spike, 2)->value, 0.2, 1e-12);
	ck_assert_double_eq(round_of(spike, 3)->value, 0);
	ck_assert_msg(strstr(spike->last_bad.reason,
			     "error ratio 0.0666667, expected <= 0.05 (40 of 600 requests, 6.7%, "
			     "over the last 3 rounds)"),
		      "%s", spike->last_bad.reason);
	ck_assert_msg(strstr(spike->last.evidence, "0 of 600 requests, 0%, over the last 3 rounds "
						   "(this round: 0 of 200, 0%)"),
		      "%s", spike->last.evidence);
	ck_assert_int_eq(spike->state, AC_STATE_FAIL); /* round 4 is within the last 3 */

	/* A few requests a round: no rate from one round, one from three. */
	const struct ac_check_result *few = tu_check(r, "few");
	expect_rounds(few, "EEPPP");
	ck_assert_msg(strstr(few->last_bad.reason,
			     "no traffic: 8 requests over the last 2 rounds (at least 10 needed"),
		      "%s", few->last_bad.reason);
	ck_assert_int_eq(few->state, AC_STATE_PASS);

	/* A restart: the reset round counts from 0 (0 of 200 on its own) and
	 * the errors before it stay in the window. */
	const struct ac_check_result *reset = tu_check(r, "reset");
	expect_rounds(reset, "FFFFP");
	ck_assert_double_eq(round_of(reset, 3)->value, 0);
	ck_assert_msg(strstr(reset->last_bad.evidence, "counters reset in round 3, counted from 0"),
		      "%s", reset->last_bad.evidence);
	ck_assert_msg(strstr(reset->last_bad.reason, "(100 of 600 requests, 17%, over the last 3 "
						     "rounds)"),
		      "%s", reset->last_bad.reason);

	/* A failed scrape: the next increase covers it, nothing is lost. */
	const struct ac_check_result *gap = tu_check(r, "gap");
	expect_rounds(gap, "PEFPP");
	const struct ac_sample *bad = &gap->last_bad;
	ck_assert_int_eq(bad->round, 3);
	ck_assert_msg(strstr(bad->reason, "(40 of 600 requests, 6.7%, over the last 2 rounds)"),
		      "%s", bad->reason);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(json);
	for (int i = 0; i < 4; i++)
		free(c[i]);
	hs_stop(&s);
}
END_TEST

void metric_window_tests(TCase *tc)
{
	tcase_add_test(tc, error_ratio_over_the_confirm_window);
}
