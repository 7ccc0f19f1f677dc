#!/usr/bin/env bash
# bench/bench.sh -- the benchmark behind `./build.sh bench` (which builds artifacts/aotmilter first).
#
# With ../shared beside the project (as in CI): runs ../shared/bench/compare.sh -- the neutral load generator
# milter-load against libmilter (C), go-milter, pymilter and the null milter -- with two aotmilter rows added:
#   aotmilter-like      aotmilter -f bench --always-reply   negotiated like the peers: a reply to every event
#   aotmilter           aotmilter -f bench                  the flags the generator derives from the filter's code
#   aotmilter-like+log  as aotmilter-like with the default log (a line per connection): what that line costs
# The first two log warnings only (--log-level Warning), as the peers, which log nothing per connection.
# at concurrency 1, 8 and 64, with one message per connection and with 100. Without ../shared it measures aotmilter
# alone with `aotmilter bench` and says so. Either way it adds the daemon's own figures (allocated bytes per message,
# start-up time, binary size, RSS with 1,000 idle connections), the rate limiter with its in-process store and with
# Redis at concurrency 8 and 64 (bench/stores.sh), and writes bench/results/<date>-<host>.md.
#
# It ends with the scanning rows: clamav-milter and spamass-milter against aotmilter -f clamav and -f spamassassin on
# one private clamd and spamd (installs them as root), sending real messages from ../shared/corpus with EICAR or GTUBE
# among them and checking every verdict; BENCH_ONLY=scanning runs that section alone.
#
# Settings (environment): BENCH_DURATION (seconds per run, default 5), BENCH_CONC (default "1 8 64"),
# BENCH_PEERS (default "null null-nr c go python"), AOTMILTER_SHARED (default ../shared), BENCH_OUT (the results file),
# BENCH_SCAN_CONC (the scanning rows' concurrency, default 8), BENCH_SCAN_ROUNDS_CLAMAV and BENCH_SCAN_ROUNDS_SPAMASSASSIN
# (rounds of the scanning mix per row, default 100 and 3), BENCH_ONLY (scanning: that section alone).
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BINARY="$ROOT/artifacts/aotmilter"
SHARED="${AOTMILTER_SHARED:-$ROOT/../shared}"
DURATION="${BENCH_DURATION:-5}"
CONC="${BENCH_CONC:-1 8 64}"
HOST="$(hostname -s 2>/dev/null || hostname)"
OUT="${BENCH_OUT:-$ROOT/bench/results/$(date +%Y-%m-%d)-$HOST.md}"
PEERS="${BENCH_PEERS:-null null-nr c go python}"
WORK="$(mktemp -d -t aotmilter-bench.XXXXXX)"
# The daemon refuses to run as root without -u; the benchmark is a throwaway process on a private socket.
AS_ROOT=""; [ "$(id -u)" = 0 ] && AS_ROOT="--allow-root"
QUIET="--log-level Warning"
ROWS="$WORK/rows.tsv"       # mode  milter  conc  msgs/s  p50  p99  errors  cpu_s  us/msg  rss_mib  gen_cpu%
FIGURES="$WORK/figures.md"
GENERATORS="$WORK/generators.md"
trap 'stop_all; rm -rf "$WORK"' EXIT

say() { echo "bench.sh: $*" >&2; }
die() { echo "bench.sh: error: $*" >&2; exit 1; }

[ -x "$BINARY" ] || die "$BINARY not found: run ./build.sh first"
: > "$ROWS"

# ------------------------------------------------------------------ milters started here
PIDS=()
MPID=
# start_milter SOCKPATH LOGFILE ARGS... : starts aotmilter in its own session, sets MPID, waits for the socket.
start_milter() {
  local sock=$1 log=$2; shift 2
  rm -f "$sock"
  setsid "$BINARY" -p "unix:$sock" --socket-mode 0600 $AS_ROOT "$@" > "$log" 2>&1 &
  MPID=$!
  PIDS+=("$MPID")
  for _ in $(seq 1 200); do
    [ -S "$sock" ] && return 0
    kill -0 "$MPID" 2>/dev/null || break
    sleep 0.05
  done
  say "aotmilter $* did not come up:"; tail -5 "$log" >&2
  return 1
}

stop_milter() { # pid
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}

stop_all() { local p; for p in "${PIDS[@]}"; do stop_milter "$p"; done; PIDS=(); }

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<< "$1"; }

# cpu_ticks PID: utime+stime+cutime+cstime
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# ------------------------------------------------------------------ peers' packages
# install_packages WHAT PACKAGE...: shared with build.sh, bench/soak.sh and fuzz/fuzz.sh.
. "$ROOT/scripts/install-packages.sh"
# PEER_PACKAGES, install_peer_packages
. "$ROOT/scripts/peers.sh"

# ------------------------------------------------------------------ side by side (compare.sh)
# compare MODE MSGS_PER_CONN: appends the rows of compare.sh's table to $ROWS
compare() {
  local mode=$1 mpc=$2 table="$WORK/compare-$2.md"
  say "compare.sh: ${mpc} message(s) per connection, ${DURATION}s per run, concurrency $CONC"
  "$SHARED/bench/compare.sh" --peers "$PEERS" --conc "$CONC" --duration "$DURATION" --msgs-per-conn "$mpc" \
    --extra "aotmilter-like=$BINARY -p {SOCK} -f bench --always-reply $QUIET $AS_ROOT" \
    --extra "aotmilter=$BINARY -p {SOCK} -f bench $QUIET $AS_ROOT" \
    --extra "aotmilter-like+log=$BINARY -p {SOCK} -f bench --always-reply $AS_ROOT" \
    --results "$WORK/results-$mpc.txt" > "$table" || say "compare.sh reported a failure (see the table)"
  awk -F'|' -v mode="$mode" '
    /^\| [^-]/ && $3 ~ /^ *[0-9]+ *$/ {
      for (i = 2; i <= 11; i++) { gsub(/^ +| +$/, "", $i) }
      rss = $10; sub(/ .*/, "", rss)
      printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mode, $2, $3, $4, $5, $6, $7, $8, $9, rss, $11
    }' "$table" >> "$ROWS"
}

