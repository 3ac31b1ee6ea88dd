/*
 * sql.c: the "sql" probe kind: a read-only data-sanity query and what its
 * answer must be.
 *
 *   {"kind": "sql", "name": "orders paid without a payment", "area": "data",
 *    "owner": "payments", "database": "shop",
 *    "query": "SELECT count(*) FROM orders o WHERE status = 'paid' AND NOT EXISTS
 *              (SELECT 1 FROM payments p WHERE p.order_id = o.id)",
 *    "expect": {"==": 0}, "trend": "not_increasing"}
 *
 * The value is the first cell of the first row. No rows, NULL or a
 * non-number where a value is compared is an error ("no measurement"),
 * never a zero. Only the rows that decide are read (src/pg.c stops at the
 * database's caps): the first few for a value or no_rows, N for min_rows. Read-only is enforced in
 * src/pg.c and, before that, here: one statement, and it has to start as a query does.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "expect.h"
#include "json.h"
#include "pg.h"
#include "probe.h"

#define SQL_SAMPLE_ROWS 5
#define SQL_CELL_MAX 40

enum expect_kind { E_CMP, E_NO_ROWS, E_MIN_ROWS };

struct sql_config {
	const struct ac_pg_target *db; /* the plan's */
	char *query;
	enum expect_kind kind;
	struct ac_expect expect; /* E_CMP: the first cell */
	double min_rows;
	struct ac_strings secret_cols;
};

struct sql_run {
	struct ac_probe_run *run;
	struct ac_pg_query *q;
};

/* "expect": a comparison of the first cell, {"no_rows": true} or
 * {"min_rows": N} (dst: the whole configuration, its database read). */
static void read_expect(struct ac_cfg *cx, const struct ac_field *f, const cJSON *e, const char *ep,
			void *dst)
{
	struct sql_config *c = dst;
	if (!cJSON_IsObject(e) || cJSON_GetArraySize(e) != 1) {
		ac_cfg_error(cx, ep,
			     "expected one of {\"==\": N} (or != < <= > >=), "
			     "{\"between\": [A, B]}, {\"no_rows\": true}, {\"min_rows\": N}");
		return;
	}
	const cJSON *m = e->child;
	char *mp = ac_cfg_path(ep, m->string);
	if (strcmp(m->string, "no_rows") == 0) {
		c->kind = E_NO_ROWS;
		if (!cJSON_IsTrue(m))
			ac_cfg_error(cx, mp, "expected true");
	} else if (strcmp(m->string, "min_rows") == 0) {
		c->kind = E_MIN_ROWS;
		if (!cJSON_IsNumber(m) || !(m->valuedouble >= 1) || !isfinite(m->valuedouble))
			ac_cfg_error(cx, mp, "expected a number of at least 1");
		else if (c->db && m->valuedouble > (double)c->db->max_rows)
			/* Reading stops at max_rows: more could never pass. */
			ac_cfg_error(cx, mp,
				     "%.15g is over the database's max_rows (%ld); count in "
				     "the query instead: {\">=\": N} on SELECT count(*)",
				     m->valuedouble, c->db->max_rows);
		else
			c->min_rows = m->valuedouble;
	} else {
		static const char *const own[] = {"no_rows", "min_rows"};
		c->kind = E_CMP;
		ac_expect_parse(cx, e, ep, AC_EXPECT_ONE, own, AC_ARRAY_LEN(own), &c->expect);
	}
	free(mp);
}

#define SC(member) offsetof(struct sql_config, member)
static const struct ac_field sql_fields[] = {
    {"database", AC_FT_ENTRY, true, SC(db), "a name under \"databases\"", .section = "databases"},
    {"query", AC_FT_TEXT, true, SC(query), "one read-only statement"},
    {"expect", AC_FT_CUSTOM, true, 0,
     "{\"==\": 0}, {\"between\": [0, 3]}, {\"no_rows\": true}, {\"min_rows\": 1}",
     AC_SHAPE_COMPARISON, .read = read_expect},
    {"secret_columns", AC_FT_STRINGS, false, SC(secret_cols), "masked in sample rows"},
};

static void sql_config_destroy(void *p)
{
	struct sql_config *c = p;
	if (!c)
		return;
	ac_cfg_release(sql_fields, AC_ARRAY_LEN(sql_fields), c);
	ac_expect_release(&c->expect);
	free(c);
}

/* The first keyword, skipping blanks, comments and parentheses. */
static bool starts_like_a_query(const char *sql)
{
	const char *p = ac_pg_skip_blanks(sql);
	while (*p == '(')
		p = ac_pg_skip_blanks(p + 1);
	static const char *const ok[] = {"select", "with", "values", "table", "show"};
	for (size_t i = 0; i < AC_ARRAY_LEN(ok); i++) {
		size_t n = strlen(ok[i]);
		if (strncasecmp(p, ok[i], n) == 0 && !isalnum((unsigned char)p[n]) && p[n] != '_')
			return true;
	}
	return false;
}

