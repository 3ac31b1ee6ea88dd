/*
 * result.h: samples and the result tree.
 *
 * Probes produce samples (data: a state, a value, a reason, evidence).
 * The judge (verdict.h) folds samples into check results and the overall
 * verdict. Writers (report/) read the tree through const pointers only,
 * and nothing else: what they print about a check or the run is copied
 * into the tree, so a tree built by hand (tests/test_report.c) is written
 * like one the engine filled. Every string in the tree has been masked
 * before it got here.
 */
#ifndef AC_RESULT_H
#define AC_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The state of one sample or check. Severity is not numeric order: use
 * ac_state_worse. */
enum ac_state {
	AC_STATE_PASS,
	AC_STATE_FAIL,	  /* the product misbehaved (measured) */
	AC_STATE_ERROR,	  /* allclear could not measure */
	AC_STATE_PENDING, /* no sample yet */
};

enum ac_verdict {
	AC_NOT_RESTORED, /* the starting point: fail closed */
	AC_RESTORED,
	AC_INCONCLUSIVE,
};

const char *ac_state_name(enum ac_state s);	/* "PASS", "FAIL", "ERROR", "PENDING" */
const char *ac_verdict_name(enum ac_verdict v); /* "RESTORED", "NOT RESTORED", "INCONCLUSIVE" */
int ac_verdict_exit_code(enum ac_verdict v);
/* FAIL is worse than ERROR, which is worse than PENDING, then PASS. */
enum ac_state ac_state_worse(enum ac_state a, enum ac_state b);

/* One assertion of a journey step. */
struct ac_assertion_result {
	char *what;	/* "status", "header X-Build", "json $.total_cents" */
	char *expected; /* "2xx", "== 1200" */
	char *actual;	/* "503", "1100" */
	bool ok;
};

/* One step of a journey run (or one query of a SQL check). */
struct ac_step_result {
	char *name;
	char *method;
	char *url; /* masked */
	bool cleanup;
	bool write;
	enum ac_state state;
	long status;	     /* HTTP status, 0 when none */
	int64_t duration_ms; /* of the last try */
	int tries;	     /* 1 unless the step waits/repeats */
	int64_t waited_ms;   /* from the first try to the end of the last */
	char *reason;	     /* NULL when passed */
	char *excerpt;	     /* short masked excerpt of the body, on failure */
	char *served_by;     /* e.g. "build v42, X-Cache-Status HIT, Age 540" */
	struct ac_assertion_result *asserts;
	size_t nasserts;
};

/* A named figure: queue depth, metric component, query value. A figure a
 * system cannot give has has_value false and a note saying why. */
struct ac_figure {
	char *name;
	double value;
	bool has_value;
	char *note;
};

struct ac_sample {
	int round;
	int64_t t_ms;	 /* monotonic time the sample finished */
	int64_t wall_ms; /* epoch ms, for reports */
	int64_t duration_ms;
	enum ac_state state;
	char *reason; /* why it failed or errored; NULL on pass */
	bool has_value;
	double value; /* the check's headline value, for trends */
	bool retried; /* passed only after a retry */
	struct ac_step_result *steps;
	size_t nsteps;
	struct ac_figure *figures;
	size_t nfigures;
	char *evidence; /* masked excerpt, sample rows, ... */
	/* What was observed, as text, for fleet agreement ("new_checkout=true",
	 * "build v41"); NULL when the kind has nothing to compare. */
	char *observed;
	/* The headline value's name ("depth"; a static string, never freed)
	 * and the limit a sample passes at or below (a queue's max_depth),
	 * for rates and drain times; NULL and false when none. */
	const char *value_name;
	bool has_limit;
	double limit;
	/* A journey with "samples": N folds N runs of a round into this one
	 * (src/samples.c): runs asked, how many measured (passed or failed)
	 * and how many failed. 0 runs: a single run, not folded. */
	int runs, runs_measured, runs_bad;
};

