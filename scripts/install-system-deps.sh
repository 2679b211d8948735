#!/usr/bin/env bash
# Install the system packages the autograder needs beyond Python: bubblewrap (`bwrap`), the
# sandbox's strongest isolation level, and (as root) the unprivileged system user
# `course-grader` that `course grade`, started as root, drops to while it loads and trains
# student models (override the name with COURSE_GRADER_USER). Idempotent and quiet: does
# nothing (and needs no network) when both exist; as non-root or without apt-get it only says
# what to do, since the sandbox then falls back to a weaker level that reports itself as such.
set -euo pipefail

GRADER_USER="${COURSE_GRADER_USER:-course-grader}"
if [ "$(id -u)" -eq 0 ] && ! id -u "$GRADER_USER" >/dev/null 2>&1; then
  if command -v useradd >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$GRADER_USER"
  else
    echo "install-system-deps: useradd is missing; create the unprivileged user $GRADER_USER" \
         "(course grade as root drops to it)." >&2
  fi
fi

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
