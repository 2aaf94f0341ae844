# Sourced by the bench scripts: what starting servers and Redis on loopback needs.
#
#   free_port          prints a free TCP port on 127.0.0.1
#   wait_port PORT     waits (up to 10 s) until something listens on 127.0.0.1:PORT
#   redis_start LOG    starts Debian's redis-server on a free port, without persistence,
#                      logging to LOG; sets REDIS_PORT and adds its pid to the array `pids`

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {
  local _
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  return 0
}

redis_start() {
  command -v redis-server >/dev/null || { echo "redis-server is missing: apt-get install redis-server" >&2; return 1; }
  REDIS_PORT="$(free_port)"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no >"$1" 2>&1 &
  pids+=($!)
  wait_port "$REDIS_PORT"
}