void ac_sample_release(struct ac_sample *s);
/* Deep copy (for keeping the latest and latest failing sample). */
void ac_sample_copy(struct ac_sample *dst, const struct ac_sample *src);
struct ac_step_result *ac_sample_add_step(struct ac_sample *s);
struct ac_assertion_result *ac_step_add_assert(struct ac_step_result *st);
struct ac_figure *ac_sample_add_figure(struct ac_sample *s, const char *name);
/* Set state and reason (printf-style) in one go; reason may be NULL. */
void ac_sample_set(struct ac_sample *s, enum ac_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A compact point of history: what trends and window rules read. */
struct ac_point {
	int64_t t_ms;
	int64_t wall_ms; /* epoch ms the sample finished, for the timeline */
	int round;
	double value;
	bool has_value;
	unsigned char state; /* enum ac_state */
	bool retried;	     /* passed only after a retry */
	/* Runs of a sampled round (struct ac_sample): asked, measured, failed;
	 * runs 0 for a single run. At most AC_SAMPLES_MAX. */
	unsigned short runs, measured, bad;
};

/* Bounded history: the last AC_HISTORY_MAX points are kept in a ring;
 * counters summarise the whole window. */
#define AC_HISTORY_MAX 512
struct ac_history {
	struct ac_point ring[AC_HISTORY_MAX];
	size_t start, len;
	size_t total; /* points ever added */
	size_t passes, fails, errors, retried_passes;
	/* Runs, counting each run of a sampled round (a point with runs 0 is
	 * one run): asked, failed, and could not measure. */
	size_t runs, runs_bad, runs_unmeasured;
	bool has_first_value;
	struct ac_point first_value; /* first point with a value */
};
void ac_history_add(struct ac_history *h, const struct ac_point *p);
const struct ac_point *ac_history_at(const struct ac_history *h, size_t i); /* 0 = oldest kept */

struct ac_check;

/* How a check's value moved over the window and, when it is draining
 * towards a floor or limit, when it gets there (src/rates.h). Copied into
 * the tree by the judge: fixed buffers, nothing to free. */
struct ac_rate_view {
	bool has_rate;	 /* enough values at different times */
	double per_s;	 /* value units per second; + grows, - falls */
	bool flat;	 /* the value did not move */
	char unit[24];	 /* "jobs", "rows", "" */
	size_t points;	 /* values the rate is computed over */
	double span_s;	 /* the time they cover */
	bool has_target; /* draining towards a floor or limit */
	double target;
	char target_name[24]; /* "depth", "" */
	bool has_eta;	      /* false: not draining, no estimate */
	double eta_s;	      /* to the target at the current rate */
	bool has_restore_eta;
	double restore_eta_s; /* the earliest the check can pass */
	char text[200];	      /* "about 1 min 50 s to depth 20 at 4.2 jobs/s" */
};

/* How many runs a journey made and how sure its verdict is (src/samples.c),
 * over the judged window (the last `confirm` rounds). */
struct ac_strength {
	int samples;	       /* journeys: runs per target per round; 0: not a journey */
	double detect_share;   /* the share asked to be seen (0..1), 0 when none */
	int needed;	       /* runs detect_share needs over the window */
	char *sizing;	       /* "detect_share 5%: ..." or NULL */
	bool stated;	       /* the figures below were judged */
	int runs;	       /* runs that measured, in the window */
	int bad;	       /* of those, runs that failed (took the bad path) */
	int counted;	       /* runs in rounds that ran every sample asked */
	int short_rounds;      /* rounds that ran fewer samples than asked */
	double share_seen_95;  /* 1 - 0.05^(1/counted): seen with 95% probability */
	double observed_share; /* bad / runs */
	char *text;	       /* the sentence the reports print, or NULL */
};

/* A distinct observation among the runs of the latest round ("agree"). */
struct ac_observation {
	char *value;
	int runs;
};

/* A target as the reports show it, copied from the plan. */
struct ac_target_info {
	char *name;   /* "edge-eu"; NULL when the check has no target */
	char *url;    /* base URL, masked */
	char *role;   /* "edge", "origin" or "" */
	char *region; /* free text, may be "" */
};

struct ac_check_result {
	/* The plan's check, for the engine and the judge only (trend,
	 * min_samples, group). Writers never read it: what they print is
	 * copied below, so a tree built by hand (check NULL) reports the
	 * same as one the engine filled. */
	const struct ac_check *check;
	/* Copied from the plan when the result is created, masked. */
	char *id;	   /* unique and stable: "checkout @ edge-eu" */
	char *name;	   /* as written: "checkout" */
	char *path;	   /* where it was defined: "journeys[1]" */
	char *kind;	   /* the probe kind's name: "http", "sql", ... */
	char *area;	   /* "flags", "config", "jobs", "data", "cache", "code" */
	int area_order;	   /* the area's place in recovery order: flags 0 .. code 5 */
	char *owner;	   /* NULL or "" when unassigned */
	char *description; /* NULL when none */
	char *impact;	   /* what users see while it fails; NULL when none */
	char *persona;	   /* journeys only, else NULL */
	struct ac_target_info target;
	bool critical;
	bool agree;	   /* its fleet's observations have to match */
	char *agree_group; /* NULL, or the name of a cross-check group */
	char *agent;	   /* merged trees: the agent that ran it, else NULL */

	enum ac_state state; /* judged state over the window */
	char *reason;	     /* why (judged), NULL when passed */
	char *note;	     /* e.g. "recovered at 14:03:10", "origin restored, edge-eu stale" */
	struct ac_history history;
	struct ac_sample last;	   /* most recent sample */
	struct ac_sample last_bad; /* most recent failing or erroring sample */
	bool has_last, has_last_bad;
	int64_t green_since_wall; /* wall ms of the first pass of the current green streak, 0 if not
				     green */
	int64_t recovered_at_wall; /* wall ms a check went green after failing, 0 if never */
	int flaps;		   /* pass->fail transitions */
	int consecutive_passes;
	/* The release map's part(s) this check proves (src/release.h), names
	 * joined with ", "; NULL without a map or when no part lists it. */
	char *part;
	struct ac_rate_view rate; /* has_rate false for checks without values */
	/* Sampled journeys: strength of the verdict, and the distinct
	 * observations of the latest round's runs (every run, not one). */
	struct ac_strength strength;
	struct ac_observation *observations;
	size_t nobservations;
};

/* A part of the release map (src/release.h), copied into the tree at the
 * end of a run, in the map's order (dependencies first, then flags,
 * config, jobs, data, cache, code). Writers print "Next steps" from it. */
struct ac_result_part {
	char *name;
	char *area;    /* "flags" .. "code" */
	char *changed; /* NULL when not given */
	char **undo;   /* one or more steps */
	size_t nundo;
	char *owner;
	char *backup;  /* NULL when none */
	char *restart; /* NULL when nothing has to be restarted */
	char **before; /* names of the parts done first */
	size_t nbefore;
	size_t *checks; /* indices into ac_result.checks of the checks that prove it */
	size_t nchecks;
};

/* The whole run as writers see it: everything they print is here, masked,
 * and nothing points into the plan but ac_check_result.check. */
struct ac_result {
	int schema_version;
	char *scenario_path;
	char *scenario_name;
	char *scenario_description; /* NULL when none */
	char *mode;		    /* "check", "watch" */
	enum ac_verdict verdict;
	char *verdict_reason;
	int64_t started_wall_ms, ended_wall_ms;
	int rounds;
	int slow_rounds;
	bool interrupted;
	bool stopped_early; /* fail-fast or until-restored */
	bool insecure_tls;  /* shown in every report */
	int confirm;	    /* green rounds required (capped at the rounds of a check run) */
	/* Settings of the run, as the scenario and the command line set them. */
	int64_t interval_ms; /* between round starts */
	int64_t window_ms;   /* watch mode */
	int64_t deadline_ms; /* until-restored mode */
	int min_samples;     /* per check */
	/* The earliest the verdict can turn RESTORED when every check that
	 * does not pass is a queue draining at a known rate (src/rates.h);
	 * restore_text says so, or why there is no estimate ("" when the
	 * verdict is RESTORED or nothing drains). */
	bool has_restore_eta;
	double restore_eta_s;
	char restore_text[240];
	struct ac_check_result *checks;
	size_t nchecks;
	/* The release map, when the scenario has one (nparts > 0). */
	char *release_version;	   /* NULL when not given */
	char *release_description; /* NULL when not given */
	struct ac_result_part *parts;
	size_t nparts;
	/* The scenario's "customer" texts for the incident note's drafts;
	 * NULL when not given. */
	char *customer_product, *customer_next_update, *customer_contact;
	/* Webhook notifications (src/notify.h): posts delivered and failed,
	 * and the first failure ("notification to HOST failed: ..."). */
	size_t notify_sent, notify_failed;
	char *notify_error;
	/* Where the run happened and which slice it was (src/shard.h), for
	 * `allclear merge`: a random run id, "I/N" or NULL, the agent (the
	 * host name unless --agent), the scenario file's fingerprint. A merged
	 * tree lists what it merged in merged_from ("shard 2/3, agent fra,
	 * run 3f..."), one entry per report. */
	char *run_id, *shard, *agent, *scenario_hash;
	char **merged_from;
	size_t nmerged_from;
};

#define AC_RESULT_SCHEMA_VERSION 1

/* Free what a check result owns (not the struct itself); NULL-safe. */
void ac_check_result_release(struct ac_check_result *cr);
/* Free what a release part owns (not the struct itself); NULL-safe. */
void ac_result_part_release(struct ac_result_part *p);
/* Free a tree and everything in it; NULL-safe. */
void ac_result_destroy(struct ac_result *r);

#endif
