/*
 * queue_pg.c: queue figures from the tables of PostgreSQL job systems.
 *
 * Each preset is one read-only query returning one row: depth, in_flight,
 * retrying, dead, scheduled, oldest_age_s, workers, where NULL means the
 * system does not record that figure (the reason is in the table below).
 * Queue names are bound as parameters; schemas are validated identifiers.
 * Layouts: shared/queue-layouts.md in the project's reference material.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pg.h"
#include "queue.h"

struct preset {
	const char *name;
	const char *schema; /* default schema */
	const char *layout;
	/* %1$s is the quoted schema; $1 the queue name. */
	const char *sql;
	const char *why[AC_QF_COUNT];
};

#define NO_WORKERS "the system keeps no worker registry in its tables"

static const struct preset presets[] = {
    {"oban",
     "public",
     "oban_jobs (state enum)",
     "SELECT count(*) FILTER (WHERE state = 'available'),"
     " count(*) FILTER (WHERE state = 'executing'),"
     " count(*) FILTER (WHERE state = 'retryable'),"
     " count(*) FILTER (WHERE state = 'discarded'),"
     " count(*) FILTER (WHERE state::text IN ('scheduled', 'suspended')),"
     " extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE state = 'available')),"
     " NULL FROM %s.oban_jobs WHERE queue = $1",
     {[AC_QF_WORKERS] = "Oban records peers (leaders), not workers, in oban_peers"}},
    {"good_job",
     "public",
     "good_jobs (derived states)",
     "SELECT count(*) FILTER (WHERE finished_at IS NULL AND performed_at IS NULL AND scheduled_at "
     "<= now()),"
     " count(*) FILTER (WHERE performed_at IS NOT NULL AND finished_at IS NULL),"
     " count(*) FILTER (WHERE finished_at IS NULL AND scheduled_at > now() AND "
     "coalesce((serialized_params->>'executions')::int, 0) > 1),"
     " count(*) FILTER (WHERE finished_at IS NOT NULL AND error IS NOT NULL),"
     " count(*) FILTER (WHERE finished_at IS NULL AND scheduled_at > now() AND "
     "coalesce((serialized_params->>'executions')::int, 0) < 2),"
     " extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE finished_at IS NULL AND "
     "performed_at IS NULL AND scheduled_at <= now())),"
     " NULL FROM %s.good_jobs WHERE queue_name = $1",
     {[AC_QF_WORKERS] = "good_job_processes are not per queue"}},
    {"solid_queue",
     "public",
     "solid_queue_* execution tables",
     "SELECT (SELECT count(*) FROM %1$s.solid_queue_ready_executions WHERE queue_name = $1),"
     " (SELECT count(*) FROM %1$s.solid_queue_claimed_executions c JOIN %1$s.solid_queue_jobs j ON "
     "j.id = c.job_id WHERE j.queue_name = $1),"
     " NULL,"
     " (SELECT count(*) FROM %1$s.solid_queue_failed_executions f JOIN %1$s.solid_queue_jobs j ON "
     "j.id = f.job_id WHERE j.queue_name = $1),"
     " (SELECT count(*) FROM %1$s.solid_queue_scheduled_executions WHERE queue_name = $1),"
     " (SELECT extract(epoch FROM now() - min(created_at)) FROM %1$s.solid_queue_ready_executions "
     "WHERE queue_name = $1),"
     " (SELECT count(*) FROM %1$s.solid_queue_processes WHERE kind = 'Worker' AND "
     "last_heartbeat_at > now() - interval '5 minutes')",
     {[AC_QF_RETRYING] = "Solid Queue has no retry state: Active Job retries are scheduled jobs"}},
    {"graphile_worker",
     "graphile_worker",
     "graphile_worker.jobs view",
     "SELECT count(*) FILTER (WHERE locked_at IS NULL AND attempts < max_attempts AND run_at <= "
     "now()),"
     " count(*) FILTER (WHERE locked_at IS NOT NULL),"
     " count(*) FILTER (WHERE locked_at IS NULL AND attempts > 0 AND attempts < max_attempts),"
     " count(*) FILTER (WHERE attempts >= max_attempts),"
     " count(*) FILTER (WHERE attempts = 0 AND locked_at IS NULL AND run_at > now()),"
     " extract(epoch FROM now() - min(run_at) FILTER (WHERE locked_at IS NULL AND attempts < "
     "max_attempts AND run_at <= now())),"
     " NULL FROM %s.jobs WHERE queue_name IS NOT DISTINCT FROM nullif($1, '')",
     {[AC_QF_WORKERS] = "graphile-worker keeps no worker registry"}},
    {"pg_boss",
     "pgboss",
     "pgboss.job (v10+, snake_case)",
     "SELECT count(*) FILTER (WHERE state < 'active' AND start_after <= now()),"
     " count(*) FILTER (WHERE state = 'active'),"
     " count(*) FILTER (WHERE state = 'retry'),"
     " count(*) FILTER (WHERE state = 'failed'),"
     " count(*) FILTER (WHERE state < 'active' AND start_after > now()),"
     " extract(epoch FROM now() - min(start_after) FILTER (WHERE state < 'active' AND start_after "
     "<= now())),"
     " NULL FROM %s.job WHERE name = $1",
     {[AC_QF_WORKERS] = "pg-boss keeps no worker registry"}},
    {"river",
     "public",
     "river_job (state enum)",
     "SELECT count(*) FILTER (WHERE state = 'available'),"
     " count(*) FILTER (WHERE state = 'running'),"
     " count(*) FILTER (WHERE state = 'retryable'),"
     " count(*) FILTER (WHERE state = 'discarded'),"
     " count(*) FILTER (WHERE state::text IN ('scheduled', 'pending')),"
     " extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE state = 'available')),"
     " NULL FROM %s.river_job WHERE queue = $1",
     {[AC_QF_WORKERS] = "River records leaders, not workers"}},
    {"que",
     "public",
     "que_jobs (schema 4+)",
     "SELECT count(*) FILTER (WHERE finished_at IS NULL AND expired_at IS NULL AND run_at <= now()"
     "   AND id NOT IN (SELECT (classid::bigint << 32) + objid::bigint FROM pg_locks WHERE "
     "locktype = 'advisory')),"
     " count(*) FILTER (WHERE id IN (SELECT (classid::bigint << 32) + objid::bigint FROM pg_locks "
     "WHERE locktype = 'advisory')),"
     " count(*) FILTER (WHERE error_count > 0 AND finished_at IS NULL AND expired_at IS NULL),"
     " count(*) FILTER (WHERE expired_at IS NOT NULL),"
     " count(*) FILTER (WHERE run_at > now() AND error_count = 0 AND finished_at IS NULL AND "
     "expired_at IS NULL),"
     " extract(epoch FROM now() - min(run_at) FILTER (WHERE finished_at IS NULL AND expired_at IS "
     "NULL AND run_at <= now())),"
     " (SELECT count(*) FROM %1$s.que_lockers WHERE $1 = ANY(queues))"
     " FROM %1$s.que_jobs WHERE queue = $1",
     {0}},
    {"delayed_job",
     "public",
     "delayed_jobs (ActiveRecord backend)",
     "SELECT count(*) FILTER (WHERE failed_at IS NULL AND locked_at IS NULL AND run_at <= now()),"
     " count(*) FILTER (WHERE failed_at IS NULL AND locked_at IS NOT NULL),"
     " count(*) FILTER (WHERE failed_at IS NULL AND locked_at IS NULL AND attempts > 0),"
     " count(*) FILTER (WHERE failed_at IS NOT NULL),"
     " count(*) FILTER (WHERE failed_at IS NULL AND run_at > now() AND attempts = 0),"
     " extract(epoch FROM now() - min(run_at) FILTER (WHERE failed_at IS NULL AND locked_at IS "
     "NULL AND run_at <= now())),"
     " NULL FROM %s.delayed_jobs WHERE queue IS NOT DISTINCT FROM nullif($1, '')",
     {[AC_QF_WORKERS] = "delayed_job keeps no worker registry"}},
    {"pgmq",
     "pgmq",
     "pgmq.q_<queue> (1.x)",
     /* The table name comes from the queue name: see pgmq_table(). */
     "SELECT count(*) FILTER (WHERE vt <= now()),"
     " count(*) FILTER (WHERE vt > now() AND read_ct > 0),"
     " count(*) FILTER (WHERE read_ct > 1),"
     " NULL,"
     " count(*) FILTER (WHERE vt > now() AND read_ct = 0),"
     " extract(epoch FROM now() - min(enqueued_at) FILTER (WHERE vt <= now())),"
     " NULL FROM %s WHERE $1 = $1",
     {[AC_QF_DEAD] =
	  "pgmq has no dead-letter state (its archive holds explicitly archived messages)",
      [AC_QF_WORKERS] = "pgmq keeps no worker registry"}},
};

