/*
 * release.c: the release map (release.h): reading and validating the
 * "release" section, the map's order, the runbook `allclear map` prints,
 * and the copy of the map into the result tree.
 */
#include "release.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "mask.h"
#include "result.h"

static const char *const area_choices[AC_AREA_COUNT + 1] = {"flags", "config", "jobs", "data",
							    "cache", "code",   NULL};

/* "undo": one step as text, or a list of steps. */
static void read_undo(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v, const char *path,
		      void *dst)
{
	(void)f;
	struct ac_strings *out = dst;
	ac_strings_release(out);
	if (cJSON_IsString(v)) {
		char *s = ac_cfg_expand(cx, path, v->valuestring);
		if (s) {
			out->v = ac_calloc(1, sizeof(*out->v));
			out->v[out->n++] = s;
		}
		return;
	}
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
		ac_cfg_error(cx, path, "expected a string or a non-empty list of strings");
		return;
	}
	out->v = ac_calloc((size_t)cJSON_GetArraySize(v), sizeof(*out->v));
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, v)
	{
		char *ep = ac_cfg_path_index(path, i++);
		char *s = cJSON_IsString(e) ? ac_cfg_expand(cx, ep, e->valuestring) : NULL;
		if (!cJSON_IsString(e))
			ac_cfg_error(cx, ep, "expected a string");
		if (s)
			out->v[out->n++] = s;
		free(ep);
	}
}

#define PF(f) offsetof(struct ac_release_part, f)
static const struct ac_field part_fields[] = {
    {"name", AC_FT_TEXT, true, PF(name), "short and unique: \"flags-off\""},
    {"area", AC_FT_ENUM, true, PF(area), "what the part is about; ties in the map's order",
     .choices = area_choices},
    {"changed", AC_FT_TEXT, false, PF(changed), "what the release changed"},
    {"undo", AC_FT_CUSTOM, true, PF(undo), "how to undo it: one step, or a list of steps",
     AC_SHAPE_STRINGS_OR, .read = read_undo},
    {"owner", AC_FT_TEXT, false, PF(owner), "the one person or rota who does it (required)"},
    {"backup", AC_FT_TEXT, false, PF(backup), "who does it when the owner cannot"},
    {"before", AC_FT_STRINGS, false, PF(before), "names of the parts that must be done first"},
    {"restart", AC_FT_TEXT, false, PF(restart),
     "what has to be restarted or purged after the undo"},
    {"checks", AC_FT_STRINGS, false, PF(checks),
     "the checks that prove the part restored: names, ids or globs (\"search *\")"},
};
#undef PF

static void read_parts(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v,
		       const char *path, void *dst);

const struct ac_field ac_release_fields[AC_RELEASE_NFIELDS] = {
    {"version", AC_FT_TEXT, false, offsetof(struct ac_release, version),
     "the release the map is for: \"v42\""},
    {"description", AC_FT_TEXT, false, offsetof(struct ac_release, description), NULL},
    /* The reader fills the whole release (parts and nparts). */
    {"parts", AC_FT_CUSTOM, true, 0, "every part the release touched", AC_SHAPE_OBJECTS, NULL,
     part_fields, AC_ARRAY_LEN(part_fields), .read = read_parts},
};

static void part_release(struct ac_release_part *p)
{
	ac_cfg_release(part_fields, AC_ARRAY_LEN(part_fields), p);
	ac_strings_release(&p->undo);
	free(p->check_idx);
	free(p->before_idx);
}

static void read_parts(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v,
		       const char *path, void *dst)
{
	(void)f;
	struct ac_release *rel = dst;
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
		ac_cfg_error(cx, path, "expected a non-empty list of parts");
		return;
	}
	rel->parts = ac_calloc((size_t)cJSON_GetArraySize(v), sizeof(*rel->parts));
	const cJSON *e;
	cJSON_ArrayForEach(e, v)
	{
		char *ep = ac_cfg_path_index(path, rel->nparts);
		struct ac_release_part *p = &rel->parts[rel->nparts++];
		ac_cfg_object(cx, e, ep, part_fields, AC_ARRAY_LEN(part_fields), p);
		free(ep);
	}
}

