#!/usr/bin/env bash
# Runs the Kotlin tests of the uniffi bindings on the JVM (no Android SDK, no Gradle):
#   1. builds fushi-ffi (debug, with the workspace's test features) and generates
#      the Kotlin bindings from the .so;
#   2. compiles the bindings + android/src/test/kotlin/** with kotlinc (skipped when
#      nothing changed since the last run);
#   3. runs the tests with the JUnit-free runner org.fushi.share.testing.TestMainKt.
# Test discovery: classes named *Test with @Test methods (see TestMain.kt).
# Environment: KOTLINC, KOTLIN_LIB, JNA_JAR (set by scripts/setup-tools.sh --print-env;
# this script calls it when they are missing). Extra args are passed to `java` as
# JVM options, e.g. -Dfushi.test.filter=async.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

die() { echo "kotlin-test: ERROR: $*" >&2; exit 1; }

if [[ -z "${KOTLINC:-}" || -z "${KOTLIN_LIB:-}" || -z "${JNA_JAR:-}" ]]; then
  eval "$(bash scripts/setup-tools.sh --print-env)"
fi

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
LIB="$TARGET_DIR/debug/libfushi_ffi.so"
OUT="$TARGET_DIR/kotlin-tests"
GEN="$OUT/generated"
CLASSES="$OUT/classes"

# Same feature set as `cargo test --workspace` (dev-dependencies included), so after
# the test stage this is a no-op instead of a second build of the dependencies.
echo "kotlin-test: cargo build --workspace --lib --tests --bin uniffi-bindgen"
cargo build --quiet --workspace --lib --tests --bin uniffi-bindgen \
  || die "cargo build of fushi-ffi / uniffi-bindgen failed"
[[ -f "$LIB" ]] || die "$LIB not found after the build"

echo "kotlin-test: generating Kotlin bindings into $GEN"
rm -rf "$GEN"
"$TARGET_DIR/debug/uniffi-bindgen" generate "$LIB" \
  --language kotlin --out-dir "$GEN" --no-format --metadata-no-deps \
  || die "uniffi-bindgen generate --language kotlin failed"
[[ -f "$GEN/org/fushi/share/fushi_ffi.kt" ]] \
  || die "expected $GEN/org/fushi/share/fushi_ffi.kt (package from bindings/uniffi.toml)"

CP="$JNA_JAR:$KOTLIN_LIB/kotlin-stdlib.jar:$KOTLIN_LIB/kotlin-test.jar:$KOTLIN_LIB/kotlinx-coroutines-core-jvm.jar"
mapfile -t SOURCES < <(find "$GEN" "$ROOT/android/src/test/kotlin" -name '*.kt' | sort)

# Recompile only when a source (or the compiler) changed: kotlinc costs ~10-20 s.
stamp="$( { echo "$KOTLINC"; sha256sum "${SOURCES[@]}"; } | sha256sum | cut -d' ' -f1)"
if [[ -f "$OUT/stamp" && "$(cat "$OUT/stamp")" == "$stamp" && -d "$CLASSES" ]]; then
  echo "kotlin-test: sources unchanged, reusing compiled classes"
else
  echo "kotlin-test: compiling ${#SOURCES[@]} Kotlin files"
  rm -rf "$CLASSES" "$OUT/stamp"
  mkdir -p "$CLASSES"
  "$KOTLINC" -nowarn -jvm-target 17 -cp "$CP" -d "$CLASSES" "${SOURCES[@]}" \
    || die "kotlinc failed"
  echo "$stamp" > "$OUT/stamp"
fi

version="$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$ROOT/bindings/Cargo.toml" | head -n1)"
echo "kotlin-test: running tests"
java -Djna.library.path="$TARGET_DIR/debug" -Dfushi.expectedVersion="$version" "$@" \
  -cp "$CLASSES:$CP" org.fushi.share.testing.TestMainKt "$CLASSES"
