/*
 * http.h: what the files of the "http" probe kind share.
 *
 *   http.c          the run of one journey: steps in order, waits and
 *                   retries, the sample
 *   http_config.c   reading a journey from the scenario
 *   http_request.c  building and sending requests, response callbacks,
 *                   redirects
 *   http_assert.c   assertions (read and judged) and captures
 *   http_fail.c     the reason of a failed transfer
 */
#ifndef AC_PROBES_HTTP_H
#define AC_PROBES_HTTP_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "curlmulti.h"
#include "expect.h"
#include "loop.h"
#include "probe.h"
#include "result.h"

/* Response-size limits of one request. */
#define HTTP_MAX_HEADER_BYTES (64 * 1024)
#define HTTP_MAX_HEADERS 1000
#define HTTP_MAX_HEADER_LINE (100 * 1024) /* libcurl's CURL_MAX_HTTP_HEADER */

enum http_hdr_cap { HDR_CAP_NONE, HDR_CAP_COUNT, HDR_CAP_BYTES };

/* What is known about a transfer that ended with an error. */
struct http_failure {
	CURLcode rc;
	CURL *easy;
	const char *url;    /* what was requested (unmasked: only host and port are quoted) */
	const char *errbuf; /* libcurl's error buffer */
	long status;	    /* 0 before a status line */
	int64_t duration_ms;
	int64_t connect_timeout_ms;
	int64_t request_timeout_ms; /* CURLOPT_TIMEOUT_MS of the request */
	const char *request_limit;  /* what set request_timeout_ms: "step timeout", ... */
	bool body_too_big;
	uint64_t max_body;
	enum http_hdr_cap hdr_cap;
};

/* The reason for a failed transfer, naming the cause and the limit
 * ("connection refused by 127.0.0.1:8080", "response body exceeds the cap
 * of 1048576 bytes (1 MiB)"), and whether it is a FAIL (the product) or an
 * ERROR (nothing measured: TLS verification). */
char *http_failure_reason(const struct http_failure *f, enum ac_state *state);

/* "1 MiB", "64 KiB", "1500 bytes". */
char *http_size_text(uint64_t n);

/* "host:port" of a URL (the default port made explicit); NULL if it cannot
 * be parsed. */
char *http_host_port(const char *url);

/* --- configuration (http_config.c) --------------------------------------- */

#define HTTP_EXCERPT 240

enum cap_kind { CAP_JSON, CAP_HEADER, CAP_COOKIE, CAP_REGEX, CAP_BODY };

struct capture {
	char *name;
	enum cap_kind kind;
	char *expr;
	int group;
	regex_t re;
	bool has_re;
	bool secret;
};

enum assert_kind {
	A_STATUS,
	A_HEADER,
	A_BODY_CONTAINS,
	A_BODY_NOT_CONTAINS,
	A_BODY_MATCHES,
	A_JSON,
	A_DURATION,
	A_SIZE,
};

enum str_op { S_EQUALS, S_CONTAINS, S_MATCHES, S_EXISTS, S_ABSENT };

struct assertion {
	enum assert_kind kind;
	char *subject; /* header name, JSON path */
	/* status */
	int codes[16];
	size_t ncodes; /* codes < 10 are classes: 2 means 2xx */
	/* header and body */
	enum str_op sop;
	char *text; /* template */
	regex_t re;
	bool has_re;
	/* json, count, duration (ms), size (bytes): src/expect.c */
	struct ac_expect expect;
	int exists; /* -1 unset, 0 must not exist, 1 must exist */
	bool count;
};

enum body_kind { BODY_NONE, BODY_RAW, BODY_JSON, BODY_FORM };

struct step {
	char *name;
	char *method;
	char *url;	       /* template */
	struct ac_kvs headers; /* values are templates: may hold ${capture} */
	enum body_kind body_kind;
	char *body;	    /* BODY_RAW template */
	cJSON *json;	    /* BODY_JSON template */
	struct ac_kvs form; /* BODY_FORM */
	int64_t timeout_ms;
	bool write;
	int follow;		  /* redirects to follow */
	bool redirect_other_host; /* follow to another origin (headers dropped) */
	struct capture *caps;
	size_t ncaps;
	struct assertion *asserts;
	size_t nasserts;
	bool wait;
	int64_t wait_every_ms, wait_up_to_ms;
	int retries;
	bool cleanup;
	bool login;
};