void ac_release_destroy(struct ac_release *rel)
{
	if (!rel)
		return;
	for (size_t i = 0; i < rel->nparts; i++)
		part_release(&rel->parts[i]);
	free(rel->parts);
	free(rel->version);
	free(rel->description);
	free(rel->order);
	free(rel->name_first);
	ac_buf_release(&rel->warnings);
	free(rel);
}

static void warn(struct ac_cfg *cx, struct ac_release *rel, const char *path, const char *fmt, ...)
    AC_PRINTF(4, 5);
static void warn(struct ac_cfg *cx, struct ac_release *rel, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = ac_vasprintf(fmt, ap);
	va_end(ap);
	char *masked = ac_mask_apply(cx->plan->mask, msg);
	char *safe = ac_text_escape(masked);
	ac_buf_addf(&rel->warnings, "%s: %s: warning: %s\n", cx->file, path, safe);
	rel->nwarnings++;
	free(safe);
	free(masked);
	free(msg);
}

static const char *part_name(const struct ac_release_part *p)
{
	return p->name ? p->name : "?";
}

static size_t part_index(const struct ac_release *rel, const char *name)
{
	for (size_t i = 0; i < rel->nparts; i++)
		if (rel->parts[i].name && strcmp(rel->parts[i].name, name) == 0)
			return i;
	return SIZE_MAX;
}

static bool is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static bool check_matches(const struct ac_check *c, const char *pat)
{
	if (is_glob(pat))
		return fnmatch(pat, c->name, 0) == 0 || fnmatch(pat, c->id, 0) == 0;
	return strcmp(pat, c->name) == 0 || strcmp(pat, c->id) == 0;
}

static void add_index(size_t **v, size_t *n, size_t idx)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == idx)
			return;
	*v = ac_realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = idx;
}

struct named {
	const char *name;
	size_t i;
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : x->i < y->i ? -1 : x->i > y->i;
}

/* For each check, the first check (in plan order) with its name: a
 * journey's checks on every target share one. */
static size_t *name_firsts(const struct ac_plan *plan)
{
	size_t n = plan->nchecks;
	struct named *v = ac_calloc(n + 1, sizeof(*v));
	size_t *first = ac_calloc(n + 1, sizeof(*first));
	for (size_t i = 0; i < n; i++)
		v[i] = (struct named){plan->checks[i].name, i};
	qsort(v, n, sizeof(*v), cmp_named);
	for (size_t i = 0; i < n; i++)
		first[v[i].i] =
		    i > 0 && strcmp(v[i].name, v[i - 1].name) == 0 ? first[v[i - 1].i] : v[i].i;
	free(v);
	return first;
}

/* Resolve a part's checks against the plan's: marked, then listed in
 * plan order (a glob may match thousands). */
static void resolve_checks(struct ac_cfg *cx, struct ac_release_part *p, const char *pp)
{
	const struct ac_plan *plan = cx->plan;
	bool *mark = ac_calloc(plan->nchecks + 1, sizeof(*mark));
	for (size_t k = 0; k < p->checks.n; k++) {
		const char *pat = p->checks.v[k];
		bool hit = false;
		for (size_t c = 0; c < plan->nchecks; c++)
			if (check_matches(&plan->checks[c], pat)) {
				mark[c] = true;
				hit = true;
			}
		if (hit)
			continue;
		char *cp = ac_cfg_path(pp, "checks");
		char *kp = ac_cfg_path_index(cp, k);
		if (is_glob(pat)) {
			ac_cfg_error(cx, kp, "the pattern \"%s\" matches no check", pat);
		} else {
			const char **names = ac_calloc(plan->nchecks + 1, sizeof(*names));
			for (size_t c = 0; c < plan->nchecks; c++)
				names[c] = plan->checks[c].name;
			const char *s = ac_suggest(pat, names, plan->nchecks);
			if (s)
				ac_cfg_error(cx, kp,
					     "no check is named \"%s\", did you mean \"%s\"?", pat,
					     s);
			else
				ac_cfg_error(cx, kp, "no check is named \"%s\"", pat);
			free(names);
		}
		free(kp);
		free(cp);
	}
	size_t n = 0;
	for (size_t c = 0; c < plan->nchecks; c++)
		n += mark[c];
	p->check_idx = ac_calloc(n + 1, sizeof(*p->check_idx));
	for (size_t c = 0; c < plan->nchecks; c++)
		if (mark[c])
			p->check_idx[p->ncheck_idx++] = c;
	free(mark);
}

