#!/usr/bin/env bash
# Starts Redis and N production-scale instances on this machine, without Docker:
#
#   npm run example:production-scale              # 2 instances
#   npm run example:production-scale -- 4         # 4 instances
#
# Instance i listens on HOST:PORT+i (default 127.0.0.1:3000, :3001, ...). Redis: REDIS_URL when set, else a
# redis-server started here on REDIS_PORT (default 6390) with nothing saved to disk. LOG_LEVEL (default warn)
# and SSE_HEARTBEAT_SECONDS are passed on. Ctrl-C stops everything: each instance drains its streams first.
set -euo pipefail
cd "$(dirname "$0")/../.."

n=${1:-2}
host=${HOST:-127.0.0.1}
port=${PORT:-3000}
redis_port=${REDIS_PORT:-6390}
pids=()

cleanup () {
  trap - EXIT INT TERM
  [ "${#pids[@]}" -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "${redis_dir:-}" ] && rm -rf "$redis_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${REDIS_URL:-}" ]; then
  command -v redis-server >/dev/null || { echo "redis-server not found: install Redis, or set REDIS_URL" >&2; exit 1; }
  redis_dir=$(mktemp -d)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$redis_dir" --logfile "$redis_dir/redis.log" &
  pids+=($!)
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
    echo "redis-server did not start on port $redis_port (taken? set REDIS_PORT):" >&2
    cat "$redis_dir/redis.log" >&2
    exit 1
  fi
  export REDIS_URL="redis://127.0.0.1:$redis_port/0"
fi

for i in $(seq 0 $((n - 1))); do
  HOST=$host PORT=$((port + i)) LOG_LEVEL=${LOG_LEVEL:-warn} node --import tsx examples/production-scale/server.ts &
  pids+=($!)
done

# Wait until every instance answers its health check.
for i in $(seq 0 $((n - 1))); do
  url="http://$host:$((port + i))/health"
  for _ in $(seq 100); do curl -sf "$url" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -sf "$url" >/dev/null 2>&1 || { echo "instance $i did not become healthy at $url" >&2; exit 1; }
  echo "instance $i: http://$host:$((port + i))/"
done
echo "Redis: $REDIS_URL"
echo "load test: npx tsx examples/production-scale/load-test.ts --targets $(for i in $(seq 0 $((n - 1))); do printf 'http://%s:%s,' "$host" $((port + i)); done | sed 's/,$//')"
echo "Ctrl-C stops everything."

# Stop everything as soon as any process exits.
wait -n
echo "a process exited; stopping the others" >&2
exit 1
