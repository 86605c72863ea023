#!/bin/sh
# Install the Debian packages listed in $1 that are not installed yet.
# Used by `make`; does nothing when everything is present.
set -e
list=$1
missing=
for p in $(grep -v '^[[:space:]]*#' "$list"); do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing="$missing $p"
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
