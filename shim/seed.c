#include "seed.h"

#include "error.h"
#include "files.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* SplitMix64's finaliser: a bijection that mixes every bit into every bit. */
static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* FNV-1a over a string and its terminating NUL, so "ab"+"c" differs from "a"+"bc". */
static uint64_t hash_string(uint64_t h, const char *s)
{
	do {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	} while (*s++ != '\0');
	return h;
}

uint64_t aero_seed_derive(uint64_t base, const char *purpose, const char *task)
{
	/* Like numpy's SeedSequence: not cryptographic, only well mixed and
	 * stable. Changing this changes every derived seed: it is versioned. */
	uint64_t h = hash_string(0xcbf29ce484222325ULL, "aeromancy-seed-v1");
	h = hash_string(h, purpose);
	if (task != NULL)
		h = hash_string(h, task);
	return mix(mix(base) ^ mix(h));
}

/* Exports name=value unless the user set it; records either in `derived`. */
static int export_seed(cJSON *derived, const char *name, uint64_t value)
{
	const char *user = getenv(name);
	if (user != NULL) /* never overwrite what the user chose: keep it and say so */
		return aero_json_add_setting(derived, name, user, "user");
	char text[32];
	(void)snprintf(text, sizeof(text), "%" PRIu64, value);
	if (setenv(name, text, 1) < 0)
		return aero_error_set("cannot set %s", name);
	return aero_json_add_setting(derived, name, text, "aero-init");
}

int aero_seed_apply(const struct aero_init_options *opts, cJSON *section)
{
	uint64_t base = opts->seed;
	const char *source = getenv("AERO_SEED") != NULL ? "AERO_SEED" : "--seed";
	if (!opts->seed_given) {
		if (getrandom(&base, sizeof(base), 0) != (ssize_t)sizeof(base))
			return aero_error_set("cannot draw a seed from the OS");
		source = "random";
	}
	char text[32];
	(void)snprintf(text, sizeof(text), "%" PRIu64, base);
	const char *task = getenv("AERO_TASK");
	/* 64-bit seeds do not fit a JSON number exactly: strings. */
	if (aero_json_add_string(section, "base", text) < 0 ||
	    aero_json_add_string(section, "source", source) < 0 ||
	    (task != NULL && aero_json_add_string(section, "task", task) < 0))
		return -1;
	if (setenv("AERO_SEED", text, 1) < 0)
		return aero_error_set("cannot set AERO_SEED");
	cJSON *derived = aero_json_add_object(section, "derived");
	if (derived == NULL)
		return -1;
	/* CPython accepts 0..4294967295; Lightning's seed_everything the same range. */
	if (export_seed(derived, "PYTHONHASHSEED",
	                aero_seed_derive(base, "python-hash", task) & 0xffffffffu) < 0 ||
	    export_seed(derived, "PL_GLOBAL_SEED",
	                aero_seed_derive(base, "global", task) & 0xffffffffu) < 0)
		return -1;
	return 0;
}
