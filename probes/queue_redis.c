/*
 * queue_redis.c: queue figures from the Redis layouts of real job systems:
 * Sidekiq, RQ, Celery (Redis broker), BullMQ, Resque and bee-queue.
 *
 * Each preset reads with allowlisted commands only, in at most two
 * pipelined batches: counts and the oldest job's id first, then what
 * needs those answers (the job's timestamp, per-process state). The job
 * libraries' own count helpers are never used: some of them write.
 * Layouts: shared/queue-layouts.md in the project's reference material.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "queue.h"
#include "redis.h"

/* Worker processes whose state is read one by one (Sidekiq, Resque). Past
 * this the in-flight and worker figures are unavailable, with the cap named:
 * a count that silently stopped at the cap would be a false figure. */
#define MAX_PROCS 1000
#define MAX_PROCS_WHY "over 1000 worker processes registered: not counted (cap)"

/* The commands of one phase; grows as needed. */
struct cmdbuf {
	struct ac_redis_cmd *cmds;
	size_t n, alloc;
	char **strs;
	size_t ns, strs_alloc;
};

struct rq_bconfig;
struct rq_run;

struct rpreset {
	const char *name;
	const char *prefix; /* default key prefix */
	void (*phase1)(const struct rq_bconfig *b, struct cmdbuf *cb);
	/* Read phase-1 replies into figures; queue phase-2 commands. */
	void (*phase2)(struct rq_run *r, redisReply **rep, size_t n, struct cmdbuf *cb);
	/* Read phase-2 replies (may be NULL when phase 2 was empty). */
	void (*finish)(struct rq_run *r, redisReply **rep, size_t n);
	const char *why[AC_QF_COUNT];
};

struct rq_bconfig {
	const struct rpreset *p;
	const struct ac_redis_server *srv; /* the plan's */
	char *queue;
	char *prefix;
};

struct rq_run {
	struct ac_probe_run *run;
	const struct rq_bconfig *b;
	struct ac_redis_batch *batch;
	struct ac_queue_figures f;
	int phase;
	int nprocs;
	char *layout;
};

static void cb_add(struct cmdbuf *cb, int argc, ...)
{
	if (argc > AC_REDIS_MAX_ARGS)
		abort(); /* a preset's own command, never scenario input */
	AC_GROW(cb->cmds, cb->n + 1, cb->alloc);
	AC_GROW(cb->strs, cb->ns + (size_t)argc, cb->strs_alloc);
	va_list ap;
	va_start(ap, argc);
	struct ac_redis_cmd *c = &cb->cmds[cb->n++];
	c->argc = argc;
	for (int i = 0; i < argc; i++) {
		const char *a = va_arg(ap, const char *);
		cb->strs[cb->ns] = ac_strdup(a);
		c->argv[i] = cb->strs[cb->ns++];
	}
	va_end(ap);
}

static void cb_release(struct cmdbuf *cb)
{
	for (size_t i = 0; i < cb->ns; i++)
		free(cb->strs[i]);
	free(cb->strs);
	free(cb->cmds);
	memset(cb, 0, sizeof(*cb));
}

/* Keep what the server said (LOADING, BUSY, READONLY, NOPERM, ...) as the
 * reason a figure is unavailable. */
static void note_error(struct rq_run *r, enum ac_qfig f, const redisReply *rep)
{
	if (!rep || rep->type != REDIS_REPLY_ERROR)
		return;
	char *ex = ac_mask_excerpt(r->run->mask, rep->str, rep->len, 200);
	free(r->f.why_owned[f]);
	r->f.why_owned[f] = ac_asprintf("Redis answered an error: %s", ex);
	free(ex);
}

/* prefix ":" before arg after, or without "prefix:" for an empty prefix. */
static char *key(const struct rq_bconfig *b, const char *before, const char *arg, const char *after)
{
	return *b->prefix ? ac_asprintf("%s:%s%s%s", b->prefix, before, arg, after)
			  : ac_asprintf("%s%s%s", before, arg, after);
}

