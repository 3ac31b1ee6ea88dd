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

#include "connq.h"
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
    {"url", AC_FT_TEXT, true, AC_FIELD_NONE,
     "redis://[user:password@]host[:port][/db], or rediss:// for TLS"},
    {"user", AC_FT_TEXT, false, AC_FIELD_NONE, "ACL user"},
    {"password", AC_FT_TEXT, false, AC_FIELD_NONE, "from ${env:...} or ${file:...}"},
    {"connect_timeout", AC_FT_DURATION, false, offsetof(struct ac_redis_server, connect_timeout_ms),
     NULL, .range = AC_RANGE_ABOVE, .min = 0},
    {"timeout", AC_FT_DURATION, false, offsetof(struct ac_redis_server, timeout_ms), NULL,
     .range = AC_RANGE_ABOVE, .min = 0},
    {"ca_file", AC_FT_TEXT, false, offsetof(struct ac_redis_server, ca_file),
     "rediss://: PEM file of the CAs to trust instead of the system's"},
    {"cert", AC_FT_TEXT, false, offsetof(struct ac_redis_server, cert),
     "rediss://: client certificate (PEM)"},
    {"key", AC_FT_TEXT, false, offsetof(struct ac_redis_server, key),
     "rediss://: the client certificate's key (PEM); default: in the cert file"},
    {"insecure", AC_FT_BOOL, false, offsetof(struct ac_redis_server, insecure),
     "rediss://: no certificate or host-name verification; every report says so"},
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
	/* lint without the secret (the whole URL from ${env:}): a stand-in */
	if (ac_cfg_lint_placeholder(cx, url) && !ac_starts_with(url, "redis://") &&
	    !ac_starts_with(url, "rediss://"))
		url = "redis://" AC_LINT_PLACEHOLDER "/0";
	s->tls = ac_starts_with(url, "rediss://");
	if (!s->tls && !ac_starts_with(url, "redis://")) {
		ac_cfg_error(cx, path,
			     "expected a redis://host:port/db or rediss://host:port/db URL");
		return false;
	}
	/* libcurl 7.88 reads "redis:///0" as host "0", that is 0.0.0.0: an
	 * empty authority is refused here, before it gets the chance. */
	const char *auth = url + (s->tls ? 9 : 8);
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

/* The TLS keys: for rediss:// only (never ignored on a plain URL); the
 * context is made now, so a file that cannot be used is a scenario error. */
