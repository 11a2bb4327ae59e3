/* Image references as Docker and Kubernetes write them:
 * [REGISTRY/]PATH[:TAG][@sha256:DIGEST]. */
#ifndef AERO_HOST_IMAGE_REF_H
#define AERO_HOST_IMAGE_REF_H

struct aero_image_ref {
	char *name;     /* REGISTRY/PATH, or PATH on Docker Hub */
	char *tag;      /* NULL when none was written */
	char *digest;   /* "sha256:<64 hex>", or NULL */
	char *registry; /* the host (and port) that serves name: "docker.io" when none is written */
};

/* Parses text into *ref. Returns 0, or -1 with aero_error naming what is wrong. */
int aero_image_ref_parse(const char *text, struct aero_image_ref *ref);

/* Frees what aero_image_ref_parse allocated; the struct may be parsed into again. */
void aero_image_ref_clear(struct aero_image_ref *ref);

/* True when digest is "sha256:" followed by 64 lowercase hex digits. */
int aero_image_digest_valid(const char *digest);

#endif
