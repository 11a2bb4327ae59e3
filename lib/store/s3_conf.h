/* The s3:// backend's settings: the bucket and prefix from the URL, and the
 * endpoint, region, credentials, TLS and transfer sizes from the environment
 * (AWS_* as the AWS CLI reads them, AERO_S3_* for Aeromancy's own). */
#ifndef AERO_STORE_S3_CONF_H
#define AERO_STORE_S3_CONF_H

#include <stdbool.h>
#include <stdint.h>

struct aero_s3_conf {
	char *bucket;
	char *prefix;         /* "" or "dir/" (always ending in '/'): put before every key */
	char *endpoint;       /* "scheme://host[:port][/path]" without a trailing '/' */
	bool path_style;      /* {endpoint}/{bucket}/{key}; else {bucket}.{endpoint host}/{key} */
	bool custom_endpoint; /* set by AWS_ENDPOINT_URL(_S3), not built from the region */
	char *base;           /* what keys follow: "{endpoint}/{bucket}", or for a virtual-hosted
	                       * bucket "https://{bucket}.s3.{region}.amazonaws.com" */
	char *region;
	char *sigv4; /* "aws:amz:REGION:s3" for CURLOPT_AWS_SIGV4 */
	char *access_key;
	char *secret_key;
	char *session_token; /* NULL when there is none */
	char *ca_file;       /* SSL_CERT_FILE / CURL_CA_BUNDLE or a common bundle; may be NULL */
	char *ca_dir;        /* SSL_CERT_DIR; may be NULL */
	uint64_t multipart_threshold; /* put_fd uploads in parts from this size on */
	uint64_t part_size;           /* the smallest part (and range of a parallel get) */
	unsigned concurrency;         /* parts or ranges in flight at once */
	unsigned max_keys;            /* keys per ListObjectsV2 page */
};

/* Fills *conf from url ("s3://bucket[/prefix]") and the environment. Returns an
 * aero_store_status; DENIED when no credentials are found (the message names
 * the variables to set). */
int aero_s3_conf_load(struct aero_s3_conf *conf, const char *url);

/* Frees what aero_s3_conf_load allocated. */
void aero_s3_conf_free(struct aero_s3_conf *conf);

/* Reads profile's keys from an AWS shared credentials file's text (INI):
 * aws_access_key_id, aws_secret_access_key, aws_session_token. Returns 1 when
 * the profile has both keys, 0 when it does not, -1 when out of memory. */
int aero_s3_conf_parse_credentials(const char *text, const char *profile,
                                   struct aero_s3_conf *conf);

/* a, b and c joined in a new string (keys, URLs, headers); NULL when out of
 * memory. */
char *aero_s3_concat(const char *a, const char *b, const char *c);

#endif
