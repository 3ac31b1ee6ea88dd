/*
 * schema.c: the scenario format as a JSON Schema, from the field tables.
 */
#include "schema.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "probe.h"
#include "scenario.h"
#include "sections.h"
#include "util.h"

static cJSON *shape_schema(enum ac_shape shape, const struct ac_field *f);
static cJSON *object_of(const struct ac_field *fields, size_t n);

static cJSON *typed(const char *type)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", type);
	return o;
}

/* A text of the pattern, or a number of at least 0. */
static cJSON *text_or_number(const char *pattern)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *any = cJSON_AddArrayToObject(o, "anyOf");
	cJSON *s = typed("string");
	cJSON_AddStringToObject(s, "pattern", pattern);
	cJSON_AddItemToArray(any, s);
	cJSON *n = typed("number");
	cJSON_AddNumberToObject(n, "minimum", 0);
	cJSON_AddItemToArray(any, n);
	return o;
}

/* "5s", "250ms", "1m30s" or a number of milliseconds. */
static cJSON *duration(void)
{
	return text_or_number("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$");
}

/* "8MiB", "64KiB", "100B" or a number of bytes. */
static cJSON *size(void)
{
	return text_or_number("^[0-9]+(\\.[0-9]+)? *([KMG]i?B|B)?$");
}

static cJSON *choices(const char *const *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *e = cJSON_AddArrayToObject(o, "enum");
	for (; c && *c; c++)
		cJSON_AddItemToArray(e, cJSON_CreateString(*c));
	return o;
}

/* {"<=": 10}, {"between": [1, 5]}, {"==": "text"}: one or more comparisons,
 * as src/expect.c reads them (a kind may add keys of its own). */
static cJSON *comparison(void)
{
	cJSON *o = typed("object");
	cJSON_AddNumberToObject(o, "minProperties", 1);
	cJSON *p = cJSON_AddObjectToObject(o, "properties");
	static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
	for (size_t i = 0; i < AC_ARRAY_LEN(ops); i++)
		cJSON_AddItemToObject(p, ops[i], cJSON_CreateObject());
	cJSON *b = typed("array");
	cJSON_AddNumberToObject(b, "minItems", 2);
	cJSON_AddNumberToObject(b, "maxItems", 2);
	cJSON_AddItemToObject(p, "between", b);
	return o;
}

static cJSON *map_of(cJSON *value);
static cJSON *list_of(cJSON *item);

/* minimum, maximum and their exclusive forms, from the field's range. */
static void add_range(cJSON *fs, const struct ac_field *f)
{
	/* a duration's range is in ms: it applies to the number form only */
	cJSON *n = fs;
	if (f->type == AC_FT_DURATION || f->type == AC_FT_SIZE) {
		cJSON *alts = cJSON_GetObjectItemCaseSensitive(fs, "anyOf");
		n = cJSON_GetArrayItem(alts, 1);
	}
	switch (f->range) {
	case AC_RANGE_NONE:
		break;
	case AC_RANGE_MIN:
		cJSON_DeleteItemFromObjectCaseSensitive(n, "minimum");
		cJSON_AddNumberToObject(n, "minimum", f->min);
		break;
	case AC_RANGE_ABOVE:
		cJSON_DeleteItemFromObjectCaseSensitive(n, "minimum");
		cJSON_AddNumberToObject(n, "exclusiveMinimum", f->min);
		break;
	case AC_RANGE_CLOSED:
		cJSON_DeleteItemFromObjectCaseSensitive(n, "minimum");
		cJSON_AddNumberToObject(n, "minimum", f->min);
		cJSON_AddNumberToObject(n, "maximum", f->max);
		break;
	case AC_RANGE_OPEN:
		cJSON_DeleteItemFromObjectCaseSensitive(n, "minimum");
		cJSON_AddNumberToObject(n, "exclusiveMinimum", f->min);
		cJSON_AddNumberToObject(n, "exclusiveMaximum", f->max);
		break;
	case AC_RANGE_ABOVE_TO:
		cJSON_DeleteItemFromObjectCaseSensitive(n, "minimum");
		cJSON_AddNumberToObject(n, "exclusiveMinimum", f->min);
		cJSON_AddNumberToObject(n, "maximum", f->max);
		break;
	}
}

/* The schema of one field, from its type (or, for a custom one, its
 * shape), with its range, default and doc. */
