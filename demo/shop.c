/*
 * shop.c: the demo shop that allclear's demo story and integration tests
 * probe. A small product that behaves like a real one: pages, login with
 * sessions in Redis, account and cart, search over an index, products,
 * checkout, feature flags per region, orders paid by a background worker
 * through a Sidekiq-layout queue, and Prometheus metrics. It can be put in
 * the damaged states a bad release leaves behind (see demo/README.md).
 *
 *   allclear-demo-shop --port N --pg DSN --redis HOST:PORT --build v41 [--seed N]
 *   allclear-demo-shop --worker --pg DSN --redis HOST:PORT --build v41
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY (64 * 1024)

static const char *opt_pg = "host=127.0.0.1 dbname=shop user=shop";
static const char *opt_redis = "127.0.0.1:6379";
static const char *opt_build = "v41";
static int opt_port = 8080;
/* The partial rollout's random source: xorshift64*, seeded by --seed (a
 * test that wants the same draws every time) or by the clock and pid. */
static uint64_t rollout_state;
static volatile sig_atomic_t stopping;

static PGconn *pg;
static redisContext *rd;
/* MHD runs one internal thread; the lock keeps that true if it ever changes. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* --- small helpers ------------------------------------------------------ */

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap, cp;
	va_start(ap, fmt);
	va_copy(cp, ap);
	char small[256];
	int n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		abort();
	char *p = malloc((size_t)n + 1);
	if (!p)
		abort();
	if ((size_t)n < sizeof(small))
		memcpy(p, small, (size_t)n + 1);
	else
		vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

static double now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static bool parse_long(const char *s, long *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 0)
		return false;
	*out = v;
	return true;
}

static bool db_ok(void)
{
	if (pg && PQstatus(pg) == CONNECTION_OK)
		return true;
	if (pg)
		PQfinish(pg);
	pg = PQconnectdb(opt_pg);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "shop: postgres: %s", PQerrorMessage(pg));
		return false;
	}
	return true;
}

static bool redis_ok(void)
{
	if (rd && !rd->err)
		return true;
	if (rd)
		redisFree(rd);
	char host[128];
	snprintf(host, sizeof(host), "%s", opt_redis);
	char *colon = strrchr(host, ':');
	long port = 6379;
	if (colon) {
		*colon = '\0';
		if (!parse_long(colon + 1, &port))
			port = 6379;
	}
	struct timeval tv = {2, 0};
	rd = redisConnectWithTimeout(host, (int)port, tv);
	if (!rd || rd->err) {
		fprintf(stderr, "shop: redis: %s\n", rd ? rd->errstr : "cannot connect");
		return false;
	}
	redisSetTimeout(rd, tv);
	return true;
}

/* A Redis command whose reply is a string (or NULL); the caller frees it. */
static char *redis_get(const char *key)
{
	if (!redis_ok())
		return NULL;
	redisReply *r = redisCommand(rd, "GET %s", key);
	char *v = NULL;
	if (r && r->type == REDIS_REPLY_STRING)
		v = strdup(r->str);
	if (r)
		freeReplyObject(r);
	return v;
}

static PGresult *query(const char *sql, int n, const char *const *params)
{
	if (!db_ok())
		return NULL;
	PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		fprintf(stderr, "shop: query failed: %s", PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* --- metrics ------------------------------------------------------------- */

#define NROUTES 16
#define NCODES 6
static const char *const routes[NROUTES] = {
    "/",	 "/login", "/account", "/cart/total", "/search",  "/products/:id",
    "/checkout", "/flags", "/orders",  "/orders/:id", "/metrics", "/healthz",
    "other",	 NULL,	   NULL,       NULL};
static const int codes[NCODES] = {200, 201, 401, 404, 500, 503};
static unsigned long req_count[NROUTES][NCODES];
static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))
static unsigned long dur_bucket[NROUTES][NBUCKETS + 1];
static double dur_sum[NROUTES];
static unsigned long dur_count[NROUTES];

static int route_index(const char *url)
{
	if (strncmp(url, "/products/", 10) == 0)
		return 5;
	if (strncmp(url, "/orders/", 8) == 0)
		return 9;
	for (int i = 0; i < NROUTES && routes[i]; i++)
		if (strcmp(routes[i], url) == 0)
			return i;
	return 12;
}

static void count(const char *url, int code, double secs)
{
	int r = route_index(url);
	for (int c = 0; c < NCODES; c++)
		if (codes[c] == code)
			req_count[r][c]++;
	for (size_t b = 0; b < NBUCKETS; b++)
		if (secs <= buckets[b])
			dur_bucket[r][b]++;
	dur_bucket[r][NBUCKETS]++;
	dur_sum[r] += secs;
	dur_count[r]++;
}

static char *metrics_text(void)
{
	size_t cap = 64 * 1024, len = 0;
	char *out = malloc(cap);
	if (!out)
		abort();
#define EMIT(...)                                                                                  \
	do {                                                                                       \
		int n_ = snprintf(out + len, cap - len, __VA_ARGS__);                              \
		if (n_ > 0 && (size_t)n_ < cap - len)                                              \
			len += (size_t)n_;                                                         \
	} while (0)
	EMIT("# HELP shop_http_requests_total Requests by route and status.\n");
	EMIT("# TYPE shop_http_requests_total counter\n");
	for (int r = 0; r < NROUTES && routes[r]; r++)
		for (int c = 0; c < NCODES; c++)
			if (req_count[r][c])
				EMIT("shop_http_requests_total{route=\"%s\",code=\"%d\"} %lu\n",
				     routes[r], codes[c], req_count[r][c]);
	EMIT("# HELP shop_http_request_duration_seconds Request duration.\n");
	EMIT("# TYPE shop_http_request_duration_seconds histogram\n");
	for (int r = 0; r < NROUTES && routes[r]; r++) {
		if (!dur_count[r])
			continue;
		for (size_t b = 0; b < NBUCKETS; b++)
			EMIT("shop_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
			     "%lu\n",
			     routes[r], buckets[b], dur_bucket[r][b]);
		EMIT("shop_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n",
		     routes[r], dur_bucket[r][NBUCKETS]);
		EMIT("shop_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", routes[r],
		     dur_sum[r]);
		EMIT("shop_http_request_duration_seconds_count{route=\"%s\"} %lu\n", routes[r],
		     dur_count[r]);
	}
	EMIT("# HELP shop_build_info The build serving requests.\n# TYPE shop_build_info gauge\n");
	EMIT("shop_build_info{build=\"%s\"} 1\n", opt_build);
#undef EMIT
	return out;
}

/* --- requests ------------------------------------------------------------ */

struct reply {
	int status;
	char *body; /* malloc'd */
	const char *type;
	bool cacheable;
	char *set_cookie; /* malloc'd or NULL */
};

static void reply_json(struct reply *r, int status, char *body)
{
	r->status = status;
	r->body = body;
	r->type = "application/json";
}

static void reply_err(struct reply *r, int status, const char *msg)
{
	reply_json(r, status, xasprintf("{\"error\":\"%s\"}", msg));
}

static char *json_str(const char *s)
{
	cJSON *j = cJSON_CreateString(s ? s : "");
	char *t = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return t;
}

static char *form_value(const char *body, const char *name)
{
	size_t nl = strlen(name);
	const char *p = body;
	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			char *v = malloc(len - nl);
			size_t o = 0;
			for (size_t i = nl + 1; i < len; i++) {
				if (p[i] == '+') {
					v[o++] = ' ';
				} else if (p[i] == '%' && i + 2 < len &&
					   isxdigit((unsigned char)p[i + 1]) &&
					   isxdigit((unsigned char)p[i + 2])) {
					char hex[3] = {p[i + 1], p[i + 2], 0};
					v[o++] = (char)strtol(hex, NULL, 16);
					i += 2;
				} else {
					v[o++] = p[i];
				}
			}
			v[o] = '\0';
			return v;
		}
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

/* The signed-in user, from the sid cookie and the session store. Sets the
 * reply (401 or 500) and returns NULL when there is none. */
