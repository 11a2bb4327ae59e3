/* Secrets in values the experiment sends (config, summary): keys that name a
 * secret have their values replaced before anything is written or sent. */
#ifndef AERO_REDACT_H
#define AERO_REDACT_H

#include <cjson/cJSON.h>
#include <stdbool.h>

/* What a secret's value becomes. */
#define AERO_REDACTED "<redacted>"

/* Whether key names a secret: one of its words (split at punctuation and
 * camelCase) is password, passwd, secret, token, credential(s) or apikey, or
 * two neighbours are api/access/private/secret/auth + key or auth + token.
 * "max_tokens" and "key_dim" are not secrets. */
bool aero_key_is_secret(const char *key);

/* Replaces, at any depth of item, the value of every member whose key names a
 * secret with AERO_REDACTED. How many were replaced, or -1 when out of memory. */
int aero_json_redact_secrets(cJSON *item);

/* How much of a command-line argument an error message may show, for "%.*s":
 * an option up to its '=', whose value may be a secret (--api-key=...). */
int aero_arg_shown(const char *arg);

/* A copy of url without the credentials it may carry: the userinfo of a
 * scheme://user:password@host URL (all of it, since a token may stand as the
 * user name), except ssh's user name without a password. Other strings are
 * copied as they are. malloc'd; NULL when out of memory. */
char *aero_url_without_credentials(const char *url);

#endif
