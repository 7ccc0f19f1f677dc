#!/usr/bin/env bash
# bench/soak.sh [MINUTES] -- the long run behind `./build.sh soak [MINUTES]` (default 60; build.sh builds first if
# the binary is missing or older than the sources).
#
# Proves that the published daemon neither grows nor fails under steady load. It starts artifacts/aotmilter on a
# private unix socket with a chain of bundled filters (policy, limits, rules, disclaimer, bench: the chain keeps a
# copy of each message for its later filters) and a small configuration written here, then keeps a moderate load on
# it for MINUTES: short `aotmilter bench` runs with pauses sized so that the daemon averages about SOAK_CPU_PCT % of
# one core (the point is leaks, not speed, and the machine is shared). The runs mix
#   - 1 and 100 messages per connection, 4 KiB bodies, each checked for the disclaimer's marker header (the
#     disclaimer rewrote the body from the chain's copy)
#   - recipients refused by the bench filter and by the policy filter
#   - now and then bodies of 256 KiB to 1 MiB (disclaimed: a body replacement of that size)
#   - batches of a few hundred connections held idle for a while
#   - hostile connections (bench/soak-client.py): garbage, half a frame, a message cut off, each then hanging up.
# Every 30 s (10 s for runs under 10 minutes) it records the daemon's RSS (VmRSS, VmHWM), descriptors, threads, CPU
# and counters. Each sample but the first follows a probe: one 1 MiB message, then a pause of 2.5 s. Giving back a
# chain copy of 1 MiB or more makes the daemon run a compacting collection a second later (MemoryBudget's trim), so
# every sample sees what the daemon keeps; without it the RSS swings by 20 MiB with whatever garbage the last large
# messages left on the heap, and the windows compared below would measure that swing, not a leak.
# It writes bench/results/<date>-<host>-soak.md: PASS when the RSS grew by less than 1 MiB after the warm-up and
# nothing failed (no bench error, the daemon alive and clean at exit, no unexpected error in its log); exit status 1
# otherwise.
#
# Settings (environment): SOAK_CPU_PCT (default 30), SOAK_OUT (the report file), SOAK_LOG_LEVEL (default
# Information, the daemon's default: a line per connection), SOAK_KEEP=1 (keep the work folder with the logs; it is
# always kept on FAIL).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BINARY="$ROOT/artifacts/aotmilter"
CLIENT="$ROOT/bench/soak-client.py"
MINUTES="${1:-60}"
CPU_PCT="${SOAK_CPU_PCT:-30}"
LOG_LEVEL="${SOAK_LOG_LEVEL:-Information}"
HOST="$(hostname -s 2>/dev/null || hostname)"
OUT="${SOAK_OUT:-$ROOT/bench/results/$(date +%Y-%m-%d)-$HOST-soak.md}"

say() { echo "soak.sh: $*" >&2; }
die() { echo "soak.sh: error: $*" >&2; exit 1; }

[[ "$MINUTES" =~ ^[1-9][0-9]*$ ]] || die "MINUTES must be a whole number of minutes, at least 1 (got '$MINUTES')"
[[ "$CPU_PCT" =~ ^[1-9][0-9]?$ ]] || die "SOAK_CPU_PCT must be from 1 to 99 (got '$CPU_PCT')"
[ -x "$BINARY" ] || die "$BINARY not found: run ./build.sh first"
# install_packages WHAT PACKAGE...: shared with build.sh and bench/bench.sh.
. "$ROOT/scripts/install-packages.sh"
command -v python3 >/dev/null 2>&1 || install_packages "python3 (hostile connections, metrics)" python3 \
  || die "python3 is needed for the hostile connections and the metrics"

WORK="$(mktemp -d -t aotmilter-soak.XXXXXX)"
SOCK="$WORK/milter.sock"
METRICS_SOCK="$WORK/metrics.sock"
CONF="$WORK/soak.conf"
DAEMON_LOG="$WORK/daemon.log"      # the daemon's log (--log-file)
DAEMON_OUT="$WORK/daemon.out"      # its standard streams: anything here is a crash or a runtime message
SERIES="$WORK/series.tsv"          # one row per sample
RUNS="$WORK/runs.tsv"              # one row per bench run
HOSTILE="$WORK/hostile.txt"        # "KIND COUNT" lines, one batch after another
PROBLEMS="$WORK/problems.txt"      # anything that fails the run besides bench errors and growth
: > "$SERIES"; : > "$RUNS"; : > "$HOSTILE"; : > "$PROBLEMS"