static bool num(const redisReply *r, double *out)
{
	if (!r)
		return false;
	if (r->type == REDIS_REPLY_INTEGER) {
		*out = (double)r->integer;
		return true;
	}
	if (r->type == REDIS_REPLY_STRING)
		return ac_parse_double(r->str, out) == 0;
	return false;
}

/* A part of a summed count: a negative part is a broken reply, and the
 * sum is unavailable with that reason rather than a smaller count. */
static bool count_part(struct rq_run *r, enum ac_qfig f, const redisReply *rep, double *out)
{
	if (!num(rep, out))
		return false;
	if (*out >= 0)
		return true;
	free(r->f.why_owned[f]);
	r->f.why_owned[f] =
	    ac_asprintf("Redis answered %.15g, and a count is never below zero", *out);
	return false;
}

static void set(struct rq_run *r, enum ac_qfig f, const redisReply *rep)
{
	double v;
	if (num(rep, &v) && v < 0) {
		/* Every figure read this way is a count. */
		free(r->f.why_owned[f]);
		r->f.why_owned[f] =
		    ac_asprintf("Redis answered %.15g, and a count is never below zero", v);
	} else if (num(rep, &v)) {
		r->f.has[f] = true;
		r->f.v[f] = v;
	} else {
		note_error(r, f, rep);
	}
}

static double now_s(const struct rq_run *r)
{
	const struct ac_clock *clk = ac_loop_clock(r->run->loop);
	return (double)clk->wall_ms(clk) / 1000.0;
}

static void set_age(struct rq_run *r, double enqueued_s)
{
	double age = now_s(r) - enqueued_s;
	r->f.has[AC_QF_OLDEST_AGE] = true;
	/* Not clamped: ac_queue_gathered judges a time in the future. */
	r->f.v[AC_QF_OLDEST_AGE] = age;
}

/* An empty queue has waited for nothing. */
static void empty_age(struct rq_run *r)
{
	if (r->f.has[AC_QF_DEPTH] && r->f.v[AC_QF_DEPTH] == 0) {
		r->f.has[AC_QF_OLDEST_AGE] = true;
		r->f.v[AC_QF_OLDEST_AGE] = 0;
	}
}

/* "2026-11-24T14:03:10.123456Z" (RQ) to epoch seconds. */
static bool parse_iso(const char *s, double *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return false;
	double frac = 0;
	if (*rest == '.') {
		char *end;
		frac = strtod(rest, &end);
		rest = end;
	}
	*out = (double)timegm(&tm) + frac;
	return true;
}

/* --- Sidekiq ------------------------------------------------------------- */

static void sk_p1(const struct rq_bconfig *b, struct cmdbuf *cb)
{
	char *q = key(b, "queue:", b->queue, ""), *retry = key(b, "", "retry", ""),
	     *dead = key(b, "", "dead", ""), *sched = key(b, "", "schedule", ""),
	     *procs = key(b, "", "processes", "");
	cb_add(cb, 2, "LLEN", q);
	cb_add(cb, 2, "ZCARD", retry);
	cb_add(cb, 2, "ZCARD", dead);
	cb_add(cb, 2, "ZCARD", sched);
	cb_add(cb, 3, "LINDEX", q, "-1");
	cb_add(cb, 2, "SMEMBERS", procs);
	free(q);
	free(retry);
	free(dead);
	free(sched);
	free(procs);
}

