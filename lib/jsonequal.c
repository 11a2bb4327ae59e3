/* JSON equality (see jsonequal.h). cJSON_Compare is not used: it compares
 * numbers by a relative epsilon, which takes an infinity (what cJSON reads
 * for 1e309) to differ from itself, and it calls two absent values unequal. */
#include "jsonequal.h"

#include <string.h>

static const cJSON *member(const cJSON *object, const char *name)
{
	for (const cJSON *m = object->child; m != NULL; m = m->next)
		if (strcmp(m->string, name) == 0)
			return m;
	return NULL;
}

/* Whether every member of a has one of its name in b with the same value. */
static bool members_found(const cJSON *a, const cJSON *b)
{
	for (const cJSON *m = a->child; m != NULL; m = m->next) {
		const cJSON *other = member(b, m->string);
		if (other == NULL || !aero_json_equal(m, other))
			return false;
	}
	return true;
}

/* Objects: the same members in the same order is the usual case and is
 * checked pairwise; otherwise each member is looked up by name, both ways. */
static bool objects_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *x = a->child, *y = b->child;
	while (x != NULL && y != NULL && strcmp(x->string, y->string) == 0 &&
	       aero_json_equal(x, y)) {
		x = x->next;
		y = y->next;
	}
	if (x == NULL && y == NULL)
		return true;
	return cJSON_GetArraySize(a) == cJSON_GetArraySize(b) && members_found(a, b) &&
	       members_found(b, a);
}

static bool arrays_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *x = a->child, *y = b->child;
	for (; x != NULL && y != NULL; x = x->next, y = y->next)
		if (!aero_json_equal(x, y))
			return false;
	return x == NULL && y == NULL;
}

bool aero_json_equal(const cJSON *a, const cJSON *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if ((a->type & 0xFF) != (b->type & 0xFF))
		return false;
	switch (a->type & 0xFF) {
	case cJSON_Number:
		return a->valuedouble == b->valuedouble;
	case cJSON_String:
	case cJSON_Raw:
		return a->valuestring != NULL && b->valuestring != NULL &&
		       strcmp(a->valuestring, b->valuestring) == 0;
	case cJSON_Array:
		return arrays_equal(a, b);
	case cJSON_Object:
		return objects_equal(a, b);
	default: /* false, true, null */
		return true;
	}
}
