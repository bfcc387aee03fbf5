# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# sluice build: bpf/*.bpf.c -> clang -target bpf -> bpftool gen object ->
# bpftool gen skeleton -> user/ binaries. Intermediates live in build/.
# `make V=1` shows the commands.

OUT        := build
CLANG      ?= clang
CC         ?= gcc
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man

# vmlinux.h is generated from the running kernel's BTF. Types are read
# with CO-RE, so the object runs on other kernels with BTF as well.
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	      -fno-stack-protector -Wall -Werror -I$(OUT) -Iinclude -Ibpf
CFLAGS     ?= -O2 -g
CFLAGS     += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	      -Wformat=2 -D_GNU_SOURCE -Iinclude -Iuser -I$(OUT)
LDLIBS_BPF := -lbpf -lelf -lz

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS    := $(wildcard bpf/*.bpf.c)
BPF_OBJS    := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
BPF_SKELS   := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
BPF_HDRS    := $(wildcard bpf/lib/*.h) $(wildcard include/sluice/*.h)

LIB_SRCS    := $(wildcard user/lib/*.c)
LIB_OBJS    := $(patsubst user/%.c,$(OUT)/user/%.o,$(LIB_SRCS))
LIB_HDRS    := $(wildcard user/lib/*.h) $(wildcard include/sluice/*.h)
TOOL_HDRS   := $(wildcard user/sluiced/*.h) $(wildcard user/sluicectl/*.h)
LIB         := $(OUT)/libsluice.a

SLUICED_SRCS   := $(wildcard user/sluiced/*.c)
SLUICECTL_SRCS := $(wildcard user/sluicectl/*.c)
SLUICED_OBJS   := $(patsubst user/%.c,$(OUT)/user/%.o,$(SLUICED_SRCS))
SLUICECTL_OBJS := $(patsubst user/%.c,$(OUT)/user/%.o,$(SLUICECTL_SRCS))
BINS           := $(OUT)/sluiced $(OUT)/sluicectl

USER_LDLIBS := $(LDLIBS_BPF) -linih -lcjson -lm

.PHONY: all deps test test-unit test-prog test-integration bench demo \
	check clean install uninstall-files lab-clean
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BINS)

$(OUT) $(OUT)/user/lib $(OUT)/user/sluiced $(OUT)/user/sluicectl $(OUT)/tests:
	$(Q)mkdir -p $@

$(OUT)/vmlinux.h: | $(OUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(OUT)/%.tmp.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(OUT)/vmlinux.h | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.bpf.o: $(OUT)/%.tmp.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(OUT)/user/%.o: user/%.c $(LIB_HDRS) $(TOOL_HDRS) $(BPF_SKELS) | $(OUT)/user/lib $(OUT)/user/sluiced $(OUT)/user/sluicectl
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(OUT)/sluiced: $(SLUICED_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(USER_LDLIBS)

$(OUT)/sluicectl: $(SLUICECTL_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(USER_LDLIBS)

# --- tests -----------------------------------------------------------------
# Tier 1: user-space units (cmocka). Tier 2: BPF programs through
# BPF_PROG_TEST_RUN (cmocka, needs root). Tier 3: network-namespace
# integration (pytest, needs root). tests/run.sh runs the tiers and prints
# one summary line.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
PROG_SRCS := $(wildcard tests/prog/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))
PROG_BINS := $(patsubst tests/prog/%.c,$(OUT)/tests/%,$(PROG_SRCS))
TEST_HDRS := $(wildcard tests/prog/*.h) $(wildcard tests/unit/*.h)

# Unit and program tests link the daemon's objects too (all but main.o), as an archive,
# so that a test pulls in only the files it calls (config.o for the parser).
SLUICED_CORE := $(OUT)/libsluiced.a

$(SLUICED_CORE): $(filter-out $(OUT)/user/sluiced/main.o,$(SLUICED_OBJS))
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(OUT)/tests/test_%: tests/unit/test_%.c $(SLUICED_CORE) $(LIB) $(LIB_HDRS) $(TOOL_HDRS) $(TEST_HDRS) | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(SLUICED_CORE) $(LIB) $(USER_LDLIBS) -lcmocka

$(OUT)/tests/test_%: tests/prog/test_%.c $(SLUICED_CORE) $(LIB) $(LIB_HDRS) $(TOOL_HDRS) $(TEST_HDRS) $(BPF_SKELS) | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/prog $< -o $@ $(SLUICED_CORE) $(LIB) $(USER_LDLIBS) -lcmocka

# The lab's delay line (tests/lab/delayline.c): plain C, no libraries.
DELAYLINE := $(OUT)/tests/lab/delayline

$(DELAYLINE): tests/lab/delayline.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< -o $@

test-bins: $(BINS) $(UNIT_BINS) $(PROG_BINS) $(DELAYLINE)

# deps first: `sudo make test` is meant to work on a fresh machine.
test: deps
	$(Q)$(MAKE) --no-print-directory test-bins
	$(Q)tests/run.sh all

test-unit: $(UNIT_BINS)
	$(Q)tests/run.sh unit

test-prog: $(PROG_BINS)
	$(Q)tests/run.sh prog

test-integration: $(BINS) $(DELAYLINE)
	$(Q)tests/run.sh integration

# Benchmark harnesses: tools/bench/NAME.c -> build/tools/NAME
TOOL_SRCS := $(wildcard tools/bench/*.c)
TOOL_BINS := $(patsubst tools/bench/%.c,$(OUT)/tools/%,$(TOOL_SRCS))

$(OUT)/tools:
	$(Q)mkdir -p $@

$(OUT)/tools/%: tools/bench/%.c $(LIB) $(LIB_HDRS) $(BPF_SKELS) | $(OUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/prog $< -o $@ $(LIB) $(USER_LDLIBS)

bench-bins: $(BINS) $(TOOL_BINS) $(DELAYLINE)

# --- install, demo, bench ----------------------------------------------------
# Debian packages the project needs. Idempotent: installs only what is missing.
DEPS := clang libbpf-dev bpftool libelf-dev zlib1g-dev make gcc cppcheck \
	libinih-dev libcjson-dev libcmocka-dev uthash-dev \
	iproute2 iputils-ping iperf3 sockperf nginx-light wrk ethtool python3 python3-pytest \
	gnuplot-nox

deps:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "all dependencies present"; fi

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo.sh

# The datapath's own figures, then the adaptive scenarios (about 15 minutes
# together); results and plots in bench-results/.
bench: bench-bins
	$(Q)tools/bench.sh
	$(Q)tools/bench_adaptive.sh

check: all
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr -D__x86_64__ "-DDECLARE_LIBBPF_OPTS(TYPE,NAME,...)=struct TYPE NAME" \
		--suppress=missingIncludeSystem -Iinclude -Iuser -I$(OUT) user/ tests/unit tests/prog

install: all
	install -D -m 0755 $(OUT)/sluiced $(DESTDIR)$(SBINDIR)/sluiced
	install -D -m 0755 $(OUT)/sluicectl $(DESTDIR)$(SBINDIR)/sluicectl
	install -D -m 0644 docs/man/sluiced.8 $(DESTDIR)$(MANDIR)/man8/sluiced.8
	install -D -m 0644 docs/man/sluicectl.8 $(DESTDIR)$(MANDIR)/man8/sluicectl.8
	install -D -m 0644 docs/man/sluice.conf.5 $(DESTDIR)$(MANDIR)/man5/sluice.conf.5
	install -d $(DESTDIR)/etc/systemd/system
	sed 's|@SBINDIR@|$(SBINDIR)|g' tools/sluiced.service > $(DESTDIR)/etc/systemd/system/sluiced.service
	test -e $(DESTDIR)/etc/sluice/sluice.conf || \
		install -D -m 0644 tools/sluice.conf.example $(DESTDIR)/etc/sluice/sluice.conf

clean:
	rm -rf $(OUT)