static void read_tls(struct ac_cfg *cx, const cJSON *obj, const char *path,
		     struct ac_redis_server *s)
{
	static const char *const keys[] = {"ca_file", "cert", "key", "insecure"};
	if (!s->tls) {
		for (size_t i = 0; i < AC_ARRAY_LEN(keys); i++) {
			if (!cJSON_GetObjectItemCaseSensitive(obj, keys[i]))
				continue;
			char *kp = ac_cfg_path(path, keys[i]);
			ac_cfg_error(cx, kp,
				     "applies to rediss:// (TLS) URLs only; this server's URL is "
				     "redis:// (plain text)");
			free(kp);
		}
		return;
	}
	char *error = NULL;
	s->tls_ctx = ac_rtls_ctx_create(s->ca_file, s->cert, s->key, s->insecure, &error);
	if (!s->tls_ctx) {
		ac_cfg_error(cx, path, "%s", error);
		free(error);
		return;
	}
	if (s->insecure)
		cx->plan->tls_unverified = true;
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
	} else if (ac_cfg_object(cx, obj, path, srv_fields, AC_ARRAY_LEN(srv_fields), s) >= 0 &&
		   cJSON_IsObject(obj)) {
		url = ac_cfg_text(cx, obj, path, "url", false);
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
	if (cx->nerrors == before && s->host)
		read_tls(cx, obj, path, s);
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

void ac_redis_server_release(struct ac_redis_server *s)
{
	free(s->name);
	free(s->host);
	free(s->user);
	free(s->password);
	free(s->ca_file);
	free(s->cert);
	free(s->key);
	ac_rtls_ctx_unref(s->tls_ctx);
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

struct ac_redis_batch {
	struct ac_connq_req base; /* first: the queue's part */
	struct ac_redis_cmd *cmds;
	char **strings; /* copies of the arguments */
	size_t n, nstrings;
	redisReply **replies;
	size_t got;
	ac_redis_done_fn done;
	void *ud;
};

/* The one connection of a server: batches are pipelined one at a time. */
struct rconn {
	struct ac_connq_conn base; /* first: the queue's part */
	redisContext *ctx;
	bool ready_once; /* AUTH and SELECT done on this connection */
	int prefix_left; /* AUTH/SELECT replies still to come */
	/* rediss://: the session on ctx's socket, the commands to send */
	struct ac_rtls *tls;
	bool handshaking;
	struct ac_buf out;
	size_t out_off;
};

static const struct ac_redis_server *S(const struct rconn *c)
{
	return c->base.q->server;
}

static struct ac_redis_batch *B(const struct rconn *c)
{
	return (struct ac_redis_batch *)c->base.req;
}

static void batch_free(struct ac_connq_req *r)
{
	struct ac_redis_batch *b = (struct ac_redis_batch *)r;
	for (size_t i = 0; i < b->got; i++)
		freeReplyObject(b->replies[i]);
	for (size_t i = 0; i < b->nstrings; i++)
		free(b->strings[i]);
	free(b->strings);
	free(b->replies);
	free(b->cmds);
	free(b->base.error);
	free(b);
}

static void rclose(struct ac_connq_conn *base)
{
	struct rconn *c = (struct rconn *)base;
	ac_rtls_destroy(c->tls);
	c->tls = NULL;
	c->handshaking = false;
	ac_buf_release(&c->out);
	c->out_off = 0;
	if (c->ctx) {
		ac_loop_unwatch(c->base.q->loop, c->ctx->fd);
		redisFree(c->ctx);
	}
	c->ctx = NULL;
	c->ready_once = false;
	c->prefix_left = 0;
}

static void deliver(struct ac_connq_req *r)
{
	struct ac_redis_batch *b = (struct ac_redis_batch *)r;
	if (b->base.error)
		b->done(b->ud, NULL, 0, b->base.error);
	else
		b->done(b->ud, b->replies, b->n, NULL);
}

/* The running batch fails (its own earlier error wins); the connection is
 * closed. */
static void fail_head(struct rconn *c, const char *fmt, ...) AC_PRINTF(2, 3);
static void fail_head(struct rconn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = ac_vasprintf(fmt, ap);
	va_end(ap);
	char *m = ac_mask_apply(c->base.q->mask, msg);
	free(msg);
	ac_connq_fail(&c->base, m);
}

static void on_rio(void *ud, int fd, unsigned revents);

static void append(struct rconn *c, int argc, const char **argv)
{
	size_t lens[AC_REDIS_MAX_ARGS];
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if (!c->tls) {
		redisAppendCommandArgv(c->ctx, argc, argv, lens);
		return;
	}
	char *cmd = NULL;
	int n = redisFormatCommandArgv(&cmd, argc, argv, lens);
	if (n < 0 || !cmd)
		ac_die("out of memory formatting a Redis command");
	ac_buf_add(&c->out, cmd, (size_t)n);
	redisFreeCommand(cmd);
}

static void rsend(struct ac_connq_conn *base)
{
	struct rconn *c = (struct rconn *)base;
	const struct ac_redis_server *s = S(c);
	struct ac_redis_batch *b = B(c);
	c->prefix_left = 0;
	ac_buf_reset(&c->out);
	c->out_off = 0;
	if (!c->ready_once) {
		if (s->password) {
			const char *auth[3] = {"AUTH", s->user ? s->user : s->password,
					       s->password};
			append(c, s->user ? 3 : 2, auth);
			c->prefix_left++;
		}
		if (s->db) {
			char db[16];
			snprintf(db, sizeof(db), "%d", s->db);
			const char *sel[2] = {"SELECT", db};
			append(c, 2, sel);
			c->prefix_left++;
		}
	}
	for (size_t i = 0; i < b->n; i++)
		append(c, b->cmds[i].argc, b->cmds[i].argv);
	ac_loop_watch(c->base.q->loop, c->ctx->fd, AC_LOOP_READ | AC_LOOP_WRITE, on_rio, c);
}

static char *ropen(struct ac_connq_conn *base)
{
	struct rconn *c = (struct rconn *)base;
	ac_buf_release(&c->out);
	ac_buf_init(&c->out, SIZE_MAX);
	c->ctx = redisConnectNonBlock(S(c)->host, S(c)->port);
	if (!c->ctx || c->ctx->err) {
		char *e = ac_asprintf("redis \"%s\": cannot connect: %s", S(c)->name,
				      c->ctx ? c->ctx->errstr : "out of memory");
		if (c->ctx)
			redisFree(c->ctx);
		c->ctx = NULL;
		return e;
	}
	c->ctx->reader->fn = &bounded_fns;
	ac_loop_watch(c->base.q->loop, c->ctx->fd, AC_LOOP_WRITE, on_rio, c);
	return NULL;
}

static const char *reply_error_class(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR ? r->str : NULL;
}

/* "redis 127.0.0.1:6380" (an IPv6 address in brackets), for TLS reasons. */
static char *where(const struct rconn *c)
{
	bool v6 = strchr(S(c)->host, ':') != NULL;
	return ac_asprintf("redis %s%s%s:%d", v6 ? "[" : "", S(c)->host, v6 ? "]" : "", S(c)->port);
}

/* One step of the TLS handshake; the connect timeout still runs. */
static void on_handshake(struct rconn *c)
{
	char *why = NULL, *w = where(c);
	enum ac_rtls_step st = ac_rtls_handshake(c->tls, w, &why);
	free(w);
	switch (st) {
	case AC_RTLS_OK:
		c->handshaking = false;
		ac_loop_watch(c->base.q->loop, c->ctx->fd, 0, on_rio, c);
		ac_connq_opened(&c->base);
		return;
	case AC_RTLS_WANT_READ:
		ac_loop_watch(c->base.q->loop, c->ctx->fd, AC_LOOP_READ, on_rio, c);
		return;
	case AC_RTLS_WANT_WRITE:
		ac_loop_watch(c->base.q->loop, c->ctx->fd, AC_LOOP_WRITE, on_rio, c);
		return;
	default:
		ac_connq_open_failed(&c->base, ac_asprintf("redis \"%s\": %s", S(c)->name,
							   why ? why : "TLS handshake failed"));
		free(why);
		return;
	}
}

static void on_connecting(struct rconn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(c->ctx->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		ac_connq_open_failed(
		    &c->base, ac_asprintf("redis \"%s\": cannot connect to %s:%d: %s", S(c)->name,
					  S(c)->host, S(c)->port, strerror(err)));
		return;
	}
	if (S(c)->tls) {
		char *e = NULL;
		c->tls = ac_rtls_create(S(c)->tls_ctx, c->ctx->fd, S(c)->host, &e);
		if (!c->tls) {
			ac_connq_open_failed(&c->base,
					     ac_asprintf("redis \"%s\": %s", S(c)->name, e));
			free(e);
			return;
		}
		c->handshaking = true;
		on_handshake(c);
		return;
	}
	ac_loop_watch(c->base.q->loop, c->ctx->fd, 0, on_rio, c);
	ac_connq_opened(&c->base);
}

/* Take one reply: AUTH/SELECT's first, then the batch's; false when the
 * connection moved on (the batch is delivered or failed). */
static bool take_reply(struct rconn *c, redisReply *r)
{
	const char *name = S(c)->name;
	if (c->prefix_left > 0) {
		c->prefix_left--;
		const char *e = reply_error_class(r);
		if (e) {
			char *ex = ac_mask_excerpt(c->base.q->mask, e, strlen(e), 200);
			freeReplyObject(r);
			fail_head(c, "redis \"%s\": AUTH or SELECT failed: %s", name, ex);
			free(ex);
			return false;
		}
		freeReplyObject(r);
		if (c->prefix_left == 0)
			c->ready_once = true;
		return true;
	}
	struct ac_redis_batch *b = B(c);
	b->replies[b->got++] = r;
	if (b->got < b->n)
		return true;
	c->ready_once = true;
	ac_loop_watch(c->base.q->loop, c->ctx->fd, 0, on_rio, c);
	ac_connq_done(&c->base, true);
	return false;
}

static void parse_replies(struct rconn *c);

/* rediss://: send what is left, read what came, and watch for what the
 * session waits for. False when the batch failed. */
static bool tls_io(struct rconn *c)
{
	const char *name = S(c)->name;
	unsigned want = AC_LOOP_READ;
	char *why = NULL;
	while (c->out_off < c->out.len) {
		size_t n = 0;
		enum ac_rtls_step st = ac_rtls_write(c->tls, c->out.buf + c->out_off,
						     c->out.len - c->out_off, &n, &why);
		if (st == AC_RTLS_OK) {
			c->out_off += n;
			continue;
		}
		if (st == AC_RTLS_WANT_WRITE)
			want |= AC_LOOP_WRITE;
		if (st == AC_RTLS_WANT_READ || st == AC_RTLS_WANT_WRITE)
			break;
		fail_head(c, "redis \"%s\": connection lost while sending: %s", name,
			  st == AC_RTLS_EOF ? "the server closed the connection" : why);
		free(why);
		return false;
	}
	char buf[16384];
	for (;;) {
		size_t n = 0;
		enum ac_rtls_step st = ac_rtls_read(c->tls, buf, sizeof(buf), &n, &why);
		if (st == AC_RTLS_OK) {
			if (redisReaderFeed(c->ctx->reader, buf, n) != REDIS_OK) {
				fail_head(c, "redis \"%s\": protocol error in the reply", name);
				return false;
			}
			if (c->ctx->reader->len > AC_REDIS_MAX_BYTES)
				break; /* parse_replies says so */
			continue;
		}
		if (st == AC_RTLS_WANT_WRITE)
			want |= AC_LOOP_WRITE;
		if (st == AC_RTLS_WANT_READ || st == AC_RTLS_WANT_WRITE)
			break;
		fail_head(c, "redis \"%s\": connection lost: %s", name,
			  st == AC_RTLS_EOF ? "the server closed the connection" : why);
		free(why);
		return false;
	}
	ac_loop_watch(c->base.q->loop, c->ctx->fd, want, on_rio, c);
	return true;
}

static void on_rio(void *ud, int fd, unsigned revents)
{
	struct rconn *c = ud;
	(void)fd;
	const char *name = S(c)->name;
	if (c->base.state == AC_CONNQ_CONNECTING) {
		if (c->handshaking)
			on_handshake(c);
		else
			on_connecting(c);
		return;
	}
	if (c->base.state != AC_CONNQ_BUSY)
		return;
	if (c->tls) {
		if (!tls_io(c))
			return;
		parse_replies(c);
		return;
	}
	if (revents & AC_LOOP_WRITE) {
		int done = 0;
		if (redisBufferWrite(c->ctx, &done) == REDIS_ERR) {
			fail_head(c, "redis \"%s\": connection lost while sending: %s", name,
				  c->ctx->errstr);
			return;
		}
		if (done)
			ac_loop_watch(c->base.q->loop, c->ctx->fd, AC_LOOP_READ, on_rio, c);
	}
	if (!(revents & (AC_LOOP_READ | AC_LOOP_ERROR)))
		return;
	if (redisBufferRead(c->ctx) == REDIS_ERR) {
		fail_head(c, "redis \"%s\": connection lost: %s", name,
			  c->ctx->err == REDIS_ERR_EOF ? "the server closed the connection"
						       : c->ctx->errstr);
		return;
	}
	parse_replies(c);
}

/* Take every complete reply hiredis' reader holds. */
static void parse_replies(struct rconn *c)
{
	const char *name = S(c)->name;
	if (c->ctx->reader->len > AC_REDIS_MAX_BYTES) {
		fail_head(c, "redis \"%s\": reply too large (over %d bytes)", name,
			  AC_REDIS_MAX_BYTES);
		return;
	}
	for (;;) {
		void *reply = NULL;
		if (redisReaderGetReply(c->ctx->reader, &reply) == REDIS_ERR) {
			bool oom = strstr(c->ctx->reader->errstr, "Out of memory") != NULL;
			fail_head(c, "redis \"%s\": %s", name,
				  oom ? "reply too large (too many elements)"
				      : "protocol error in the reply");
			return;
		}
		if (!reply || !take_reply(c, reply))
			return;
	}
}

static const char *rstage(const struct ac_connq_conn *base)
{
	const struct rconn *c = (const struct rconn *)base;
	return c->handshaking ? "the TLS handshake did not finish: is it a TLS port?" : NULL;
}

static const struct ac_connq_ops redis_ops = {
    .conn_size = sizeof(struct rconn),
    .open = ropen,
    .send = rsend,
    .close = rclose,
    .deliver = deliver,
    .req_free = batch_free,
    .server_free = ac_redis_server_destroy,
    .timeout_text = "timeout: no complete answer before the deadline",
    .connect_stage = rstage,
};

static bool same_server(const void *server, const void *key)
{
	const struct ac_redis_server *s = server, *k = key;
	return strcmp(s->host, k->host) == 0 && s->port == k->port && s->db == k->db &&
	       ac_streq(s->user, k->user) && ac_streq(s->password, k->password) &&
	       s->tls == k->tls && s->insecure == k->insecure && ac_streq(s->ca_file, k->ca_file) &&
	       ac_streq(s->cert, k->cert) && ac_streq(s->key, k->key);
}

/* The queue of srv's server, made on first use with a copy of srv. */
static struct ac_connq *queue_of(struct ac_services *sv, const struct ac_redis_server *srv)
{
	struct ac_connq_set *set = ac_connq_set_get(sv, AC_SERVICE_REDIS);
	struct ac_connq *q = ac_connq_find(set, same_server, srv);
	if (q)
		return q;
	struct ac_redis_server *s = ac_calloc(1, sizeof(*s));
	*s = *srv;
	s->name = ac_strdup(srv->name);
	s->host = ac_strdup(srv->host);
	s->user = srv->user ? ac_strdup(srv->user) : NULL;
	s->password = srv->password ? ac_strdup(srv->password) : NULL;
	s->ca_file = srv->ca_file ? ac_strdup(srv->ca_file) : NULL;
	s->cert = srv->cert ? ac_strdup(srv->cert) : NULL;
	s->key = srv->key ? ac_strdup(srv->key) : NULL;
	s->tls_ctx = ac_rtls_ctx_ref(srv->tls_ctx);
	return ac_connq_add(set, &redis_ops, s, ac_asprintf("redis \"%s\"", s->name),
			    s->connect_timeout_ms, 1);
}

struct ac_redis_batch *ac_redis_batch_start(struct ac_services *sv,
					    const struct ac_redis_server *srv,
					    const struct ac_redis_cmd *cmds, size_t n,
					    int64_t deadline_ms, ac_redis_done_fn done, void *ud)
{
	struct ac_connq *q = queue_of(sv, srv);
	struct ac_redis_batch *b = ac_calloc(1, sizeof(*b));
	char *error = NULL;
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
		if (!ac_redis_command_allowed(cmds[i].argv[0]) && !error)
			error = ac_asprintf("redis: %s is not on the read-only allowlist",
					    cmds[i].argv[0]);
	}
	int64_t t = ac_loop_now(q->loop) + srv->timeout_ms;
	b->base.deadline_ms = deadline_ms < t ? deadline_ms : t;
	b->done = done;
	b->ud = ud;
	if (error || n == 0)
		ac_connq_refuse(q, &b->base, error ? error : ac_strdup("redis: empty batch"));
	else
		ac_connq_submit(q, &b->base);
	return b;
}

void ac_redis_batch_cancel(struct ac_services *sv, struct ac_redis_batch *b)
{
	if (!sv->slot[AC_SERVICE_REDIS] || !b)
		return;
	ac_connq_cancel(&b->base);
}
