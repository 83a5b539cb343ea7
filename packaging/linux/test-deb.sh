#!/usr/bin/env bash
# Build the .deb, install it on this machine, and check the installed files work:
# `oasis-cli --version` and `oasis-cli devices` from /usr/bin, the udev rule's syntax, the desktop
# entry and the AppStream metadata. Needs root (apt) and cargo-deb (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked --version 3.8.0
packaging/linux/build-deb.sh
deb=$(ls -t target/debian/oasis_*.deb | head -1)
apt-get install -y -qq --reinstall "./$deb" >/dev/null
echo "== installed $(dpkg-query -W -f='${Package} ${Version}' oasis)"
/usr/bin/oasis-cli --version
/usr/bin/oasis-cli devices
/usr/bin/oasis-cli devices --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert isinstance(d, list), d; print("devices --json:", d)'
test -x /usr/bin/oasis
packaging/linux/check-udev-rules.sh /lib/udev/rules.d/51-oasis-qualcomm.rules
test -f /usr/share/applications/oasis.desktop
test -f /usr/share/metainfo/oasis.metainfo.xml
python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1]); print("metainfo: well-formed XML")' /usr/share/metainfo/oasis.metainfo.xml
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate /usr/share/applications/oasis.desktop && echo "desktop entry: valid"
fi
for s in 16 32 48 64 128 256 512; do test -f "/usr/share/icons/hicolor/${s}x${s}/apps/oasis.png"; done
echo "deb package: OK"