# ------------------------------------------------------------------ aotmilter alone (no ../shared)
# alone MODE MSGS_PER_CONN: aotmilter bench against both aotmilter rows, CPU and peak RSS from /proc
alone() {
  local mode=$1 mpc=$2 name c sock pid t0 t1 res hwm hz
  hz=$(getconf CLK_TCK)
  for name in aotmilter-like aotmilter; do
    for c in $CONC; do
      sock="$WORK/alone.sock"
      local extra=($QUIET); [ "$name" = aotmilter-like ] && extra+=(--always-reply)
      start_milter "$sock" "$WORK/alone.log" -f bench "${extra[@]}" && pid=$MPID || { printf '%s\t%s\t%s\tfailed to start\n' "$mode" "$name" "$c" >> "$ROWS"; continue; }
      sleep 0.2
      t0=$(cpu_ticks "$pid")
      res=$("$BINARY" bench --socket "unix:$sock" --connections "$c" --duration "$DURATION" --msgs-per-conn "$mpc" \
        --expect-header X-Bench --label "$name" 2> "$WORK/alone.err" | grep '^RESULT')
      t1=$(cpu_ticks "$pid"); hwm=$(status_kb "$pid" VmHWM)
      stop_milter "$pid"
      awk -v m="$mode" -v n="$name" -v c="$c" -v mps="$(field "$res" msgs_per_s)" -v p50="$(field "$res" p50_us)" \
        -v p99="$(field "$res" p99_us)" -v e="$(field "$res" errors)" -v msgs="$(field "$res" messages)" \
        -v t="$((t1 - t0))" -v hz="$hz" -v hwm="$hwm" -v g="$(field "$res" gen_cpu_pct)" 'BEGIN {
          cpu = t / hz; printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%.1f\t%s\n", m, n, c, mps, p50, p99, e, cpu,
            (msgs > 0 ? sprintf("%.0f", cpu * 1e6 / msgs) : "-"), hwm / 1024, g }' >> "$ROWS"
      say "done $name c=$c: $(field "$res" msgs_per_s) msgs/s, errors $(field "$res" errors)"
    done
  done
}

# ------------------------------------------------------------------ the daemon's own figures
# Allocated bytes per message in steady state: warm up, SIGUSR1, measured load, SIGUSR1; the daemon logs its
# counters on each signal and the difference of the two lines is the steady state.
alloc_per_message() { # name mpc args...
  local name=$1 mpc=$2; shift 2
  local sock="$WORK/alloc.sock" log="$WORK/alloc-$name-$mpc.log" pid lines
  start_milter "$sock" "$WORK/alloc.out" --log-file "$log" "$@" || return 1
  pid=$MPID
  load() { if [ -x "$SHARED/bench/milter-load" ]; then "$SHARED/bench/milter-load" --socket "unix:$sock" --connections 8 --duration "$1" --msgs-per-conn "$mpc" >/dev/null 2>&1
           else "$BINARY" bench --socket "unix:$sock" --connections 8 --duration "$1" --msgs-per-conn "$mpc" >/dev/null 2>&1; fi; }
  usr1() { lines=$(grep -c 'statistics (SIGUSR1)' "$log" 2>/dev/null); kill -USR1 "$pid"
           for _ in $(seq 1 50); do [ "$(grep -c 'statistics (SIGUSR1)' "$log" 2>/dev/null)" -gt "$lines" ] && return; sleep 0.1; done; }
  # A first SIGUSR1 before the warm-up: its one-time set-up (~11 KB) must not be counted against messages. The
  # warm-up (three runs' length) lets the connection pool reach its high-water mark: the MTA's connections plus those
  # whose QUIT is still in flight while the next one is accepted, plus the four spares made ahead of each new peak.
  # After the measured window, one more without load: what the instrument itself allocates (the signal's dispatch in
  # the runtime and the statistics line), subtracted from the measured window.
  usr1; load "$((DURATION * 3))"; usr1; load "$DURATION"; usr1; sleep 1; usr1
  stop_milter "$pid"
  grep 'statistics (SIGUSR1)' "$log" | tail -3 | awk '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[NR, kv[1]] = kv[2] } }
    END { m = v[2, "messages"] - v[1, "messages"]; b = v[2, "allocated_bytes"] - v[1, "allocated_bytes"]
          c = v[2, "connections"] - v[1, "connections"]; e = v[3, "allocated_bytes"] - v[2, "allocated_bytes"]
          o = v[2, "connection_objects"] - v[1, "connection_objects"]
          net = b - e; if (net < 0) net = 0
          if (m > 0) printf "%.1f\t%d\t%d\t%d\t%d\t%d\t%d\n", net / m, m, c, b, e, net, o; else print "-\t0\t0\t0\t0\t0\t0" }'
}

