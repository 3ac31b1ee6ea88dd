/*
 * pg.c: read-only PostgreSQL queries on the engine's loop (see pg.h).
 */
#include "pg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connq.h"
#include "json.h"
#include "mask.h"
#include "sections.h"

enum qstep { Q_ROLE, Q_BEGIN, Q_QUERY, Q_ROLLBACK };

/* On a fresh connection, before anything else: can this role write? A
 * superuser, or INSERT/UPDATE/DELETE/TRUNCATE on any table or view outside
 * the system schemas. Empty when it cannot. Sent after "SET LOCAL
 * statement_timeout", which holds for this query string only (its implicit
 * transaction): nothing is left set on the session. */
static const char role_check_sql[] =
    "SELECT concat_ws(', ', CASE WHEN r.rolsuper THEN 'is a superuser' END,"
    " (SELECT p || ' on ' || c.oid::regclass::text FROM pg_class c"
    "  CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p"
    "  WHERE c.relkind IN ('r', 'p', 'v', 'f')"
    "  AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, "
    "'information_schema'::regnamespace)"
    "  AND has_table_privilege(c.oid, p) LIMIT 1))"
    " FROM pg_roles r WHERE r.rolname = current_user";

/* The most the gate moves from the server to libpq at a time. */
#define GATE_CHUNK (64 * 1024)

struct ac_pg_query {
	struct ac_connq_req base; /* first: the queue's part */
	char *sql;
	char **params;
	int nparams;
	ac_pg_done_fn done;
	void *ud;
	PGresult *result;  /* the rows kept, or the empty result with the columns */
	long want;	   /* rows wanted (clamped to max_rows) */
	bool want_over;	   /* the caller wanted more than max_rows */
	long nrows;	   /* rows read */
	bool more;	   /* stopped early with more to come */
	char *capped;	   /* stopped at a cap: why */
	uint64_t bytes;	   /* bytes of the result let through to libpq */
	bool done_reading; /* enough rows: stop now */
	char *warning;	   /* the connection's role can write */
	char *wait_note;   /* waited long for a free connection */
};

/* One connection of a database's pool. */
struct conn {
	struct ac_connq_conn base; /* first: the queue's part */
	PGconn *pg;
	int fd;
	enum qstep step;
	bool role_checked; /* on this connection */
	char *role_warning;
	int gate[2]; /* socket pair: libpq reads [0], allclear writes [1] */
};

static void on_io(void *ud, int fd, unsigned revents);
static bool take_results(struct conn *c);

/* The database and the query of a connection. */
static const struct ac_pg_target *T(const struct conn *c)
{
	return c->base.q->server;
}

static struct ac_pg_query *Q(const struct conn *c)
{
	return (struct ac_pg_query *)c->base.req;
}

/* --- the "databases" section --------------------------------------------- */

static const struct ac_field db_fields[] = {
    {"dsn", AC_FT_TEXT, true, offsetof(struct ac_pg_target, dsn),
     "libpq connection string or URI; put the password in ${env:...}"},
    {"connect_timeout", AC_FT_DURATION, false, offsetof(struct ac_pg_target, connect_timeout_ms),
     NULL, .range = AC_RANGE_ABOVE, .min = 0},
    {"statement_timeout", AC_FT_DURATION, false,
     offsetof(struct ac_pg_target, statement_timeout_ms), NULL, .range = AC_RANGE_ABOVE, .min = 0},
    {"lock_timeout", AC_FT_DURATION, false, offsetof(struct ac_pg_target, lock_timeout_ms), NULL,
     .range = AC_RANGE_ABOVE, .min = 0, .def = "\"1s\""},
    {"max_rows", AC_FT_LONG, false, offsetof(struct ac_pg_target, max_rows),
     "rows a query may read", .range = AC_RANGE_MIN, .min = 1, .def = "10000"},
    {"max_result_size", AC_FT_SIZE, false, offsetof(struct ac_pg_target, max_result_size),
     "bytes a query may read", .range = AC_RANGE_MIN, .min = 1024, .def = "\"16MiB\""},
    {"pool_size", AC_FT_INT, false, offsetof(struct ac_pg_target, pool_size), "connections at once",
     .range = AC_RANGE_CLOSED, .min = 1, .max = AC_PG_POOL_SIZE_MAX, .def = "4"},
};
_Static_assert(AC_PG_MAX_ROWS == 10000 && AC_PG_MAX_RESULT_SIZE == 16 * 1024 * 1024 &&
		   AC_PG_POOL_SIZE == 4,
	       "the defaults in db_fields");

