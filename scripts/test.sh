#!/usr/bin/env bash
# THE test command of Fushi Share: `bash scripts/test.sh` from anywhere in the repo.
#
# Stages (fail fast, timing printed per stage):
#   tools   install JNA (apt) and kotlinc (npm, cached in .tools/) if missing
#   fmt     cargo fmt --all -- --check
#   clippy  cargo clippy --workspace --all-targets -- -D warnings
#   test    cargo test --workspace  (debug; dependencies built at opt-level 1)
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

on_exit() {
  local rc=$?
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

stage tools  setup_tools
stage fmt    cargo fmt --all -- --check
stage clippy cargo clippy --workspace --all-targets -- -D warnings
stage test   cargo test --workspace --exclude fushi-bench
stage kotlin bash scripts/kotlin-test.sh
stage swift  bash scripts/swift-check.sh

SUMMARY+=("$(printf '%-7s %5d s' total $((SECONDS - T_ALL)))")
echo
echo "test.sh: all stages passed"
