# SPDX-License-Identifier: GPL-2.0
#
# kubelb top-level Makefile (the kernel module itself is built by kbuild
# through ./Kbuild; kbuild reads Kbuild, not this file).
#
#   make               kubelb.ko against KDIR + userspace (kubelbctl, libkubelb)
#   make run           build, boot a VM, load kubelb and show a short demo
#   make check         every test; ends with "N passed, N failed"
#   make check-static check-unit check-kunit check-vm check-debug check-dkms
#   make bench         benchmarks (tools/bench)
#   make deps          install the Debian packages needed (apt-get, as root)
#   make clean

KDIR ?= $(shell \
	if [ -d /lib/modules/$$(uname -r)/build ]; then \
		echo /lib/modules/$$(uname -r)/build; \
	else \
		ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n1; \
	fi)
KUBELB_CACHE ?= $(HOME)/.cache/kubelb
export KUBELB_CACHE
# One place for the version: KUBELB_DRV_VERSION in kmod/kubelb.h.
VERSION := $(shell sed -n 's/^\#define[[:space:]]*KUBELB_DRV_VERSION[[:space:]]*"\(.*\)".*/\1/p' kmod/kubelb.h)
J ?= 2

all: modules userspace

modules:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { \
		echo "No kernel build dir (KDIR=$(KDIR)): install linux-headers-amd64 (make deps) or set KDIR=" >&2; \
		exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) -j$(J) modules

userspace:
	$(MAKE) -C userspace -j$(J)

run: deps all
	tools/vm-run --timeout 600 -- tools/demo

check: deps
	tools/check

check-static check-unit check-kunit check-vm check-debug check-dkms: deps
	tools/check $(patsubst check-%,%,$@)

bench: deps all
	@if [ -x tools/bench ]; then tools/bench; \
	else echo "tools/bench does not exist yet" >&2; exit 1; fi

deps:
	@tools/deps

version:
	@echo $(VERSION)

clean:
	@if [ -n "$(KDIR)" -a -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	$(MAKE) -C userspace clean
	rm -rf build out

help:
	@sed -n '3,13s/^# \{0,1\}//p' Makefile

.PHONY: all modules userspace run check check-static check-unit check-kunit \
	check-vm check-debug check-dkms bench deps version clean help