const struct ac_field *ac_pg_fields(size_t *n)
{
	*n = AC_ARRAY_LEN(db_fields);
	return db_fields;
}

static bool read_target(struct ac_cfg *cx, const cJSON *obj, const char *path,
			struct ac_pg_target *t)
{
	memset(t, 0, sizeof(*t));
	t->connect_timeout_ms = cx->plan->settings.connect_timeout_ms;
	t->statement_timeout_ms = cx->plan->settings.timeout_ms;
	size_t before = cx->nerrors;
	if (cJSON_IsString(obj)) {
		t->dsn = ac_cfg_expand(cx, path, obj->valuestring);
		ac_cfg_defaults(cx, path, db_fields, AC_ARRAY_LEN(db_fields), t);
	} else {
		ac_cfg_object(cx, obj, path, db_fields, AC_ARRAY_LEN(db_fields), t);
	}
	if (t->dsn) {
		/* A password written into the DSN itself is a secret too. */
		PQconninfoOption *opts = PQconninfoParse(t->dsn, NULL);
		if (!opts && ac_cfg_lint_placeholder(cx, t->dsn)) {
			/* lint without the secret: nothing to check */
		} else if (!opts) {
			ac_cfg_error(cx, path, "cannot parse the DSN");
		} else {
			for (PQconninfoOption *o = opts; o->keyword; o++)
				if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
					ac_mask_add(cx->plan->mask, o->val);
			PQconninfoFree(opts);
		}
	}
	return cx->nerrors == before && t->dsn;
}

void *ac_pg_target_load(struct ac_cfg *cx, const cJSON *entry, const char *name, const char *path)
{
	struct ac_pg_target *t = ac_calloc(1, sizeof(*t));
	if (!read_target(cx, entry, path, t)) {
		ac_pg_target_destroy(t);
		return NULL;
	}
	t->name = ac_strdup(name);
	return t;
}

void ac_pg_target_destroy(void *p)
{
	if (!p)
		return;
	ac_pg_target_release(p);
	free(p);
}

void ac_pg_target_release(struct ac_pg_target *t)
{
	free(t->name);
	free(t->dsn);
	memset(t, 0, sizeof(*t));
}

/* --- connections ------------------------------------------------------------ */

static char *clean_error(const struct conn *c, const char *msg)
{
	/* Masked before it is cut: a secret must not be halved by the cut. */
	return ac_mask_excerpt(c->base.q->mask, msg ? msg : "unknown error", msg ? strlen(msg) : 13,
			       300);
}

/* "postgres \"shop\": <libpq's message, masked>" */
static char *pg_error(const struct conn *c, const char *what, const char *msg)
{
	char *e = clean_error(c, msg);
	char *full = ac_asprintf("postgres \"%s\": %s%s", T(c)->name, what, e);
	free(e);
	return full;
}

static void query_free(struct ac_connq_req *r)
{
	struct ac_pg_query *q = (struct ac_pg_query *)r;
	for (int k = 0; k < q->nparams; k++)
		free(q->params[k]);
	free(q->params);
	free(q->sql);
	free(q->base.error);
	free(q->capped);
	free(q->warning);
	free(q->wait_note);
	PQclear(q->result);
	free(q);
}

static void gate_close(struct conn *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->gate[i] >= 0)
			close(c->gate[i]);
		c->gate[i] = -1;
	}
}

static void conn_init(struct ac_connq_conn *base)
{
	struct conn *c = (struct conn *)base;
	c->fd = -1;
	c->gate[0] = c->gate[1] = -1;
}

static void watch(struct conn *c, unsigned events)
{
	int fd = PQsocket(c->pg);
	if (c->fd >= 0 && c->fd != fd)
		ac_loop_unwatch(c->base.q->loop, c->fd);
	c->fd = fd;
	if (fd >= 0)
		ac_loop_watch(c->base.q->loop, fd, events, on_io, c);
}

static void conn_close(struct ac_connq_conn *base)
{
	struct conn *c = (struct conn *)base;
	gate_close(c);
	if (c->pg) {
		if (c->fd >= 0)
			ac_loop_unwatch(c->base.q->loop, c->fd);
		PQfinish(c->pg);
	}
	c->pg = NULL;
	c->fd = -1;
	c->role_checked = false;
	free(c->role_warning);
	c->role_warning = NULL;
}

