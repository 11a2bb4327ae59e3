/* Secret keys, by words: substring rules ("KEY" anywhere) suit variable names
 * but would hide hyperparameters such as max_tokens or key_dim. */
#include "redact.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

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
