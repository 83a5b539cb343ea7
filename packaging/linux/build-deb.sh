#!/usr/bin/env bash
# Build both binaries in release mode and package them, with the udev rule, desktop entry,
# AppStream metadata and icons, into target/debian/*.deb (needs `cargo install cargo-deb`).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked -p oasis -p oasis-cli
cargo deb --no-build -p oasis "$@"
ls -l target/debian/*.deb