static char *wait_text(const struct ac_pg_query *q, int64_t ms)
{
	const struct ac_pg_target *t = q->base.q->server;
	return ac_asprintf("waited %lld ms for a free connection (pool of %d)", (long long)ms,
			   t->pool_size);
}

/* Hand a query its outcome. */
static void query_deliver(struct ac_connq_req *base)
{
	struct ac_pg_query *q = (struct ac_pg_query *)base;
	struct ac_pg_reply r = {.warning = q->warning, .waited_ms = q->base.waited_ms};
	if (q->base.waited_ms > AC_PG_WAIT_NOTE_MS)
		r.wait_note = q->wait_note = wait_text(q, q->base.waited_ms);
	if (q->base.error) {
		r.error = q->base.error;
	} else if (q->capped && !q->result) {
		r.error = q->capped; /* nothing read yet */
	} else if (q->result) {
		r.res = q->result;
		r.nrows = q->nrows;
		r.more = q->more || q->capped;
		r.capped = q->capped;
	} else {
		r.error = "the query returned no result";
	}
	q->done(q->ud, &r);
}

/* Server notices and warnings (RAISE in a function the query calls, the
 * server shutting down) would go to stderr unmasked: a probe never prints. */
static void ignore_notice(void *ud, const char *message)
{
	(void)ud;
	(void)message;
}

static char *conn_open(struct ac_connq_conn *base)
{
	struct conn *c = (struct conn *)base;
	const struct ac_pg_target *t = T(c);
	char ct[32], opts[160];
	/* libpq's own connect_timeout is ignored by PQconnectPoll; ours is the
	 * loop deadline. It still bounds each host try in whole seconds. */
	snprintf(ct, sizeof(ct), "%lld", (long long)((t->connect_timeout_ms + 999) / 1000 + 1));
	snprintf(opts, sizeof(opts),
		 "-c default_transaction_read_only=on -c statement_timeout=%lld",
		 (long long)t->statement_timeout_ms);
	const char *const keys[] = {"dbname", "application_name", "options", "connect_timeout",
				    NULL};
	const char *const vals[] = {t->dsn, "allclear", opts, ct, NULL};
	c->pg = PQconnectStartParams(keys, vals, 1);
	c->fd = -1;
	if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
		char *e = pg_error(c, "", c->pg ? PQerrorMessage(c->pg) : "out of memory");
		conn_close(base);
		return e;
	}
	PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
	watch(c, AC_LOOP_WRITE);
	return NULL;
}

static char *format_size(uint64_t n)
{
	if (n % (1024 * 1024) == 0)
		return ac_asprintf("%llu MiB", (unsigned long long)(n / (1024 * 1024)));
	if (n % 1024 == 0)
		return ac_asprintf("%llu KiB", (unsigned long long)(n / 1024));
	return ac_asprintf("%llu bytes", (unsigned long long)n);
}

static void send_step(struct conn *c)
{
	struct ac_pg_query *q = Q(c);
	const struct ac_pg_target *t = T(c);
	int ok = 0;
	switch (c->step) {
	case Q_ROLE: {
		/* A second at most (a catalog of many tables): it only warns. */
		long long ms = t->statement_timeout_ms < 1000 ? t->statement_timeout_ms : 1000;
		char *sql =
		    ac_asprintf("SET LOCAL statement_timeout = %lld; %s", ms, role_check_sql);
		ok = PQsendQuery(c->pg, sql);
		free(sql);
		break;
	}
	case Q_BEGIN: {
		/* The server stops the query when the check gives up on it: a
		 * longer statement_timeout would leave the backend running (and
		 * one more piling up every round) after the connection is gone. */
		int64_t st = t->statement_timeout_ms;
		int64_t left = q->base.deadline_ms - ac_loop_now(c->base.q->loop);
		if (left < st)
			st = left > 1 ? left : 1;
		char sql[320];
		snprintf(
		    sql, sizeof(sql),
		    "BEGIN READ ONLY; SET LOCAL statement_timeout = %lld; SET LOCAL lock_timeout = "
		    "%lld; SET LOCAL idle_in_transaction_session_timeout = %lld; SET LOCAL "
		    "standard_conforming_strings = on",
		    (long long)st, (long long)t->lock_timeout_ms, (long long)st * 2);
		ok = PQsendQuery(c->pg, sql);
		break;
	}
	case Q_QUERY:
		ok = PQsendQueryParams(c->pg, q->sql, q->nparams, NULL,
				       (const char *const *)q->params, NULL, NULL, 0);
		if (ok) {
			/* Rows one at a time, counted as they come. */
			if (!PQsetSingleRowMode(c->pg) && !q->base.error)
				q->base.error = ac_asprintf(
				    "postgres \"%s\": cannot read rows one at a time", t->name);
			free(q->warning);
			q->warning = c->role_warning ? ac_strdup(c->role_warning) : NULL;
		}
		break;
	case Q_ROLLBACK:
		ok = PQsendQuery(c->pg, "ROLLBACK");
		break;
	}
	if (!ok) {
		ac_connq_fail(&c->base, pg_error(c, "", PQerrorMessage(c->pg)));
		return;
	}
	watch(c, AC_LOOP_READ | (PQflush(c->pg) == 1 ? AC_LOOP_WRITE : 0));
}

