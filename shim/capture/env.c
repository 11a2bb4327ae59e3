/* env: the variables that change results (an allow-list, plus those the user
 * names), never the whole environment. A variable whose name looks like a
 * secret is recorded as redacted, with a salted SHA-256 of its value. */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <fnmatch.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* Patterns (fnmatch) of the variables recorded by default. */
static const char *const allowed[] = {
        "LD_*",
        "PATH",
        "PYTHON*",
        "CUDA*",
        "NVIDIA*",
        "OMP_*",
        "MKL_*",
        "OPENBLAS_*",
        "*_NUM_THREADS",
        "XLA_FLAGS",
        "TF_*",
        "NCCL_*",
        "CUBLAS_*",
        "CUDNN_*",
        "TORCH*",
        "PYTORCH_*",
        "JAX_*",
        "KMP_*",
        "GOMP_*",
        "ONEDNN_*",
        "DNNL_*",
        "ATEN_*",
        "NPY_*",
        "PL_*",
        "FLASH_ATTENTION_*",
        "HF_*",
        "TRANSFORMERS_*",
        "TOKENIZERS_*",
        "AERO_*",
        "LANG",
        "LC_*",
        "TZ",
        "CONDA_*",
        "VIRTUAL_ENV",
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
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	const int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	               EVP_DigestUpdate(md, salt, strlen(salt)) && EVP_DigestUpdate(md, ":", 1) &&
	               EVP_DigestUpdate(md, value, strlen(value)) &&
	               EVP_DigestFinal_ex(md, digest, &len);
	EVP_MD_CTX_free(md);
	if (!ok || len != 32)
		return aero_error_set("SHA-256 failed");
	char hex[65];
	for (size_t i = 0; i < 32; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", digest[i]);
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
		if (is_recorded(name, ctx) && cJSON_GetObjectItemCaseSensitive(part, name) == NULL)
			rc = aero_env_is_secret(name) ? add_redacted(part, name, eq + 1, ctx->salt)
			                              : aero_json_add_string(part, name, eq + 1);
		free(name);
		if (rc < 0)
			return -1;
	}
	return 0;
}