daemon_figures() {
  local size pid sock="$WORK/fig.sock" res rss hwm idle_pid
  size=$(stat -c %s "$BINARY")
  {
    echo "## The daemon's own figures"
    echo
    echo "| figure | value | target |"
    echo "|---|---:|---:|"
    printf '| binary size (artifacts/aotmilter) | %.2f MiB (%s bytes) | < 8 MiB |\n' "$(awk -v s="$size" 'BEGIN{print s/1048576}')" "$size"
  } > "$FIGURES"

  say "start-up: spawn to an accepting socket"
  res=$("$BINARY" bench --startup --socket "unix:$WORK/start.sock" --runs 11 -- "$BINARY" -p "unix:$WORK/start.sock" -f bench $AS_ROOT | grep '^RESULT')
  local floor="" ref
  if [ -x "$SHARED/bench/milter-load" ]; then
    # The same measurement of a small C program (milter-load's null milter): the floor of spawning on this machine.
    ref=$("$BINARY" bench --startup --socket "unix:$WORK/start.sock" --runs 11 -- "$SHARED/bench/milter-load" --self-test-server "unix:$WORK/start.sock" | grep '^RESULT')
    floor="; the C null milter: $(field "$ref" startup_median_ms) ms"
  fi
  printf '| start-up to a listening socket (median of %s; min %s, max %s ms%s) | %s ms | <= 20 ms |\n' \
    "$(field "$res" startup_runs)" "$(field "$res" startup_min_ms)" "$(field "$res" startup_max_ms)" "$floor" "$(field "$res" startup_median_ms)" >> "$FIGURES"
  echo "startup_ms $(field "$res" startup_median_ms)" >> "$WORK/targets"

  say "RSS with 1,000 idle MTA connections"
  start_milter "$sock" "$WORK/fig.log" -f bench || return 1
  pid=$MPID
  local rss0; rss0=$(status_kb "$pid" VmRSS)
  "$BINARY" bench --socket "unix:$sock" --idle 1000 > "$WORK/idle.out" 2> "$WORK/idle.err" &
  idle_pid=$!
  for _ in $(seq 1 300); do grep -q '^RESULT' "$WORK/idle.out" && break; kill -0 "$idle_pid" 2>/dev/null || break; sleep 0.1; done
  sleep 0.5
  rss=$(status_kb "$pid" VmRSS); hwm=$(status_kb "$pid" VmHWM)
  res=$(grep '^RESULT' "$WORK/idle.out")
  kill -TERM "$idle_pid" 2>/dev/null; wait "$idle_pid" 2>/dev/null
  stop_milter "$pid"
  printf '| RSS with %s idle MTA connections (negotiated, CONNECT and HELO sent; %s MiB before) | %.1f MiB (peak %.1f) | <= 40 MiB |\n' \
    "$(field "$res" ready)" "$(awk -v k="$rss0" 'BEGIN{printf "%.1f", k/1024}')" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" \
    "$(awk -v k="$hwm" 'BEGIN{print k/1024}')" >> "$FIGURES"
  echo "idle_rss_mib $(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}') $(field "$res" ready)" >> "$WORK/targets"

  local gen="milter-load"; [ -x "$SHARED/bench/milter-load" ] || gen="aotmilter bench"
  say "allocated bytes per message (daemon counters, SIGUSR1 before and after a ${DURATION}s run)"
  local row mpc name
  for mpc in 1 100; do
    for name in aotmilter-like aotmilter; do
      local extra=(-f bench); [ "$name" = aotmilter-like ] && extra+=(--always-reply)
      alloc_per_message "$name" "$mpc" "${extra[@]}" > "$WORK/alloc.row" || printf -- '-\t0\t0\t0\t0\t0\t0\n' > "$WORK/alloc.row"
      row=$(cat "$WORK/alloc.row")
      IFS=$'\t' read -r per msgs conns bytes instrument net objects <<< "$row"
      printf '| allocated per message, %s, %s msg/conn, c=8 (%s messages, %s connections; %s bytes in the window, %s of them the instrument'"'"'s own; %s new pooled connection objects) | %s B | 0 B |\n' \
        "$name" "$mpc" "$msgs" "$conns" "$bytes" "$instrument" "$objects" "$per" >> "$FIGURES"
      echo "alloc $name $mpc $per" >> "$WORK/targets"
      echo "$name $msgs $conns $net" >> "$WORK/alloc.split"
    done
  done
  # bytes = per_connection * connections + per_message * messages, solved from the two runs of each row.
  awk '{ n = $1; k[n]++; m[n, k[n]] = $2; c[n, k[n]] = $3; b[n, k[n]] = $4 }
    END { for (n in k) if (k[n] == 2) {
            d = c[n, 1] * m[n, 2] - c[n, 2] * m[n, 1]; if (d == 0) continue
            conn = (b[n, 1] * m[n, 2] - b[n, 2] * m[n, 1]) / d; msg = (c[n, 1] * b[n, 2] - c[n, 2] * b[n, 1]) / d
            printf "| split of the two runs above, %s: per connection / per further message of an open connection | %.0f B / %.1f B | |\n", n, conn, msg } }' \
    "$WORK/alloc.split" | sort >> "$FIGURES"
  echo >> "$FIGURES"
  echo "Allocated bytes are managed bytes (GC.GetTotalAllocatedBytes) of the whole process between two SIGUSR1 log lines, after a warm-up three times as long as the run (pools and buffers reach their working size), less what the instrument itself allocates (the runtime's dispatch of the signal, about 120 bytes, and the statistics line: measured right after, as the same two lines around one second without load), divided by the messages in between; load from $gen with 8 connections. Connection objects (about 13 KB each with their first conversation) are made only when more connections are open at once than ever before (the MTA's, plus any whose end is still being read while the next is accepted), five at a time (the one needed and four spares for the next peaks): growth to a new peak, not a cost per message; the count in the window says when it happened." >> "$FIGURES"
}

