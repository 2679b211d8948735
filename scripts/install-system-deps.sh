#!/usr/bin/env bash
# Install the system packages the autograder needs beyond Python: bubblewrap (`bwrap`), the
# sandbox's strongest isolation level. Idempotent and quiet: does nothing (and needs no network)
# when bwrap is already installed; as non-root or without apt-get it only says what to do,
# since the sandbox then falls back to a weaker level that reports itself as such.
set -euo pipefail

if command -v bwrap >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: bubblewrap is missing; install it (e.g. 'sudo apt-get install bubblewrap')" \
       "for the strong sandbox. Continuing with a weaker sandbox level." >&2
  exit 0
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get install -y -qq --no-install-recommends bubblewrap >"$log" 2>&1 \
       || { apt-get update -qq >>"$log" 2>&1 && apt-get install -y -qq --no-install-recommends bubblewrap >>"$log" 2>&1; }; }; then
  cat "$log" >&2
  echo "install-system-deps: could not install bubblewrap (see above)." >&2
  exit 1
fi
command -v bwrap >/dev/null
