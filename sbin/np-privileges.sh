# np-privileges.sh: sourced by np-run.sh. np_privileges HOME SBIN BIN sets,
# when run as root, who each service runs as (NP_AS_BACKEND, NP_AS_WEB,
# NP_AS_RECV, NP_AS_LOG: setpriv command prefixes read by etc/s6/*/run) and
# hands the home and its secrets to them. Not root, or NP_USER=root, the
# prefixes stay empty and everything runs as the invoking user.
#
# Two users and three groups:
#   neuropacs        (user) the back-end (np-queue and its workers,
#                    np-stable, np-sched, np-atna), np-httpd and the loggers
#   neuropacs-recv   (user) np-recv, the DICOM listener: it faces the network
#                    and parses what any host sends, so it shares nothing it
#                    could change with the others but the study folders
#   neuropacs        (group) the study data: spool, index, logs; folders
#                    setgid 2770, files 0660 (umask 007), so np-stable can
#                    move np-recv's folders; every service is in it
#   neuropacs-cloud  cloud.api_key, cloud.service_password, cloud.token: the
#                    back-end only
#   neuropacs-keys   every other secret (session key, password hash, SAML
#                    and delivery keys): the back-end and np-httpd
# The home and etc are root's (root:neuropacs 0750), so no service can
# rename or replace what is in them; etc/secrets is root's too
# (root:neuropacs 0710, each secret root's, 0440, of its group). The
# services write only in folders of their own: the data (spool, db, log)
# and etc/settings (the settings np-httpd saves; etc/neuropacs.json links
# there), etc/tls (uploaded certificates), etc/sealed (secrets written while
# the agent runs, sealed to root's key pair of their group, lib/core/np_seal.h).
# Root writes into such a folder only through new files it owns until they
# have their name (np_write_atomic_owned), never by a path a service could
# have linked elsewhere. Each role has its own primary group, so even
# np-httpd and the back-end, which share the uid, cannot trace each other
# (ptrace, /proc/PID/mem, environ).
np_priv_groups="neuropacs neuropacs-cloud neuropacs-keys"
# Secrets only the back-end reads (the rest are of neuropacs-keys); the
# same list as secret_group() in lib/core/np_config.c.
np_priv_cloud_secrets="cloud.api_key cloud.service_password cloud.token"

# A checkout under /root (mode 0700) is out of the service user's reach:
# `make run` must still start on a fresh machine, so it runs as root and says
# loudly how to get the split (NP_USER=root says it is wanted).
np_priv_unreachable() {
	echo "neuropacs-agent: WARNING: the service user $user cannot $1, so every service runs as root and" \
		"reads every secret. Install the agent outside /root (make install) or make the folders above it" \
		"searchable (chmod o+x) to run the services as $user; NP_USER=root silences this warning." >&2
	NP_AS_BACKEND= NP_AS_WEB= NP_AS_RECV= NP_AS_LOG= NP_UMASK=
}

# np_priv_user NAME: the system user NAME, primary group neuropacs, made
# when missing (no supplementary groups in /etc/group: each service gets
# its groups from setpriv).
np_priv_user() {
	getent passwd "$1" >/dev/null ||
		useradd --system --gid neuropacs --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$1" ||
		{ echo "np-run.sh: unable to create the user $1" >&2; exit 100; }
}

# np_priv_own DIR GID: DIR is the service user's, setgid GID, 2770. Root
# never walks a tree a service could have changed: only a folder still
# root's (a home np-init made, or one run as root before) is given whole,
# as no service wrote in it; inside a folder already the service user's,
# the service user itself opens what it owns to the group (setpriv).
np_priv_own() {
	if [ -L "$1" ]; then
		echo "np-run.sh: $1 is a symbolic link; refusing to start (a service may have made it)" >&2
		exit 100
	fi
	mkdir -p "$1"
	if [ "$(stat -c %u "$1")" = 0 ]; then
		chown -R -P "$uid:$2" "$1"
	fi
	setpriv --reuid="$uid" --regid="$2" --groups="$gbase,$gkeys" find "$1" -user "$uid" ! -type l \
		\( -type d ! -perm -2070 -exec chmod g+rwxs {} + \) -o \( ! -type d ! -perm -0060 -exec chmod g+rw {} + \)
	# the whole tree to GID (the index, the logs); not the spool, whose
	# folders keep the group of their state (${3:-})
	[ "${3:-}" = keep-groups ] ||
		setpriv --reuid="$uid" --regid="$2" --groups="$gbase,$gkeys" find "$1" -user "$uid" ! -type l ! -group "$2" \
			-exec chgrp "$2" {} +
}

