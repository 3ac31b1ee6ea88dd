/*
 * redis.c: read-only Redis batches on the engine's loop (see redis.h).
 */
#include "redis.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "json.h"
#include "mask.h"
#include "sections.h"

static const char *const allowlist[] = {
    "EXISTS", "GET",  "HEXISTS",  "HGET",      "HLEN",	   "LINDEX", "LLEN",
    "PING",   "SCAN", "SCARD",	  "SISMEMBER", "SMEMBERS", "SSCAN",  "STRLEN",
    "TYPE",   "XLEN", "XPENDING", "ZCARD",     "ZCOUNT",   "ZSCORE",
};

bool ac_redis_command_allowed(const char *name)
{
	for (size_t i = 0; i < AC_ARRAY_LEN(allowlist); i++)
		if (strcasecmp(allowlist[i], name) == 0)
			return true;
	return false;
}

const char *ac_redis_allowlist_text(void)
{
	return "EXISTS, GET, HEXISTS, HGET, HLEN, LINDEX, LLEN, PING, SCAN, SCARD, SISMEMBER, "
	       "SMEMBERS, SSCAN, STRLEN, TYPE, XLEN, XPENDING, ZCARD, ZCOUNT, ZSCORE";
}

/* --- the "redis" section ---------------------------------------------------- */

static const struct ac_field srv_fields[] = {
    {"url", AC_FT_TEXT, true, AC_FIELD_NONE, "redis://[user:password@]host[:port][/db]"},
    {"user", AC_FT_TEXT, false, AC_FIELD_NONE, "ACL user"},
    {"password", AC_FT_TEXT, false, AC_FIELD_NONE, "from ${env:...} or ${file:...}"},
    {"connect_timeout", AC_FT_DURATION, false, offsetof(struct ac_redis_server, connect_timeout_ms),
     NULL},
    {"timeout", AC_FT_DURATION, false, offsetof(struct ac_redis_server, timeout_ms), NULL},
};

/* One part of a parsed URL, decoded; NULL when absent. */
static char *url_part(CURLU *u, CURLUPart what, unsigned flags)
{
	char *v = NULL;
	if (curl_url_get(u, what, &v, flags) != CURLUE_OK)
		return NULL;
	char *copy = ac_strdup(v);
	curl_free(v);
	return copy;
}

/* redis://[user[:password]@]host[:port][/db], parsed by libcurl's URL
 * parser (IPv6 literals in brackets, percent-encoded user and password). */
const struct ac_field *ac_redis_fields(size_t *n)
{
	*n = AC_ARRAY_LEN(srv_fields);
	return srv_fields;
}