static void sk_p2(struct rq_run *r, redisReply **rep, size_t n, struct cmdbuf *cb)
{
	(void)n;
	set(r, AC_QF_DEPTH, rep[0]);
	set(r, AC_QF_RETRYING, rep[1]);
	set(r, AC_QF_DEAD, rep[2]);
	set(r, AC_QF_SCHEDULED, rep[3]);
	const char *layout = "sidekiq (retry, dead and schedule are shared by all queues)";
	if (rep[4]->type == REDIS_REPLY_STRING) {
		cJSON *job = ac_json_parse_body(rep[4]->str, rep[4]->len);
		const cJSON *t = ac_json_get(job, "enqueued_at");
		if (!t)
			t = ac_json_get(job, "created_at");
		if (cJSON_IsNumber(t)) {
			/* Sidekiq 8 writes integer milliseconds, older ones float seconds. */
			bool ms = t->valuedouble > 1e11;
			set_age(r, ms ? t->valuedouble / 1000.0 : t->valuedouble);
			layout = ms ? "sidekiq >= 8 (epoch ms; retry, dead, schedule shared by all "
				      "queues)"
				    : "sidekiq < 8 (epoch seconds; retry, dead, schedule shared by "
				      "all queues)";
		} else {
			r->f.why[AC_QF_OLDEST_AGE] = "the oldest job has no enqueued_at";
		}
		cJSON_Delete(job);
	} else {
		empty_age(r);
	}
	r->layout = ac_strdup(layout);
	if (rep[5]->type == REDIS_REPLY_ARRAY && rep[5]->elements > MAX_PROCS) {
		r->f.why[AC_QF_IN_FLIGHT] = r->f.why[AC_QF_WORKERS] = MAX_PROCS_WHY;
		return;
	}
	note_error(r, AC_QF_IN_FLIGHT, rep[5]);
	note_error(r, AC_QF_WORKERS, rep[5]);
	if (rep[5]->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i < rep[5]->elements; i++) {
		const redisReply *id = rep[5]->element[i];
		if (id->type != REDIS_REPLY_STRING)
			continue;
		char *k = *r->b->prefix ? ac_asprintf("%s:%s", r->b->prefix, id->str)
					: ac_strdup(id->str);
		cb_add(cb, 3, "HGET", k, "busy");
		cb_add(cb, 3, "HGET", k, "beat");
		free(k);
		r->nprocs++;
	}
	r->f.has[AC_QF_IN_FLIGHT] = r->f.has[AC_QF_WORKERS] = true;
}

static void sk_finish(struct rq_run *r, redisReply **rep, size_t n)
{
	double busy = 0, live = 0, now = now_s(r);
	for (size_t i = 0; i + 1 < n; i += 2) {
		double b, beat;
		/* A process whose hash expired is gone, whatever the set says. */
		if (!num(rep[i + 1], &beat) || now - beat > 60)
			continue;
		live++;
		if (num(rep[i], &b))
			busy += b;
	}
	r->f.v[AC_QF_IN_FLIGHT] = busy;
	r->f.v[AC_QF_WORKERS] = live;
}

/* --- RQ ---------------------------------------------------------------------- */

static void rq_p1(const struct rq_bconfig *b, struct cmdbuf *cb)
{
	char *q = key(b, "queue:", b->queue, ""), *wip = key(b, "wip:", b->queue, ""),
	     *failed = key(b, "failed:", b->queue, ""), *sched = key(b, "scheduled:", b->queue, ""),
	     *workers = key(b, "workers:", b->queue, "");
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	cb_add(cb, 2, "LLEN", q);
	cb_add(cb, 4, "ZCOUNT", wip, now, "+inf");
	cb_add(cb, 2, "ZCARD", failed);
	cb_add(cb, 2, "ZCARD", sched);
	cb_add(cb, 3, "LINDEX", q, "0");
	cb_add(cb, 2, "SCARD", workers);
	free(q);
	free(wip);
	free(failed);
	free(sched);
	free(workers);
}

static void rq_p2(struct rq_run *r, redisReply **rep, size_t n, struct cmdbuf *cb)
{
	(void)n;
	set(r, AC_QF_DEPTH, rep[0]);
	set(r, AC_QF_IN_FLIGHT, rep[1]);
	set(r, AC_QF_DEAD, rep[2]);
	set(r, AC_QF_SCHEDULED, rep[3]);
	set(r, AC_QF_WORKERS, rep[5]);
	r->layout = ac_strdup("rq (registries rq:wip, rq:failed, rq:scheduled)");
	if (rep[4]->type == REDIS_REPLY_STRING) {
		char *k = key(r->b, "job:", rep[4]->str, "");
		cb_add(cb, 3, "HGET", k, "enqueued_at");
		free(k);
	} else {
		empty_age(r);
	}
}

