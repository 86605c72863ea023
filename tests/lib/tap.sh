# tests/lib/tap.sh: shared helpers for the e2e tests (POSIX sh, TAP output).
# Source it first thing:  . "$(dirname "$0")/../lib/tap.sh"
# Gives: plan N, ok COND-CMD..., is GOT WANT NAME, skip_all REASON, diag, bail,
# a temporary agent home in $NP_HOME (removed on exit), $BIN (binaries under
# test), free_port, wait_port PORT, and cleanup hooks (at_exit "cmd").
set -u
NP_TOP=${NP_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
NP_BUILD=${NP_BUILD:-$NP_TOP/build/san}
export NP_TOP NP_BUILD
BIN=$NP_BUILD/bin
SBIN=$NP_BUILD/sbin
PLAIN=${NP_PLAIN:-$NP_TOP/build}
_tap_n=0
_tap_failed=0
_tap_exit_cmds=""
T=$(mktemp -d "${TMPDIR:-/tmp}/np-test.XXXXXX")
export NP_HOME="$T/home"
export TCP_NODELAY=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}

at_exit() { _tap_exit_cmds="$1
$_tap_exit_cmds"; }
_tap_cleanup() {
	rc=$?
	set +e
	eval "$_tap_exit_cmds"
	if [ "$_tap_failed" = 0 ] && [ -z "${NP_KEEP_TMP:-}" ]; then rm -rf "$T"; else echo "# test files kept in $T"; fi
	exit $rc
}
trap _tap_cleanup EXIT
trap 'exit 130' INT TERM

plan() { echo "1..$1"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
diag() { echo "# $*"; }
bail() { echo "Bail out! $*"; exit 1; }
_tap_result() {
	_tap_n=$((_tap_n + 1))
	if [ "$1" = 0 ]; then echo "ok $_tap_n - $2"; else echo "not ok $_tap_n - $2"; _tap_failed=1; fi
}
# ok NAME CMD...: passes when CMD exits 0.
ok() { _n=$1; shift; if "$@" >/dev/null 2>&1; then _tap_result 0 "$_n"; else _tap_result 1 "$_n"; fi; }
# nok NAME CMD...: passes when CMD exits non-zero.
nok() { _n=$1; shift; if "$@" >/dev/null 2>&1; then _tap_result 1 "$_n"; else _tap_result 0 "$_n"; fi; }
# is GOT WANT NAME
is() {
	if [ "$1" = "$2" ]; then _tap_result 0 "$3"; else _tap_result 1 "$3"; echo "#   got: '$1'"; echo "#  want: '$2'"; fi
}
# like GOT PATTERN NAME (grep -E)
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then _tap_result 0 "$3"; else _tap_result 1 "$3"; echo "#   got: '$1'"; echo "#  want match: '$2'"; fi
}
done_testing() { echo "1..$_tap_n"; }

# A TCP port free on 127.0.0.1 right now.
free_port() {
	/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}
# Wait up to ${2:-10} s for 127.0.0.1:PORT to accept connections.
wait_port() {
	_i=0
	while [ $_i -lt $((${2:-10} * 20)) ]; do
		if /usr/bin/python3 -c "import socket,sys;s=socket.socket();s.settimeout(0.2);sys.exit(s.connect_ex(('127.0.0.1',$1)))" 2>/dev/null; then return 0; fi
		sleep 0.05; _i=$((_i + 1))
	done
	return 1
}
# Wait up to $2 s (default 10) until the shell condition $1 is true.
wait_for() {
	_i=0
	while [ $_i -lt $((${2:-10} * 10)) ]; do
		if eval "$1"; then return 0; fi
		sleep 0.1; _i=$((_i + 1))
	done
	return 1
}
# Stop a background process by PID and wait for it.
stop_pid() { kill "$1" 2>/dev/null; _i=0; while kill -0 "$1" 2>/dev/null && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done; kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; true; }