/* Resolve a part's "before" names; false when one is unknown. */
static bool resolve_before(struct ac_cfg *cx, struct ac_release *rel, struct ac_release_part *p,
			   const char *pp)
{
	bool ok = true;
	for (size_t k = 0; k < p->before.n; k++) {
		const char *name = p->before.v[k];
		size_t j = part_index(rel, name);
		if (j != SIZE_MAX) {
			add_index(&p->before_idx, &p->nbefore_idx, j);
			continue;
		}
		ok = false;
		char *bp = ac_cfg_path(pp, "before");
		char *kp = ac_cfg_path_index(bp, k);
		const char **names = ac_calloc(rel->nparts + 1, sizeof(*names));
		size_t n = 0;
		for (size_t i = 0; i < rel->nparts; i++)
			if (rel->parts[i].name)
				names[n++] = rel->parts[i].name;
		const char *s = ac_suggest(name, names, n);
		if (s)
			ac_cfg_error(cx, kp, "no part is named \"%s\", did you mean \"%s\"?", name,
				     s);
		else
			ac_cfg_error(cx, kp, "no part is named \"%s\"", name);
		free(names);
		free(kp);
		free(bp);
	}
	return ok;
}

/* Name a cycle among the parts not placed: each of them waits for one
 * that is not placed either, so walking "waits for" must come back. */
static void report_cycle(struct ac_cfg *cx, const struct ac_release *rel, const bool *placed)
{
	size_t n = rel->nparts;
	size_t *seen_at = ac_calloc(n, sizeof(*seen_at)); /* step + 1 */
	size_t *path = ac_calloc(n + 1, sizeof(*path));
	size_t cur = 0;
	while (cur < n && placed[cur])
		cur++;
	size_t len = 0;
	while (cur < n && !seen_at[cur]) {
		seen_at[cur] = len + 1;
		path[len++] = cur;
		const struct ac_release_part *p = &rel->parts[cur];
		size_t next = n;
		for (size_t k = 0; k < p->nbefore_idx && next == n; k++)
			if (!placed[p->before_idx[k]])
				next = p->before_idx[k];
		cur = next;
	}
	struct ac_buf b = AC_BUF_INIT;
	if (cur < n) {
		size_t from = seen_at[cur] - 1;
		/* "a waits for b, which waits for c, which waits for a" */
		for (size_t i = from; i < len; i++)
			ac_buf_addf(&b, "%s%s",
				    i == from	    ? ""
				    : i == from + 1 ? " waits for "
						    : ", which waits for ",
				    part_name(&rel->parts[path[i]]));
		if (len - from == 1)
			ac_buf_adds(&b, " waits for itself");
		else
			ac_buf_addf(&b, ", which waits for %s", part_name(&rel->parts[path[from]]));
	}
	ac_cfg_error(cx, "release.parts", "cycle in \"before\": %s",
		     b.len ? b.buf : "(no cycle found)");
	ac_buf_release(&b);
	free(seen_at);
	free(path);
}

/* The map's order: a part comes after every part in its "before"; among
 * the parts that are ready, the first area in recovery order, then the
 * first in the file. */
