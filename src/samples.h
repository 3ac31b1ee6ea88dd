/*
 * samples.h: journeys run more than once per round, and how sure their
 * verdict is.
 *
 * A journey with "samples": N runs N times per target per round, each run
 * a new visitor (its own cookie jar); "detect_share": "5%" sizes N so that
 * a bad path taken by at least that share of runs is seen with 95%
 * probability over the confirm window:
 *
 *   needed >= ln(0.05) / ln(1 - p),  per round = ceil(needed / confirm)
 *
 * The runs of a round fold into one sample (the worst run speaks for the
 * round: any failed run fails it; a run that could not measure makes the
 * round an ERROR, never a pass). Over the judged window the report states
 * the strength of a passing journey ("0 of 60 runs took the bad path: a
 * share above 4.9% would have been seen with 95% probability") and the
 * observed share of a failing one ("7 of 45 runs, 16%, on origin").
 * Rounds that ran fewer samples than asked do not count toward strength.
 *
 * Pure: no I/O, no clock.
 */
#ifndef AC_SAMPLES_H
#define AC_SAMPLES_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"
#include "result.h"

/* The most runs of one journey per target per round: 1000 runs of a page
 * every round is already a load test against production. */
#define AC_SAMPLES_MAX 1000

/* Runs needed so that a path taken by a share p (0 < p < 1) of runs is
 * seen at least once with 95% probability: ceil(ln 0.05 / ln(1 - p)).
 * 1 for p >= 0.95; 0 for p <= 0. */
int ac_samples_needed(double p);

/* Runs per round to reach ac_samples_needed(p) over `confirm` rounds,
 * capped at AC_SAMPLES_MAX (*capped says whether the cap applied). */
int ac_samples_per_round(double p, int confirm, bool *capped);

/* The share s a clean run of n runs rules out with 95% probability:
 * (1 - s)^n = 0.05, so s = 1 - 0.05^(1/n). 1 for n <= 0. */
double ac_share_seen_95(int n);

/* "4.9%", "16%", "0.25%": a share for people (whole percent from 10%, one
 * decimal from 1%, two significant digits below). */
void ac_share_format(char *buf, size_t len, double share);

/* The sizing line for the report: "detect_share 5%: 59 runs needed for
 * 95% probability; 20 per round over 3 rounds (60 runs)". */
char *ac_samples_sizing(double p, int confirm, int per_round, bool capped);

/* Fold the n runs of one check's round into out: the worst run is the
 * round's (first failed, else first that could not measure, else the
 * first), with the counts of runs asked, measured and failed, and the
 * reason saying how many. Takes the contents of runs[0..n-1] (released).
 * When obs is not NULL it receives the distinct observations of the runs
 * with their counts (the caller releases them). */
void ac_samples_fold(struct ac_sample *out, struct ac_sample *runs, size_t n,
		     struct ac_observation **obs, size_t *nobs);

/* Count the runs of the last `confirm` rounds into cr->strength and word
 * the sentence for the check's judged state. Only for checks with
 * strength.samples >= 1 (journeys). Call after the check, and the fleet,
 * were judged. */
void ac_judge_strength(struct ac_check_result *cr, int confirm);

/* A field reader for "detect_share": "5%" or 5 (percent), 0 < p < 100;
 * stores the share (0.05) in the double at dst. */
void ac_samples_read_share(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v,
			   const char *path, void *dst);

#endif