/* A persona of the "personas" section, read once at load time (a section
 * entry, probes/sections.h); every journey that names it points to it. */
struct http_persona {
	struct step *login; /* run before each journey's own steps */
	size_t nlogin;
	struct ac_kvs headers; /* sent to the target on every request */
	struct ac_names names; /* what the login steps capture */
};

struct journey {
	const struct http_persona *persona; /* NULL: a visitor or a searcher */
	struct step *steps;		    /* the journey, then cleanup */
	size_t nsteps;
	char *observe; /* template: what fleet agreement compares */
	char *value;   /* template: the number trends judge */
};

/* The steps a run goes through: the persona's login steps, then the
 * journey's own. */
static inline size_t http_nsteps(const struct journey *j)
{
	return (j->persona ? j->persona->nlogin : 0) + j->nsteps;
}

static inline const struct step *http_step_at(const struct journey *j, size_t i)
{
	size_t nl = j->persona ? j->persona->nlogin : 0;
	return i < nl ? &j->persona->login[i] : &j->steps[i - nl];
}

struct hrun {
	struct ac_curl_job job; /* first: the multi handle hands it back */
	struct ac_probe_run *run;
	const struct journey *j;
	struct ac_curlmulti *cm;
	CURL *easy; /* the handle of the current request's origin */
	/* One handle, so one cookie jar, per origin: cookies ignore ports, and
	 * a jar shared with another origin (127.0.0.1:8080 and :9090) would
	 * send one server's cookies to the other. The target's is first. The
	 * handles are the run pool's (ac_curlmulti_take), jars emptied there. */
	struct jar {
		char *origin;
		CURL *easy;
	} * jars;
	size_t njars;
	struct curl_slist *req_headers;
	char *req_body;
	char errbuf[CURL_ERROR_SIZE];
	bool in_multi;
	/* where we are */
	size_t idx;
	bool failed;	     /* a non-cleanup step failed: only cleanup runs now */
	bool cleanup_failed; /* a cleanup step failed */
	bool retried;
	bool interrupted_step; /* the last step was cut short by a signal */
	struct ac_step_result *sr;
	int tries;
	int retries_left;
	int redirects;
	char *url;	    /* current URL (for redirects) */
	char *url_origin;   /* its scheme://host:port (NULL: not http(s)) */
	char *origin;	    /* scheme://host:port of the target */
	bool other_origin;  /* following a redirect to another origin */
	int64_t step_start; /* first try of the step */
	int64_t try_start;
	struct ac_timer wait_timer;
	/* the response */
	struct ac_buf body;
	bool body_too_big;
	size_t hdr_bytes, hdr_count; /* header lines seen (caps), after 1xx too */
	enum http_hdr_cap hdr_cap;   /* a header limit stopped the transfer */
	/* A header served_by() reports (X-Build, Age, X-Cache, ...) came with
	 * the last response: without one, it asks libcurl for none of them. */
	bool served_hdr;
	/* Content-Encoding, decoded here (not by libcurl, which accepts a
	 * compressed stream that never ends): a body whose stream did not end
	 * is never judged. */
	enum http_enc { ENC_IDENTITY, ENC_GZIP, ENC_DEFLATE, ENC_OTHER } enc;
	void *zs;	  /* z_stream while decoding, NULL otherwise */
	bool z_started;	  /* compressed bytes arrived */
	bool z_end;	  /* the stream ended (Z_STREAM_END) */
	bool z_bad;	  /* the data is not a valid stream */
	bool judge_error; /* an assertion could not be evaluated (ERROR) */
	long status;
	int64_t req_timeout_ms; /* CURLOPT_TIMEOUT_MS of the request */
	const char *req_limit;	/* what set it */
	/* captures, in order; later ones shadow earlier ones */
	struct ac_kv *caps;
	size_t ncaps;
	/* the first ${name} this try's request used that was never captured
	 * (its step did not pass): the request is not sent */
	char *missing;
};

