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

#include "json.h"
#include "mask.h"
#include "sections.h"

enum conn_state { C_DOWN, C_CONNECTING, C_IDLE, C_BUSY };
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
	struct conn *c;
	char *sql;
	char **params;
	int nparams;
	int64_t deadline_ms;
	ac_pg_done_fn done;
	void *ud;
	struct ac_pg_query *next;
	PGresult *result; /* the rows kept, or the empty result with the columns */
	char *error;
	long want;	   /* rows wanted (clamped to max_rows) */
	bool want_over;	   /* the caller wanted more than max_rows */
	long nrows;	   /* rows read */
	bool more;	   /* stopped early with more to come */
	char *capped;	   /* stopped at a cap: why */
	uint64_t bytes;	   /* bytes of the result let through to libpq */
	bool done_reading; /* enough rows: stop now */
	char *warning;	   /* the connection's role can write */
};

struct pool;

struct conn {
	struct pool *pool;
	struct ac_pg_target t;
	PGconn *pg;
	enum conn_state state;
	int fd;
	struct ac_timer timer;
	struct ac_pg_query *head, *tail;
	enum qstep step;
	char *pending_error; /* fail the queue with this on the next tick */
	bool role_checked;   /* on this connection */
	char *role_warning;
	int gate[2]; /* socket pair: libpq reads [0], allclear writes [1] */
};

struct pool {
	struct ac_loop *loop;
	struct ac_mask *mask;
	struct conn **conns;
	size_t n;
};

static void kick(struct conn *c);
static void on_io(void *ud, int fd, unsigned revents);
static bool take_results(struct conn *c);

/* --- the "databases" section --------------------------------------------- */

static const struct ac_field db_fields[] = {
    {"dsn", AC_FT_TEXT, true, offsetof(struct ac_pg_target, dsn),
     "libpq connection string or URI; put the password in ${env:...}"},
    {"connect_timeout", AC_FT_DURATION, false, offsetof(struct ac_pg_target, connect_timeout_ms),
     NULL},
    {"statement_timeout", AC_FT_DURATION, false,
     offsetof(struct ac_pg_target, statement_timeout_ms), NULL},
    {"lock_timeout", AC_FT_DURATION, false, offsetof(struct ac_pg_target, lock_timeout_ms), NULL},
    {"max_rows", AC_FT_LONG, false, offsetof(struct ac_pg_target, max_rows),
     "rows a query may read (default 10000)"},
    {"max_result_size", AC_FT_SIZE, false, offsetof(struct ac_pg_target, max_result_size),
     "bytes a query may read (default 16MiB)"},
};

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
	t->lock_timeout_ms = 1000;
	t->max_rows = AC_PG_MAX_ROWS;
	t->max_result_size = AC_PG_MAX_RESULT_SIZE;
	size_t before = cx->nerrors;
	if (cJSON_IsString(obj)) {
		t->dsn = ac_cfg_expand(cx, path, obj->valuestring);
	} else if (ac_cfg_want_object(cx, obj, path)) {
		ac_cfg_keys1(cx, obj, path, db_fields, AC_ARRAY_LEN(db_fields));
		ac_cfg_read(cx, obj, path, db_fields, AC_ARRAY_LEN(db_fields), t);
	}
	if (t->dsn) {
		/* A password written into the DSN itself is a secret too. */
		PQconninfoOption *opts = PQconninfoParse(t->dsn, NULL);
		if (!opts) {
			ac_cfg_error(cx, path, "cannot parse the DSN");
		} else {
			for (PQconninfoOption *o = opts; o->keyword; o++)
				if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
					ac_mask_add(cx->plan->mask, o->val);
			PQconninfoFree(opts);
		}
	}
	if (t->connect_timeout_ms < 1 || t->statement_timeout_ms < 1 || t->lock_timeout_ms < 1)
		ac_cfg_error(cx, path, "timeouts must be positive");
	if (t->max_rows < 1)
		ac_cfg_error(cx, path, "max_rows must be at least 1");
	if (t->max_result_size < 1024)
		ac_cfg_error(cx, path, "max_result_size must be at least 1KiB");
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

const struct ac_pg_target *ac_pg_target_find(struct ac_cfg *cx, const cJSON *name, const char *path)
{
	return ac_section_find(cx, "databases", name, path);
}

