/* aero-launch's own exit statuses. An experiment's status passes through
 * unchanged, so the launcher's failures use values experiments rarely use;
 * each class names one thing the user can fix. See aero-launch(1). */
#ifndef AERO_HOST_STATUS_H
#define AERO_HOST_STATUS_H

enum aero_launch_status {
	AERO_EXIT_OK = 0,
	AERO_EXIT_USAGE = 2,       /* a command line aero-launch cannot act on */
	AERO_EXIT_REPO = 64,       /* no repository, or one libgit2 cannot or may not read */
	AERO_EXIT_DIRTY = 65,      /* modified, staged, untracked paths or a dirty submodule */
	AERO_EXIT_UNBORN = 66,     /* HEAD has no commit yet */
	AERO_EXIT_UNPUSHED = 67,   /* HEAD is not on its upstream (or has none) */
	AERO_EXIT_ENGINE = 68,     /* the Docker engine cannot be reached */
	AERO_EXIT_BUILD = 69,      /* the image build failed */
	AERO_EXIT_BASE_IMAGE = 70, /* an image is missing (the base image, or the one to push) */
	AERO_EXIT_GPU = 71,        /* GPUs were asked for and the engine has no GPU runtime */
	AERO_EXIT_DENIED = 72,     /* the registry denied a pull or a push */
	AERO_EXIT_CONTAINER = 73,  /* the engine refused to create or start the container */
	AERO_EXIT_INTERNAL = 74,   /* out of memory, an I/O error, a bug */
	AERO_EXIT_NO_RUN = 75,     /* `runs show/diff`: no such run */
	/* 76-80: the artifact commands' (lib/artifact/status.h), the same in aero-init:
	 * 76 no such name or version, 77 bad reference, unsafe path or a file in the
	 * way, 78 digest mismatch, 79 store denied, 80 store failed or unreachable. */
	AERO_EXIT_PIPELINE = 81,  /* `pipeline run`: a task failed, or could not run after one */
	AERO_EXIT_TOOL = 82,      /* a program it runs is not installed (Graphviz's dot) */
	AERO_EXIT_NO_COMMIT = 83, /* `rerun`: the run's commit is not in the repository */
};

#endif
