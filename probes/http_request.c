/*
 * http_request.c: building and sending the request of a journey step
 * (captures expanded, headers, bodies, one cookie jar per origin), the
 * response callbacks with their caps, and redirects, which are followed
 * here rather than by libcurl.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "curlmulti.h"
#include "http.h"
#include "json.h"
#include "probe.h"

static const char *lookup_capture(void *ud, const char *name)
{
	struct hrun *h = ud;
	for (size_t i = h->ncaps; i > 0; i--)
		if (strcmp(h->caps[i - 1].name, name) == 0)
			return h->caps[i - 1].value;
	return NULL;
}

/* The loader checked every name: a capture is missing only when the step
 * that makes it did not pass, and then the steps that still run are the
 * cleanup steps. Their request is not sent: "DELETE /orders/${order}" with
 * no order would be "DELETE /orders/". The name is kept in h->missing. */
static char *missing_capture(struct hrun *h, char *missing)
{
	if (!h->missing)
		h->missing = missing;
	else
		free(missing);
	return ac_strdup("");
}

char *http_expand(struct hrun *h, const char *tmpl)
{
	char *missing = NULL;
	char *s = ac_vars_subst(tmpl, lookup_capture, h, &missing);
	return s ? s : missing_capture(h, missing);
}

/* The same for a URL: captured values percent-encoded unless ${raw:name}. */
char *http_expand_url(struct hrun *h, const char *tmpl)
{
	char *missing = NULL;
	char *s = ac_vars_subst_url(tmpl, lookup_capture, h, &missing);
	return s ? s : missing_capture(h, missing);
}

void http_set_capture(struct hrun *h, const char *name, const char *value, bool secret)
{
	/* A name captured again (a later step, or the next try of a waiting
	 * step) takes the new value: the memory is one value per name. */
	size_t i = 0;
	while (i < h->ncaps && strcmp(h->caps[i].name, name) != 0)
		i++;
	if (i == h->ncaps) {
		h->caps = ac_realloc(h->caps, (h->ncaps + 1) * sizeof(*h->caps));
		h->caps[h->ncaps].name = ac_strdup(name);
		h->caps[h->ncaps].value = NULL;
		h->ncaps++;
	}
	free(h->caps[i].value);
	h->caps[i].value = ac_strdup(value);
	/* A captured secret belongs to this run's mask. One shorter than the
	 * loader's minimum ("1") would blank that text everywhere: it is left to
	 * masking by header name (Cookie, Authorization, ...). */
	if (secret && strlen(value) >= AC_SECRET_MIN_BYTES)
		ac_mask_add(h->run->mask, value);
}

static void enc_reset(struct hrun *h)
{
	if (h->zs) {
		inflateEnd(h->zs);
		free(h->zs);
		h->zs = NULL;
	}
	h->enc = ENC_IDENTITY;
	h->served_hdr = false;
	h->z_started = false;
	h->z_end = false;
	h->z_bad = false;
}

void http_reset_response(struct hrun *h)
{
	ac_buf_reset(&h->body); /* the memory is kept for the run's next response */
	enc_reset(h);
	h->body_too_big = false;
	h->hdr_bytes = 0;
	h->hdr_count = 0;
	h->hdr_cap = HDR_CAP_NONE;
	h->status = 0;
}

/* Inflate n compressed bytes into the body; false when the cap is passed
 * (h->body_too_big) or the data is not a valid stream (h->z_bad). Bytes
 * after the end of a stream begin the next gzip member (a body may be
 * several, and every one is read: judging the first alone could miss what
 * the page says after it); anything else there is not a valid stream. */
