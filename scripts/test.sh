#!/usr/bin/env bash
# THE test command of Fushi Share: `bash scripts/test.sh` from anywhere in the repo.
#
# Stages (fail fast, timing printed per stage):
#   tools   install JNA (apt) and kotlinc (npm, cached in .tools/) if missing
#   fmt     cargo fmt --all -- --check
#   refs    the committed reference fixtures of core/tests are current: npm ci in
#           scripts/reference (opening_hours.js, gcoord, coordtransform), then
#           hours.js --check and maps.js --check
#   deps    the server builds fushi-core without its HTTP client (cargo tree; a
#           clippy of fushi-core without default features); no aws-lc in the
#           server or fushi-ffi (TLS is rustls on ring); no image decoder in
#           fushi-ffi (thumbnails are made by the server)
#   clippy  cargo clippy --workspace --all-targets -- -D warnings
#   pg      one throwaway PostgreSQL for the whole run (scripts/pg.sh, socket only),
#           exported as FUSHI_TEST_PG; stopped and removed when this script exits
#   test    cargo test --workspace  (debug; dependencies built at opt-level 1)
#   test-pg the end-to-end scenarios of tests/ again, the server on that
#           PostgreSQL (FUSHI_TEST_BACKEND=postgres; the pg_* tests, which
#           use PostgreSQL whatever the backend, ran in stage test)
#   load    fushi-bench load on SQLite, 50 phones × 5 changes: fails if an
#           acknowledged change is missing, duplicated or different in the feed
#   kotlin  scripts/kotlin-test.sh: Kotlin bindings + android/src/test/kotlin on the JVM
#   swift   scripts/swift-check.sh: Swift bindings generated, API shape == ios/api-shape.txt
#
# Needs: Rust (cargo, rustfmt, clippy), Java 17, npm, Python 3; apt-get (as root or
# via sudo) only when /usr/share/java/jna.jar is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

declare -a SUMMARY=()
T_ALL=$SECONDS
CURRENT=""

# The tests' PostgreSQL (stage pg): its folder, stopped and removed on exit.
PG_DIR=""