# ------------------------------------------------------------------ generators side by side
# aotmilter bench against milter-load on the same targets: is the product's generator a bottleneck?
generators() {
  local load="$SHARED/bench/milter-load" d=3 target sock pid mpc g res
  {
    echo "## Load generators side by side (aotmilter bench vs milter-load)"
    echo
    echo "Same targets, one after the other, 8 connections, ${d}s each. gen CPU us/msg is the generator's own CPU per message."
    echo
    echo "| target | msg/conn | generator | msgs/s | p50 us | p99 us | errors | gen CPU % | gen CPU us/msg |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
  } > "$GENERATORS"
  for target in null c aotmilter; do
    sock="$WORK/gen.sock"
    case $target in
      null) setsid "$load" --self-test-server "unix:$sock" > "$WORK/gen.log" 2>&1 & pid=$!; PIDS+=("$pid") ;;
      c) setsid "$SHARED/peers/c-libmilter/run.sh" "unix:$sock" > "$WORK/gen.log" 2>&1 & pid=$!; PIDS+=("$pid") ;;
      aotmilter) start_milter "$sock" "$WORK/gen.log" -f bench $QUIET || continue; pid=$MPID ;;
    esac
    for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.05; done
    for mpc in 1 100; do
      for g in milter-load "aotmilter bench"; do
        if [ "$g" = milter-load ]; then res=$("$load" --socket "unix:$sock" --connections 8 --duration "$d" --msgs-per-conn "$mpc" 2>/dev/null | grep '^RESULT')
        else res=$("$BINARY" bench --socket "unix:$sock" --connections 8 --duration "$d" --msgs-per-conn "$mpc" --expect-header X-Bench 2>/dev/null | grep '^RESULT'); fi
        awk -v t="$target" -v k="$mpc" -v g="$g" -v mps="$(field "$res" msgs_per_s)" -v p50="$(field "$res" p50_us)" \
          -v p99="$(field "$res" p99_us)" -v e="$(field "$res" errors)" -v pct="$(field "$res" gen_cpu_pct)" \
          -v cpu="$(field "$res" gen_cpu_s)" -v m="$(field "$res" messages)" 'BEGIN {
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t, k, g, mps, p50, p99, e, pct, (m > 0 ? sprintf("%.0f", cpu * 1e6 / m) : "-") }' >> "$GENERATORS"
      done
    done
    stop_milter "$pid"
    rm -f "$sock"
  done
}

# ------------------------------------------------------------------ report
machine() {
  local cpu kernel dotnet
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  kernel=$(uname -sr)
  dotnet=$(dotnet --version 2>/dev/null || echo "not found")
  echo "- Machine: $(nproc) CPU(s), ${cpu:-unknown CPU}, $kernel, $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
  echo "- .NET SDK $dotnet (aotmilter is a Native AOT binary; the runtime is compiled in); $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "- Load average when the run started: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine makes every number noisier)"
  local dirty=""
  git -C "$ROOT" diff --quiet HEAD -- src filters generators 2>/dev/null || dirty=" with uncommitted changes"
  echo "- aotmilter $("$BINARY" --version 2>/dev/null), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$dirty"
}

# table MODE TITLE: the rows of one mode with ratios to libmilter (c) and to the null ceilings
table() {
  local mode=$1
  if [ "$WITH_PEERS" = 0 ]; then
    # Alone: no peer to divide by.
    echo "| milter | conc | msgs/s | p50 us | p99 us | CPU us/msg | peak RSS MiB | errors | gen CPU % |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' -v mode="$mode" '$1 == mode { printf "| **%s** | %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $9, $10, $7, $11 }' "$ROWS"
    return
  fi
  awk -F'\t' -v mode="$mode" '
    $1 == mode { n++; name[n] = $2; conc[n] = $3; mps[n] = $4; p50[n] = $5; p99[n] = $6; err[n] = $7; cpu[n] = $8; us[n] = $9; rss[n] = $10; g[n] = $11
                 if ($2 == "c") { cm[$3] = $4; cu[$3] = $9 } if ($2 == "null") nm[$3] = $4; if ($2 == "null-nr") nr[$3] = $4 }
    function ratio(a, b) { return (b + 0 > 0 && a ~ /^[0-9.]+$/) ? sprintf("%.2f", a / b) : "-" }
    END {
      print "| milter | conc | msgs/s | x libmilter | x null | x null-nr | p50 us | p99 us | CPU us/msg | CPU x libmilter | peak RSS MiB | errors | gen CPU % |"
      print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
      for (i = 1; i <= n; i++) {
        label = name[i]; if (label == "c") label = "c (libmilter)"
        if (label ~ /^aotmilter/) label = "**" label "**"
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", label, conc[i], mps[i],
          ratio(mps[i], cm[conc[i]]), ratio(mps[i], nm[conc[i]]), ratio(mps[i], nr[conc[i]]), p50[i], p99[i], us[i],
          ratio(us[i], cu[conc[i]]), rss[i], err[i], g[i]
      }
    }' "$ROWS"
}

