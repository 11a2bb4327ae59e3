/* Unit tests: the s3:// backend's parsers of outside input (S3's XML answers,
 * the credentials file, URLs and settings), its URL escaping and where an
 * exists listing starts. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "error.h"
#include "s3_conf.h"
#include "s3_http.h"
#include "s3_ops.h"
#include "s3_xml.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

static char *text_of(const char *xml, const char *name)
{
	return aero_s3_xml_text(xml, xml + strlen(xml), name);
}

static void test_xml_fields(void **state)
{
	(void)state;
	const char *xml = "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3\">"
	                  "<Name>b</Name><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
	                  "<Contents><Key>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;</Key>"
	                  "<Size>12</Size></Contents>"
	                  "<Contents><Key>&#x65e5;&#26412;&#1;&bogus;&amp</Key><Size>0</Size>"
	                  "</Contents><NextContinuationToken>t/+=</NextContinuationToken>"
	                  "<Empty/><EmptyToo attr=\"1\"/></ListBucketResult>";
	char *s = text_of(xml, "IsTruncated");
	assert_string_equal(s, "true");
	free(s);
	/* <Key> does not match <KeyCount>. */
	s = text_of(xml, "Key");
	assert_string_equal(s, "a & b <c> \"d\" 'e'");
	free(s);
	s = text_of(xml, "NextContinuationToken");
	assert_string_equal(s, "t/+=");
	free(s);
	s = text_of(xml, "Empty");
	assert_string_equal(s, "");
	free(s);
	s = text_of(xml, "EmptyToo");
	assert_string_equal(s, "");
	free(s);
	assert_null(text_of(xml, "Missing"));

	const char *end = xml + strlen(xml);
	struct aero_s3_xml_span span;
	const char *p = aero_s3_xml_find(xml, end, "Contents", &span);
	assert_non_null(p);
	p = aero_s3_xml_find(p, end, "Contents", &span);
	assert_non_null(p);
	s = aero_s3_xml_text(span.text, span.text + span.len, "Key");
	/* Numeric references decode to UTF-8; unknown, broken and NUL-less
	 * control references are kept as written. */
	assert_string_equal(s, "\xe6\x97\xa5\xe6\x9c\xac\x01&bogus;&amp");
	free(s);
	assert_null(aero_s3_xml_find(p, end, "Contents", &span));
}

static void test_xml_broken(void **state)
{
	(void)state;
	const char *cases[] = {"<Key>never closed",
	                       "<Key",
	                       "<",
	                       "",
	                       "</Key>",
	                       "<Key>&#0;</Key>",
	                       "<Key>&#x110000;</Key>",
	                       "<Key>&#xD800;</Key>"};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = text_of(cases[i], "Key");
		if (s != NULL)
			assert_non_null(strstr(s, "&#")); /* kept, not decoded to nothing */
		free(s);
	}
	char *s = text_of("<Error><Code>NoSuchKey</Code><Message>m</Message></Error>", "Code");
	assert_string_equal(s, "NoSuchKey");
	free(s);
}

static void test_escape(void **state)
{
	(void)state;
	char *s = aero_s3_escape("a b+c=d%e~f/g\xc3\xbc-_.", true);
	assert_string_equal(s, "a%20b%2Bc%3Dd%25e~f/g%C3%BC-_.");
	free(s);
	s = aero_s3_escape("dir/x y", false);
	assert_string_equal(s, "dir%2Fx%20y");
	free(s);
	s = aero_s3_escape("", false);
	assert_string_equal(s, "");
	free(s);
}