np_privileges() {
	NP_AS_BACKEND= NP_AS_WEB= NP_AS_RECV= NP_AS_LOG= NP_UMASK=
	export NP_AS_BACKEND NP_AS_WEB NP_AS_RECV NP_AS_LOG NP_UMASK
	[ "$(id -u)" = 0 ] || return 0
	user=${NP_USER:-neuropacs}
	if [ "$user" = root ]; then
		echo "neuropacs-agent: warning: NP_USER=root: every service runs as root and reads every secret"
		return 0
	fi
	command -v setpriv >/dev/null || { echo "np-run.sh: setpriv (util-linux) is missing" >&2; exit 100; }
	for g in $np_priv_groups; do
		getent group "$g" >/dev/null || groupadd --system "$g" ||
			{ echo "np-run.sh: unable to create the group $g" >&2; exit 100; }
	done
	np_priv_user "$user"
	np_priv_user "$user-recv"
	uid=$(id -u "$user")
	uid_recv=$(id -u "$user-recv")
	gbase=$(getent group neuropacs | cut -d: -f3)
	gcloud=$(getent group neuropacs-cloud | cut -d: -f3)
	gkeys=$(getent group neuropacs-keys | cut -d: -f3)
	# The service users must reach the programs and the home (a tree under
	# /root, mode 0700, they cannot): refuse rather than run as root unasked.
	for p in "$sbin/np-httpd" "$bin/np-queue" "$sbin/np-recv"; do
		setpriv --reuid="$uid_recv" --regid="$gbase" --clear-groups test -x "$p" || {
			np_priv_unreachable "run $p"
			return 0
		}
	done
	setpriv --reuid="$uid_recv" --regid="$gbase" --clear-groups test -x "$(dirname "$home")" || {
		np_priv_unreachable "reach the folder of $home"
		return 0
	}
	drop="--inh-caps=-all --bounding-set=-all --no-new-privs"
	NP_AS_BACKEND="setpriv --reuid=$uid $drop --regid=$gcloud --groups=$gkeys,$gbase --"
	NP_AS_WEB="setpriv --reuid=$uid $drop --regid=$gkeys --groups=$gbase --"
	NP_AS_LOG="setpriv --reuid=$uid $drop --regid=$gbase --clear-groups --"
	# Port 104 (below 1024) through the one capability, kept across exec.
	NP_AS_RECV="setpriv --reuid=$uid_recv --regid=$gbase --clear-groups --inh-caps=-all,+net_bind_service"
	NP_AS_RECV="$NP_AS_RECV --ambient-caps=-all,+net_bind_service --bounding-set=-all,+net_bind_service --no-new-privs --"
	# The home and etc are root's: no service can rename or replace what is
	# in them. A link where etc should be stops the start.
	if [ -L "$home/etc" ]; then
		echo "np-run.sh: $home/etc is a symbolic link; refusing to start (a service may have made it)" >&2
		exit 100
	fi
	mkdir -p "$home/etc"
	chown root:"$gbase" "$home" "$home/etc" && chmod 0750 "$home" "$home/etc"
	# What the services write in etc, each a folder of theirs in root's
	# etc: settings (np-httpd saves them; np-recv, of group neuropacs only,
	# reads them), tls (certificates uploaded on the Settings page), sealed
	# (secrets written while the agent runs, 0700). A link there (an
	# earlier version let services write etc) is dropped.
	for sub in settings:2750 tls:2750 sealed:0700; do
		d=$home/etc/${sub%%:*}
		if [ -L "$d" ]; then rm -f "$d"; fi
		mkdir -p "$d"
		if [ "$(stat -c %u "$d")" = 0 ]; then chown -R -P "$uid:$gbase" "$d"; fi
		chmod "${sub#*:}" "$d"
	done
	# The settings file moves into etc/settings, written there the way a
	# save does (np-config: a new file, the service user's before it has
	# its name), and etc/neuropacs.json links to it.
	if [ ! -L "$home/etc/neuropacs.json" ]; then
		if [ -f "$home/etc/neuropacs.json" ]; then
			echo '{}' | np-config merge >/dev/null || exit 100
		fi
		ln -sfn settings/neuropacs.json "$home/etc/neuropacs.json"
	fi
	# The data. np-recv (group neuropacs only) reaches what it writes:
	# spool/incoming (its temporary files in incoming/.tmp), wal and events
	# (np_recv_events.h); every later state, spool/tmp (the back-end's
	# builds, uploads and imports), the index and the rest are of the group
	# neuropacs-keys, which np-recv is not in: it can neither open the index
	# (the audit trail, the sessions) nor touch a study once np-stable took it.
	np_priv_own "$home/log" "$gkeys"
	np_priv_own "$home/db" "$gkeys"
	np_priv_own "$home/spool" "$gbase" keep-groups
	# spool and log themselves are the service user's alone (2750): np-recv
	# may pass through spool but not rename what is in it (a state folder,
	# incoming itself); it has no business in log at all (its logger runs as
	# the service user).
	chmod 2750 "$home/spool" "$home/log"
	for st in incoming incoming/.tmp tmp wal events .marks; do
		[ -d "$home/spool/$st" ] || setpriv --reuid="$uid" --regid="$gbase" --clear-groups mkdir -m 2770 "$home/spool/$st"
	done
	for st in "$home"/spool/*/ "$home"/spool/.marks/; do
		case ${st%/} in */incoming | */wal | */events) continue ;; esac
		setpriv --reuid="$uid" --regid="$gkeys" --groups="$gbase,$gkeys" sh -c \
			'[ -O "$1" ] && [ ! -L "$1" ] && chgrp neuropacs-keys "$1" && chmod 2770 "$1"' sh "${st%/}" ||
			echo "neuropacs-agent: warning: ${st%/} is not the service user's: np-recv may reach it" >&2
	done
	# np-recv's DICOM TLS files: readable by its group when the service
	# user owns them (it makes the change itself, so a link cannot turn it
	# on another file); else the admin is told.
	for k in dicom.tls.cert_file dicom.tls.key_file dicom.tls.ca_file; do
		f=$(np-config get "$k" 2>/dev/null) || continue
		[ -n "$f" ] || continue
		case $f in /*) ;; *) f=$home/$f ;; esac
		setpriv --reuid="$uid" --regid="$gbase" --clear-groups sh -c \
			'[ -O "$1" ] && [ ! -L "$1" ] && chgrp neuropacs "$1" && chmod g+r "$1"' sh "$f" 2>/dev/null || true
		setpriv --reuid="$uid_recv" --regid="$gbase" --clear-groups test -r "$f" ||
			echo "neuropacs-agent: warning: np-recv (user $user-recv, group neuropacs) cannot read $k: $f" >&2
	done
	# etc/secrets: root's, searchable by the services (no listing). One an
	# earlier version let the services own is taken back, its links
	# dropped, and its sealing keys made anew, as a service may know them.
	if [ -L "$home/etc/secrets" ]; then rm -f "$home/etc/secrets"; fi
	mkdir -p "$home/etc/secrets"
	if [ "$(stat -c %u "$home/etc/secrets")" != 0 ]; then
		rm -f "$home/etc/secrets/.seal-cloud.key" "$home/etc/secrets/.seal-cloud.pub" \
			"$home/etc/secrets/.seal-keys.key" "$home/etc/secrets/.seal-keys.pub"
	fi
	chown -h root:"$gbase" "$home/etc/secrets" && chmod 0710 "$home/etc/secrets"
	find "$home/etc/secrets" -mindepth 1 -type l -delete
	# The de-identification key: made here, as np-deid can no longer
	# create it in etc/secrets.
	if [ ! -s "$home/etc/secrets/deid.key" ]; then
		(umask 077 && openssl rand -hex 32 >"$home/etc/secrets/deid.key") ||
			{ echo "np-run.sh: unable to make the de-identification key" >&2; exit 100; }
	fi
	# The password hash, made (or, for a password file replaced by hand,
	# remade) here while root can read the password (np-httpd may not).
	if [ -s "$home/etc/secrets/cloud.service_password" ] || [ -s "$home/etc/sealed/cloud.service_password" ]; then
		np-config rehash-password >/dev/null
	fi
	# The key pairs that secrets written while the agent runs are sealed to
	# (lib/core/np_seal.h). Root's, in a folder only root writes.
	for c in cloud keys; do
		k=$home/etc/secrets/.seal-$c.key
		if [ ! -s "$k" ] || [ ! -s "${k%.key}.pub" ]; then
			rm -f "$k" "${k%.key}.pub"
			(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$k" 2>/dev/null &&
				openssl pkey -in "$k" -pubout -out "${k%.key}.pub") ||
				{ echo "np-run.sh: unable to make the sealing key $k (openssl)" >&2; exit 100; }
		fi
		g=$gkeys
		[ $c = keys ] || g=$gcloud
		chown "0:$g" "$k" "${k%.key}.pub" && chmod 0440 "$k" && chmod 0444 "${k%.key}.pub"
	done
	for f in "$home"/etc/secrets/*; do
		[ -f "$f" ] || continue
		g=$gkeys
		for c in $np_priv_cloud_secrets; do [ "${f##*/}" != "$c" ] || g=$gcloud; done
		chown "0:$g" "$f" && chmod 0440 "$f"
	done
	# Files the services make are of the group: np-recv's study folders are
	# moved on by np-stable, another user. Set by each run script, not
	# here: s6-supervise's own files must stay readable (status).
	NP_UMASK=007
	export NP_UMASK
	echo "neuropacs-agent: services run as $user (back-end: group neuropacs-cloud; np-httpd: neuropacs-keys)" \
		"and $user-recv (np-recv: no secret, CAP_NET_BIND_SERVICE)"
}

# np_privileges_control HOME, run in the background once s6-svscan starts:
# np-httpd tells services about new settings (s6-svc -h) and shows their
# state (supervise/status), but s6-supervise, root, makes each supervise/
# folder root's only. Once every service's folder is there, status and
# control open to the group neuropacs-keys (np-httpd and the back-end;
# np-recv and the loggers are not in it). The folders stay, with their
# permissions, when a service or s6-svscan restarts.
np_privileges_control() {
	[ -n "$NP_AS_WEB" ] || return 0
	for _i in $(seq 300); do
		_missing=0
		for _s in "$1"/service/*/; do
			[ -p "$_s/supervise/control" ] || _missing=1
		done
		[ $_missing = 0 ] && break
		sleep 0.1
	done
	s6-svperms -G neuropacs-keys "$1"/service/*/ >/dev/null ||
		echo "neuropacs-agent: warning: unable to let np-httpd control the services (s6-svperms):" \
			"new settings apply at the next restart" >&2
}
