/* system.cpu: identity, counts and flags from /proc/cpuinfo, and on the
 * running system the instruction-set features CPUID reports (with XGETBV, so
 * AVX state the OS has not enabled does not count). The flags that change
 * floating-point results are called out under "fp_relevant". */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#define CPUINFO_MAX ((size_t)16 * 1024 * 1024)

/* Flags whose presence changes which kernels BLAS, numpy or torch pick. */
static const char *const fp_flags[] = {
        "fma",      "f16c",        "avx",         "avx2",     "avx512f",  "avx512bw", "avx512vl",
        "avx512dq", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8"};

static bool has_word(const char *list, const char *word)
{
	const size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* Adds each word of a space-separated list to an array, sorted by the caller. */
static int add_words(cJSON *array, const char *list)
{
	for (const char *p = list; *p != '\0';) {
		p += strspn(p, " ");
		const size_t n = strcspn(p, " ");
		if (n == 0)
			break;
		char *word = strndup(p, n);
		const int rc = aero_json_append_string(array, word);
		free(word);
		if (rc < 0)
			return -1;
		p += n;
	}
	return 0;
}

static int add_fp_relevant(cJSON *part, const char *flags)
{
	cJSON *fp = aero_json_add_array(part, "fp_relevant");
	if (fp == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(fp_flags) / sizeof(fp_flags[0]); i++) {
		if (has_word(flags, fp_flags[i]) && aero_json_append_string(fp, fp_flags[i]) < 0)
			return -1;
	}
	return 0;
}

/* One "key : value" line's value for key, within the block [start, end). */
static char *field(const char *start, const char *end, const char *key)
{
	const size_t klen = strlen(key);
	for (const char *line = start; line < end;) {
		const size_t len = strcspn(line, "\n");
		if (strncmp(line, key, klen) == 0 &&
		    (line[klen] == ' ' || line[klen] == '\t' || line[klen] == ':')) {
			const char *colon = memchr(line, ':', len);
			if (colon != NULL)
				return aero_line_value(colon + 1);
		}
		line += len + 1;
	}
	return NULL;
}

/* A number after the colon of a field in [start, end), or -1. */
static long number_field(const char *start, const char *end, const char *key)
{
	char *value = field(start, end, key);
	const long n = value != NULL && *value != '\0' ? strtol(value, NULL, 10) : -1;
	free(value);
	return n;
}

static int compare_cores(const void *a, const void *b)
{
	const long *x = a, *y = b;
	return x[0] != y[0] ? (x[0] > y[0]) - (x[0] < y[0]) : (x[1] > y[1]) - (x[1] < y[1]);
}

/* Counts processor blocks and distinct (physical id, core id) pairs. */
static int count_processors(const char *text, long *logical, long *physical)
{
	size_t blocks = 1;
	for (const char *p = text; (p = strstr(p, "\n\n")) != NULL; p += 2)
		blocks++;
	long *cores = calloc(blocks, 2 * sizeof(long));
	if (cores == NULL)
		return aero_error_set("out of memory");
	size_t ncores = 0;
	*logical = 0;
	for (const char *block = text; *block != '\0';) {
		const char *next = strstr(block, "\n\n");
		const char *end = next != NULL ? next + 1 : block + strlen(block);
		if (strncmp(block, "processor", 9) == 0) {
			(*logical)++;
			const long phys = number_field(block, end, "physical id");
			const long core = number_field(block, end, "core id");
			if (phys >= 0 && core >= 0 && ncores < blocks) {
				cores[2 * ncores] = phys;
				cores[2 * ncores + 1] = core;
				ncores++;
			}
		}
		block = next != NULL ? next + 2 : end;
	}
	qsort(cores, ncores, 2 * sizeof(long), compare_cores);
	*physical = ncores > 0 ? 1 : 0;
	for (size_t i = 1; i < ncores; i++)
		*physical += compare_cores(&cores[2 * i], &cores[2 * (i - 1)]) != 0;
	free(cores);
	return 0;
}

int aero_parse_cpuinfo(const char *text, cJSON *out)
{
	const char *first_end = strstr(text, "\n\n");
	const char *end = first_end != NULL ? first_end + 1 : text + strlen(text);
	static const struct {
		const char *key, *name;
	} fields[] = {{"vendor_id", "vendor"},
	              {"model name", "model_name"},
	              {"cpu family", "family"},
	              {"model", "model"},
	              {"stepping", "stepping"},
	              {"microcode", "microcode"},
	              {"CPU implementer", "implementer"},
	              {"CPU part", "part"}};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char *value = field(text, end, fields[i].key);
		const int rc = value != NULL ? aero_json_add_string(out, fields[i].name, value) : 0;
		free(value);
		if (rc < 0)
			return -1;
	}
	long logical = 0, physical = 0;
	if (count_processors(text, &logical, &physical) < 0 ||
	    aero_json_add_number(out, "logical_cpus", (double)logical) < 0 ||
	    (physical > 0 && aero_json_add_number(out, "physical_cores", (double)physical) < 0))
		return -1;

	char *flags = field(text, end, "flags");
	if (flags == NULL)
		flags = field(text, end, "Features"); /* arm64 */
	if (flags == NULL)
		return 0;
	cJSON *list = aero_json_add_array(out, "flags");
	int rc = list != NULL ? add_words(list, flags) : -1;
	if (rc == 0)
		rc = add_fp_relevant(out, flags);
	free(flags);
	return rc;
}

#if defined(__x86_64__) || defined(__i386__)
/* What CPUID and XGETBV say of the features that change numeric results. */
static int add_cpuid(cJSON *part)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(0, &a, &b, &c, &d))
		return 0;
	const unsigned max_leaf = a;
	char vendor[13];
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	vendor[12] = '\0';
	cJSON *cpuid = aero_json_add_object(part, "cpuid");
	if (cpuid == NULL || aero_json_add_string(cpuid, "vendor", vendor) < 0)
		return -1;
	__get_cpuid(1, &a, &b, &c, &d);
	const unsigned family = ((a >> 8) & 0xf) + (((a >> 8) & 0xf) == 0xf ? (a >> 20) & 0xff : 0);
	const unsigned model =
	        ((a >> 4) & 0xf) | ((((a >> 8) & 0xf) >= 6 ? (a >> 16) & 0xf : 0) << 4);
	const bool osxsave = c & (1u << 27);
	unsigned long long xcr0 = 0;
	if (osxsave) {
		unsigned lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		xcr0 = ((unsigned long long)hi << 32) | lo;
	}
	const bool avx_state = (xcr0 & 0x6) == 0x6;
	const bool avx512_state = (xcr0 & 0xe6) == 0xe6;
	const bool amx_state = (xcr0 & 0x60000) == 0x60000;
	unsigned b7 = 0, c7 = 0, d7 = 0, a71 = 0;
	if (max_leaf >= 7) {
		__cpuid_count(7, 0, a, b7, c7, d7);
		unsigned b71, c71, d71;
		__cpuid_count(7, 1, a71, b71, c71, d71);
		(void)b71, (void)c71, (void)d71;
	}
	const struct {
		const char *name;
		bool present;
	} features[] = {
	        {"fma", avx_state && (c & (1u << 12))},
	        {"f16c", avx_state && (c & (1u << 29))},
	        {"avx", avx_state && (c & (1u << 28))},
	        {"avx2", avx_state && (b7 & (1u << 5))},
	        {"avx512f", avx512_state && (b7 & (1u << 16))},
	        {"avx512dq", avx512_state && (b7 & (1u << 17))},
	        {"avx512bw", avx512_state && (b7 & (1u << 30))},
	        {"avx512vl", avx512_state && (b7 & (1u << 31))},
	        {"avx512_vnni", avx512_state && (c7 & (1u << 11))},
	        {"avx512_bf16", avx512_state && (a71 & (1u << 5))},
	        {"amx_bf16", amx_state && (d7 & (1u << 22))},
	        {"amx_tile", amx_state && (d7 & (1u << 24))},
	        {"amx_int8", amx_state && (d7 & (1u << 25))},
	};
	cJSON *list = aero_json_add_array(cpuid, "fp_relevant");
	if (list == NULL || aero_json_add_number(cpuid, "family", family) < 0 ||
	    aero_json_add_number(cpuid, "model", model) < 0 ||
	    aero_json_add_number(cpuid, "stepping", a & 0xf) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		if (features[i].present && aero_json_append_string(list, features[i].name) < 0)
			return -1;
	}
	return 0;
}
#endif

int aero_probe_cpu(const struct aero_capture_ctx *ctx, cJSON *part)
{
	char *text = aero_root_read(ctx, "/proc/cpuinfo", CPUINFO_MAX, NULL);
	if (text == NULL && !ctx->live)
		return aero_error_set("not captured: the tree has no proc/cpuinfo");
	const int rc = text != NULL ? aero_parse_cpuinfo(text, part) : 0;
	free(text);
	if (rc < 0)
		return -1;
#if defined(__x86_64__) || defined(__i386__)
	if (ctx->live && add_cpuid(part) < 0)
		return -1;
#endif
	return 0;
}