static bool parse_url(struct ac_cfg *cx, const char *path, const char *url,
		      struct ac_redis_server *s)
{
	if (ac_starts_with(url, "rediss://")) {
		ac_cfg_error(
		    cx, path,
		    "rediss:// (TLS) is not supported: Debian 12's hiredis 0.14 has no TLS. "
		    "Put a local TLS tunnel in front (e.g. stunnel4 in client mode listening "
		    "on 127.0.0.1:6380 and connecting to the server with TLS) and use "
		    "redis://127.0.0.1:6380; allclear never falls back to plain text");
		return false;
	}
	if (!ac_starts_with(url, "redis://")) {
		ac_cfg_error(cx, path, "expected a redis://host:port/db URL");
		return false;
	}
	/* libcurl 7.88 reads "redis:///0" as host "0", that is 0.0.0.0: an
	 * empty authority is refused here, before it gets the chance. */
	const char *auth = url + 8;
	size_t alen = strcspn(auth, "/?#");
	const char *at = memchr(auth, '@', alen);
	if (at) {
		alen -= (size_t)(at + 1 - auth);
		auth = at + 1;
	}
	if (alen == 0) {
		ac_cfg_error(cx, path, "no host in the Redis URL");
		return false;
	}
	CURLU *u = curl_url();
	if (!u)
		ac_die("out of memory parsing a URL");
	CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (rc != CURLUE_OK) {
		/* libcurl's words, never the URL itself: it may hold a password. */
		ac_cfg_error(cx, path, "bad Redis URL: %s", curl_url_strerror(rc));
		curl_url_cleanup(u);
		return false;
	}
	bool ok = true;
	s->user = url_part(u, CURLUPART_USER, CURLU_URLDECODE);
	s->password = url_part(u, CURLUPART_PASSWORD, CURLU_URLDECODE);
	if (s->password)
		ac_mask_add(cx->plan->mask, s->password);
	if (s->user && !*s->user) {
		free(s->user);
		s->user = NULL;
	}
	char *host = url_part(u, CURLUPART_HOST, 0);
	size_t hl = host ? strlen(host) : 0;
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') /* IPv6 literal */
		s->host = ac_strndup(host + 1, hl - 2);
	else
		s->host = host ? ac_strdup(host) : NULL;
	free(host);
	s->port = 6379;
	char *port = url_part(u, CURLUPART_PORT, 0);
	long v;
	if (port) {
		if (ac_parse_long(port, &v) < 0 || v < 1 || v > 65535) {
			ac_cfg_error(cx, path, "bad port in the Redis URL");
			ok = false;
		} else {
			s->port = (int)v;
		}
	}
	char *db = url_part(u, CURLUPART_PATH, 0);
	if (ok && db && db[0] == '/' && db[1]) {
		if (ac_parse_long(db + 1, &v) < 0 || v < 0 || v > 1000) {
			ac_cfg_error(cx, path, "bad database number in the Redis URL");
			ok = false;
		} else {
			s->db = (int)v;
		}
	}
	char *query = url_part(u, CURLUPART_QUERY, 0);
	char *fragment = url_part(u, CURLUPART_FRAGMENT, 0);
	if (ok && (query || fragment)) {
		ac_cfg_error(cx, path, "the Redis URL has a %s, which allclear does not use",
			     query ? "query (?...)" : "fragment (#...)");
		ok = false;
	}
	if (ok && (!s->host || !*s->host)) {
		ac_cfg_error(cx, path, "no host in the Redis URL");
		ok = false;
	}
	free(port);
	free(db);
	free(query);
	free(fragment);
	curl_url_cleanup(u);
	return ok;
}

static bool read_server(struct ac_cfg *cx, const cJSON *obj, const char *path,
			struct ac_redis_server *s)
{
	memset(s, 0, sizeof(*s));
	s->connect_timeout_ms = cx->plan->settings.connect_timeout_ms;
	s->timeout_ms = cx->plan->settings.timeout_ms;
	size_t before = cx->nerrors;
	char *url = NULL;
	if (cJSON_IsString(obj)) {
		url = ac_cfg_expand(cx, path, obj->valuestring);
	} else if (ac_cfg_want_object(cx, obj, path)) {
		ac_cfg_keys1(cx, obj, path, srv_fields, AC_ARRAY_LEN(srv_fields));
		ac_cfg_read(cx, obj, path, srv_fields, AC_ARRAY_LEN(srv_fields), s);
		url = ac_cfg_text(cx, obj, path, "url", true);
	}
	if (url) {
		char *up = ac_cfg_path(path, "url");
		parse_url(cx, cJSON_IsString(obj) ? path : up, url, s);
		free(up);
		free(url);
	}
	if (cJSON_IsObject(obj)) {
		char *u = ac_cfg_text(cx, obj, path, "user", false);
		char *pw = ac_cfg_text(cx, obj, path, "password", false);
		if (u) {
			free(s->user);
			s->user = u;
		}
		if (pw) {
			ac_mask_add(cx->plan->mask, pw);
			free(s->password);
			s->password = pw;
		}
	}
	if (s->connect_timeout_ms < 1 || s->timeout_ms < 1)
		ac_cfg_error(cx, path, "timeouts must be positive");
	return cx->nerrors == before && s->host;
}

void *ac_redis_server_load(struct ac_cfg *cx, const cJSON *entry, const char *name,
			   const char *path)
{
	struct ac_redis_server *s = ac_calloc(1, sizeof(*s));
	if (!read_server(cx, entry, path, s)) {
		ac_redis_server_destroy(s);
		return NULL;
	}
	s->name = ac_strdup(name);
	return s;
}