static void rq_finish(struct rq_run *r, redisReply **rep, size_t n)
{
	double t;
	if (n == 1 && rep[0]->type == REDIS_REPLY_STRING && parse_iso(rep[0]->str, &t))
		set_age(r, t);
	else if (n == 1)
		r->f.why[AC_QF_OLDEST_AGE] = "the oldest job's hash has no enqueued_at";
}

/* --- Celery ----------------------------------------------------------------- */

static void celery_p1(const struct rq_bconfig *b, struct cmdbuf *cb)
{
	/* Priority sub-queues: "<queue>\x06\x16<step>" for steps 3, 6, 9. */
	char *q = key(b, "", b->queue, "");
	char *q3 = ac_asprintf("%s\x06\x16"
			       "3",
			       q),
	     *q6 = ac_asprintf("%s\x06\x16"
			       "6",
			       q),
	     *q9 = ac_asprintf("%s\x06\x16"
			       "9",
			       q),
	     *un = key(b, "", "unacked_index", "");
	cb_add(cb, 2, "LLEN", q);
	cb_add(cb, 2, "LLEN", q3);
	cb_add(cb, 2, "LLEN", q6);
	cb_add(cb, 2, "LLEN", q9);
	cb_add(cb, 2, "ZCARD", un);
	free(q);
	free(q3);
	free(q6);
	free(q9);
	free(un);
}

static void celery_p2(struct rq_run *r, redisReply **rep, size_t n, struct cmdbuf *cb)
{
	(void)n;
	(void)cb;
	double sum = 0, v;
	bool ok = true;
	for (int i = 0; i < 4; i++) {
		if (count_part(r, AC_QF_DEPTH, rep[i], &v))
			sum += v;
		else
			ok = false;
	}
	if (ok) {
		r->f.has[AC_QF_DEPTH] = true;
		r->f.v[AC_QF_DEPTH] = sum;
	}
	set(r, AC_QF_IN_FLIGHT, rep[4]);
	r->layout = ac_strdup("celery/kombu redis transport (unacked shared by all queues)");
}

/* --- BullMQ --------------------------------------------------------------- */

static void bull_p1(const struct rq_bconfig *b, struct cmdbuf *cb)
{
	const char *s[] = {":wait", ":prioritized", ":paused", ":active", ":failed", ":delayed"};
	char *k[6];
	for (int i = 0; i < 6; i++)
		k[i] = key(b, "", b->queue, s[i]);
	cb_add(cb, 2, "LLEN", k[0]);
	cb_add(cb, 2, "ZCARD", k[1]);
	cb_add(cb, 2, "LLEN", k[2]);
	cb_add(cb, 2, "LLEN", k[3]);
	cb_add(cb, 2, "ZCARD", k[4]);
	cb_add(cb, 2, "ZCARD", k[5]);
	cb_add(cb, 3, "LINDEX", k[0], "-1");
	for (int i = 0; i < 6; i++)
		free(k[i]);
}

static void bull_p2(struct rq_run *r, redisReply **rep, size_t n, struct cmdbuf *cb)
{
	(void)n;
	double wait = 0, prio = 0, paused = 0;
	bool marker = rep[6]->type == REDIS_REPLY_STRING && ac_starts_with(rep[6]->str, "0:");
	bool has_paused = count_part(r, AC_QF_DEPTH, rep[2], &paused);
	for (int i = 0; i < 3; i++)
		note_error(r, AC_QF_DEPTH, rep[i]);
	if (count_part(r, AC_QF_DEPTH, rep[0], &wait) &&
	    count_part(r, AC_QF_DEPTH, rep[1], &prio) && has_paused) {
		/* Before v5 a "0:..." marker sat in wait; it is not a job. */
		r->f.has[AC_QF_DEPTH] = true;
		r->f.v[AC_QF_DEPTH] = wait - (marker ? 1 : 0) + prio + paused;
	}
	set(r, AC_QF_IN_FLIGHT, rep[3]);
	set(r, AC_QF_DEAD, rep[4]);
	set(r, AC_QF_SCHEDULED, rep[5]);
	r->layout = ac_strdup(has_paused && paused > 0 ? "bullmq <= v5 (legacy paused list in use)"
			      : marker		       ? "bullmq < v5 (marker in wait)"
						       : "bullmq");
	if (rep[6]->type == REDIS_REPLY_STRING && !marker) {
		char *jk = ac_asprintf("%s:%s", r->b->queue, rep[6]->str);
		char *k = key(r->b, "", jk, "");
		cb_add(cb, 3, "HGET", k, "timestamp");
		free(k);
		free(jk);
	} else {
		empty_age(r);
	}
}

