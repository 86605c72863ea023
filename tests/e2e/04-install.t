#!/bin/sh
# make install PREFIX=... DESTDIR=...: programs, man pages, shipped settings,
# schemas and the web UI land where np_paths and man(1) look for them, and
# an installed program runs.
. "$(dirname "$0")/../lib/tap.sh"
plan 9
D="$T/dest"
make -s -C "$NP_TOP" install PREFIX=/opt/np DESTDIR="$D" > "$T/install.log" 2>&1
is "$?" 0 "make install succeeds into a DESTDIR"
P="$D/opt/np"
ok "bin/ holds every tool" test -x "$P/bin/np-queue" -a -x "$P/bin/np-config" -a -x "$P/bin/np-index"
n_src=$(ls "$NP_TOP"/bin/*.c | wc -l); n_inst=$(ls "$P/bin" | wc -l)
is "$n_inst" "$n_src" "one installed program per bin/*.c"
ok "sbin/ holds the daemons" test -x "$P/sbin/np-recv" -a -x "$P/sbin/np-run.sh"
ok "man pages in every section" test -f "$P/share/man/man1/np-queue.1" -a -f "$P/share/man/man5/np-manifest.5" \
	-a -f "$P/share/man/man7/np-spool.7" -a -f "$P/share/man/man8/np-index.8"
ok "schemas and shipped settings" test -f "$P/share/neuropacs/schema/config.schema.json" \
	-a -f "$P/share/neuropacs/schema/manifest.schema.json" -a -f "$P/etc/neuropacs/neuropacs.json"
is "$(find "$D" -name '*.d' -o -name '*.o' | wc -l)" 0 "no build by-products installed"
is "$("$P/bin/np-config" --home "$T/h" get dicom.ae_title)" NEUROPACS_SCP "an installed program runs"
if command -v man >/dev/null 2>&1; then
	MANPATH="$P/share/man" man -w np-spool > "$T/man" 2>&1
	like "$(cat "$T/man")" "man7/np-spool.7" "man(1) finds the pages"
else
	echo "ok 9 # skip man(1) is not installed"
fi
