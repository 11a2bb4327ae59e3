/* The s3:// backend's settings. Secrets are kept in memory only and never
 * appear in a message. */
#include "s3_conf.h"

#include "error.h"
#include "file.h"
#include "parse.h"
#include "runsdir.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MIB (1024ULL * 1024ULL)
#define GIB (1024ULL * MIB)
/* The credentials file is a few lines; anything bigger is not one. */
#define CREDENTIALS_MAX (1u << 20)

/* CA bundles of the common distributions, for a static binary in an image
 * whose libcurl defaults do not fit (the same list as the tracker sinks'). */
static const char *const ca_files[] = {
        "/etc/ssl/certs/ca-certificates.crt", /* Debian, Ubuntu, Alpine */
        "/etc/pki/tls/certs/ca-bundle.crt",   /* Fedora, RHEL */
        "/etc/ssl/ca-bundle.pem",             /* openSUSE */
        "/etc/ssl/cert.pem",                  /* Alpine, macOS-like layouts */
        NULL,
};

static const char *env_value(const char *name)
{
	const char *value = getenv(name);
	return value != NULL && value[0] != '\0' ? value : NULL;
}

char *aero_s3_concat(const char *a, const char *b, const char *c)
{
	const size_t len = strlen(a) + strlen(b) + strlen(c) + 1;
	char *s = malloc(len);
	if (s != NULL)
		(void)snprintf(s, len, "%s%s%s", a, b, c);
	return s;
}

static int out_of_memory(void)
{
	aero_error_set("out of memory");
	return AERO_STORE_ERROR;
}

static bool bucket_is_valid(const char *bucket)
{
	const size_t len = strlen(bucket);
	return len >= 1 && len <= 255 &&
	       strspn(bucket,
	              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == len;
}

/* A bucket that can lead a TLS host name: lowercase letters, digits, '-'. */
static bool bucket_is_host_label(const char *bucket)
{
	const size_t len = strlen(bucket);
	return len >= 3 && len <= 63 &&
	       strspn(bucket, "abcdefghijklmnopqrstuvwxyz0123456789-") == len && bucket[0] != '-' &&
	       bucket[len - 1] != '-';
}

/* The same rule as file:// keys, so that a store can move between backends:
 * no empty, "." or ".." component. */
static bool prefix_is_valid(const char *prefix)
{
	for (const char *p = prefix; *p != '\0';) {
		const size_t len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += len;
		if (*p == '/')
			p++;
	}
	return true;
}

static int parse_url(struct aero_s3_conf *conf, const char *url)
{
	static const char scheme[] = "s3://";
	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0) {
		aero_error_set("'%s' is not an s3://BUCKET[/PREFIX] URL", url);
		return AERO_STORE_ERROR;
	}
	const char *rest = url + sizeof(scheme) - 1;
	const size_t bucket_len = strcspn(rest, "/");
	conf->bucket = strndup(rest, bucket_len);
	if (conf->bucket == NULL)
		return out_of_memory();
	if (!bucket_is_valid(conf->bucket)) {
		aero_error_set("'%s' has no valid bucket name (letters, digits, '.', '-'): "
		               "write s3://BUCKET[/PREFIX]",
		               url);
		return AERO_STORE_ERROR;
	}
	const char *prefix = rest + bucket_len;
	while (*prefix == '/')
		prefix++;
	size_t len = strlen(prefix);
	while (len > 0 && prefix[len - 1] == '/')
		len--;
	char *trimmed = strndup(prefix, len);
	if (trimmed == NULL)
		return out_of_memory();
	if (!prefix_is_valid(trimmed)) {
		aero_error_set("the prefix of '%s' has an empty, '.' or '..' component", url);
		free(trimmed);
		return AERO_STORE_ERROR;
	}
	conf->prefix = len > 0 ? aero_s3_concat(trimmed, "/", "") : strdup("");
	free(trimmed);
	return conf->prefix != NULL ? AERO_STORE_OK : out_of_memory();
}

