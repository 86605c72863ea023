#!/bin/sh
# Install the Debian packages listed in the files given ($@) that are not
# installed yet, in one apt-get call (apt holds a lock: two at once fail).
# Used by `make deps`; does nothing when everything is present.
set -e
# A name is present when a package of that name is installed, or an installed
# package provides it, as apt itself judges a dependency: NodeSource's nodejs
# provides (and conflicts with) Debian's npm, so asking apt for npm there
# would replace nodejs.
provided=$(dpkg-query -W -f='${Status}\t${Provides}\n' 2>/dev/null | sed -n 's/^install ok installed\t//p' |
	tr ',' '\n' | sed 's/([^)]*)//; s/^[[:space:]]*//; s/[[:space:]]*$//' | sort -u)
missing=
for p in $(cat "$@" | grep -v '^[[:space:]]*#'); do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' && continue
	printf '%s\n' "$provided" | grep -qxF "$p" && continue
	case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "apt-ensure: missing Debian packages:$missing" >&2
	echo "apt-ensure: run as root or install them with: sudo apt-get install$missing" >&2
	exit 1
fi
echo "apt-ensure: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends $missing >/dev/null || {
	apt-get update >/dev/null && apt-get install -y --no-install-recommends $missing >/dev/null; }
