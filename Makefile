# neuropacs-agent: GNU make, no autotools.
#   make            build build/lib/libnp.a, build/bin/*, build/sbin/*: only builds, installs nothing
#   make deps       install what is missing: Debian packages (deps/*.txt) and npm packages
#                   (package.json, tests/browser/package.json); make run, demo and check call it
#   make check      make deps, build (plain + ASan/UBSan), make lint, run every test with prove
#   make run        make deps (build, run), build, start the supervised agent on ./var (Ctrl-C stops it)
#   make demo       the same on ./var-demo with the cloud stand-in (synthetic results, marked DEMO)
#                   both take HTTP_PORT= DICOM_PORT= (saved in the home's settings)
#   make stop       from another shell: stop what make run / make demo started (every process of
#                   NP_HOME's and DEMO_HOME's trees)
#   make install    PREFIX=/usr/local DESTDIR=
#   make lint       mandoc -Tlint, clang-format check, cppcheck, ESLint over the web UI's JavaScript
#   make clean      remove build/ (not bench/out: the benchmarks' generated studies are slow to make)
#   make clean-bench remove bench/out (the benchmarks' studies and outputs; several GB after a run)

PREFIX  ?= /usr/local
DESTDIR ?=
NP_HOME ?= $(CURDIR)/var
DEMO_HOME ?= $(CURDIR)/var-demo
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKGS    := jansson sqlite3 libcurl openssl zlib libarchive libxml-2.0 xmlsec1-openssl cairo libcrypt
CC      ?= cc
CXX     ?= c++
# lib/ is five sub-libraries in layers, each folder including only its own
# headers and those of the folders before it (lib/README.md; make lint checks).
LIB_DIRS:= core dicom spool pipeline httpd
CPPFLAGS += -D_GNU_SOURCE -DNP_VERSION='"$(VERSION)"' $(LIB_DIRS:%=-Ilib/%) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
            -I/usr/include/gdcm-3.0
WARN    := -Wall -Wextra -Werror -Wno-format-truncation
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 $(WARN)
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++14 $(WARN) -Wno-deprecated-copy
# Hardening of the plain build (what make run and make install ship; checked by
# e2e 07-hardening with hardening-check). The sanitizer and fuzz builds keep their
# own flags: FORTIFY's checked copies hide overflows from ASan.
HARDEN_CC := -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection \
             -fcf-protection -fPIE
HARDEN_LD := -pie -Wl,-z,relro,-z,now
CFLAGS   += $(HARDEN_CC)
CXXFLAGS += $(HARDEN_CC)
GDCM_LIBS := -lgdcmMSFF -lgdcmDSED -lgdcmCommon -lgdcmDICT -lgdcmIOD -lgdcmMEXD
# Link only the libraries a program uses: most tools need neither GDCM nor
# cairo, and every shared library costs start-up time (noticeable under ASan).
LDFLAGS += -Wl,--as-needed
# Header dependencies: each object records the headers it includes.
DEPFLAGS = -MMD -MP
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcivetweb $(GDCM_LIBS) -lstdc++ -lpthread -lm

# Sanitizer + test-hook build used by `make check`.
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
B  := build
BS := build/san
BF := build/fuzz

