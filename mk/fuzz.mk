# libFuzzer harnesses (fuzz/fuzz_NAME.c) for every parser of outside input;
# doc/fuzzing.md says what each covers. `make fuzz-build` builds them with
# clang, ASan and UBSan into $(BUILD)/fuzz/; `make fuzz` also runs each for
# FUZZ_SECONDS on a copy of its seed corpus (fuzz/corpus/NAME/), and fails on
# the first crash, leaving the reproducer in $(BUILD)/fuzz/crashes/.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_BIN := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))
# What the harnesses share (a fake libcurl, temporary trees), not a harness.
FUZZ_SUPPORT := fuzz/support.c
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := $(BASE_CFLAGS) -iquote host -Ifuzz -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	$(shell pkg-config --cflags libcurl libcjson 2>/dev/null)
# The product's code but for the two main()s, as an archive: each harness
# pulls in only what it calls.
FUZZ_LIB_SRC := $(LIB_SRC) $(SHIM_SRC) $(filter-out host/main.c,$(HOST_SRC))
FUZZ_LIB := $(FUZZ_DIR)/libaero.a
# Calls the harnesses answer themselves: libcurl's transfers (the trackers'
# and the engine's answers come from the input) and the artifact workers
# (which would spawn /proc/self/exe: the fuzzer).
FUZZ_WRAP := -Wl,--wrap=curl_easy_perform,--wrap=curl_easy_setopt,--wrap=curl_easy_getinfo \
	-Wl,--wrap=curl_easy_reset,--wrap=aero_engine_handle,--wrap=aero_artifact_workers_start
FUZZ_LIBS := $(DYN_LIBS) $(HOST_LIBS) -lyaml

.PHONY: fuzz fuzz-build $(addprefix fuzz-run-,$(FUZZ_NAMES))

fuzz-build: $(FUZZ_BIN)

.PRECIOUS: $(FUZZ_DIR)/obj/%.o

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(call obj,fuzz/obj,$(FUZZ_LIB_SRC))
	rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/fuzz/fuzz_%.o $(FUZZ_DIR)/obj/fuzz/support.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_WRAP) $^ $(FUZZ_LIBS) -o $@

fuzz: $(addprefix fuzz-run-,$(FUZZ_NAMES))

# Each harness on a fresh copy of its seeds (new inputs it finds stay in
# $(FUZZ_DIR)/corpus/NAME); a crash's input is kept as crashes/NAME-crash-*.
$(addprefix fuzz-run-,$(FUZZ_NAMES)): fuzz-run-%: $(FUZZ_DIR)/fuzz_%
	@rm -rf $(FUZZ_DIR)/corpus/$* && mkdir -p $(FUZZ_DIR)/corpus/$* $(FUZZ_DIR)/crashes
	@cp fuzz/corpus/$*/* $(FUZZ_DIR)/corpus/$*/ 2>/dev/null || true
	@$< -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
		$(if $(wildcard fuzz/$*.dict),-dict=fuzz/$*.dict) \
		-artifact_prefix=$(FUZZ_DIR)/crashes/$*- $(FUZZ_DIR)/corpus/$* \
		>$(FUZZ_DIR)/$*.log 2>&1 || \
		{ tail -n 60 $(FUZZ_DIR)/$*.log; echo "fuzz: $* failed; the input is in $(FUZZ_DIR)/crashes/"; exit 1; }
	@printf 'fuzz %-20s %ss: %s\n' $* $(FUZZ_SECONDS) \
		"$$(grep -E '^#[0-9]+.*(DONE|cov:)' $(FUZZ_DIR)/$*.log | tail -n 1)"
