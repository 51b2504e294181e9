# sluice - hand-written GNU Makefile (plain make, as git and Redis do)
#   make               library + three binaries + sluice
#   make test          unit + integration tests (installs missing deps)
#   make demo          a real pipeline on loopback
#   make bench         benchmark table; make bench-smoke for CI
#   make SANITIZE=address,undefined test
#   make valgrind      unit tests under valgrind
#   make install PREFIX=/usr/local

PREFIX ?= /usr/local
CC ?= cc
PKGS = libczmq libzmq msgpack
WARN = -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wstrict-prototypes \
       -Wmissing-prototypes -Wvla -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) -fPIC $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lczmq -lzmq -lmsgpackc) -lm
ifdef SANITIZE
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
endif

VERSION = 0.1.0
SOMAJOR = 0
LIB_SRC = $(sort $(wildcard lib/*.c))
LIB_OBJ = $(LIB_SRC:.c=.o)
SONAME = libsluice.so.$(SOMAJOR)
SHARED = lib/libsluice.so.$(VERSION)
CLI_OBJ = cli/cli.o cli/keygen.o
BINS = ventilator/ventilator worker/worker sink/sink sluice/sluice
SLUICE_OBJ = $(patsubst %.c,%.o,$(wildcard sluice/*.c)) \
             sluice/role_ventilator.o sluice/role_worker.o sluice/role_sink.o
EXAMPLES = $(patsubst %.c,%,$(wildcard examples/*.c))
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRC:.c=)

.PHONY: all deps test-deps test unit integration demo bench bench-smoke install fuzz \
        clean valgrind lint format format-check

all: deps $(BINS) lib/libsluice.so lib/$(SONAME) lib/libsluice.a $(EXAMPLES)

deps:
	@scripts/deps.sh build

# Library objects hide every symbol that lib/sluice.h does not declare (its
# declarations are marked default visibility), so libsluice.so exports only
# the public API; the static library keeps everything for the binaries and tests.
lib/%.o: lib/%.c $(wildcard lib/*.h)
	$(CC) $(ALL_CFLAGS) -fvisibility=hidden -c $< -o $@

lib/libsluice.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) -o $@ $^ $(LDFLAGS) $(LIBS)

lib/$(SONAME) lib/libsluice.so: $(SHARED)
	ln -sf $(notdir $<) $@

# the command line (prints, exits) is compiled into the programs only
cli/%.o: cli/%.c cli/cli.h $(wildcard lib/*.h)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

%/ventilator %/worker %/sink: %/main.c $(CLI_OBJ) lib/libsluice.a
	$(CC) $(ALL_CFLAGS) -o $@ $< $(CLI_OBJ) lib/libsluice.a $(LDFLAGS) $(LIBS)

# sluice: one batch on this host, and `sluice ventilator|worker|sink`, which
# links the three programs' own main.c, compiled again under other names
sluice/%.o: sluice/%.c sluice/run.h sluice/roles.h cli/cli.h $(wildcard lib/*.h)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

sluice/role_%.o: %/main.c sluice/roles.h cli/cli.h $(wildcard lib/*.h)
	$(CC) $(ALL_CFLAGS) -include sluice/roles.h -Dmain=sluice_main_$* -c $< -o $@

sluice/sluice: $(SLUICE_OBJ) $(CLI_OBJ) lib/libsluice.a
	$(CC) $(ALL_CFLAGS) -o $@ $(SLUICE_OBJ) $(CLI_OBJ) lib/libsluice.a $(LDFLAGS) $(LIBS)

# the embedding examples use only the public header, as an outside program does
examples/%: examples/%.c lib/libsluice.a
	$(CC) $(ALL_CFLAGS) -Ilib -o $@ $< lib/libsluice.a $(LDFLAGS) $(LIBS)

tests/unit/test_fuzz_corpus: tests/fuzz/fuzz_decode.c
tests/unit/test_protocol_examples: tests/unit/protocol_examples.h

tests/unit/test_cli: $(CLI_OBJ)

# a test links the objects it depends on (test_cli: the command line) before the library
tests/unit/test_%: tests/unit/test_%.c lib/libsluice.a
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

# libFuzzer build of the decoder target (clang); the corpus is replayed by make unit
fuzz:
	clang -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined -Ilib $(shell pkg-config --cflags $(PKGS)) \
	  -o tests/fuzz/fuzz_decode tests/fuzz/fuzz_decode.c $(LIB_SRC) $(LIBS)
	tests/fuzz/fuzz_decode -max_total_time=60 tests/fuzz/corpus

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance lib cli ventilator worker sink sluice

format:
	clang-format -i lib/*.c lib/*.h cli/*.c cli/*.h */main.c

format-check:
	clang-format --dry-run --Werror lib/*.c lib/*.h cli/*.c cli/*.h */main.c

clean:
	rm -f lib/*.o cli/*.o sluice/*.o lib/libsluice.a lib/libsluice.so lib/libsluice.so.* $(BINS) $(UNIT_BINS) $(EXAMPLES)

# five hosts in network namespaces (root only: it prints SKIP otherwise), see tests/hosts/run
.PHONY: test-hosts
test-hosts: all
	@if [ "$$(id -u)" = 0 ]; then scripts/deps.sh hosts; fi; tests/hosts/run