DURATION_S=$((MINUTES * 60))
SAMPLE_S=30; [ "$MINUTES" -lt 10 ] && SAMPLE_S=10
# Warm-up: pools, buffers and the GC heap reach their working size (the first idle batch and a 1 MiB message happen
# in it). Five minutes, or the first fifth of a short run.
WARMUP_S=300; [ $((DURATION_S / 5)) -lt "$WARMUP_S" ] && WARMUP_S=$((DURATION_S / 5))
# The two windows whose median RSS is compared: the first tenth of the samples after the warm-up and the last tenth,
# at least 3 samples each (but at most half of those after the warm-up).
SAMPLES_PLANNED=$((DURATION_S / SAMPLE_S + 1))
FIRST_POST=$(((WARMUP_S + SAMPLE_S - 1) / SAMPLE_S))
POST=$((SAMPLES_PLANNED - FIRST_POST))
WINDOW=$(((POST + 9) / 10)); [ "$WINDOW" -lt 3 ] && WINDOW=3; [ "$WINDOW" -gt $((POST / 2)) ] && WINDOW=$((POST / 2))
[ "$WINDOW" -ge 1 ] || die "a $MINUTES-minute run leaves no samples to compare after the warm-up"

IDLE_CONNS=300
IDLE_HOLD_S=60; [ $((WARMUP_S / 2)) -lt "$IDLE_HOLD_S" ] && IDLE_HOLD_S=$((WARMUP_S / 2))
# Idle batches: one in the warm-up, then every 10 minutes between the two windows, never inside one (300 held
# connections are several MiB that are not a leak).
IDLE_AT=($((WARMUP_S / 8)))
mid_first=$(((FIRST_POST + WINDOW) * SAMPLE_S))
mid_last=$((DURATION_S - WINDOW * SAMPLE_S - IDLE_HOLD_S))
for ((t = mid_first; t <= mid_last; t += 600)); do IDLE_AT+=("$t"); done

HZ=$(getconf CLK_TCK)
PID=""
IDLE_PID=""
KEEP="${SOAK_KEEP:-0}"

