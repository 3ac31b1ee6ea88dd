/*
 * result.c: samples, bounded history and the result tree's lifecycle.
 */
#include "result.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *ac_state_name(enum ac_state s)
{
	switch (s) {
	case AC_STATE_PASS:
		return "PASS";
	case AC_STATE_FAIL:
		return "FAIL";
	case AC_STATE_ERROR:
		return "ERROR";
	case AC_STATE_PENDING:
		return "PENDING";
	}
	return "?";
}

const char *ac_verdict_name(enum ac_verdict v)
{
	switch (v) {
	case AC_RESTORED:
		return "RESTORED";
	case AC_NOT_RESTORED:
		return "NOT RESTORED";
	case AC_INCONCLUSIVE:
		return "INCONCLUSIVE";
	}
	return "NOT RESTORED";
}

int ac_verdict_exit_code(enum ac_verdict v)
{
	switch (v) {
	case AC_RESTORED:
		return AC_EXIT_RESTORED;
	case AC_INCONCLUSIVE:
		return AC_EXIT_INCONCLUSIVE;
	case AC_NOT_RESTORED:
		break;
	}
	return AC_EXIT_NOT_RESTORED;
}

static int severity(enum ac_state s)
{
	switch (s) {
	case AC_STATE_PASS:
		return 0;
	case AC_STATE_PENDING:
		return 1;
	case AC_STATE_ERROR:
		return 2;
	case AC_STATE_FAIL:
		return 3;
	}
	return 3;
}

enum ac_state ac_state_worse(enum ac_state a, enum ac_state b)
{
	return severity(a) >= severity(b) ? a : b;
}

static void step_release(struct ac_step_result *st)
{
	free(st->name);
	free(st->method);
	free(st->url);
	free(st->reason);
	free(st->excerpt);
	free(st->served_by);
	for (size_t i = 0; i < st->nasserts; i++) {
		free(st->asserts[i].what);
		free(st->asserts[i].expected);
		free(st->asserts[i].actual);
	}
	free(st->asserts);
}

void ac_sample_release(struct ac_sample *s)
{
	if (!s)
		return;
	free(s->reason);
	for (size_t i = 0; i < s->nsteps; i++)
		step_release(&s->steps[i]);
	free(s->steps);
	for (size_t i = 0; i < s->nfigures; i++) {
		free(s->figures[i].name);
		free(s->figures[i].note);
	}
	free(s->figures);
	free(s->evidence);
	free(s->observed);
	memset(s, 0, sizeof(*s));
}

static char *dup_or_null(const char *s)
{
	return s ? ac_strdup(s) : NULL;
}

void ac_sample_copy(struct ac_sample *dst, const struct ac_sample *src)
{
	*dst = *src;
	dst->reason = dup_or_null(src->reason);
	dst->evidence = dup_or_null(src->evidence);
	dst->observed = dup_or_null(src->observed);
	dst->steps = src->nsteps ? ac_calloc(src->nsteps, sizeof(*dst->steps)) : NULL;
	for (size_t i = 0; i < src->nsteps; i++) {
		const struct ac_step_result *a = &src->steps[i];
		struct ac_step_result *b = &dst->steps[i];
		*b = *a;
		b->name = dup_or_null(a->name);
		b->method = dup_or_null(a->method);
		b->url = dup_or_null(a->url);
		b->reason = dup_or_null(a->reason);
		b->excerpt = dup_or_null(a->excerpt);
		b->served_by = dup_or_null(a->served_by);
		b->asserts = a->nasserts ? ac_calloc(a->nasserts, sizeof(*b->asserts)) : NULL;
		for (size_t k = 0; k < a->nasserts; k++) {
			b->asserts[k].what = dup_or_null(a->asserts[k].what);
			b->asserts[k].expected = dup_or_null(a->asserts[k].expected);
			b->asserts[k].actual = dup_or_null(a->asserts[k].actual);
			b->asserts[k].ok = a->asserts[k].ok;
		}
	}
	dst->figures = src->nfigures ? ac_calloc(src->nfigures, sizeof(*dst->figures)) : NULL;
	for (size_t i = 0; i < src->nfigures; i++) {
		dst->figures[i] = src->figures[i];
		dst->figures[i].name = dup_or_null(src->figures[i].name);
		dst->figures[i].note = dup_or_null(src->figures[i].note);
	}
}