static char *session_user(struct MHD_Connection *c, struct reply *r)
{
	const char *sid = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "sid");
	if (!sid || strlen(sid) > 64) {
		reply_err(r, 401, "login required");
		return NULL;
	}
	char *key = xasprintf("shop:session:%s", sid);
	char *v = redis_get(key);
	free(key);
	if (!v) {
		reply_err(r, 401, "login required");
		return NULL;
	}
	/* v41 reads v1 sessions (plain JSON) only; v42 wrote and reads v2. */
	bool v2 = strncmp(v, "v2|", 3) == 0;
	cJSON *j = NULL;
	if (v[0] == '{')
		j = cJSON_Parse(v);
	else if (v2 && strcmp(opt_build, "v42") == 0)
		j = cJSON_Parse(v + 3);
	free(v);
	cJSON *u = cJSON_GetObjectItemCaseSensitive(j, v2 ? "u" : "user");
	if (!cJSON_IsString(u)) {
		cJSON_Delete(j);
		reply_err(r, 500, "session decode failed");
		return NULL;
	}
	char *user = strdup(u->valuestring);
	cJSON_Delete(j);
	return user;
}

static void h_login(const char *body, struct reply *r)
{
	char *user = form_value(body, "user"), *pw = form_value(body, "password");
	if (!user || !pw) {
		reply_err(r, 400, "user and password required");
		goto out;
	}
	const char *params[2] = {user, pw};
	PGresult *res =
	    query("SELECT name FROM users WHERE name = $1 AND password = $2", 2, params);
	if (!res) {
		reply_err(r, 503, "database unavailable");
		goto out;
	}
	bool ok = PQntuples(res) == 1;
	PQclear(res);
	if (!ok) {
		reply_err(r, 401, "wrong user or password");
		goto out;
	}
	char sid[33];
	FILE *f = fopen("/dev/urandom", "rb");
	unsigned char raw[16] = {0};
	if (!f || fread(raw, 1, sizeof(raw), f) != sizeof(raw)) {
		if (f)
			fclose(f);
		reply_err(r, 500, "no randomness");
		goto out;
	}
	fclose(f);
	for (int i = 0; i < 16; i++)
		snprintf(sid + 2 * i, 3, "%02x", raw[i]);
	char *fmt = redis_get("shop:config:session_format");
	char *juser = json_str(user);
	char *value = fmt && strcmp(fmt, "v2") == 0 ? xasprintf("v2|{\"u\":%s}", juser)
						    : xasprintf("{\"user\":%s}", juser);
	free(fmt);
	free(juser);
	if (!redis_ok()) {
		free(value);
		reply_err(r, 503, "session store unavailable");
		goto out;
	}
	redisReply *rr = redisCommand(rd, "SET shop:session:%s %s EX 3600", sid, value);
	free(value);
	if (!rr || rr->type == REDIS_REPLY_ERROR) {
		if (rr)
			freeReplyObject(rr);
		reply_err(r, 503, "session store unavailable");
		goto out;
	}
	freeReplyObject(rr);
	char *ju = json_str(user);
	reply_json(r, 200, xasprintf("{\"user\":%s}", ju));
	free(ju);
	r->set_cookie = xasprintf("sid=%s; Path=/; HttpOnly", sid);
out:
	free(user);
	free(pw);
}

static void h_account(struct MHD_Connection *c, struct reply *r)
{
	char *user = session_user(c, r);
	if (!user)
		return;
	char *ju = json_str(user), *je = xasprintf("%s@example.com", user);
	char *jje = json_str(je);
	reply_json(r, 200, xasprintf("{\"user\":%s,\"email\":%s}", ju, jje));
	free(ju);
	free(je);
	free(jje);
	free(user);
}

