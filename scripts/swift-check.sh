#!/usr/bin/env bash
# Checks the Swift bindings without a Mac: generates them from the debug
# libfushi_ffi.so into a temporary directory, checks that the Swift source, the
# FFI header and the module map are produced, and compares the public API shape
# (scripts/swift_api_shape.py) with the committed snapshot ios/api-shape.txt.
#
#   scripts/swift-check.sh            check (fails on any difference, showing a diff)
#   scripts/swift-check.sh --update   rewrite ios/api-shape.txt from the current API
#
# Changing the exported API is expected to change the snapshot: review the diff,
# run with --update, and commit ios/api-shape.txt with the API change.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

die() { echo "swift-check: ERROR: $*" >&2; exit 1; }

UPDATE=0
case "${1:-}" in
  "") ;;
  --update) UPDATE=1 ;;
  *) die "unknown argument '$1' (usage: $0 [--update])" ;;
esac

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
LIB="$TARGET_DIR/debug/libfushi_ffi.so"
SNAPSHOT="$ROOT/ios/api-shape.txt"

# Same feature set as `cargo test --workspace` (dev-dependencies included), so after
# the test stage this is a no-op instead of a second build of the dependencies.
echo "swift-check: cargo build --workspace --exclude fushi-bench --lib --tests --bin uniffi-bindgen"
cargo build --quiet --workspace --exclude fushi-bench --lib --tests --bin uniffi-bindgen \
  || die "cargo build of fushi-ffi / uniffi-bindgen failed"
[[ -f "$LIB" ]] || die "$LIB not found after the build"

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

"$TARGET_DIR/debug/uniffi-bindgen" generate "$LIB" \
  --language swift --out-dir "$OUT" --no-format --metadata-no-deps \
  || die "uniffi-bindgen generate --language swift failed"

# Names come from bindings/uniffi.toml (the store: FushiShare.swift, FFI module
# FushiShareFFI) and core/uniffi.toml (the records: FushiShareCore.swift, FFI module
# FushiShareCoreFFI). Both Swift files are compiled into the one module FushiShare
# (uniffi's Swift files of several crates refer to each other's types directly).
for f in FushiShare.swift FushiShareFFI.h FushiShareFFI.modulemap \
         FushiShareCore.swift FushiShareCoreFFI.h FushiShareCoreFFI.modulemap; do
  [[ -s "$OUT/$f" ]] || die "expected $f among the generated Swift bindings; got: $(ls "$OUT")"
done
grep -q 'module FushiShareFFI' "$OUT/FushiShareFFI.modulemap" \
  || die "FushiShareFFI.modulemap does not declare module FushiShareFFI"
grep -q 'module FushiShareCoreFFI' "$OUT/FushiShareCoreFFI.modulemap" \
  || die "FushiShareCoreFFI.modulemap does not declare module FushiShareCoreFFI"

python3 "$ROOT/scripts/swift_api_shape.py" "$OUT/FushiShare.swift" "$OUT/FushiShareCore.swift" \
  > "$OUT/api-shape.txt" || die "extracting the API shape failed"
[[ -s "$OUT/api-shape.txt" ]] || die "no public declarations found in FushiShare.swift"

if [[ "$UPDATE" == 1 ]]; then
  cp "$OUT/api-shape.txt" "$SNAPSHOT"
  echo "swift-check: wrote $(wc -l < "$SNAPSHOT") declarations to ios/api-shape.txt"
  exit 0
fi

[[ -f "$SNAPSHOT" ]] || die "ios/api-shape.txt missing; create it with: bash scripts/swift-check.sh --update"
if ! diff -u "$SNAPSHOT" "$OUT/api-shape.txt"; then
  die "the Swift API differs from ios/api-shape.txt (diff above: - snapshot, + generated).
If the change is intended, run: bash scripts/swift-check.sh --update, and commit ios/api-shape.txt"
fi
echo "swift-check: Swift bindings generated; API shape matches ios/api-shape.txt ($(wc -l < "$SNAPSHOT") declarations)"