void ac_redis_server_destroy(void *p)
{
	if (!p)
		return;
	ac_redis_server_release(p);
	free(p);
}

const struct ac_redis_server *ac_redis_server_find(struct ac_cfg *cx, const cJSON *name,
						   const char *path)
{
	return ac_section_find(cx, "redis", name, path);
}

void ac_redis_server_release(struct ac_redis_server *s)
{
	free(s->name);
	free(s->host);
	free(s->user);
	free(s->password);
	memset(s, 0, sizeof(*s));
}

/* --- bounded replies ------------------------------------------------------ */

static void *link_reply(const redisReadTask *task, redisReply *r)
{
	if (task->parent) {
		redisReply *parent = task->parent->obj;
		parent->element[task->idx] = r;
	}
	return r;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
	redisReply *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->type = task->type;
	r->str = malloc(len + 1);
	if (!r->str) {
		free(r);
		return NULL;
	}
	memcpy(r->str, str, len);
	r->str[len] = '\0';
	r->len = len;
	return link_reply(task, r);
}

static void *create_array(const redisReadTask *task, int elements)
{
	/* Refuse before allocating: "*10000000" must not cost 80 MB. */
	if (elements > AC_REDIS_MAX_ELEMENTS)
		return NULL;
	redisReply *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->type = REDIS_REPLY_ARRAY;
	if (elements > 0) {
		r->element = calloc((size_t)elements, sizeof(redisReply *));
		if (!r->element) {
			free(r);
			return NULL;
		}
	}
	r->elements = (size_t)(elements > 0 ? elements : 0);
	return link_reply(task, r);
}

static void *create_integer(const redisReadTask *task, long long value)
{
	redisReply *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->type = REDIS_REPLY_INTEGER;
	r->integer = value;
	return link_reply(task, r);
}

static void *create_nil(const redisReadTask *task)
{
	redisReply *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->type = REDIS_REPLY_NIL;
	return link_reply(task, r);
}

static redisReplyObjectFunctions bounded_fns = {
    create_string, create_array, create_integer, create_nil, freeReplyObject,
};

/* --- connections and batches ----------------------------------------------- */

enum rstate { R_DOWN, R_CONNECTING, R_READY, R_BUSY };

struct ac_redis_batch {
	struct rconn *c;
	struct ac_redis_cmd *cmds;
	char **strings; /* copies of the arguments */
	size_t n, nstrings;
	redisReply **replies;
	size_t got;
	int64_t deadline_ms;
	ac_redis_done_fn done;
	void *ud;
	char *error;
	struct ac_redis_batch *next;
	bool queued;	       /* on its connection's queue */
	struct ac_timer early; /* delivers a batch refused at start */
	struct ac_loop *loop;
};

struct rpool;

struct rconn {
	struct rpool *pool;
	struct ac_redis_server s;
	redisContext *ctx;
	enum rstate state;
	bool ready_once; /* AUTH and SELECT done on this connection */
	int prefix_left; /* AUTH/SELECT replies still to come */
	struct ac_timer timer;
	struct ac_redis_batch *head, *tail;
	char *pending_error;
};

struct rpool {
	struct ac_loop *loop;
	struct ac_mask *mask;
	struct rconn **conns;
	size_t n;
};

static void rkick(struct rconn *c);

static void batch_free(struct ac_redis_batch *b)
{
	for (size_t i = 0; i < b->got; i++)
		freeReplyObject(b->replies[i]);
	for (size_t i = 0; i < b->nstrings; i++)
		free(b->strings[i]);
	free(b->strings);
	free(b->replies);
	free(b->cmds);
	free(b->error);
	free(b);
}

static void rdrop(struct rconn *c)
{
	if (c->ctx) {
		ac_loop_unwatch(c->pool->loop, c->ctx->fd);
		redisFree(c->ctx);
	}
	c->ctx = NULL;
	c->state = R_DOWN;
	c->ready_once = false;
	c->prefix_left = 0;
	ac_loop_timer_stop(c->pool->loop, &c->timer);
}