void ac_pg_target_release(struct ac_pg_target *t)
{
	free(t->name);
	free(t->dsn);
	memset(t, 0, sizeof(*t));
}

/* --- connections ------------------------------------------------------------ */

static char *clean_error(struct pool *pool, const char *msg)
{
	/* Masked before it is cut: a secret must not be halved by the cut. */
	return ac_mask_excerpt(pool->mask, msg ? msg : "unknown error", msg ? strlen(msg) : 13,
			       300);
}

static void free_query(struct ac_pg_query *q)
{
	for (int k = 0; k < q->nparams; k++)
		free(q->params[k]);
	free(q->params);
	free(q->sql);
	free(q->error);
	free(q->capped);
	free(q->warning);
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

static void pool_destroy(void *p)
{
	struct pool *pool = p;
	if (!pool)
		return;
	for (size_t i = 0; i < pool->n; i++) {
		struct conn *c = pool->conns[i];
		ac_loop_timer_stop(pool->loop, &c->timer);
		if (c->pg) {
			if (c->fd >= 0)
				ac_loop_unwatch(pool->loop, c->fd);
			PQfinish(c->pg);
		}
		gate_close(c);
		while (c->head) {
			struct ac_pg_query *q = c->head;
			c->head = q->next;
			free_query(q);
		}
		free(c->pending_error);
		free(c->role_warning);
		ac_pg_target_release(&c->t);
		free(c);
	}
	free(pool->conns);
	free(pool);
}

static struct pool *pool_get(struct ac_services *sv)
{
	if (!sv->slot[AC_SERVICE_PG]) {
		struct pool *pool = ac_calloc(1, sizeof(*pool));
		pool->loop = sv->loop;
		pool->mask = sv->mask;
		sv->slot[AC_SERVICE_PG] = pool;
		sv->destroy[AC_SERVICE_PG] = pool_destroy;
	}
	return sv->slot[AC_SERVICE_PG];
}

static void watch(struct conn *c, unsigned events)
{
	int fd = PQsocket(c->pg);
	if (c->fd >= 0 && c->fd != fd)
		ac_loop_unwatch(c->pool->loop, c->fd);
	c->fd = fd;
	if (fd >= 0)
		ac_loop_watch(c->pool->loop, fd, events, on_io, c);
}

static void drop(struct conn *c)
{
	gate_close(c);
	if (c->pg) {
		if (c->fd >= 0)
			ac_loop_unwatch(c->pool->loop, c->fd);
		PQfinish(c->pg);
	}
	c->pg = NULL;
	c->fd = -1;
	c->state = C_DOWN;
	c->role_checked = false;
	free(c->role_warning);
	c->role_warning = NULL;
	ac_loop_timer_stop(c->pool->loop, &c->timer);
}

/* Hand the head query its outcome and move on. */
static void deliver_head(struct conn *c)
{
	struct ac_pg_query *q = c->head;
	c->head = q->next;
	if (!c->head)
		c->tail = NULL;
	struct ac_pg_reply r = {.warning = q->warning};
	if (q->error) {
		r.error = q->error;
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
	free_query(q);
}

static void fail_all(struct conn *c, const char *why)
{
	while (c->head) {
		if (!c->head->error)
			c->head->error = ac_strdup(why);
		deliver_head(c);
	}
}

static void on_timer(void *ud)
{
	struct conn *c = ud;
	struct pool *pool = c->pool;
	if (c->pending_error) {
		char *e = c->pending_error;
		c->pending_error = NULL;
		fail_all(c, e);
		free(e);
		return;
	}
	if (c->state == C_CONNECTING) {
		char *e = ac_asprintf("postgres \"%s\": connect timeout after %lld ms", c->t.name,
				      (long long)c->t.connect_timeout_ms);
		drop(c);
		fail_all(c, e);
		free(e);
		return;
	}
	if (c->state == C_BUSY && c->head) {
		/* Close rather than PQcancel (which blocks); the server's own
		 * statement_timeout ends the statement. */
		c->head->error = ac_asprintf("postgres \"%s\": no answer before the deadline; "
					     "connection closed",
					     c->t.name);
		drop(c);
		deliver_head(c);
		kick(c);
	}
	(void)pool;
}

static void arm(struct conn *c, int64_t due)
{
	ac_loop_timer_start(c->pool->loop, &c->timer, due, on_timer, c);
}

/* Server notices and warnings (RAISE in a function the query calls, the
 * server shutting down) would go to stderr unmasked: a probe never prints. */
static void ignore_notice(void *ud, const char *message)
{
	(void)ud;
	(void)message;
}

static void connect_start(struct conn *c)
{
	char ct[32], opts[160];
	/* libpq's own connect_timeout is ignored by PQconnectPoll; ours is the
	 * loop deadline. It still bounds each host try in whole seconds. */
	snprintf(ct, sizeof(ct), "%lld", (long long)((c->t.connect_timeout_ms + 999) / 1000 + 1));
	snprintf(opts, sizeof(opts),
		 "-c default_transaction_read_only=on -c statement_timeout=%lld",
		 (long long)c->t.statement_timeout_ms);
	const char *const keys[] = {"dbname", "application_name", "options", "connect_timeout",
				    NULL};
	const char *const vals[] = {c->t.dsn, "allclear", opts, ct, NULL};
	c->pg = PQconnectStartParams(keys, vals, 1);
	c->fd = -1;
	if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
		char *e = clean_error(c->pool, c->pg ? PQerrorMessage(c->pg) : "out of memory");
		drop(c);
		c->pending_error = ac_asprintf("postgres \"%s\": %s", c->t.name, e);
		free(e);
		arm(c, ac_loop_now(c->pool->loop));
		return;
	}
	PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
	c->state = C_CONNECTING;
	watch(c, AC_LOOP_WRITE);
	int64_t due = ac_loop_now(c->pool->loop) + c->t.connect_timeout_ms;
	if (c->head && c->head->deadline_ms < due)
		due = c->head->deadline_ms;
	arm(c, due);
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
	struct ac_pg_query *q = c->head;
	int ok = 0;
	switch (c->step) {
	case Q_ROLE: {
		/* A second at most (a catalog of many tables): it only warns. */
		long long ms = c->t.statement_timeout_ms < 1000 ? c->t.statement_timeout_ms : 1000;
		char *sql =
		    ac_asprintf("SET LOCAL statement_timeout = %lld; %s", ms, role_check_sql);
		ok = PQsendQuery(c->pg, sql);
		free(sql);
		break;
	}
	case Q_BEGIN: {
		char sql[320];
		snprintf(
		    sql, sizeof(sql),
		    "BEGIN READ ONLY; SET LOCAL statement_timeout = %lld; SET LOCAL lock_timeout = "
		    "%lld; SET LOCAL idle_in_transaction_session_timeout = %lld; SET LOCAL "
		    "standard_conforming_strings = on",
		    (long long)c->t.statement_timeout_ms, (long long)c->t.lock_timeout_ms,
		    (long long)c->t.statement_timeout_ms * 2);
		ok = PQsendQuery(c->pg, sql);
		break;
	}
	case Q_QUERY:
		ok = PQsendQueryParams(c->pg, q->sql, q->nparams, NULL,
				       (const char *const *)q->params, NULL, NULL, 0);
		if (ok) {
			/* Rows one at a time, counted as they come. */
			if (!PQsetSingleRowMode(c->pg) && !q->error)
				q->error = ac_asprintf(
				    "postgres \"%s\": cannot read rows one at a time", c->t.name);
			free(q->warning);
			q->warning = c->role_warning ? ac_strdup(c->role_warning) : NULL;
		}
		break;
	case Q_ROLLBACK:
		ok = PQsendQuery(c->pg, "ROLLBACK");
		break;
	}
	if (!ok) {
		if (!q->error) {
			char *e = clean_error(c->pool, PQerrorMessage(c->pg));
			q->error = ac_asprintf("postgres \"%s\": %s", c->t.name, e);
			free(e);
		}
		drop(c);
		deliver_head(c);
		kick(c);
		return;
	}
	watch(c, AC_LOOP_READ | (PQflush(c->pg) == 1 ? AC_LOOP_WRITE : 0));
}

static void kick(struct conn *c)
{
	if (!c->head)
		return;
	if (c->state == C_DOWN && !c->pending_error) {
		connect_start(c);
	} else if (c->state == C_IDLE) {
		c->state = C_BUSY;
		c->step = c->role_checked ? Q_BEGIN : Q_ROLE;
		arm(c, c->head->deadline_ms);
		send_step(c);
	}
}

/* Count one row of a single-row result and keep it if it is among the
 * first, or note that there is more. */
static void take_row(struct conn *c, PGresult *res)
{
	struct ac_pg_query *q = c->head;
	int nf = PQnfields(res);
	if (q->nrows >= q->want) {
		q->more = true;
		if (q->want_over && !q->capped)
			q->capped = ac_asprintf("postgres \"%s\": result too large (over %ld rows)",
						c->t.name, c->t.max_rows);
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
			if (!q->error)
				q->error = ac_asprintf("postgres \"%s\": out of memory", c->t.name);
			q->done_reading = true;
		}
	}
	q->nrows++;
}

