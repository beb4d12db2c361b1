#!/usr/bin/env bash
# BullMQ's own test suite against celeriac's BullMQ backend (the yardstick of issue 15).
#
#   npm run yardstick:bullmq -- <path to a bullmq clone or bare mirror> [vitest file filters...]
#
# env: BULLMQ_YARDSTICK  the runner's folder (default: ../shared/yardsticks/bullmq from the repo)
#      YARDSTICK_STORAGE memory (default) | file
#      and every knob of the runner (BULLMQ_REF, BULLMQ_SUITE, BULLMQ_WORKERS, ...).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
runner=${BULLMQ_YARDSTICK:-}
if [ -z "$runner" ]; then
  # ../shared beside the main checkout; a worktree sits one level deeper.
  for d in "$root/../shared" "$root/../../shared"; do
    [ -x "$d/yardsticks/bullmq/run.sh" ] && runner=$d/yardsticks/bullmq && break
  done
  runner=${runner:-$root/../shared/yardsticks/bullmq}
fi
if [ ! -x "$runner/run.sh" ]; then
  echo "yardstick:bullmq: no runner at $runner/run.sh (the project's shared folder);" >&2
  echo "  set BULLMQ_YARDSTICK to the folder holding run.sh." >&2
  exit 2
fi
if [ $# -gt 0 ] && [ -e "$1" ] && [ -z "${BULLMQ_SRC:-}" ]; then
  BULLMQ_SRC=$1
  shift
fi
if [ -z "${BULLMQ_SRC:-}" ]; then
  echo "yardstick:bullmq: give the path to a BullMQ clone (or set BULLMQ_SRC): npm run yardstick:bullmq -- <path>" >&2
  exit 2
fi
export BULLMQ_SRC
export BULLMQ_BACKEND_MODULE=$root/test/bullmq/yardstick.backend.ts
exec "$runner/run.sh" "$@"
