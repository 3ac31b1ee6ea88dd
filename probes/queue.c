/*
 * queue.c: the "queue" probe kind: figures of one queue of a real job
 * system, judged against expectations. Backends gather the figures.
 */
#include "queue.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "json.h"

const char *const ac_qfig_names[AC_QF_COUNT + 1] = {
    "depth", "in_flight", "retrying", "dead", "scheduled", "oldest_age_s", "workers", NULL,
};

int ac_qfig_parse(const char *name, enum ac_qfig *out)
{
	for (int i = 0; i < AC_QF_COUNT; i++) {
		if (strcmp(name, ac_qfig_names[i]) == 0) {
			*out = (enum ac_qfig)i;
			return 0;
		}
	}
	return -1;
}

static const struct ac_queue_backend *const backends[] = {
    &ac_queue_backend_redis,
    &ac_queue_backend_pg,
};

struct queue_config {
	const struct ac_queue_backend *backend;
	void *bconfig;
	char *preset;
	char *queue;
	int headline; /* enum ac_qfig */
	/* "expect": a limit is NaN when not given */
	double max[AC_QF_COUNT];
	int64_t max_oldest_age_ms; /* -1: not given */
	double min_workers;	   /* NaN: not given */
	struct ac_strings growth;  /* figures that may not grow */
	bool no_growth[AC_QF_COUNT];
};

/* Figures of the previous round, for "no_growth". */
struct queue_memory {
	bool has[AC_QF_COUNT];
	double v[AC_QF_COUNT];
};

static void queue_config_destroy(void *p);

/* "preset": the job system, which chooses the backend. */
static void read_preset(struct ac_cfg *cx, const struct ac_field *f, const cJSON *p, const char *pp,
			void *dst)
{
	struct queue_config *qc = dst;
	if (!cJSON_IsString(p)) {
		ac_cfg_error(cx, pp, "expected a preset name");
		return;
	}
	qc->preset = ac_strdup(p->valuestring);
	const char *names[64];
	size_t nn = 0;
	for (size_t b = 0; b < AC_ARRAY_LEN(backends); b++) {
		for (const char *const *n = backends[b]->presets; *n; n++) {
			if (nn < AC_ARRAY_LEN(names))
				names[nn++] = *n;
			if (strcmp(*n, qc->preset) == 0)
				qc->backend = backends[b];
		}
	}
	if (qc->backend)
		return;
	ac_cfg_unknown(cx, pp, "preset", qc->preset, names, nn,
		       " (for other systems use a \"redis\" or \"sql\" check)");
}

#define QC(member) offsetof(struct queue_config, member)
#define MAX_FIELD(key, fig)                                                                        \
	{                                                                                          \
		key, AC_FT_NUMBER, false, QC(max[fig]), NULL, .range = AC_RANGE_MIN, .min = 0      \
	}
static const struct ac_field expect_fields[] = {
    MAX_FIELD("max_depth", AC_QF_DEPTH),
    MAX_FIELD("max_in_flight", AC_QF_IN_FLIGHT),
    MAX_FIELD("max_retrying", AC_QF_RETRYING),
    MAX_FIELD("max_dead", AC_QF_DEAD),
    MAX_FIELD("max_scheduled", AC_QF_SCHEDULED),
    MAX_FIELD("max_workers", AC_QF_WORKERS),
    {"max_oldest_age", AC_FT_DURATION, false, QC(max_oldest_age_ms), NULL},
    {"min_workers", AC_FT_NUMBER, false, QC(min_workers), NULL, .range = AC_RANGE_MIN, .min = 0},
    {"no_growth", AC_FT_STRINGS, false, QC(growth), "figures that may not grow between rounds",
     .choices = ac_qfig_names},
};

/* The limits are members of the configuration itself (offset 0). */
static const struct ac_field queue_fields[] = {
    {"preset", AC_FT_CUSTOM, true, 0, "job system: sidekiq, bullmq, oban, ...", AC_SHAPE_STRING,
     .read = read_preset},
    {"queue", AC_FT_TEXT, false, QC(queue), "queue name", .def = "\"default\""},
    {"expect", AC_FT_OBJECT, false, 0, "limits on the figures", .sub = expect_fields,
     .nsub = AC_ARRAY_LEN(expect_fields)},
    {"value", AC_FT_ENUM, false, QC(headline), "figure that trends judge", .choices = ac_qfig_names,
     .def = "\"depth\""},
    /* backend keys */
    {"redis", AC_FT_CUSTOM, false, AC_FIELD_NONE, "Redis server name (Redis presets)",
     AC_SHAPE_STRING},
    {"prefix", AC_FT_CUSTOM, false, AC_FIELD_NONE, "key prefix or namespace (Redis presets)",
     AC_SHAPE_STRING},
    {"database", AC_FT_CUSTOM, false, AC_FIELD_NONE, "database name (PostgreSQL presets)",
     AC_SHAPE_STRING},
    {"schema", AC_FT_CUSTOM, false, AC_FIELD_NONE, "schema (PostgreSQL presets)", AC_SHAPE_STRING},
};

