/* `aero-init store`: plumbing for the blob store (file:// and s3://). */
#ifndef AERO_SHIM_STORE_CMD_H
#define AERO_SHIM_STORE_CMD_H

/* Runs `aero-init store put|get|head|ls|cat|rm URL ...` (argv[0] is "store");
 * returns the exit status: 0 ok, 1 not found, 3 exists, 4 denied, 5 changed,
 * 6 no bucket, 125 any other error. */
int aero_store_main(int argc, char **argv);

#endif
