/*
 * scenario.h: the plan a scenario file turns into.
 *
 * Loading turns text into a plan or a list of errors (file:line:column for
 * syntax, key paths for fields). Nothing after loading reads the scenario's
 * cJSON: probe kinds get their own typed configuration from configure().
 */
#ifndef AC_SCENARIO_H
#define AC_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct ac_mask;
struct ac_release;
struct ac_section_table;
struct ac_probe_kind;

/* Release areas in the seed's recovery order: flags and config first, then
 * jobs, data, cache, code. Reports group by area in this order. */
enum ac_area {
	AC_AREA_FLAGS,
	AC_AREA_CONFIG,
	AC_AREA_JOBS,
	AC_AREA_DATA,
	AC_AREA_CACHE,
	AC_AREA_CODE,
	AC_AREA_COUNT
};
const char *ac_area_name(enum ac_area a);
int ac_area_parse(const char *s, enum ac_area *out);

struct ac_target {
	char *name;   /* "edge-eu" */
	char *url;    /* base URL, no trailing slash */
	char *role;   /* "edge", "origin" or "" */
	char *region; /* free text, may be "" */
};

/* Expectations over the window on a check's headline value. */
enum ac_trend_kind {
	AC_TREND_NONE,
	AC_TREND_NOT_INCREASING, /* the damage has stopped spreading */
	AC_TREND_INCREASING,	 /* writes are flowing */
	AC_TREND_DRAINING,	 /* does not grow and reaches a floor */
};
struct ac_trend {
	enum ac_trend_kind kind;
	bool has_max_per_min;
	double max_per_min; /* maximum growth per minute */
	double floor;	    /* draining: the level that counts as drained */
	bool has_baseline_pct;
	double baseline_pct; /* within N% of the saved baseline */
};

struct ac_check {
	char *id;   /* unique and stable: "checkout @ edge-eu" */
	char *name; /* as written: "checkout" */
	char *path; /* where it was defined: "journeys[1]" */
	const struct ac_probe_kind *kind;
	void *config; /* the kind's configuration; shared by a journey's targets */
	const struct ac_target *target; /* NULL for checks without targets */
	char *persona;			/* journeys only, else NULL */
	enum ac_area area;
	char *owner;
	char *description;
	char *impact; /* what users see while it fails; NULL when not given */
	bool critical;
	int64_t timeout_ms;
	struct ac_trend trend;
	/* Fleet agreement: checks expanded from one definition share a group,
	 * and "agree": true makes their observations have to match. "agree":
	 * "NAME" puts checks of any kind (a flag read over HTTP, from Redis,
	 * from SQL) into one named group that must agree. */
	size_t group;
	bool agree;
	char *agree_group; /* NULL, or the name of a cross-check group */
	double baseline;   /* from a saved baseline, when has_baseline */
	bool has_baseline;
	int min_samples; /* the kind needs at least this many samples */
	/* Journeys: independent runs per target per round (0: one, or as
	 * detect_share sizes them; src/samples.h), and the share of runs on a
	 * bad path to be seen with 95% probability (0..1, 0: none). */
	int samples;
	double detect_share;
};

/* The shortest interval between round starts: rounds back to back would
 * be thousands of requests a second against production. */
#define AC_INTERVAL_MIN_MS 100

struct ac_settings {
	int rounds;	     /* quick-look rounds (check mode) */
	int64_t interval_ms; /* between round starts */
	int64_t window_ms;   /* watch mode */
	int64_t deadline_ms; /* until-restored mode */
	int confirm;	     /* consecutive green rounds required */
	int min_samples;     /* per check */
	double coverage;     /* share of rounds with a valid sample, 0..1 */
	int flake_budget;    /* passes-after-retry tolerated per check */
	int concurrency;     /* checks in flight at once */
	int64_t connect_timeout_ms;
	int64_t timeout_ms;	  /* default per check/step */
	int64_t round_timeout_ms; /* a round never lasts longer */
	int64_t run_timeout_ms;	  /* the whole run */
	uint64_t max_body;	  /* bytes kept of a response */
	int max_redirects;
	bool allow_writes;
	char *ca_file;
	bool insecure;	     /* TLS verification off: shown in every report */
	double detect_share; /* journeys without their own: 0..1, 0 for none */
};