static bool inflate_add(struct hrun *h, const char *data, size_t n)
{
	if (!h->zs) {
		h->zs = ac_calloc(1, sizeof(z_stream));
		/* gzip, or zlib (deflate); 15 + 32 detects which */
		if (inflateInit2(h->zs, 15 + 32) != Z_OK) {
			h->z_bad = true;
			return false;
		}
	}
	bool first = !h->z_started;
	h->z_started = true;
	z_stream *z = h->zs;
	z->next_in = (Bytef *)data;
	z->avail_in = (uInt)n;
	unsigned char out[16384];
	while (z->avail_in > 0) {
		if (h->z_end) {
			if (h->enc != ENC_GZIP) {
				h->z_bad = true; /* data after a zlib stream's end */
				return false;
			}
			inflateReset(z);
			h->z_end = false;
		}
		z->next_out = out;
		z->avail_out = sizeof(out);
		int zr = inflate(z, Z_NO_FLUSH);
		if (zr == Z_DATA_ERROR && first && h->enc == ENC_DEFLATE && z->total_out == 0) {
			/* "deflate" sent raw, without its zlib header (as libcurl
			 * allows): once, from the first byte. */
			first = false;
			inflateReset2(z, -15);
			z->next_in = (Bytef *)data;
			z->avail_in = (uInt)n;
			continue;
		}
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			h->z_bad = true;
			return false;
		}
		if (ac_buf_add(&h->body, (const char *)out, sizeof(out) - z->avail_out) < 0) {
			h->body_too_big = true;
			return false;
		}
		if (zr == Z_STREAM_END)
			h->z_end = true;
		else if (zr == Z_BUF_ERROR && z->avail_out != 0)
			break;
	}
	return true;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct hrun *h = ud;
	size_t n = size * nmemb;
	if (h->enc == ENC_OTHER)
		return n; /* not offered, not read: the response is not judged */
	if (h->enc == ENC_GZIP || h->enc == ENC_DEFLATE)
		return inflate_add(h, data, n) ? n : CURL_WRITEFUNC_ERROR;
	if (ac_buf_add(&h->body, data, n) < 0) {
		/* Stop the transfer at the cap: a chunked body has no length to
		 * check up front. */
		h->body_too_big = true;
		return CURL_WRITEFUNC_ERROR;
	}
	return n;
}

/* A value (spaces and quotes around it removed) of 4 bytes or more joins
 * the run's mask. */
static void mask_piece(struct hrun *h, const char *a, const char *b)
{
	while (a < b && (*a == ' ' || *a == '\t'))
		a++;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
		b--;
	if (b - a >= 2 && *a == '"' && b[-1] == '"') {
		a++;
		b--;
	}
	if ((size_t)(b - a) < AC_SECRET_MIN_BYTES)
		return;
	char *v = ac_strndup(a, (size_t)(b - a));
	ac_mask_add(h->run->mask, v);
	free(v);
}

/* The value of a Set-Cookie line ("name=value; Path=/") joins the run's
 * mask: the jar sends it back, and an echo of the request would show it. */
static void mask_set_cookie(struct hrun *h, const char *v, size_t n)
{
	const char *end = v + n;
	const char *eq = memchr(v, '=', n);
	if (!eq)
		return;
	const char *b = eq + 1;
	while (b < end && *b != ';' && *b != '\r' && *b != '\n')
		b++;
	mask_piece(h, eq + 1, b);
}

/* Only the caps: libcurl keeps the headers (curl_easy_header). The caps
 * count every header line of the transfer, 1xx responses included. */
static size_t header_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct hrun *h = ud;
	size_t n = size * nmemb;
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		enc_reset(h); /* a new response (after a 1xx) */
		return n;
	}
	if (!h->served_hdr && http_is_served_by_header(data, n))
		h->served_hdr = true;
	if (n > 11 && strncasecmp(data, "Set-Cookie:", 11) == 0)
		mask_set_cookie(h, data + 11, n - 11);
	if (n > 17 && strncasecmp(data, "Content-Encoding:", 17) == 0) {
		size_t a = 17, b = n;
		while (a < b && (data[a] == ' ' || data[a] == '\t'))
			a++;
		while (b > a && isspace((unsigned char)data[b - 1]))
			b--;
		size_t len = b - a;
		const char *v = data + a;
		if ((len == 4 && strncasecmp(v, "gzip", 4) == 0) ||
		    (len == 6 && strncasecmp(v, "x-gzip", 6) == 0))
			h->enc = ENC_GZIP;
		else if (len == 7 && strncasecmp(v, "deflate", 7) == 0)
			h->enc = ENC_DEFLATE;
		else if (!(len == 8 && strncasecmp(v, "identity", 8) == 0) && len > 0)
			h->enc = ENC_OTHER;
	}
	h->hdr_bytes += n;
	if (h->hdr_bytes > HTTP_MAX_HEADER_BYTES) {
		h->hdr_cap = HDR_CAP_BYTES;
		return 0;
	}
	if (++h->hdr_count > HTTP_MAX_HEADERS) {
		h->hdr_cap = HDR_CAP_COUNT;
		return 0;
	}
	return n;
}

