/* run: who ran what, where and when. Arguments that look like secrets
 * (--api-key=..., --password VALUE) are redacted. */
#include "clock.h"
#include "error.h"
#include "files.h"
#include "hex.h"
#include "probes.h"
#include "sinkutil.h"
#include "userdb.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <unistd.h>

#define REDACTED "<redacted>"

/* "--api-key=x" -> the part before '=' names a secret. */
static bool option_is_secret(const char *arg, size_t len)
{
	if (arg[0] != '-')
		return false;
	char *name = strndup(arg, len);
	const bool secret = name == NULL || aero_env_is_secret(name); /* unsure: redact */
	free(name);
	return secret;
}

static int add_command(const struct aero_capture_ctx *ctx, cJSON *part)
{
	cJSON *argv = aero_json_add_array(part, "argv");
	if (argv == NULL)
		return -1;
	bool redact_next = false;
	for (char *const *a = ctx->command; *a != NULL; a++) {
		const char *eq = strchr(*a, '=');
		char *text = NULL;
		if (redact_next) {
			text = strdup(REDACTED);
			redact_next = false;
		} else if (eq != NULL && option_is_secret(*a, (size_t)(eq - *a))) {
			const size_t len = (size_t)(eq - *a) + sizeof(REDACTED) + 1;
			text = malloc(len);
			if (text != NULL)
				(void)snprintf(text, len, "%.*s=%s", (int)(eq - *a), *a, REDACTED);
		} else {
			redact_next = eq == NULL && option_is_secret(*a, strlen(*a));
			text = strdup(*a);
		}
		const int rc = aero_json_append_string(argv, text);
		free(text);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The user's name from the tree's /etc/passwd, without NSS. */
static char *user_name(const struct aero_capture_ctx *ctx, uid_t uid)
{
	char *passwd = aero_root_read(ctx, "/etc/passwd", (size_t)16 * 1024 * 1024, NULL);
	struct aero_passwd_entry entry;
	char *found = NULL;
	if (passwd != NULL && aero_passwd_find(passwd, NULL, uid, &entry) == 1) {
		found = entry.name;
		entry.name = NULL;
		aero_passwd_entry_free(&entry);
	}
	free(passwd);
	return found;
}

/* The trackers whose server's certificate is not checked, by the user's
 * explicit choice: recorded, so that no one takes the run's delivery for
 * verified. Absent when TLS is verified everywhere (the default). */
static int add_tls_unverified(cJSON *part)
{
	if (!aero_sink_mlflow_insecure_tls())
		return 0;
	cJSON *list = aero_json_add_array(part, "tls_unverified");
	cJSON *name = list != NULL ? cJSON_CreateString("mlflow") : NULL;
	if (name == NULL || !cJSON_AddItemToArray(list, name)) {
		cJSON_Delete(name);
		return -1;
	}
	return 0;
}

int aero_probe_run(const struct aero_capture_ctx *ctx, cJSON *part)
{
	unsigned char id[16];
	char hex[2 * sizeof(id) + 1] = "";
	if (ctx->run_id == NULL) {
		if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
			return aero_error_set("no random bytes for the run id");
		aero_hex_encode(id, sizeof(id), hex);
	}

	char when[AERO_UTC_SIZE];
	aero_clock_utc_now(when);

	struct utsname u;
	char *cwd = getcwd(NULL, 0);
	char *user = user_name(ctx, getuid());
	int rc = 0;
	if (aero_json_add_string(part, "id", ctx->run_id != NULL ? ctx->run_id : hex) < 0 ||
	    aero_json_add_string(part, "start_time", when) < 0 ||
	    aero_json_add_string(part, "cwd", cwd != NULL ? cwd : "") < 0 ||
	    aero_json_add_number(part, "uid", getuid()) < 0 ||
	    aero_json_add_number(part, "gid", getgid()) < 0 ||
	    (user != NULL && aero_json_add_string(part, "user", user) < 0) ||
	    (uname(&u) == 0 && aero_json_add_string(part, "hostname", u.nodename) < 0) ||
	    (ctx->command != NULL && add_command(ctx, part) < 0) || add_tls_unverified(part) < 0)
		rc = -1;
	free(cwd);
	free(user);
	return rc;
}