static void queue_config_destroy(void *p)
{
	struct queue_config *qc = p;
	if (!qc)
		return;
	if (qc->backend && qc->backend->config_destroy)
		qc->backend->config_destroy(qc->bconfig);
	free(qc->preset);
	free(qc->queue);
	ac_strings_release(&qc->growth);
	free(qc);
}

static void *queue_configure(struct ac_cfg *cx, const cJSON *obj, const char *path)
{
	struct queue_config *qc = ac_calloc(1, sizeof(*qc));
	size_t before = cx->nerrors;
	for (int i = 0; i < AC_QF_COUNT; i++)
		qc->max[i] = NAN;
	qc->max_oldest_age_ms = -1;
	qc->min_workers = NAN;
	ac_cfg_read(cx, obj, path, queue_fields, AC_ARRAY_LEN(queue_fields), qc);
	if (qc->max_oldest_age_ms >= 0)
		qc->max[AC_QF_OLDEST_AGE] = (double)qc->max_oldest_age_ms / 1000.0;
	for (size_t i = 0; i < qc->growth.n; i++) {
		enum ac_qfig f;
		if (ac_qfig_parse(qc->growth.v[i], &f) == 0)
			qc->no_growth[f] = true;
	}
	/* Growth is judged between rounds: one sample proves nothing. */
	if (ac_json_get(ac_json_get(obj, "expect"), "no_growth"))
		cx->min_samples = 2;
	if (qc->backend) {
		/* Keys of the other backend do not apply here. */
		for (size_t b = 0; b < AC_ARRAY_LEN(backends); b++) {
			if (backends[b] == qc->backend)
				continue;
			for (size_t i = 0; i < backends[b]->nfields; i++) {
				const char *k = backends[b]->fields[i].key;
				bool mine = false;
				for (size_t j = 0; j < qc->backend->nfields; j++)
					mine = mine || strcmp(qc->backend->fields[j].key, k) == 0;
				if (!mine && ac_json_get(obj, k)) {
					char *kp = ac_cfg_path(path, k);
					ac_cfg_error(cx, kp, "does not apply to preset \"%s\"",
						     qc->preset);
					free(kp);
				}
			}
		}
		qc->bconfig = qc->backend->configure(cx, obj, path, qc->preset, qc->queue);
	}
	if (cx->nerrors != before) {
		queue_config_destroy(qc);
		return NULL;
	}
	return qc;
}

static void queue_start(struct ac_probe_run *run)
{
	const struct queue_config *qc = run->check->config;
	qc->backend->start(run, qc->bconfig);
}

static void queue_abort(struct ac_probe_run *run)
{
	const struct queue_config *qc = run->check->config;
	if (qc->backend->abort)
		qc->backend->abort(run, qc->bconfig);
	if (run->finished)
		return;
	if (run->interrupted)
		ac_queue_failed(run, "%s: %s", qc->preset, run->interrupted);
	else
		ac_queue_failed(run, "%s: timed out after %lld ms", qc->preset,
				(long long)(run->deadline_ms - run->started_ms));
}

static char *fmt_num(double v)
{
	return ac_asprintf("%.15g", v);
}

/* How far in the future the oldest job's time may be before the clocks
 * are taken to disagree, and the most a job can have waited before its
 * time is taken to be garbage. */
#define AGE_SKEW_S 300.0
#define AGE_ABSURD_S (100.0 * 365 * 86400)

/* An oldest_age computed as now - enqueued: slightly negative (clock skew
 * within AGE_SKEW_S) reads as 0; further in the future, or absurd, the age
 * says nothing about how long the job has waited and is unavailable. */
static void check_age(struct ac_queue_figures *f)
{
	const int i = AC_QF_OLDEST_AGE;
	if (!f->has[i])
		return;
	double age = f->v[i];
	char *why = NULL;
	if (!isfinite(age) || fabs(age) > AGE_ABSURD_S) {
		why = ac_strdup("oldest job's enqueued_at is not a usable time");
	} else if (age < -AGE_SKEW_S) {
		double ahead = -age;
		if (ahead < 7200)
			why = ac_asprintf(
			    "oldest job's enqueued_at is %.0f min in the future: clocks "
			    "disagree?",
			    ahead / 60);
		else if (ahead < 2 * 86400)
			why =
			    ac_asprintf("oldest job's enqueued_at is %.0f h in the future: clocks "
					"disagree?",
					ahead / 3600);
		else
			why = ac_asprintf("oldest job's enqueued_at is %.0f days in the future: "
					  "clocks disagree?",
					  ahead / 86400);
	} else if (age < 0) {
		f->v[i] = 0;
	}
	if (why) {
		f->has[i] = false;
		free(f->why_owned[i]);
		f->why_owned[i] = why;
	}
}

