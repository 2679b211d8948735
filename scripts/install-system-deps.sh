#!/usr/bin/env bash
# Install the system packages the autograder needs beyond Python: bubblewrap (`bwrap`), the
# sandbox's strongest isolation level; Slurm and munge (`slurm-wlm`, `munge`), which the tests
# start as a single-node cluster for `course slurm grade` (tests/cluster); and (as root) the
# unprivileged system user
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

# command -> the Debian package that provides it
declare -A PACKAGES=([bwrap]=bubblewrap [slurmctld]=slurm-wlm [slurmd]=slurm-wlm [sbatch]=slurm-client [munged]=munge)
missing=()
for command in "${!PACKAGES[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${PACKAGES[$command]}")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: missing ${missing[*]}; install them (e.g. 'sudo apt-get install ${missing[*]}')." \
       "Without bubblewrap the sandbox falls back to a weaker level that reports itself as such;" \
       "without Slurm the cluster tests are skipped (they say so)." >&2
  exit 0
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1 \
       || { apt-get update -qq >>"$log" 2>&1 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; }; }; then
  cat "$log" >&2
  echo "install-system-deps: could not install ${missing[*]} (see above)." >&2
  exit 1
fi
command -v bwrap >/dev/null && command -v slurmctld >/dev/null && command -v munged >/dev/null
