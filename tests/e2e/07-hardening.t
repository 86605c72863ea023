#!/bin/sh
# The plain build (what make run and make install ship) is hardened: every
# program in build/bin and build/sbin is a PIE with stack protector, FORTIFY
# source, full RELRO (read-only relocations and immediate binding), stack-clash
# and control-flow protection. hardening-check (Debian's devscripts) reads the
# ELF files; any "no" fails the program. "unknown" is not a failure: it means
# hardening-check found nothing to judge by, e.g. a program that calls no libc
# function FORTIFY has a checked copy of.
#
# Control flow integrity: the linker marks a program IBT/SHSTK only when every
# object it links carries the mark, and Debian 12's C start files (Scrt1.o,
# crti.o, built by a glibc without CET) carry none, so hardening-check says "no"
# for every program linked there, even a hello world built with -fcf-protection.
# Where the start files lack the mark, the test checks instead that the
# program's code was compiled with -fcf-protection: main starts with endbr64.
. "$(dirname "$0")/../lib/tap.sh"
command -v hardening-check >/dev/null 2>&1 || skip_all "hardening-check is not installed (Debian package devscripts)"
command -v objdump >/dev/null 2>&1 || skip_all "objdump is not installed (Debian package binutils)"
crt_cet=yes
crt=$(${CC:-cc} -print-file-name=Scrt1.o)
readelf -n "$crt" 2>/dev/null | grep -q 'IBT, SHSTK' || crt_cet=no
[ "$crt_cet" = yes ] || diag "$crt has no IBT/SHSTK mark: control flow protection checked by endbr64 at main"
progs=
for src in "$NP_TOP"/bin/*.c "$NP_TOP"/sbin/*.c; do
	d=$(basename "$(dirname "$src")"); n=$(basename "$src" .c)
	progs="$progs $PLAIN/$d/$n"
done
plan $(echo $progs | wc -w)
for p in $progs; do
	name=${p#"$PLAIN"/}
	if [ ! -x "$p" ]; then
		_tap_result 1 "$name is built"
		continue
	fi
	out=$(hardening-check "$p" 2>&1)
	if [ "$crt_cet" = no ]; then
		out=$(printf '%s\n' "$out" | grep -v '^ Control flow integrity:')
		objdump -d --disassemble=main "$p" 2>/dev/null | grep -A1 '<main>:' | grep -q endbr64 \
			|| out="$out
 Control flow integrity: no, main does not start with endbr64"
	fi
	bad=$(printf '%s\n' "$out" | grep -E ': no\b' || true)
	is "$bad" "" "$name: hardening-check finds nothing missing"
done
