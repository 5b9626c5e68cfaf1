#!/usr/bin/env bash
# Installs the non-Rust tools the test pipeline needs, idempotently:
#   - JNA (Debian package libjna-java) for the Kotlin bindings on the JVM;
#   - the Kotlin compiler, from the npm package kotlin-compiler, cached in .tools/.
# Prints `export` lines for KOTLINC / KOTLIN_LIB / JNA_JAR when called with --print-env.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KOTLIN_VERSION="${KOTLIN_VERSION:-2.4.20}"
TOOLS_DIR="${FUSHI_TOOLS_DIR:-$ROOT/.tools}"
KOTLIN_HOME="$TOOLS_DIR/kotlinc-$KOTLIN_VERSION"
JNA_JAR="${JNA_JAR:-/usr/share/java/jna.jar}"

die() { echo "setup-tools: ERROR: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not on PATH"; }

need java
need npm
need tar

# --- JNA -------------------------------------------------------------------
if [[ ! -f "$JNA_JAR" ]]; then
  echo "setup-tools: $JNA_JAR missing; installing libjna-java with apt-get" >&2
  need apt-get
  SUDO=""
  if [[ "$(id -u)" -ne 0 ]]; then need sudo; SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libjna-java >/dev/null
  [[ -f "$JNA_JAR" ]] || die "libjna-java installed but $JNA_JAR still missing"
fi

# --- Kotlin compiler -------------------------------------------------------
if [[ ! -x "$KOTLIN_HOME/bin/kotlinc" ]]; then
  echo "setup-tools: fetching kotlin-compiler@$KOTLIN_VERSION from npm into $TOOLS_DIR" >&2
  mkdir -p "$TOOLS_DIR"
  tmp="$(mktemp -d "$TOOLS_DIR/.dl.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null) \
    || die "npm pack kotlin-compiler@$KOTLIN_VERSION failed"
  tgz="$(ls "$tmp"/*.tgz 2>/dev/null | head -n1)"
  [[ -n "$tgz" ]] || die "npm pack produced no tarball"
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tgz" -C "$tmp/unpacked"
  # npm tarballs unpack into package/; the compiler distribution sits inside it.
  kotlinc_bin="$(find "$tmp/unpacked" -type f -path '*/bin/kotlinc' | head -n1)"
  [[ -n "$kotlinc_bin" ]] || die "no bin/kotlinc inside kotlin-compiler@$KOTLIN_VERSION"
  dist="$(dirname "$(dirname "$kotlinc_bin")")"
  rm -rf "$KOTLIN_HOME"
  mv "$dist" "$KOTLIN_HOME"
  chmod +x "$KOTLIN_HOME"/bin/*
  rm -rf "$tmp"
  trap - EXIT
fi

for jar in kotlin-stdlib.jar kotlin-test.jar kotlinx-coroutines-core-jvm.jar; do
  [[ -f "$KOTLIN_HOME/lib/$jar" ]] || die "$KOTLIN_HOME/lib/$jar missing (corrupt cache? delete $KOTLIN_HOME)"
done

if [[ "${1:-}" == "--print-env" ]]; then
  printf 'export KOTLINC=%q\n' "$KOTLIN_HOME/bin/kotlinc"
  printf 'export KOTLIN_LIB=%q\n' "$KOTLIN_HOME/lib"
  printf 'export JNA_JAR=%q\n' "$JNA_JAR"
fi