static void *sql_configure(struct ac_cfg *cx, const cJSON *obj, const char *path)
{
	struct sql_config *c = ac_calloc(1, sizeof(*c));
	size_t before = cx->nerrors;
	ac_cfg_read(cx, obj, path, sql_fields, AC_ARRAY_LEN(sql_fields), c);
	char *qp = ac_cfg_path(path, "query");
	if (c->query && !ac_pg_single_statement(c->query))
		ac_cfg_error(cx, qp, "one statement only: allclear runs a single read-only query");
	else if (c->query && ac_pg_session_lock_call(c->query))
		ac_cfg_error(cx, qp,
			     "%s takes a session-level lock that ROLLBACK does not release: it "
			     "would stay held on allclear's connection (use pg_advisory_xact_lock "
			     "and the like, or no lock)",
			     ac_pg_session_lock_call(c->query));
	else if (c->query && !starts_like_a_query(c->query))
		ac_cfg_error(
		    cx, qp,
		    "must be a query (SELECT, WITH, VALUES, TABLE or SHOW): allclear never "
		    "writes to what it probes");
	free(qp);
	if (cx->nerrors != before || !c->db) {
		sql_config_destroy(c);
		return NULL;
	}
	return c;
}

static bool is_secret_col(const struct sql_config *c, const char *name)
{
	for (size_t i = 0; i < c->secret_cols.n; i++)
		if (strcmp(c->secret_cols.v[i], name) == 0)
			return true;
	return false;
}

static char *sample_rows(struct ac_probe_run *run, const struct sql_config *c,
			 const struct ac_pg_reply *rp)
{
	struct ac_buf b = AC_BUF_INIT;
	const PGresult *res = rp->res;
	int rows = PQntuples(res), cols = PQnfields(res);
	for (int r = 0; r < rows && r < SQL_SAMPLE_ROWS; r++) {
		for (int k = 0; k < cols; k++) {
			const char *name = PQfname(res, k);
			const char *v = PQgetisnull(res, r, k) ? "NULL" : PQgetvalue(res, r, k);
			char *cell = is_secret_col(c, name)
					 ? ac_strdup(AC_MASK_TEXT)
					 : ac_mask_excerpt(run->mask, v, strlen(v), SQL_CELL_MAX);
			ac_buf_addf(&b, "%s%s=%s", k ? ", " : "", name, cell);
			free(cell);
		}
		ac_buf_addc(&b, '\n');
	}
	if (rp->more)
		ac_buf_addf(&b, "(more than %ld rows: reading stopped)\n", rp->nrows);
	else if (rp->nrows > SQL_SAMPLE_ROWS)
		ac_buf_addf(&b, "(%ld rows in all)\n", rp->nrows);
	char *m = ac_mask_apply(run->mask, b.buf);
	ac_buf_release(&b);
	return m;
}

/* A line before the evidence: the role can write, the query waited. */
static void add_line(struct ac_sample *s, const char *prefix, const char *line)
{
	if (!line)
		return;
	char *e = ac_asprintf("%s%s\n%s", prefix, line, s->evidence ? s->evidence : "");
	free(s->evidence);
	s->evidence = e;
}

/* no_rows and min_rows: decided by the rows read, unless reading stopped
 * at a cap before the answer was known. */
static void judge_rows(struct ac_probe_run *run, const struct sql_config *c,
		       const struct ac_pg_reply *rp)
{
	struct ac_sample *s = &run->sample;
	long rows = rp->nrows;
	bool ok = c->kind == E_NO_ROWS ? rows == 0 : rows >= c->min_rows;
	bool decided = c->kind == E_NO_ROWS ? rows > 0 : rows >= c->min_rows;
	if (rp->capped && !decided) {
		ac_sample_set(s, AC_STATE_ERROR, "%s", rp->capped);
		return;
	}
	s->has_value = !rp->more;
	s->value = (double)rows;
	if (ok) {
		ac_sample_set(s, AC_STATE_PASS, NULL);
		return;
	}
	if (c->kind == E_NO_ROWS && rp->more)
		ac_sample_set(s, AC_STATE_FAIL, "more than %ld rows, expected none", rows);
	else if (c->kind == E_NO_ROWS)
		ac_sample_set(s, AC_STATE_FAIL, "%ld row%s, expected none", rows,
			      rows == 1 ? "" : "s");
	else
		ac_sample_set(s, AC_STATE_FAIL, "%ld rows, expected at least %.0f", rows,
			      c->min_rows);
	s->evidence = sample_rows(run, c, rp);
}