static int load_endpoint(struct aero_s3_conf *conf)
{
	const char *region = env_value("AWS_REGION");
	if (region == NULL)
		region = env_value("AWS_DEFAULT_REGION");
	if (region == NULL)
		region = "us-east-1";
	const size_t region_len = strlen(region);
	/* The region becomes part of a host name and of the signature's scope. */
	if (region_len > 64 ||
	    strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != region_len) {
		aero_error_set("AWS_REGION '%s' is not a region name such as us-east-1", region);
		return AERO_STORE_ERROR;
	}
	conf->region = strdup(region);
	conf->sigv4 = aero_s3_concat("aws:amz:", region, ":s3");
	if (conf->region == NULL || conf->sigv4 == NULL)
		return out_of_memory();

	const char *name = "AWS_ENDPOINT_URL_S3";
	const char *endpoint = env_value(name);
	if (endpoint == NULL)
		endpoint = env_value(name = "AWS_ENDPOINT_URL");
	if (endpoint != NULL) {
		if (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0) {
			aero_error_set("%s '%s' is not an http:// or https:// URL", name, endpoint);
			return AERO_STORE_ERROR;
		}
		size_t len = strlen(endpoint);
		while (len > 0 && endpoint[len - 1] == '/')
			len--;
		conf->endpoint = strndup(endpoint, len);
		conf->path_style = true;
		conf->custom_endpoint = true;
	} else {
		conf->endpoint = aero_s3_concat("https://s3.", region, ".amazonaws.com");
		/* Dots or capitals do not fit the certificate's wildcard. */
		conf->path_style = !bucket_is_host_label(conf->bucket);
	}
	if (conf->endpoint == NULL)
		return out_of_memory();
	if (conf->path_style) {
		conf->base = aero_s3_concat(conf->endpoint, "/", conf->bucket);
	} else {
		char *host = aero_s3_concat(conf->bucket, ".s3.", region);
		conf->base =
		        host != NULL ? aero_s3_concat("https://", host, ".amazonaws.com") : NULL;
		free(host);
	}
	return conf->base != NULL ? AERO_STORE_OK : out_of_memory();
}

/* Trims blanks at both ends of [*start, *start + *len). */
static void trim(const char **start, size_t *len)
{
	while (*len > 0 && (**start == ' ' || **start == '\t')) {
		(*start)++;
		(*len)--;
	}
	while (*len > 0 && ((*start)[*len - 1] == ' ' || (*start)[*len - 1] == '\t' ||
	                    (*start)[*len - 1] == '\r'))
		(*len)--;
}

static bool section_is(const char *line, size_t len, const char *profile)
{
	if (len < 2 || line[0] != '[' || line[len - 1] != ']')
		return false;
	const char *name = line + 1;
	size_t name_len = len - 2;
	trim(&name, &name_len);
	/* ~/.aws/config writes "[profile NAME]"; accept it here too. */
	if (name_len > 8 && strncmp(name, "profile ", 8) == 0) {
		name += 8;
		name_len -= 8;
		trim(&name, &name_len);
	}
	return name_len == strlen(profile) && strncmp(name, profile, name_len) == 0;
}

static int set_field(char **field, const char *value, size_t len)
{
	free(*field);
	*field = strndup(value, len);
	return *field != NULL ? 0 : -1;
}

int aero_s3_conf_parse_credentials(const char *text, const char *profile, struct aero_s3_conf *conf)
{
	static const char *const names[] = {"aws_access_key_id", "aws_secret_access_key",
	                                    "aws_session_token"};
	char **const fields[] = {&conf->access_key, &conf->secret_key, &conf->session_token};
	bool in_profile = false;
	for (const char *line = text; *line != '\0';) {
		size_t len = strcspn(line, "\n");
		const char *next = line + len + (line[len] == '\n' ? 1 : 0);
		trim(&line, &len);
		if (len > 0 && line[0] == '[') {
			in_profile = section_is(line, len, profile);
		} else if (in_profile && len > 0 && line[0] != '#' && line[0] != ';') {
			const char *eq = memchr(line, '=', len);
			if (eq != NULL) {
				const char *name = line;
				size_t name_len = (size_t)(eq - line);
				const char *value = eq + 1;
				size_t value_len = len - name_len - 1;
				trim(&name, &name_len);
				trim(&value, &value_len);
				for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
					if (name_len == strlen(names[i]) &&
					    strncasecmp(name, names[i], name_len) == 0 &&
					    set_field(fields[i], value, value_len) < 0)
						return -1;
			}
		}
		line = next;
	}
	return conf->access_key != NULL && conf->access_key[0] != '\0' &&
	       conf->secret_key != NULL && conf->secret_key[0] != '\0';
}

static int no_credentials(const char *why)
{
	aero_error_set("no S3 credentials%s: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
	               "(and AWS_SESSION_TOKEN for temporary ones), or write them into "
	               "~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE) under [default] or "
	               "the profile named by AWS_PROFILE",
	               why);
	return AERO_STORE_DENIED;
}

