#!/usr/bin/env bash
# bench/stores.sh -- the rate limiter with its in-process store and with Redis, in one run (part of ./build.sh bench).
#
#   bench/stores.sh [BINARY]      markdown on standard output, progress on standard error
#
# Starts a private redis-server (no persistence, 127.0.0.1, a free port), then for each store (memory, redis) and each
# concurrency in BENCH_STORE_CONC (default "8 64") a fresh `aotmilter -f ratelimit -f bench` whose [ratelimit] counts
# every MAIL per sender (a limit no run reaches, so every message is counted and passes), loaded with
# `aotmilter bench` for BENCH_DURATION seconds (default 5), one message per connection as Postfix sends them.
# Reports msgs/s, latency, the daemon's and Redis's CPU per message, and Redis's own count of EVALSHA calls
# (INFO commandstats, reset before each row) per message: one round trip per message is the design.
# Two layouts (BENCH_STORE_LAYOUTS, default "shared own-core"): "shared", every process on every CPU, as on a host
# that runs the daemon, the MTA and Redis together; "own-core", Redis on the last CPU and the daemon with the
# generator on the others (taskset), as when Redis runs on a host of its own, which is what several daemons share.
# Both stores run in both layouts, so each layout's ratio compares like with like.
# Needs redis-server and redis-cli (Debian: redis-server redis-tools; bench.sh installs them as root); without them it
# prints why the rows are missing and exits 0.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BINARY="${1:-$ROOT/artifacts/aotmilter}"
DURATION="${BENCH_DURATION:-5}"
CONC="${BENCH_STORE_CONC:-8 64}"
REPEAT="${BENCH_STORE_REPEAT:-5}"
LAYOUTS="${BENCH_STORE_LAYOUTS:-shared own-core}"
WORK="$(mktemp -d -t aotmilter-stores.XXXXXX)"
AS_ROOT=""; [ "$(id -u)" = 0 ] && AS_ROOT="--allow-root"
REDIS_PID=""
MILTER_PID=""

say() { echo "stores.sh: $*" >&2; }
stop() { # pid
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}
trap 'stop "$MILTER_PID"; stop "$REDIS_PID"; rm -rf "$WORK"' EXIT
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<< "$1"; }
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

echo "## Rate limiter: in-process store and Redis"
echo
if [ ! -x /usr/bin/redis-server ] || ! command -v redis-cli >/dev/null 2>&1; then
  echo "Not measured: redis-server and redis-cli are not installed (apt-get install redis-server redis-tools)."
  exit 0
fi

PORT=0
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 20000))
  port_open "$candidate" || { PORT=$candidate; break; }
done
cat > "$WORK/redis-server.conf" <<EOC
bind 127.0.0.1
port $PORT
daemonize no
dir $WORK
logfile $WORK/redis.log
save ""
appendonly no
EOC
setsid /usr/bin/redis-server "$WORK/redis-server.conf" > /dev/null 2>&1 < /dev/null &
REDIS_PID=$!
cli() { redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }
for _ in $(seq 1 200); do [ "$(cli ping 2>/dev/null)" = PONG ] && break; sleep 0.02; done
[ "$(cli ping 2>/dev/null)" = PONG ] || { echo "Not measured: redis-server did not start ($(tail -3 "$WORK/redis.log" 2>/dev/null))."; exit 0; }
REDIS_VERSION=$(cli INFO server | sed -n 's/^redis_version:\([^\r]*\).*/\1/p')

CPUS=$(nproc)
if [ "$CPUS" -lt 2 ] || ! command -v taskset >/dev/null 2>&1; then
  [ "$LAYOUTS" = shared ] || say "one CPU or no taskset: the own-core layout is left out"
  LAYOUTS=shared
fi
ALL_CPUS="0-$((CPUS - 1))"
REDIS_CPU=$((CPUS - 1))
OTHER_CPUS="0-$((CPUS - 2))"
OTHER_NAMES="CPUs $OTHER_CPUS"; [ "$CPUS" -eq 2 ] && OTHER_NAMES="CPU 0"
# layout NAME: moves Redis (every thread of it) and sets how the daemon and the generator are started.
PIN=()
layout() {
  case "$1" in
    shared) taskset -apc "$ALL_CPUS" "$REDIS_PID" > /dev/null; PIN=() ;;
    own-core) taskset -apc "$REDIS_CPU" "$REDIS_PID" > /dev/null; PIN=(taskset -c "$OTHER_CPUS") ;;
    *) echo "stores.sh: unknown layout $1 (shared, own-core)" >&2; exit 2 ;;
  esac
}

