#!/usr/bin/env bash
# fuzz/fuzz.sh - fuzz AotMilter with afl++ and SharpFuzz (run through ./build.sh fuzz).
#
#   fuzz/fuzz.sh [TARGET|all] [MINUTES]    default: every target, 20 minutes each, one after the other
#
# Targets (fuzz/*Target.cs): frames (milter byte stream -> frame reader -> session -> filter chain), mime (raw
# message -> MIME parser -> disclaimer rewrite), config (configuration text -> file parser -> every filter's settings).
# Seeds are in fuzz/corpus/TARGET, dictionaries in fuzz/dict/TARGET.dict.
#
# Steps: installs afl++ (Debian package, as root) and the SharpFuzz command-line tool (dotnet tool, into
# artifacts/fuzz/tools) when missing; builds fuzz/AotMilter.Fuzz.csproj (Release), copies its output to
# artifacts/fuzz/bin and instruments the product assemblies there (fuzz/bin stays uninstrumented); runs afl-fuzz per
# target into artifacts/fuzz/TARGET; writes fuzz/results/<date>-<host>-fuzz.md (named ...-fuzz-smoke.md when a
# target ran less than 10 minutes) with afl's numbers per target and the stack of every crash, and copies the crashing
# and hanging inputs beside it. Exit 0: no crash or hang; 3: findings (see the report); 1: the run itself failed.
#
# Replay one input (or a folder of them) outside afl, uninstrumented, with the whole stack of a crash:
#   dotnet run --project fuzz -- TARGET FILE...
# Environment: FUZZ_TIMEOUT_MS (afl's per-input time limit, default 5000; slower inputs are hangs).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
WORK="$ROOT/artifacts/fuzz"
RESULTS="$ROOT/fuzz/results"
SHARPFUZZ_VERSION=2.3.0
INSTRUMENT=(AotMilter.Protocol.dll AotMilter.Abstractions.dll AotMilter.Server.dll AotMilter.Filters.dll)
ALL_TARGETS=(frames mime config)
TIMEOUT_MS="${FUZZ_TIMEOUT_MS:-5000}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say() { echo "fuzz: $*" >&2; }
die() { echo "fuzz: error: $*" >&2; exit 1; }

target="${1:-all}"
minutes="${2:-20}"
case "$target" in
  all) targets=("${ALL_TARGETS[@]}") ;;
  frames|mime|config) targets=("$target") ;;
  *) die "unknown target '$target' (frames, mime, config or all)" ;;
