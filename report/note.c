/*
 * note.c: the parts of the incident note (the Markdown report) that speak
 * for people: what users may still see and what works again, by persona;
 * the timeline of the window; and two drafts for a human to edit, a
 * customer update and a support note.
 *
 * The drafts never invent a fact: they are made of the scenario's own
 * texts (each check's "impact" and "description", the "customer" section)
 * and of what was measured (the verdict, the checks that failed, passed or
 * could not be measured, the data checks' sample rows).
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "result.h"
#include "util.h"

static bool is_journey(const struct ac_check_result *cr)
{
	return cr->persona != NULL;
}

/* Failed at some point of the window (or fails now). */
static bool ever_bad(const struct ac_check_result *cr)
{
	return cr->state == AC_STATE_FAIL || cr->history.fails > 0;
}

/* What a check's failure means to users: its impact, else its
 * description, else its name. */
static const char *user_text(const struct ac_check_result *cr)
{
	return cr->impact	 ? cr->impact
	       : cr->description ? cr->description
	       : cr->name	 ? cr->name
				 : cr->id;
}

/* The distinct personas of the journeys that match, in check order. */
static size_t personas(const struct ac_result *r, bool (*match)(const struct ac_check_result *),
		       const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		if (!is_journey(cr) || !match(cr))
			continue;
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = strcmp(out[k], cr->persona) == 0;
		if (!seen && n < max)
			out[n++] = cr->persona;
	}
	return n;
}

static bool not_passing(const struct ac_check_result *cr)
{
	return cr->state != AC_STATE_PASS;
}

static bool passing(const struct ac_check_result *cr)
{
	return cr->state == AC_STATE_PASS;
}

/* Items once each: a journey on three targets with one impact is one line. */
static bool said_before(const struct ac_result *r, size_t i, const char *persona,
			bool (*match)(const struct ac_check_result *), bool by_text)
{
	const struct ac_check_result *cr = &r->checks[i];
	for (size_t k = 0; k < i; k++) {
		const struct ac_check_result *o = &r->checks[k];
		if (!is_journey(o) || !match(o) || strcmp(o->persona, persona) != 0)
			continue;
		if (by_text ? strcmp(user_text(o), user_text(cr)) == 0
			    : strcmp(o->name ? o->name : o->id, cr->name ? cr->name : cr->id) == 0)
			return true;
	}
	return false;
}

void ac_report_note_users(FILE *out, const struct ac_result *r)
{
	/* At most one persona a check: none dropped. */
	const char **ps = ac_calloc(r->nchecks + 1, sizeof(*ps));
	size_t np = personas(r, not_passing, ps, r->nchecks);
	fputs("### What users may still see\n\n", out);
	if (np == 0) {
		size_t journeys = 0;
		for (size_t i = 0; i < r->nchecks; i++)
			journeys += is_journey(&r->checks[i]);
		fputs(journeys ? "Nothing that the journeys check: every one passed.\n\n"
			       : "No user journeys are checked by this scenario.\n\n",
		      out);
	}
	for (size_t p = 0; p < np; p++) {
		fputs("- **", out);
		ac_report_md(out, ps[p]);
		fputs("**: ", out);
		bool first = true;
		for (size_t i = 0; i < r->nchecks; i++) {
			const struct ac_check_result *cr = &r->checks[i];
			if (!is_journey(cr) || !not_passing(cr) ||
			    strcmp(cr->persona, ps[p]) != 0 ||
			    said_before(r, i, ps[p], not_passing, true))
				continue;
			fputs(first ? "" : "; ", out);
			ac_report_md(out, user_text(cr));
			if (cr->state != AC_STATE_FAIL)
				fputs(" (not confirmed: could not be measured)", out);
			first = false;
		}
		fputc('\n', out);
	}
	if (np)
		fputc('\n', out);
	np = personas(r, passing, ps, r->nchecks);
	fputs("### What works again\n\n", out);
	if (np == 0)
		fputs("No user journey passes yet.\n\n", out);
	for (size_t p = 0; p < np; p++) {
		fputs("- **", out);
		ac_report_md(out, ps[p]);
		fputs("**: ", out);
		bool first = true;
		for (size_t i = 0; i < r->nchecks; i++) {
			const struct ac_check_result *cr = &r->checks[i];
			if (!is_journey(cr) || !passing(cr) || strcmp(cr->persona, ps[p]) != 0 ||
			    said_before(r, i, ps[p], passing, false))
				continue;
			fputs(first ? "" : "; ", out);
			ac_report_md(out, cr->name ? cr->name : cr->id);
			if (cr->recovered_at_wall) {
				char t[32];
				ac_format_utc(t, sizeof(t), cr->recovered_at_wall);
				fprintf(out, " (recovered at %s)", t);
			}
			first = false;
		}
		fputc('\n', out);
	}
	if (np)
		fputc('\n', out);
	free(ps);
}