/* Whether the header line data (n bytes, "Name: value") names a header
 * served_by() reports: X-Build, X-Version, Age, X-Cache-Status, X-Cache,
 * CF-Cache-Status, in any case. A wider name with one of them as its
 * prefix ("Age-X", "X-Cache-Hits") only costs a look-up. */
bool http_is_served_by_header(const char *data, size_t n)
{
	if (n == 0)
		return false;
	/* By the first letter: this runs for every header line. */
	switch (data[0] | 0x20) {
	case 'x':
		return (n >= 7 && strncasecmp(data, "x-build", 7) == 0) ||
		       (n >= 9 && strncasecmp(data, "x-version", 9) == 0) ||
		       (n >= 7 && strncasecmp(data, "x-cache", 7) == 0);
	case 'a':
		return n >= 3 && strncasecmp(data, "age", 3) == 0;
	case 'c':
		return n >= 15 && strncasecmp(data, "cf-cache-status", 15) == 0;
	default:
		return false;
	}
}

/* The first value of a header (or trailer) of the last response, as
 * libcurl keeps it: name matched without case, the value without the
 * whitespace around it; 1xx responses are not looked at. Valid until the
 * handle's next transfer. */
const char *http_find_header(const struct hrun *h, const char *name)
{
	return http_header_nth(h, name, 0, NULL);
}

const char *http_header_nth(const struct hrun *h, const char *name, size_t i, size_t *count)
{
	struct curl_header *hh = NULL;
	if (count)
		*count = 0;
	if (!h->easy ||
	    curl_easy_header(h->easy, name, i, CURLH_HEADER | CURLH_TRAILER, -1, &hh) != CURLHE_OK)
		return NULL;
	if (count)
		*count = hh->amount;
	return hh->value;
}

/* scheme://host:port of a parsed URL, lower-cased, with the default port
 * made explicit; NULL if it is not http(s). */
