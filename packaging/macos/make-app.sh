#!/usr/bin/env bash
# Build Oasis.app (and a .dmg) on macOS: USB through libusb needs no driver there.
#   packaging/macos/make-app.sh   -> target/release/Oasis.app, target/release/Oasis-<version>.dmg
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=$(grep -m1 '^version' Cargo.toml | sed 's/.*"\(.*\)"/\1/')
cargo build --release --locked -p oasis -p oasis-cli
APP=target/release/Oasis.app
rm -rf "$APP"; mkdir -p "$APP/Contents/MacOS" "$APP/Contents/Resources"
cp target/release/oasis target/release/oasis-cli "$APP/Contents/MacOS/"
sed "s/@VERSION@/$VERSION/g" packaging/macos/Info.plist > "$APP/Contents/Info.plist"
ICONSET=target/release/oasis.iconset; rm -rf "$ICONSET"; mkdir -p "$ICONSET"
for s in 16 32 128 256 512; do
  sips -z $s $s assets/icon.png --out "$ICONSET/icon_${s}x${s}.png" >/dev/null
  d=$((s*2)); sips -z $d $d assets/icon.png --out "$ICONSET/icon_${s}x${s}@2x.png" >/dev/null
done
iconutil -c icns "$ICONSET" -o "$APP/Contents/Resources/oasis.icns"
codesign --force --deep --sign - "$APP" || true   # ad-hoc signature so Gatekeeper lets a local build run
hdiutil create -volname Oasis -srcfolder "$APP" -ov -format UDZO "target/release/Oasis-$VERSION.dmg"
