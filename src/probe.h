/*
 * probe.h: the interface every probe kind implements.
 *
 * A probe kind is a const table of functions in one file under probes/
 * (curl's Curl_protocol, wlroots' backend impl). The engine calls them in
 * this order:
 *
 *   configure      once per definition in the scenario, at load time
 *   start          once per check per round; the kind fills run->sample
 *                  and calls ac_probe_finish(run) exactly once, from a
 *                  loop callback or before start returns
 *   abort          when the check's deadline passes before it finished,
 *                  or the run is stopped (then run->interrupted says why);
 *                  must call ac_probe_finish synchronously (optional: if
 *                  absent the engine records a timeout itself)
 *   memory_destroy per check at the end of the run (optional)
 *   config_destroy when the plan is destroyed
 *
 * Things shared between checks for the whole run (libcurl's multi handle,
 * a pool of PostgreSQL connections per database, one Redis connection per
 * server) live in run->services: a module creates its slot on first use and
 * registers how to destroy it; the engine destroys every slot at the end.
 *
 * A probe never prints and never decides the overall verdict. It never
 * writes to what it probes: read-only is enforced inside each kind.
 */
#ifndef AC_PROBE_H
#define AC_PROBE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "loop.h"
#include "mask.h"
#include "result.h"
#include "scenario.h"

enum ac_service_slot {
	AC_SERVICE_HTTP,  /* probes/http.c: the curl multi handle */
	AC_SERVICE_PG,	  /* src/pg.c: PostgreSQL connection pools by DSN */
	AC_SERVICE_REDIS, /* src/redis.c: Redis connections by server */
	AC_SERVICE_METRIC,
	AC_SERVICE_COUNT
};

struct ac_services {
	struct ac_loop *loop;
	const struct ac_plan *plan;
	struct ac_mask *mask;
	void *slot[AC_SERVICE_COUNT];
	void (*destroy[AC_SERVICE_COUNT])(void *slot);
};

/* Destroy every slot (in reverse order) and clear them. */
void ac_services_release(struct ac_services *sv);

struct ac_probe_run {
	const struct ac_check *check;
	const struct ac_plan *plan;
	struct ac_loop *loop;
	struct ac_mask *mask; /* add secrets learnt while probing (cookies) */
	struct ac_services *services;
	void **memory; /* per-check state kept across rounds (owned by the kind) */
	int round;
	int64_t started_ms;
	int64_t deadline_ms; /* the kind should finish before this */
	/* deadline_ms is allclear's own budget (what is left of the round or
	 * the run), not the check's timeout: running into it measured nothing
	 * about the product (ERROR, never FAIL). */
	bool deadline_is_budget;
	struct ac_sample sample;
	void *state; /* the kind's per-run state */
	/* Set by the engine just before abort when the run is stopped from
	 * outside before its deadline (a signal, --fail-fast): what the kind
	 * was doing was cut short, not measured ("interrupted (SIGTERM)").
	 * NULL when abort comes from the deadline. */
	const char *interrupted;
	/* engine side */
	void (*on_finish)(struct ac_probe_run *run);
	void *engine_ud;
	bool finished;
};

struct ac_probe_kind {
	const char *name;
	const char *summary;
	/* What the headline value counts, plural ("jobs", "rows"), for rates
	 * ("draining at 4.2 jobs/s"); NULL when it counts nothing in
	 * particular. */
	const char *unit;
	/* "journeys" for http, "checks" for kinds selected by "kind" */
	const char *section;
	/* expand into one check per target (journeys) */
	bool per_target;
	/* The kind's own keys (for unknown-key detection and docs). */
	const struct ac_field *fields;
	size_t nfields;

	/* Parse one definition. Report problems with ac_cfg_error and return
	 * NULL, or return the kind's configuration. */
	void *(*configure)(struct ac_cfg *cx, const cJSON *obj, const char *path);
	void (*config_destroy)(void *config);

	void (*start)(struct ac_probe_run *run);
	void (*abort)(struct ac_probe_run *run);

	void (*memory_destroy)(void *memory);
};

/* The table of kinds (probes/probes.c). */
extern const struct ac_probe_kind *const ac_probe_kinds[];
extern const size_t ac_probe_nkinds;
const struct ac_probe_kind *ac_probe_kind_find(const char *name);

/* Called by a kind when run->sample is complete. Idempotent. */
void ac_probe_finish(struct ac_probe_run *run);

#endif