static char *origin_from(CURLU *u)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *r = NULL;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)) {
		r = ac_asprintf("%s://%s:%s", scheme, host, port);
		for (char *p = r; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	return r;
}

/* One parse of an absolute URL: why libcurl would not send it (NULL when
 * it would), and its origin (NULL if it is not http(s) or has a problem). */
static const char *check_url(const char *url, char **origin)
{
	*origin = NULL;
	CURLU *u = curl_url();
	CURLUcode rc = u ? curl_url_set(u, CURLUPART_URL, url, 0) : CURLUE_OUT_OF_MEMORY;
	if (rc == CURLUE_OK)
		*origin = origin_from(u);
	curl_url_cleanup(u);
	return rc == CURLUE_OK ? NULL : curl_url_strerror(rc);
}

/* check_url, remembered for the run. */
static const char *check_url_memo(struct hrun *h, const char *url, char **origin)
{
	const char *problem = NULL, *o = NULL;
	if (ac_curlmulti_url_memo(h->cm, url, &problem, &o)) {
		*origin = o ? ac_strdup(o) : NULL;
		return problem;
	}
	problem = check_url(url, origin);
	ac_curlmulti_url_remember(h->cm, url, problem, *origin);
	return problem;
}

char *http_origin_memo(struct hrun *h, const char *url)
{
	char *o;
	check_url_memo(h, url, &o);
	return o;
}

char *http_origin_of(const char *url)
{
	char *o;
	check_url(url, &o);
	return o;
}

/* Why url (absolute, or a path to put after any target) is not a URL
 * libcurl would send; NULL when it is. */
const char *http_url_problem(const char *url)
{
	char *full = ac_starts_with(url, "/") ? ac_asprintf("http://target%s", url) : NULL;
	CURLU *u = curl_url();
	CURLUcode rc =
	    u ? curl_url_set(u, CURLUPART_URL, full ? full : url, 0) : CURLUE_OUT_OF_MEMORY;
	curl_url_cleanup(u);
	free(full);
	return rc == CURLUE_OK ? NULL : curl_url_strerror(rc);
}

void http_remove_easy(struct hrun *h)
{
	if (h->in_multi) {
		curl_multi_remove_handle(ac_curlmulti_handle(h->cm), h->easy);
		h->in_multi = false;
	}
	curl_slist_free_all(h->req_headers);
	h->req_headers = NULL;
	free(h->req_body);
	h->req_body = NULL;
}

static char *form_encode(struct hrun *h, const struct step *s)
{
	struct ac_buf b = AC_BUF_INIT;
	for (size_t i = 0; i < s->form.n; i++) {
		char *v = http_expand(h, s->form.v[i].value);
		char *en = curl_easy_escape(h->easy, s->form.v[i].name, 0);
		char *ev = curl_easy_escape(h->easy, v, 0);
		ac_buf_addf(&b, "%s%s=%s", i ? "&" : "", en, ev);
		curl_free(en);
		curl_free(ev);
		free(v);
	}
	return ac_buf_detach(&b);
}

/* Expand captures in every string of a JSON body, in place. The depth is
 * bounded by the loader's nesting limit (AC_JSON_MAX_DEPTH); the number of
 * nodes is not. */
static void expand_json_node(struct hrun *h, cJSON *n)
{
	if (cJSON_IsString(n)) {
		char *v = http_expand(h, n->valuestring);
		cJSON_SetValuestring(n, v);
		free(v);
	}
	for (cJSON *c = n->child; c; c = c->next)
		expand_json_node(h, c);
}

static cJSON *expand_json_body(struct hrun *h, const cJSON *tmpl)
{
	cJSON *copy = cJSON_Duplicate(tmpl, 1);
	expand_json_node(h, copy);
	return copy;
}

static void add_header(struct hrun *h, const char *name, const char *value)
{
	char *line = ac_asprintf("%s: %s", name, value);
	h->req_headers = curl_slist_append(h->req_headers, line);
	free(line);
}

/* A credential header's value (Authorization, Cookie, X-Api-Key, ...)
 * joins the run's mask, wherever else it shows (an echo, the URL): the
 * whole value, the token after a scheme ("Bearer xyz", "Basic abc"), and
 * each cookie value of a Cookie header. */
static void mask_credential(struct hrun *h, const char *name, const char *v)
{
	if (!ac_mask_header_is_secret(name))
		return;
	const char *end = v + strlen(v);
	mask_piece(h, v, end);
	if (strcasecmp(name, "cookie") == 0) {
		for (const char *p = v; p < end;) {
			const char *semi = memchr(p, ';', (size_t)(end - p));
			const char *e = semi ? semi : end;
			const char *eq = memchr(p, '=', (size_t)(e - p));
			if (eq)
				mask_piece(h, eq + 1, e);
			p = e + (semi ? 1 : 0);
		}
	} else {
		const char *sp = strchr(v, ' ');
		if (sp)
			mask_piece(h, sp + 1, end);
	}
}

/* Add the persona's and the step's headers, expanded. The persona's are
 * credentials for the target: they go to the target's origin only, never to
 * a step's absolute URL elsewhere. Only a captured value can hold a line
 * break (the loader refuses them): one would inject headers of the server's
 * choosing, so the step fails and nothing is sent. A FAIL, not an ERROR:
 * the product handed out a value no header can carry. */
static bool add_step_headers(struct hrun *h, const struct step *s, bool to_target)
{
	for (int k = to_target ? 0 : 1; k < 2; k++) {
		const struct http_persona *pe = h->j->persona;
		const struct ac_kvs *kvs = k == 0 ? (pe ? &pe->headers : NULL) : &s->headers;
		const struct ac_kv *kv = kvs ? kvs->v : NULL;
		size_t n = kvs ? kvs->n : 0;
		for (size_t i = 0; i < n; i++) {
			char *v = http_expand(h, kv[i].value);
			bool bad = false;
			for (const unsigned char *p = (const unsigned char *)v; *p && !bad; p++)
				bad = (*p < 0x20 && *p != '\t') || *p == 0x7f;
			if (bad) {
				http_step_fail(h, AC_STATE_FAIL,
					       "header %s: its value holds a line break or control "
					       "character: refused, the request was not sent",
					       kv[i].name);
				free(v);
				return false;
			}
			mask_credential(h, kv[i].name, v);
			add_header(h, kv[i].name, v);
			free(v);
		}
	}
	return true;
}

/* The current try ends before anything is sent (the reason is set). */
void http_refuse_request(struct hrun *h)
{
	const struct step *s = http_cur_step(h);
	http_remove_easy(h);
	free(h->sr->url);
	h->sr->url = http_masked(h, h->url);
	h->sr->tries = h->tries;
	h->sr->waited_ms = ac_loop_update_now(h->run->loop) - h->step_start;
	if (h->sr->state == AC_STATE_PENDING)
		h->sr->state = AC_STATE_FAIL;
	if (s->cleanup)
		h->cleanup_failed = true;
	else
		h->failed = true;
	http_next_step(h);
}

/* Options that stay the same for every request of a run, on a handle from
 * the pool (its common options and empty cookie jar set there). */
static void setup_handle(struct hrun *h, CURL *e)
{
	const struct ac_settings *set = &h->run->plan->settings;
	curl_easy_setopt(e, CURLOPT_PRIVATE, &h->job);
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)set->max_body);
	/* Compressed bodies are inflated in write_cb, which knows whether the
	 * stream ended; only what it can decode is offered. */
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
	curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
}