static void bull_finish(struct rq_run *r, redisReply **rep, size_t n)
{
	double ms;
	if (n == 1 && num(rep[0], &ms))
		set_age(r, ms / 1000.0);
}

/* --- Resque ------------------------------------------------------------------ */

static void resque_p1(const struct rq_bconfig *b, struct cmdbuf *cb)
{
	char *q = key(b, "queue:", b->queue, ""), *failed = key(b, "", "failed", ""),
	     *workers = key(b, "", "workers", "");
	cb_add(cb, 2, "LLEN", q);
	cb_add(cb, 2, "LLEN", failed);
	cb_add(cb, 2, "SMEMBERS", workers);
	free(q);
	free(failed);
	free(workers);
}

static void resque_p2(struct rq_run *r, redisReply **rep, size_t n, struct cmdbuf *cb)
{
	(void)n;
	set(r, AC_QF_DEPTH, rep[0]);
	set(r, AC_QF_DEAD, rep[1]);
	r->layout = ac_strdup("resque (failed list shared by all queues)");
	double workers = 0;
	if (rep[2]->type == REDIS_REPLY_ARRAY && rep[2]->elements > MAX_PROCS) {
		r->f.why[AC_QF_IN_FLIGHT] = r->f.why[AC_QF_WORKERS] = MAX_PROCS_WHY;
		return;
	}
	note_error(r, AC_QF_IN_FLIGHT, rep[2]);
	note_error(r, AC_QF_WORKERS, rep[2]);
	if (rep[2]->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < rep[2]->elements; i++) {
			const redisReply *id = rep[2]->element[i];
			if (id->type != REDIS_REPLY_STRING)
				continue;
			/* host:pid:queue1,queue2 */
			const char *qs = strrchr(id->str, ':');
			bool serves = false;
			if (qs) {
				char *list = ac_asprintf(",%s,", qs + 1);
				char *want = ac_asprintf(",%s,", r->b->queue);
				serves = strstr(list, want) || strstr(list, ",*,");
				free(list);
				free(want);
			}
			if (!serves)
				continue;
			workers++;
			char *k = key(r->b, "worker:", id->str, "");
			cb_add(cb, 2, "EXISTS", k);
			free(k);
			r->nprocs++;
		}
		r->f.has[AC_QF_WORKERS] = true;
		r->f.v[AC_QF_WORKERS] = workers;
		r->f.has[AC_QF_IN_FLIGHT] = true;
	}
}

static void resque_finish(struct rq_run *r, redisReply **rep, size_t n)
{
	double busy = 0, v;
	for (size_t i = 0; i < n; i++)
		if (num(rep[i], &v))
			busy += v;
	r->f.v[AC_QF_IN_FLIGHT] = busy;
}

/* --- bee-queue ---------------------------------------------------------------- */

static void bee_p1(const struct rq_bconfig *b, struct cmdbuf *cb)
{
	char *w = key(b, "", b->queue, ":waiting"), *a = key(b, "", b->queue, ":active"),
	     *f = key(b, "", b->queue, ":failed"), *d = key(b, "", b->queue, ":delayed");
	cb_add(cb, 2, "LLEN", w);
	cb_add(cb, 2, "LLEN", a);
	cb_add(cb, 2, "SCARD", f);
	cb_add(cb, 2, "ZCARD", d);
	cb_add(cb, 3, "LINDEX", w, "-1");
	free(w);
	free(a);
	free(f);
	free(d);
}

static void bee_p2(struct rq_run *r, redisReply **rep, size_t n, struct cmdbuf *cb)
{
	(void)n;
	set(r, AC_QF_DEPTH, rep[0]);
	set(r, AC_QF_IN_FLIGHT, rep[1]);
	set(r, AC_QF_DEAD, rep[2]);
	set(r, AC_QF_SCHEDULED, rep[3]);
	r->layout = ac_strdup("bee-queue");
	if (rep[4]->type == REDIS_REPLY_STRING) {
		char *k = key(r->b, "", r->b->queue, ":jobs");
		cb_add(cb, 3, "HGET", k, rep[4]->str);
		free(k);
	} else {
		empty_age(r);
	}
}

static void bee_finish(struct rq_run *r, redisReply **rep, size_t n)
{
	if (n != 1 || rep[0]->type != REDIS_REPLY_STRING)
		return;
	cJSON *job = ac_json_parse_body(rep[0]->str, rep[0]->len);
	const cJSON *t = ac_json_get(ac_json_get(job, "options"), "timestamp");
	if (cJSON_IsNumber(t))
		set_age(r, t->valuedouble / 1000.0);
	cJSON_Delete(job);
}

static const struct rpreset presets[] = {
    {"sidekiq", "", sk_p1, sk_p2, sk_finish, {0}},
    {"rq",
     "rq",
     rq_p1,
     rq_p2,
     rq_finish,
     {[AC_QF_RETRYING] = "RQ has no retry registry: retries are scheduled or requeued jobs"}},
    {"celery",
     "",
     celery_p1,
     celery_p2,
     NULL,
     {[AC_QF_RETRYING] = "Celery keeps retries in no broker structure (they are re-published)",
      [AC_QF_DEAD] = "Celery keeps failures in the result backend, not the broker",
      [AC_QF_SCHEDULED] = "Celery's ETA tasks sit among the unacked messages",
      [AC_QF_OLDEST_AGE] = "Celery messages carry no send time",
      [AC_QF_WORKERS] = "Celery workers are not registered in the broker"}},
    {"bullmq",
     "bull",
     bull_p1,
     bull_p2,
     bull_finish,
     {[AC_QF_RETRYING] = "BullMQ moves retries back to delayed or wait; no count of its own",
      [AC_QF_WORKERS] = "BullMQ workers show only in CLIENT LIST, which allclear does not send"}},
    {"resque",
     "resque",
     resque_p1,
     resque_p2,
     resque_finish,
     {[AC_QF_RETRYING] = "core Resque has no retry structure",
      [AC_QF_SCHEDULED] = "core Resque has no schedule (resque-scheduler is not read)",
      [AC_QF_OLDEST_AGE] = "Resque payloads carry no enqueue time"}},
    {"bee_queue",
     "bq",
     bee_p1,
     bee_p2,
     bee_finish,
     {[AC_QF_RETRYING] = "bee-queue has no retry structure of its own",
      [AC_QF_WORKERS] = "bee-queue keeps no worker registry"}},
};

static const char *const names[] = {"sidekiq", "rq",	    "celery", "bullmq",
				    "resque",  "bee_queue", NULL};

static const struct ac_field redis_fields[] = {
    {"redis", AC_FT_ENTRY, false, offsetof(struct rq_bconfig, srv), NULL, .section = "redis"},
    {"prefix", AC_FT_STRING, false, offsetof(struct rq_bconfig, prefix), NULL},
};

static void rq_bconfig_destroy(void *p)
{
	struct rq_bconfig *b = p;
	if (!b)
		return;
	free(b->queue);
	free(b->prefix);
	free(b);
}

