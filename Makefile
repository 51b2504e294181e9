# sluice - hand-written GNU Makefile (plain make, as git and Redis do)
#   make               library + three binaries
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

LIB_SRC = $(sort $(wildcard lib/*.c))
LIB_OBJ = $(LIB_SRC:.c=.o)
BINS = ventilator/ventilator worker/worker sink/sink
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRC:.c=)

.PHONY: all deps test-deps test unit integration demo bench bench-smoke install fuzz \
        clean valgrind lint format format-check

all: deps $(BINS) lib/libsluice.so lib/libsluice.a examples/embed_worker

deps:
	@scripts/deps.sh build

lib/%.o: lib/%.c $(wildcard lib/*.h)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

lib/libsluice.a: $(LIB_OBJ)
	ar rcs $@ $^

lib/libsluice.so: $(LIB_OBJ)
	$(CC) -shared -o $@ $^ $(LDFLAGS) $(LIBS)

%/ventilator %/worker %/sink: %/main.c lib/libsluice.a
	$(CC) $(ALL_CFLAGS) -o $@ $< lib/libsluice.a $(LDFLAGS) $(LIBS)

examples/embed_worker: examples/embed_worker.c lib/libsluice.a
	$(CC) $(ALL_CFLAGS) -Ilib -o $@ $< lib/libsluice.a $(LDFLAGS) $(LIBS)

tests/unit/test_fuzz_corpus: tests/fuzz/fuzz_decode.c
tests/unit/test_protocol_examples: tests/unit/protocol_examples.h

tests/unit/test_%: tests/unit/test_%.c lib/libsluice.a
	$(CC) $(ALL_CFLAGS) -Ilib -o $@ $< lib/libsluice.a $(LDFLAGS) $(LIBS) -lcmocka

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

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 lib/libsluice.a lib/libsluice.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 lib/sluice.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|0.1.0|' lib/libsluice.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libsluice.pc

# libFuzzer build of the decoder target (clang); the corpus is replayed by make unit
fuzz:
	clang -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined -Ilib $(shell pkg-config --cflags $(PKGS)) \
	  -o tests/fuzz/fuzz_decode tests/fuzz/fuzz_decode.c $(LIB_SRC) $(LIBS)
	tests/fuzz/fuzz_decode -max_total_time=60 tests/fuzz/corpus

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance lib ventilator worker sink

format:
	clang-format -i lib/*.c lib/*.h */main.c

format-check:
	clang-format --dry-run --Werror lib/*.c lib/*.h */main.c

clean:
	rm -f lib/*.o lib/libsluice.a lib/libsluice.so $(BINS) $(UNIT_BINS) examples/embed_worker

# five hosts in network namespaces (root; prints SKIP otherwise), see tests/hosts/run
.PHONY: test-hosts
test-hosts: all
	@scripts/deps.sh hosts && tests/hosts/run
