/* The few fields the s3:// backend reads from S3's XML answers. Not an XML
 * parser: S3's answers are flat, machine-written documents whose element
 * text is escaped, so finding <Name>...</Name> and unescaping is enough. */
#ifndef AERO_STORE_S3_XML_H
#define AERO_STORE_S3_XML_H

#include <stddef.h>

/* An element's raw (still escaped) content inside a document. */
struct aero_s3_xml_span {
	const char *text;
	size_t len;
};

/* Finds the first <name>...</name> (or <name .../>, or <name/>) at or after
 * from in [from, end); fills *content and returns a pointer just past the
 * element, or NULL when there is none. */
const char *aero_s3_xml_find(const char *from, const char *end, const char *name,
                             struct aero_s3_xml_span *content);

/* The unescaped text of span (&amp; &lt; &gt; &quot; &apos; &#N; &#xH;),
 * malloc'd and NUL-terminated; NULL when out of memory. An unknown or broken
 * entity is kept as it is. */
char *aero_s3_xml_unescape(const struct aero_s3_xml_span *span);

/* The unescaped text of the first <name> in [from, end), malloc'd; NULL when
 * it is missing or memory runs out. */
char *aero_s3_xml_text(const char *from, const char *end, const char *name);

#endif
