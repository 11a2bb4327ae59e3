/* What a failed S3 request means for the user: a store status and a sentence
 * that names the setting to check. Secrets never appear in it. */
#include "error.h"
#include "s3_http.h"
#include "s3_xml.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *aero_s3_error_code(const struct aero_s3_response *res)
{
	if (res->body == NULL)
		return NULL;
	return aero_s3_xml_text(res->body, res->body + res->len, "Code");
}

static const char *or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* No answer came: the endpoint, TLS, or the local file is to blame. */
static int fail_unanswered(const struct aero_s3 *s3, const struct aero_s3_request *req,
                           const struct aero_s3_response *res, const char *where)
{
	if (res->io_error != 0) {
		aero_error_set("%s %s: local file: %s", req->method, where,
		               strerror(res->io_error));
		return AERO_STORE_ERROR;
	}
	if (res->too_big) {
		aero_error_set("%s %s: the answer is larger than this call takes", req->method,
		               where);
		return AERO_STORE_ERROR;
	}
	switch (res->result) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
		aero_error_set("cannot reach the S3 endpoint %s: %s; check AWS_ENDPOINT_URL_S3 / "
		               "AWS_ENDPOINT_URL (or AWS_REGION) and that the server is up",
		               s3->conf.endpoint, res->curl_error);
		return AERO_STORE_ERROR;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
		aero_error_set("TLS with the S3 endpoint %s failed: %s; set SSL_CERT_FILE (or "
		               "SSL_CERT_DIR) to the CA certificates that signed its certificate",
		               s3->conf.endpoint, res->curl_error);
		return AERO_STORE_ERROR;
	default:
		aero_error_set("%s %s at %s failed: %s", req->method, where, s3->conf.endpoint,
		               res->curl_error);
		return AERO_STORE_ERROR;
	}
}

static int fail_denied(const struct aero_s3 *s3, const struct aero_s3_request *req,
                       const char *code, const char *where)
{
	if (strcmp(code, "InvalidAccessKeyId") == 0)
		aero_error_set("S3 at %s does not know the access key (InvalidAccessKeyId): check "
		               "AWS_ACCESS_KEY_ID (or the profile's aws_access_key_id) and that "
		               "the endpoint is the right one",
		               s3->conf.endpoint);
	else if (strcmp(code, "SignatureDoesNotMatch") == 0)
		aero_error_set(
		        "S3 refused the request's signature (SignatureDoesNotMatch): check "
		        "that AWS_SECRET_ACCESS_KEY (or the profile's aws_secret_access_key) "
		        "belongs to the access key, and AWS_REGION");
	else if (strcmp(code, "InvalidToken") == 0 || strcmp(code, "ExpiredToken") == 0 ||
	         strcmp(code, "TokenRefreshRequired") == 0)
		aero_error_set("S3 refused the session token (%s): temporary credentials expire; "
		               "set AWS_SESSION_TOKEN with the matching AWS_ACCESS_KEY_ID and "
		               "AWS_SECRET_ACCESS_KEY, or unset it for long-term keys",
		               code);
	else if (strcmp(code, "RequestTimeTooSkewed") == 0)
		aero_error_set("S3 refused the request's time (RequestTimeTooSkewed): this "
		               "machine's clock is more than 15 minutes off; set it right (NTP)");
	else if (code[0] == '\0')
		aero_error_set(
		        "S3 refused %s %s (403, no reason given to a HEAD): check "
		        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and the "
		        "permissions on bucket %s",
		        req->method, where, s3->conf.bucket);
	else
		aero_error_set("S3 denied %s %s (%s): the credentials lack permission; check the "
		               "IAM policy of AWS_ACCESS_KEY_ID's user or role and the policy of "
		               "bucket %s",
		               req->method, where, code, s3->conf.bucket);
	return AERO_STORE_DENIED;
}

/* Codes about the credentials, whatever the status (S3 answers 400 to a bad
 * session token). */
static bool is_credential_code(const char *code)
{
	static const char *const codes[] = {"InvalidAccessKeyId",   "SignatureDoesNotMatch",
	                                    "InvalidToken",         "ExpiredToken",
	                                    "TokenRefreshRequired", "AccessDenied"};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(code, codes[i]) == 0)
			return true;
	return false;
}

int aero_s3_fail(const struct aero_s3 *s3, const struct aero_s3_request *req,
                 const struct aero_s3_response *res)
{
	const size_t len =
	        strlen(s3->conf.bucket) + strlen(s3->conf.prefix) + strlen(or_empty(req->key)) + 8;
	char *where = malloc(len);
	if (where == NULL) {
		aero_error_set("out of memory");
		return AERO_STORE_ERROR;
	}
	(void)snprintf(where, len, "s3://%s/%s%s", s3->conf.bucket,
	               req->key != NULL ? s3->conf.prefix : "", or_empty(req->key));
	char *code = aero_s3_error_code(res);
	char *message = res->body != NULL
	                        ? aero_s3_xml_text(res->body, res->body + res->len, "Message")
	                        : NULL;
	const char *c = or_empty(code);
	int rc = AERO_STORE_ERROR;
	if (res->status == 0) {
		rc = fail_unanswered(s3, req, res, where);
	} else if (strcmp(c, "NoSuchBucket") == 0) {
		const bool custom = s3->conf.custom_endpoint;
		aero_error_set(
		        "bucket '%s' does not exist at %s; create it with: aws%s%s s3 mb s3://%s",
		        s3->conf.bucket, s3->conf.endpoint, custom ? " --endpoint-url " : "",
		        custom ? s3->conf.endpoint : "", s3->conf.bucket);
		rc = AERO_STORE_NO_BUCKET;
	} else if (res->status == 404 && (c[0] == '\0' || strcmp(c, "NoSuchKey") == 0)) {
		aero_error_set("%s: no such object", where);
		rc = AERO_STORE_NOT_FOUND;
	} else if (res->bucket_region[0] != '\0' &&
	           strcmp(res->bucket_region, s3->conf.region) != 0) {
		aero_error_set("bucket '%s' is in region %s, not %s: set AWS_REGION=%s",
		               s3->conf.bucket, res->bucket_region, s3->conf.region,
		               res->bucket_region);
	} else if (res->status == 401 || res->status == 403 || is_credential_code(c)) {
		rc = fail_denied(s3, req, c, where);
	} else {
		aero_error_set("%s %s: S3 answered %ld%s%s%s%s", req->method, where, res->status,
		               c[0] != '\0' ? " " : "", c, message != NULL ? ": " : "",
		               or_empty(message));
	}
	free(code);
	free(message);
	free(where);
	return rc;
}