cleanup() {
  [ -n "$IDLE_PID" ] && kill -TERM "$IDLE_PID" 2>/dev/null
  [ -n "$PID" ] && stop_daemon >/dev/null
  if [ "$KEEP" = 1 ]; then say "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
seconds() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<< "$1"; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# ------------------------------------------------------------------ the daemon
cat > "$CONF" <<'EOF'
# Written by bench/soak.sh. Rules that match nothing the load sends are there to be evaluated on every message.
[policy]
client    = reject 198.51.100.0/24 reply="554 5.7.1 Your network is blocked here"
helo      = reject localhost *.invalid
sender    = reject *@spam.example
recipient = reject blocked@example.com reply="550 5.7.1 Recipient blocked by policy"

[limits]
max-message-size = 2M
max-recipients   = 100
max-headers      = 500

[rules]
header = Subject /\bbenchmark\b/i add-header X-Soak-Rules subject-seen
header = X-Spam-Flag YES quarantine "flagged upstream"
body   = "wire transfer urgently" prefix-subject "[SUSPICIOUS] "
max-body-scan = 256K

[disclaimer]
senders = @example.org
text = """
--
This message is confidential and meant for its addressees only.
"""
max-message-size = 2M
marker-header = X-AotMilter-Disclaimer
EOF
# Every accepted message must come back with the marker: the disclaimer rewrote it from the chain's copy.
MARKER=X-AotMilter-Disclaimer

AS_ROOT=(); [ "$(id -u)" = 0 ] && AS_ROOT=(--allow-root)
# bench goes last: it accepts at end of message, and the first verdict other than continue ends the chain.
DAEMON_ARGS=(-p "unix:$SOCK" --socket-mode 0600 "${AS_ROOT[@]}" -c "$CONF"
  -f policy -f limits -f rules -f disclaimer -f bench
  --metrics "unix:$METRICS_SOCK" --log-level "$LOG_LEVEL" --log-file "$DAEMON_LOG")
DAEMON_EXIT=""

start_daemon() {
  "$BINARY" --check-config -c "$CONF" >/dev/null || die "the soak configuration is refused: $("$BINARY" --check-config -c "$CONF" 2>&1)"
  setsid "$BINARY" "${DAEMON_ARGS[@]}" > "$DAEMON_OUT" 2>&1 &
  PID=$!
  for _ in $(seq 1 200); do
    [ -S "$SOCK" ] && [ -S "$METRICS_SOCK" ] && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$DAEMON_OUT" "$DAEMON_LOG" >&2 2>/dev/null || true
  die "aotmilter did not come up"
}

# stop_daemon: SIGTERM, as a service manager stops it; sets DAEMON_EXIT (SIGKILL after 20 s counts as a failure).
stop_daemon() {
  local pid=$PID rc=0
  PID=""
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    echo "the daemon did not exit within 20 s of SIGTERM (killed)" >> "$PROBLEMS"
  fi
  wait "$pid" 2>/dev/null || rc=$?
  DAEMON_EXIT=$rc
}

# ------------------------------------------------------------------ load
TOTAL_MSGS=0; TOTAL_ERRS=0; TOTAL_CONNECTS=0; RUN_COUNT=0; GEN_CPU_MS=0

# record LABEL RC RESULT-LINE FIRST-ERROR: one row of runs.tsv and the running totals. A run that failed without
# counting an error (no message sent, or killed) still counts one.
record() {
  local label=$1 rc=$2 res=$3 first=$4 msgs errs conns gen
  msgs=$(field "$res" messages); msgs=${msgs:-0}
  errs=$(field "$res" errors); errs=${errs:-0}
  conns=$(field "$res" connects); conns=${conns:-$(field "$res" ready)}; conns=${conns:-0}
  gen=$(field "$res" gen_cpu_s); gen=${gen:-0}
  [ "$rc" != 0 ] && [ "$errs" = 0 ] && errs=1
  RUN_COUNT=$((RUN_COUNT + 1))
  TOTAL_MSGS=$((TOTAL_MSGS + msgs)); TOTAL_ERRS=$((TOTAL_ERRS + errs)); TOTAL_CONNECTS=$((TOTAL_CONNECTS + conns))
  GEN_CPU_MS=$((GEN_CPU_MS + $(awk -v g="$gen" 'BEGIN { printf "%d", g * 1000 }')))
  printf '%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$RUN_COUNT" $((($(now_ms) - START_MS) / 1000)) "$label" "$rc" "$msgs" \
    "$errs" "$conns" "$(field "$res" msgs_per_s)" "$(field "$res" p99_us)" "${first//$'\t'/ }" >> "$RUNS"
}

# bench LABEL ARGS...: one `aotmilter bench` run in the foreground.
bench() {
  local label=$1 rc=0 res first=""
  shift
  "$BINARY" bench -p "unix:$SOCK" --label "$label" "$@" > "$WORK/run.out" 2> "$WORK/run.err" || rc=$?
  res=$(grep '^RESULT' "$WORK/run.out" || true)
  if [ "$rc" != 0 ]; then
    first=$(sed -n 's/^ *first error: //p' "$WORK/run.out" | head -1)
    [ -n "$first" ] || first=$(head -1 "$WORK/run.err")
    { echo "### run $((RUN_COUNT + 1)) ($label), exit status $rc"; echo '```'; echo "aotmilter bench -p unix:SOCKET --label $label $*"
      cat "$WORK/run.out" "$WORK/run.err"; echo '```'; } >> "$WORK/failed-runs.md"
  fi
  record "$label" "$rc" "$res" "$first"
}

# Idle batches run in the background while the load goes on; reap_idle collects one that has finished.
IDLE_BATCH=0
start_idle() {
  IDLE_BATCH=$((IDLE_BATCH + 1))
  "$BINARY" bench -p "unix:$SOCK" --label "idle-$IDLE_BATCH" --idle "$IDLE_CONNS" --duration "$IDLE_HOLD_S" \
    > "$WORK/idle-$IDLE_BATCH.out" 2> "$WORK/idle-$IDLE_BATCH.err" &
  IDLE_PID=$!
}

reap_idle() { # [wait]
  [ -n "$IDLE_PID" ] || return 0
  [ "${1:-}" = wait ] || ! kill -0 "$IDLE_PID" 2>/dev/null || return 0
  local rc=0 res first=""
  wait "$IDLE_PID" || rc=$?
  IDLE_PID=""
  res=$(grep '^RESULT' "$WORK/idle-$IDLE_BATCH.out" || true)
  # The RESULT line is printed once the connections are held; an error while holding (the daemon closed a held
  # connection) shows only in the exit status.
  if [ "$rc" != 0 ]; then
    first=$(head -1 "$WORK/idle-$IDLE_BATCH.err")
    { echo "### idle batch $IDLE_BATCH, exit status $rc"; echo '```'; cat "$WORK/idle-$IDLE_BATCH.out" "$WORK/idle-$IDLE_BATCH.err"; echo '```'; } >> "$WORK/failed-runs.md"
  fi
  record "idle-$IDLE_CONNS" "$rc" "$res" "$first"
}

HOSTILE_SENT=0
hostile() { # COUNT
  if python3 "$CLIENT" hostile "$SOCK" "$1" "$HOSTILE_SENT" >> "$HOSTILE" 2> "$WORK/hostile.err"; then
    HOSTILE_SENT=$((HOSTILE_SENT + $1))
  else
    echo "hostile client at $((($(now_ms) - START_MS) / 1000)) s: $(head -1 "$WORK/hostile.err")" >> "$PROBLEMS"
  fi
}

# ------------------------------------------------------------------ samples
# metric NAME: the daemon's counter from the last /metrics answer (summed over labels).
metric() { awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2; found = 1 } END { if (found) printf "%d", s; else print "-" }' "$WORK/metrics.txt"; }

# kib BYTES: whole KiB, or "-" for a metric the daemon did not publish.
kib() { [ "$1" = - ] && echo - || echo $(($1 / 1024)); }

PREV_TICKS=0; PREV_MS=0
sample() {
  local now t rss hwm threads fds ticks cpu open note=""
  now=$(now_ms); t=$(((now - START_MS) / 1000))
  if ! kill -0 "$PID" 2>/dev/null; then echo "the daemon was gone at $t s" >> "$PROBLEMS"; DAEMON_GONE=1; return; fi
  rss=$(status_kb "$PID" VmRSS); hwm=$(status_kb "$PID" VmHWM); threads=$(status_kb "$PID" Threads)
  fds=$(find "/proc/$PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  ticks=$(cpu_ticks "$PID")
  cpu=$(awk -v d=$((ticks - PREV_TICKS)) -v ms=$((now - PREV_MS)) -v hz="$HZ" 'BEGIN { printf "%.1f", (ms > 0 ? 100 * d / hz / (ms / 1000) : 0) }')
  PREV_TICKS=$ticks; PREV_MS=$now
  if ! python3 "$CLIENT" metrics "$METRICS_SOCK" > "$WORK/metrics.txt" 2> "$WORK/metrics.err"; then
    echo "metrics endpoint at $t s: $(head -1 "$WORK/metrics.err")" >> "$PROBLEMS"
    : > "$WORK/metrics.txt"
  fi
  # Samples fall between bench runs, so connections open then are an idle batch's (it may have let them go already
  # while its process is still exiting).
  open=$(metric aotmilter_connections_open)
  [ -n "$IDLE_PID" ] && [ "$open" != - ] && [ "$open" -gt 0 ] && note="idle batch held"
  printf '%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$rss" "$hwm" "$fds" "$threads" \
    "$open" "$cpu" "$(metric aotmilter_messages_total)" "$(metric aotmilter_connections_total)" \
    "$TOTAL_MSGS" "$TOTAL_ERRS" "$(metric aotmilter_protocol_errors_total)" "$note" \
    "$(kib "$(metric aotmilter_gc_heap_live_bytes)")" "$(kib "$(metric aotmilter_gc_committed_bytes)")" >> "$SERIES"
}

# probe: the message that makes the daemon compact its heap before a sample (see the top of this file); the trim
# runs one second after the copy is given back.
probe() {
  bench probe -c 1 -n 1 --size 1048576 --expect-header "$MARKER" --timeout 30
  sleep 2.5
}

# wait_until MS: sleeps until that time, taking the samples that fall due meanwhile (so samples are taken between
# bench runs, never in the middle of a burst).
NEXT_SAMPLE_MS=0
DAEMON_GONE=0
wait_until() {
  local target=$1 now until
  while :; do
    now=$(now_ms)
    if [ "$now" -ge "$NEXT_SAMPLE_MS" ] && [ "$NEXT_SAMPLE_MS" -lt "$END_MS" ]; then
      # The interval counts from the start of a sample, probe included: one that a burst delayed is not followed by
      # the next at once.
      NEXT_SAMPLE_MS=$((now + SAMPLE_S * 1000))
      [ -s "$SERIES" ] && probe
      sample
      continue
    fi
    [ "$now" -ge "$target" ] && return 0
    until=$target; [ "$NEXT_SAMPLE_MS" -lt "$END_MS" ] && [ "$NEXT_SAMPLE_MS" -lt "$until" ] && until=$NEXT_SAMPLE_MS
    sleep "$(seconds $((until - now)))"
  done
}

# pace: the pause after a run that brings the daemon's average CPU since the start back to CPU_PCT % of one core
# (no pause while it is below), between 0.2 and 15 s.
pace() {
  local now ticks pause
  now=$(now_ms); ticks=$(cpu_ticks "$PID")
  pause=$(awk -v t=$((ticks - START_TICKS)) -v hz="$HZ" -v pct="$CPU_PCT" -v ms=$((now - START_MS)) \
    'BEGIN { p = (t / hz) / (pct / 100) * 1000 - ms; if (p < 200) p = 200; if (p > 15000) p = 15000; printf "%d", p }')
  wait_until $((now + pause < END_MS ? now + pause : END_MS))
}

# ------------------------------------------------------------------ main
STARTED_AT=$(date '+%Y-%m-%d %H:%M %Z')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "soak: $MINUTES min, daemon at about $CPU_PCT % of one core, a sample every $SAMPLE_S s, warm-up $WARMUP_S s"
start_daemon
START_MS=$(now_ms); END_MS=$((START_MS + DURATION_S * 1000)); NEXT_SAMPLE_MS=$START_MS
START_TICKS=$(cpu_ticks "$PID"); PREV_TICKS=$START_TICKS; PREV_MS=$START_MS
wait_until "$START_MS"

# One rotation: a large message first (the first one 1 MiB, so that the warm-up sees the largest), then the steady mix.
ROTATION=(large small-1 small-100 reject-bench small-1 small-100 reject-policy small-1 small-100)
step=0; large_runs=0; next_idle=0
while [ "$DAEMON_GONE" = 0 ]; do
  now=$(now_ms); left=$((END_MS - now))
  [ "$left" -gt 1000 ] || break
  reap_idle
  if [ -z "$IDLE_PID" ] && [ "$next_idle" -lt ${#IDLE_AT[@]} ] && [ $((now - START_MS)) -ge $((IDLE_AT[next_idle] * 1000)) ]; then
    start_idle; next_idle=$((next_idle + 1))
  fi
  burst=$(seconds $((left < 2000 ? left - 500 : 2000)))
  case ${ROTATION[step % ${#ROTATION[@]}]} in
    large)
      hostile 5
      if [ "$left" -gt 20000 ]; then
        size=1048576; [ "$large_runs" -gt 0 ] && size=$((262144 + RANDOM * 24))
        mpc=1; [ $((large_runs % 2)) = 1 ] && mpc=3
        bench large -c 2 -n 6 --msgs-per-conn "$mpc" --size "$size" --expect-header "$MARKER" --timeout 30
        large_runs=$((large_runs + 1))
      fi ;;
    small-1) bench small-1 -c 4 --msgs-per-conn 1 -d "$burst" --expect-header "$MARKER" ;;
    small-100) bench small-100 -c 4 --msgs-per-conn 100 -d "$burst" --expect-header "$MARKER" ;;
    reject-bench) bench reject-bench -c 2 --msgs-per-conn 10 --rcpt reject@example.com --expect-reject -d 1 ;;
    reject-policy) bench reject-policy -c 2 --msgs-per-conn 1 --rcpt blocked@example.com --expect-reject -d 1 ;;
  esac
  step=$((step + 1))
  pace
done
[ "$DAEMON_GONE" = 0 ] && wait_until "$END_MS"
reap_idle wait
# The last sample is taken at the end, wherever the interval stands.
[ "$DAEMON_GONE" = 0 ] && { probe; sample; }
ELAPSED_S=$((($(now_ms) - START_MS) / 1000))
# A daemon that died mid-run is measured up to its last sample.
if [ "$DAEMON_GONE" = 0 ]; then TOTAL_TICKS=$(($(cpu_ticks "$PID") - START_TICKS)); else TOTAL_TICKS=$((PREV_TICKS - START_TICKS)); fi
ALIVE=no; [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null && ALIVE=yes
[ -n "$PID" ] && stop_daemon
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ verdict
# The log: "DATE TIME LEVEL message". Hostile connections are expected to end in "closed: protocol error" lines (one
# per connection at most); any other line at Error or above is a finding.
HOSTILE_LINES=$(awk '$3 ~ /^(ERR|CRI|CRT|FTL)$/ && /closed: protocol error/' "$DAEMON_LOG" 2>/dev/null | wc -l)
{ awk '$3 ~ /^(ERR|CRI|CRT|FTL)$/ && !/closed: protocol error/' "$DAEMON_LOG" 2>/dev/null
  grep -ahiE 'unhandled exception|fatal error|segmentation|stack overflow|out of memory|outofmemory|core dumped' \
    "$DAEMON_LOG" "$DAEMON_OUT" 2>/dev/null; } | awk '!seen[$0]++' > "$WORK/errors.log" || true
UNEXPECTED=$(wc -l < "$WORK/errors.log")
[ "$HOSTILE_LINES" -le "$HOSTILE_SENT" ] || echo "$HOSTILE_LINES protocol-error lines for $HOSTILE_SENT hostile connections" >> "$PROBLEMS"
[ "$ALIVE" = yes ] || echo "the daemon was not running at the end" >> "$PROBLEMS"
[ "${DAEMON_EXIT:-x}" = 0 ] || echo "the daemon's exit status after SIGTERM was ${DAEMON_EXIT:-unknown} (0 expected)" >> "$PROBLEMS"
[ -s "$DAEMON_OUT" ] && echo "the daemon wrote to its standard streams (the log goes to a file): see below" >> "$PROBLEMS"
FAILED_RUNS=$(awk -F'\t' '$4 != 0' "$RUNS" | wc -l)

# growth: medians of the two windows (samples after the warm-up), in KiB
read -r W1_MEDIAN W2_MEDIAN W1_FROM W1_TO W2_FROM W2_TO N_POST K < <(awk -F'\t' -v w="$WINDOW" -v warm="$WARMUP_S" '
  function median(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
                                       return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  $1 >= warm && $2 != "" { n++; t[n] = $1; r[n] = $2 }
  END { k = w; if (k > int(n / 2)) k = int(n / 2); if (k < 1) { print "- - - - - - " n " 0"; exit }
        for (i = 1; i <= k; i++) { a[i] = r[i]; b[i] = r[n - k + i] }
        printf "%d %d %d %d %d %d %d %d\n", median(a, k), median(b, k), t[1], t[k], t[n - k + 1], t[n], n, k }' "$SERIES")
GROWTH="-"; [ "$W1_MEDIAN" != - ] && GROWTH=$((W2_MEDIAN - W1_MEDIAN))
# The managed heap's live bytes after the last collection (--metrics), over the same windows: context that tells a
# leak (live bytes grow) from the GC's retained regions (the RSS moves, live bytes do not).
read -r L1_MEDIAN L2_MEDIAN < <(awk -F'\t' -v k="$K" -v warm="$WARMUP_S" '
  function median(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
                                       return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  $1 >= warm && $2 != "" { n++; r[n] = $14 }
  END { if (k < 1 || n < 2 * k || r[1] == "-" || r[n] == "-") { print "- -"; exit }
        for (i = 1; i <= k; i++) { a[i] = r[i]; b[i] = r[n - k + i] }
        printf "%d %d\n", median(a, k), median(b, k) }' "$SERIES")
LIVE_GROWTH="-"; [ "$L1_MEDIAN" != - ] && LIVE_GROWTH=$((L2_MEDIAN - L1_MEDIAN))
# Context beside the verdict: the least-squares slope and the range of the samples after the warm-up, leaving out
# those taken while an idle batch was held (its connections are memory in use, not growth).
read -r TREND RSS_MIN RSS_MAX < <(awk -F'\t' -v warm="$WARMUP_S" '$1 >= warm && $2 != "" && $13 == "" {
    n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2; if (n == 1 || $2 < lo) lo = $2; if ($2 > hi) hi = $2 }
  END { d = n * sxx - sx * sx; if (n < 2 || d == 0) print "- - -"; else printf "%+.0f %d %d\n", (n * sxy - sx * sy) / d * 3600, lo, hi }' "$SERIES")
VERDICT=PASS
if [ "$GROWTH" = - ] || [ "$GROWTH" -ge 1024 ] || [ "$TOTAL_ERRS" != 0 ] || [ "$FAILED_RUNS" != 0 ] || [ "$UNEXPECTED" != 0 ] || [ -s "$PROBLEMS" ]; then
  VERDICT=FAIL
fi

# ------------------------------------------------------------------ report
first_row() { awk -F'\t' -v c="$1" 'NR == 1 { print $c }' "$SERIES"; }
last_row() { awk -F'\t' -v c="$1" 'END { print $c }' "$SERIES"; }
post_first_row() { awk -F'\t' -v c="$1" -v warm="$WARMUP_S" '$1 >= warm { print $c; exit }' "$SERIES"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
DAEMON_CPU_PCT=$(awk -v t="$TOTAL_TICKS" -v hz="$HZ" -v s="$ELAPSED_S" 'BEGIN { printf "%.1f", (s > 0 ? 100 * t / hz / s : 0) }')
GEN_CPU_PCT=$(awk -v ms="$GEN_CPU_MS" -v s="$ELAPSED_S" 'BEGIN { printf "%.1f", (s > 0 ? ms / 10 / s : 0) }')
DIRTY=""; git -C "$ROOT" diff --quiet HEAD -- src filters generators 2>/dev/null || DIRTY=" with uncommitted changes"

mkdir -p "$(dirname "$OUT")"
{
  echo "# aotmilter soak test, $STARTED_AT, $HOST: **$VERDICT**"
  echo
  echo "- Command: \`./build.sh soak $MINUTES\` (bench/soak.sh), ${MINUTES} min planned, ${ELAPSED_S} s run; load paced to about ${CPU_PCT} % of one core for the daemon"
  echo "- aotmilter $("$BINARY" --version 2>/dev/null), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$DIRTY; $(stat -c %s "$BINARY") bytes"
  echo "- Machine: $(nproc) CPU(s), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -sr), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo); load average $LOAD_BEFORE at the start, $LOAD_AFTER at the end (shared machine)"
  echo "- Daemon: \`aotmilter ${DAEMON_ARGS[*]//$WORK\//}\` (paths relative to a temporary folder; the configuration is below)"
  echo
  echo "## Result"
  echo
  echo "| check | value |"
  echo "|---|---|"
  echo "| RSS growth after warm-up (median of samples ${W2_FROM}-${W2_TO} s minus median of ${W1_FROM}-${W1_TO} s, ${K} of the ${N_POST} samples after the ${WARMUP_S} s warm-up each; PASS below 1024 KiB) | **${GROWTH} KiB** ($W1_MEDIAN -> $W2_MEDIAN KiB) |"
  echo "| context, not part of the verdict: least-squares trend / range of the RSS after the warm-up (samples without an idle batch) | $TREND KiB per hour / $RSS_MIN-$RSS_MAX KiB |"
  echo "| context, not part of the verdict: growth of the managed heap's live bytes after a collection, same windows | $LIVE_GROWTH KiB ($L1_MEDIAN -> $L2_MEDIAN KiB) |"
  echo "| errors counted by the bench runs (each validates every reply) | $TOTAL_ERRS |"
  echo "| bench runs with a non-zero exit status | $FAILED_RUNS of $RUN_COUNT |"
  echo "| daemon alive at the end / exit status after SIGTERM | $ALIVE / ${DAEMON_EXIT:-none} |"
  echo "| log lines at Error or above, not from hostile connections (and crash markers anywhere) | $UNEXPECTED |"
  echo "| log lines \"closed: protocol error\" (expected: at most one per hostile connection) | $HOSTILE_LINES for $HOSTILE_SENT hostile connections |"
  echo "| other problems | $( [ -s "$PROBLEMS" ] && wc -l < "$PROBLEMS" || echo 0 ) |"
  echo
  echo "## Totals"
  echo
  echo "| figure | value |"
  echo "|---|---|"
  echo "| messages sent by the bench runs (accepted or refused at RCPT, all validated) | $TOTAL_MSGS |"
  echo "| messages the daemon counted (MAIL commands, hostile ones included) | $(last_row 8) |"
  echo "| connections the daemon accepted (load, idle and hostile) | $(last_row 9) |"
  echo "| connections opened by the bench runs / held idle in $IDLE_BATCH batch(es) of $IDLE_CONNS / hostile | $TOTAL_CONNECTS (idle included) / $((IDLE_BATCH * IDLE_CONNS)) / $HOSTILE_SENT |"
  echo "| the daemon's CPU, average over the run | ${DAEMON_CPU_PCT} % of one core ($(awk -v t="$TOTAL_TICKS" -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }') s) |"
  echo "| the load generator's CPU (aotmilter bench, sum of the runs) | ${GEN_CPU_PCT} % of one core |"
  echo "| RSS at start / after warm-up / at the end / peak (VmHWM) | $(mib "$(first_row 2)") / $(mib "$(post_first_row 2)") / $(mib "$(last_row 2)") / $(mib "$(last_row 3)") MiB |"
  echo "| open descriptors at start / after warm-up / at the end | $(first_row 4) / $(post_first_row 4) / $(last_row 4) |"
  echo "| threads at start / at the end | $(first_row 5) / $(last_row 5) |"
  echo "| the daemon's log (level $LOG_LEVEL) | $(awk -v b="$(stat -c %s "$DAEMON_LOG" 2>/dev/null || echo 0)" 'BEGIN { printf "%.1f", b / 1048576 }') MiB, $(wc -l < "$DAEMON_LOG") lines |"
  echo
  echo "Per kind of run (\`aotmilter bench -p SOCKET --label KIND ...\`; each run a short burst, then a pause sized to keep the daemon's average CPU near the target):"
  echo
  echo "| kind | options | runs | exit != 0 | messages | errors | connections |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  awk -F'\t' '{ k = $3; runs[k]++; if ($4 != 0) bad[k]++; m[k] += $5; e[k] += $6; c[k] += $7; if (!(k in order)) { order[k] = ++n; name[n] = k } }
    END { for (i = 1; i <= n; i++) { k = name[i]; printf "%s\t%d\t%d\t%d\t%d\t%d\n", k, runs[k], bad[k], m[k], e[k], c[k] } }' "$RUNS" |
  while IFS=$'\t' read -r kind runs bad msgs errs conns; do
    case $kind in
      large) opts="-c 2 -n 6 --msgs-per-conn 1 or 3 --size 1048576 (first), then 262144-1048576 --expect-header $MARKER --timeout 30" ;;
      small-1) opts="-c 4 --msgs-per-conn 1 -d 2 --expect-header $MARKER" ;;
      small-100) opts="-c 4 --msgs-per-conn 100 -d 2 --expect-header $MARKER" ;;
      reject-bench) opts="-c 2 --msgs-per-conn 10 --rcpt reject@example.com --expect-reject -d 1 (the bench filter refuses)" ;;
      reject-policy) opts="-c 2 --rcpt blocked@example.com --expect-reject -d 1 (the policy filter refuses)" ;;
      probe) opts="-c 1 -n 1 --size 1048576 --expect-header $MARKER, 2.5 s before each sample" ;;
      idle-*) opts="--idle $IDLE_CONNS --duration $IDLE_HOLD_S, in the background, starting at $(IFS=,; echo "${IDLE_AT[*]}") s" ;;
      *) opts="" ;;
    esac
    echo "| $kind | \`$opts\` | $runs | $bad | $msgs | $errs | $conns |"
  done
  echo
  echo "Hostile connections (bench/soak-client.py; 5 after every $(( ${#ROTATION[@]} )) runs, each then hangs up):"
  echo
  echo "| kind | connections |"
  echo "|---|---:|"
  awk '{ n[$1] += $2 } END { for (k in n) printf "| %s | %d |\n", k, n[k] }' "$HOSTILE" | sort
  echo
  echo "## RSS series"
  echo
  echo "Taken between bench runs, each (but the first) 2.5 s after a 1 MiB probe message whose release makes the daemon compact its heap, so that samples compare what the daemon keeps rather than the garbage the last large messages left. CPU is the daemon's over the interval before the sample; counters are the daemon's (\`--metrics\`) and the load generator's."
  echo
  echo "| t (s) | VmRSS KiB | VmHWM KiB | GC live KiB | GC committed KiB | fds | threads | open conns | CPU % | daemon msgs | daemon conns | bench msgs | bench errors | protocol errors | note |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  awk -F'\t' -v warm="$WARMUP_S" -v a="$W1_FROM" -v b="$W1_TO" -v c="$W2_FROM" -v d="$W2_TO" '{
      note = $13
      if ($1 < warm) note = note (note != "" ? "; " : "") "warm-up"
      if ($1 >= a && $1 <= b) note = note (note != "" ? "; " : "") "first window"
      if ($1 >= c && $1 <= d) note = note (note != "" ? "; " : "") "last window"
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $14, $15, $4, $5, $6, $7, $8, $9, $10, $11, $12, note }' "$SERIES"
  echo
  echo "## Errors"
  echo
  if [ "$UNEXPECTED" = 0 ]; then
    echo "No log line at Error level or above other than the hostile connections' protocol errors; no crash marker."
  else
    echo "Log lines at Error level or above not caused by the hostile connections ($UNEXPECTED; the first 50):"
    echo; echo '```'; head -50 "$WORK/errors.log"; echo '```'
  fi
  echo
  echo "Warnings in the log, by kind (numbers replaced by N):"
  echo
  # No pipe into grep -q: under pipefail, grep leaving at the first line could fail awk (SIGPIPE) and hide the warnings.
  if [ -n "$(awk '$3 == "WRN"' "$DAEMON_LOG" 2>/dev/null)" ]; then
    echo '```'
    awk '$3 == "WRN" { $1 = $2 = ""; sub(/^ +/, ""); gsub(/[0-9]+/, "N"); print }' "$DAEMON_LOG" | sort | uniq -c | sort -rn | head -20
    echo '```'
  else
    echo "none"
  fi
  echo
  echo "Protocol errors logged for the hostile connections, by reason:"
  echo
  if [ "$HOSTILE_LINES" -gt 0 ]; then
    echo '```'
    awk '$3 ~ /^(ERR|CRI)$/ && /closed: protocol error/ { sub(/.*closed: protocol error /, ""); gsub(/[0-9]+/, "N"); print }' "$DAEMON_LOG" | sort | uniq -c | sort -rn
    echo '```'
  else
    echo "none"
  fi
  if [ -s "$PROBLEMS" ]; then
    echo; echo "Other problems:"; echo; sed 's/^/- /' "$PROBLEMS"
  fi
  if [ -s "$DAEMON_OUT" ]; then
    echo; echo "The daemon's standard streams (the first 30 lines):"; echo; echo '```'; head -30 "$DAEMON_OUT"; echo '```'
  fi
  if [ -s "$WORK/failed-runs.md" ]; then
    echo; echo "Failed runs:"; echo; head -200 "$WORK/failed-runs.md"
  fi
  echo
  echo "## Configuration"
  echo
  echo '```ini'; cat "$CONF"; echo '```'
  echo
  echo "<details><summary>Every bench run: exit status and errors ($RUN_COUNT runs)</summary>"
  echo
  echo "| # | t (s) | kind | exit | messages | errors | connections | msgs/s | p99 us | first error |"
  echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }' "$RUNS"
  echo
  echo "</details>"
} > "$OUT"

[ "$VERDICT" = PASS ] || KEEP=1
say "$VERDICT: RSS growth after warm-up ${GROWTH} KiB, $TOTAL_MSGS messages, $TOTAL_ERRS errors, $FAILED_RUNS failed runs, $UNEXPECTED unexpected log lines, daemon CPU ${DAEMON_CPU_PCT} % of one core"
say "wrote $OUT"
[ "$VERDICT" = PASS ]