on_exit() {
  local rc=$?
  if [[ -n "$PG_DIR" ]]; then
    bash "$ROOT/scripts/pg.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
  fi
  if [[ $rc -ne 0 && -n "$CURRENT" ]]; then
    echo
    echo "test.sh: FAILED in stage '$CURRENT' (exit $rc) after $((SECONDS - T_ALL)) s" >&2
  fi
  if [[ ${#SUMMARY[@]} -gt 0 ]]; then
    echo
    echo "== stage timings =="
    printf '%s\n' "${SUMMARY[@]}"
  fi
}
trap on_exit EXIT

stage() {
  local name="$1"; shift
  CURRENT="$name"
  echo
  echo "== [$name] $* =="
  local t0=$SECONDS
  "$@"
  SUMMARY+=("$(printf '%-7s %5d s' "$name" $((SECONDS - t0)))")
  CURRENT=""
}

for tool in cargo java npm python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test.sh: ERROR: '$tool' not on PATH" >&2; exit 1; }
done
cargo fmt --version >/dev/null 2>&1 || { echo "test.sh: ERROR: rustfmt missing (rustup component add rustfmt)" >&2; exit 1; }
cargo clippy --version >/dev/null 2>&1 || { echo "test.sh: ERROR: clippy missing (rustup component add clippy)" >&2; exit 1; }

setup_tools() {
  local env
  env="$(bash scripts/setup-tools.sh --print-env)"
  eval "$env"
  export KOTLINC KOTLIN_LIB JNA_JAR
  echo "kotlinc: $KOTLINC"
  echo "jna:     $JNA_JAR"
}

# fushi-server links fushi-core without the feature `client` (issue 11): no
# HTTP client in the server at all, and none of the client's own dependencies
# (flate2, tokio) reached through fushi-core. The server still gets flate2 for
# its gzip bodies (tower-http) and opening-hours' calendar data, and tokio of
# its own: those edges are not fushi-core's.
server_deps() {
  local out rc=0
  out="$(cargo tree -p fushi-server -e normal -i reqwest 2>&1)" || rc=$?
  if [[ $rc -eq 0 ]]; then
    echo "test.sh: ERROR: fushi-server depends on reqwest; the server must build fushi-core" >&2
    echo "  with default-features = false (no feature 'client'):" >&2
    echo "$out" >&2
    return 1
  elif ! grep -q "did not match any packages" <<<"$out"; then
    echo "test.sh: ERROR: cargo tree failed:" >&2
    echo "$out" >&2
    return 1
  fi
  local dep
  for dep in flate2 tokio; do
    out="$(cargo tree -p fushi-server -e normal -i "$dep" --depth 1 --prefix none)"
    if grep -q '^fushi-core ' <<<"$out"; then
      echo "test.sh: ERROR: fushi-server gets $dep through fushi-core; the server must build" >&2
      echo "  fushi-core with default-features = false (no feature 'client'):" >&2
      echo "$out" >&2
      return 1
    fi
  done
  echo "fushi-server: no reqwest; fushi-core brings it neither flate2 nor tokio"
  # TLS (issue 12) is rustls on the ring provider: aws-lc needs cmake and
  # complicates the Android and iOS builds.
  local pkg
  for pkg in fushi-server fushi-ffi; do
    rc=0
    out="$(cargo tree -p "$pkg" -i aws-lc-rs 2>&1)" || rc=$?
    if [[ $rc -eq 0 ]] || ! grep -q "did not match any packages" <<<"$out"; then
      echo "test.sh: ERROR: $pkg depends on aws-lc-rs (use rustls' ring provider):" >&2
      echo "$out" >&2
      return 1
    fi
  done
  echo "fushi-server, fushi-ffi: no aws-lc"
  # Photos (issue 13): the mobile library parses image containers only;
  # thumbnails are made by the server. No image decoder in fushi-ffi.
  for dep in image zune-jpeg jpeg-decoder png image-webp; do
    rc=0
    out="$(cargo tree -p fushi-ffi -e normal -i "$dep" 2>&1)" || rc=$?
    if [[ $rc -eq 0 ]] || ! grep -q "did not match any packages" <<<"$out"; then
      echo "test.sh: ERROR: fushi-ffi depends on the image decoder $dep:" >&2
      echo "$out" >&2
      return 1
    fi
  done
  echo "fushi-ffi: no image decoder"
  cargo clippy -p fushi-core --no-default-features --lib -- -D warnings
}

# The fixtures core/tests/hours_reference.rs and maps_reference.rs compare
# against are written by node scripts from npm reference libraries; re-run them
# and fail if the committed JSON differs (an edited CHINA_2026, expression list, ...).
reference_fixtures() {
  (cd scripts/reference && npm ci --no-audit --no-fund --loglevel=error)
  node scripts/reference/hours.js --check
  node scripts/reference/maps.js --check
}

# One PostgreSQL for every test that needs one (tests/src/pg.rs reads
# FUSHI_TEST_PG and takes a fresh database in it), started here so that no
# test depends on a server the machine happens to run. Fast and not durable
# (fsync off); the watchdog of pg.sh also stops it if this script is killed.
start_pg() {
  FUSHI_TEST_PG=$(bash scripts/pg.sh start --until-pid $$)
  export FUSHI_TEST_PG
  PG_DIR=${FUSHI_TEST_PG#host=}
  PG_DIR=${PG_DIR%% *}
  echo "FUSHI_TEST_PG=$FUSHI_TEST_PG"
}

# Every end-to-end scenario in tests/ once more, each server on a fresh
# database of the tests' PostgreSQL instead of a SQLite file.
e2e_on_postgres() {
  local args=()
  for f in tests/tests/*.rs; do
    local name
    name=$(basename "$f" .rs)
    [[ $name == pg_* ]] || args+=(--test "$name")
  done
  FUSHI_TEST_BACKEND=postgres cargo test -p fushi-tests "${args[@]}"
}

# The load generator (bench/src/load.rs) against the server as the tests
# build it, small: 50 phones × 5 changes on SQLite. It exits non-zero if an
# acknowledged change is missing, duplicated or different in the server's
# feed, or a phone's sync failed. The server binary is built by the same
# command as scripts/kotlin-test.sh (so neither builds it twice); the bench
# on its own (its dependencies' features are not the app's, see README).
load_smoke() {
  local target="${CARGO_TARGET_DIR:-$ROOT/target}"
  cargo build --quiet --workspace --exclude fushi-bench --lib --tests --bin uniffi-bindgen --bin fushi-server --bin fushi-test-certs
  cargo build --quiet -p fushi-bench
  "$target/debug/fushi-bench" load --phones 50 --changes 5 --ramp 1 --concurrency 20 \
    --per-community 10 --stations 10 --server-bin "$target/debug/fushi-server"
}

stage tools  setup_tools
stage fmt    cargo fmt --all -- --check
stage refs   reference_fixtures
stage deps   server_deps
stage clippy cargo clippy --workspace --all-targets -- -D warnings
stage pg     start_pg
stage test   cargo test --workspace --exclude fushi-bench
stage test-pg e2e_on_postgres
stage load   load_smoke
stage kotlin bash scripts/kotlin-test.sh
stage swift  bash scripts/swift-check.sh

SUMMARY+=("$(printf '%-7s %5d s' total $((SECONDS - T_ALL)))")
echo
echo "test.sh: all stages passed"