struct pg_bconfig {
	const struct preset *p;
	const struct ac_pg_target *db; /* the plan's */
	char *sql;
	char *queue;
};

struct pg_brun {
	struct ac_probe_run *run;
	const struct pg_bconfig *b;
	struct ac_pg_query *q;
};

/* The preset's SQL with every %s and %1$s replaced by text. */
static char *subst(const char *sql, const char *text)
{
	struct ac_buf out = AC_BUF_INIT;
	for (const char *p = sql; *p;) {
		if (ac_starts_with(p, "%1$s")) {
			ac_buf_adds(&out, text);
			p += 4;
		} else if (ac_starts_with(p, "%s")) {
			ac_buf_adds(&out, text);
			p += 2;
		} else {
			ac_buf_addc(&out, *p++);
		}
	}
	return ac_buf_detach(&out);
}

static const struct ac_field pg_fields[] = {
    {"database", AC_FT_ENTRY, false, offsetof(struct pg_bconfig, db), NULL, .section = "databases"},
    {"schema", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
};

static const char *const names[] = {"oban",    "good_job", "solid_queue", "graphile_worker",
				    "pg_boss", "river",	   "que",	  "delayed_job",
				    "pgmq",    NULL};

static bool ident_ok(const char *s)
{
	if (!*s || strlen(s) > 48 || !(islower((unsigned char)*s) || *s == '_'))
		return false;
	for (const char *p = s; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_'))
			return false;
	return true;
}

static void pg_bconfig_destroy(void *p)
{
	struct pg_bconfig *b = p;
	if (!b)
		return;
	free(b->sql);
	free(b->queue);
	free(b);
}

static void *pg_configure(struct ac_cfg *cx, const cJSON *obj, const char *path, const char *preset,
			  const char *queue)
{
	struct pg_bconfig *b = ac_calloc(1, sizeof(*b));
	size_t before = cx->nerrors;
	for (size_t i = 0; i < AC_ARRAY_LEN(presets); i++)
		if (strcmp(presets[i].name, preset) == 0)
			b->p = &presets[i];
	ac_cfg_read(cx, obj, path, pg_fields, AC_ARRAY_LEN(pg_fields), b);
	if (!ac_json_get(obj, "database"))
		ac_cfg_error(cx, path,
			     "missing required key \"database\" (preset \"%s\" reads PostgreSQL)",
			     preset);
	const cJSON *sc = ac_json_get(obj, "schema");
	const char *schema = cJSON_IsString(sc) ? sc->valuestring : b->p->schema;
	if (sc && (!cJSON_IsString(sc) || !ident_ok(schema))) {
		char *sp = ac_cfg_path(path, "schema");
		ac_cfg_error(cx, sp, "expected a lower-case SQL identifier");
		free(sp);
		schema = b->p->schema;
	}
	if (strcmp(preset, "pgmq") == 0) {
		/* pgmq keeps each queue in a table of its own, q_<name>. */
		if (!ident_ok(queue)) {
			char *qp = ac_cfg_path(path, "queue");
			ac_cfg_error(cx, qp, "a pgmq queue name is a lower-case identifier");
			free(qp);
		}
		char *table = ac_asprintf("\"%s\".\"q_%s\"", schema, queue);
		b->sql = subst(b->p->sql, table);
		free(table);
	} else {
		char *quoted = ac_asprintf("\"%s\"", schema);
		b->sql = subst(b->p->sql, quoted);
		free(quoted);
	}
	b->queue = ac_strdup(queue);
	if (cx->nerrors != before || !b->db) {
		pg_bconfig_destroy(b);
		return NULL;
	}
	return b;
}

static void on_figures(void *ud, const struct ac_pg_reply *rp)
{
	struct pg_brun *br = ud;
	struct ac_probe_run *run = br->run;
	const struct pg_bconfig *b = br->b;
	const PGresult *res = rp->res;
	run->state = NULL;
	free(br);
	/* The wait for a free connection is not the query's time (the engine
	 * measures the sample from started_ms). */
	run->started_ms += rp->waited_ms;
	if (rp->error || rp->capped) {
		ac_queue_failed(run, "%s", rp->error ? rp->error : rp->capped);
		return;
	}
	if (rp->nrows != 1 || rp->more || PQnfields(res) < AC_QF_COUNT) {
		ac_queue_failed(run, "%s: the figures query returned no row", b->p->name);
		return;
	}
	struct ac_queue_figures f;
	memset(&f, 0, sizeof(f));
	for (int i = 0; i < AC_QF_COUNT; i++) {
		f.why[i] = b->p->why[i];
		if (PQgetisnull(res, 0, i)) {
			/* An empty queue has no oldest job: that is an age of 0, not unknown. */
			if (i == AC_QF_OLDEST_AGE && !b->p->why[i] &&
			    !PQgetisnull(res, 0, AC_QF_DEPTH)) {
				f.has[i] = true;
				f.v[i] = 0;
			}
			continue;
		}
		double v;
		if (ac_parse_double(PQgetvalue(res, 0, i), &v) == 0) {
			f.has[i] = true;
			f.v[i] = v;
		}
	}
	f.layout = b->p->layout;
	ac_queue_gathered(run, &f);
}

static void pg_start(struct ac_probe_run *run, const void *bconfig)
{
	const struct pg_bconfig *b = bconfig;
	struct pg_brun *br = ac_calloc(1, sizeof(*br));
	br->run = run;
	br->b = b;
	run->state = br;
	const char *params[1] = {b->queue};
	br->q = ac_pg_query_start(run->services, b->db, b->sql, 1, params, 2, run->deadline_ms,
				  on_figures, br);
}

static void pg_abort(struct ac_probe_run *run, const void *bconfig)
{
	(void)bconfig;
	struct pg_brun *br = run->state;
	if (!br)
		return;
	ac_pg_query_cancel(run->services, br->q);
	run->state = NULL;
	free(br);
}

const struct ac_queue_backend ac_queue_backend_pg = {
    .name = "postgres",
    .presets = names,
    .fields = pg_fields,
    .nfields = AC_ARRAY_LEN(pg_fields),
    .configure = pg_configure,
    .config_destroy = pg_bconfig_destroy,
    .start = pg_start,
    .abort = pg_abort,
};