struct change {
	int64_t wall_ms;
	int round;
	size_t check;
	enum ac_state to;
	bool first;
};

static int by_time(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	if (x->wall_ms != y->wall_ms)
		return x->wall_ms < y->wall_ms ? -1 : 1;
	if (x->check != y->check)
		return x->check < y->check ? -1 : 1;
	return 0;
}

/* Lines of the timeline at most; more are counted, never dropped unsaid. */
#define NOTE_TIMELINE_MAX 40

void ac_report_note_timeline(FILE *out, const struct ac_result *r)
{
	struct change *ch = NULL;
	size_t n = 0, alloc = 0;
	bool cut = false;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_history *h = &r->checks[i].history;
		cut = cut || h->total > h->len;
		enum ac_state prev = AC_STATE_PENDING;
		for (size_t k = 0; k < h->len; k++) {
			const struct ac_point *p = ac_history_at(h, k);
			enum ac_state st = (enum ac_state)p->state;
			if (st == prev)
				continue;
			AC_GROW(ch, n + 1, alloc);
			ch[n++] =
			    (struct change){p->wall_ms, p->round, i, st, prev == AC_STATE_PENDING};
			prev = st;
		}
	}
	fputs("### Timeline\n\n", out);
	if (n == 0)
		fputs("No round was judged.\n\n", out);
	if (n)
		qsort(ch, n, sizeof(*ch), by_time);
	for (size_t i = 0; i < n && i < NOTE_TIMELINE_MAX; i++) {
		const struct ac_check_result *cr = &r->checks[ch[i].check];
		char t[32] = "";
		if (ch[i].wall_ms)
			ac_format_utc(t, sizeof(t), ch[i].wall_ms);
		fprintf(out, "- %s%sround %d: ", t, *t ? ", " : "", ch[i].round);
		ac_report_md(out, cr->id);
		const char *what =
		    ch[i].to == AC_STATE_PASS	? (ch[i].first ? "passes" : "went green")
		    : ch[i].to == AC_STATE_FAIL ? (ch[i].first ? "fails" : "went red")
						: "could not be measured";
		fprintf(out, " %s\n", what);
	}
	if (n > NOTE_TIMELINE_MAX)
		fprintf(out, "- ... and %zu more changes (the JSON report has every round)\n",
			n - NOTE_TIMELINE_MAX);
	if (cut)
		fputs("- (the history keeps the last 512 rounds of each check)\n", out);
	if (n)
		fputc('\n', out);
	free(ch);
}

/* "a; b; c" of the distinct texts of the checks that match. */
static void join_texts(struct ac_buf *b, const struct ac_result *r,
		       bool (*match)(const struct ac_check_result *),
		       const char *(*text)(const struct ac_check_result *))
{
	const char **seen = ac_calloc(r->nchecks + 1, sizeof(*seen));
	size_t n = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		if (!match(cr))
			continue;
		const char *t = text(cr);
		bool dup = false;
		for (size_t k = 0; k < n && !dup; k++)
			dup = strcmp(seen[k], t) == 0;
		if (!dup)
			seen[n++] = t;
	}
	/* "a; b; c": the texts may hold commas; a text's own final period
	 * would end the sentence early. */
	for (size_t k = 0; k < n; k++) {
		size_t len = strlen(seen[k]);
		while (len && (seen[k][len - 1] == '.' || seen[k][len - 1] == ' '))
			len--;
		ac_buf_addf(b, "%s%.*s", k == 0 ? "" : "; ", (int)len, seen[k]);
	}
	free(seen);
}