static cJSON *field_schema(const struct ac_field *f)
{
	cJSON *fs;
	switch (f->type) {
	case AC_FT_STRING:
	case AC_FT_TEXT:
	case AC_FT_ENTRY:
		fs = typed("string");
		break;
	case AC_FT_URL:
		fs = typed("string");
		cJSON_AddStringToObject(fs, "pattern", "^(https?://|\\$\\{)");
		break;
	case AC_FT_INT:
	case AC_FT_LONG:
		fs = typed("integer");
		break;
	case AC_FT_NUMBER:
		fs = typed("number");
		break;
	case AC_FT_BOOL:
		fs = typed("boolean");
		break;
	case AC_FT_DURATION:
		fs = duration();
		break;
	case AC_FT_SIZE:
		fs = size();
		break;
	case AC_FT_ENUM:
		fs = choices(f->choices);
		break;
	case AC_FT_STRINGS:
		fs = list_of(f->choices ? choices(f->choices) : typed("string"));
		break;
	case AC_FT_HEADERS:
		fs = map_of(typed("string"));
		break;
	case AC_FT_OBJECT:
		fs = object_of(f->sub, f->nsub);
		break;
	case AC_FT_COMPARISON:
		fs = comparison();
		break;
	case AC_FT_CUSTOM:
	default:
		fs = shape_schema(f->shape, f);
		if (f->also != AC_SHAPE_ANY && f->shape != AC_SHAPE_ANY) {
			cJSON *any = cJSON_CreateObject();
			cJSON *alts = cJSON_AddArrayToObject(any, "anyOf");
			cJSON_AddItemToArray(alts, fs);
			cJSON_AddItemToArray(alts, shape_schema(f->also, f));
			fs = any;
		}
		break;
	}
	add_range(fs, f);
	if (f->def) {
		cJSON *d = cJSON_Parse(f->def);
		if (d)
			cJSON_AddItemToObject(fs, "default", d);
	}
	if (f->doc)
		cJSON_AddStringToObject(fs, "description", f->doc);
	return fs;
}

/* An object with the keys of a table: unknown keys refused. */
static cJSON *object_of(const struct ac_field *fields, size_t n)
{
	cJSON *o = typed("object");
	cJSON *props = cJSON_AddObjectToObject(o, "properties");
	cJSON *req = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		const struct ac_field *f = &fields[i];
		cJSON_AddItemToObject(props, f->key, field_schema(f));
		if (f->required)
			cJSON_AddItemToArray(req, cJSON_CreateString(f->key));
	}
	if (cJSON_GetArraySize(req))
		cJSON_AddItemToObject(o, "required", req);
	else
		cJSON_Delete(req);
	cJSON_AddFalseToObject(o, "additionalProperties");
	return o;
}

static cJSON *map_of(cJSON *value)
{
	cJSON *o = typed("object");
	cJSON_AddItemToObject(o, "additionalProperties", value);
	return o;
}

static cJSON *list_of(cJSON *item)
{
	cJSON *o = typed("array");
	cJSON_AddItemToObject(o, "items", item);
	return o;
}

static cJSON *shape_schema(enum ac_shape shape, const struct ac_field *f)
{
	switch (shape) {
	case AC_SHAPE_STRING:
		return typed("string");
	case AC_SHAPE_INTEGER:
		return typed("integer");
	case AC_SHAPE_NUMBER:
		return typed("number");
	case AC_SHAPE_BOOL:
		return typed("boolean");
	case AC_SHAPE_DURATION:
		return duration();
	case AC_SHAPE_SIZE:
		return size();
	case AC_SHAPE_ENUM:
		return choices(f->choices);
	case AC_SHAPE_COMPARISON:
		return comparison();
	case AC_SHAPE_STRINGS:
		return list_of(typed("string"));
	case AC_SHAPE_STRING_MAP:
		return map_of(typed("string"));
	case AC_SHAPE_OBJECT:
		return object_of(f->sub, f->nsub);
	case AC_SHAPE_OBJECTS:
		return list_of(object_of(f->sub, f->nsub));
	case AC_SHAPE_OBJECT_MAP: {
		cJSON *entry = object_of(f->sub, f->nsub);
		if (f->also != AC_SHAPE_ANY) {
			cJSON *any = cJSON_CreateObject();
			cJSON *alts = cJSON_AddArrayToObject(any, "anyOf");
			cJSON_AddItemToArray(alts, entry);
			cJSON_AddItemToArray(alts, shape_schema(f->also, f));
			entry = any;
		}
		return map_of(entry);
	}
	case AC_SHAPE_STRING_OR: {
		cJSON *any = cJSON_CreateObject();
		cJSON *alts = cJSON_AddArrayToObject(any, "anyOf");
		cJSON_AddItemToArray(alts, typed("string"));
		cJSON_AddItemToArray(alts, object_of(f->sub, f->nsub));
		return any;
	}
	case AC_SHAPE_STRINGS_OR: {
		cJSON *any = cJSON_CreateObject();
		cJSON *alts = cJSON_AddArrayToObject(any, "anyOf");
		cJSON_AddItemToArray(alts, typed("string"));
		cJSON_AddItemToArray(alts, list_of(typed("string")));
		return any;
	}
	case AC_SHAPE_ANY:
	default:
		return cJSON_CreateObject();
	}
}

