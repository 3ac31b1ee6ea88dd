/*
 * connq.c: requests queued for a server's connections (see connq.h).
 */
#include "connq.h"

#include <stdlib.h>

#include "util.h"

struct ac_connq_set {
	struct ac_loop *loop;
	struct ac_mask *mask;
	struct ac_connq **qs;
	size_t n;
};

static void dispatch(struct ac_connq *q);

static void append(struct ac_connq_req **head, struct ac_connq_req **tail, struct ac_connq_req *r)
{
	r->next = NULL;
	if (*tail)
		(*tail)->next = r;
	else
		*head = r;
	*tail = r;
}

/* --- delivering ------------------------------------------------------------ */

static void deliver_now(struct ac_connq_req *r)
{
	const struct ac_connq_ops *ops = r->q->ops;
	ops->deliver(r);
	ops->req_free(r);
}

static void on_later(void *ud)
{
	struct ac_connq *q = ud;
	while (q->later) {
		struct ac_connq_req *r = q->later;
		q->later = r->next;
		if (!q->later)
			q->later_tail = NULL;
		deliver_now(r);
	}
}

/* Deliver r, but never from inside ac_connq_submit: go through the loop. */
static void deliver(struct ac_connq_req *r)
{
	struct ac_connq *q = r->q;
	r->conn = NULL;
	r->next = NULL;
	if (!q->submitting) {
		deliver_now(r);
		return;
	}
	r->later = true;
	append(&q->later, &q->later_tail, r);
	ac_loop_timer_start(q->loop, &q->later_timer, ac_loop_now(q->loop), on_later, q);
}

static void set_error(struct ac_connq_req *r, char *error)
{
	if (r->error)
		free(error);
	else
		r->error = error;
}

/* c's request, and every request waiting, end with why (their own earlier
 * errors win). */
static void fail_all(struct ac_connq_conn *c, const char *why)
{
	struct ac_connq *q = c->q;
	struct ac_connq_req *r = c->req, *waiting = q->head;
	c->req = NULL;
	q->head = q->tail = NULL;
	if (r) {
		set_error(r, ac_strdup(why));
		deliver(r);
	}
	while (waiting) {
		r = waiting;
		waiting = r->next;
		set_error(r, ac_strdup(why));
		deliver(r);
	}
}

/* --- connections ------------------------------------------------------------ */

static void close_conn(struct ac_connq_conn *c)
{
	c->q->ops->close(c);
	c->state = AC_CONNQ_DOWN;
	ac_loop_timer_stop(c->q->loop, &c->timer);
}

static void on_timer(void *ud)
{
	struct ac_connq_conn *c = ud;
	struct ac_connq *q = c->q;
	if (c->pending_error) {
		char *e = c->pending_error;
		c->pending_error = NULL;
		fail_all(c, e);
		free(e);
	} else if (c->state == AC_CONNQ_CONNECTING) {
		const char *stage = q->ops->connect_stage ? q->ops->connect_stage(c) : NULL;
		char *e = ac_asprintf("%s: connect timeout after %lld ms%s%s%s", q->label,
				      (long long)q->connect_timeout_ms, stage ? " (" : "",
				      stage ? stage : "", stage ? ")" : "");
		close_conn(c);
		fail_all(c, e);
		free(e);
	} else if (c->state == AC_CONNQ_BUSY && c->req) {
		ac_connq_fail(c, ac_asprintf("%s: %s", q->label, q->ops->timeout_text));
		return;
	}
	dispatch(q);
}

static void arm(struct ac_connq_conn *c, int64_t due)
{
	ac_loop_timer_start(c->q->loop, &c->timer, due, on_timer, c);
}

static void start_request(struct ac_connq_conn *c)
{
	c->state = AC_CONNQ_BUSY;
	arm(c, c->req->deadline_ms);
	c->q->ops->send(c);
}

static void open_conn(struct ac_connq_conn *c)
{
	struct ac_connq *q = c->q;
	char *e = q->ops->open(c);
	if (e) {
		/* Fail from the loop, not from inside whoever asked. */
		c->state = AC_CONNQ_DOWN;
		c->pending_error = e;
		arm(c, ac_loop_now(q->loop));
		return;
	}
	c->state = AC_CONNQ_CONNECTING;
	int64_t due = ac_loop_now(q->loop) + q->connect_timeout_ms;
	if (c->req && c->req->deadline_ms < due)
		due = c->req->deadline_ms;
	arm(c, due);
}

/* An open idle connection, else a closed one, else a new one (up to
 * max_conns); NULL when all are taken. */
static struct ac_connq_conn *free_conn(struct ac_connq *q)
{
	for (size_t i = 0; i < q->nconns; i++)
		if (q->conns[i]->state == AC_CONNQ_IDLE && !q->conns[i]->req)
			return q->conns[i];
	for (size_t i = 0; i < q->nconns; i++) {
		struct ac_connq_conn *c = q->conns[i];
		if (c->state == AC_CONNQ_DOWN && !c->req && !c->pending_error)
			return c;
	}
	if (q->nconns >= q->max_conns)
		return NULL;
	struct ac_connq_conn *c = ac_calloc(1, q->ops->conn_size);
	c->q = q;
	if (q->ops->conn_init)
		q->ops->conn_init(c);
	q->conns = ac_realloc(q->conns, (q->nconns + 1) * sizeof(*q->conns));
	q->conns[q->nconns++] = c;
	return c;
}

