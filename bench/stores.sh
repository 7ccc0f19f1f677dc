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
# Needs redis-server and redis-cli (Debian: redis-server redis-tools; bench.sh installs them as root); without them it
# prints why the rows are missing and exits 0.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BINARY="${1:-$ROOT/artifacts/aotmilter}"
DURATION="${BENCH_DURATION:-5}"
CONC="${BENCH_STORE_CONC:-8 64}"
REPEAT="${BENCH_STORE_REPEAT:-5}"
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

HZ=$(getconf CLK_TCK)
ROWS="$WORK/rows.tsv"
: > "$ROWS"
# row STORE CONC: one fresh daemon with STORE, a warm-up, then the measured run; appends a line to $ROWS.
row() {
  local store=$1 c=$2 sock="$WORK/milter.sock" res m0 m1 r0 r1 evalsha
  rm -f "$sock"
  setsid "$BINARY" -p "unix:$sock" --socket-mode 0600 $AS_ROOT --log-level Warning -f ratelimit -f bench -c "$WORK/$store.conf" \
    > "$WORK/milter.log" 2>&1 &
  MILTER_PID=$!
  for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
  # Warm up (the connection pool, Redis's connection and its script), then measure.
  "$BINARY" bench --socket "unix:$sock" --connections "$c" --duration 1 > /dev/null 2>&1
  cli CONFIG RESETSTAT > /dev/null
  m0=$(cpu_ticks "$MILTER_PID"); r0=$(cpu_ticks "$REDIS_PID")
  res=$("$BINARY" bench --socket "unix:$sock" --connections "$c" --duration "$DURATION" --expect-header X-Bench \
    --label "$store" 2> "$WORK/bench.err" | grep '^RESULT')
  m1=$(cpu_ticks "$MILTER_PID"); r1=$(cpu_ticks "$REDIS_PID")
  evalsha=$(cli INFO commandstats | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p')
  stop "$MILTER_PID"; MILTER_PID=""
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$store" "$c" "$(field "$res" msgs_per_s)" "$(field "$res" p50_us)" \
    "$(field "$res" p99_us)" "$(field "$res" errors)" "$(field "$res" messages)" "$((m1 - m0))" "$((r1 - r0))" "${evalsha:-0}" >> "$ALL"
  say "done $store c=$c: $(field "$res" msgs_per_s) msgs/s, errors $(field "$res" errors), EVALSHA ${evalsha:-0}"
}

printf '[ratelimit]\nsender = 1000000000/1h\nstore = memory\n' > "$WORK/memory.conf"
printf '[ratelimit]\nsender = 1000000000/1h\nstore = redis://127.0.0.1:%s/0\n' "$PORT" > "$WORK/redis.conf"
ALL="$WORK/all.tsv"
: > "$ALL"
# The two stores alternate, REPEAT times at each concurrency, and each keeps its median run: on a shared machine the
# load of the moment moves both alike, which one run of each in turn would not ensure.
for c in $CONC; do
  for _ in $(seq 1 "$REPEAT"); do
    row memory "$c"
    row redis "$c"
  done
done
sort -t$'\t' -k1,1 -k2,2n -k3,3g "$ALL" | awk -F'\t' -v r="$REPEAT" '{ n[$1, $2]++; if (n[$1, $2] == int((r + 1) / 2)) print }' > "$ROWS"

echo "\`aotmilter -f ratelimit -f bench\`, \`[ratelimit] sender = 1000000000/1h\` (every MAIL counted, none refused), store"
echo "\`memory\` or \`redis://127.0.0.1:$PORT/0\` (redis-server $REDIS_VERSION on this machine, no persistence); \`aotmilter bench\`,"
echo "${DURATION}s per row, one message per connection, 4096 B body, unix socket to the milter. Each row is a fresh daemon."
echo "Redis round trips per message are Redis's own count of EVALSHA calls (INFO commandstats, reset before the row)"
echo "over the messages sent. On 2 cores the generator, the daemon and Redis share the CPUs. Each store ran $REPEAT times per"
echo "concurrency, alternating with the other, and the table shows each one's median run."
echo
echo "| store | conc | msgs/s | vs memory | p50 us | p99 us | errors | daemon CPU us/msg | Redis CPU us/msg | EVALSHA per message |"
echo "|---|---|---|---|---|---|---|---|---|---|"
awk -F'\t' -v hz="$HZ" '
  { rows[NR] = $0; if ($1 == "memory") base[$2] = $3 }
  END {
    for (i = 1; i <= NR; i++) {
      split(rows[i], f, "\t")
      ratio = (base[f[2]] > 0 && f[3] != "") ? sprintf("%.0f%%", 100 * f[3] / base[f[2]]) : "-"
      per = f[7] > 0 ? 1e6 / hz / f[7] : 0
      trips = f[7] > 0 ? f[10] / f[7] : 0
      redis_cpu = f[1] == "redis" ? sprintf("%.0f", f[9] * per) : "-"
      redis_trips = f[1] == "redis" ? sprintf("%.3f", trips) : "-"
      printf "| %s | %s | %s | %s | %s | %s | %s | %.0f | %s | %s |\n", f[1], f[2], f[3], ratio, f[4], f[5], f[6], f[8] * per, redis_cpu, redis_trips
    }
  }' "$ROWS"
echo
echo "| target | result |"
echo "|---|---|"
awk -F'\t' '
  { if ($1 == "memory") base[$2] = $3; else { redis[$2] = $3; calls[$2] = $10; msgs[$2] = $7 } }
  END {
    for (c in redis) {
      ok = base[c] > 0 && redis[c] >= 0.7 * base[c]
      share = base[c] > 0 ? 100 * redis[c] / base[c] : 0
      printf "| c=%s: Redis >= 70%% of the in-process msgs/s (%.0f%%) | %s |\n", c, share, (ok ? "met" : "**not met**")
      # The warm-up ran before the statistics were reset, so every counted call belongs to a counted message.
      ok = msgs[c] > 0 && calls[c] >= msgs[c] && calls[c] <= msgs[c] * 1.001 + 64
      printf "| c=%s: one Redis round trip per message (%s EVALSHA for %s messages) | %s |\n", c, calls[c], msgs[c], (ok ? "met" : "**not met**")
    }
  }' "$ROWS" | sort