struct ac_step_result *ac_sample_add_step(struct ac_sample *s)
{
	s->steps = ac_realloc(s->steps, (s->nsteps + 1) * sizeof(*s->steps));
	struct ac_step_result *st = &s->steps[s->nsteps++];
	memset(st, 0, sizeof(*st));
	st->state = AC_STATE_PENDING;
	return st;
}

struct ac_assertion_result *ac_step_add_assert(struct ac_step_result *st)
{
	st->asserts = ac_realloc(st->asserts, (st->nasserts + 1) * sizeof(*st->asserts));
	struct ac_assertion_result *a = &st->asserts[st->nasserts++];
	memset(a, 0, sizeof(*a));
	return a;
}

struct ac_figure *ac_sample_add_figure(struct ac_sample *s, const char *name)
{
	s->figures = ac_realloc(s->figures, (s->nfigures + 1) * sizeof(*s->figures));
	struct ac_figure *f = &s->figures[s->nfigures++];
	memset(f, 0, sizeof(*f));
	f->name = ac_strdup(name);
	return f;
}

void ac_sample_set(struct ac_sample *s, enum ac_state st, const char *fmt, ...)
{
	s->state = st;
	free(s->reason);
	s->reason = NULL;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		s->reason = ac_vasprintf(fmt, ap);
		va_end(ap);
	}
}

void ac_history_add(struct ac_history *h, const struct ac_point *p)
{
	if (h->len < AC_HISTORY_MAX) {
		h->ring[(h->start + h->len) % AC_HISTORY_MAX] = *p;
		h->len++;
	} else {
		h->ring[h->start] = *p;
		h->start = (h->start + 1) % AC_HISTORY_MAX;
	}
	h->total++;
	{
		enum ac_state st = (enum ac_state)p->state;
		size_t asked = p->runs ? p->runs : 1;
		size_t meas = p->runs ? p->measured : (st == AC_STATE_PASS || st == AC_STATE_FAIL);
		h->runs += asked;
		h->runs_bad += p->runs ? p->bad : st == AC_STATE_FAIL;
		h->runs_unmeasured += meas < asked ? asked - meas : 0;
	}
	switch ((enum ac_state)p->state) {
	case AC_STATE_PASS:
		h->passes++;
		break;
	case AC_STATE_FAIL:
		h->fails++;
		break;
	case AC_STATE_ERROR:
		h->errors++;
		break;
	case AC_STATE_PENDING:
		break;
	}
	if (p->has_value && !h->has_first_value) {
		h->has_first_value = true;
		h->first_value = *p;
	}
}

const struct ac_point *ac_history_at(const struct ac_history *h, size_t i)
{
	if (i >= h->len)
		return NULL;
	return &h->ring[(h->start + i) % AC_HISTORY_MAX];
}

void ac_check_result_release(struct ac_check_result *cr)
{
	if (!cr)
		return;
	free(cr->id);
	free(cr->name);
	free(cr->path);
	free(cr->kind);
	free(cr->area);
	free(cr->owner);
	free(cr->description);
	free(cr->impact);
	free(cr->persona);
	free(cr->target.name);
	free(cr->target.url);
	free(cr->target.role);
	free(cr->target.region);
	free(cr->agree_group);
	free(cr->agent);
	free(cr->reason);
	free(cr->note);
	free(cr->part);
	ac_sample_release(&cr->last);
	ac_sample_release(&cr->last_bad);
	free(cr->strength.sizing);
	free(cr->strength.text);
	for (size_t i = 0; i < cr->nobservations; i++)
		free(cr->observations[i].value);
	free(cr->observations);
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void ac_result_part_release(struct ac_result_part *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->area);
	free(p->changed);
	free_strings(p->undo, p->nundo);
	free(p->owner);
	free(p->backup);
	free(p->restart);
	free_strings(p->before, p->nbefore);
	free(p->checks);
}

void ac_result_destroy(struct ac_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nparts; i++)
		ac_result_part_release(&r->parts[i]);
	free(r->parts);
	free(r->release_version);
	free(r->release_description);
	for (size_t i = 0; i < r->nchecks; i++)
		ac_check_result_release(&r->checks[i]);
	free(r->checks);
	free(r->scenario_path);
	free(r->scenario_name);
	free(r->scenario_description);
	free(r->mode);
	free(r->verdict_reason);
	free(r->notify_error);
	free(r->run_id);
	free(r->shard);
	free(r->agent);
	free(r->scenario_hash);
	for (size_t i = 0; i < r->nmerged_from; i++)
		free(r->merged_from[i]);
	free(r->merged_from);
	free(r->customer_product);
	free(r->customer_next_update);
	free(r->customer_contact);
	free(r);
}