static void deliver(struct rconn *c)
{
	struct ac_redis_batch *b = c->head;
	c->head = b->next;
	if (!c->head)
		c->tail = NULL;
	if (b->error)
		b->done(b->ud, NULL, 0, b->error);
	else
		b->done(b->ud, b->replies, b->n, NULL);
	batch_free(b);
}

/* Every queued batch ends with why (a batch's own earlier error wins). */
static void fail_all(struct rconn *c, const char *why)
{
	while (c->head) {
		if (!c->head->error)
			c->head->error = ac_strdup(why);
		deliver(c);
	}
}

static void fail_head(struct rconn *c, const char *fmt, ...) AC_PRINTF(2, 3);
static void fail_head(struct rconn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = ac_vasprintf(fmt, ap);
	va_end(ap);
	char *m = ac_mask_apply(c->pool->mask, msg);
	free(msg);
	rdrop(c);
	if (c->head) {
		if (!c->head->error)
			c->head->error = m;
		else
			free(m);
		deliver(c);
	} else {
		free(m);
	}
	rkick(c);
}

static void rpool_destroy(void *p)
{
	struct rpool *pool = p;
	if (!pool)
		return;
	for (size_t i = 0; i < pool->n; i++) {
		struct rconn *c = pool->conns[i];
		rdrop(c);
		while (c->head) {
			struct ac_redis_batch *b = c->head;
			c->head = b->next;
			batch_free(b);
		}
		free(c->pending_error);
		ac_redis_server_release(&c->s);
		free(c);
	}
	free(pool->conns);
	free(pool);
}

static void on_rio(void *ud, int fd, unsigned revents);

static void on_rtimer(void *ud)
{
	struct rconn *c = ud;
	if (c->pending_error) {
		char *e = c->pending_error;
		c->pending_error = NULL;
		fail_all(c, e);
		free(e);
		return;
	}
	if (c->state == R_CONNECTING) {
		char *e = ac_asprintf("redis \"%s\": connect timeout after %lld ms", c->s.name,
				      (long long)c->s.connect_timeout_ms);
		rdrop(c);
		fail_all(c, e);
		free(e);
		return;
	}
	if (c->state == R_BUSY)
		fail_head(c, "redis \"%s\": timeout: no complete answer before the deadline",
			  c->s.name);
}

static void append(struct rconn *c, int argc, const char **argv)
{
	size_t lens[AC_REDIS_MAX_ARGS];
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	redisAppendCommandArgv(c->ctx, argc, argv, lens);
}

static void rsend(struct rconn *c)
{
	struct ac_redis_batch *b = c->head;
	c->prefix_left = 0;
	if (!c->ready_once) {
		if (c->s.password) {
			const char *auth[3] = {"AUTH", c->s.user ? c->s.user : c->s.password,
					       c->s.password};
			append(c, c->s.user ? 3 : 2, auth);
			c->prefix_left++;
		}
		if (c->s.db) {
			char db[16];
			snprintf(db, sizeof(db), "%d", c->s.db);
			const char *sel[2] = {"SELECT", db};
			append(c, 2, sel);
			c->prefix_left++;
		}
	}
	for (size_t i = 0; i < b->n; i++)
		append(c, b->cmds[i].argc, b->cmds[i].argv);
	c->state = R_BUSY;
	ac_loop_timer_start(c->pool->loop, &c->timer, b->deadline_ms, on_rtimer, c);
	ac_loop_watch(c->pool->loop, c->ctx->fd, AC_LOOP_READ | AC_LOOP_WRITE, on_rio, c);
}

static void rconnect(struct rconn *c)
{
	c->ctx = redisConnectNonBlock(c->s.host, c->s.port);
	if (!c->ctx || c->ctx->err) {
		c->pending_error = ac_asprintf("redis \"%s\": cannot connect: %s", c->s.name,
					       c->ctx ? c->ctx->errstr : "out of memory");
		if (c->ctx)
			redisFree(c->ctx);
		c->ctx = NULL;
		ac_loop_timer_start(c->pool->loop, &c->timer, ac_loop_now(c->pool->loop), on_rtimer,
				    c);
		return;
	}
	c->ctx->reader->fn = &bounded_fns;
	c->state = R_CONNECTING;
	int64_t due = ac_loop_now(c->pool->loop) + c->s.connect_timeout_ms;
	if (c->head && c->head->deadline_ms < due)
		due = c->head->deadline_ms;
	ac_loop_timer_start(c->pool->loop, &c->timer, due, on_rtimer, c);
	ac_loop_watch(c->pool->loop, c->ctx->fd, AC_LOOP_WRITE, on_rio, c);
}

