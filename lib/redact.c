/* Secret keys, by words: substring rules ("KEY" anywhere) suit variable names
 * but would hide hyperparameters such as max_tokens or key_dim. */
#include "redact.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WORD_MAX 32

static const char *const secret_words[] = {"password",   "passwd",      "secret", "token",
                                           "credential", "credentials", "apikey", "passphrase"};
static const char *const key_prefixes[] = {"api", "access", "private", "secret", "auth", "signing"};

static bool in(const char *word, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(word, list[i]) == 0)
			return true;
	return false;
}

/* Copies the next word of key from *p into word (lowercase, truncated to
 * WORD_MAX - 1); false at the end. */
static bool next_word(const char **p, char word[WORD_MAX])
{
	const char *s = *p;
	while (*s != '\0' && !isalnum((unsigned char)*s))
		s++;
	if (*s == '\0')
		return false;
	size_t n = 0;
	do {
		if (n < WORD_MAX - 1)
			word[n++] = (char)tolower((unsigned char)*s);
		s++;
		/* A lowercase letter followed by an uppercase one ends a camelCase word. */
	} while (isalnum((unsigned char)*s) &&
	         !(isupper((unsigned char)*s) && islower((unsigned char)s[-1])));
	word[n] = '\0';
	*p = s;
	return true;
}

bool aero_key_is_secret(const char *key)
{
	char word[WORD_MAX], previous[WORD_MAX] = "";
	for (const char *p = key; next_word(&p, word);) {
		if (in(word, secret_words, sizeof(secret_words) / sizeof(secret_words[0])))
			return true;
		if ((strcmp(word, "key") == 0 &&
		     in(previous, key_prefixes, sizeof(key_prefixes) / sizeof(key_prefixes[0]))) ||
		    (strcmp(word, "token") == 0 && strcmp(previous, "auth") == 0))
			return true;
		memcpy(previous, word, sizeof(previous));
	}
	return false;
}

int aero_json_redact_secrets(cJSON *item)
{
	int count = 0;
	for (cJSON *child = item != NULL ? item->child : NULL; child != NULL;) {
		cJSON *next = child->next;
		if (cJSON_IsObject(item) && child->string != NULL &&
		    aero_key_is_secret(child->string)) {
			/* The replacement keeps the member's name (and place: a key
			 * sent twice is masked twice). */
			cJSON *mask = cJSON_CreateString(AERO_REDACTED);
			if (mask != NULL)
				mask->string = strdup(child->string);
			if (mask == NULL || mask->string == NULL ||
			    !cJSON_ReplaceItemViaPointer(item, child, mask)) {
				cJSON_Delete(mask);
				return -1;
			}
			count++;
		} else if (cJSON_IsObject(child) || cJSON_IsArray(child)) {
			const int n = aero_json_redact_secrets(child);
			if (n < 0)
				return -1;
			count += n;
		}
		child = next;
	}
	return count;
}

int aero_arg_shown(const char *arg)
{
	const size_t length = arg[0] == '-' ? strcspn(arg, "=") : strlen(arg);
	return length < (size_t)INT_MAX ? (int)length : INT_MAX;
}

char *aero_url_without_credentials(const char *url)
{
	const char *scheme_end = strstr(url, "://");
	/* A scheme is letters, digits, '+', '-' and '.' (RFC 3986 3.1). */
	if (scheme_end == NULL || scheme_end == url ||
	    strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") !=
	            (size_t)(scheme_end - url))
		return strdup(url);
	const char *authority = scheme_end + 3;
	const size_t authority_len = strcspn(authority, "/?#");
	const char *at = memrchr(authority, '@', authority_len);
	if (at == NULL)
		return strdup(url);
	const size_t scheme_len = (size_t)(scheme_end - url);
	const bool ssh = (scheme_len == 3 && strncasecmp(url, "ssh", 3) == 0) ||
	                 (scheme_len == 7 && strncasecmp(url, "git+ssh", 7) == 0);
	if (ssh && memchr(authority, ':', (size_t)(at - authority)) == NULL)
		return strdup(url); /* ssh://git@host/...: a user name, no secret */
	const size_t head = (size_t)(authority - url);
	const size_t tail = strlen(at + 1);
	char *clean = malloc(head + tail + 1);
	if (clean == NULL)
		return NULL;
	memcpy(clean, url, head);
	memcpy(clean + head, at + 1, tail + 1);
	return clean;
}