/* One definition of a kind: the common keys and the kind's own. */
static cJSON *definition(const struct ac_probe_kind *k, bool with_kind)
{
	size_t ncommon;
	const struct ac_field *common = ac_scenario_fields("check", &ncommon);
	struct ac_field *all = ac_calloc(ncommon + k->nfields, sizeof(*all));
	size_t n = 0;
	for (size_t i = 0; i < ncommon; i++) {
		/* "kind" only where it selects, "persona" only for journeys */
		if (strcmp(common[i].key, "kind") == 0 && !with_kind)
			continue;
		if (strcmp(common[i].key, "persona") == 0 && !k->per_target)
			continue;
		all[n++] = common[i];
	}
	for (size_t i = 0; i < k->nfields; i++)
		all[n++] = k->fields[i];
	cJSON *o = object_of(all, n);
	free(all);
	if (with_kind) {
		cJSON *kind = cJSON_CreateObject();
		cJSON_AddStringToObject(kind, "const", k->name);
		cJSON_ReplaceItemInObjectCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(o, "properties"), "kind", kind);
		cJSON *req = cJSON_GetObjectItemCaseSensitive(o, "required");
		if (!req)
			req = cJSON_AddArrayToObject(o, "required");
		cJSON_AddItemToArray(req, cJSON_CreateString("kind"));
	}
	if (k->summary)
		cJSON_AddStringToObject(o, "description", k->summary);
	return o;
}

char *ac_schema_text(void)
{
	size_t ntop;
	const struct ac_field *top = ac_scenario_fields("top", &ntop);
	cJSON *root = object_of(top, ntop);
	cJSON *props = cJSON_GetObjectItemCaseSensitive(root, "properties");
	/* The sections of named servers, from their own tables. */
	for (const struct ac_section *s = ac_sections; s->key; s++) {
		size_t nf;
		const struct ac_field *f = s->fields(&nf);
		cJSON *entry;
		if (s->shape == AC_SHAPE_STRING_OR) {
			entry = cJSON_CreateObject();
			cJSON *alts = cJSON_AddArrayToObject(entry, "anyOf");
			cJSON_AddItemToArray(alts, typed("string"));
			cJSON_AddItemToArray(alts, object_of(f, nf));
		} else {
			entry = object_of(f, nf);
		}
		cJSON *m = map_of(entry);
		if (s->what)
			cJSON_AddStringToObject(m, "description", s->what);
		cJSON_ReplaceItemInObjectCaseSensitive(props, s->key, m);
	}
	/* "journeys": the per-target kind; "checks": every kind, chosen by "kind". */
	cJSON *checks = cJSON_CreateObject();
	cJSON *one_of = cJSON_AddArrayToObject(checks, "oneOf");
	for (size_t i = 0; i < ac_probe_nkinds; i++) {
		const struct ac_probe_kind *k = ac_probe_kinds[i];
		if (strcmp(k->section, "journeys") == 0)
			cJSON_ReplaceItemInObjectCaseSensitive(props, "journeys",
							       list_of(definition(k, false)));
		else
			cJSON_AddItemToArray(one_of, definition(k, true));
	}
	cJSON_ReplaceItemInObjectCaseSensitive(props, "checks", list_of(checks));
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "$schema", "https://json-schema.org/draft/2020-12/schema");
	cJSON_AddStringToObject(doc, "$id", "https://allclear.invalid/scenario-1.schema.json");
	cJSON_AddStringToObject(doc, "title", "allclear scenario (format 1)");
	cJSON_AddStringToObject(doc, "description",
				"Generated by `allclear schema` from the loader's own tables.");
	for (cJSON *c = root->child; c;) {
		cJSON *next = c->next;
		cJSON_AddItemToObject(doc, c->string, cJSON_DetachItemViaPointer(root, c));
		c = next;
	}
	cJSON_Delete(root);
	char *text = cJSON_Print(doc);
	cJSON_Delete(doc);
	if (!text)
		ac_die("out of memory printing the schema");
	char *out = ac_strdup(text);
	cJSON_free(text);
	return out;
}