static void h_cart_total(struct MHD_Connection *c, struct reply *r)
{
	char *user = session_user(c, r);
	if (!user)
		return;
	const char *params[1] = {user};
	PGresult *res = query("SELECT coalesce(sum(p.price_cents * ci.qty), 0) FROM cart_items ci "
			      "JOIN products p ON p.id = ci.product_id WHERE ci.user_name = $1",
			      1, params);
	if (!res) {
		reply_err(r, 503, "database unavailable");
	} else {
		char *ju = json_str(user);
		reply_json(
		    r, 200,
		    xasprintf("{\"user\":%s,\"total_cents\":%s}", ju, PQgetvalue(res, 0, 0)));
		free(ju);
		PQclear(res);
	}
	free(user);
}

static void h_search(struct MHD_Connection *c, struct reply *r)
{
	const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
	const char *params[1] = {q ? q : ""};
	/* The index answers by itself, as a search engine does: it may hold
	 * products that no longer exist. */
	PGresult *res = query("SELECT product_id, name FROM search_index WHERE term = $1 "
			      "ORDER BY product_id",
			      1, params);
	if (!res) {
		reply_err(r, 503, "database unavailable");
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "query", params[0]);
	cJSON_AddNumberToObject(o, "count", PQntuples(res));
	cJSON *arr = cJSON_AddArrayToObject(o, "results");
	for (int i = 0; i < PQntuples(res); i++) {
		cJSON *e = cJSON_CreateObject();
		long id = 0;
		parse_long(PQgetvalue(res, i, 0), &id);
		cJSON_AddNumberToObject(e, "id", (double)id);
		cJSON_AddStringToObject(e, "name", PQgetvalue(res, i, 1));
		cJSON_AddItemToArray(arr, e);
	}
	PQclear(res);
	reply_json(r, 200, cJSON_PrintUnformatted(o));
	cJSON_Delete(o);
}

static void h_product(const char *url, struct reply *r)
{
	long id;
	if (!parse_long(url + strlen("/products/"), &id)) {
		reply_err(r, 404, "not found");
		return;
	}
	char ids[32];
	snprintf(ids, sizeof(ids), "%ld", id);
	const char *params[1] = {ids};
	PGresult *res =
	    query("SELECT id, name, price_cents FROM products WHERE id = $1", 1, params);
	if (!res) {
		reply_err(r, 503, "database unavailable");
		return;
	}
	if (PQntuples(res) != 1) {
		reply_err(r, 404, "not found");
	} else {
		char *jn = json_str(PQgetvalue(res, 0, 1));
		reply_json(r, 200,
			   xasprintf("{\"id\":%s,\"name\":%s,\"price_cents\":%s}",
				     PQgetvalue(res, 0, 0), jn, PQgetvalue(res, 0, 2)));
		free(jn);
		r->cacheable = true;
	}
	PQclear(res);
}

static const char *region_of(struct MHD_Connection *c)
{
	const char *reg = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Region");
	if (!reg || !*reg || strlen(reg) > 16)
		return "origin";
	for (const char *p = reg; *p; p++)
		if (!isalnum((unsigned char)*p))
			return "origin";
	return reg;
}

static bool flag_on(const char *region)
{
	char *key = xasprintf("shop:flags:%s:new_checkout", region);
	char *v = redis_get(key);
	free(key);
	bool on = v && strcmp(v, "1") == 0;
	free(v);
	return on;
}

static void h_flags(struct MHD_Connection *c, struct reply *r)
{
	const char *reg = region_of(c);
	if (!redis_ok()) {
		reply_err(r, 503, "flag store unavailable");
		return;
	}
	reply_json(r, 200,
		   xasprintf("{\"region\":\"%s\",\"new_checkout\":%s}", reg,
			     flag_on(reg) ? "true" : "false"));
}

