#!/usr/bin/env bash
# Builds ios/FushiShareFFI.xcframework (static libraries of fushi-ffi for iOS devices
# and simulators) and generates the Swift bindings into ios/Sources/FushiShare/.
# Runs on macOS with Xcode and rustup. Usage, from anywhere:
#
#     ios/build-xcframework.sh            # release-mobile profile (shipping)
#     PROFILE=dev ios/build-xcframework.sh  # quicker, unoptimised
#
# Then, from ios/: xcodebuild test -scheme FushiShare \
#     -destination 'platform=iOS Simulator,name=iPhone 15'
# (or open Package.swift in Xcode and run the tests on a simulator).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IOS="$ROOT/ios"
cd "$ROOT"

die() { echo "build-xcframework: ERROR: $*" >&2; exit 1; }

[[ "$(uname -s)" == "Darwin" ]] || die "needs macOS with Xcode (xcodebuild, lipo)"
for tool in cargo rustup xcodebuild lipo; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found"
done

PROFILE="${PROFILE:-release-mobile}"
# cargo puts the `dev` profile in target/<triple>/debug.
PROFILE_DIR="$PROFILE"; [[ "$PROFILE" == "dev" ]] && PROFILE_DIR="debug"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
DEVICE=aarch64-apple-ios
SIMULATORS=(aarch64-apple-ios-sim x86_64-apple-ios)
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"

rustup target add "$DEVICE" "${SIMULATORS[@]}"

for triple in "$DEVICE" "${SIMULATORS[@]}"; do
  echo "build-xcframework: cargo build --profile $PROFILE --target $triple"
  cargo build -p fushi-ffi --lib --profile "$PROFILE" --target "$triple"
done
lib_for() { echo "$TARGET_DIR/$1/$PROFILE_DIR/libfushi_ffi.a"; }

WORK="$TARGET_DIR/ios-xcframework"
rm -rf "$WORK"
mkdir -p "$WORK/bindings" "$WORK/headers/FushiShareFFI" "$WORK/headers/FushiShareCoreFFI" "$WORK/sim"

# Bindings from the device library (same metadata in every slice).
# Module names come from bindings/uniffi.toml and core/uniffi.toml (found in the
# crate roots): the store's FFI is FushiShareFFI, the core records' FushiShareCoreFFI.
cargo build -p uniffi-bindgen
"$TARGET_DIR/debug/uniffi-bindgen" generate "$(lib_for "$DEVICE")" \
  --language swift --out-dir "$WORK/bindings" --metadata-no-deps

# Header + module map in a subdirectory named after the module, so the headers of
# several XCFrameworks in one app do not collide on Headers/module.modulemap.
cp "$WORK/bindings/FushiShareFFI.h" "$WORK/headers/FushiShareFFI/"
cp "$WORK/bindings/FushiShareFFI.modulemap" "$WORK/headers/FushiShareFFI/module.modulemap"
cp "$WORK/bindings/FushiShareCoreFFI.h" "$WORK/headers/FushiShareCoreFFI/"
cp "$WORK/bindings/FushiShareCoreFFI.modulemap" "$WORK/headers/FushiShareCoreFFI/module.modulemap"

# One fat library for both simulator architectures.
sim_libs=()
for triple in "${SIMULATORS[@]}"; do sim_libs+=("$(lib_for "$triple")"); done
lipo -create "${sim_libs[@]}" -output "$WORK/sim/libfushi_ffi.a"

rm -rf "$IOS/FushiShareFFI.xcframework"
xcodebuild -create-xcframework \
  -library "$(lib_for "$DEVICE")" -headers "$WORK/headers" \
  -library "$WORK/sim/libfushi_ffi.a" -headers "$WORK/headers" \
  -output "$IOS/FushiShareFFI.xcframework"

mkdir -p "$IOS/Sources/FushiShare"
# The store's and the core records' Swift files make up the one module FushiShare.
cp "$WORK/bindings/FushiShare.swift" "$IOS/Sources/FushiShare/FushiShare.swift"
cp "$WORK/bindings/FushiShareCore.swift" "$IOS/Sources/FushiShare/FushiShareCore.swift"

echo "build-xcframework: wrote ios/FushiShareFFI.xcframework and ios/Sources/FushiShare/{FushiShare,FushiShareCore}.swift"
echo "build-xcframework: the static libraries keep their symbols (strip = false in"
echo "  [profile.release-mobile]); Xcode strips the linked app on archive."