static void *rq_configure(struct ac_cfg *cx, const cJSON *obj, const char *path, const char *preset,
			  const char *queue)
{
	struct rq_bconfig *b = ac_calloc(1, sizeof(*b));
	size_t before = cx->nerrors;
	for (size_t i = 0; i < AC_ARRAY_LEN(presets); i++)
		if (strcmp(presets[i].name, preset) == 0)
			b->p = &presets[i];
	ac_cfg_read(cx, obj, path, redis_fields, AC_ARRAY_LEN(redis_fields), b);
	if (!ac_json_get(obj, "redis"))
		ac_cfg_error(cx, path, "missing required key \"redis\" (preset \"%s\" reads Redis)",
			     preset);
	if (!b->prefix)
		b->prefix = ac_strdup(b->p->prefix);
	b->queue = ac_strdup(queue);
	if (strpbrk(queue, "\r\n")) {
		char *qp = ac_cfg_path(path, "queue");
		ac_cfg_error(cx, qp, "line breaks are not allowed");
		free(qp);
	}
	if (cx->nerrors != before || !b->srv) {
		rq_bconfig_destroy(b);
		return NULL;
	}
	return b;
}

static void rq_run_free(struct rq_run *r)
{
	free(r->layout);
	for (int i = 0; i < AC_QF_COUNT; i++)
		free(r->f.why_owned[i]);
	free(r);
}

static void on_batch(void *ud, redisReply **rep, size_t n, const char *error)
{
	struct rq_run *r = ud;
	struct ac_probe_run *run = r->run;
	r->batch = NULL;
	if (error) {
		run->state = NULL;
		rq_run_free(r);
		ac_queue_failed(run, "%s", error);
		return;
	}
	if (r->phase == 1) {
		struct cmdbuf cb = {0};
		r->b->p->phase2(r, rep, n, &cb);
		if (cb.n > 0 && r->b->p->finish) {
			r->phase = 2;
			r->batch = ac_redis_batch_start(run->services, r->b->srv, cb.cmds, cb.n,
							run->deadline_ms, on_batch, r);
			cb_release(&cb);
			return;
		}
		cb_release(&cb);
		if (r->b->p->finish)
			r->b->p->finish(r, NULL, 0);
	} else {
		r->b->p->finish(r, rep, n);
	}
	for (int i = 0; i < AC_QF_COUNT; i++)
		if (!r->f.has[i] && !r->f.why[i])
			r->f.why[i] = r->b->p->why[i];
	r->f.layout = r->layout;
	r->f.layout_owned = true;
	r->layout = NULL;
	struct ac_queue_figures f = r->f;
	memset(r->f.why_owned, 0, sizeof(r->f.why_owned)); /* now f's */
	run->state = NULL;
	rq_run_free(r);
	ac_queue_gathered(run, &f);
}

static void rq_start(struct ac_probe_run *run, const void *bconfig)
{
	const struct rq_bconfig *b = bconfig;
	struct rq_run *r = ac_calloc(1, sizeof(*r));
	r->run = run;
	r->b = b;
	r->phase = 1;
	for (int i = 0; i < AC_QF_COUNT; i++)
		r->f.why[i] = b->p->why[i];
	run->state = r;
	struct cmdbuf cb = {0};
	b->p->phase1(b, &cb);
	r->batch = ac_redis_batch_start(run->services, b->srv, cb.cmds, cb.n, run->deadline_ms,
					on_batch, r);
	cb_release(&cb);
}

static void rq_abort(struct ac_probe_run *run, const void *bconfig)
{
	(void)bconfig;
	struct rq_run *r = run->state;
	if (!r)
		return;
	ac_redis_batch_cancel(run->services, r->batch);
	run->state = NULL;
	rq_run_free(r);
}

const struct ac_queue_backend ac_queue_backend_redis = {
    .name = "redis",
    .presets = names,
    .fields = redis_fields,
    .nfields = AC_ARRAY_LEN(redis_fields),
    .configure = rq_configure,
    .config_destroy = rq_bconfig_destroy,
    .start = rq_start,
    .abort = rq_abort,
};