static void rkick(struct rconn *c)
{
	if (!c->head || c->pending_error)
		return;
	if (c->state == R_DOWN)
		rconnect(c);
	else if (c->state == R_READY)
		rsend(c);
}

static const char *reply_error_class(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR ? r->str : NULL;
}

static void on_rio(void *ud, int fd, unsigned revents)
{
	struct rconn *c = ud;
	(void)fd;
	if (c->state == R_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(c->ctx->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			char *e = ac_asprintf("redis \"%s\": cannot connect to %s:%d: %s",
					      c->s.name, c->s.host, c->s.port, strerror(err));
			rdrop(c);
			fail_all(c, e);
			free(e);
			return;
		}
		ac_loop_timer_stop(c->pool->loop, &c->timer);
		c->state = R_READY;
		ac_loop_watch(c->pool->loop, c->ctx->fd, 0, on_rio, c);
		rkick(c);
		return;
	}
	if (c->state != R_BUSY)
		return;
	if (revents & AC_LOOP_WRITE) {
		int done = 0;
		if (redisBufferWrite(c->ctx, &done) == REDIS_ERR) {
			fail_head(c, "redis \"%s\": connection lost while sending: %s", c->s.name,
				  c->ctx->errstr);
			return;
		}
		if (done)
			ac_loop_watch(c->pool->loop, c->ctx->fd, AC_LOOP_READ, on_rio, c);
	}
	if (!(revents & (AC_LOOP_READ | AC_LOOP_ERROR)))
		return;
	if (redisBufferRead(c->ctx) == REDIS_ERR) {
		fail_head(c, "redis \"%s\": connection lost: %s", c->s.name,
			  c->ctx->err == REDIS_ERR_EOF ? "the server closed the connection"
						       : c->ctx->errstr);
		return;
	}
	if (c->ctx->reader->len > AC_REDIS_MAX_BYTES) {
		fail_head(c, "redis \"%s\": reply too large (over %d bytes)", c->s.name,
			  AC_REDIS_MAX_BYTES);
		return;
	}
	for (;;) {
		void *reply = NULL;
		if (redisReaderGetReply(c->ctx->reader, &reply) == REDIS_ERR) {
			bool oom = strstr(c->ctx->reader->errstr, "Out of memory") != NULL;
			fail_head(c, "redis \"%s\": %s", c->s.name,
				  oom ? "reply too large (too many elements)"
				      : "protocol error in the reply");
			return;
		}
		if (!reply)
			return;
		redisReply *r = reply;
		if (c->prefix_left > 0) {
			c->prefix_left--;
			const char *e = reply_error_class(r);
			if (e) {
				char *ex = ac_mask_excerpt(c->pool->mask, e, strlen(e), 200);
				freeReplyObject(r);
				fail_head(c, "redis \"%s\": AUTH or SELECT failed: %s", c->s.name,
					  ex);
				free(ex);
				return;
			}
			freeReplyObject(r);
			if (c->prefix_left == 0)
				c->ready_once = true;
			continue;
		}
		struct ac_redis_batch *b = c->head;
		b->replies[b->got++] = r;
		if (b->got == b->n) {
			c->ready_once = true;
			ac_loop_timer_stop(c->pool->loop, &c->timer);
			c->state = R_READY;
			ac_loop_watch(c->pool->loop, c->ctx->fd, 0, on_rio, c);
			deliver(c);
			rkick(c);
			return;
		}
	}
}

static void on_early(void *ud)
{
	struct ac_redis_batch *b = ud;
	b->done(b->ud, NULL, 0, b->error);
	batch_free(b);
}