/* Give waiting requests the free connections, in order. */
static void dispatch(struct ac_connq *q)
{
	struct ac_connq_conn *c;
	while (q->head && (c = free_conn(q))) {
		struct ac_connq_req *r = q->head;
		q->head = r->next;
		if (!q->head)
			q->tail = NULL;
		r->next = NULL;
		r->conn = c;
		r->waited_ms = ac_loop_now(q->loop) - r->queued_ms;
		c->req = r;
		if (c->state == AC_CONNQ_IDLE)
			start_request(c);
		else
			open_conn(c);
	}
}

void ac_connq_opened(struct ac_connq_conn *c)
{
	ac_loop_timer_stop(c->q->loop, &c->timer);
	c->state = AC_CONNQ_IDLE;
	if (c->req)
		start_request(c);
	else
		dispatch(c->q);
}

void ac_connq_open_failed(struct ac_connq_conn *c, char *why)
{
	close_conn(c);
	fail_all(c, why);
	free(why);
	dispatch(c->q);
}

void ac_connq_done(struct ac_connq_conn *c, bool keep_open)
{
	struct ac_connq_req *r = c->req;
	c->req = NULL;
	if (keep_open) {
		ac_loop_timer_stop(c->q->loop, &c->timer);
		c->state = AC_CONNQ_IDLE;
	} else {
		close_conn(c);
	}
	struct ac_connq *q = c->q;
	if (r)
		deliver(r);
	dispatch(q);
}

void ac_connq_fail(struct ac_connq_conn *c, char *error)
{
	if (c->req)
		set_error(c->req, error);
	else
		free(error);
	ac_connq_done(c, false);
}

/* --- requests --------------------------------------------------------------- */

void ac_connq_submit(struct ac_connq *q, struct ac_connq_req *r)
{
	r->q = q;
	r->queued_ms = ac_loop_now(q->loop);
	append(&q->head, &q->tail, r);
	bool was = q->submitting;
	q->submitting = true;
	dispatch(q);
	q->submitting = was;
}

void ac_connq_refuse(struct ac_connq *q, struct ac_connq_req *r, char *error)
{
	r->q = q;
	set_error(r, error);
	bool was = q->submitting;
	q->submitting = true;
	deliver(r);
	q->submitting = was;
}

/* Take r out of the list at *head (NULL if it is not there). */
static bool unlink_req(struct ac_connq_req **head, struct ac_connq_req **tail,
		       struct ac_connq_req *r)
{
	struct ac_connq_req **pp = head, *prev = NULL;
	while (*pp && *pp != r) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return false;
	*pp = r->next;
	if (*tail == r)
		*tail = prev;
	return true;
}

void ac_connq_cancel(struct ac_connq_req *r)
{
	if (!r)
		return;
	struct ac_connq *q = r->q;
	struct ac_connq_conn *c = r->conn;
	if (r->later) {
		unlink_req(&q->later, &q->later_tail, r);
		if (!q->later)
			ac_loop_timer_stop(q->loop, &q->later_timer);
	} else if (c) {
		c->req = NULL;
		if (c->state == AC_CONNQ_BUSY || c->state == AC_CONNQ_CONNECTING)
			close_conn(c);
	} else {
		unlink_req(&q->head, &q->tail, r);
	}
	q->ops->req_free(r);
	if (c)
		dispatch(q);
}

/* --- the set of servers --------------------------------------------------- */

static void free_list(const struct ac_connq_ops *ops, struct ac_connq_req *r)
{
	while (r) {
		struct ac_connq_req *next = r->next;
		ops->req_free(r);
		r = next;
	}
}

static void queue_destroy(struct ac_connq *q)
{
	const struct ac_connq_ops *ops = q->ops;
	for (size_t i = 0; i < q->nconns; i++) {
		struct ac_connq_conn *c = q->conns[i];
		ac_loop_timer_stop(q->loop, &c->timer);
		ops->close(c);
		if (c->req)
			ops->req_free(c->req);
		free(c->pending_error);
		free(c);
	}
	free_list(ops, q->head);
	free_list(ops, q->later);
	ac_loop_timer_stop(q->loop, &q->later_timer);
	ops->server_free(q->server);
	free(q->label);
	free(q->conns);
	free(q);
}

static void set_destroy(void *p)
{
	struct ac_connq_set *set = p;
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		queue_destroy(set->qs[i]);
	free(set->qs);
	free(set);
}

struct ac_connq_set *ac_connq_set_get(struct ac_services *sv, enum ac_service_slot slot)
{
	if (!sv->slot[slot]) {
		struct ac_connq_set *set = ac_calloc(1, sizeof(*set));
		set->loop = sv->loop;
		set->mask = sv->mask;
		sv->slot[slot] = set;
		sv->destroy[slot] = set_destroy;
	}
	return sv->slot[slot];
}

struct ac_connq *ac_connq_find(struct ac_connq_set *set,
			       bool (*same)(const void *server, const void *key), const void *key)
{
	for (size_t i = 0; i < set->n; i++)
		if (same(set->qs[i]->server, key))
			return set->qs[i];
	return NULL;
}

struct ac_connq *ac_connq_add(struct ac_connq_set *set, const struct ac_connq_ops *ops,
			      void *server, char *label, int64_t connect_timeout_ms,
			      size_t max_conns)
{
	struct ac_connq *q = ac_calloc(1, sizeof(*q));
	q->ops = ops;
	q->loop = set->loop;
	q->mask = set->mask;
	q->server = server;
	q->label = label;
	q->connect_timeout_ms = connect_timeout_ms;
	q->max_conns = max_conns ? max_conns : 1;
	set->qs = ac_realloc(set->qs, (set->n + 1) * sizeof(*set->qs));
	set->qs[set->n++] = q;
	return q;
}