/* A value: the first cell. No row, NULL or text is no measurement. */
static void judge_value(struct ac_probe_run *run, const struct sql_config *c,
			const struct ac_pg_reply *rp)
{
	struct ac_sample *s = &run->sample;
	const PGresult *res = rp->res;
	if (rp->nrows > 0 && PQnfields(res) == 0) {
		ac_sample_set(s, AC_STATE_ERROR, "no measurement: the query returned no columns");
		return;
	}
	if (rp->nrows == 0 || PQntuples(res) == 0) {
		if (rp->capped)
			ac_sample_set(s, AC_STATE_ERROR, "%s", rp->capped);
		else
			ac_sample_set(s, AC_STATE_ERROR,
				      "no measurement: the query returned no rows");
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		ac_sample_set(s, AC_STATE_ERROR, "no measurement: the first cell is NULL");
		return;
	}
	double v;
	const char *text = PQgetvalue(res, 0, 0);
	if (ac_parse_double(text, &v) < 0 && is_secret_col(c, PQfname(res, 0))) {
		char *name = ac_mask_excerpt(run->mask, PQfname(res, 0), strlen(PQfname(res, 0)),
					     SQL_CELL_MAX);
		ac_sample_set(s, AC_STATE_ERROR,
			      "no measurement: the first cell (secret column \"%s\") is not a "
			      "number",
			      name);
		free(name);
		return;
	}
	if (ac_parse_double(text, &v) < 0) {
		char *m = ac_mask_excerpt(run->mask, text, strlen(text), SQL_CELL_MAX);
		ac_sample_set(s, AC_STATE_ERROR, "no measurement: \"%s\" is not a number", m);
		free(m);
		return;
	}
	s->has_value = true;
	s->value = v;
	if (ac_expect_holds(&c->expect, v)) {
		ac_sample_set(s, AC_STATE_PASS, NULL);
		return;
	}
	char *got = ac_expect_num_text(v);
	char *why = ac_expect_fail_text("value", got, &c->expect, "");
	ac_sample_set(s, AC_STATE_FAIL, "%s", why);
	free(why);
	free(got);
	s->evidence = sample_rows(run, c, rp);
}

static void on_result(void *ud, const struct ac_pg_reply *rp)
{
	struct sql_run *sr = ud;
	struct ac_probe_run *run = sr->run;
	const struct sql_config *c = run->check->config;
	struct ac_sample *s = &run->sample;
	sr->q = NULL;
	if (rp->error) {
		ac_sample_set(s, AC_STATE_ERROR, "%s", rp->error);
	} else {
		struct ac_figure *f = ac_sample_add_figure(s, "rows");
		f->has_value = !rp->more;
		f->value = (double)rp->nrows;
		if (rp->more)
			f->note = ac_asprintf("more than %ld: reading stopped", rp->nrows);
		if (c->kind == E_NO_ROWS || c->kind == E_MIN_ROWS)
			judge_rows(run, c, rp);
		else
			judge_value(run, c, rp);
	}
	add_line(s, "", rp->wait_note);
	add_line(s, "warning: ", rp->warning);
	/* The engine measures the sample from started_ms: the wait for a free
	 * connection of the database's pool is not the query's time. */
	run->started_ms += rp->waited_ms;
	run->state = NULL;
	free(sr);
	ac_probe_finish(run);
}

static void sql_start(struct ac_probe_run *run)
{
	const struct sql_config *c = run->check->config;
	struct sql_run *sr = ac_calloc(1, sizeof(*sr));
	sr->run = run;
	run->state = sr;
	/* Only the rows that decide: the sample rows, or min_rows. */
	long want = SQL_SAMPLE_ROWS;
	if (c->kind == E_MIN_ROWS && c->min_rows > want)
		want = (long)c->min_rows;
	sr->q = ac_pg_query_start(run->services, c->db, c->query, 0, NULL, want, run->deadline_ms,
				  on_result, sr);
}

static void sql_abort(struct ac_probe_run *run)
{
	struct sql_run *sr = run->state;
	if (!sr)
		return;
	char *waiting = ac_pg_query_waiting(sr->q);
	ac_pg_query_cancel(run->services, sr->q);
	run->state = NULL;
	free(sr);
	if (waiting) {
		/* It never ran: every connection of the pool was busy. */
		ac_sample_set(&run->sample, AC_STATE_ERROR,
			      "no free connection to the database before the deadline");
		run->sample.evidence = waiting;
	} else {
		ac_sample_set(&run->sample, AC_STATE_ERROR,
			      "no answer from the database before the deadline");
	}
	ac_probe_finish(run);
}

const struct ac_probe_kind ac_probe_sql = {
    .name = "sql",
    .summary = "a read-only data-sanity query and what its answer must be",
    .unit = "rows",
    .section = "checks",
    .per_target = false,
    .fields = sql_fields,
    .nfields = AC_ARRAY_LEN(sql_fields),
    .configure = sql_configure,
    .config_destroy = sql_config_destroy,
    .start = sql_start,
    .abort = sql_abort,
};