static uint64_t rollout_next(void)
{
	uint64_t x = rollout_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rollout_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* A partial rollout: shop:rollout:REGION:new_checkout holds a percentage
 * of checkout requests that take the new flow, drawn per request. The
 * flags endpoint does not show it (the flag itself is off): only enough
 * samples of the checkout page can. */
static bool rollout_hit(const char *region)
{
	char *key = xasprintf("shop:rollout:%s:new_checkout", region);
	char *v = redis_get(key);
	free(key);
	long pct = 0;
	bool ok = v && parse_long(v, &pct);
	free(v);
	if (!ok || pct <= 0)
		return false;
	return (long)((rollout_next() >> 11) % 100) < pct;
}

static void h_checkout(struct MHD_Connection *c, struct reply *r)
{
	const char *region = region_of(c);
	bool new_flow = strcmp(opt_build, "v42") == 0 || flag_on(region) || rollout_hit(region);
	r->status = 200;
	r->type = "text/html; charset=utf-8";
	r->cacheable = true;
	if (new_flow)
		r->body = xasprintf(
		    "<!doctype html><html><head><title>Checkout</title></head><body>"
		    "<main id=\"new-checkout\"><h1>Checkout (new)</h1>"
		    "<p>One-click pay</p></main><footer>build %s</footer></body></html>\n",
		    opt_build);
	else
		r->body =
		    xasprintf("<!doctype html><html><head><title>Checkout</title></head><body>"
			      "<main id=\"classic-checkout\"><h1>Checkout</h1>"
			      "<form method=\"post\" action=\"/orders\"><button>Pay</button></form>"
			      "</main><footer>build %s</footer></body></html>\n",
			      opt_build);
}

static void enqueue_payment(long order_id)
{
	if (!redis_ok())
		return;
	char jid[25];
	FILE *f = fopen("/dev/urandom", "rb");
	unsigned char raw[12] = {0};
	if (f) {
		if (fread(raw, 1, sizeof(raw), f) != sizeof(raw))
			memset(raw, 7, sizeof(raw));
		fclose(f);
	}
	for (int i = 0; i < 12; i++)
		snprintf(jid + 2 * i, 3, "%02x", raw[i]);
	double t = now_s();
	char *job =
	    xasprintf("{\"class\":\"PaymentJob\",\"queue\":\"payments\",\"args\":[%ld],"
		      "\"jid\":\"%s\",\"created_at\":%.6f,\"enqueued_at\":%.6f,\"retry\":true}",
		      order_id, jid, t, t);
	redisReply *a = redisCommand(rd, "SADD queues payments");
	if (a)
		freeReplyObject(a);
	redisReply *b = redisCommand(rd, "LPUSH queue:payments %s", job);
	if (b)
		freeReplyObject(b);
	free(job);
}

static void h_orders_post(struct MHD_Connection *c, const char *body, struct reply *r)
{
	char *user = session_user(c, r);
	if (!user)
		return;
	cJSON *j = cJSON_Parse(body);
	cJSON *pid = cJSON_GetObjectItemCaseSensitive(j, "product_id");
	cJSON *qty = cJSON_GetObjectItemCaseSensitive(j, "qty");
	if (!cJSON_IsNumber(pid) || (qty && !cJSON_IsNumber(qty))) {
		reply_err(r, 400, "product_id required");
	} else {
		char ps[32], qs[32];
		snprintf(ps, sizeof(ps), "%ld", (long)pid->valuedouble);
		snprintf(qs, sizeof(qs), "%ld", qty ? (long)qty->valuedouble : 1L);
		const char *params[3] = {user, ps, qs};
		PGresult *res = query("INSERT INTO orders (user_name, product_id, qty, status) "
				      "VALUES ($1, $2, $3, 'pending') RETURNING id",
				      3, params);
		if (!res) {
			reply_err(r, 503, "database unavailable");
		} else {
			long id = 0;
			parse_long(PQgetvalue(res, 0, 0), &id);
			PQclear(res);
			enqueue_payment(id);
			reply_json(r, 201, xasprintf("{\"id\":%ld,\"status\":\"pending\"}", id));
		}
	}
	cJSON_Delete(j);
	free(user);
}

static void h_order(struct MHD_Connection *c, const char *method, const char *url, struct reply *r)
{
	long id;
	if (!parse_long(url + strlen("/orders/"), &id)) {
		reply_err(r, 404, "not found");
		return;
	}
	char ids[32];
	snprintf(ids, sizeof(ids), "%ld", id);
	if (strcmp(method, "DELETE") == 0) {
		char *user = session_user(c, r);
		if (!user)
			return;
		const char *params[2] = {ids, user};
		PGresult *res =
		    query("WITH d AS (DELETE FROM orders WHERE id = $1 AND user_name = $2 "
			  "RETURNING id), p AS (DELETE FROM payments WHERE order_id IN "
			  "(SELECT id FROM d)), h AS (DELETE FROM discount_holds WHERE "
			  "order_id IN (SELECT id FROM d)) SELECT count(*) FROM d",
			  2, params);
		free(user);
		if (!res) {
			reply_err(r, 503, "database unavailable");
			return;
		}
		bool gone = strcmp(PQgetvalue(res, 0, 0), "1") == 0;
		PQclear(res);
		if (gone)
			reply_json(r, 200, xasprintf("{\"deleted\":%ld}", id));
		else
			reply_err(r, 404, "not found");
		return;
	}
	const char *params[1] = {ids};
	PGresult *res = query("SELECT id, status FROM orders WHERE id = $1", 1, params);
	if (!res) {
		reply_err(r, 503, "database unavailable");
		return;
	}
	if (PQntuples(res) != 1)
		reply_err(r, 404, "not found");
	else
		reply_json(r, 200,
			   xasprintf("{\"id\":%s,\"status\":\"%s\"}", PQgetvalue(res, 0, 0),
				     PQgetvalue(res, 0, 1)));
	PQclear(res);
}

static void route(struct MHD_Connection *c, const char *method, const char *url, const char *body,
		  struct reply *r)
{
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	if (get && strcmp(url, "/") == 0) {
		r->status = 200;
		r->type = "text/html; charset=utf-8";
		r->cacheable = true;
		r->body =
		    xasprintf("<!doctype html><html><head><title>Corner Shop</title></head><body>"
			      "<h1>Corner Shop</h1><p>Teapots and more.</p>"
			      "<footer>build %s</footer></body></html>\n",
			      opt_build);
	} else if (post && strcmp(url, "/login") == 0) {
		h_login(body, r);
	} else if (get && strcmp(url, "/account") == 0) {
		h_account(c, r);
	} else if (get && strcmp(url, "/cart/total") == 0) {
		h_cart_total(c, r);
	} else if (get && strcmp(url, "/search") == 0) {
		h_search(c, r);
	} else if (get && strncmp(url, "/products/", 10) == 0) {
		h_product(url, r);
	} else if (get && strcmp(url, "/checkout") == 0) {
		h_checkout(c, r);
	} else if (get && strcmp(url, "/flags") == 0) {
		h_flags(c, r);
	} else if (post && strcmp(url, "/orders") == 0) {
		h_orders_post(c, body, r);
	} else if ((get || strcmp(method, "DELETE") == 0) && strncmp(url, "/orders/", 8) == 0) {
		h_order(c, method, url, r);
	} else if (get && strcmp(url, "/metrics") == 0) {
		r->status = 200;
		r->type = "text/plain; version=0.0.4";
		r->body = metrics_text();
	} else if (get && strcmp(url, "/healthz") == 0) {
		/* Always healthy, like many real health checks, even when broken. */
		r->status = 200;
		r->type = "text/plain";
		r->body = strdup("ok\n");
	} else {
		reply_err(r, 404, "not found");
	}
}

struct upload {
	char *data;
	size_t len;
	bool too_big;
};

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct upload *u = *con_cls;
	if (u) {
		free(u->data);
		free(u);
	}
	*con_cls = NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct upload *u = *con_cls;
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	if (*data_size) {
		if (u->len + *data_size > MAX_BODY) {
			u->too_big = true;
		} else {
			char *n = realloc(u->data, u->len + *data_size + 1);
			if (!n)
				return MHD_NO;
			u->data = n;
			memcpy(u->data + u->len, data, *data_size);
			u->len += *data_size;
			u->data[u->len] = '\0';
		}
		*data_size = 0;
		return MHD_YES;
	}
	double t0 = now_s();
	struct reply r = {0};
	pthread_mutex_lock(&lock);
	if (u->too_big)
		reply_err(&r, 413, "body too large");
	else
		route(c, method, url, u->data ? u->data : "", &r);
	count(url, r.status, now_s() - t0);
	pthread_mutex_unlock(&lock);
	if (!r.body)
		r.body = strdup("");
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(r.body), r.body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", r.type ? r.type : "application/json");
	MHD_add_response_header(resp, "X-Build", opt_build);
	MHD_add_response_header(resp, "Cache-Control",
				r.cacheable ? "public, max-age=3600" : "no-store");
	if (r.set_cookie) {
		MHD_add_response_header(resp, "Set-Cookie", r.set_cookie);
		free(r.set_cookie);
	}
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)r.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* --- the payment worker --------------------------------------------------- */