esac
[[ "$minutes" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk "BEGIN{exit !($minutes > 0)}" || die "MINUTES must be a positive number, not '$minutes'"
seconds=$(awk "BEGIN{printf \"%d\", $minutes * 60 + 0.5}")

# install_packages WHAT PACKAGE...: shared with build.sh and bench/bench.sh.
. "$ROOT/scripts/install-packages.sh"

ensure_afl() {
  command -v afl-fuzz >/dev/null 2>&1 && return 0
  TMPDIR=/var/tmp install_packages "the fuzzer (Debian package afl++)" afl++ || die "afl++ is needed to fuzz"
}

ensure_sharpfuzz() {
  SHARPFUZZ="$WORK/tools/sharpfuzz"
  [ -x "$SHARPFUZZ" ] && return 0
  say "installing the SharpFuzz command-line tool $SHARPFUZZ_VERSION (dotnet tool SharpFuzz.CommandLine)"
  dotnet tool install --tool-path "$WORK/tools" SharpFuzz.CommandLine --version "$SHARPFUZZ_VERSION" >/dev/null \
    || die "could not install SharpFuzz.CommandLine $SHARPFUZZ_VERSION (NuGet)"
}

build_instrumented() {
  say "building fuzz/AotMilter.Fuzz.csproj (Release)"
  dotnet build fuzz/AotMilter.Fuzz.csproj -c Release -warnaserror -nologo -clp:NoSummary -v:minimal >&2 || die "build failed"
  rm -rf "$WORK/bin"
  mkdir -p "$WORK"
  cp -r fuzz/bin/Release/net10.0 "$WORK/bin"
  local dll out
  for dll in "${INSTRUMENT[@]}"; do
    out=$("$SHARPFUZZ" "$WORK/bin/$dll" 2>&1) || die "instrumenting $dll failed: $out"
  done
  say "instrumented ${INSTRUMENT[*]}"
}

# One value of afl's fuzzer_stats.
afl_stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$2"; }

run_target() {
  local t="$1" out="$WORK/$t"
  rm -rf "$out"
  say "$t: fuzzing for $minutes minute(s) (afl output in ${out#"$ROOT"/})"
  AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
  AFL_FAST_CAL=1 \
    afl-fuzz -V "$seconds" -i "fuzz/corpus/$t" -o "$out" -x "fuzz/dict/$t.dict" -t "$TIMEOUT_MS" -m none \
      -- dotnet "$WORK/bin/AotMilter.Fuzz.dll" "$t" >"$WORK/$t.log" 2>&1 \
    || { tail -30 "$WORK/$t.log" >&2; die "$t: afl-fuzz failed (log: artifacts/fuzz/$t.log)"; }
  [ -f "$out/default/fuzzer_stats" ] || die "$t: afl-fuzz wrote no fuzzer_stats (log: artifacts/fuzz/$t.log)"
}

# Appends one target's row to the table and its findings to the details; copies the findings beside the report.
report_target() {
  local t="$1" stats="$WORK/$1/default/fuzzer_stats"
  local run_time execs eps corpus crashes hangs stability
  run_time=$(afl_stat run_time "$stats"); execs=$(afl_stat execs_done "$stats"); eps=$(afl_stat execs_per_sec "$stats")
  corpus=$(afl_stat corpus_count "$stats"); crashes=$(afl_stat saved_crashes "$stats"); hangs=$(afl_stat saved_hangs "$stats")
  stability=$(afl_stat stability "$stats")
  rows+="| $t | $(awk "BEGIN{printf \"%.1f\", $run_time / 60}") min | $execs | $eps | $corpus | $crashes | $hangs | $stability |"$'\n'
  say "$t: $execs execs ($eps/s), $corpus paths, $crashes crashes, $hangs hangs, stability $stability"
  local kind file
  for kind in crashes hangs; do
    for file in "$WORK/$t/default/$kind"/id*; do
      [ -e "$file" ] || continue
      found=$((found + 1))
      mkdir -p "$findings/$t/$kind"
      cp "$file" "$findings/$t/$kind/"
      details+=$'\n'"### $t: $kind/$(basename "$file")"$'\n\n'"Input: $(stat -c %s "$file") bytes; the first 256 in hex: \`$(head -c 256 "$file" | od -An -v -tx1 | tr -d ' \n')\`"$'\n\n'
      # Replayed uninstrumented: instrumented code outside afl's fork server writes through a null trace map.
      details+='```'$'\n'"$(cd fuzz/bin/Release/net10.0 && { timeout 60 dotnet AotMilter.Fuzz.dll "$t" "$findings/$t/$kind/$(basename "$file")" 2>&1 || true; } | head -40)"$'\n''```'$'\n'
    done
  done
}

ensure_afl
ensure_sharpfuzz
build_instrumented
for t in "${targets[@]}"; do run_target "$t"; done

stamp=$(date -u +%Y-%m-%d)
host=$(hostname -s 2>/dev/null || hostname)
suffix=fuzz
awk "BEGIN{exit !($minutes < 10)}" && suffix=fuzz-smoke
mkdir -p "$RESULTS"
report="$RESULTS/$stamp-$host-$suffix.md"
findings="$RESULTS/$stamp-$host-$suffix-findings"
rm -rf "$findings"
rows="" details="" found=0
for t in "${targets[@]}"; do report_target "$t"; done

{
  echo "# Fuzzing run, $stamp ($host)"
  echo
  echo "Commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src filters generators fuzz/*.cs 2>/dev/null || echo ' (with local changes)'), afl$(afl_stat afl_version "$WORK/${targets[0]}/default/fuzzer_stats"), SharpFuzz $SHARPFUZZ_VERSION, $(nproc) cores (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)), $minutes minute(s) per target, one target at a time, per-input limit $TIMEOUT_MS ms."
  [ "$suffix" = fuzz-smoke ] && echo && echo "A smoke run (under 10 minutes per target): it shows that the pipeline works, not that the code holds up."
  echo
  echo "| target | duration | executions | executions/s | paths (corpus_count) | crashes | hangs | stability |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s' "$rows"
  echo
  if [ "$found" -eq 0 ]; then
    echo "No crash and no hang."
  else
    echo "## Findings ($found)"
    echo
    echo "Inputs copied to \`${findings#"$ROOT"/}\`; replay one with \`dotnet run --project fuzz -- TARGET FILE\`."
    printf '%s' "$details"
  fi
} >"$report"
say "report: ${report#"$ROOT"/}"
[ "$found" -eq 0 ] || { say "$found finding(s): see the report"; exit 3; }
