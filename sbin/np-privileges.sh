# np-privileges.sh: sourced by np-run.sh. np_privileges HOME SBIN BIN sets,
# when run as root, who each service runs as (NP_AS_BACKEND, NP_AS_WEB,
# NP_AS_RECV, NP_AS_LOG: setpriv command prefixes read by etc/s6/*/run) and
# hands the home and its secrets to them. Not root, or NP_USER=root, the
# prefixes stay empty and everything runs as the invoking user.
#
# One service user and three groups, not a user per service: np-recv,
# np-stable and np-httpd move the same study folders (made 0750, files
# 0640), which only their owner can rename, so all services share the uid.
# What separates them is the group: a secret is root's (mode 0440), so no
# service can change its mode, and readable through its group only.
#   neuropacs-cloud  cloud.api_key, cloud.service_password: the back-end
#                    (np-queue and its workers, np-stable, np-sched)
#   neuropacs-keys   every other secret (session key, password hash, SAML
#                    and delivery keys): the back-end and np-httpd
#   neuropacs        nothing secret: np-recv (network-facing, no secret at
#                    all) and the loggers
# Each of the three runs with a different primary group: the kernel lets a
# process trace another (ptrace, /proc/PID/mem, environ) only when uid and
# gids match, so np-httpd cannot read a key from np-upload's memory either.
np_priv_groups="neuropacs neuropacs-cloud neuropacs-keys"
# Secrets only the back-end reads (the rest are of neuropacs-keys); the
# same list as secret_group() in lib/np_config.c.
np_priv_cloud_secrets="cloud.api_key cloud.service_password cloud.token"

# A checkout under /root (mode 0700) is out of the service user's reach:
# `make run` must still start on a fresh machine, so it runs as root and says
# loudly how to get the split (NP_USER=root says it is wanted).
np_priv_unreachable() {
	echo "neuropacs-agent: WARNING: the service user $user cannot $1, so every service runs as root and" \
		"reads every secret. Install the agent outside /root (make install) or make its parent folders" \
		"searchable (chmod o+x) to run the services as $user; NP_USER=root silences this warning." >&2
	NP_AS_BACKEND= NP_AS_WEB= NP_AS_RECV= NP_AS_LOG=
}

np_privileges() {
	NP_AS_BACKEND= NP_AS_WEB= NP_AS_RECV= NP_AS_LOG=
	export NP_AS_BACKEND NP_AS_WEB NP_AS_RECV NP_AS_LOG
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
	# No supplementary groups in /etc/group: each service gets its groups
	# from setpriv below, and s6-setuidgid $user (or a login) none.
	getent passwd "$user" >/dev/null ||
		useradd --system --gid neuropacs --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user" ||
		{ echo "np-run.sh: unable to create the user $user" >&2; exit 100; }
	uid=$(id -u "$user")
	gbase=$(getent group neuropacs | cut -d: -f3)
	gcloud=$(getent group neuropacs-cloud | cut -d: -f3)
	gkeys=$(getent group neuropacs-keys | cut -d: -f3)
	# The service user must reach the programs and the home (a tree under
	# /root, mode 0700, it cannot): refuse rather than run as root unasked.
	for p in "$sbin/np-httpd" "$bin/np-queue"; do
		setpriv --reuid="$uid" --regid="$gbase" --clear-groups test -x "$p" || {
			np_priv_unreachable "run $p"
			return 0
		}
	done
	setpriv --reuid="$uid" --regid="$gbase" --clear-groups test -x "$home/.." || {
		np_priv_unreachable "reach $home"
		return 0
	}
	drop="--reuid=$uid --inh-caps=-all --bounding-set=-all --no-new-privs"
	NP_AS_BACKEND="setpriv $drop --regid=$gcloud --groups=$gkeys --"
	NP_AS_WEB="setpriv $drop --regid=$gkeys --clear-groups --"
	NP_AS_LOG="setpriv $drop --regid=$gbase --clear-groups --"
	# Port 104 (below 1024) through the one capability, kept across exec.
	NP_AS_RECV="setpriv --reuid=$uid --regid=$gbase --clear-groups --inh-caps=-all,+net_bind_service"
	NP_AS_RECV="$NP_AS_RECV --ambient-caps=-all,+net_bind_service --bounding-set=-all,+net_bind_service --no-new-privs --"
	# The home: the service user's (s6's service/ folder stays root's);
	# made by np-init or changed by np-config as root, it may be root's.
	mkdir -p "$home/etc/secrets" "$home/log"
	# Never through a link a service left (-h), and not the secrets, whose
	# owners are set below (a sealing key must stay root's to be trusted).
	find "$home" -mindepth 1 \( -path "$home/service" -o -path "$home/etc/secrets" \) -prune -o \
		-exec chown -h "$uid:$gbase" {} +
	chown -h "$uid:$gbase" "$home" "$home/etc/secrets"
	# The password hash, made (or, for a password file replaced by hand,
	# remade) here while root can read the password: np-httpd does it itself
	# when it may read the password, which it no longer may. Storing the same
	# password again changes nothing when its hash matches.
	if [ -s "$home/etc/secrets/cloud.service_password" ]; then
		np-config rehash-password >/dev/null
	fi
	chmod 0700 "$home/etc/secrets"
	# The key pairs that secrets written while the agent runs are sealed to
	# (lib/np_seal.h): the services share the uid, so a file one writes the
	# others could read; sealed, only its group opens it. Root's, so no
	# service can swap in a key of its own (np_config.c checks owner and
	# group before it uses one).
	for c in cloud keys; do
		k=$home/etc/secrets/.seal-$c.key
		if [ -L "$k" ] || [ -L "${k%.key}.pub" ] || [ ! -s "$k" ] || [ ! -s "${k%.key}.pub" ] ||
			[ "$(stat -c %u "$k")" != 0 ]; then
			rm -f "$k" "${k%.key}.pub"
			(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$k" 2>/dev/null &&
				openssl pkey -in "$k" -pubout -out "${k%.key}.pub") ||
				{ echo "np-run.sh: unable to make the sealing key $k (openssl)" >&2; exit 100; }
		fi
		g=$gkeys
		[ $c = keys ] || g=$gcloud
		chown -h "0:$g" "$k" "${k%.key}.pub" && chmod 0440 "$k" && chmod 0444 "${k%.key}.pub"
	done
	for f in "$home"/etc/secrets/*; do
		# a link a service left there would have root change its target
		[ -f "$f" ] && [ ! -L "$f" ] || continue
		g=$gkeys
		for c in $np_priv_cloud_secrets; do [ "${f##*/}" != "$c" ] || g=$gcloud; done
		chown "0:$g" "$f" && chmod 0440 "$f"
	done
	echo "neuropacs-agent: services run as $user (back-end: group neuropacs-cloud; np-httpd: neuropacs-keys;" \
		"np-recv: no secret, CAP_NET_BIND_SERVICE)"
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