static void worker_heartbeat(const char *identity, int busy)
{
	redisReply *r = redisCommand(rd, "SADD processes %s", identity);
	if (r)
		freeReplyObject(r);
	char beat[32];
	snprintf(beat, sizeof(beat), "%.3f", now_s());
	char *info = xasprintf("{\"hostname\":\"demo\",\"pid\":%d,\"queues\":[\"payments\"],"
			       "\"concurrency\":1,\"tag\":\"shop-%s\"}",
			       (int)getpid(), opt_build);
	r = redisCommand(rd, "HSET %s busy %d beat %s info %s quiet false", identity, busy, beat,
			 info);
	if (r)
		freeReplyObject(r);
	r = redisCommand(rd, "EXPIRE %s 60", identity);
	if (r)
		freeReplyObject(r);
	free(info);
}

/* Move retry jobs whose time has come back onto the queue. */
static void requeue_due_retries(void)
{
	char now[32];
	snprintf(now, sizeof(now), "%.6f", now_s());
	redisReply *r = redisCommand(rd, "ZRANGEBYSCORE retry -inf %s LIMIT 0 100", now);
	if (r && r->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < r->elements; i++) {
			redisReply *z = redisCommand(rd, "ZREM retry %b", r->element[i]->str,
						     r->element[i]->len);
			bool mine = z && z->type == REDIS_REPLY_INTEGER && z->integer == 1;
			if (z)
				freeReplyObject(z);
			if (!mine)
				continue;
			redisReply *p = redisCommand(rd, "LPUSH queue:payments %b",
						     r->element[i]->str, r->element[i]->len);
			if (p)
				freeReplyObject(p);
		}
	}
	if (r)
		freeReplyObject(r);
}