void *http_journey_configure(struct ac_cfg *cx, const cJSON *obj, const char *path);
/* A journey's own keys (the kind's table) and a persona's. */
#define HTTP_NJOURNEY_FIELDS 4
extern const struct ac_field http_journey_fields[HTTP_NJOURNEY_FIELDS];
const struct ac_field *http_persona_fields(size_t *n);
void *http_persona_load(struct ac_cfg *cx, const cJSON *entry, const char *name, const char *path);
void http_persona_destroy(void *p);
void http_journey_destroy(void *p);
void http_kvs_free(struct ac_kv *kv, size_t n);
bool http_compile_re(struct ac_cfg *cx, const char *path, const char *pattern, regex_t *re);
/* Whether an extended regular expression holds a back-reference (\\1..\\9):
 * glibc accepts them, and matching one takes exponential time and memory. */
bool http_re_has_backref(const char *pattern);
/* Regular expressions (matches, regex captures) run on at most this many
 * bytes: glibc's regexec takes time quadratic in the subject for ordinary
 * patterns ("(0,)+x": 1.6 s on 32 KiB, 59 s on 256 KiB), synchronously in
 * the poll loop. A longer subject is an ERROR, never cut silently. */
#define HTTP_REGEX_MAX_BYTES (32 * 1024)
#define HTTP_REGEX_MAX_TEXT "32 KiB"
/* Expand variables inside every string of a JSON template, in place. */

/* --- assertions (http_assert.c) ------------------------------------------ */

/* The assertions of a step from its "assert" (v may be NULL: 2xx). */
void http_parse_asserts(struct ac_cfg *cx, const cJSON *v, const char *path, struct step *s);
void http_assertion_release(struct assertion *a);
/* Judge the response to the current try, then take the step's captures.
 * Returns true when the step holds; the reason is set otherwise. */
bool http_judge_response(struct hrun *h, int64_t duration_ms);

/* --- requests (http_request.c) ------------------------------------------- */

/* Templates expanded with this run's captures. */
char *http_expand(struct hrun *h, const char *tmpl);
char *http_expand_url(struct hrun *h, const char *tmpl);
void http_set_capture(struct hrun *h, const char *name, const char *value, bool secret);
/* A header of the last response (libcurl's store): see http_request.c. */
const char *http_find_header(const struct hrun *h, const char *name);
/* The i-th of the headers of that name (0 first), and how many there are
 * (count may be NULL); NULL past the last. */
const char *http_header_nth(const struct hrun *h, const char *name, size_t i, size_t *count);
bool http_is_served_by_header(const char *data, size_t n);
/* scheme://host:port of an absolute URL, lower-cased, with the default
 * port made explicit; NULL if it is not http(s). */
char *http_origin_of(const char *url);
/* The same, remembered for the run (h->cm's memo). */
char *http_origin_memo(struct hrun *h, const char *url);
/* Why url (absolute, or a path to put after any target) is not a URL
 * libcurl would send; NULL when it is. */
const char *http_url_problem(const char *url);
void http_reset_response(struct hrun *h);
const char *http_encoding_problem(const struct hrun *h);
void http_remove_easy(struct hrun *h);
bool http_use_jar(struct hrun *h, const char *o);
void http_begin_try(struct hrun *h);
void http_send_request(struct hrun *h);
void http_refuse_request(struct hrun *h);
/* Statuses that send the client elsewhere (a 304 or a 300 does not). */
bool http_is_redirect(long status);
/* Follow the redirect the current response asks for: true when the next
 * request is on its way; false with the step's reason set when it is
 * refused. */
bool http_follow_redirect(struct hrun *h);

/* --- the run (http.c) ---------------------------------------------------- */

const struct step *http_cur_step(const struct hrun *h);
char *http_masked(const struct hrun *h, const char *s);
void http_step_fail(struct hrun *h, enum ac_state st, const char *fmt, ...) AC_PRINTF(3, 4);
void http_next_step(struct hrun *h);

#endif
