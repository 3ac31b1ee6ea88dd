/*
 * probes.c: the table of probe kinds and of the scenario's server sections.
 *
 * Adding a probe kind: one file under probes/, one row here, one test file.
 */
#include <string.h>

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
void ac_http_personas_validate(struct ac_cfg *cx, const cJSON *section, const char *path);

const struct ac_section ac_sections[] = {
    {"databases", ac_pg_section_validate},
    {"personas", ac_http_personas_validate},
    {"redis", ac_redis_section_validate},
    {NULL, NULL},
};