static void process_job(const char *text)
{
	cJSON *job = cJSON_Parse(text);
	cJSON *args = cJSON_GetObjectItemCaseSensitive(job, "args");
	cJSON *arg = cJSON_GetArrayItem(args, 0);
	if (!cJSON_IsNumber(arg)) {
		cJSON_Delete(job);
		return;
	}
	char ids[32];
	snprintf(ids, sizeof(ids), "%ld", (long)arg->valuedouble);
	const char *params[1] = {ids};
	char *mode = redis_get("shop:config:payment_mode");
	bool bad = mode && strcmp(mode, "v42") == 0;
	free(mode);
	if (!bad) {
		/* The correct path: a payment row, then the order is processed. */
		PGresult *res = query(
		    "WITH o AS (SELECT o.id, p.price_cents * o.qty AS amount FROM orders o JOIN "
		    "products p ON p.id = o.product_id WHERE o.id = $1 AND o.status IN "
		    "('pending','paid')), ins AS (INSERT INTO payments (order_id, amount_cents) "
		    "SELECT id, amount FROM o WHERE NOT EXISTS (SELECT 1 FROM payments WHERE "
		    "order_id = o.id) RETURNING order_id) UPDATE orders SET status = 'processed' "
		    "WHERE id IN (SELECT id FROM o)",
		    1, params);
		if (res)
			PQclear(res);
		redisReply *r = redisCommand(rd, "INCR stat:processed");
		if (r)
			freeReplyObject(r);
		cJSON_Delete(job);
		return;
	}
	/* The bad release's path: paid without a payment, a duplicate discount
	 * hold, then a failure that sends the job round again. */
	PGresult *res = query(
	    "UPDATE orders SET status = 'paid', payment_format = 'v42' WHERE id = $1", 1, params);
	if (res)
		PQclear(res);
	res = query(
	    "INSERT INTO discount_holds (order_id, code) SELECT id, 'NEW10' FROM orders WHERE "
	    "id = $1",
	    1, params);
	if (res)
		PQclear(res);
	cJSON *rc = cJSON_GetObjectItemCaseSensitive(job, "retry_count");
	int retries = cJSON_IsNumber(rc) ? (int)rc->valuedouble + 1 : 0;
	cJSON_DeleteItemFromObjectCaseSensitive(job, "retry_count");
	cJSON_AddNumberToObject(job, "retry_count", retries);
	cJSON_DeleteItemFromObjectCaseSensitive(job, "error_message");
	cJSON_AddStringToObject(job, "error_message", "PaymentGateway::V2 unknown field 'intent'");
	cJSON_DeleteItemFromObjectCaseSensitive(job, "failed_at");
	cJSON_AddNumberToObject(job, "failed_at", now_s());
	char *text2 = cJSON_PrintUnformatted(job);
	char when[32];
	snprintf(when, sizeof(when), "%.6f", now_s() + 1.0);
	redisReply *r = retries >= 25 ? redisCommand(rd, "ZADD dead %s %s", when, text2)
				      : redisCommand(rd, "ZADD retry %s %s", when, text2);
	if (r)
		freeReplyObject(r);
	r = redisCommand(rd, "INCR stat:failed");
	if (r)
		freeReplyObject(r);
	free(text2);
	cJSON_Delete(job);
}

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static int run_worker(void)
{
	char identity[64];
	snprintf(identity, sizeof(identity), "demo:%d:payments", (int)getpid());
	while (!stopping) {
		if (!redis_ok() || !db_ok()) {
			sleep(1);
			continue;
		}
		worker_heartbeat(identity, 0);
		requeue_due_retries();
		redisReply *r = redisCommand(rd, "BRPOP queue:payments 1");
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
			worker_heartbeat(identity, 1);
			process_job(r->element[1]->str);
		}
		if (r)
			freeReplyObject(r);
		else if (rd && rd->err && rd->err != REDIS_ERR_IO)
			sleep(1);
	}
	if (redis_ok()) {
		redisReply *r = redisCommand(rd, "SREM processes %s", identity);
		if (r)
			freeReplyObject(r);
		r = redisCommand(rd, "DEL %s", identity);
		if (r)
			freeReplyObject(r);
	}
	return 0;
}