static void test_credentials_file(void **state)
{
	(void)state;
	const char *text = "# comment\n[default]\naws_access_key_id = AKIADEFAULT\n"
	                   "aws_secret_access_key=secret-default\n\n"
	                   "[profile work]\r\n  AWS_ACCESS_KEY_ID = AKIAWORK  \r\n"
	                   "aws_secret_access_key = s=e=c\r\naws_session_token = tok\r\n"
	                   "[half]\naws_access_key_id = x\n";
	struct aero_s3_conf conf;
	memset(&conf, 0, sizeof(conf));
	assert_int_equal(aero_s3_conf_parse_credentials(text, "default", &conf), 1);
	assert_string_equal(conf.access_key, "AKIADEFAULT");
	assert_string_equal(conf.secret_key, "secret-default");
	assert_null(conf.session_token);
	aero_s3_conf_free(&conf);
	assert_int_equal(aero_s3_conf_parse_credentials(text, "work", &conf), 1);
	assert_string_equal(conf.access_key, "AKIAWORK");
	assert_string_equal(conf.secret_key, "s=e=c");
	assert_string_equal(conf.session_token, "tok");
	aero_s3_conf_free(&conf);
	assert_int_equal(aero_s3_conf_parse_credentials(text, "half", &conf), 0);
	aero_s3_conf_free(&conf);
	assert_int_equal(aero_s3_conf_parse_credentials(text, "nosuch", &conf), 0);
	aero_s3_conf_free(&conf);
	assert_int_equal(aero_s3_conf_parse_credentials("", "default", &conf), 0);
	aero_s3_conf_free(&conf);
}

