/*
 * verdict.h: judging samples into check states and the overall verdict.
 *
 * Pure: samples in, states out; no I/O, no clock. Fail closed: the
 * verdict starts at NOT RESTORED and becomes RESTORED only when at least
 * one check ran, every check has enough valid samples, every check passed
 * in each of the last `confirm` rounds, and every trend holds.
 */
#ifndef AC_VERDICT_H
#define AC_VERDICT_H

#include "result.h"
#include "scenario.h"

struct ac_judge_opts {
	int confirm;	  /* consecutive green rounds required */
	int min_samples;  /* valid samples per check */
	double coverage;  /* share of rounds with a valid sample */
	int flake_budget; /* passes after retry tolerated */
	int rounds;	  /* rounds run so far */
	bool interrupted; /* stopped by a signal */
	bool final;	  /* the run is over (else: verdict so far) */
};

/* Record one sample of a check (takes ownership of s's contents). */
void ac_judge_record(struct ac_check_result *cr, struct ac_sample *s);

/* Judge one check from its history. */
void ac_judge_check(struct ac_check_result *cr, const struct ac_judge_opts *o);

/* Judge a trend over the last `span` points with a value (at least 2).
 * The run passes span = confirm in every round and at the end alike, so
 * the final verdict weighs the same evidence as the last round (what each
 * trend means: verdict.c). PASS when it holds; FAIL (with *why, allocated)
 * when the values show it does not; ERROR when there are too few values
 * to tell. */
enum ac_state ac_judge_trend(const struct ac_history *h, const struct ac_trend *t, int span,
			     char **why);

/* Fleet rules: checks of one group that must agree (a passing origin's
 * observation is the reference; without one, the majority), a check with
 * nothing to compare is an ERROR, and edge-vs-origin notes. Runs after
 * every check was judged. */
void ac_judge_fleet(struct ac_result *r);

/* Where an edge's response came from, read from what served it (a
 * step's served_by: "build v42, Age 540 s, X-Cache-Status HIT"). CACHE: a
 * cache status HIT, STALE or UPDATING (any layer, "MISS, HIT" included)
 * or an Age above 0; ORIGIN: fetched fresh (MISS, EXPIRED, BYPASS, PASS,
 * DYNAMIC, REVALIDATED) without an Age above 0; UNKNOWN: neither. */
enum ac_served {
	AC_SERVED_UNKNOWN,
	AC_SERVED_CACHE,
	AC_SERVED_ORIGIN,
};
enum ac_served ac_judge_served_from(const char *served_by);

/* The overall verdict from the judged checks. It reads only what the tree
 * holds (id, area, owner, state), never the plan: `allclear merge` judges
 * a tree read back from reports with it. */
void ac_judge_overall(struct ac_result *r, const struct ac_judge_opts *o);

#endif