/* Why a response body cannot be judged for its encoding; NULL if it can. */
const char *http_encoding_problem(const struct hrun *h)
{
	if (h->enc == ENC_OTHER)
		return "response body in a Content-Encoding that was not offered (only gzip "
		       "and deflate are): not read";
	if (h->z_bad)
		return "response body is not a valid compressed stream";
	if (h->z_started && !h->z_end)
		return "response body truncated (gzip stream incomplete)";
	return NULL;
}

/* Make h->easy the handle (and cookie jar) of origin o; false if there is
 * none and no new one can be made. The handles come from the run's pool
 * and go back to it when the journey run ends (hrun_destroy), their jars
 * emptied: connections and libcurl's state are reused, cookies never. */
bool http_use_jar(struct hrun *h, const char *o)
{
	for (size_t i = 0; i < h->njars; i++) {
		if (strcmp(h->jars[i].origin, o) == 0) {
			h->easy = h->jars[i].easy;
			return true;
		}
	}
	CURL *e = ac_curlmulti_take(h->cm);
	if (!e)
		return false;
	setup_handle(h, e);
	h->jars = ac_realloc(h->jars, (h->njars + 1) * sizeof(*h->jars));
	h->jars[h->njars].origin = ac_strdup(o);
	h->jars[h->njars].easy = e;
	h->njars++;
	h->easy = e;
	return true;
}

/* Send the current step's request to h->url. */
void http_send_request(struct hrun *h)
{
	const struct step *s = http_cur_step(h);
	http_remove_easy(h); /* the previous request's, if still there */
	const char *o = h->url_origin;
	bool have = o && http_use_jar(h, o);
	bool to_target = o && h->origin && strcmp(o, h->origin) == 0;
	if (!have) {
		http_step_fail(h, AC_STATE_ERROR, "cannot prepare a request to %s", h->url);
		http_refuse_request(h);
		return;
	}
	CURL *e = h->easy;
	http_reset_response(h);
	/* No curl_easy_reset between requests: libcurl 7.88 leaks the cookie
	 * file list on reset (curl PR 10709). What varies per request is set
	 * here, every time; the rest once in setup_handle(). */
	curl_easy_setopt(e, CURLOPT_URL, h->url);
	int64_t left = h->run->deadline_ms - ac_loop_now(h->run->loop);
	int64_t t = s->timeout_ms < left ? s->timeout_ms : left;
	h->req_timeout_ms = t > 1 ? t : 1;
	h->req_limit = s->timeout_ms < left	    ? "step timeout"
		       : h->run->deadline_is_budget ? "round time limit"
						    : "journey time limit";
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)h->req_timeout_ms);
	/* The previous request's body is freed: forget it before anything
	 * else (setting POSTFIELDS switches to POST; HTTPGET switches back). */
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	h->errbuf[0] = '\0';
	/* A redirect to another origin carries none of the step's headers. */
	if (!h->other_origin && !add_step_headers(h, s, to_target)) {
		http_refuse_request(h);
		return;
	}
	bool redirected = h->redirects > 0;
	if (!redirected && s->body_kind != BODY_NONE) {
		if (s->body_kind == BODY_RAW) {
			h->req_body = http_expand(h, s->body);
		} else if (s->body_kind == BODY_FORM) {
			h->req_body = form_encode(h, s);
			add_header(h, "Content-Type", "application/x-www-form-urlencoded");
		} else {
			cJSON *doc = expand_json_body(h, s->json);
			h->req_body = cJSON_PrintUnformatted(doc);
			cJSON_Delete(doc);
			add_header(h, "Content-Type", "application/json");
		}
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->req_body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(h->req_body));
	}
	const char *method = redirected ? "GET" : s->method;
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0 && h->req_body)
		curl_easy_setopt(e, CURLOPT_POST, 1L);
	else
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (!h->req_body && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->req_headers);
	if (h->missing) {
		http_step_fail(h, AC_STATE_ERROR,
			       "not sent: ${%s} was never captured (the step that captures it did "
			       "not pass)",
			       h->missing);
		http_refuse_request(h);
		return;
	}
	h->try_start = ac_loop_update_now(h->run->loop);
	if (curl_multi_add_handle(ac_curlmulti_handle(h->cm), e) != CURLM_OK) {
		http_step_fail(h, AC_STATE_ERROR, "libcurl refused the request");
		http_refuse_request(h);
		return;
	}
	h->in_multi = true;
}