static void usage(void)
{
	fputs("usage: allclear-demo-shop [--worker] --port N --pg DSN --redis HOST:PORT "
	      "--build NAME [--seed N]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	bool worker = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		long n;
		if (strcmp(a, "--worker") == 0) {
			worker = true;
		} else if (strcmp(a, "--port") == 0 && v && parse_long(v, &n) && n > 0 &&
			   n < 65536) {
			opt_port = (int)n;
			i++;
		} else if (strcmp(a, "--pg") == 0 && v) {
			opt_pg = v;
			i++;
		} else if (strcmp(a, "--redis") == 0 && v) {
			opt_redis = v;
			i++;
		} else if (strcmp(a, "--build") == 0 && v) {
			opt_build = v;
			i++;
		} else if (strcmp(a, "--seed") == 0 && v && parse_long(v, &n) && n >= 0) {
			rollout_state = (uint64_t)n * 0x9E3779B97F4A7C15ULL + 1;
			i++;
		} else {
			usage();
		}
	}
	if (!rollout_state)
		rollout_state =
		    ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ 0x9E3779B97F4A7C15ULL;
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (worker)
		return run_worker();
	struct MHD_Daemon *d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, (uint16_t)opt_port, NULL, NULL, handle,
	    NULL, MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "shop: cannot listen on port %d\n", opt_port);
		return 1;
	}
	while (!stopping)
		pause();
	MHD_stop_daemon(d);
	pthread_mutex_lock(&lock);
	if (pg)
		PQfinish(pg);
	if (rd)
		redisFree(rd);
	pthread_mutex_unlock(&lock);
	return 0;
}