HZ=$(getconf CLK_TCK)
ROWS="$WORK/rows.tsv"
: > "$ROWS"
# row LAYOUT STORE CONC: one fresh daemon with STORE, a warm-up, then the measured run; appends a line to $ALL.
row() {
  local lay=$1 store=$2 c=$3 sock="$WORK/milter.sock" res m0 m1 r0 r1 evalsha
  rm -f "$sock"
  setsid "${PIN[@]}" "$BINARY" -p "unix:$sock" --socket-mode 0600 $AS_ROOT --log-level Warning -f ratelimit -f bench -c "$WORK/$store.conf" \
    > "$WORK/milter.log" 2>&1 &
  MILTER_PID=$!
  for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
  # Warm up (the connection pool, Redis's connection and its script), then measure.
  "${PIN[@]}" "$BINARY" bench --socket "unix:$sock" --connections "$c" --duration 1 > /dev/null 2>&1
  cli CONFIG RESETSTAT > /dev/null
  m0=$(cpu_ticks "$MILTER_PID"); r0=$(cpu_ticks "$REDIS_PID")
  res=$("${PIN[@]}" "$BINARY" bench --socket "unix:$sock" --connections "$c" --duration "$DURATION" --expect-header X-Bench \
    --label "$store" 2> "$WORK/bench.err" | grep '^RESULT')
  m1=$(cpu_ticks "$MILTER_PID"); r1=$(cpu_ticks "$REDIS_PID")
  evalsha=$(cli INFO commandstats | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p')
  stop "$MILTER_PID"; MILTER_PID=""
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$store" "$c" "$(field "$res" msgs_per_s)" "$(field "$res" p50_us)" \
    "$(field "$res" p99_us)" "$(field "$res" errors)" "$(field "$res" messages)" "$((m1 - m0))" "$((r1 - r0))" "${evalsha:-0}" "$lay" >> "$ALL"
  say "done $lay $store c=$c: $(field "$res" msgs_per_s) msgs/s, errors $(field "$res" errors), EVALSHA ${evalsha:-0}"
}

printf '[ratelimit]\nsender = 1000000000/1h\nstore = memory\n' > "$WORK/memory.conf"
printf '[ratelimit]\nsender = 1000000000/1h\nstore = redis://127.0.0.1:%s/0\n' "$PORT" > "$WORK/redis.conf"
ALL="$WORK/all.tsv"
: > "$ALL"
# The two stores alternate, REPEAT times at each concurrency in each layout, and each keeps its median run: on a
# shared machine the load of the moment moves both alike, which one run of each in turn would not ensure.
for lay in $LAYOUTS; do
  layout "$lay"
  for c in $CONC; do
    for _ in $(seq 1 "$REPEAT"); do
      row "$lay" memory "$c"
      row "$lay" redis "$c"
    done
  done
done
layout shared
sort -t$'\t' -k11,11r -k1,1 -k2,2n -k3,3g "$ALL" \
  | awk -F'\t' -v r="$REPEAT" '{ n[$11, $1, $2]++; if (n[$11, $1, $2] == int((r + 1) / 2)) print }' > "$ROWS"

echo "\`aotmilter -f ratelimit -f bench\`, \`[ratelimit] sender = 1000000000/1h\` (every MAIL counted, none refused), store"
echo "\`memory\` or \`redis://127.0.0.1:$PORT/0\` (redis-server $REDIS_VERSION on this machine, no persistence); \`aotmilter bench\`,"
echo "${DURATION}s per row, one message per connection, 4096 B body, unix socket to the milter. Each row is a fresh daemon."
echo "Redis round trips per message are Redis's own count of EVALSHA calls (INFO commandstats, reset before the row)"
echo "over the messages sent. Layouts on this machine's $CPUS CPUs: \`shared\`, the generator, the daemon and Redis on every"
echo "CPU; \`own-core\`, Redis alone on CPU $REDIS_CPU and the daemon with the generator on $OTHER_NAMES (as when Redis has a host of"
echo "its own). Each store ran $REPEAT times per layout and concurrency, alternating with the other, and the table shows each"
echo "one's median run."
echo
echo "| layout | store | conc | msgs/s | vs memory | p50 us | p99 us | errors | daemon CPU us/msg | Redis CPU us/msg | EVALSHA per message |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
awk -F'\t' -v hz="$HZ" '
  { rows[NR] = $0; if ($1 == "memory") base[$11, $2] = $3 }
  END {
    for (i = 1; i <= NR; i++) {
      split(rows[i], f, "\t")
      b = base[f[11], f[2]]
      ratio = (b > 0 && f[3] != "") ? sprintf("%.0f%%", 100 * f[3] / b) : "-"
      per = f[7] > 0 ? 1e6 / hz / f[7] : 0
      trips = f[7] > 0 ? f[10] / f[7] : 0
      redis_cpu = f[1] == "redis" ? sprintf("%.0f", f[9] * per) : "-"
      redis_trips = f[1] == "redis" ? sprintf("%.3f", trips) : "-"
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %.0f | %s | %s |\n", f[11], f[1], f[2], f[3], ratio, f[4], f[5], f[6], f[8] * per, redis_cpu, redis_trips
    }
  }' "$ROWS"
echo
echo "| target | result |"
echo "|---|---|"
awk -F'\t' '
  { k = $11 " c=" $2; if ($1 == "memory") base[k] = $3; else { redis[k] = $3; calls[k] = $10; msgs[k] = $7 } }
  END {
    for (k in redis) {
      ok = base[k] > 0 && redis[k] >= 0.7 * base[k]
      share = base[k] > 0 ? 100 * redis[k] / base[k] : 0
      printf "| %s: Redis >= 70%% of the in-process msgs/s (%.0f%%) | %s |\n", k, share, (ok ? "met" : "**not met**")
      # The warm-up ran before the statistics were reset, so every counted call belongs to a counted message.
      ok = msgs[k] > 0 && calls[k] >= msgs[k] && calls[k] <= msgs[k] * 1.001 + 64
      printf "| %s: one Redis round trip per message (%s EVALSHA for %s messages) | %s |\n", k, calls[k], msgs[k], (ok ? "met" : "**not met**")
    }
  }' "$ROWS" | sort
