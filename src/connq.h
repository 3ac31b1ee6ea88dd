/*
 * connq.h: requests queued for a server's connections, on the engine's loop.
 *
 * What src/pg.c and src/redis.c have in common. Per server, a queue keeps
 * up to max_conns connections and one FIFO of requests (a query, a batch of
 * commands) waiting for one. A request is given to a free connection, an
 * open idle one first, else a closed one, which is opened for it, and runs
 * alone on that connection until it is done. The connection's timer bounds
 * both: the open (connect_timeout, or the request's deadline if sooner)
 * and the request (its deadline).
 *
 *   - An open that fails or times out fails the request it was opened for
 *     and every request still waiting: the server cannot be reached.
 *   - A request whose deadline passes closes its connection only (what is
 *     left on it cannot be trusted); the next request opens a new one.
 *   - A closed connection is opened again on next use.
 *
 * The client (pg.c, redis.c) says how to open, send and close through a
 * table of hooks, watches its own descriptors, and tells the queue how a
 * request went (ac_connq_opened, ac_connq_done, ac_connq_fail, ...). Its
 * connection and request structures begin with struct ac_connq_conn and
 * struct ac_connq_req. Outcomes are delivered through the hooks, never
 * from inside ac_connq_submit.
 */
#ifndef AC_CONNQ_H
#define AC_CONNQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "mask.h"
#include "probe.h"

enum ac_connq_state {
	AC_CONNQ_DOWN,	     /* closed */
	AC_CONNQ_CONNECTING, /* opening for its request */
	AC_CONNQ_IDLE,	     /* open, no request */
	AC_CONNQ_BUSY,	     /* open, running its request */
};

struct ac_connq;
struct ac_connq_conn;

struct ac_connq_req {
	struct ac_connq *q;
	struct ac_connq_conn *conn; /* the connection it runs on; NULL while it waits */
	struct ac_connq_req *next;
	int64_t deadline_ms; /* set by the client before submitting */
	int64_t queued_ms;
	int64_t waited_ms; /* from queued until it was given a connection */
	char *error;	   /* how it failed, printable; NULL: the client's result holds */
	bool later;	   /* delivered on the next tick */
};

struct ac_connq_conn {
	struct ac_connq *q;
	enum ac_connq_state state;
	struct ac_connq_req *req; /* the request it runs or opens for */
	struct ac_timer timer;
	char *pending_error; /* the open failed at once: fail with this on the next tick */
};

struct ac_connq_ops {
	/* The client's connection: a struct that begins with ac_connq_conn. */
	size_t conn_size;
	void (*conn_init)(struct ac_connq_conn *c); /* optional */
	/* Start opening c's connection for c->req; later, ac_connq_opened or
	 * ac_connq_open_failed. NULL, or why it cannot start (the queue frees it). */
	char *(*open)(struct ac_connq_conn *c);
	/* Send c->req on c's open connection (its deadline timer is armed);
	 * later, ac_connq_done or ac_connq_fail. */
	void (*send)(struct ac_connq_conn *c);
	/* Close c's connection, if open, and forget what was on it. */
	void (*close)(struct ac_connq_conn *c);
	/* Hand r's outcome (r->error, else the client's result) to its caller. */
	void (*deliver)(struct ac_connq_req *r);
	void (*req_free)(struct ac_connq_req *r);
	void (*server_free)(void *server);
	/* After "<label>: " when a running request's deadline passes. */
	const char *timeout_text;
	/* Optional: where a connect that timed out had got to ("the TLS
	 * handshake did not finish"), or NULL. */
	const char *(*connect_stage)(const struct ac_connq_conn *c);
};

struct ac_connq {
	const struct ac_connq_ops *ops;
	struct ac_loop *loop;
	struct ac_mask *mask;
	void *server; /* the client's settings of this server, owned */
	char *label;  /* "postgres \"shop\"": begins the queue's messages */
	int64_t connect_timeout_ms;
	size_t max_conns;
	struct ac_connq_conn **conns;
	size_t nconns;
	struct ac_connq_req *head, *tail;	 /* waiting for a connection */
	struct ac_connq_req *later, *later_tail; /* to deliver on the next tick */
	struct ac_timer later_timer;
	bool submitting;
};

/* The servers of one service slot, made on first use. */
struct ac_connq_set;
struct ac_connq_set *ac_connq_set_get(struct ac_services *sv, enum ac_service_slot slot);
/* The first server for which same(server, key) holds; NULL if none yet. */
struct ac_connq *ac_connq_find(struct ac_connq_set *set,
			       bool (*same)(const void *server, const void *key), const void *key);
/* A new server (server and label are taken over). */
struct ac_connq *ac_connq_add(struct ac_connq_set *set, const struct ac_connq_ops *ops,
			      void *server, char *label, int64_t connect_timeout_ms,
			      size_t max_conns);

/* Queue r (deadline_ms set, the rest zero) and start it if a connection is
 * free. Its outcome comes through ops->deliver, then ops->req_free. */
void ac_connq_submit(struct ac_connq *q, struct ac_connq_req *r);
/* Deliver r with error (taken over) on the next tick, without running it. */
void ac_connq_refuse(struct ac_connq *q, struct ac_connq_req *r, char *error);
/* Forget r: it is not delivered, and freed (ops->req_free). A running r's
 * connection is closed: it cannot be trusted mid-request. NULL-safe. */
void ac_connq_cancel(struct ac_connq_req *r);

/* From the client, about connection c: */
/* It is open: c->req is sent. */
void ac_connq_opened(struct ac_connq_conn *c);
/* It could not open (why, printable, taken over): c->req and every waiting
 * request fail with why. */
void ac_connq_open_failed(struct ac_connq_conn *c, char *why);
/* c->req is complete (r->error says if it failed); keep_open: the
 * connection can take the next request, else it is closed. */
void ac_connq_done(struct ac_connq_conn *c, bool keep_open);
/* c->req fails with error (taken over; an earlier error of the request
 * wins) and the connection is closed. */
void ac_connq_fail(struct ac_connq_conn *c, char *error);

#endif