static int load_credentials_file(struct aero_s3_conf *conf)
{
	const char *profile = env_value("AWS_PROFILE");
	const char *path = env_value("AWS_SHARED_CREDENTIALS_FILE");
	char *own_path = NULL;
	if (path == NULL) {
		const char *home = env_value("HOME");
		if (home == NULL)
			return no_credentials(" (AWS_* unset and no HOME for ~/.aws/credentials)");
		path = own_path = aero_path_join(home, ".aws/credentials");
		if (own_path == NULL)
			return out_of_memory();
	}
	if (access(path, R_OK) != 0) {
		const bool missing = errno == ENOENT;
		free(own_path);
		return no_credentials(missing ? " (AWS_* unset, no credentials file)"
		                              : " (AWS_* unset, credentials file unreadable)");
	}
	char *text = aero_file_read(path, CREDENTIALS_MAX, NULL);
	if (text == NULL) {
		free(own_path);
		return AERO_STORE_ERROR;
	}
	const int found =
	        aero_s3_conf_parse_credentials(text, profile != NULL ? profile : "default", conf);
	free(text);
	int rc = AERO_STORE_OK;
	if (found < 0) {
		rc = out_of_memory();
	} else if (found == 0) {
		aero_error_set(
		        "no S3 credentials: %s has no profile [%s] with aws_access_key_id and "
		        "aws_secret_access_key; add them there, set AWS_PROFILE to a profile "
		        "that has them, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
		        path, profile != NULL ? profile : "default");
		rc = AERO_STORE_DENIED;
	}
	free(own_path);
	return rc;
}

static int load_credentials(struct aero_s3_conf *conf)
{
	const char *id = env_value("AWS_ACCESS_KEY_ID");
	const char *secret = env_value("AWS_SECRET_ACCESS_KEY");
	if (id == NULL && secret == NULL)
		return load_credentials_file(conf);
	if (id == NULL || secret == NULL) {
		aero_error_set("%s is set but %s is not: set both (or neither, to use "
		               "~/.aws/credentials)",
		               id != NULL ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
		               id != NULL ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		return AERO_STORE_DENIED;
	}
	const char *token = env_value("AWS_SESSION_TOKEN");
	conf->access_key = strdup(id);
	conf->secret_key = strdup(secret);
	if (token != NULL)
		conf->session_token = strdup(token);
	if (conf->access_key == NULL || conf->secret_key == NULL ||
	    (token != NULL && conf->session_token == NULL))
		return out_of_memory();
	return AERO_STORE_OK;
}

static int load_tls(struct aero_s3_conf *conf)
{
	const char *file = env_value("SSL_CERT_FILE");
	if (file == NULL)
		file = env_value("CURL_CA_BUNDLE");
	const char *dir = env_value("SSL_CERT_DIR");
	for (size_t i = 0; file == NULL && dir == NULL && ca_files[i] != NULL; i++)
		if (access(ca_files[i], R_OK) == 0)
			file = ca_files[i];
	if ((file != NULL && (conf->ca_file = strdup(file)) == NULL) ||
	    (dir != NULL && (conf->ca_dir = strdup(dir)) == NULL))
		return out_of_memory();
	return AERO_STORE_OK;
}

static int env_size(const char *name, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *text = env_value(name);
	long value;
	if (text == NULL)
		return AERO_STORE_OK;
	if (aero_parse_int(text, (long)min, (long)max, &value) < 0) {
		aero_error_set("%s: '%s' is not a whole number from %llu to %llu", name, text,
		               (unsigned long long)min, (unsigned long long)max);
		return AERO_STORE_ERROR;
	}
	*out = (uint64_t)value;
	return AERO_STORE_OK;
}

static int load_sizes(struct aero_s3_conf *conf)
{
	uint64_t concurrency = 8, max_keys = 1000;
	conf->multipart_threshold = 64 * MIB;
	conf->part_size = 8 * MIB;
	int rc = env_size("AERO_S3_MULTIPART_THRESHOLD", 1, 5 * GIB, &conf->multipart_threshold);
	if (rc == AERO_STORE_OK)
		rc = env_size("AERO_S3_PART_SIZE", 1, 5 * GIB, &conf->part_size);
	if (rc == AERO_STORE_OK)
		rc = env_size("AERO_S3_CONCURRENCY", 1, 64, &concurrency);
	if (rc == AERO_STORE_OK)
		rc = env_size("AERO_S3_MAX_KEYS", 1, 1000, &max_keys);
	conf->concurrency = (unsigned)concurrency;
	conf->max_keys = (unsigned)max_keys;
	return rc;
}

int aero_s3_conf_load(struct aero_s3_conf *conf, const char *url)
{
	memset(conf, 0, sizeof(*conf));
	int rc = parse_url(conf, url);
	if (rc == AERO_STORE_OK)
		rc = load_endpoint(conf);
	if (rc == AERO_STORE_OK)
		rc = load_sizes(conf);
	if (rc == AERO_STORE_OK)
		rc = load_tls(conf);
	if (rc == AERO_STORE_OK)
		rc = load_credentials(conf);
	return rc;
}

void aero_s3_conf_free(struct aero_s3_conf *conf)
{
	free(conf->bucket);
	free(conf->prefix);
	free(conf->endpoint);
	free(conf->base);
	free(conf->region);
	free(conf->sigv4);
	free(conf->access_key);
	if (conf->secret_key != NULL)
		explicit_bzero(conf->secret_key, strlen(conf->secret_key));
	free(conf->secret_key);
	free(conf->session_token);
	free(conf->ca_file);
	free(conf->ca_dir);
	memset(conf, 0, sizeof(*conf));
}