static void clear_env(void)
{
	const char *names[] = {"AWS_ENDPOINT_URL",
	                       "AWS_ENDPOINT_URL_S3",
	                       "AWS_REGION",
	                       "AWS_DEFAULT_REGION",
	                       "AWS_SESSION_TOKEN",
	                       "AWS_PROFILE",
	                       "AWS_SHARED_CREDENTIALS_FILE",
	                       "AERO_S3_MULTIPART_THRESHOLD",
	                       "AERO_S3_PART_SIZE",
	                       "AERO_S3_CONCURRENCY",
	                       "AERO_S3_MAX_KEYS"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unsetenv(names[i]);
	setenv("AWS_ACCESS_KEY_ID", "AKIATEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
}

static void test_conf_urls(void **state)
{
	(void)state;
	clear_env();
	struct aero_s3_conf conf;
	assert_int_equal(aero_s3_conf_load(&conf, "s3://my-bucket//runs/x//"), AERO_STORE_OK);
	assert_string_equal(conf.bucket, "my-bucket");
	assert_string_equal(conf.prefix, "runs/x/");
	assert_string_equal(conf.region, "us-east-1");
	assert_string_equal(conf.sigv4, "aws:amz:us-east-1:s3");
	assert_string_equal(conf.endpoint, "https://s3.us-east-1.amazonaws.com");
	assert_false(conf.path_style);
	assert_string_equal(conf.base, "https://my-bucket.s3.us-east-1.amazonaws.com");
	assert_int_equal(conf.multipart_threshold, 64u << 20);
	assert_int_equal(conf.part_size, 8u << 20);
	assert_int_equal(conf.concurrency, 8);
	assert_int_equal(conf.max_keys, 1000);
	aero_s3_conf_free(&conf);

	setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
	assert_int_equal(aero_s3_conf_load(&conf, "s3://dotted.bucket"), AERO_STORE_OK);
	assert_string_equal(conf.prefix, "");
	assert_string_equal(conf.endpoint, "https://s3.eu-west-1.amazonaws.com");
	assert_true(conf.path_style); /* dots do not fit a wildcard certificate */
	assert_string_equal(conf.base, "https://s3.eu-west-1.amazonaws.com/dotted.bucket");
	aero_s3_conf_free(&conf);

	setenv("AWS_REGION", "ap-south-2", 1);
	setenv("AWS_ENDPOINT_URL", "http://elsewhere:1", 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000/", 1);
	assert_int_equal(aero_s3_conf_load(&conf, "s3://b/p"), AERO_STORE_OK);
	assert_string_equal(conf.region, "ap-south-2");
	assert_string_equal(conf.endpoint, "http://127.0.0.1:9000");
	assert_true(conf.path_style && conf.custom_endpoint);
	assert_string_equal(conf.base, "http://127.0.0.1:9000/b");
	aero_s3_conf_free(&conf);

	const char *bad[] = {"s3://",      "s3:///p",     "s3://b/../x",
	                     "s3://b/./x", "s3://b%2F/x", "file:///x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(aero_s3_conf_load(&conf, bad[i]), AERO_STORE_ERROR);
		aero_s3_conf_free(&conf);
	}
	clear_env();
}

static void test_conf_settings(void **state)
{
	(void)state;
	clear_env();
	struct aero_s3_conf conf;
	setenv("AERO_S3_PART_SIZE", "5242880", 1);
	setenv("AERO_S3_CONCURRENCY", "3", 1);
	assert_int_equal(aero_s3_conf_load(&conf, "s3://b"), AERO_STORE_OK);
	assert_int_equal(conf.part_size, 5242880);
	assert_int_equal(conf.concurrency, 3);
	aero_s3_conf_free(&conf);
	setenv("AERO_S3_CONCURRENCY", "0", 1);
	assert_int_equal(aero_s3_conf_load(&conf, "s3://b"), AERO_STORE_ERROR);
	assert_non_null(strstr(aero_error_last(), "AERO_S3_CONCURRENCY"));
	aero_s3_conf_free(&conf);
	unsetenv("AERO_S3_CONCURRENCY");
	setenv("AWS_REGION", "us-east-1.evil.com/", 1);
	assert_int_equal(aero_s3_conf_load(&conf, "s3://b"), AERO_STORE_ERROR);
	aero_s3_conf_free(&conf);
	clear_env();

	/* Credentials: half a pair is named; none at all names every way. */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	assert_int_equal(aero_s3_conf_load(&conf, "s3://b"), AERO_STORE_DENIED);
	assert_non_null(strstr(aero_error_last(), "AWS_SECRET_ACCESS_KEY is not"));
	aero_s3_conf_free(&conf);
	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	assert_int_equal(aero_s3_conf_load(&conf, "s3://b"), AERO_STORE_DENIED);
	assert_non_null(strstr(aero_error_last(), "AWS_ACCESS_KEY_ID"));
	aero_s3_conf_free(&conf);
	clear_env();
}

static void test_key_rule(void **state)
{
	(void)state;
	const char *good[] = {"a", "a/b", "objects/sha256/ab/cd", "a b+c=%~", "..a", "a.."};
	const char *bad[] = {"", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "../a"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(aero_s3_key_check(good[i]), AERO_STORE_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(aero_s3_key_check(bad[i]), AERO_STORE_ERROR);
}

static void test_start_after(void **state)
{
	(void)state;
	/* key less its last character, or after when that lies between. */
	const char *cases[][3] = {
	        {"objects/sha256/ab/cd", NULL, "objects/sha256/ab/c"},
	        {"a", NULL, ""},
	        {"k/100", "k/099", "k/10"},     /* after is below key less a character */
	        {"k/105", "k/103", "k/103"},    /* after is nearer */
	        {"k/105", "k/105", "k/10"},     /* after is not below key */
	        {"k/105", "k/2", "k/10"},       /* nor is this */
	        {"ключ/日本", NULL, "ключ/日"}, /* whole UTF-8 characters */
	        {"é", NULL, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = aero_s3_start_after(cases[i][0], cases[i][1]);
		assert_non_null(got);
		assert_string_equal(got, cases[i][2]);
		free(got);
	}
}

static void test_retryable(void **state)
{
	(void)state;
	struct aero_s3_response res = {.status = 0, .result = CURLE_COULDNT_CONNECT};
	assert_true(aero_s3_retryable(&res));
	res.result = CURLE_PEER_FAILED_VERIFICATION;
	assert_false(aero_s3_retryable(&res));
	const long yes[] = {408, 429, 500, 502, 503, 504};
	const long no[] = {200, 400, 403, 404, 409, 412, 416, 501};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		res.status = yes[i];
		assert_true(aero_s3_retryable(&res));
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		res.status = no[i];
		assert_false(aero_s3_retryable(&res));
	}
	res.status = 0;
	res.result = CURLE_OK;
	res.io_error = 5;
	assert_false(aero_s3_retryable(&res));
	for (unsigned tries = 0; tries < 10; tries++) {
		const long ms = aero_s3_backoff_ms(tries);
		assert_true(ms >= 50 && ms <= 6400);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_xml_fields),  cmocka_unit_test(test_xml_broken),
	        cmocka_unit_test(test_escape),      cmocka_unit_test(test_credentials_file),
	        cmocka_unit_test(test_conf_urls),   cmocka_unit_test(test_conf_settings),
	        cmocka_unit_test(test_key_rule),    cmocka_unit_test(test_retryable),
	        cmocka_unit_test(test_start_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
