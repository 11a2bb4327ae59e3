/* S3's XML answers as the s3:// backend reads them (lib/store/s3_xml.c): the
 * listing's <Contents> with <Key> and <Size>, <IsTruncated> and the
 * continuation token, <UploadId>, and an <Error>'s <Code> and <Message>.
 * Every span found lies inside the answer, and unescaping never grows it. */
#include "s3_xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_span(const char *body, const char *end, const char *after,
                       const struct aero_s3_xml_span *span)
{
	if (after <= body || after > end || span->text < body || span->text + span->len > end)
		abort();
	char *text = aero_s3_xml_unescape(span);
	if (text == NULL || strlen(text) > span->len)
		abort();
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* As an answer's body arrives: len bytes and a NUL after them. */
	char *body = malloc(size + 1);
	if (body == NULL)
		abort();
	memcpy(body, data, size);
	body[size] = '\0';
	const char *end = body + size;
	struct aero_s3_xml_span contents;
	const char *p = body;
	while ((p = aero_s3_xml_find(p, end, "Contents", &contents)) != NULL) {
		check_span(body, end, p, &contents);
		const char *c_end = contents.text + contents.len;
		free(aero_s3_xml_text(contents.text, c_end, "Key"));
		free(aero_s3_xml_text(contents.text, c_end, "Size"));
	}
	static const char *const names[] = {
	        "IsTruncated", "NextContinuationToken", "UploadId", "Code", "Message", "ETag"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		free(aero_s3_xml_text(body, end, names[i]));
	struct aero_s3_xml_span error;
	const char *after = aero_s3_xml_find(body, end, "Error", &error);
	if (after != NULL)
		check_span(body, end, after, &error);
	free(body);
	return 0;
}