# targets: the issue's targets, checked against the rows and figures
targets() {
  awk -F'\t' -v rows="$ROWS" '
    FILENAME == rows { if ($2 == "c") { cm[$1, $3] = $4; cu[$1, $3] = $9 } if ($2 == "null") nm[$1, $3] = $4
                if ($2 == "aotmilter-like") { lm[$1, $3] = $4; lu[$1, $3] = $9 } if ($2 == "aotmilter") { dm[$1, $3] = $4; drss[$1, $3] = $10 }
                modes[$1] = 1; next }
    { split($0, w, " "); t[w[1]] = w[2]; if (w[1] == "alloc") a[w[2], w[3]] = w[4]; if (w[1] == "idle_rss_mib") idle = w[2] }
    function check(ok, text) { printf "| %s | %s |\n", text, ok ? "met" : "**not met**" }
    function have(x) { return x ~ /^[0-9.]+$/ }
    END {
      print "| target | result |"
      print "|---|---|"
      for (m in modes) for (c = 8; c <= 64; c *= 8) {
        if (have(lm[m, c]) && have(cm[m, c])) check(lm[m, c] >= 1.5 * cm[m, c], sprintf("%s, c=%d: like-for-like msgs/s >= 1.5x libmilter (%.2fx)", m, c, lm[m, c] / cm[m, c]))
        if (have(lu[m, c]) && have(cu[m, c]) && cu[m, c] > 0) check(lu[m, c] <= 0.5 * cu[m, c], sprintf("%s, c=%d: like-for-like CPU us/msg <= 0.5x libmilter (%.2fx)", m, c, lu[m, c] / cu[m, c]))
        if (have(lm[m, c]) && have(nm[m, c])) check(lm[m, c] >= 0.5 * nm[m, c], sprintf("%s, c=%d: like-for-like >= 50%% of the null ceiling (%.0f%%)", m, c, 100 * lm[m, c] / nm[m, c]))
        if (have(dm[m, c]) && have(cm[m, c])) check(dm[m, c] >= 3 * cm[m, c], sprintf("%s, c=%d: derived flags msgs/s >= 3x libmilter (%.2fx)", m, c, dm[m, c] / cm[m, c]))
        if (c == 64 && have(drss[m, c])) check(drss[m, c] <= 20, sprintf("%s, c=64: peak RSS <= 20 MiB (%s MiB)", m, drss[m, c]))
      }
      for (k in a) { split(k, p, SUBSEP); if (have(a[k])) check(a[k] + 0 == 0, sprintf("0 B allocated per message: %s, %s msg/conn (%s B)", p[1], p[2], a[k])) }
      if (have(idle)) check(idle <= 40, sprintf("RSS with 1,000 idle connections <= 40 MiB (%s MiB)", idle))
      if (have(t["startup_ms"])) check(t["startup_ms"] <= 20, sprintf("start-up to listening <= 20 ms (%s ms)", t["startup_ms"]))
    }' "$ROWS" "$WORK/targets" | { read -r h1; read -r h2; echo "$h1"; echo "$h2"; sort; }
}

# ------------------------------------------------------------------ scanning: the anchors and aotmilter on one scanner
# clamav-milter against aotmilter -f clamav (one private clamd), spamass-milter against aotmilter -f spamassassin (one
# private spamd): the same messages (SCAN_CORPUS from ../shared/corpus, with EICAR or GTUBE in a fixed proportion, each
# with the verdict it must get) in the same order at BENCH_SCAN_CONC, a fixed number of whole rounds of the mix so both
# milters get exactly the same messages; msgs/s, the milter's CPU per message (its children included: spamass-milter
# runs spamc per message) and the scanner's apart, and every message lost (no verdict) or mis-scanned (another verdict).
SCANNING="$WORK/scanning.md"
SCAN_CONC="${BENCH_SCAN_CONC:-8}"
SCAN_ROUNDS_CLAMAV="${BENCH_SCAN_ROUNDS_CLAMAV:-100}"
SCAN_ROUNDS_SPAMASSASSIN="${BENCH_SCAN_ROUNDS_SPAMASSASSIN:-3}"
SCAN_PACKAGES=(clamav-daemon clamav-milter spamd spamassassin spamass-milter spamc)
SCAN_ROWS="$WORK/scan-rows.tsv"  # scanner  milter  conc  msgs/s  lost  misscanned  milter_us  scanner_us  sent
# The clean messages: every file of ../shared/corpus that is not deliberately malformed, passes SMTP as it is (no
# header section over 100 KB or without its blank line, no line over 998 characters; one of the two LF/CRLF twins)
# and both scanners call clean: clamd finds nothing, and SpamAssassin (Debian's rules, local tests only, through
# either milter) scores it under its required 5.0 (the 1 MiB message is over spamc's 500 KB: neither milter has it
# scanned by spamd). 232 B to 1.06 MiB, median 2.5 KiB, mean 60 KiB; smallest first.
SCAN_CORPUS=(
  rfc2822-minimal-no-mime-headers.eml encoded-word-utf8-to-display-name.eml qp-text-plain-long-lines-soft-breaks.eml
  multipart-mixed-attachment-only-gzip.eml multipart-signed-pgp.eml plain-ascii-basic-crlf.eml
  calendar-ics-mixed-alternative.eml 8bit-utf8-text-two-jpeg-attachments.eml multipart-report-dsn-bounce.eml
  multipart-alternative-utf8-qp-long-links.eml multipart-alternative-gmail-dkim-signed.eml
  utf8-qp-bilingual-encoded-subject.eml encoded-word-and-rfc2231-filename-jpeg.eml long-received-chain-folded.eml
  message-rfc822-attachment-pdf.eml multipart-report-arf-abuse-feedback.eml calendar-invite-outlook-alternative.eml
  multipart-report-dsn-multiple-recipients.eml multipart-report-dsn-office365-long-headers.eml
  large-1mib-multipart-mixed-base64-attachment.eml
)
# One test message (EICAR for clamav, GTUBE for spamassassin; both must be refused) after every SCAN_EVERY clean ones.
SCAN_EVERY=10

# tree_ticks PID: CPU ticks of PID and its children (spamd serves from preforked children it never reaps)
tree_ticks() {
  local total c
  total=$(cpu_ticks "$1")
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do total=$((total + $(cpu_ticks "$c"))); done
  echo "$total"
}

