/* env: the variables that change results (an allow-list, plus those the user
 * names), never the whole environment. A variable whose name looks like a
 * secret, or whose value is a URL with credentials, is recorded as redacted,
 * with a salted SHA-256 of its value. */
#include "error.h"
#include "files.h"
#include "probes.h"
#include "redact.h"
#include "sha256.h"

#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* Patterns (fnmatch) of the variables recorded by default. */
static const char *const allowed[] = {
        "LD_*",         "PATH",           "PYTHON*",      "CUDA*",         "NVIDIA*",
        "OMP_*",        "MKL_*",          "OPENBLAS_*",   "*_NUM_THREADS", "XLA_FLAGS",
        "TF_*",         "NCCL_*",         "CUBLAS_*",     "CUDNN_*",       "TORCH*",
        "PYTORCH_*",    "JAX_*",          "KMP_*",        "GOMP_*",        "ONEDNN_*",
        "DNNL_*",       "ATEN_*",         "NPY_*",        "PL_*",          "FLASH_ATTENTION_*",
        "HF_*",         "TRANSFORMERS_*", "TOKENIZERS_*", "AERO_*",        "LANG",
        "NV_*",         "LC_*",           "TZ",           "CONDA_*",       "VIRTUAL_ENV",
        "KUBERNETES_*",
};

/* Words that mark a secret anywhere in a name. */
static const char *const secret_words[] = {"KEY",  "TOKEN",   "SECRET",     "PASSWORD", "PASSWD",
                                           "AUTH", "PRIVATE", "CREDENTIAL", "SESSION",  "COOKIE"};

int aero_env_is_secret(const char *name)
{
	for (size_t i = 0; i < sizeof(secret_words) / sizeof(secret_words[0]); i++)
		if (strcasestr(name, secret_words[i]) != NULL)
			return 1;
	return 0;
}

static bool is_recorded(const char *name, const struct aero_capture_ctx *ctx)
{
	/* These have sections of their own (seed, run, git, image; a pipeline
	 * task's AERO_PIPELINE and AERO_CONFIG are run.pipeline and the run's
	 * config) and differ from run to run or commit to commit: the
	 * fingerprint must not. */
	static const char *const own_section[] = {"AERO_SEED",     "AERO_RUN_ID", "AERO_RUN_DIR",
	                                          "AERO_DEV",      "AERO_GIT_*",  "AERO_IMAGE_*",
	                                          "AERO_PIPELINE", "AERO_CONFIG"};
	for (size_t i = 0; i < sizeof(own_section) / sizeof(own_section[0]); i++)
		if (fnmatch(own_section[i], name, 0) == 0)
			return false;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (fnmatch(allowed[i], name, 0) == 0)
			return true;
	for (const char *const *k = ctx->env_keep; k != NULL && *k != NULL; k++)
		if (strcmp(*k, name) == 0)
			return true;
	return false;
}

/* {"redacted": true, "salted_sha256": hex(sha256(salt ":" value))}. */
static int add_redacted(cJSON *part, const char *name, const char *value, const char *salt)
{
	cJSON *entry = aero_json_add_object(part, name);
	if (entry == NULL || cJSON_AddTrueToObject(entry, "redacted") == NULL)
		return aero_error_set("out of memory");
	const void *parts[] = {salt, ":", value};
	const size_t lengths[] = {strlen(salt), 1, strlen(value)};
	char hex[65];
	aero_sha256_hex(parts, lengths, 3, hex);
	return aero_json_add_string(entry, "salted_sha256", hex);
}

int aero_probe_env(const struct aero_capture_ctx *ctx, cJSON *part)
{
	for (char **e = environ; e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		if (eq == NULL || eq == *e)
			continue;
		char *name = strndup(*e, (size_t)(eq - *e));
		if (name == NULL)
			return aero_error_set("out of memory");
		int rc = 0;
		if (is_recorded(name, ctx) &&
		    cJSON_GetObjectItemCaseSensitive(part, name) == NULL) {
			int secret = aero_env_is_secret(name);
			if (!secret) { /* HF_ENDPOINT=https://user:password@host */
				char *clean = aero_url_without_credentials(eq + 1);
				secret = clean == NULL ? -1 : strcmp(clean, eq + 1) != 0;
				free(clean);
			}
			rc = secret < 0   ? aero_error_set("out of memory")
			     : secret > 0 ? add_redacted(part, name, eq + 1, ctx->salt)
			                  : aero_json_add_string(part, name, eq + 1);
		}
		free(name);
		if (rc < 0)
			return -1;
	}
	return 0;
}
