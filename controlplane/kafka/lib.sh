# shellcheck shell=bash
# Helpers shared by controlplane/kafka/start and controlplane/kafka/restart. Sourced, not run;
# sources controlplane/lib.sh (port picking, cp_launch, pids and env files, cp_kill).
#
# Run-dir files this relies on:
#   broker.args   the broker JVM's exact argv, NUL-separated (restart reuses it)
#   logs/kafka.log  the JVM's output (log4j2 at WARN, plus the "Kafka Server started" line)

kafka_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../lib.sh
. "$kafka_here/../lib.sh"

# kafka_port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
kafka_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# kafka_start_broker RUN_DIR TIMEOUT: launch the JVM from RUN_DIR/broker.args, record it in pids
# and env (KAFKA_PID), and wait until it logged "Kafka Server started" (after this launch) and
# its listeners accept connections. Sets CP_LAUNCHED_PID. Returns 0 when ready, 2 if the JVM
# exited (3 if its log shows a port clash), 1 on timeout.
kafka_start_broker() {
  local run_dir=$1 timeout=$2 args=() log pid lines deadline port ports
  log="$run_dir/logs/kafka.log"
  mapfile -d '' -t args <"$run_dir/broker.args"
  [ "${#args[@]}" -gt 1 ] || cp_die "$run_dir/broker.args is empty"
  read -r -a ports <<<"$(cp_env_get "$run_dir" KAFKA_LISTEN_PORTS)"
  touch "$log"
  printf '\n==== %s: starting kafka\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$log"
  lines=$(wc -l <"$log")
  cp_launch "$log" "${args[@]}"
  pid=$CP_LAUNCHED_PID
  cp_pids_set "$run_dir" kafka "$pid" "${args[0]}"
  cp_env_set "$run_dir" KAFKA_PID "$pid"
  deadline=$((SECONDS + timeout))
  while :; do
    if ! cp_pid_is "$pid" "${args[0]}" "$run_dir"; then
      cp_log "kafka (pid $pid) exited before it was ready; log: $log"
      cp_tail_log "$log"
      if tail -n +"$((lines + 1))" "$log" | grep -qiE 'address already in use|BindException'; then
        return 3
      fi
      return 2
    fi
    if tail -n +"$((lines + 1))" "$log" | grep -q 'Kafka Server started'; then
      local all_open=true
      for port in "${ports[@]}"; do kafka_port_open "$port" || all_open=false; done
      $all_open && return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      cp_log "kafka not ready after ${timeout}s; log: $log"
      cp_tail_log "$log"
      return 1
    fi
    sleep 0.1
  done
}