static void result_for_step(struct conn *c, PGresult *res)
{
	struct ac_pg_query *q = c->head;
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (c->step == Q_ROLE) {
		/* Only a warning: a failed check warns of nothing. */
		if (st == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
		    *PQgetvalue(res, 0, 0)) {
			free(c->role_warning);
			char *w = clean_error(c->pool, PQgetvalue(res, 0, 0));
			c->role_warning = ac_asprintf(
			    "the role can write (%s): give allclear a read-only role", w);
			free(w);
		}
		PQclear(res);
		return;
	}
	if (c->step == Q_QUERY && st == PGRES_SINGLE_TUPLE && !q->error) {
		take_row(c, res);
		PQclear(res);
		return;
	}
	if (c->step == Q_QUERY && st == PGRES_TUPLES_OK && !q->result && !q->error) {
		/* The end of the rows (none in single-row mode; were that mode
		 * refused, all of them: count them, never read them as none). */
		q->result = res;
		q->nrows = PQntuples(res);
		return;
	}
	if (c->step == Q_QUERY &&
	    (st == PGRES_COPY_OUT || st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)) {
		if (!q->error)
			q->error = ac_asprintf(
			    "postgres \"%s\": COPY is not allowed in a check query", c->t.name);
	} else if (!ok && c->step != Q_ROLLBACK && !q->error) {
		char *e = clean_error(c->pool, PQresultErrorMessage(res));
		q->error = ac_asprintf("postgres \"%s\": %s", c->t.name, e);
		free(e);
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

/* Stop reading the result: close the connection (a half-read result
 * cannot stay on it), hand over what was read, and move on. */
static void stop_reading(struct conn *c)
{
	drop(c);
	deliver_head(c);
	kick(c);
}

/* Over the byte cap before reading more? Then stop. */
static bool over_byte_cap(struct conn *c)
{
	struct ac_pg_query *q = c->head;
	if (q->bytes <= c->t.max_result_size)
		return false;
	if (q->nrows >= q->want) {
		q->more = true; /* the rows wanted are all in */
	} else if (!q->capped && !q->error) {
		char *sz = format_size(c->t.max_result_size);
		q->capped =
		    ac_asprintf("postgres \"%s\": result too large (over %s)", c->t.name, sz);
		free(sz);
	}
	return true;
}

static void on_io(void *ud, int fd, unsigned revents)
{
	struct conn *c = ud;
	(void)fd;
	(void)revents;
	if (c->state == C_CONNECTING) {
		PostgresPollingStatusType st = PQconnectPoll(c->pg);
		if (st == PGRES_POLLING_OK) {
			PQsetnonblocking(c->pg, 1);
			ac_loop_timer_stop(c->pool->loop, &c->timer);
			watch(c, 0);
			c->state = C_IDLE;
			kick(c);
		} else if (st == PGRES_POLLING_FAILED) {
			char *e = clean_error(c->pool, PQerrorMessage(c->pg));
			char *why = ac_asprintf("postgres \"%s\": %s", c->t.name, e);
			drop(c);
			fail_all(c, why);
			free(why);
			free(e);
		} else {
			watch(c, st == PGRES_POLLING_READING ? AC_LOOP_READ : AC_LOOP_WRITE);
		}
		return;
	}
	if (c->state != C_BUSY)
		return;
	if (PQflush(c->pg) == 1) {
		watch(c, AC_LOOP_READ | AC_LOOP_WRITE);
		return;
	}
	do {
		size_t limit = GATE_CHUNK;
		if (c->step == Q_QUERY) {
			if (over_byte_cap(c)) {
				stop_reading(c);
				return;
			}
			/* At most one byte past the cap reaches libpq. */
			uint64_t room = c->t.max_result_size + 1 - c->head->bytes;
			if (room < limit)
				limit = (size_t)room;
		}
		uint64_t moved = 0;
		int rc = gate_consume(c, limit, &moved);
		if (c->step == Q_QUERY)
			c->head->bytes += moved;
		if (rc <= 0) {
			char *e = rc < 0 ? ac_asprintf("reading failed: %s", strerror(errno))
					 : clean_error(c->pool, PQerrorMessage(c->pg));
			if (!c->head->error)
				c->head->error = ac_asprintf("postgres \"%s\": connection lost: %s",
							     c->t.name, e);
			free(e);
			drop(c);
			deliver_head(c);
			kick(c);
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
			if (c->step == Q_QUERY && c->head->done_reading) {
				stop_reading(c);
				return false;
			}
			continue;
		}
		/* The command of this step is complete. */
		if (c->step == Q_ROLE) {
			c->role_checked = true;
			c->step = Q_BEGIN;
		} else if (c->step == Q_BEGIN) {
			c->step = c->head->error ? Q_ROLLBACK : Q_QUERY;
		} else if (c->step == Q_QUERY) {
			c->step = Q_ROLLBACK;
		} else {
			ac_loop_timer_stop(c->pool->loop, &c->timer);
			c->state = C_IDLE;
			watch(c, 0);
			deliver_head(c);
			kick(c);
			return false;
		}
		send_step(c);
		return false;
	}
	return true;
}

struct ac_pg_query *ac_pg_query_start(struct ac_services *sv, const struct ac_pg_target *db,
				      const char *sql, int nparams, const char *const *params,
				      long want_rows, int64_t deadline_ms, ac_pg_done_fn done,
				      void *ud)
{
	struct pool *pool = pool_get(sv);
	struct conn *c = NULL;
	for (size_t i = 0; i < pool->n && !c; i++)
		if (strcmp(pool->conns[i]->t.dsn, db->dsn) == 0)
			c = pool->conns[i];
	if (!c) {
		c = ac_calloc(1, sizeof(*c));
		c->pool = pool;
		c->fd = -1;
		c->gate[0] = c->gate[1] = -1;
		c->t.name = ac_strdup(db->name);
		c->t.dsn = ac_strdup(db->dsn);
		c->t.connect_timeout_ms = db->connect_timeout_ms;
		c->t.statement_timeout_ms = db->statement_timeout_ms;
		c->t.lock_timeout_ms = db->lock_timeout_ms;
		c->t.max_rows = db->max_rows > 0 ? db->max_rows : AC_PG_MAX_ROWS;
		c->t.max_result_size =
		    db->max_result_size > 0 ? db->max_result_size : AC_PG_MAX_RESULT_SIZE;
		pool->conns = ac_realloc(pool->conns, (pool->n + 1) * sizeof(*pool->conns));
		pool->conns[pool->n++] = c;
	}
	struct ac_pg_query *q = ac_calloc(1, sizeof(*q));
	q->c = c;
	q->sql = ac_strdup(sql);
	q->nparams = nparams;
	q->params = nparams ? ac_calloc((size_t)nparams, sizeof(char *)) : NULL;
	for (int i = 0; i < nparams; i++)
		q->params[i] = ac_strdup(params[i]);
	q->want = want_rows < 1 ? 1 : want_rows;
	if (q->want > c->t.max_rows) {
		q->want = c->t.max_rows;
		q->want_over = true;
	}
	q->deadline_ms = deadline_ms;
	q->done = done;
	q->ud = ud;
	if (c->tail)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
	kick(c);
	return q;
}

void ac_pg_query_cancel(struct ac_services *sv, struct ac_pg_query *q)
{
	struct pool *pool = sv->slot[AC_SERVICE_PG];
	if (!pool || !q)
		return;
	struct conn *c = q->c;
	if (c->head == q && (c->state == C_BUSY || c->state == C_CONNECTING)) {
		/* In flight: the connection cannot be trusted mid-query. */
		drop(c);
		c->head = q->next;
		if (!c->head)
			c->tail = NULL;
		free_query(q);
		kick(c);
		return;
	}
	struct ac_pg_query **pp = &c->head, *prev = NULL;
	while (*pp && *pp != q) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp) {
		*pp = q->next;
		if (c->tail == q)
			c->tail = prev;
		free_query(q);
	}
}