LIB_C   := $(wildcard $(LIB_DIRS:%=lib/%/*.c))
LIB_CC  := $(wildcard $(LIB_DIRS:%=lib/%/*.cc))
BIN_SRC := $(wildcard bin/*.c)
SBIN_SRC:= $(wildcard sbin/*.c)
UNIT_SRC:= $(wildcard tests/unit/test_*.c)
FUZZ_SRC:= $(wildcard tests/fuzz/fuzz_*.c)
PEER_SRC:= $(filter-out tests/peers/lib%.c,$(wildcard tests/peers/*.c))
SHIM_SRC:= $(wildcard tests/peers/lib*.c)

objs = $(patsubst lib/%.c,$(1)/obj/%.o,$(LIB_C)) $(patsubst lib/%.cc,$(1)/obj/%.o,$(LIB_CC)) $(1)/obj/np_embedded.o \
       $(1)/obj/np_vrdict.o $(1)/obj/np_openapi.o
progs = $(patsubst bin/%.c,$(1)/bin/%,$(BIN_SRC)) $(patsubst sbin/%.c,$(1)/sbin/%,$(SBIN_SRC))

PROGS      := $(call progs,$(B))
SAN_PROGS  := $(call progs,$(BS))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BS)/tests/%,$(UNIT_SRC))
PEER_BINS  := $(patsubst tests/peers/%.c,$(B)/peers/%,$(PEER_SRC)) $(patsubst tests/peers/%.c,$(B)/peers/%.so,$(SHIM_SRC))

.PHONY: vendor all check run demo stop install clean clean-bench lint deps deps-build deps-run deps-test deps-demo lint-deps san unit fuzz browser-deps \
	conformance
.DELETE_ON_ERROR:

all: $(B)/lib/libnp.a $(B)/share/openapi.json $(PROGS) $(PEER_BINS) conformance

# ---- the DICOM Conformance Statement, generated from the code's tables by
# np-conformance (lib/pipeline/np_conformance.c): a manual page and an HTML page ----
CONFORMANCE := $(B)/man/man7/np-conformance.7 $(B)/share/doc/np-conformance.html
conformance: $(CONFORMANCE)
$(B)/man/man7/np-conformance.7: $(B)/bin/np-conformance
	@mkdir -p $(@D) && $< --man > $@
$(B)/share/doc/np-conformance.html: $(B)/bin/np-conformance
	@mkdir -p $(@D) && $< --html > $@

# ---- dependencies: `make deps` installs what is missing; plain `make` never
# does (no apt-get, no npm), so it builds offline once they are in place.
# Debian packages are listed once in deps/*.txt. npm packages: package.json's
# dependencies are the vendored front-end assets (Swagger UI for /api-docs),
# installed into build/vendor and shipped by make install; its devDependencies
# are tools (ESLint) in ./node_modules; tests/browser/package.json has the
# browser tests' playwright-core. npm itself comes from deps/build.txt and
# deps/test.txt, so the apt step runs first. DEPS names the lists (make run
# needs build and run; make check all three) and each list brings its npm
# installs. A machine without the npm registry still builds; /api-docs then
# says Swagger UI is missing, and the browser tests are skipped. ----
DEPS ?= build run test
NPM_build := vendor
NPM_test  := lint-deps browser-deps
deps:
	@sh tests/lib/apt-ensure.sh $(DEPS:%=deps/%.txt)
	@$(MAKE) --no-print-directory $(foreach d,$(DEPS),$(NPM_$(d)))
deps-build deps-run deps-test deps-demo: deps-%:
	@$(MAKE) --no-print-directory deps DEPS=$*

NPM_CI := npm ci --no-audit --no-fund --ignore-scripts
VENDOR := $(B)/vendor/node_modules/swagger-ui-dist/package.json
vendor: $(VENDOR)
$(VENDOR): package.json package-lock.json
	@mkdir -p $(B)/vendor && cp package.json package-lock.json $(B)/vendor/
	@cd $(B)/vendor && { $(NPM_CI) --omit=dev >/dev/null 2>&1 && touch node_modules/swagger-ui-dist/package.json; } \
		|| echo "warning: npm could not install swagger-ui-dist; /api-docs will be unavailable"
ESLINT := node_modules/.bin/eslint
lint-deps: $(ESLINT)
$(ESLINT): package.json package-lock.json
	@{ $(NPM_CI) >/dev/null 2>&1 && touch $@; } || echo "warning: npm could not install ESLint; make lint will fail"

# ---- shipped defaults and schema, embedded in libnp ----
EMBED := etc/neuropacs.json share/schema/config.schema.json
$(B)/gen/np_embedded.c: $(EMBED) | $(B)/gen
	{ echo '/* generated from $(EMBED) */'; \
	  echo 'const unsigned char np_embedded_defaults[] = {'; xxd -i < etc/neuropacs.json; echo ', 0};'; \
	  echo 'const unsigned int np_embedded_defaults_len = sizeof np_embedded_defaults - 1;'; \
	  echo 'const unsigned char np_embedded_schema[] = {'; xxd -i < share/schema/config.schema.json; echo ', 0};'; \
	  echo 'const unsigned int np_embedded_schema_len = sizeof np_embedded_schema - 1;'; } > $@
$(B)/obj/np_embedded.o: $(B)/gen/np_embedded.c | $(B)/obj
	$(CC) $(HARDEN_CC) -c -o $@ $<
$(BS)/obj/np_embedded.o: $(B)/gen/np_embedded.c | $(BS)/obj
	$(CC) -c -o $@ $<

# ---- the OpenAPI document, generated from the route table, the settings schema and the
# study columns (share/openapi/gen.py says how); np-httpd serves it embedded, make install ships it ----
$(B)/share/openapi.json: share/openapi/gen.py $(wildcard share/openapi/*.json) share/schema/config.schema.json \
		lib/httpd/np_httpd_routes.c $(shell grep -l 'study_keys\[\]' $(LIB_C))
	@mkdir -p $(@D)
	/usr/bin/python3 share/openapi/gen.py lib/httpd/np_httpd_routes.c share/schema/config.schema.json $@ $(LIB_C)
$(B)/gen/np_openapi.c: $(B)/share/openapi.json | $(B)/gen
	{ echo '/* generated from $< */'; echo 'const unsigned char np_openapi_doc[] = {'; xxd -i < $<; echo '};'; \
	  echo 'const unsigned int np_openapi_doc_len = sizeof np_openapi_doc;'; } > $@
$(B)/obj/np_openapi.o: $(B)/gen/np_openapi.c | $(B)/obj
	$(CC) $(HARDEN_CC) -c -o $@ $<
$(BS)/obj/np_openapi.o: $(B)/gen/np_openapi.c | $(BS)/obj
	$(CC) -c -o $@ $<

# ---- the VR of public elements, from GDCM's dictionary at build time, so
# that np-deid does not load GDCM (lib/gen/np_vrdict.cc says why) ----
$(B)/gen/np_vrdict_gen: lib/gen/np_vrdict.cc | $(B)/gen
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -o $@ $< $(LDFLAGS) $(GDCM_LIBS)
$(B)/gen/np_vrdict.c: $(B)/gen/np_vrdict_gen
	$< > $@
$(B)/obj/np_vrdict.o: $(B)/gen/np_vrdict.c | $(B)/obj
	$(CC) $(HARDEN_CC) -c -o $@ $<
$(BS)/obj/np_vrdict.o: $(B)/gen/np_vrdict.c | $(BS)/obj
	$(CC) -c -o $@ $<

# ---- plain build ----
$(B)/obj/%.o: lib/%.c | $(B)/obj
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(DEPFLAGS) $(CFLAGS) -c -o $@ $<
$(B)/obj/%.o: lib/%.cc | $(B)/obj
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(DEPFLAGS) $(CXXFLAGS) -c -o $@ $<
$(B)/lib/libnp.a: $(call objs,$(B)) | $(B)/lib
	rm -f $@ && ar rcs $@ $^
$(B)/bin/%: bin/%.c $(B)/lib/libnp.a | $(B)/bin
	$(CC) $(CPPFLAGS) $(DEPFLAGS) -MF $(@D)/.$(@F).d $(CFLAGS) -o $@ $< $(B)/lib/libnp.a $(HARDEN_LD) $(LDFLAGS) $(LDLIBS)
$(B)/sbin/%: sbin/%.c $(B)/lib/libnp.a | $(B)/sbin
	$(CC) $(CPPFLAGS) $(DEPFLAGS) -MF $(@D)/.$(@F).d $(CFLAGS) -o $@ $< $(B)/lib/libnp.a $(HARDEN_LD) $(LDFLAGS) $(LDLIBS)
# LD_PRELOAD shims for test peers (e.g. keep storescp and Orthanc on loopback).
$(B)/peers/%.so: tests/peers/%.c | $(B)/peers
	$(CC) -shared -fPIC -O2 -Wall -Werror -o $@ $< -ldl
$(B)/peers/%: tests/peers/%.c $(B)/lib/libnp.a | $(B)/peers
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(B)/lib/libnp.a $(HARDEN_LD) $(LDFLAGS) $(LDLIBS)

# np-httpd exports one OpenSSL 1.1 name for Debian's CivetWeb (lib/httpd/np_httpd_tls.c).
$(B)/sbin/np-httpd $(BS)/sbin/np-httpd: LDFLAGS += -Wl,--export-dynamic-symbol=SSL_get_peer_certificate

# ---- sanitizer build with test hooks (NP_CRASH_AT) ----
SAN_CPP := $(CPPFLAGS) -DNP_TEST_HOOKS=1
$(BS)/obj/%.o: lib/%.c | $(BS)/obj
	@mkdir -p $(@D)
	$(CC) $(SAN_CPP) $(DEPFLAGS) -std=c11 $(WARN) $(SAN_FLAGS) -c -o $@ $<
$(BS)/obj/%.o: lib/%.cc | $(BS)/obj
	@mkdir -p $(@D)
	$(CXX) $(SAN_CPP) $(DEPFLAGS) -std=c++14 $(WARN) -Wno-deprecated-copy $(SAN_FLAGS) -c -o $@ $<
$(BS)/lib/libnp.a: $(call objs,$(BS)) | $(BS)/lib
	rm -f $@ && ar rcs $@ $^
$(BS)/bin/%: bin/%.c $(BS)/lib/libnp.a | $(BS)/bin
	$(CC) $(SAN_CPP) $(DEPFLAGS) -MF $(@D)/.$(@F).d -std=c11 $(WARN) $(SAN_FLAGS) -o $@ $< $(BS)/lib/libnp.a $(LDFLAGS) $(LDLIBS)
$(BS)/sbin/%: sbin/%.c $(BS)/lib/libnp.a | $(BS)/sbin
	$(CC) $(SAN_CPP) $(DEPFLAGS) -MF $(@D)/.$(@F).d -std=c11 $(WARN) $(SAN_FLAGS) -o $@ $< $(BS)/lib/libnp.a $(LDFLAGS) $(LDLIBS)
# Unit tests wrap the I/O calls they inject faults into (see tests/unit/fault.h).
WRAP := -Wl,--wrap=fsync,--wrap=rename,--wrap=write
$(BS)/tests/%: tests/unit/%.c tests/unit/fault.c $(BS)/lib/libnp.a | $(BS)/tests
	$(CC) $(SAN_CPP) $(DEPFLAGS) -MF $(@D)/.$(@F).d -Itests/unit -std=c11 $(WARN) $(SAN_FLAGS) -o $@ $< tests/unit/fault.c \
		$(BS)/lib/libnp.a $(WRAP) $(LDFLAGS) $(LDLIBS) -lcmocka

san: $(BS)/lib/libnp.a $(SAN_PROGS) $(UNIT_BINS)

$(B)/gen $(B)/obj $(B)/lib $(B)/bin $(B)/sbin $(B)/peers $(BS)/obj $(BS)/lib $(BS)/bin $(BS)/sbin $(BS)/tests $(BF)/obj:
	mkdir -p $@

# ---- fuzz targets (clang libFuzzer); built by make check when clang exists ----
# libnp is compiled once (instrumented, without the fuzzer main) into
# build/fuzz/libnp.a; each target links against it.

FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(CPPFLAGS) -DNP_FUZZ=1
fuzz: $(patsubst tests/fuzz/%.c,$(BF)/%,$(FUZZ_SRC))
$(BF)/obj/%.o: lib/%.c | $(BF)/obj
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) $(DEPFLAGS) -std=c11 -c -o $@ $<
$(BF)/obj/%.o: lib/%.cc | $(BF)/obj
	@mkdir -p $(@D)
	clang++ $(FUZZ_CFLAGS) -fno-sanitize=vptr $(DEPFLAGS) -std=c++14 -c -o $@ $<
$(BF)/obj/np_embedded.o: $(B)/gen/np_embedded.c | $(BF)/obj
	clang -c -o $@ $<
$(BF)/obj/np_vrdict.o: $(B)/gen/np_vrdict.c | $(BF)/obj
	clang -c -o $@ $<
$(BF)/obj/np_openapi.o: $(B)/gen/np_openapi.c | $(BF)/obj
	clang -c -o $@ $<
$(BF)/libnp.a: $(call objs,$(BF))
	rm -f $@ && ar rcs $@ $^
$(BF)/%: tests/fuzz/%.c $(BF)/libnp.a
	clang -std=c11 $(FUZZ_CFLAGS) -fsanitize=fuzzer -fsanitize-link-c++-runtime $(DEPFLAGS) -MF $(@D)/.$(@F).d -o $@ $< $(BF)/libnp.a $(LDFLAGS) $(LDLIBS)

# ---- browser test tooling (playwright-core from npm, drives Debian's chromium) ----
BROWSER_MODULES := $(B)/browser/node_modules/playwright-core/package.json
browser-deps: $(BROWSER_MODULES)
$(BROWSER_MODULES): tests/browser/package.json tests/browser/package-lock.json
	@mkdir -p $(B)/browser && cp tests/browser/package.json tests/browser/package-lock.json $(B)/browser/
	@cd $(B)/browser && { npm ci --no-audit --no-fund --ignore-scripts >/dev/null 2>&1 && touch node_modules/playwright-core/package.json; } \
		|| echo "warning: npm could not install playwright-core; browser tests will be skipped"

# ---- tests ----
# NP_BUILD tells tests where the binaries under test are (the sanitizer build).
# LeakSanitizer is on: a leak fails the program (abort_on_error); tests/lsan.supp
# names the few leaks of libraries we do not own.
# The builds run in parallel on every core; the tests run one after another
# (they start servers and measure timeouts).
NPROC := $(shell nproc 2>/dev/null || echo 2)
check: deps
	@# prove runs each script by exec: a test checked in without +x stops the run at the end.
	@for t in tests/e2e/*.t; do test -x "$$t" || { echo "$$t is not executable: chmod +x $$t && git update-index --chmod=+x $$t" >&2; exit 1; }; done
	@$(MAKE) --no-print-directory -j$(NPROC) all san
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory -j$(NPROC) fuzz || echo "fuzz targets not built (clang missing?)"
	@# Each test's JSON answers from np-httpd (tests/lib/httpd.sh req), validated by the last test against the document.
	rm -rf $(B)/api-log && mkdir -p $(B)/api-log
	NP_TOP=$(CURDIR) NP_BUILD=$(CURDIR)/$(BS) NP_PLAIN=$(CURDIR)/$(B) NP_API_LOG=$(CURDIR)/$(B)/api-log \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	CMOCKA_MESSAGE_OUTPUT=TAP TCP_NODELAY=1 \
	prove --exec '' --timer $(PROVE_FLAGS) $(UNIT_BINS) $(sort $(wildcard tests/e2e/*.t))

# ---- run the appliance ----
# The build runs after make deps (a recipe line, not a prerequisite: make -j
# would start compiling before the packages are in).
run:
	@$(MAKE) --no-print-directory deps DEPS='build run'
	@$(MAKE) --no-print-directory all
	NP_HOME=$(NP_HOME) HTTP_PORT=$(HTTP_PORT) DICOM_PORT=$(DICOM_PORT) sh sbin/np-run.sh
# A separate home, so the demo's synthetic results never mix with real ones.
demo:
	@$(MAKE) --no-print-directory deps DEPS='build run demo'
	@$(MAKE) --no-print-directory all
	NP_HOME=$(DEMO_HOME) HTTP_PORT=$(HTTP_PORT) DICOM_PORT=$(DICOM_PORT) sh sbin/np-run.sh --demo
# Nothing to build: stops both homes' trees, whichever runs.
stop:
	NP_HOME=$(NP_HOME) sh sbin/np-run.sh --stop
	NP_HOME=$(DEMO_HOME) sh sbin/np-run.sh --stop

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/neuropacs \
		$(DESTDIR)$(PREFIX)/etc/neuropacs
	install -m 755 $(wildcard $(B)/bin/*) $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(wildcard $(B)/sbin/*) $(wildcard sbin/*.sh) $(DESTDIR)$(PREFIX)/sbin/
	for s in 1 5 7 8; do install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
		for f in man/man$$s/*.$$s; do [ -f "$$f" ] && install -m 644 $$f $(DESTDIR)$(PREFIX)/share/man/man$$s/; done; done; true
	cp -R share/. $(DESTDIR)$(PREFIX)/share/neuropacs/
	rm -rf $(DESTDIR)$(PREFIX)/share/neuropacs/openapi # the generator's input
	install -m 644 $(B)/share/openapi.json $(DESTDIR)$(PREFIX)/share/neuropacs/
	install -d $(DESTDIR)$(PREFIX)/share/neuropacs/doc
	install -m 644 $(B)/man/man7/np-conformance.7 $(DESTDIR)$(PREFIX)/share/man/man7/
	install -m 644 $(B)/share/doc/np-conformance.html $(DESTDIR)$(PREFIX)/share/neuropacs/doc/
	if [ -d $(B)/vendor/node_modules ]; then install -d $(DESTDIR)$(PREFIX)/share/neuropacs/vendor && \
		cp -R $(B)/vendor/node_modules $(DESTDIR)$(PREFIX)/share/neuropacs/vendor/; \
	else echo "warning: $(B)/vendor is missing (make deps installs it): no Swagger UI at /api-docs" >&2; fi
	cp -R etc/. $(DESTDIR)$(PREFIX)/etc/neuropacs/

# Generated sources ("Generated by" in their first lines) keep their generator's layout.
# (grep over the whole file skipped np_config.c, whose comment at line 23 names
# a generated table, and np_conformance.c, which writes such a line.)
FORMAT_SRC = $(shell for f in $(LIB_C) $(wildcard $(LIB_DIRS:%=lib/%/*.h)) $(LIB_CC) $(BIN_SRC) $(SBIN_SRC) \
	$(wildcard tests/unit/*.[ch]) $(FUZZ_SRC); do head -3 $$f | grep -q 'Generated by' || echo $$f; done)
lint:
	/usr/bin/python3 tests/lib/check-layers.py
	@# SQLite only behind np_db: its np_db_* modules (lib/spool/np_db*.c) include <sqlite3.h> and np_db_int.h
	@! grep -lE '^#include [<"](sqlite3|np_db_int)\.h[>"]' $(LIB_C) $(wildcard $(LIB_DIRS:%=lib/%/*.h)) $(BIN_SRC) \
		$(SBIN_SRC) | grep -v '^lib/spool/np_db' || { echo "lint: SQLite outside lib/spool/np_db*" >&2; exit 1; }
	mandoc -Tlint -W warning $(wildcard man/man*/*.[1578]) $(wildcard $(B)/man/man7/*.7)
	clang-format --dry-run -Werror $(FORMAT_SRC)
	@test -x $(ESLINT) || { echo "lint: ESLint is not installed (make deps)" >&2; exit 1; }
	$(ESLINT) --max-warnings 0 share/web tests/browser
	@mkdir -p $(B)/cppcheck # its results per file: a second run checks only what changed
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 --library=tests/lib/cppcheck.cfg \
		--cppcheck-build-dir=$(B)/cppcheck \
		--suppress=missingIncludeSystem --suppressions-list=tests/lib/cppcheck.supp $(LIB_DIRS:%=-Ilib/%) $(LIB_C) $(BIN_SRC) $(SBIN_SRC)

clean:
	rm -rf build

# bench/out is left by make clean: the studies the benchmarks generate take
# minutes to make and are reused run after run.
clean-bench:
	rm -rf bench/out

-include $(wildcard $(B)/obj/*.d $(BS)/obj/*.d $(BF)/obj/*.d $(B)/obj/*/*.d $(BS)/obj/*/*.d $(BF)/obj/*/*.d $(B)/bin/.*.d $(B)/sbin/.*.d $(BS)/bin/.*.d \
	$(BS)/sbin/.*.d $(BS)/tests/.*.d $(BF)/.*.d)