/* A query on an open connection: the role check first, once. */
static void conn_send(struct ac_connq_conn *base)
{
	struct conn *c = (struct conn *)base;
	c->step = c->role_checked ? Q_BEGIN : Q_ROLE;
	send_step(c);
}

/* Count one row of a single-row result and keep it if it is among the
 * first, or note that there is more. */
static void take_row(struct conn *c, PGresult *res)
{
	struct ac_pg_query *q = Q(c);
	int nf = PQnfields(res);
	if (q->nrows >= q->want) {
		q->more = true;
		if (q->want_over && !q->capped)
			q->capped = ac_asprintf("postgres \"%s\": result too large (over %ld rows)",
						T(c)->name, T(c)->max_rows);
		q->done_reading = true;
		return;
	}
	bool keep = q->nrows < AC_PG_KEEP_ROWS;
	if (!q->result)
		q->result = PQcopyResult(res, PG_COPYRES_ATTRS);
	for (int k = 0; k < nf && q->result; k++) {
		bool null = PQgetisnull(res, 0, k);
		int len = null ? -1 : PQgetlength(res, 0, k);
		if (keep && !PQsetvalue(q->result, (int)q->nrows, k,
					null ? NULL : PQgetvalue(res, 0, k), len)) {
			if (!q->base.error)
				q->base.error =
				    ac_asprintf("postgres \"%s\": out of memory", T(c)->name);
			q->done_reading = true;
		}
	}
	q->nrows++;
}

static void result_for_step(struct conn *c, PGresult *res)
{
	struct ac_pg_query *q = Q(c);
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (c->step == Q_ROLE) {
		/* Only a warning: a failed check warns of nothing. */
		if (st == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
		    *PQgetvalue(res, 0, 0)) {
			free(c->role_warning);
			char *w = clean_error(c, PQgetvalue(res, 0, 0));
			c->role_warning = ac_asprintf(
			    "the role can write (%s): give allclear a read-only role", w);
			free(w);
		}
		PQclear(res);
		return;
	}
	if (c->step == Q_QUERY && st == PGRES_SINGLE_TUPLE && !q->base.error) {
		take_row(c, res);
		PQclear(res);
		return;
	}
	if (c->step == Q_QUERY && st == PGRES_TUPLES_OK && !q->result && !q->base.error) {
		/* The end of the rows (none in single-row mode; were that mode
		 * refused, all of them: count them, never read them as none). */
		q->result = res;
		q->nrows = PQntuples(res);
		return;
	}
	if (c->step == Q_QUERY &&
	    (st == PGRES_COPY_OUT || st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)) {
		if (!q->base.error)
			q->base.error = ac_asprintf(
			    "postgres \"%s\": COPY is not allowed in a check query", T(c)->name);
	} else if (!ok && c->step != Q_ROLLBACK && !q->base.error) {
		q->base.error = pg_error(c, "", PQresultErrorMessage(res));
	}
	PQclear(res);
}

/* --- the gate: libpq reads the server's bytes only as allclear lets it ------
 *
 * libpq reads all the socket holds, and once told a row is long, up to that
 * row's length in one PQconsumeInput. To stop at a byte cap, the server's
 * bytes are moved (at most GATE_CHUNK at a time, counted) into a socket
 * pair, and for each PQconsumeInput the pair's end takes the place of the
 * connection's descriptor (dup3), which is put back right after. libpq only
 * reads then: its queries are sent, and PQflush'ed, before; anything it
 * still wrote into the pair is passed on to the server.
 */

static size_t gate_held(const struct conn *c)
{
	int n = 0;
	if (c->gate[0] < 0 || ioctl(c->gate[0], FIONREAD, &n) != 0 || n < 0)
		return 0;
	return (size_t)n;
}

/* Let libpq read what the gate holds, or else up to limit new bytes from the
 * server (added to *moved). 1: read; 0: the connection failed (libpq's
 * message); -1: the gate failed (errno). */
static int gate_consume(struct conn *c, size_t limit, uint64_t *moved)
{
	static char buf[GATE_CHUNK];
	if (c->gate[0] < 0 &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, c->gate) != 0) {
		c->gate[0] = c->gate[1] = -1;
		return -1;
	}
	if (gate_held(c) == 0) {
		ssize_t n =
		    recv(c->fd, buf, limit < sizeof(buf) ? limit : sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 1; /* nothing yet */
		if (n <= 0)
			return PQconsumeInput(c->pg); /* the end, or an error: libpq says which */
		if (write(c->gate[1], buf, (size_t)n) != n)
			return -1;
		*moved += (uint64_t)n;
	}
	int saved = fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
	if (saved < 0)
		return -1;
	if (dup3(c->gate[0], c->fd, O_CLOEXEC) < 0) {
		close(saved);
		return -1;
	}
	int ok = PQconsumeInput(c->pg);
	int back = dup3(saved, c->fd, O_CLOEXEC);
	close(saved);
	if (back < 0)
		return -1;
	ssize_t w = recv(c->gate[1], buf, sizeof(buf), MSG_DONTWAIT);
	if (w > 0 && send(c->fd, buf, (size_t)w, MSG_DONTWAIT | MSG_NOSIGNAL) != w)
		return -1;
	return ok;
}

/* Over the byte cap before reading more? Then stop. */
static bool over_byte_cap(struct conn *c)
{
	struct ac_pg_query *q = Q(c);
	const struct ac_pg_target *t = T(c);
	if (q->bytes <= t->max_result_size)
		return false;
	if (q->nrows >= q->want) {
		q->more = true; /* the rows wanted are all in */
	} else if (!q->capped && !q->base.error) {
		char *sz = format_size(t->max_result_size);
		q->capped = ac_asprintf("postgres \"%s\": result too large (over %s)", t->name, sz);
		free(sz);
	}
	return true;
}

static void on_connecting(struct conn *c)
{
	PostgresPollingStatusType st = PQconnectPoll(c->pg);
	if (st == PGRES_POLLING_OK) {
		PQsetnonblocking(c->pg, 1);
		watch(c, 0);
		ac_connq_opened(&c->base);
	} else if (st == PGRES_POLLING_FAILED) {
		ac_connq_open_failed(&c->base, pg_error(c, "", PQerrorMessage(c->pg)));
	} else {
		watch(c, st == PGRES_POLLING_READING ? AC_LOOP_READ : AC_LOOP_WRITE);
	}
}

static void on_io(void *ud, int fd, unsigned revents)
{
	struct conn *c = ud;
	(void)fd;
	(void)revents;
	if (c->base.state == AC_CONNQ_CONNECTING) {
		on_connecting(c);
		return;
	}
	if (c->base.state != AC_CONNQ_BUSY)
		return;
	if (PQflush(c->pg) == 1) {
		watch(c, AC_LOOP_READ | AC_LOOP_WRITE);
		return;
	}
	do {
		size_t limit = GATE_CHUNK;
		if (c->step == Q_QUERY) {
			if (over_byte_cap(c)) {
				/* A half-read result cannot stay on the connection. */
				ac_connq_done(&c->base, false);
				return;
			}
			/* At most one byte past the cap reaches libpq. */
			uint64_t room = T(c)->max_result_size + 1 - Q(c)->bytes;
			if (room < limit)
				limit = (size_t)room;
		}
		uint64_t moved = 0;
		int rc = gate_consume(c, limit, &moved);
		if (c->step == Q_QUERY)
			Q(c)->bytes += moved;
		if (rc <= 0) {
			char *e =
			    rc < 0 ? ac_asprintf("reading failed: %s", strerror(errno)) : NULL;
			ac_connq_fail(&c->base, pg_error(c, "connection lost: ",
							 e ? e : PQerrorMessage(c->pg)));
			free(e);
			return;
		}
		if (!take_results(c))
			return;
	} while (gate_held(c) > 0);
	watch(c, AC_LOOP_READ);
}

