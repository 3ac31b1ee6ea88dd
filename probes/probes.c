/*
 * probes.c: the table of probe kinds and of the scenario's server sections.
 *
 * Adding a probe kind: one file under probes/, one row here, one test file.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pg.h"
#include "probe.h"
#include "redis.h"
#include "sections.h"

extern const struct ac_probe_kind ac_probe_http;
extern const struct ac_probe_kind ac_probe_metric;
extern const struct ac_probe_kind ac_probe_queue;
extern const struct ac_probe_kind ac_probe_redis;
extern const struct ac_probe_kind ac_probe_sql;

/* Sorted by name. */
const struct ac_probe_kind *const ac_probe_kinds[] = {
    &ac_probe_http, &ac_probe_metric, &ac_probe_queue, &ac_probe_redis, &ac_probe_sql,
};
const size_t ac_probe_nkinds = AC_ARRAY_LEN(ac_probe_kinds);

const struct ac_probe_kind *ac_probe_kind_find(const char *name)
{
	for (size_t i = 0; i < ac_probe_nkinds; i++)
		if (strcmp(ac_probe_kinds[i]->name, name) == 0)
			return ac_probe_kinds[i];
	return NULL;
}

/* Top-level sections that describe servers the checks refer to by name. */
void *http_persona_load(struct ac_cfg *cx, const cJSON *entry, const char *name, const char *path);
void http_persona_destroy(void *p);
const struct ac_field *http_persona_fields(size_t *n);

const struct ac_section ac_sections[] = {
    {"databases", ac_pg_target_load, ac_pg_target_destroy, "database", ac_pg_fields,
     AC_SHAPE_STRING_OR},
    {"personas", http_persona_load, http_persona_destroy, "persona", http_persona_fields,
     AC_SHAPE_OBJECT},
    {"redis", ac_redis_server_load, ac_redis_server_destroy, "Redis server", ac_redis_fields,
     AC_SHAPE_STRING_OR},
    {NULL, NULL, NULL, NULL, NULL, AC_SHAPE_ANY},
};

void ac_sections_load(struct ac_cfg *cx, const cJSON *root)
{
	struct ac_plan *plan = cx->plan;
	size_t n = 0;
	while (ac_sections[n].key)
		n++;
	plan->sections = ac_calloc(n, sizeof(*plan->sections));
	plan->nsections = n;
	for (size_t i = 0; i < n; i++) {
		const struct ac_section *s = &ac_sections[i];
		struct ac_section_table *t = ac_calloc(1, sizeof(*t));
		t->section = s;
		plan->sections[i] = t;
		const cJSON *sec = ac_json_get(root, s->key);
		if (!sec || !ac_cfg_want_object(cx, sec, s->key))
			continue;
		size_t count = (size_t)cJSON_GetArraySize(sec);
		t->names = ac_calloc(count, sizeof(*t->names));
		t->entries = ac_calloc(count, sizeof(*t->entries));
		const cJSON *e;
		cJSON_ArrayForEach(e, sec)
		{
			char *kp = ac_cfg_path(s->key, e->string);
			t->names[t->n] = ac_strdup(e->string);
			t->entries[t->n] = s->load_entry(cx, e, e->string, kp);
			t->n++;
			free(kp);
		}
	}
}

void ac_sections_destroy(struct ac_plan *plan)
{
	for (size_t i = 0; i < plan->nsections; i++) {
		struct ac_section_table *t = plan->sections[i];
		for (size_t k = 0; k < t->n; k++) {
			free(t->names[k]);
			if (t->entries[k])
				t->section->destroy_entry(t->entries[k]);
		}
		free(t->names);
		free(t->entries);
		free(t);
	}
	free(plan->sections);
	plan->sections = NULL;
	plan->nsections = 0;
}

const struct ac_section_table *ac_section_table_of(const struct ac_plan *plan, const char *key)
{
	for (size_t i = 0; i < plan->nsections; i++)
		if (strcmp(plan->sections[i]->section->key, key) == 0)
			return plan->sections[i];
	abort(); /* a module asked for a section no row declares */
}

bool ac_section_has(const struct ac_plan *plan, const char *key, const char *name)
{
	const struct ac_section_table *t = ac_section_table_of(plan, key);
	for (size_t k = 0; k < t->n; k++)
		if (strcmp(t->names[k], name) == 0)
			return true;
	return false;
}

const void *ac_section_find(struct ac_cfg *cx, const char *key, const cJSON *name, const char *path)
{
	const struct ac_section_table *t = ac_section_table_of(cx->plan, key);
	const char *what = t->section->what;
	if (!cJSON_IsString(name)) {
		ac_cfg_error(cx, path, "expected the name of a %s under \"%s\"", what, key);
		return NULL;
	}
	for (size_t k = 0; k < t->n; k++)
		if (strcmp(t->names[k], name->valuestring) == 0)
			return t->entries[k];
	char *hint = ac_asprintf(" (define it under \"%s\")", key);
	ac_cfg_unknown(cx, path, what, name->valuestring, (const char *const *)t->names, t->n,
		       hint);
	free(hint);
	return NULL;
}
