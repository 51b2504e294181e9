# sluice - hand-written GNU Makefile (plain make, as git and Redis do)
#   make               library + three binaries + sluice
#   make test          unit + integration tests (installs missing deps)
#   make demo          a real pipeline on loopback
#   make bench         benchmark table; make bench-smoke for CI
#   make SANITIZE=address,undefined test
#   make valgrind      unit tests under valgrind
#   make fuzz          every libFuzzer target, FUZZ_TIME=60 seconds each (clang)
#   make install PREFIX=/usr/local   (also man pages and bash completion)

PREFIX ?= /usr/local
CC ?= cc
PKGS = libczmq libzmq msgpack
WARN = -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wstrict-prototypes \
       -Wmissing-prototypes -Wvla -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) -fPIC $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lczmq -lzmq -lmsgpackc) -lm
ifdef SANITIZE
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
# every report is fatal (UBSan would print and go on; halt_on_error also holds
# for what the tests compile themselves); tests/lib.sh fails a script on any report
export UBSAN_OPTIONS := $(UBSAN_OPTIONS)$(if $(UBSAN_OPTIONS),:)halt_on_error=1:print_stacktrace=1
endif

VERSION = 0.1.0
SOMAJOR = 0
LIB_SRC = $(sort $(wildcard lib/*.c))
LIB_OBJ = $(LIB_SRC:.c=.o)
SONAME = libsluice.so.$(SOMAJOR)
SHARED = lib/libsluice.so.$(VERSION)
CLI_OBJ = cli/cli.o cli/keygen.o cli/man.o
BINS = ventilator/ventilator worker/worker sink/sink sluice/sluice
SLUICE_OBJ = $(patsubst %.c,%.o,$(wildcard sluice/*.c)) \
             sluice/role_ventilator.o sluice/role_worker.o sluice/role_sink.o
EXAMPLES = $(patsubst %.c,%,$(wildcard examples/*.c))
MAN1 = man/sluice.1 man/ventilator.1 man/worker.1 man/sink.1
COMPLETION = completion/sluice
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRC:.c=)
# libFuzzer targets, one per parser of outside input (tests/fuzz/fuzz_NAME.c,
# seeds in tests/fuzz/corpus-NAME); make fuzz runs each for FUZZ_TIME seconds
FUZZ_TARGETS = decode reader ledger config output
FUZZ_TIME ?= 60
FUZZ_WORK ?= /tmp/sluice-fuzz
FUZZ_FLAGS ?=
FUZZ_CC ?= clang
FUZZ_CFLAGS = -g -O1 -std=c11 -Wall -Wextra -fno-omit-frame-pointer -fno-sanitize-recover=all \
              $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_BINS = $(FUZZ_TARGETS:%=tests/fuzz/fuzz_%)
FUZZ_OBJ = $(FUZZ_TARGETS:%=tests/fuzz/fuzz_%.o)
FUZZ_LIB_OBJ = $(LIB_SRC:lib/%.c=tests/fuzz/lib/%.o)

.PHONY: all deps test-deps test unit integration demo bench bench-smoke install fuzz \
        fuzz-corpus clean valgrind lint format format-check doc

all: deps $(BINS) lib/libsluice.so lib/$(SONAME) lib/libsluice.a $(EXAMPLES) doc

deps:
	@scripts/deps.sh build

# Every object depends on .build-flags, which changes only when the flags do
# (as git's GIT-CFLAGS), so switching between SANITIZE=... and a normal build
# rebuilds everything instead of linking objects of both kinds. It waits for
# deps, so that make -j on a fresh machine installs the headers before compiling.
BUILD_FLAGS = $(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LIBS)
.build-flags: FORCE | deps
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@
.PHONY: FORCE

# Library objects hide every symbol that lib/sluice.h does not declare (its
# declarations are marked default visibility), so libsluice.so exports only
# the public API; the static library keeps everything for the binaries and tests.
lib/%.o: lib/%.c $(wildcard lib/*.h) .build-flags
	$(CC) $(ALL_CFLAGS) -fvisibility=hidden -c $< -o $@

lib/libsluice.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) -o $@ $^ $(LDFLAGS) $(LIBS)

lib/$(SONAME) lib/libsluice.so: $(SHARED)
	ln -sf $(notdir $<) $@

# the command line (prints, exits) is compiled into the programs only
cli/%.o: cli/%.c cli/cli.h $(wildcard lib/*.h) .build-flags
	$(CC) $(ALL_CFLAGS) -c $< -o $@

%/ventilator %/worker %/sink: %/main.c $(CLI_OBJ) lib/libsluice.a .build-flags
	$(CC) $(ALL_CFLAGS) -o $@ $< $(CLI_OBJ) lib/libsluice.a $(LDFLAGS) $(LIBS)

# sluice: one batch on this host, and `sluice ventilator|worker|sink`, which
# links the three programs' own main.c, compiled again under other names
sluice/%.o: sluice/%.c sluice/run.h sluice/roles.h cli/cli.h $(wildcard lib/*.h) .build-flags
	$(CC) $(ALL_CFLAGS) -c $< -o $@

sluice/role_%.o: %/main.c sluice/roles.h cli/cli.h $(wildcard lib/*.h) .build-flags
	$(CC) $(ALL_CFLAGS) -include sluice/roles.h -Dmain=sluice_main_$* -c $< -o $@

sluice/sluice: $(SLUICE_OBJ) $(CLI_OBJ) lib/libsluice.a .build-flags
	$(CC) $(ALL_CFLAGS) -o $@ $(SLUICE_OBJ) $(CLI_OBJ) lib/libsluice.a $(LDFLAGS) $(LIBS)

# man pages and bash completion, printed by the programs themselves from the
# option table (hidden flags --help-man, --help-completion), so they list
# exactly what --help lists; man/sluice.7 (the overview) is written by hand
doc: $(MAN1) $(COMPLETION)

man/sluice.1: sluice/sluice
man/ventilator.1: ventilator/ventilator
man/worker.1: worker/worker
man/sink.1: sink/sink
$(MAN1):
	@mkdir -p $(dir $@)
	$< --help-man > $@.tmp && mv $@.tmp $@

# one file for the four programs (installed under each name)
$(COMPLETION): $(BINS)
	@mkdir -p $(dir $@)
	{ sluice/sluice --help-completion && for p in ventilator worker sink; do \
	  $$p/$$p --help-completion || exit 1; done; } > $@.tmp && mv $@.tmp $@

# the embedding examples use only the public header, as an outside program does
examples/%: examples/%.c lib/libsluice.a .build-flags
	$(CC) $(ALL_CFLAGS) -Ilib -o $@ $< lib/libsluice.a $(LDFLAGS) $(LIBS)

# the fuzz targets as plain functions (t_fuzz_NAME), replayed over their corpora
tests/unit/test_fuzz_corpus: $(FUZZ_OBJ)
$(FUZZ_OBJ): tests/fuzz/fuzz_%.o: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(wildcard lib/*.h) .build-flags
	$(CC) $(ALL_CFLAGS) -Ilib -DLLVMFuzzerTestOneInput=t_fuzz_$* -c $< -o $@
tests/unit/test_protocol_examples: tests/unit/protocol_examples.h

tests/unit/test_cli: $(CLI_OBJ)

# a test links the objects it depends on (test_cli: the command line) before the library
tests/unit/test_%: tests/unit/test_%.c lib/libsluice.a .build-flags
	$(CC) $(ALL_CFLAGS) -Ilib -o $@ $< $(filter %.o,$^) lib/libsluice.a $(LDFLAGS) $(LIBS) -lcmocka

test-deps:
	@scripts/deps.sh test

unit: test-deps all $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

integration: test-deps all
	@tests/run-integration

test: unit integration

valgrind: test-deps all $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do \
	  valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite $$t; done

demo: all
	@examples/demo.sh

bench: all
	@scripts/deps.sh bench && bench/run

bench-smoke: all
	@scripts/deps.sh bench && bench/run --smoke

# the Python binding goes where PREFIX's python3 looks: Debian's python3
# reads /usr/lib/python3/dist-packages and /usr/local/lib/python3.X/dist-packages
PYVER := $(shell /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PYDIR ?= $(if $(filter /usr,$(PREFIX)),$(PREFIX)/lib/python3/dist-packages,$(PREFIX)/lib/python$(PYVER)/dist-packages)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PYDIR)
	install -m 644 bindings/python/sluice.py $(DESTDIR)$(PYDIR)/
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 lib/libsluice.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libsluice.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libsluice.so
	install -m 644 lib/sluice.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' lib/libsluice.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libsluice.pc
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/sluice.7 $(DESTDIR)$(PREFIX)/share/man/man7/
	install -m 644 $(COMPLETION) $(DESTDIR)$(PREFIX)/share/bash-completion/completions/sluice
	for p in ventilator worker sink; do \
	  ln -sf sluice $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$p; done

# libFuzzer builds (clang): the library instrumented once, each target
# linked with it. Each runs FUZZ_TIME seconds, one after the other, from its
# seeds; new inputs and crash files go to FUZZ_WORK/NAME, never into the
# seed corpus (a crash file joins it, by gen_corpus.c, once fixed).
tests/fuzz/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

$(FUZZ_BINS): tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -Ilib -o $@ $< \
	  $(FUZZ_LIB_OBJ) $(LIBS)

fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_WORK)/$$t; echo "== fuzz_$$t: $(FUZZ_TIME) s"; \
	  tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -artifact_prefix=$(FUZZ_WORK)/$$t- \
	    $(FUZZ_FLAGS) $(FUZZ_WORK)/$$t tests/fuzz/corpus-$$t; done

# rewrite the seed corpora (tests/fuzz/corpus-*) from tests/fuzz/gen_corpus.c
tests/fuzz/gen_corpus: tests/fuzz/gen_corpus.c tests/unit/protocol_examples.h lib/libsluice.a
	$(CC) $(ALL_CFLAGS) -Ilib -Itests/unit -o $@ $< lib/libsluice.a $(LDFLAGS) $(LIBS)

fuzz-corpus: tests/fuzz/gen_corpus
	tests/fuzz/gen_corpus tests/fuzz

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance lib cli ventilator worker sink sluice

format:
	clang-format -i lib/*.c lib/*.h cli/*.c cli/*.h */main.c

format-check:
	clang-format --dry-run --Werror lib/*.c lib/*.h cli/*.c cli/*.h */main.c

clean:
	rm -f .build-flags lib/*.o cli/*.o sluice/*.o lib/libsluice.a lib/libsluice.so lib/libsluice.so.* $(BINS) $(UNIT_BINS) $(EXAMPLES) \
	  $(MAN1) $(COMPLETION)
	rm -f $(FUZZ_OBJ) $(FUZZ_LIB_OBJ) $(FUZZ_BINS) tests/fuzz/gen_corpus

# five hosts in network namespaces (root only: it prints SKIP otherwise), see tests/hosts/run
.PHONY: test-hosts
test-hosts: all
	@if [ "$$(id -u)" = 0 ]; then scripts/deps.sh hosts; fi; tests/hosts/run