static bool order_parts(struct ac_cfg *cx, struct ac_release *rel)
{
	size_t n = rel->nparts;
	bool *placed = ac_calloc(n ? n : 1, sizeof(*placed));
	rel->order = ac_calloc(n ? n : 1, sizeof(*rel->order));
	size_t done = 0;
	while (done < n) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < n; i++) {
			if (placed[i])
				continue;
			const struct ac_release_part *p = &rel->parts[i];
			bool ready = true;
			for (size_t k = 0; k < p->nbefore_idx && ready; k++)
				ready = placed[p->before_idx[k]];
			if (ready && (best == SIZE_MAX || p->area < rel->parts[best].area))
				best = i;
		}
		if (best == SIZE_MAX)
			break;
		placed[best] = true;
		rel->order[done++] = best;
	}
	bool ok = done == n;
	if (!ok)
		report_cycle(cx, rel, placed);
	free(placed);
	return ok;
}

/* A check no part lists: warned once under its name when no check of that
 * name is covered (a journey on every target), else under its id. */
static void warn_uncovered(struct ac_cfg *cx, struct ac_release *rel)
{
	const struct ac_plan *plan = cx->plan;
	bool *covered = ac_calloc(plan->nchecks + 1, sizeof(*covered));
	bool *name_covered = ac_calloc(plan->nchecks + 1, sizeof(*name_covered));
	for (size_t i = 0; i < rel->nparts; i++)
		for (size_t k = 0; k < rel->parts[i].ncheck_idx; k++)
			covered[rel->parts[i].check_idx[k]] = true;
	for (size_t c = 0; c < plan->nchecks; c++)
		if (covered[c])
			name_covered[rel->name_first[c]] = true;
	for (size_t c = 0; c < plan->nchecks; c++) {
		const struct ac_check *ck = &plan->checks[c];
		if (covered[c])
			continue;
		if (name_covered[rel->name_first[c]])
			warn(cx, rel, ck->path, "check \"%s\" is in no part of the release map",
			     ck->id);
		else if (rel->name_first[c] == c)
			warn(cx, rel, ck->path, "check \"%s\" is in no part of the release map",
			     ck->name);
	}
	free(name_covered);
	free(covered);
}

void ac_release_load(struct ac_cfg *cx, const cJSON *obj)
{
	if (!obj)
		return;
	struct ac_release *rel = ac_calloc(1, sizeof(*rel));
	ac_buf_init(&rel->warnings, 64 * 1024);
	cx->plan->release = rel;
	if (ac_cfg_object(cx, obj, "release", ac_release_fields, AC_RELEASE_NFIELDS, rel) &&
	    rel->nparts == 0)
		return;
	bool before_ok = true;
	for (size_t i = 0; i < rel->nparts; i++) {
		struct ac_release_part *p = &rel->parts[i];
		char *pp = ac_asprintf("release.parts[%zu]", i);
		if (p->name) {
			char *np = ac_cfg_path(pp, "name");
			ac_cfg_no_controls(cx, np, p->name);
			size_t j = part_index(rel, p->name);
			if (!*p->name)
				ac_cfg_error(cx, np, "a part needs a name");
			else if (j < i)
				ac_cfg_error(cx, np, "another part is named \"%s\" (parts[%zu])",
					     p->name, j);
			free(np);
		}
		if (!p->owner || !*p->owner)
			ac_cfg_error(cx, pp,
				     "part \"%s\" has no owner (one named owner does the undo; "
				     "\"the team\" owns nothing at 2 a.m.)",
				     p->name ? p->name : "?");
		char *op = ac_cfg_path(pp, "owner");
		ac_cfg_no_controls(cx, op, p->owner);
		free(op);
		op = ac_cfg_path(pp, "backup");
		ac_cfg_no_controls(cx, op, p->backup);
		free(op);
		before_ok = resolve_before(cx, rel, p, pp) && before_ok;
		resolve_checks(cx, p, pp);
		if (p->checks.n == 0)
			warn(cx, rel, pp,
			     "part \"%s\": nothing proves this part restored (it lists no checks)",
			     p->name ? p->name : "?");
		free(pp);
	}
	if (before_ok)
		order_parts(cx, rel);
	rel->name_first = name_firsts(cx->plan);
	warn_uncovered(cx, rel);
}

