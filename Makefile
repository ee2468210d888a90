# hybrid-p2p — one entry point: build, test, demo, install, asan, fuzz, bench.
#
#   make            build libhp.a and the tools into build/
#   make test       install the dependencies, build, run every test (one prove summary)
#   make demo       build and run the main job end to end on sample data
#   make asan       the whole suite again on an ASan+UBSan build (build-asan/)
#   make fuzz       run each libFuzzer harness briefly (clang, build-fuzz/)
#   make bench      benchmarks against reference tools, printing ratios
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

B ?= build
CC ?= gcc
CXX ?= g++
VERSION := 0.1.0

PKGS := libsodium libcrypto jansson libcurl libgit2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lsodium -lcrypto -ljansson -lcurl -lgit2)

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wvla -Wwrite-strings -Wformat=2 -Werror
OPT ?= -O2 -g
SAN ?=
CFLAGS ?=
CPPFLAGS += -D_GNU_SOURCE -DHP_VERSION='"$(VERSION)"' -Ilib
ALL_CFLAGS = -std=c17 $(OPT) $(WARN) $(SAN) $(PKG_CFLAGS) $(CFLAGS)
# The C++ shim over libtorrent (lib/*.cc): the only C++ in the project.
TORRENT_CFLAGS := $(shell pkg-config --cflags libtorrent-rasterbar 2>/dev/null)
TORRENT_LIBS := $(shell pkg-config --libs libtorrent-rasterbar 2>/dev/null || echo -ltorrent-rasterbar)
CXXWARN := -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Werror
ALL_CXXFLAGS = -std=c++17 $(OPT) $(CXXWARN) $(SAN) $(TORRENT_CFLAGS) $(CXXFLAGS)
# --as-needed: a tool that uses no libtorrent code does not load it (start-up time).
LDLIBS := -Wl,--as-needed $(PKG_LIBS) $(TORRENT_LIBS) -lmagic -lpthread -lm -lstdc++
ALL_LDFLAGS = $(SAN) $(LDFLAGS)

LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_CXX_SRC := $(sort $(wildcard lib/*.cc))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o) $(LIB_CXX_SRC:%.cc=$(B)/%.o)
CLI_SRC := $(sort $(wildcard cmd/cli*.c))
CLI_LIB := $(B)/libcli.a
TOOLS := $(sort $(patsubst cmd/%.c,%,$(wildcard cmd/hp-*.c cmd/hybrid-p2p.c)))
TOOL_BINS := $(TOOLS:%=$(B)/bin/%)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
FUZZERS := $(sort $(patsubst fuzz/%_fuzzer.c,%,$(wildcard fuzz/*_fuzzer.c)))
REPLAY_BINS := $(FUZZERS:%=$(B)/tests/replay_%)

# `make V=1` shows the full commands.
ifeq ($(V),1)
Q :=
msg = @:
else
Q := @
msg = @printf '  %-6s %s\n'
endif

.PHONY: all test check deps demo install uninstall asan fuzz fuzz-replay bench lint clean
all: $(TOOL_BINS)

$(B)/%.o: %.c $(wildcard lib/*.h) $(wildcard cmd/*.h) | $(B)/lib $(B)/cmd $(B)/fuzz $(B)/tests
	$(msg) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/%.o: %.cc $(wildcard lib/*.h) | $(B)/lib
	$(msg) CXX $@
	$(Q)$(CXX) $(CPPFLAGS) $(ALL_CXXFLAGS) -c -o $@ $<

$(B)/lib $(B)/cmd $(B)/fuzz $(B)/tests $(B)/bin:
	@mkdir -p $@

$(B)/libhp.a: $(LIB_OBJ)
	$(msg) AR $@
	@rm -f $@
	$(Q)ar rcs $@ $^

# The tools' shared code (cmd/cli*.c), as an archive: a tool links only what it uses.
$(CLI_LIB): $(CLI_SRC:%.c=$(B)/%.o)
	$(msg) AR $@
	@rm -f $@
	$(Q)ar rcs $@ $^

$(B)/bin/%: $(B)/cmd/%.o $(CLI_LIB) $(B)/libhp.a | $(B)/bin
	$(msg) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/test_%: $(B)/tests/unit/test_%.o $(B)/libhp.a | $(B)/tests
	$(msg) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/unit/%.o: tests/unit/%.c tests/unit/tap.h $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(msg) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# Each fuzz harness, linked with a plain driver that replays its corpus as TAP.
$(B)/tests/replay_%: $(B)/fuzz/%_fuzzer.o $(B)/fuzz/standalone.o $(B)/libhp.a | $(B)/tests
	$(msg) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

# An LD_PRELOAD shim for the signal tests: stops a tool just before it
# renames a temporary file into place. Never sanitized (it is preloaded
# before the sanitizer's runtime).
SHIM := $(B)/tests/stop-before-rename.so
$(SHIM): tests/lib/stop-before-rename.c | $(B)/tests
	$(msg) CC $@
	$(Q)$(CC) -std=c17 -O2 -g $(WARN) -fPIC -shared -o $@ $< -ldl

build-tests: $(TOOL_BINS) $(UNIT_BINS) $(REPLAY_BINS) $(SHIM)
.PHONY: build-tests

deps:
	@scripts/install-deps

# The README's test command: dependencies, build, then every test in one prove run.
test check: deps
	@$(MAKE) --no-print-directory build-tests
	@B=$(B) tests/run

demo: deps-build
	@$(MAKE) --no-print-directory all
	@B=$(B) scripts/demo

deps-build:
	@scripts/install-deps --build-only
.PHONY: deps-build

# ASan + UBSan: the same suite on an instrumented build.
asan:
	@$(MAKE) --no-print-directory B=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
		SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' build-tests
	@ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lib/libgit2.lsan.supp B=build-asan tests/run

# libFuzzer: each harness for FUZZ_SECONDS (clang).
FUZZ_SECONDS ?= 20
fuzz:
	@B=build-fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz $(FUZZERS)

fuzz-replay: $(REPLAY_BINS)
	@for f in $(REPLAY_BINS); do $$f || exit 1; done

bench: all
	@B=$(B) bench/run

lint:
	@scripts/lint

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(TOOL_BINS) $(DESTDIR)$(BINDIR)
	for m in docs/*.1; do [ -e "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man1; done; true

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$$t $(DESTDIR)$(MANDIR)/man1/$$t.1; done

clean:
	rm -rf build build-asan build-fuzz

.SECONDARY:
