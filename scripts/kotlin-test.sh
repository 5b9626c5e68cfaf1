#!/usr/bin/env bash
# Runs the Kotlin tests of the uniffi bindings on the JVM (no Android SDK, no Gradle):
#   1. builds fushi-ffi, the fushi-server binary and fushi-test-certs (debug, with
#      the workspace's test features) and generates the Kotlin bindings from the .so;
#   2. checks that the tests call every exported function (see "coverage" below);
#   3. compiles the bindings + android/src/main/kotlin/** (the Kotlin face; files
#      that import android.* need the Android SDK and are left out) +
#      android/src/test/kotlin/** with kotlinc (skipped when nothing changed);
#   4. runs the tests with the JUnit-free runner org.fushi.share.testing.TestMainKt.
#      Tests that need a sync server start target/debug/fushi-server on loopback
#      (path in -Dfushi.server.bin), over HTTPS with a certificate of a CA made by
#      target/debug/fushi-test-certs (-Dfushi.certs.bin) that the phones pin.
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

# Same feature set as `cargo test --workspace --exclude fushi-bench` (dev-dependencies included), so after
# the test stage this is a no-op instead of a second build of the dependencies.
echo "kotlin-test: cargo build --workspace --exclude fushi-bench --lib --tests --bin uniffi-bindgen --bin fushi-server --bin fushi-test-certs"
cargo build --quiet --workspace --exclude fushi-bench --lib --tests --bin uniffi-bindgen --bin fushi-server --bin fushi-test-certs \
  || die "cargo build of fushi-ffi / uniffi-bindgen / fushi-server / fushi-test-certs failed"
[[ -f "$LIB" ]] || die "$LIB not found after the build"
SERVER_BIN="$TARGET_DIR/debug/fushi-server"
[[ -x "$SERVER_BIN" ]] || die "$SERVER_BIN not found after the build"
CERTS_BIN="$TARGET_DIR/debug/fushi-test-certs"
[[ -x "$CERTS_BIN" ]] || die "$CERTS_BIN not found after the build"

echo "kotlin-test: generating Kotlin bindings into $GEN"
rm -rf "$GEN"
"$TARGET_DIR/debug/uniffi-bindgen" generate "$LIB" \
  --language kotlin --out-dir "$GEN" --no-format --metadata-no-deps \
  || die "uniffi-bindgen generate --language kotlin failed"
[[ -f "$GEN/org/fushi/share/fushi_ffi.kt" ]] \
  || die "expected $GEN/org/fushi/share/fushi_ffi.kt (package from bindings/uniffi.toml)"

# Coverage: every function the bindings export (FushiStore's methods and its
# constructor, top-level functions; the ListingObserver callbacks count when a
# test implements them) must be called somewhere in android/src/test/kotlin.
# Names are read from the generated Kotlin: backticked `fun` declarations that
# are not overrides. Methods must appear as `.name(`, functions as `name(`.
TESTS_DIR="$ROOT/android/src/test/kotlin"
mapfile -t EXPORTED < <(
  awk '
    /^public interface FushiStoreInterface/ { block = "method" }
    /^public interface ListingObserver/ { block = "callback" }
    /^}/ { block = "" }
    /fun `[A-Za-z0-9_]+`\(/ && !/override/ {
      match($0, /fun `[A-Za-z0-9_]+`/)
      name = substr($0, RSTART + 5, RLENGTH - 6)
      print (block != "" ? block : (name == "open" ? "method" : "function")) " " name
    }
  ' "$GEN/org/fushi/share/fushi_ffi.kt" | sort -u
)
(( ${#EXPORTED[@]} > 0 )) || die "found no exported functions in the generated Kotlin"
missing=()
for entry in "${EXPORTED[@]}"; do
  kind="${entry%% *}"; name="${entry#* }"
  case "$kind" in
    method) pattern="\.$name\(" ;;
    callback) pattern="fun $name\(" ;;
    *) pattern="\b$name\(" ;;
  esac
  grep -rqE "$pattern" "$TESTS_DIR" || missing+=("$name")
done
if (( ${#missing[@]} > 0 )); then
  die "exported but never called by the Kotlin tests: ${missing[*]}"
fi
echo "kotlin-test: coverage: the tests call all ${#EXPORTED[@]} exported functions"

CP="$JNA_JAR:$KOTLIN_LIB/kotlin-stdlib.jar:$KOTLIN_LIB/kotlin-test.jar:$KOTLIN_LIB/kotlinx-coroutines-core-jvm.jar"
# Sources that import android.* (FushiTls.kt: the JNI init taking a Context)
# compile only against the Android SDK, in the Gradle build.
mapfile -t SOURCES < <(find "$GEN" "$ROOT/android/src/main/kotlin" "$TESTS_DIR" -name '*.kt' \
  -exec grep -L '^import android\.' {} + | sort)

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
java -Djna.library.path="$TARGET_DIR/debug" -Dfushi.expectedVersion="$version" \
  -Dfushi.server.bin="$SERVER_BIN" -Dfushi.certs.bin="$CERTS_BIN" "$@" \
  -cp "$CLASSES:$CP" org.fushi.share.testing.TestMainKt "$CLASSES"
