/* The image `aero-launch push` pushed last, kept in the runs directory
 * (.last-push.json) so that `aero-launch k8s job` can run it by digest. */
#ifndef AERO_HOST_PUSHED_H
#define AERO_HOST_PUSHED_H

struct aero_pushed {
	char *repository; /* REGISTRY/PATH */
	char *tag;
	char *digest; /* sha256:... */
};

/* Records *pushed (atomically: a new file renamed over the old); 0 or -1 with aero_error. */
int aero_pushed_save(const struct aero_pushed *pushed);

/* Reads the record into *pushed: 0 when read, 1 when there is none, -1 with aero_error. */
int aero_pushed_load(struct aero_pushed *pushed);

/* Frees the strings of *pushed. */
void aero_pushed_clear(struct aero_pushed *pushed);

#endif
