/* Finding the aero-init that aero-launch runs on this host. */
#include "init_path.h"

#include "runsdir.h"
#include "spawn.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *aero_init_path(const char *given)
{
	if (given != NULL)
		return strdup(given);
	char *self = aero_self_path();
	char *slash = self != NULL ? strrchr(self, '/') : NULL;
	if (slash != NULL) {
		*slash = '\0';
		char *beside = aero_path_join(self, "aero-init");
		free(self);
		if (beside == NULL || access(beside, X_OK) == 0)
			return beside;
		free(beside);
	} else {
		free(self);
	}
	return strdup("aero-init");
}