/* --- the runbook --------------------------------------------------------- */

struct out {
	FILE *f;
	const struct ac_mask *mask;
	bool md;
};

/* Masked, then escaped for a terminal or, in Markdown, also with the
 * characters that would format. */
static void put(const struct out *o, const char *text)
{
	char *m = ac_mask_apply(o->mask, text ? text : "");
	char *e = ac_text_escape(m);
	if (!o->md) {
		fputs(e, o->f);
	} else {
		for (const char *p = e; *p; p++) {
			if (strchr("\\`*_[]<>|#", *p))
				fputc('\\', o->f);
			fputc(*p, o->f);
		}
	}
	free(e);
	free(m);
}

/* "feature flag new_checkout is off (3 checks), duplicate discount holds" */
static char *proven_by(const struct ac_plan *plan, const struct ac_release_part *p)
{
	const size_t *first = plan->release->name_first;
	size_t *count = ac_calloc(plan->nchecks + 1, sizeof(*count));
	for (size_t k = 0; k < p->ncheck_idx; k++)
		count[first[p->check_idx[k]]]++;
	struct ac_buf b = AC_BUF_INIT;
	for (size_t k = 0; k < p->ncheck_idx; k++) {
		size_t f = first[p->check_idx[k]];
		if (!count[f])
			continue; /* named already */
		ac_buf_addf(&b, "%s%s", b.len ? ", " : "", plan->checks[f].name);
		if (count[f] > 1)
			ac_buf_addf(&b, " (%zu checks)", count[f]);
		count[f] = 0;
	}
	free(count);
	return ac_buf_detach(&b);
}

/* "    changed:   " or "- **changed:** " */
static void label(const struct out *o, const char *name)
{
	if (o->md)
		fprintf(o->f, "- **%s** ", name);
	else
		fprintf(o->f, "    %-10s ", name);
}

static size_t position(const struct ac_release *rel, size_t part)
{
	size_t j = 0;
	while (j < rel->nparts && rel->order[j] != part)
		j++;
	return j;
}

static void write_part(const struct out *o, const struct ac_plan *plan, size_t num,
		       const struct ac_release_part *p)
{
	const struct ac_release *rel = plan->release;
	FILE *f = o->f;
	const char *area = area_choices[p->area];
	if (o->md) {
		fprintf(f, "### %zu. ", num);
		put(o, p->name);
		fprintf(f, " (%s)\n\n", area);
	} else {
		fprintf(f, "%2zu. ", num);
		put(o, p->name);
		fprintf(f, "  [%s]\n", area);
	}
	if (p->changed) {
		label(o, "changed:");
		put(o, p->changed);
		fputc('\n', f);
	}
	label(o, "undo:");
	for (size_t k = 0; k < p->undo.n; k++) {
		if (p->undo.n > 1 && o->md)
			fprintf(f, "\n  %zu. ", k + 1);
		else if (p->undo.n > 1)
			fprintf(f, "%s%zu) ", k ? "               " : "", k + 1);
		put(o, p->undo.v[k]);
		if (!o->md || p->undo.n == 1 || k + 1 == p->undo.n)
			fputc('\n', f);
	}
	label(o, "owner:");
	put(o, p->owner);
	fputs(", backup: ", f);
	put(o, p->backup && *p->backup ? p->backup : "none named");
	fputc('\n', f);
	if (p->nbefore_idx) {
		label(o, "after:");
		/* In the map's order, with their numbers. */
		size_t shown = 0;
		for (size_t j = 0; j < rel->nparts; j++)
			for (size_t k = 0; k < p->nbefore_idx; k++)
				if (position(rel, p->before_idx[k]) == j) {
					fprintf(f, "%s%zu. ", shown++ ? ", " : "", j + 1);
					put(o, rel->parts[p->before_idx[k]].name);
				}
		fputc('\n', f);
	}
	if (p->restart) {
		label(o, "restart:");
		put(o, p->restart);
		fputc('\n', f);
	}
	label(o, "proven by:");
	if (p->ncheck_idx) {
		char *pb = proven_by(plan, p);
		put(o, pb);
		free(pb);
	} else {
		fputs("nothing proves this part restored", f);
	}
	fputs(o->md ? "\n\n" : "\n", f);
}