/* Take the results libpq has; false when the connection moved on (the next
 * step was sent, or the query delivered). */
static bool take_results(struct conn *c)
{
	while (!PQisBusy(c->pg)) {
		PGresult *res = PQgetResult(c->pg);
		if (res) {
			result_for_step(c, res);
			if (c->step == Q_QUERY && Q(c)->done_reading) {
				/* Enough rows: stop reading and close (see above). */
				ac_connq_done(&c->base, false);
				return false;
			}
			continue;
		}
		/* The command of this step is complete. */
		if (c->step == Q_ROLE) {
			c->role_checked = true;
			c->step = Q_BEGIN;
		} else if (c->step == Q_BEGIN) {
			c->step = Q(c)->base.error ? Q_ROLLBACK : Q_QUERY;
		} else if (c->step == Q_QUERY) {
			c->step = Q_ROLLBACK;
		} else {
			watch(c, 0);
			ac_connq_done(&c->base, true);
			return false;
		}
		send_step(c);
		return false;
	}
	return true;
}

static const struct ac_connq_ops pg_ops = {
    .conn_size = sizeof(struct conn),
    .conn_init = conn_init,
    .open = conn_open,
    .send = conn_send,
    .close = conn_close,
    .deliver = query_deliver,
    .req_free = query_free,
    .server_free = ac_pg_target_destroy,
    .timeout_text = "no answer before the deadline; connection closed",
};

static bool same_dsn(const void *server, const void *key)
{
	return strcmp(((const struct ac_pg_target *)server)->dsn, key) == 0;
}

/* The queue of db's DSN, made on first use with a copy of db. */
static struct ac_connq *queue_of(struct ac_services *sv, const struct ac_pg_target *db)
{
	struct ac_connq_set *set = ac_connq_set_get(sv, AC_SERVICE_PG);
	struct ac_connq *q = ac_connq_find(set, same_dsn, db->dsn);
	if (q)
		return q;
	struct ac_pg_target *t = ac_calloc(1, sizeof(*t));
	*t = *db;
	t->name = ac_strdup(db->name);
	t->dsn = ac_strdup(db->dsn);
	if (t->max_rows < 1)
		t->max_rows = AC_PG_MAX_ROWS;
	if (t->max_result_size < 1)
		t->max_result_size = AC_PG_MAX_RESULT_SIZE;
	if (t->pool_size < 1)
		t->pool_size = AC_PG_POOL_SIZE;
	return ac_connq_add(set, &pg_ops, t, ac_asprintf("postgres \"%s\"", t->name),
			    t->connect_timeout_ms, (size_t)t->pool_size);
}

struct ac_pg_query *ac_pg_query_start(struct ac_services *sv, const struct ac_pg_target *db,
				      const char *sql, int nparams, const char *const *params,
				      long want_rows, int64_t deadline_ms, ac_pg_done_fn done,
				      void *ud)
{
	struct ac_connq *cq = queue_of(sv, db);
	const struct ac_pg_target *t = cq->server;
	struct ac_pg_query *q = ac_calloc(1, sizeof(*q));
	q->sql = ac_strdup(sql);
	q->nparams = nparams;
	q->params = nparams ? ac_calloc((size_t)nparams, sizeof(char *)) : NULL;
	for (int i = 0; i < nparams; i++)
		q->params[i] = ac_strdup(params[i]);
	q->want = want_rows < 1 ? 1 : want_rows;
	if (q->want > t->max_rows) {
		q->want = t->max_rows;
		q->want_over = true;
	}
	q->base.deadline_ms = deadline_ms;
	q->done = done;
	q->ud = ud;
	ac_connq_submit(cq, &q->base);
	return q;
}

void ac_pg_query_cancel(struct ac_services *sv, struct ac_pg_query *q)
{
	if (!sv->slot[AC_SERVICE_PG] || !q)
		return;
	ac_connq_cancel(&q->base);
}

char *ac_pg_query_waiting(const struct ac_pg_query *q)
{
	if (!q || q->base.conn || q->base.later)
		return NULL;
	return wait_text(q, ac_loop_now(q->base.q->loop) - q->base.queued_ms);
}