void ac_queue_gathered(struct ac_probe_run *run, struct ac_queue_figures *f)
{
	const struct queue_config *qc = run->check->config;
	struct ac_sample *s = &run->sample;
	struct queue_memory *mem = *run->memory;
	if (!mem) {
		mem = ac_calloc(1, sizeof(*mem));
		*run->memory = mem;
	}
	struct ac_buf why = AC_BUF_INIT;
	enum ac_state st = AC_STATE_PASS;
	check_age(f);
	for (int i = 0; i < AC_QF_COUNT; i++) {
		struct ac_figure *fig = ac_sample_add_figure(s, ac_qfig_names[i]);
		if (f->has[i] && isfinite(f->v[i])) {
			fig->has_value = true;
			fig->value = f->v[i];
		} else {
			fig->note = ac_strdup(f->why_owned[i] ? f->why_owned[i]
					      : f->why[i]     ? f->why[i]
							      : "not reported by this system");
		}
		bool judged = !isnan(qc->max[i]) || qc->no_growth[i] ||
			      (i == AC_QF_WORKERS && !isnan(qc->min_workers)) ||
			      i == (int)qc->headline;
		if (judged && !fig->has_value) {
			/* An expectation on a figure the system cannot give is not a pass. */
			st = ac_state_worse(st, AC_STATE_ERROR);
			ac_buf_addf(&why, "%s%s unavailable: %s", why.len ? "; " : "",
				    ac_qfig_names[i], fig->note);
			continue;
		}
		if (!fig->has_value)
			continue;
		if (!isnan(qc->max[i]) &&
		    !ac_expect_num_holds(AC_EXPECT_LE, f->v[i], qc->max[i], NAN)) {
			st = ac_state_worse(st, AC_STATE_FAIL);
			char *a = fmt_num(f->v[i]), *b = fmt_num(qc->max[i]);
			ac_buf_addf(&why, "%s%s %s, at most %s", why.len ? "; " : "",
				    ac_qfig_names[i], a, b);
			free(a);
			free(b);
		}
		if (i == AC_QF_WORKERS && !isnan(qc->min_workers) &&
		    !ac_expect_num_holds(AC_EXPECT_GE, f->v[i], qc->min_workers, NAN)) {
			st = ac_state_worse(st, AC_STATE_FAIL);
			ac_buf_addf(&why, "%sworkers %.15g, at least %.15g", why.len ? "; " : "",
				    f->v[i], qc->min_workers);
		}
		if (qc->no_growth[i] && mem->has[i] && !(f->v[i] <= mem->v[i])) {
			st = ac_state_worse(st, AC_STATE_FAIL);
			ac_buf_addf(&why, "%s%s grew %.15g -> %.15g since the last round",
				    why.len ? "; " : "", ac_qfig_names[i], mem->v[i], f->v[i]);
		}
		mem->has[i] = true;
		mem->v[i] = f->v[i];
	}
	if (f->has[qc->headline] && isfinite(f->v[qc->headline])) {
		s->has_value = true;
		s->value = f->v[qc->headline];
		s->observed = fmt_num(s->value);
	}
	/* For rates and drain times: the headline's name and its limit. */
	s->value_name = ac_qfig_names[qc->headline];
	if (!isnan(qc->max[qc->headline])) {
		s->has_limit = true;
		s->limit = qc->max[qc->headline];
	}
	struct ac_buf ev = AC_BUF_INIT;
	ac_buf_addf(&ev, "%s queue \"%s\"", qc->preset, qc->queue);
	if (f->layout)
		ac_buf_addf(&ev, ", layout %s", f->layout);
	s->evidence = ac_buf_detach(&ev);
	if (f->layout_owned)
		free((char *)f->layout);
	f->layout = NULL;
	for (int i = 0; i < AC_QF_COUNT; i++) {
		free(f->why_owned[i]);
		f->why_owned[i] = NULL;
	}
	if (st == AC_STATE_PASS)
		ac_sample_set(s, st, NULL);
	else
		ac_sample_set(s, st, "%s", why.buf);
	ac_buf_release(&why);
	ac_probe_finish(run);
}

void ac_queue_failed(struct ac_probe_run *run, const char *fmt, ...)
{
	if (run->finished)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *msg = ac_vasprintf(fmt, ap);
	va_end(ap);
	ac_sample_set(&run->sample, AC_STATE_ERROR, "%s", msg);
	free(msg);
	ac_probe_finish(run);
}

const struct ac_probe_kind ac_probe_queue = {
    .name = "queue",
    .summary = "depth, in-flight, retrying, dead, scheduled and oldest age of a job queue",
    .unit = "jobs",
    .section = "checks",
    .per_target = false,
    .fields = queue_fields,
    .nfields = AC_ARRAY_LEN(queue_fields),
    .configure = queue_configure,
    .config_destroy = queue_config_destroy,
    .start = queue_start,
    .abort = queue_abort,
    .memory_destroy = free,
};