int ac_release_write_map(FILE *f, const struct ac_plan *plan, bool markdown)
{
	const struct ac_release *rel = plan->release;
	if (!rel || !rel->order)
		return -1;
	struct out o = {f, plan->mask, markdown};
	fputs(markdown ? "## Release map: " : "Release map: ", f);
	put(&o, rel->version ? rel->version : plan->name);
	fputs(markdown ? "\n\n*" : " (", f);
	put(&o, plan->name);
	fputs(markdown ? "*\n\n" : ")\n", f);
	if (rel->description) {
		put(&o, rel->description);
		fputs(markdown ? "\n\n" : "\n", f);
	}
	fprintf(f,
		"%zu part%s in recovery order: what must be done first, then flags, config, "
		"jobs, data, cache, code.%s\n",
		rel->nparts, rel->nparts == 1 ? "" : "s", markdown ? "\n" : "\n");
	for (size_t i = 0; i < rel->nparts; i++)
		write_part(&o, plan, i + 1, &rel->parts[rel->order[i]]);
	return ferror(f) ? -1 : 0;
}

/* --- into the result ----------------------------------------------------- */

static char *masked(const struct ac_mask *m, const char *s)
{
	return s ? ac_mask_apply(m, s) : NULL;
}

static char **masked_list(const struct ac_mask *m, const struct ac_strings *s, size_t *n)
{
	char **v = ac_calloc(s->n + 1, sizeof(*v));
	for (size_t i = 0; i < s->n; i++)
		v[i] = masked(m, s->v[i]);
	*n = s->n;
	return v;
}

void ac_release_fill_result(const struct ac_plan *plan, struct ac_result *r)
{
	const struct ac_release *rel = plan->release;
	if (!rel || !rel->order || !r || r->parts)
		return;
	const struct ac_mask *m = plan->mask;
	r->release_version = masked(m, rel->version);
	r->release_description = masked(m, rel->description);
	r->parts = ac_calloc(rel->nparts, sizeof(*r->parts));
	for (size_t i = 0; i < rel->nparts; i++) {
		const struct ac_release_part *p = &rel->parts[rel->order[i]];
		struct ac_result_part *rp = &r->parts[r->nparts++];
		rp->name = masked(m, p->name);
		rp->area = ac_strdup(area_choices[p->area]);
		rp->changed = masked(m, p->changed);
		rp->undo = masked_list(m, &p->undo, &rp->nundo);
		rp->owner = masked(m, p->owner);
		rp->backup = p->backup && *p->backup ? masked(m, p->backup) : NULL;
		rp->restart = masked(m, p->restart);
		rp->before = ac_calloc(p->nbefore_idx + 1, sizeof(*rp->before));
		for (size_t k = 0; k < p->nbefore_idx; k++)
			rp->before[rp->nbefore++] = masked(m, rel->parts[p->before_idx[k]].name);
		rp->checks = ac_calloc(p->ncheck_idx + 1, sizeof(*rp->checks));
		for (size_t k = 0; k < p->ncheck_idx; k++) {
			const struct ac_check *c = &plan->checks[p->check_idx[k]];
			/* The engine makes the results in plan order. */
			size_t j = p->check_idx[k];
			if (j >= r->nchecks || r->checks[j].check != c)
				for (j = 0; j < r->nchecks && r->checks[j].check != c; j++)
					;
			if (j < r->nchecks) {
				rp->checks[rp->nchecks++] = j;
				struct ac_check_result *cr = &r->checks[j];
				char *joined = cr->part ? ac_asprintf("%s, %s", cr->part, rp->name)
							: ac_strdup(rp->name);
				free(cr->part);
				cr->part = joined;
			}
		}
	}
}
