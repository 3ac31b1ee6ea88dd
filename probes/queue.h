/*
 * queue.h: the "queue" probe kind and its backends.
 *
 * A queue check reads the figures of one queue of a real job system and
 * judges them against expectations. The kind (probes/queue.c) owns the
 * common keys, the expectations and the verdict on figures; a backend
 * (probes/queue_redis.c, probes/queue_pg.c) knows the storage layouts of
 * the job systems on its server and gathers figures with read-only
 * commands. A figure a system cannot give is reported as unavailable with
 * the reason, never as zero.
 *
 *   {"kind": "queue", "name": "payment jobs", "preset": "sidekiq",
 *    "queue": "payments", "redis": "main",
 *    "expect": {"max_depth": 100, "max_oldest_age": "5m", "max_retrying": 0,
 *               "no_growth": ["retrying", "dead"]},
 *    "value": "depth", "trend": "draining"}
 */
#ifndef AC_QUEUE_H
#define AC_QUEUE_H

#include <stdbool.h>

#include "probe.h"

enum ac_qfig {
	AC_QF_DEPTH,	  /* ready to run */
	AC_QF_IN_FLIGHT,  /* being worked on */
	AC_QF_RETRYING,	  /* failed, will be tried again */
	AC_QF_DEAD,	  /* failed for good */
	AC_QF_SCHEDULED,  /* due later */
	AC_QF_OLDEST_AGE, /* seconds the oldest ready job has waited */
	AC_QF_WORKERS,	  /* live workers, where the system records them */
	AC_QF_COUNT
};

/* "depth", "in_flight", "retrying", "dead", "scheduled", "oldest_age_s",
 * "workers" */
extern const char *const ac_qfig_names[AC_QF_COUNT + 1]; /* NULL-terminated */
int ac_qfig_parse(const char *name, enum ac_qfig *out);

struct ac_queue_figures {
	double v[AC_QF_COUNT];
	bool has[AC_QF_COUNT];
	/* Why a figure is missing: static text such as "Celery keeps no
	 * send time in its messages". NULL while nothing was said. */
	const char *why[AC_QF_COUNT];
	/* An allocated reason that wins over why[] (the server's own error
	 * text); freed by ac_queue_gathered. */
	char *why_owned[AC_QF_COUNT];
	/* The layout version detected, e.g. "sidekiq < 8 (float seconds)";
	 * static or allocated with ac_strdup (then set layout_owned). */
	const char *layout;
	bool layout_owned;
};

struct ac_queue_backend {
	const char *name;	    /* "redis", "postgres" */
	const char *const *presets; /* NULL-terminated */
	/* The backend's own keys ("redis", "prefix", "database", "schema"). */
	const struct ac_field *fields;
	size_t nfields;
	/* Parse the backend part of a queue check for preset and queue name. */
	void *(*configure)(struct ac_cfg *cx, const cJSON *obj, const char *path,
			   const char *preset, const char *queue);
	void (*config_destroy)(void *bconfig);
	/* Gather figures with read-only commands on run->loop; finish with
	 * ac_queue_gathered(run, &figures) or ac_queue_failed(run, ...). */
	void (*start)(struct ac_probe_run *run, const void *bconfig);
	/* The deadline passed: stop, and finish with ac_queue_failed. */
	void (*abort)(struct ac_probe_run *run, const void *bconfig);
};

extern const struct ac_queue_backend ac_queue_backend_redis;
extern const struct ac_queue_backend ac_queue_backend_pg;

/* Backend -> kind: the figures are in; judge them and finish the run.
 * Frees an owned layout string and the owned reasons. */
void ac_queue_gathered(struct ac_probe_run *run, struct ac_queue_figures *f);
/* Backend -> kind: could not measure (ERROR) with a reason; finishes. */
void ac_queue_failed(struct ac_probe_run *run, const char *fmt, ...) AC_PRINTF(2, 3);

#endif