# wait_socket PATH PID: true once PATH is a socket, false when PID died or 30 s passed
wait_socket() {
  for _ in $(seq 1 600); do
    [ -S "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# start_scanners DIR: a private clamd (one EICAR signature, no updates) and spamd (shipped rules, local tests only)
start_scanners() {
  local dir=$1 hex
  mkdir -p "$dir/db" "$dir/etc" "$dir/home"
  # spamd's children run as nobody: they must reach the configuration (mktemp made the work directory 0700).
  chmod 755 "$WORK" "$dir"; chmod 1777 "$dir/home"
  hex=$(printf '%s' "$EICAR" | od -An -tx1 -v | tr -d ' \n')
  echo "Eicar-Test-Signature:0:*:$hex" > "$dir/db/eicar.ndb"
  printf '%s\n' "Foreground yes" "DatabaseDirectory $dir/db" "LocalSocket $dir/clamd.sock" "LocalSocketMode 666" \
    "User $(id -un)" "MaxThreads 8" "StreamMaxLength 25M" "Bytecode no" > "$dir/clamd.conf"
  setsid /usr/sbin/clamd --config-file="$dir/clamd.conf" > "$dir/clamd.log" 2>&1 &
  CLAMD_PID=$!; PIDS+=("$CLAMD_PID")
  cp /etc/spamassassin/*.pre "$dir/etc/"
  printf '%s\n' "dns_available no" "skip_rbl_checks 1" "use_bayes 0" "bayes_auto_learn 0" "report_safe 0" > "$dir/etc/local.cf"
  chmod -R a+rX "$dir/etc"
  local user=(); [ "$(id -u)" = 0 ] && user=(-u nobody)
  setsid /usr/sbin/spamd -L -x --socketpath="$dir/spamd.sock" --socketmode=0666 -C /usr/share/spamassassin \
    --siteconfigpath="$dir/etc" -H "$dir/home" --max-children=4 --min-children=4 -s stderr "${user[@]}" > "$dir/spamd.log" 2>&1 &
  SPAMD_PID=$!; PIDS+=("$SPAMD_PID")
  wait_socket "$dir/clamd.sock" "$CLAMD_PID" && wait_socket "$dir/spamd.sock" "$SPAMD_PID" && sleep 2
}

# The industry's test strings: every scanner is meant to find them.
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'

# test_messages DIR: eicar.eml (EICAR as a base64 attachment, as a virus arrives) and gtube.eml (GTUBE in the text)
test_messages() {
  local dir=$1
  { printf '%s\r\n' "From: Sender <sender@example.org>" "To: Recipient <user@example.com>" "Subject: the invoice you asked for" \
      "Date: Mon, 1 Jan 2024 00:00:00 +0000" "Message-ID: <eicar.0001@example.org>" "MIME-Version: 1.0" \
      'Content-Type: multipart/mixed; boundary="b1"' "" "--b1" "Content-Type: text/plain; charset=us-ascii" "" \
      "Please find the file attached." "" "--b1" 'Content-Type: application/octet-stream; name="eicar.com"' \
      'Content-Disposition: attachment; filename="eicar.com"' "Content-Transfer-Encoding: base64" "" \
      "$(printf '%s' "$EICAR" | base64 -w 0)" "--b1--"; } > "$dir/eicar.eml"
  { printf '%s\r\n' "From: Sender <sender@example.org>" "To: Recipient <user@example.com>" "Subject: you have won" \
      "Date: Mon, 1 Jan 2024 00:00:00 +0000" "Message-ID: <gtube.0001@example.org>" "MIME-Version: 1.0" \
      "Content-Type: text/plain; charset=us-ascii" "" "This is the GTUBE, the Generic Test for Unsolicited Bulk Email." "" \
      "$GTUBE"; } > "$dir/gtube.eml"
}

# scan_mix TEST_MESSAGE: the --message arguments of one round: the clean files, TEST_MESSAGE (to be refused) after
# every SCAN_EVERY of them
scan_mix() {
  local i=0 f
  for f in "${SCAN_CORPUS[@]}"; do
    printf '%s\n' --message "$SHARED/corpus/$f"
    i=$((i + 1))
    [ $((i % SCAN_EVERY)) = 0 ] && printf '%s\n' --message "$1:reject"
  done
}

# scan_row SCANNER NAME SOCK MILTER_PID SCANNER_PID TEST_MESSAGE ROUNDS: the load against one milter, appended to $SCAN_ROWS
scan_row() {
  local scanner=$1 name=$2 sock=$3 mpid=$4 spid=$5 c res m0 m1 s0 s1 mix n
  mapfile -t mix < <(scan_mix "$6")
  n=$(( ${#mix[@]} / 2 * $7 ))
  for c in $SCAN_CONC; do
    m0=$(cpu_ticks "$mpid"); s0=$(tree_ticks "$spid")
    # A reply may take as long as Postfix waits for one (milter_content_timeout); every error is counted, none stops the run.
    res=$("$BINARY" bench --socket "unix:$sock" --connections "$c" --messages "$n" --timeout 300 --max-errors "$((n + 1))" \
      "${mix[@]}" --label "$scanner" 2> "$WORK/scanners/bench-$scanner-$c.err" | grep '^RESULT')
    m1=$(cpu_ticks "$mpid"); s1=$(tree_ticks "$spid")
    awk -v s="$scanner" -v name="$name" -v c="$c" -v mps="$(field "$res" msgs_per_s)" -v msgs="$(field "$res" messages)" \
      -v mis="$(field "$res" mismatched)" -v n="$n" -v mt="$((m1 - m0))" -v st="$((s1 - s0))" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        msgs += 0; mis += 0
        printf "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%d\n", s, name, c, (mps == "" ? "-" : mps), n - msgs, mis,
          (msgs > 0 ? sprintf("%.0f", mt / hz * 1e6 / msgs) : "-"), (msgs > 0 ? sprintf("%.0f", st / hz * 1e6 / msgs) : "-"), n }' >> "$SCAN_ROWS"
    say "scanning: $name c=$c: $(field "$res" msgs_per_s) msgs/s, $(field "$res" messages) of $n with a verdict, $(field "$res" mismatched) not the expected one"
    [ -s "$WORK/scanners/bench-$scanner-$c.err" ] && head -3 "$WORK/scanners/bench-$scanner-$c.err" >&2
  done
}

# scan_pair SCANNER SCANNER_PID FILTER TEST_MESSAGE ROUNDS ANCHOR_COMMAND...: the anchor milter (listening on
# $WORK/anchor.sock), then aotmilter -f FILTER, each alone in front of the scanner
scan_pair() {
  local scanner=$1 spid=$2 filter=$3 test=$4 rounds=$5 sock="$WORK/anchor.sock" pid; shift 5
  rm -f "$sock"
  setsid "$@" > "$WORK/scanners/$scanner-anchor.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_socket "$sock" "$pid" && scan_row "$scanner" "$(basename "$1")" "$sock" "$pid" "$spid" "$test" "$rounds"
  stop_milter "$pid"
  start_milter "$WORK/scan.sock" "$WORK/scanners/aotmilter-$filter.log" -f "$filter" -c "$WORK/scanners/aotmilter.conf" $QUIET \
    && scan_row "$scanner" "aotmilter -f $filter" "$WORK/scan.sock" "$MPID" "$spid" "$test" "$rounds"
  stop_milter "$MPID"
}

scanning() {
  local dir="$WORK/scanners" f missing=()
  : > "$SCAN_ROWS"
  for f in "${SCAN_CORPUS[@]}"; do [ -f "$SHARED/corpus/$f" ] || missing+=("$f"); done
  if [ ${#missing[@]} -gt 0 ]; then
    { echo "## Scanning"; echo; echo "Not measured: the messages come from $SHARED/corpus, which lacks ${missing[*]}."; } > "$SCANNING"
    return 0
  fi
  if ! install_packages "the scanners and their milters" "${SCAN_PACKAGES[@]}"; then
    { echo "## Scanning"; echo; echo "Not measured: ${INSTALL_PACKAGES_MISSING[*]} could not be installed."; } > "$SCANNING"
    return 0
  fi
  start_scanners "$dir" || { echo "## Scanning: clamd or spamd did not start" > "$SCANNING"; return 0; }
  test_messages "$dir"
  printf '[clamav]\naddress = unix:%s\nadd-header = yes\n[spamassassin]\naddress = unix:%s\nreject-score = 15\n' \
    "$dir/clamd.sock" "$dir/spamd.sock" > "$dir/aotmilter.conf"

  printf '%s\n' "MilterSocket $WORK/anchor.sock" "MilterSocketMode 600" "ClamdSocket unix:$dir/clamd.sock" "Foreground yes" \
    "User root" "PidFile $dir/clamav-milter.pid" "TemporaryDirectory $dir" "OnInfected Reject" "OnFail Defer" \
    "AddHeader Replace" "LogSyslog no" "MaxFileSize 25M" > "$dir/clamav-milter.conf"
  scan_pair clamav "$CLAMD_PID" clamav "$dir/eicar.eml" "$SCAN_ROUNDS_CLAMAV" /usr/sbin/clamav-milter --config-file="$dir/clamav-milter.conf"
  scan_pair spamassassin "$SPAMD_PID" spamassassin "$dir/gtube.eml" "$SCAN_ROUNDS_SPAMASSASSIN" \
    /usr/sbin/spamass-milter -p "$WORK/anchor.sock" -r 15 -- -U "$dir/spamd.sock"
  stop_milter "$CLAMD_PID"; stop_milter "$SPAMD_PID"

  local per_round=$(( ${#SCAN_CORPUS[@]} + ${#SCAN_CORPUS[@]} / SCAN_EVERY ))
  {
    echo "## Scanning (the anchor milter and aotmilter on the same scanner)"
    echo
    cat <<EOM
Each milter alone in front of one private clamd (one EICAR signature) or spamd (Debian's rules, local tests only, 4
children), loaded by \`aotmilter bench\` with one message per connection, every verdict checked. The messages: ${#SCAN_CORPUS[@]} real
ones from ../shared/corpus that both scanners call clean, each to be accepted (232 B to 1.06 MiB, median 2.5 KiB, mean
60 KiB; how they were chosen is in bench/bench.sh; the 1 MiB one is over spamc's and aotmilter's 500 KB, so neither
spamassassin milter has it scanned), and after every $SCAN_EVERY of them a test message to be refused: EICAR as a base64
attachment (clamav rows; both milters reject) or GTUBE (spamassassin rows; both reject at score 15). A round is
$per_round messages; each row sends $SCAN_ROUNDS_CLAMAV rounds (clamav) or $SCAN_ROUNDS_SPAMASSASSIN (spamassassin), so both milters get exactly the
same messages. Lost: no verdict (a timeout, a closed connection, a protocol error); mis-scanned: a verdict other than
the expected one. Milter CPU counts the milter process and the children it reaped (spamass-milter runs spamc for each
message); the scanner's CPU (clamd; spamd with its children) is apart. On 2 cores the generator, milter and scanner
share them.

Clean messages: $(printf '%s, ' "${SCAN_CORPUS[@]}" | sed 's/, $//').

EOM
    echo "| scanner | milter | conc | messages | msgs/s | lost | mis-scanned | milter CPU us/msg | scanner CPU us/msg |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $9, $4, $5, $6, $7, $8 }' "$SCAN_ROWS"
    echo
    echo "| target | result |"
    echo "|---|---|"
    awk -F'\t' '$2 ~ /^aotmilter/ { am[$1, $3] = $4; au[$1, $3] = $7; al[$1, $3] = $5; ax[$1, $3] = $6; s[$1, $3] = 1 }
      $2 !~ /^aotmilter/ { nm[$1, $3] = $4; nu[$1, $3] = $7; nl[$1, $3] = $5; nx[$1, $3] = $6 }
      function ratio(a, b) { return (a ~ /^[0-9.]+$/ && b + 0 > 0) ? sprintf("%.2fx", a / b) : "not measured" }
      END { for (k in s) { split(k, p, SUBSEP)
        printf "| %s, c=%s: msgs/s >= the anchor'"'"'s (%s) | %s |\n", p[1], p[2], ratio(am[k], nm[k]), ((am[k] ~ /^[0-9.]+$/ && am[k] >= nm[k]) ? "met" : "**not met**")
        printf "| %s, c=%s: milter CPU per message <= 0.5x the anchor'"'"'s (%s) | %s |\n", p[1], p[2], ratio(au[k], nu[k]), ((au[k] ~ /^[0-9.]+$/ && nu[k] + 0 > 0 && au[k] <= 0.5 * nu[k]) ? "met" : "**not met**")
        printf "| %s, c=%s: no message lost or mis-scanned (aotmilter: %d lost, %d mis-scanned; the anchor: %d, %d) | %s |\n", p[1], p[2], al[k], ax[k], nl[k], nx[k], ((al[k] + ax[k] == 0) ? "met" : "**not met**") } }' "$SCAN_ROWS" | sort
  } > "$SCANNING"
}

# ------------------------------------------------------------------ main
: > "$WORK/targets"
STARTED=$(date +%s)
MACHINE=$(machine)
if [ "${BENCH_ONLY:-}" = scanning ]; then
  OUT="${BENCH_OUT:-$ROOT/bench/results/$(date +%Y-%m-%d)-$HOST-scanning.md}"
  scanning
  { echo "# aotmilter scanning benchmark, $(date '+%Y-%m-%d %H:%M %Z'), $HOST"; echo; echo "$MACHINE"; echo; cat "$SCANNING"; } > "$OUT"
  cat "$OUT"; say "wrote $OUT"
  exit 0
fi
if [ -x "$SHARED/bench/compare.sh" ]; then
  WITH_PEERS=1
  install_peer_packages || say "some peers may fail to build"
  compare "1 msg/conn" 1
  compare "100 msg/conn" 100
  generators
else
  WITH_PEERS=0
  say "$SHARED not found: measuring aotmilter alone with 'aotmilter bench' (no peers, no null ceiling)"
  alone "1 msg/conn" 1
  alone "100 msg/conn" 100
fi
daemon_figures
# ------------------------------------------------------------------ the rate limiter's stores (bench/stores.sh)
install_packages "Redis for the rate limiter's store rows" redis-server redis-tools || say "the Redis rows need redis-server and redis-tools"
"$ROOT/bench/stores.sh" "$BINARY" > "$WORK/stores.md"
scanning
ELAPSED=$(( $(date +%s) - STARTED ))

mkdir -p "$(dirname "$OUT")"
{
  echo "# aotmilter benchmark, $(date '+%Y-%m-%d %H:%M %Z'), $HOST"
  echo
  echo "$MACHINE"
  echo "- Load: ${DURATION}s per run, body 4096 B, 10 headers, unix sockets; the whole benchmark took ${ELAPSED}s (\`./build.sh bench\`)"
  echo
  if [ "$WITH_PEERS" = 1 ]; then
    cat <<EOM
Generator: ../shared/bench/milter-load (a single-threaded epoll loop in C) for every row, started by
../shared/bench/compare.sh, which starts each milter afresh per row and measures its CPU and peak RSS from /proc.
Rows: \`null\` is milter-load's own minimal milter (replies to every event): the protocol's ceiling on this machine,
shared by both ends; \`null-nr\` the same with no-reply flags; \`c (libmilter)\`, \`go\` (go-milter, protocol v2) and
\`python\` (pymilter) run the same trivial filter; **aotmilter-like** is \`aotmilter -f bench --always-reply\`,
negotiated exactly like the peers (a reply to every event); **aotmilter** is \`aotmilter -f bench\` with the flags its
generator derives (events the filter does not handle are not sent, observers are not waited for), so it may pass the
\`null\` ceiling and is better compared with \`null-nr\`. Both log warnings only (\`--log-level Warning\`), as the
peers log nothing per connection; **aotmilter-like+log** is aotmilter-like with the default log level (one line per
connection, to standard error), to show what that line costs. On 2 cores the generator and the milter share the
CPUs, so every figure is a joint one.
EOM
  else
    cat <<EOM
**Measured alone**: ../shared (the peers and milter-load) was not found, so there is no libmilter or null row and no
ratio. The generator is \`aotmilter bench\` itself, which shares the CPUs with the milter. Rows: **aotmilter-like** is
\`aotmilter -f bench --always-reply\` (a reply to every event, as libmilter negotiates); **aotmilter** is
\`aotmilter -f bench\` with the flags its generator derives.
EOM
  fi
  echo
  for mode in "1 msg/conn" "100 msg/conn"; do
    echo "## $mode"
    echo
    table "$mode"
    echo
  done
  cat "$FIGURES"
  echo
  cat "$SCANNING"
  echo
  if [ "$WITH_PEERS" = 1 ]; then
    cat "$GENERATORS"
    echo
  fi
  cat "$WORK/stores.md"
  echo
  echo "## Targets (issue 6)"
  echo
  targets
} > "$OUT"

cat "$OUT"
say "wrote $OUT"
