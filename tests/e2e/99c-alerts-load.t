#!/bin/sh
# Alerts under a synthetic load: the spool is a 64 MiB tmpfs and the load is
# data written into it, as arriving studies would. low_disk fires once under
# load and is e-mailed once; inside the hysteresis band (up to 5 points above
# the threshold) nothing changes; with the space back, metric_recovered is
# raised and e-mailed once; a new load raises a new alert.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/deliver.sh"
plan 12

mkdir -p "$NP_HOME/spool"
mount -t tmpfs -o size=64m,mode=0750 np-test-spool "$NP_HOME/spool" 2>/dev/null ||
	skip_all "cannot mount a tmpfs (needs root)"
at_exit "umount '$NP_HOME/spool'"
smtp_start "$T/mail"
# The CPU of a shared machine is no synthetic load: its alert is kept out.
settings "{\"smtp\":{\"host\":\"127.0.0.1\",\"port\":$SMTP_PORT,\"security\":\"none\",\"from\":\"agent@example.test\"},
 \"notifications\":{\"method\":\"email\",\"recipients\":\"ops@example.test\",
  \"events\":{\"low_disk\":true,\"metric_recovered\":true},
  \"thresholds\":{\"disk_free_percent\":50,\"cpu_percent\":100}}}"
"$BIN/np-config" check >/dev/null
FILL=$NP_HOME/spool/tmp/load
events() { sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT count(*) FROM events WHERE type='$1'"; }
tick() { "$BIN/np-metrics" 2>>"$T/metrics.log"; "$BIN/np-notify" --pending 2>>"$T/notify.log"; }
free_pct() { "$BIN/np-metrics" --json --no-alerts --no-store 2>/dev/null | jget /dev/stdin 'round(d["system"]["disk_free_percent"])'; }
mails() { grep -l -i '^Subject:.*\(low_disk\|metric_recovered\)' "$T/mail"/*.eml 2>/dev/null | wc -l | tr -d ' '; }
load() { dd if=/dev/zero of="$FILL" bs=1M count="$1" 2>/dev/null; } # MiB

tick
is "$(events low_disk)" 0 "an empty spool ($(free_pct)% free, threshold 50%): no alert"
load 40
tick
is "$(events low_disk)" 1 "40 MiB written ($(free_pct)% free): low_disk fires"
like "$(sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT detail FROM events WHERE type='low_disk'")" \
	'^metric=disk_free_percent value=[0-9.]+ threshold=50$' "... with the value and the threshold"
is "$(mails)" 1 "... and is e-mailed"
tick
is "$(events low_disk) $(mails)" "1 1" "still loaded: not raised or sent again"
truncate -s 31M "$FILL"
tick
is "$(events low_disk) $(events metric_recovered)" "1 0" \
	"above the threshold but inside the hysteresis band ($(free_pct)% free): no recovery yet"
rm -f "$FILL"
tick
is "$(events metric_recovered)" 1 "space back ($(free_pct)% free): metric_recovered once"
like "$(sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT detail FROM events WHERE type='metric_recovered'")" \
	'^alert=low_disk metric=disk_free_percent ' "... naming the alert"
is "$(mails)" 2 "... and is e-mailed"
tick
is "$(events low_disk) $(events metric_recovered) $(mails)" "1 1 2" "idle again: nothing more"
ok "the alert e-mails go to the configured recipient" sh -c "grep -l -i '^To: .*ops@example.test' '$T/mail'/*.eml | wc -l | grep -qx 2"
load 40
tick
is "$(events low_disk)" 2 "a new load raises a new alert"
