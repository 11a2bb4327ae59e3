# Aeromancy's build. `make` builds the development programs against Debian's
# shared libraries; `make static` the fully static aero-init that ships in the
# image; `make test` runs every test. See README.md.

VERSION := 0.1.0
BUILD ?= build
DEPS ?= $(BUILD)/deps
SHELL := /bin/bash
PREFIX ?= /usr/local
CC ?= cc
PYTHON ?= /usr/bin/python3
PYTEST ?= $(PYTHON) -m pytest
# The size of the build-context bench's repository (bench/context.sh).
CONTEXT_MIB ?= 1024
# The artifacts bench's big file and small-file count (bench/artifacts.py).
ARTIFACT_BENCH_MIB ?= 1024
ARTIFACT_BENCH_FILES ?= 10000

LIB_SRC := $(sort $(wildcard lib/*.c lib/store/*.c lib/artifact/*.c))
SHIM_SRC := $(filter-out shim/main.c,$(sort $(wildcard shim/*.c shim/capture/*.c shim/sinks/*.c)))
HOST_SRC := $(sort $(wildcard host/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC := bench/startup.c bench/metrics_writer.c bench/splice_copy.c
FUZZ_C_FILES := $(sort $(wildcard fuzz/*.c))
C_FILES := $(LIB_SRC) $(SHIM_SRC) shim/main.c $(HOST_SRC) $(UNIT_SRC) $(BENCH_SRC) $(FUZZ_C_FILES)
H_FILES := $(sort $(wildcard lib/*.h lib/store/*.h lib/artifact/*.h shim/*.h shim/capture/*.h \
	shim/sinks/*.h host/*.h fuzz/*.h))

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wpointer-arith -Wundef -Wcast-align -Wwrite-strings
HARDENING := -fstack-protector-strong -fstack-clash-protection -fcf-protection \
	-D_FORTIFY_SOURCE=2
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -DAERO_VERSION='"$(VERSION)"' -Ilib -Ilib/store -Ilib/artifact -Ishim -Ishim/capture -Ishim/sinks \
	$(WARNINGS) $(CFLAGS)
RELRO := -Wl,-z,relro,-z,now -Wl,--as-needed

DYN_LIBS := $(shell pkg-config --libs libcurl libcjson libseccomp libcap libcrypto 2>/dev/null)
# aero-launch only: libgit2 stays out of aero-init.
HOST_LIBS := $(shell pkg-config --libs libgit2 2>/dev/null)
DYN_CFLAGS := $(BASE_CFLAGS) -O2 -g $(HARDENING) -fPIE \
	$(shell pkg-config --cflags libcurl libcjson 2>/dev/null)
DYN_LDFLAGS := -pie $(RELRO) $(LDFLAGS)

# Static: not PIE, so that the kernel maps it and starts it without any
# relocation work (start-up speed is measured against tini-static).
STATIC_CFLAGS := $(BASE_CFLAGS) -O2 -g $(HARDENING) -DAERO_STATIC -I$(DEPS)/prefix/include \
	-ffunction-sections -fdata-sections
STATIC_LDFLAGS := -static -no-pie $(RELRO) -Wl,--gc-sections $(LDFLAGS)
STATIC_LIBS := $(DEPS)/prefix/lib/libcurl.a $(DEPS)/prefix/lib/libcjson.a \
	-lseccomp -lcap -lcares -lssl -lcrypto -lpthread

SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_CFLAGS := $(BASE_CFLAGS) -O1 -g $(SANITIZE) \
	$(shell pkg-config --cflags libcurl libcjson 2>/dev/null)
ASAN_LDFLAGS := $(SANITIZE) $(LDFLAGS)

obj = $(patsubst %.c,$(BUILD)/$(1)/%.o,$(2))

.PHONY: all static deps rootfs slim base-image test test-unit test-e2e sanitize valgrind lint \
	format format-check bench install clean
.DEFAULT_GOAL := all

all: $(BUILD)/dyn/aero-init $(BUILD)/aero-launch
	cp $(BUILD)/dyn/aero-init $(BUILD)/aero-init

static: $(BUILD)/static/aero-init $(BUILD)/aero-launch
	cp $(BUILD)/static/aero-init $(BUILD)/aero-init

# --- objects, one directory per variant --------------------------------------
$(BUILD)/dyn/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(DYN_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/static/%.o: %.c $(DEPS)/.ready
	@mkdir -p $(@D)
	$(CC) $(STATIC_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -MMD -MP -c $< -o $@

# --- programs -----------------------------------------------------------------
SHIM_OBJ = $(call obj,$(1),$(LIB_SRC) $(SHIM_SRC))

$(BUILD)/dyn/aero-init: $(call SHIM_OBJ,dyn) $(call obj,dyn,shim/main.c)
	$(CC) $(DYN_CFLAGS) $(DYN_LDFLAGS) $^ $(DYN_LIBS) -o $@

$(BUILD)/static/aero-init: $(call SHIM_OBJ,static) $(call obj,static,shim/main.c)
	$(CC) $(STATIC_CFLAGS) $(STATIC_LDFLAGS) $^ $(STATIC_LIBS) -o $@ 2>$@.log || \
		{ cat $@.log; exit 1; }
	@! grep -v -e "statically linked applications requires at runtime" \
		-e "in function" $@.log || { echo "unexpected linker output above"; exit 1; }

$(BUILD)/asan/aero-init: $(call SHIM_OBJ,asan) $(call obj,asan,shim/main.c)
	$(CC) $(ASAN_CFLAGS) $(ASAN_LDFLAGS) $^ $(DYN_LIBS) -o $@

$(BUILD)/aero-launch: $(call obj,dyn,$(LIB_SRC) $(HOST_SRC))
	$(CC) $(DYN_CFLAGS) $(DYN_LDFLAGS) $^ $(DYN_LIBS) $(HOST_LIBS) -o $@

# Libraries Debian ships without a usable static archive, from its sources.
deps: $(DEPS)/.ready
$(DEPS)/.ready: mk/static-deps.sh
	mk/static-deps.sh $(DEPS)
	@touch $@

# --- tests --------------------------------------------------------------------
UNIT_BIN = $(patsubst tests/unit/%.c,$(BUILD)/$(1)/tests/%,$(UNIT_SRC))

$(BUILD)/dyn/tests/%: $(BUILD)/dyn/tests/unit/%.o $(call SHIM_OBJ,dyn)
	$(CC) $(DYN_CFLAGS) $(DYN_LDFLAGS) $^ $(DYN_LIBS) -lcmocka -o $@

$(BUILD)/asan/tests/%: $(BUILD)/asan/tests/unit/%.o $(call SHIM_OBJ,asan)
	$(CC) $(ASAN_CFLAGS) $(ASAN_LDFLAGS) $^ $(DYN_LIBS) -lcmocka -o $@

# Unit tests of aero-launch's self-contained pieces link those pieces too.
$(BUILD)/dyn/tests/test_demux: $(call obj,dyn,host/demux.c)
$(BUILD)/asan/tests/test_demux: $(call obj,asan,host/demux.c)
$(BUILD)/dyn/tests/test_registry_auth: $(call obj,dyn,host/registry_auth.c)
$(BUILD)/asan/tests/test_registry_auth: $(call obj,asan,host/registry_auth.c)
$(BUILD)/dyn/tests/test_yaml: $(call obj,dyn,host/yaml.c)
$(BUILD)/asan/tests/test_yaml: $(call obj,asan,host/yaml.c)
$(BUILD)/dyn/tests/test_pipeline: $(call obj,dyn,host/pipeline.c)
$(BUILD)/asan/tests/test_pipeline: $(call obj,asan,host/pipeline.c)
$(BUILD)/dyn/tests/test_git_index: $(call obj,dyn,host/git_index.c)
$(BUILD)/asan/tests/test_git_index: $(call obj,asan,host/git_index.c)

# The end-to-end tests run the shipped (static) aero-init.
AERO_INIT ?= $(abspath $(BUILD)/static/aero-init)
# A debootstrapped Debian tree for the capture tests, made once per machine.
ROOTFS ?= /var/tmp/aeromancy/rootfs-$(shell . /etc/os-release 2>/dev/null && echo $$VERSION_CODENAME)

rootfs: $(ROOTFS)/.complete
$(ROOTFS)/.complete:
	mk/rootfs.sh $(ROOTFS)

# The local stand-in for the registry's debian:SUITE-slim (no registry is needed).
SLIM_TARBALL ?= /var/tmp/aeromancy/debian-$(shell . /etc/os-release 2>/dev/null && echo $$VERSION_CODENAME)-slim.tar
slim: $(SLIM_TARBALL)
$(SLIM_TARBALL):
	mk/debian-slim.sh $@

# aeromancy/base in the engine of DOCKER_HOST, with the static aero-init built
# here (BASE_MODE=compile builds it in the image's builder stage instead).
BASE_MODE ?= prebuilt
BASE_TAG ?= aeromancy/base
base-image: $(BUILD)/static/aero-init slim
	mk/base-image.sh MODE=$(BASE_MODE) TAG=$(BASE_TAG) SLIM_TARBALL=$(SLIM_TARBALL) \
		AERO_INIT_BINARY=$(abspath $(BUILD)/static/aero-init)

test: test-unit test-e2e

test-unit: $(call UNIT_BIN,dyn)
	@for t in $^; do echo "== $$t"; $$t || exit 1; done

test-e2e: static all rootfs slim tests/k8s/node_modules/.package-lock.json $(BUILD)/bench/metrics_writer
	AERO_INIT=$(AERO_INIT) AERO_LAUNCH=$(abspath $(BUILD)/aero-launch) AERO_TEST_ROOTFS=$(ROOTFS) \
		AERO_INIT_STATIC=$(abspath $(BUILD)/static/aero-init) \
		AERO_INIT_DYNAMIC=$(abspath $(BUILD)/dyn/aero-init) $(PYTEST) -q tests/e2e

# The Kubernetes schema checker's packages, from the committed lockfile.
tests/k8s/node_modules/.package-lock.json: tests/k8s/package-lock.json
	cd tests/k8s && npm ci --no-audit --no-fund --loglevel=error

# The whole suite again, with AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize: $(BUILD)/asan/aero-init $(call UNIT_BIN,asan) $(BUILD)/aero-launch rootfs \
	tests/k8s/node_modules/.package-lock.json $(BUILD)/bench/metrics_writer
	@for t in $(call UNIT_BIN,asan); do echo "== $$t"; $$t || exit 1; done
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99 \
	AERO_INIT=$(abspath $(BUILD)/asan/aero-init) AERO_LAUNCH=$(abspath $(BUILD)/aero-launch) \
	AERO_TEST_SANITIZED=1 AERO_TEST_ROOTFS=$(ROOTFS) $(PYTEST) -q tests/e2e

# aero-init under valgrind's memcheck, for the end-to-end tests of what it does
# in a run (doc/testing.md): the dynamic build, since valgrind cannot follow
# the heap of a static one, started by a script that execs valgrind. Every
# error or lost block fails the process that has it (exit status 99) and is
# logged under $(BUILD)/valgrind/logs, which must stay empty.
VALGRIND_TESTS ?= -m valgrind tests/e2e
VALGRIND_LOGS = $(abspath $(BUILD)/valgrind/logs)

$(BUILD)/valgrind/aero-init: tests/e2e/helpers/valgrind-aero-init.in $(BUILD)/dyn/aero-init
	@mkdir -p $(@D)
	sed -e 's|@AERO_INIT@|$(abspath $(BUILD)/dyn/aero-init)|' -e 's|@LOGS@|$(VALGRIND_LOGS)|' \
		-e 's|@EXIT@|99|' $< >$@.tmp
	chmod +x $@.tmp && mv $@.tmp $@

valgrind: $(BUILD)/valgrind/aero-init $(BUILD)/aero-launch
	rm -rf $(VALGRIND_LOGS) && mkdir -p $(VALGRIND_LOGS)
	@status=0; AERO_INIT=$(abspath $(BUILD)/valgrind/aero-init) \
		AERO_LAUNCH=$(abspath $(BUILD)/aero-launch) AERO_TEST_VALGRIND=1 \
		$(PYTEST) -q $(VALGRIND_TESTS) || status=$$?; \
	found=$$(find $(VALGRIND_LOGS) -type f -size +0); \
	for f in $$found; do echo "== $$f"; cat "$$f"; done; \
	[ -z "$$found" ] || { echo "valgrind: errors above (logs in $(VALGRIND_LOGS))"; exit 1; }; \
	[ $$status -eq 0 ] || exit $$status; \
	echo "valgrind: no errors in $$(find $(VALGRIND_LOGS) -name 'vg.*.*' | wc -l) processes"

lint:
	@# One file per run: clang-tidy 14's va_list check carries state from one
	@# file to the next and then reports a va_list as uninitialized.
	@failed=0; for f in $(LIB_SRC) $(SHIM_SRC) shim/main.c $(HOST_SRC) $(BENCH_SRC); do \
		echo "clang-tidy $$f"; \
		clang-tidy --quiet $$f -- $(BASE_CFLAGS) \
			$(shell pkg-config --cflags libcurl libcjson 2>/dev/null) 2>&1 | \
			grep -v -e '^[0-9]* warnings* generated' -e '^Suppressed' -e '^Use -header' \
			; [ $${PIPESTATUS[0]} -eq 0 ] || failed=1; \
	done; [ $$failed -eq 0 ]
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
		--std=c11 --inline-suppr --suppress=missingIncludeSystem -D__linux__ \
		-DAERO_VERSION='"$(VERSION)"' -Ilib -Ilib/store -Ilib/artifact -Ishim -Ishim/capture -Ishim/sinks $(LIB_SRC) $(SHIM_SRC) shim/main.c \
		$(HOST_SRC) $(BENCH_SRC)

format:
	clang-format -i $(C_FILES) $(H_FILES)

format-check:
	clang-format --dry-run --Werror $(C_FILES) $(H_FILES)

# --- benchmarks -----------------------------------------------------------------
$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(DYN_CFLAGS) $(DYN_LDFLAGS) $< -o $@

bench: $(BUILD)/static/aero-init $(BUILD)/bench/startup $(BUILD)/bench/metrics_writer \
	$(BUILD)/bench/splice_copy $(BUILD)/aero-launch rootfs
	bench/startup.sh $(BUILD)/static/aero-init
	bench/git.sh $(BUILD)/aero-launch
	bench/context.sh $(BUILD)/aero-launch $(CONTEXT_MIB)
	$(PYTHON) bench/capture.py $(BUILD)/static/aero-init $(ROOTFS)
	$(PYTHON) bench/metrics.py $(BUILD)/static/aero-init --writer $(BUILD)/bench/metrics_writer
	BENCH_DIR=$(BUILD)/bench bench/console.sh $(BUILD)/static/aero-init $(BUILD)/bench/splice_copy
	$(PYTHON) bench/artifacts.py $(BUILD)/static/aero-init $(ARTIFACT_BENCH_MIB) $(ARTIFACT_BENCH_FILES)
	BENCH_DIR=$(BUILD)/bench $(PYTHON) bench/store.py $(BUILD)/static/aero-init

install: all
	install -D -m 0755 $(BUILD)/aero-init $(DESTDIR)$(PREFIX)/bin/aero-init
	install -D -m 0755 $(BUILD)/aero-launch $(DESTDIR)$(PREFIX)/bin/aero-launch
	install -D -m 0644 man/aero-init.1 $(DESTDIR)$(PREFIX)/share/man/man1/aero-init.1
	install -D -m 0644 man/aero-launch.1 $(DESTDIR)$(PREFIX)/share/man/man1/aero-launch.1

clean:
	rm -rf $(BUILD)/dyn $(BUILD)/static $(BUILD)/asan $(BUILD)/bench $(BUILD)/fuzz $(BUILD)/aero-init \
		$(BUILD)/aero-launch

include mk/fuzz.mk

-include $(shell find $(BUILD)/dyn $(BUILD)/static $(BUILD)/asan $(BUILD)/fuzz -name '*.d' 2>/dev/null)