struct ac_redis_batch *ac_redis_batch_start(struct ac_services *sv,
					    const struct ac_redis_server *srv,
					    const struct ac_redis_cmd *cmds, size_t n,
					    int64_t deadline_ms, ac_redis_done_fn done, void *ud)
{
	if (!sv->slot[AC_SERVICE_REDIS]) {
		struct rpool *np = ac_calloc(1, sizeof(*np));
		np->loop = sv->loop;
		np->mask = sv->mask;
		sv->slot[AC_SERVICE_REDIS] = np;
		sv->destroy[AC_SERVICE_REDIS] = rpool_destroy;
	}
	struct rpool *pool = sv->slot[AC_SERVICE_REDIS];
	struct rconn *c = NULL;
	for (size_t i = 0; i < pool->n && !c; i++) {
		const struct ac_redis_server *s = &pool->conns[i]->s;
		if (strcmp(s->host, srv->host) == 0 && s->port == srv->port && s->db == srv->db &&
		    ac_streq(s->user, srv->user) && ac_streq(s->password, srv->password))
			c = pool->conns[i];
	}
	if (!c) {
		c = ac_calloc(1, sizeof(*c));
		c->pool = pool;
		c->s.name = ac_strdup(srv->name);
		c->s.host = ac_strdup(srv->host);
		c->s.port = srv->port;
		c->s.db = srv->db;
		c->s.user = srv->user ? ac_strdup(srv->user) : NULL;
		c->s.password = srv->password ? ac_strdup(srv->password) : NULL;
		c->s.connect_timeout_ms = srv->connect_timeout_ms;
		c->s.timeout_ms = srv->timeout_ms;
		pool->conns = ac_realloc(pool->conns, (pool->n + 1) * sizeof(*pool->conns));
		pool->conns[pool->n++] = c;
	}
	struct ac_redis_batch *b = ac_calloc(1, sizeof(*b));
	b->c = c;
	b->n = n;
	b->cmds = ac_calloc(n ? n : 1, sizeof(*b->cmds));
	b->replies = ac_calloc(n ? n : 1, sizeof(redisReply *));
	b->strings = ac_calloc(n * AC_REDIS_MAX_ARGS + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		b->cmds[i].argc = cmds[i].argc;
		for (int k = 0; k < cmds[i].argc && k < AC_REDIS_MAX_ARGS; k++) {
			b->strings[b->nstrings] = ac_strdup(cmds[i].argv[k]);
			b->cmds[i].argv[k] = b->strings[b->nstrings++];
		}
		if (!ac_redis_command_allowed(cmds[i].argv[0]) && !b->error)
			b->error = ac_asprintf("redis: %s is not on the read-only allowlist",
					       cmds[i].argv[0]);
	}
	int64_t t = ac_loop_now(pool->loop) + srv->timeout_ms;
	b->deadline_ms = deadline_ms < t ? deadline_ms : t;
	b->done = done;
	b->ud = ud;
	b->loop = pool->loop;
	if (b->error || n == 0) {
		if (!b->error)
			b->error = ac_strdup("redis: empty batch");
		/* Never call back from inside start: go through the loop. */
		ac_loop_timer_start(pool->loop, &b->early, ac_loop_now(pool->loop), on_early, b);
		return b;
	}
	b->queued = true;
	if (c->tail)
		c->tail->next = b;
	else
		c->head = b;
	c->tail = b;
	rkick(c);
	return b;
}

void ac_redis_batch_cancel(struct ac_services *sv, struct ac_redis_batch *b)
{
	if (!sv->slot[AC_SERVICE_REDIS] || !b)
		return;
	if (!b->queued) {
		ac_loop_timer_stop(b->loop, &b->early);
		batch_free(b);
		return;
	}
	struct rconn *c = b->c;
	if (c->head == b && (c->state == R_BUSY || c->state == R_CONNECTING)) {
		rdrop(c);
		c->head = b->next;
		if (!c->head)
			c->tail = NULL;
		batch_free(b);
		rkick(c);
		return;
	}
	struct ac_redis_batch **pp = &c->head, *prev = NULL;
	while (*pp && *pp != b) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp) {
		*pp = b->next;
		if (c->tail == b)
			c->tail = prev;
		batch_free(b);
	}
}