static bool journey_ever_bad(const struct ac_check_result *cr)
{
	return is_journey(cr) && ever_bad(cr);
}

static bool journey_bad_now(const struct ac_check_result *cr)
{
	return is_journey(cr) && cr->state == AC_STATE_FAIL;
}

static bool journey_passing(const struct ac_check_result *cr)
{
	return is_journey(cr) && cr->state == AC_STATE_PASS;
}

static bool unmeasured(const struct ac_check_result *cr)
{
	return cr->state == AC_STATE_ERROR || cr->state == AC_STATE_PENDING;
}

static bool is_data(const struct ac_check_result *cr)
{
	return cr->area && strcmp(cr->area, "data") == 0;
}

static bool data_bad(const struct ac_check_result *cr)
{
	return is_data(cr) && cr->state == AC_STATE_FAIL;
}

static bool failing_now(const struct ac_check_result *cr)
{
	return cr->state == AC_STATE_FAIL;
}

static bool recovered(const struct ac_check_result *cr)
{
	return cr->state == AC_STATE_PASS && cr->history.fails > 0;
}

static const char *name_of(const struct ac_check_result *cr)
{
	return cr->name ? cr->name : cr->id;
}

static const char *area_of(const struct ac_check_result *cr)
{
	return cr->area ? cr->area : "?";
}

/* A draft as a Markdown block quote, each line escaped. */
static void quote(FILE *out, const char *text)
{
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		char *line = ac_strndup(p, nl ? (size_t)(nl - p) : strlen(p));
		fputs(p == text ? "> " : ">\n> ", out);
		ac_report_md(out, line);
		fputc('\n', out);
		free(line);
		p = nl ? nl + 1 : NULL;
	}
	fputc('\n', out);
}

static void customer_update(FILE *out, const struct ac_result *r)
{
	const char *product = r->customer_product ? r->customer_product : "our service";
	/* at the start of a sentence */
	const char *Product = r->customer_product ? r->customer_product : "Our service";
	char a[32], b[32];
	ac_format_utc(a, sizeof(a), r->started_wall_ms);
	ac_format_utc(b, sizeof(b), r->ended_wall_ms);
	struct ac_buf d = AC_BUF_INIT;
	size_t data = 0, data_failing = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		data += is_data(&r->checks[i]);
		data_failing += data_bad(&r->checks[i]);
	}
	struct ac_buf impacts = AC_BUF_INIT;
	if (r->verdict == AC_RESTORED) {
		join_texts(&impacts, r, journey_ever_bad, user_text);
		ac_buf_addf(&d, "%s is working normally again (checked until %s).", Product, b);
		if (impacts.len)
			ac_buf_addf(&d, " Earlier, some customers may have seen this: %s.",
				    impacts.buf);
		if (data)
			ac_buf_adds(&d, " Our checks of the stored data found no damaged records.");
		ac_buf_adds(&d, "\nThere is nothing you need to do.");
	} else if (r->verdict == AC_NOT_RESTORED) {
		join_texts(&impacts, r, journey_bad_now, user_text);
		ac_buf_addf(&d, "We are still working on a problem with %s.", product);
		if (impacts.len)
			ac_buf_addf(&d, " Some customers may see this: %s.", impacts.buf);
		if (data_failing)
			ac_buf_adds(&d, " Some records are being checked and repaired.");
	} else {
		ac_buf_addf(&d,
			    "We have made changes to fix a problem with %s and are confirming "
			    "that everything works.",
			    product);
		struct ac_buf areas = AC_BUF_INIT;
		join_texts(&areas, r, unmeasured, area_of);
		if (areas.len)
			ac_buf_addf(&d, " We could not yet confirm these parts: %s.", areas.buf);
		ac_buf_release(&areas);
	}
	if (r->verdict != AC_RESTORED && r->customer_next_update)
		ac_buf_addf(&d, "\nWe will post the next update %s.", r->customer_next_update);
	if (r->customer_contact)
		ac_buf_addf(&d, "\nQuestions: %s.", r->customer_contact);
	fputs("**Customer update** (draft: check every sentence before it goes out)\n\n", out);
	quote(out, d.buf);
	ac_buf_release(&impacts);
	ac_buf_release(&d);
}

