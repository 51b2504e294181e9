#!/usr/bin/env bash
# 14-pkgconfig: `make install` into a fresh PREFIX gives a tree a program
# can be built against with `pkg-config --cflags --libs libsluice` alone:
# examples/embed_worker.c, built that way and run on the installed
# libsluice.so.0 (checked with ldd), serves a batch from the installed
# ventilator to the installed sink. Also: the soname and its symlinks, and
# that the shared library exports only the public API.
. "$(dirname "$0")/../lib.sh"
P=$T_DIR/prefix
# the example as committed; SLUICE_EMBED_EXAMPLE names another copy to try
EXAMPLE=${SLUICE_EMBED_EXAMPLE:-$T_ROOT/examples/embed_worker.c}

t_check "make install PREFIX=... succeeds" \
    make -s -C "$T_ROOT" install PREFIX="$P" > "$T_DIR/install.out" 2>&1
for f in bin/ventilator bin/worker bin/sink lib/libsluice.a lib/libsluice.so.0.1.0 \
         include/sluice.h lib/pkgconfig/libsluice.pc; do
    t_check "installed $f" test -f "$P/$f"
done
t_eq "libsluice.so.0 -> libsluice.so.0.1.0" "$(readlink "$P/lib/libsluice.so.0")" libsluice.so.0.1.0
t_eq "libsluice.so -> libsluice.so.0" "$(readlink "$P/lib/libsluice.so")" libsluice.so.0
t_eq "soname is libsluice.so.0" \
    "$(readelf -d "$P/lib/libsluice.so.0.1.0" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')" \
    libsluice.so.0

# only the public API is exported: every symbol is declared in sluice.h
nm -D --defined-only "$P/lib/libsluice.so.0.1.0" | awk '{print $3}' | sort > "$T_DIR/exported"
t_check "exports public symbols" test -s "$T_DIR/exported"
missing=$(while read -r sym; do grep -qw "$sym" "$P/include/sluice.h" || echo "$sym"; done \
          < "$T_DIR/exported" | tr '\n' ' ')
t_eq "every exported symbol is declared in sluice.h" "$missing" ""
t_check "internal symbols stay hidden (sluice_socket_new, sluice_option_at)" \
    bash -c "! grep -qx -e sluice_socket_new -e sluice_option_at -e sluice_verbose '$T_DIR/exported'"

# build the example with pkg-config alone (plus the sanitizer runtime when
# the tree was built with SANITIZE=..., which the installed library needs)
flags=$(PKG_CONFIG_PATH=$P/lib/pkgconfig pkg-config --cflags --libs libsluice)
t_check "pkg-config --libs names -lsluice, -lczmq, -lzmq" \
    bash -c "grep -qw -- -lsluice <<< '$flags' && grep -qw -- -lczmq <<< '$flags' && grep -qw -- -lzmq <<< '$flags'"
san=()
ldd "$P/lib/libsluice.so.0.1.0" | grep -q libasan && san+=(-fsanitize=address)
ldd "$P/lib/libsluice.so.0.1.0" | grep -q libubsan && san+=(-fsanitize=undefined)
# shellcheck disable=SC2086
t_check "cc embed_worker.c \$(pkg-config --cflags --libs libsluice) builds" \
    cc "${san[@]}" -o "$T_DIR/embed_worker" "$EXAMPLE" $flags
[ -x "$T_DIR/embed_worker" ] || { t_done; exit 1; }     # nothing to run
export LD_LIBRARY_PATH=$P/lib
t_check "embed_worker runs on the installed libsluice.so.0 (ldd)" \
    grep -q "libsluice.so.0 => $P/lib/libsluice.so.0 " <(ldd "$T_DIR/embed_worker")

# a real batch: installed ventilator and sink, the example as the worker
T=$(t_ep tasks); R=$(t_ep results); C=$(t_ep control)
t_start sink "$P/bin/sink" -q -k --results "$R" --control "$C"; sink=$T_LAST
t_start embed "$T_DIR/embed_worker" ">$T" ">$R"; embed=$T_LAST
printf 'alpha\nbeta\ngamma delta\n' > "$T_DIR/in.txt"
t_eq "installed ventilator exit code" \
    "$(timeout 30 "$P/bin/ventilator" -q --tasks "$T" --control "$C" "$T_DIR/in.txt"; echo $?)" 0
t_eq "installed sink exit code" "$(t_wait "$sink" 20)" 0
t_eq "sink output, in order" "$(cat "$T_DIR/sink.out")" "$(printf 'ALPHA\nBETA\nGAMMA DELTA')"
kill -TERM "$embed"
t_eq "embed_worker stops on SIGTERM: exit 0" "$(t_wait "$embed" 10)" 0

# the Python binding is installed where PREFIX's python3 looks, and loads
# the installed library (not the source tree's) with no SLUICE_LIB set
pydir=$(echo "$P"/lib/python3*/dist-packages)
# a SANITIZE=... library needs the ASan runtime preloaded into python3; its
# leak check is off, CPython does not free its heap at exit (see 15-python.sh)
pyenv=()
[ ${#san[@]} -gt 0 ] && [ "${san[0]}" = -fsanitize=address ] \
    && pyenv=("LD_PRELOAD=$(cc -print-file-name=libasan.so)" "ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0")
t_check "installed the Python binding ($pydir/sluice.py)" test -f "$pydir/sluice.py"
t_eq "installed binding loads the installed libsluice.so.0" \
    "$(cd / && env -u SLUICE_LIB "${pyenv[@]}" PYTHONPATH="$pydir" /usr/bin/python3 -c \
       'import sluice; print(sluice._lib._name)')" "$P/lib/libsluice.so.0"
t_done
