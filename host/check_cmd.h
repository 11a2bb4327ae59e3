/* `aero-launch check`, and the checks a tracked run makes before it builds. */
#ifndef AERO_HOST_CHECK_CMD_H
#define AERO_HOST_CHECK_CMD_H

#include "git.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/* Opens the repository at dir, reads its facts and refuses (printing why on
 * stderr) an unborn HEAD, a tree that is not pristine, or (unless
 * allow_unpushed) a commit not on its upstream. 0, or -(exit status). On
 * success *repo and facts are the caller's to free. */
int aero_check_repository(const char *dir, bool allow_unpushed, git_repository **repo,
                          struct aero_git_facts *facts);

/* The facts as a JSON object; NULL when out of memory. */
cJSON *aero_git_facts_json(const struct aero_git_facts *facts);

/* `aero-launch check [--allow-unpushed] [-C DIR]`: prints the facts as JSON,
 * or the refusal. Returns the exit status. */
int aero_check_main(int argc, char **argv);

#endif
