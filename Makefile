# make                  builds the tools (scripts/bootstrap: the Debian packages, then a release build)
# make install          installs them under PREFIX (default /usr/local), into DESTDIR if given:
#                       the six tools, their man pages, bash, zsh and fish completions,
#                       the scripts meant for users (seed-window, seed-plan, seed-report),
#                       and the recipes of examples/ under PREFIX/share/seed/examples
# make uninstall        removes what install put there
PREFIX ?= /usr/local
DESTDIR ?=

TOOLS := seed-snapshot seed-compress seed-split seed-encrypt seed-journal seed-writeblk
SCRIPTS := seed-window seed-plan seed-report
EXAMPLES := Makefile seed-share systemd/seed-window@.service systemd/seed-window@.timer
PAGES1 := $(addsuffix .1,$(TOOLS) $(SCRIPTS))
PAGES5 := seed-stream.5 seed-journal.5
PAGES7 := seed.7

bindir := $(DESTDIR)$(PREFIX)/bin
mandir := $(DESTDIR)$(PREFIX)/share/man
bashdir := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
zshdir := $(DESTDIR)$(PREFIX)/share/zsh/site-functions
fishdir := $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
exampledir := $(DESTDIR)$(PREFIX)/share/seed/examples

.PHONY: all build install uninstall

all: build

build:
	scripts/bootstrap

# Where the tools were built (BUILT= another build's); built first when they are not.
BUILT ?= $(shell swift build -c release --show-bin-path 2>/dev/null)
built = $(BUILT)

install:
	@test -x "$(built)/seed-snapshot" || scripts/bootstrap
	install -d "$(bindir)" "$(mandir)/man1" "$(mandir)/man5" "$(mandir)/man7" "$(bashdir)" "$(zshdir)" "$(fishdir)" "$(exampledir)/systemd"
	for e in $(EXAMPLES); do install -m $$(test -x "examples/$$e" && echo 755 || echo 644) "examples/$$e" "$(exampledir)/$$e"; done
	for t in $(TOOLS); do install -m 755 "$(built)/$$t" "$(bindir)/$$t"; done
	for s in $(SCRIPTS); do install -m 755 "scripts/$$s" "$(bindir)/$$s"; done
	for p in $(PAGES1); do install -m 644 "man/man1/$$p" "$(mandir)/man1/$$p"; done
	for p in $(PAGES5); do install -m 644 "man/man5/$$p" "$(mandir)/man5/$$p"; done
	for p in $(PAGES7); do install -m 644 "man/man7/$$p" "$(mandir)/man7/$$p"; done
	for t in $(TOOLS); do \
	  "$(built)/$$t" --generate-completion-script bash > "$(bashdir)/$$t" && \
	  "$(built)/$$t" --generate-completion-script zsh > "$(zshdir)/_$$t" && \
	  "$(built)/$$t" --generate-completion-script fish > "$(fishdir)/$$t.fish" || exit 1; \
	done

uninstall:
	for t in $(TOOLS); do rm -f "$(bindir)/$$t" "$(bashdir)/$$t" "$(zshdir)/_$$t" "$(fishdir)/$$t.fish"; done
	for s in $(SCRIPTS); do rm -f "$(bindir)/$$s"; done
	for e in $(EXAMPLES); do rm -f "$(exampledir)/$$e"; done
	-rmdir "$(exampledir)/systemd" "$(exampledir)" "$(DESTDIR)$(PREFIX)/share/seed" 2> /dev/null
	for p in $(PAGES1); do rm -f "$(mandir)/man1/$$p"; done
	for p in $(PAGES5); do rm -f "$(mandir)/man5/$$p"; done
	for p in $(PAGES7); do rm -f "$(mandir)/man7/$$p"; done
