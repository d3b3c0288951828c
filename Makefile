# SPDX-License-Identifier: GPL-2.0
#
# kubelb top-level Makefile (the kernel module itself is built by kbuild
# through ./Kbuild; kbuild reads Kbuild, not this file).
#
#   make               kubelb.ko against KDIR + userspace (kubelbctl, kubelb-agent,
#                      libkubelb)
#   make run           build, boot a VM, load kubelb and show a short demo
#   make check         every test; ends with "N passed, N failed, N skipped"
#   make check-rig check-static check-unit check-api check-kunit check-vm check-agent
#        check-debug check-dkms check-package check-intree check-cross   one step of it
#   make bench         benchmarks (tools/bench)
#   make deps          install the Debian packages needed (apt-get, as root)
#   make install       kubelbctl, kubelb-agent, man pages, systemd unit and
#                      examples (PREFIX=/usr/local, DESTDIR=); make uninstall
#   make dkms-install  module source to /usr/src/kubelb-VERSION, dkms add,
#                      build, install (KVER=, default the running kernel);
#                      make dkms-uninstall
#   make deb           kubelb-dkms and kubelb-tools .debs in build/deb
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

# make install. The unit and the configuration live where systemd and the
# agent look whatever PREFIX is; the unit's ExecStart follows SBINDIR.
PREFIX  ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/kubelb
UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL ?= install

# The module's source as DKMS and kernel trees take it (make kmod-src DEST=).
KMOD_SRCS := $(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h)) \
	     kmod/Kconfig kmod/Makefile
DKMS_SRC := /usr/src/kubelb-$(VERSION)
DEB_DIR  := build/deb

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

check-rig check-static check-unit check-api check-kunit check-vm check-agent check-debug check-dkms \
check-package check-intree check-cross: deps
	tools/check $(patsubst check-%,%,$@)

bench: deps all
	@if [ -x tools/bench ]; then tools/bench; \
	else echo "tools/bench does not exist yet" >&2; exit 1; fi

deps:
	@tools/deps

version:
	@echo $(VERSION)

install:
	$(MAKE) -C userspace install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) \
		SBINDIR=$(SBINDIR) MANDIR=$(MANDIR)
	$(INSTALL) -d $(DESTDIR)$(MANDIR)/man4 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(DOCDIR)/examples/modprobe.d \
		$(DESTDIR)$(DOCDIR)/examples/modules-load.d
	$(INSTALL) -m 0644 man/kubelb.4 $(DESTDIR)$(MANDIR)/man4/kubelb.4
	sed 's|/usr/sbin/kubelb-agent|$(SBINDIR)/kubelb-agent|' \
		deploy/systemd/kubelb-agent.service >$(DESTDIR)$(UNITDIR)/kubelb-agent.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/kubelb-agent.service
	$(INSTALL) -m 0644 deploy/examples/services.json $(DESTDIR)$(DOCDIR)/examples/
	$(INSTALL) -m 0644 deploy/modprobe.d/kubelb.conf $(DESTDIR)$(DOCDIR)/examples/modprobe.d/
	$(INSTALL) -m 0644 deploy/modules-load.d/kubelb.conf $(DESTDIR)$(DOCDIR)/examples/modules-load.d/

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/kubelbctl $(DESTDIR)$(SBINDIR)/kubelb-agent \
		$(DESTDIR)$(MANDIR)/man8/kubelbctl.8 $(DESTDIR)$(MANDIR)/man8/kubelb-agent.8 \
		$(DESTDIR)$(MANDIR)/man4/kubelb.4 $(DESTDIR)$(UNITDIR)/kubelb-agent.service
	rm -rf $(DESTDIR)$(DOCDIR)

# Copies only files whose content changed, so kbuild in DEST stays incremental.
kmod-src:
	@test -n "$(DEST)" || { echo "kmod-src: set DEST=DIR" >&2; exit 1; }
	$(INSTALL) -d $(DEST)/kmod $(DEST)/include/uapi/linux
	$(INSTALL) -C -m 0644 dkms.conf Kbuild $(DEST)/
	$(INSTALL) -C -m 0644 $(KMOD_SRCS) $(DEST)/kmod/
	$(INSTALL) -C -m 0644 include/uapi/linux/kubelb.h $(DEST)/include/uapi/linux/

dkms-install:
	@test "$$(id -u)" = 0 || { echo "dkms-install: needs root" >&2; exit 1; }
	@command -v dkms >/dev/null || { echo "dkms-install: dkms is not installed" >&2; exit 1; }
	@if dpkg -S $(DKMS_SRC) >/dev/null 2>&1; then \
		echo "dkms-install: $(DKMS_SRC) belongs to a package (kubelb-dkms?): remove it first" >&2; \
		exit 1; fi
	-dkms remove kubelb/$(VERSION) --all >/dev/null 2>&1
	rm -rf $(DKMS_SRC)
	$(MAKE) --no-print-directory kmod-src DEST=$(DKMS_SRC)
	dkms add kubelb/$(VERSION)
	dkms build kubelb/$(VERSION) $(if $(KVER),-k $(KVER))
	dkms install kubelb/$(VERSION) $(if $(KVER),-k $(KVER))

dkms-uninstall:
	@test "$$(id -u)" = 0 || { echo "dkms-uninstall: needs root" >&2; exit 1; }
	-dkms remove kubelb/$(VERSION) --all
	rm -rf $(DKMS_SRC)

# dpkg-buildpackage writes next to the source tree and into debian/: build
# from a copy of the tree in build/deb, so the packages land in build/deb.
deb:
	@command -v dpkg-buildpackage >/dev/null || { echo "deb: apt-get install dpkg-dev debhelper dh-dkms" >&2; exit 1; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/kubelb-$(VERSION)
	{ git ls-files -z --cached --others --exclude-standard 2>/dev/null || \
	  find . \( -path ./build -o -path ./.git \) -prune -o -type f -printf '%P\0'; } | \
	  xargs -0 sh -c 'for f; do [ -f "$$f" ] && printf "%s\0" "$$f"; done' sh | \
	  cpio -0pdm --quiet $(DEB_DIR)/kubelb-$(VERSION)
	cd $(DEB_DIR)/kubelb-$(VERSION) && dpkg-buildpackage -b -us -uc $(DEB_FLAGS)
	@ls -1 $(DEB_DIR)/*.deb

clean:
	@if [ -n "$(KDIR)" -a -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	$(MAKE) -C userspace clean
	rm -rf build out

help:
	@sed -n '3,22s/^# \{0,1\}//p' Makefile

.PHONY: all modules userspace run check check-rig check-static check-unit check-api check-kunit \
	check-vm check-agent check-debug check-dkms check-package check-intree check-cross bench deps version clean help \
	install uninstall kmod-src dkms-install dkms-uninstall deb
