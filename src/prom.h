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
	double value;
};

struct ac_prom_scrape {
	struct ac_prom_sample *s;
	size_t n, alloc;
};

/* Parse a scrape. Malformed lines are an error (with the line number):
 * a half-understood scrape is not a measurement. */
int ac_prom_parse(const char *text, size_t len, bool openmetrics, struct ac_prom_scrape *out,
		  struct ac_error *err);
void ac_prom_scrape_release(struct ac_prom_scrape *sc);
const char *ac_prom_label(const struct ac_prom_sample *s, const char *name);

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

/* The increase of the selected counter series from old to new, with
 * resets counted from zero, series new since old skipped. *nseries is the
 * number of series that took part. */
double ac_prom_increase(const struct ac_prom_scrape *old, const struct ac_prom_scrape *cur,
			const char *name, const struct ac_prom_matcher *m, size_t n,
			size_t *nseries);

/* The q-quantile of a histogram's increase between two scrapes, by linear
 * interpolation within buckets as histogram_quantile() does. Returns -1
 * with *why set when there is nothing to compute from. */
int ac_prom_quantile(const struct ac_prom_scrape *old, const struct ac_prom_scrape *cur,
		     const char *hist, const struct ac_prom_matcher *m, size_t n, double q,
		     double *out, double *count, const char **why);

#endif
