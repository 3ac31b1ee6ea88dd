/*
 * prom.h: Prometheus text format 0.0.4 and OpenMetrics 1.0 parsing, label
 * matchers as PromQL has them, and the arithmetic of counters between
 * scrapes. Pure functions: no I/O.
 */
#ifndef AC_PROM_H
#define AC_PROM_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define AC_PROM_MAX_SERIES 200000
#define AC_PROM_MAX_LABELS 32

struct ac_prom_sample {
	char *name;
	char *key; /* name{sorted labels}: the series identity */
	char *lnames[AC_PROM_MAX_LABELS];
	char *lvalues[AC_PROM_MAX_LABELS];
	size_t nlabels;
	double value; /* NaN and infinities kept: a check reading one errs */
	size_t line;  /* in the scrape, for messages */
	bool has_ts;
	double ts_ms; /* the sample's own timestamp, when it has one */
};

struct ac_prom_scrape {
	struct ac_prom_sample *s;
	size_t n, alloc;
	const struct ac_prom_sample **bykey; /* sorted by key, for lookups */
};

/* Parse a scrape. Malformed lines are an error (with the line number), and
 * so is a series given twice: a half-understood scrape is not a
 * measurement. */
int ac_prom_parse(const char *text, size_t len, bool openmetrics, struct ac_prom_scrape *out,
		  struct ac_error *err);
void ac_prom_scrape_release(struct ac_prom_scrape *sc);
const char *ac_prom_label(const struct ac_prom_sample *s, const char *name);
const struct ac_prom_sample *ac_prom_find(const struct ac_prom_scrape *sc, const char *key);

/* A number as the exposition formats write it: digits with an optional
 * fraction and exponent, or NaN, Inf, +Inf, -Inf (any case). Overflow
 * (1e999) gives an infinity. Returns -1 for anything else (hex, words,
 * spaces, ""): the caller must not read a number from it. */
int ac_prom_number(const char *s, size_t n, double *out);
/* "NaN", "+Inf", "-Inf" or %.15g into buf. */
const char *ac_prom_fmt(double v, char *buf, size_t size);

enum ac_prom_op { AC_PROM_EQ, AC_PROM_NE, AC_PROM_RE, AC_PROM_NRE };

struct ac_prom_matcher {
	char *label;
	enum ac_prom_op op;
	char *value;
	regex_t re; /* anchored, for =~ and !~ */
	bool has_re;
};

/* "=~5..", "!=200", "!~GET|HEAD", "=x" or a plain "x" (equality). */
int ac_prom_matcher_init(struct ac_prom_matcher *m, const char *label, const char *spec,
			 struct ac_error *err);
void ac_prom_matcher_release(struct ac_prom_matcher *m);
bool ac_prom_matches(const struct ac_prom_sample *s, const char *name,
		     const struct ac_prom_matcher *m, size_t n);

struct ac_prom_increase {
	double sum;
	size_t nseries; /* selected series in the current scrape */
	size_t nnew;	/* of which absent from the previous one: counted from 0 */
	size_t nreset;	/* of which went down: counted from 0 */
	size_t ngone;	/* selected series of the previous scrape absent now */
};

/* The increase of the selected counter series from old to cur. A counter
 * that went down was reset and counts from zero; a series absent from old
 * was created since (client libraries create a labelled counter on its
 * first increment) and counts from zero too. A selected series that is not
 * a finite number in either scrape makes it -1, the error naming it ("is
 * NaN: KEY on line N"). When notes is given, new, reset and gone series
 * are described there, a line each. */
int ac_prom_increase(const struct ac_prom_scrape *old, const struct ac_prom_scrape *cur,
		     const char *name, const struct ac_prom_matcher *m, size_t n,
		     struct ac_prom_increase *out, struct ac_buf *notes, struct ac_error *err);

struct ac_prom_quantile {
	double value;
	double count; /* observations between the scrapes */
	/* The rank falls in the +Inf bucket: the quantile is only known to be
	 * above value, the highest finite bucket bound. */
	bool above;
	size_t nnew; /* bucket series new since old, counted from 0 */
};

/* The q-quantile of a histogram's increase between two scrapes, by linear
 * interpolation within buckets as histogram_quantile() does. Returns -1
 * with err set when there is nothing sound to compute from (a bucket that
 * is not a number, no +Inf bucket, no traffic). */
int ac_prom_quantile(const struct ac_prom_scrape *old, const struct ac_prom_scrape *cur,
		     const char *hist, const struct ac_prom_matcher *m, size_t n, double q,
		     struct ac_prom_quantile *out, struct ac_error *err);

enum ac_prom_agg { AC_PROM_SUM, AC_PROM_MAX, AC_PROM_MIN };
/* Fold d into *acc (*first: acc holds nothing yet). */
void ac_prom_aggregate(enum ac_prom_agg agg, double *acc, bool *first, double d);

/* -1 with "stale sample: SERIES is N s old (max_age M s)" when ts_ms is
 * more than max_age_ms before now_ms, or as far after it. */
int ac_prom_stale(const char *series, double ts_ms, int64_t now_ms, int64_t max_age_ms,
		  struct ac_error *err);

/* Read a Prometheus /api/v1/query answer into one number: every series of
 * a vector folded with agg (none left out), or the scalar. -1 with err
 * when it is no measurement: not an API answer ("prometheus: ..."), an
 * error answer, an empty vector ("no data: ..."), a series whose value is
 * not a finite number or whose timestamp is not one ("no measurement:
 * SERIES ..."), or a stale sample. */
int ac_prom_api_read(const char *body, size_t len, long status, enum ac_prom_agg agg,
		     int64_t now_ms, int64_t max_age_ms, double *value, size_t *nseries,
		     struct ac_error *err);

#endif