void http_begin_try(struct hrun *h)
{
	const struct step *s = http_cur_step(h);
	h->tries++;
	h->redirects = 0;
	h->other_origin = false;
	free(h->missing);
	h->missing = NULL;
	free(h->url);
	char *path = http_expand_url(h, s->url);
	if (ac_starts_with(path, "http://") || ac_starts_with(path, "https://"))
		h->url = path;
	else {
		const char *t = h->run->check->target->url;
		size_t tl = strlen(t), pl = strlen(path);
		h->url = ac_malloc(tl + pl + 1);
		memcpy(h->url, t, tl);
		memcpy(h->url + tl, path, pl + 1);
		free(path);
	}
	/* A fresh try starts with a clean step result. */
	for (size_t i = 0; i < h->sr->nasserts; i++) {
		free(h->sr->asserts[i].what);
		free(h->sr->asserts[i].expected);
		free(h->sr->asserts[i].actual);
	}
	h->sr->nasserts = 0;
	free(h->sr->reason);
	h->sr->reason = NULL;
	free(h->sr->excerpt);
	h->sr->excerpt = NULL;
	h->sr->state = AC_STATE_PENDING;
	/* A ${raw:capture} may make a URL libcurl refuses: nothing is sent,
	 * and nothing about the product is measured. */
	free(h->url_origin);
	const char *problem = check_url_memo(h, h->url, &h->url_origin);
	if (problem) {
		http_step_fail(h, AC_STATE_ERROR, "could not build URL (%s): nothing sent",
			       problem);
		http_refuse_request(h);
		return;
	}
	http_send_request(h);
}

/* Statuses that send the client elsewhere (a 304 or a 300 does not). */
bool http_is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Follow the redirect ourselves: same origin unless allowed, never
 * re-POST. */
bool http_follow_redirect(struct hrun *h)
{
	const struct step *s = http_cur_step(h);
	char *loc = NULL;
	curl_easy_getinfo(h->easy, CURLINFO_REDIRECT_URL, &loc);
	char *to = loc ? ac_strdup(loc) : NULL;
	char *o = to ? http_origin_of(to) : NULL;
	const char *from = h->url_origin;
	/* https to http is refused even where other hosts are allowed. */
	bool downgrade =
	    o && from && ac_starts_with(from, "https:") && !ac_starts_with(o, "https:");
	if (!to || !o) {
		if (to)
			http_step_fail(h, AC_STATE_FAIL,
				       "redirect %ld to an unsupported URL: protocol not allowed",
				       h->status);
		else
			http_step_fail(h, AC_STATE_FAIL, "redirect %ld without a Location header",
				       h->status);
	} else if (downgrade) {
		char *m = http_masked(h, to);
		http_step_fail(h, AC_STATE_FAIL,
			       "redirect to %s refused: https to http is a downgrade", m);
		free(m);
	} else if (strcmp(o, h->origin) != 0 && !s->redirect_other_host) {
		char *m = http_masked(h, to);
		http_step_fail(h, AC_STATE_FAIL,
			       "cross-origin redirect to %s refused (set \"redirect_other_hosts\" "
			       "to follow; credentials are never sent there)",
			       m);
		free(m);
	} else if ((h->status == 307 || h->status == 308) && strcmp(s->method, "GET") != 0 &&
		   strcmp(s->method, "HEAD") != 0) {
		http_step_fail(h, AC_STATE_FAIL, "redirect %ld would replay the %s: refused",
			       h->status, s->method);
	} else {
		h->redirects++;
		if (strcmp(o, h->origin) != 0)
			h->other_origin = true;
		free(h->url);
		h->url = to;
		free(h->url_origin);
		h->url_origin = o;
		http_remove_easy(h);
		http_send_request(h);
		return true;
	}
	free(o);
	free(to);
	return false;
}
