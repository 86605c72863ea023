# tests/peers/recv.sh: start/stop np-recv for the e2e tests (source after tap.sh).
#   recv_config JSON_DICOM_SECTION   write $NP_HOME/etc/neuropacs.json {"dicom": ...}
#   recv_start [ARGS...]             start $SBIN/np-recv --port $RECV_PORT, wait for the port;
#                                    sets RECV_PID; log in $T/recv.log (appended)
#   recv_stop                        SIGTERM and wait
#   incoming_count                   number of .dcm files under spool/incoming
RECV_PORT=${RECV_PORT:-$(free_port)}
recv_config() {
	mkdir -p "$NP_HOME/etc"
	printf '{"dicom": %s}\n' "$1" >"$NP_HOME/etc/neuropacs.json"
}
recv_start() {
	"$SBIN/np-recv" --port "$RECV_PORT" "$@" 2>>"$T/recv.log" &
	RECV_PID=$!
	at_exit "kill -9 $RECV_PID 2>/dev/null"
	wait_port "$RECV_PORT" 20 || { echo "# np-recv did not start"; cat "$T/recv.log"; }
}
recv_stop() { stop_pid "$RECV_PID"; }
incoming_count() { find "$NP_HOME/spool/incoming" -name '*.dcm' 2>/dev/null | wc -l | tr -d ' '; }