static void support_note(FILE *out, const struct ac_result *r)
{
	struct ac_buf d = AC_BUF_INIT, t = AC_BUF_INIT;
	join_texts(&t, r, failing_now, user_text);
	ac_buf_addf(&d, "Verdict: %s.", ac_verdict_name(r->verdict));
	if (t.len)
		ac_buf_addf(&d, "\nStill broken: %s.", t.buf);
	ac_buf_release(&t);
	t = (struct ac_buf)AC_BUF_INIT;
	join_texts(&t, r, recovered, user_text);
	if (t.len)
		ac_buf_addf(&d, "\nBroken earlier in the window, fixed now: %s.", t.buf);
	ac_buf_release(&t);
	t = (struct ac_buf)AC_BUF_INIT;
	join_texts(&t, r, journey_passing, name_of);
	if (t.len)
		ac_buf_addf(&d, "\nWorks now: %s.", t.buf);
	ac_buf_release(&t);
	t = (struct ac_buf)AC_BUF_INIT;
	join_texts(&t, r, unmeasured, name_of);
	if (t.len)
		ac_buf_addf(&d, "\nNot confirmed yet (could not be checked): %s.", t.buf);
	ac_buf_release(&t);
	/* Retry: journeys that failed on a step that writes (an order, a
	 * payment): a customer's attempt may not have gone through. */
	t = (struct ac_buf)AC_BUF_INIT;
	const char **seen = ac_calloc(r->nchecks + 1, sizeof(*seen));
	size_t ns = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		if (!journey_ever_bad(cr) || !cr->has_last_bad)
			continue;
		bool wrote = false;
		for (size_t k = 0; k < cr->last_bad.nsteps && !wrote; k++)
			wrote = cr->last_bad.steps[k].write &&
				cr->last_bad.steps[k].state != AC_STATE_PASS;
		bool dup = false;
		for (size_t k = 0; k < ns && !dup; k++)
			dup = strcmp(seen[k], name_of(cr)) == 0;
		if (wrote && !dup) {
			seen[ns++] = name_of(cr);
			ac_buf_addf(&t, "%s%s", t.len ? ", " : "", name_of(cr));
		}
	}
	free(seen);
	if (t.len)
		ac_buf_addf(&d,
			    "\nCustomers may need to try again: %s failed on a step that saves "
			    "something.",
			    t.buf);
	else
		ac_buf_adds(&d, "\nNo failed step that saves something was seen: no retry is known "
				"to be needed.");
	ac_buf_release(&t);
	/* Which customers: what the data checks' sample rows say. */
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		const struct ac_sample *s = cr->has_last_bad ? &cr->last_bad : NULL;
		if (!data_bad(cr) || !s || !s->evidence)
			continue;
		char *one = ac_excerpt(s->evidence, strlen(s->evidence), 200);
		for (char *p = one; *p; p++)
			if (*p == '\n')
				*p = ' ';
		ac_buf_addf(&d, "\nAffected records (%s): %s", name_of(cr), one);
		free(one);
	}
	fputs("**Support note** (draft)\n\n", out);
	quote(out, d.buf);
	ac_buf_release(&d);
}

void ac_report_note_drafts(FILE *out, const struct ac_result *r)
{
	fputs("### Drafts for people to edit\n\n", out);
	customer_update(out, r);
	support_note(out, r);
}
