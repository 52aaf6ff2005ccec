#!/usr/bin/env bash
# Runs the gorun-memcheck programs (memcheck/src/bin/*.rs) under valgrind's
# memcheck: each must pass its own checks with no memcheck error and no
# definitely lost block (issue 23, point 4).
#
#   .ci/memcheck.sh                      # every program, once
#   .ci/memcheck.sh panics aborts        # only these
#   MEMCHECK_RUNS=3 .ci/memcheck.sh      # each program three times (flakiness)
#   MEMCHECK_DEBUG=1 .ci/memcheck.sh     # line numbers in valgrind's stacks (the ci
#                                        # profile has debug = 0; this rebuilds it
#                                        # with line tables)
#
# Builds with `--profile ci` (release with debug assertions) into
# ${CARGO_TARGET_DIR:-target}/ci. Prints one line per run: program, PASS/FAIL,
# wall seconds; on a failure, the program's output and valgrind's report follow.
# Exits non-zero if any run fails: a failed check (the program panics, exit 101),
# a memcheck error or definite leak (exit 1), or a hang (killed after
# MEMCHECK_TIMEOUT seconds, default 300).
#
# Possibly-lost and still-reachable blocks are not errors: std's handle of the
# main thread and crossbeam-epoch's per-thread records are reachable only through
# tagged or interior pointers, which memcheck counts as "possibly lost".
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

target_dir="${CARGO_TARGET_DIR:-$root/target}"
runs="${MEMCHECK_RUNS:-1}"
limit="${MEMCHECK_TIMEOUT:-300}"

if ! command -v valgrind >/dev/null; then
    echo "memcheck.sh: valgrind is not installed" >&2
    exit 2
fi

if [[ "${MEMCHECK_DEBUG:-0}" != 0 ]]; then
    export CARGO_PROFILE_CI_DEBUG=line-tables-only
fi
cargo build -p gorun-memcheck --bins --profile ci

if (($# > 0)); then
    programs=("$@")
else
    programs=()
    for f in memcheck/src/bin/*.rs; do
        programs+=("$(basename "$f" .rs)")
    done
fi

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

failed=0
for ((run = 1; run <= runs; run++)); do
    for p in "${programs[@]}"; do
        bin="$target_dir/ci/$p"
        if [[ ! -x "$bin" ]]; then
            printf '%-22s FAIL  (no binary at %s)\n' "$p" "$bin"
            failed=$((failed + 1))
            continue
        fi
        out="$logs/$p.out"
        vglog="$logs/$p.valgrind"
        start=$(date +%s%N)
        rc=0
        timeout --kill-after=10 "$limit" \
            valgrind --tool=memcheck \
            --leak-check=full \
            --show-leak-kinds=definite \
            --errors-for-leak-kinds=definite \
            --error-exitcode=1 \
            --quiet \
            --fair-sched=try \
            --num-callers=40 \
            --log-file="$vglog" \
            "$bin" >"$out" 2>&1 || rc=$?
        secs=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
        case $rc in
            0) why="" ;;
            1) why="memcheck: errors or definite leaks" ;;
            101) why="the program's checks failed" ;;
            124 | 137) why="timed out after ${limit}s" ;;
            *) why="exit $rc" ;;
        esac
        if ((rc != 0)); then
            printf '%-22s FAIL %7ss  (%s)\n' "$p" "$secs" "$why"
            failed=$((failed + 1))
            echo "---- $p: output"
            cat "$out"
            echo "---- $p: valgrind"
            cat "$vglog"
            echo "----"
        else
            printf '%-22s PASS %7ss\n' "$p" "$secs"
            if [[ -s "$vglog" ]]; then
                # Not an error (valgrind's warnings, e.g. an unknown syscall): shown.
                echo "---- $p: valgrind said (not an error)"
                cat "$vglog"
                echo "----"
            fi
        fi
    done
done

total=$((runs * ${#programs[@]}))
if ((failed > 0)); then
    echo "memcheck: $failed of $total runs FAILED"
    exit 1
fi
echo "memcheck: all $total runs passed"