struct ac_var {
	char *name;
	char *value;
	bool secret;
};

struct ac_plan {
	char *path;
	char *name;
	char *description;
	struct ac_settings settings;
	struct ac_target *targets;
	size_t ntargets;
	struct ac_check *checks;
	size_t nchecks;
	struct ac_var *vars;
	size_t nvars;
	struct ac_mask *mask;
	/* the named-server sections, parsed once (probes/sections.h) */
	struct ac_section_table **sections;
	size_t nsections;
	/* A section entry turned TLS verification off (a rediss:// server with
	 * "insecure"): reported like settings.insecure. */
	bool tls_unverified;
	/* configurations to release, one per definition */
	struct ac_plan_config {
		const struct ac_probe_kind *kind;
		void *config;
	} * configs;
	size_t nconfigs;
	/* The release map (src/release.h), NULL when the scenario has none. */
	struct ac_release *release;
	/* "customer": texts for the drafts of the incident note. */
	struct ac_customer_cfg {
		char *product;	   /* "Corner Shop" */
		char *next_update; /* "within 30 minutes" */
		char *contact;	   /* "support@example.com" */
	} customer;
	/* "notify": webhooks to post to (src/notify.h); --notify adds more. */
	struct ac_notify_cfg {
		struct ac_strings urls;
		int on; /* 0 change, 1 end, 2 both (the default) */
		struct ac_kvs headers;
	} notify;
	/* Loaded by ac_plan_load_lint: missing secrets hold placeholders, so
	 * the engine refuses to run it. */
	bool lint_only;
};

/*
 * Load and validate a scenario file. On failure returns NULL and err holds
 * every problem found, one per line. Nothing is probed by loading: ${env:}
 * and ${file:} are read, nothing else is touched.
 */
struct ac_plan *ac_plan_load(const char *path, struct ac_error *err);
/* The same, with variables from the command line (--var name=value) that
 * take the place of the scenario's variables of the same name. They are not
 * secret: secrets come from ${env:} and ${file:} only. */
struct ac_plan *ac_plan_load_with(const char *path, const struct ac_var *overrides, size_t n,
				  struct ac_error *err);
/* The same; on failure *problems (when not NULL) is every problem found,
 * one per line, none cut (err keeps to its 1 KiB: whole problems, then
 * "... and K more problems"). The caller frees *problems. A file over
 * 4 MiB is refused unread. */
struct ac_plan *ac_plan_load_all(const char *path, const struct ac_var *overrides, size_t n,
				 struct ac_error *err, char **problems);
/* For allclear lint: as ac_plan_load_all, but an unset ${env:NAME} or an
 * unreadable ${file:PATH} is not an error: it is added to secrets
 * ("env:NAME", "file:PATH"; names only, never values) and a placeholder
 * stands in for it. The plan is lint_only: ac_engine_run refuses it. */
struct ac_names;
struct ac_plan *ac_plan_load_lint(const char *path, const struct ac_var *overrides, size_t n,
				  struct ac_names *secrets, char **problems);
struct ac_plan *ac_plan_load_text(const char *text, size_t len, const char *name,
				  struct ac_error *err);
void ac_plan_destroy(struct ac_plan *plan);

/* The loader's own field tables ("top", "check"), for `allclear schema`. */
struct ac_field;
const struct ac_field *ac_scenario_fields(const char *which, size_t *n);

const struct ac_target *ac_plan_target(const struct ac_plan *plan, const char *name);
const struct ac_var *ac_plan_var(const struct ac_plan *plan, const char *name);

#endif
