# shellcheck shell=bash
# Helpers shared by controlplane/start, controlplane/stop and controlplane/restart-apiserver.
# Sourced, not run.
#
# Run-dir files this relies on:
#   pids                    one line per process: NAME PID BINARY (written as each one starts)
#   apiserver.args          kube-apiserver's exact argv, NUL-separated (restart-apiserver reuses it)
#   env                     KEY=VALUE lines for callers

cp_prog=${cp_prog:-controlplane}

# The Kubernetes releases the project builds: current (controlplane/build-current, a recent release
# from Go modules; the default for the demo and a start by hand) and 1.20 (controlplane/build,
# Debian's 1.20.2 source package). The tests run against both.
cp_kube_versions="1.20 current"
cp_default_kube_version=current

cp_log() { printf '%s: %s\n' "$cp_prog" "$*" >&2; }
cp_die() { cp_log "error: $*"; exit 1; }

# Absolute, normalised run dir; refuses characters that would need quoting in the env file.
cp_resolve_run_dir() {
  local d=$1
  mkdir -p "$d"
  d=$(cd "$d" && pwd -P)
  [[ $d =~ ^[A-Za-z0-9._/+:@-]+$ ]] || cp_die "run dir '$d' has characters that would need quoting; use a plainer path"
  printf '%s' "$d"
}

# True if any TCP socket (v4 or v6, any state) uses PORT locally.
cp_port_in_use() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v h="$hex" 'FNR > 1 { n = split($2, a, ":"); if (a[n] == h) { found = 1; exit } }
                   END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Ports handed out by this process, so one start never picks the same port twice.
cp_taken_ports=" "

# cp_pick_port VAR: set VAR to a free port below the ephemeral range (32768+), so an outgoing
# connection cannot grab it between the pick and the listen; never one handed out before.
cp_pick_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((15000 + (RANDOM * 32768 + RANDOM) % 17000))
    [[ $cp_taken_ports == *" $p "* ]] && continue
    cp_port_in_use "$p" && continue
    # Nothing may answer there either (covers sockets in other network views of /proc).
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then continue; fi
    cp_taken_ports+="$p "
    printf -v "$1" '%s' "$p"
    return 0
  done
  cp_die "found no free TCP port"
}

# cp_launch LOGFILE BINARY ARGS...: start a process in its own session (a shell exiting or a
# terminal hanging up does not reach it), stdin from /dev/null, output appended to LOGFILE, no
# inherited descriptors beyond 0-2 (so a caller reading our pipes never waits on it).
# Sets CP_LAUNCHED_PID.
cp_launch() {
  local logfile=$1
  shift
  (
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    # Without job control this background subshell is no group leader, so setsid does not
    # fork: the PID seen by the caller is the program's own.
    exec setsid "$@"
  ) </dev/null >>"$logfile" 2>&1 &
  CP_LAUNCHED_PID=$!
  # Until the subshell has exec'd the program its argv[0] is bash (or setsid), and cp_pid_is would
  # take a busy machine's slow start for an exit: wait (at most 10 s) for the exec.
  local i cmdline
  for ((i = 0; i < 500; i++)); do
    kill -0 "$CP_LAUNCHED_PID" 2>/dev/null || break
    cmdline=$(tr '\0' '\n' <"/proc/$CP_LAUNCHED_PID/cmdline" 2>/dev/null) || break
    [ "${cmdline%%$'\n'*}" = "$1" ] && break
    sleep 0.02
  done
}

# cp_pid_is PID BINARY RUN_DIR: PID is alive, runs BINARY (argv[0]) and names RUN_DIR in its
# arguments, so a PID the kernel has reused for something else is never taken for ours.
cp_pid_is() {
  local pid=$1 bin=$2 run_dir=$3 argv0 cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  # A zombie has an empty cmdline and no longer counts.
  cmdline=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [ -n "$cmdline" ] || return 1
  argv0=${cmdline%%$'\n'*}
  [ "$argv0" = "$bin" ] || return 1
  [[ $cmdline == *"$run_dir/"* ]]
}

# cp_kill NAME PID BINARY RUN_DIR: TERM, then KILL after LAGPILOT_STOP_GRACE seconds (default
# 5); returns once the process is gone (non-zero if it somehow survives KILL).
cp_kill() {
  local name=$1 pid=$2 bin=$3 run_dir=$4 grace=${LAGPILOT_STOP_GRACE:-5} i
  cp_pid_is "$pid" "$bin" "$run_dir" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    cp_pid_is "$pid" "$bin" "$run_dir" || return 0
    sleep 0.1
  done
  cp_log "$name (pid $pid) still there after ${grace}s of TERM: sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    cp_pid_is "$pid" "$bin" "$run_dir" || return 0
    sleep 0.1
  done
  cp_log "$name (pid $pid) survived KILL"
  return 1
}

# cp_pids_set RUN_DIR NAME PID BINARY: record (or replace) NAME's line in RUN_DIR/pids.
cp_pids_set() {
  local run_dir=$1 name=$2 pid=$3 bin=$4 f=$1/pids
  touch "$f"
  { awk -v n="$name" '$1 != n' "$f"; printf '%s %s %s\n' "$name" "$pid" "$bin"; } >"$f.new"
  mv -f "$f.new" "$f"
}

# cp_env_set RUN_DIR KEY VALUE: set KEY in RUN_DIR/env (kept in place if present).
cp_env_set() {
  local f=$1/env key=$2 val=$3
  touch "$f"
  awk -v k="$key" -v v="$val" 'BEGIN { done = 0 }
      index($0, k "=") == 1 { print k "=" v; done = 1; next } { print }
      END { if (!done) print k "=" v }' "$f" >"$f.new"
  mv -f "$f.new" "$f"
}

# cp_env_get RUN_DIR KEY: print KEY's value from RUN_DIR/env.
cp_env_get() {
  awk -v k="$2" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }' "$1/env" 2>/dev/null
}

# cp_tail_log LOGFILE: the last lines of a component's log, to stderr.
cp_tail_log() {
  [ -f "$1" ] || return 0
  cp_log "last lines of $1:"
  tail -n 15 "$1" >&2 || true
}

# cp_wait_https NAME PID BINARY RUN_DIR URL TIMEOUT LOGFILE [curl args...]: wait until URL
# answers "ok" while the process stays alive. Returns 2 if the process died, 1 on timeout.
cp_wait_https() {
  local name=$1 pid=$2 bin=$3 run_dir=$4 url=$5 timeout=$6 logfile=$7 deadline body
  shift 7
  deadline=$((SECONDS + timeout))
  while :; do
    if ! cp_pid_is "$pid" "$bin" "$run_dir"; then
      cp_log "$name (pid $pid) exited before it was ready; log: $logfile"
      cp_tail_log "$logfile"
      return 2
    fi
    body=$(curl -sS --max-time 2 "$@" "$url" 2>/dev/null) || body=""
    [ "$body" = ok ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      cp_log "$name not ready after ${timeout}s ($url answered: '${body:0:200}'); log: $logfile"
      cp_tail_log "$logfile"
      return 1
    fi
    sleep 0.2
  done
}

# cp_start_apiserver RUN_DIR: start kube-apiserver from RUN_DIR/apiserver.args and wait for
# /readyz (timeout LAGPILOT_START_TIMEOUT, default 60 s). Sets CP_LAUNCHED_PID.
cp_start_apiserver() {
  local run_dir=$1 args=() url token rc=0
  mapfile -d '' -t args <"$run_dir/apiserver.args"
  [ "${#args[@]}" -gt 1 ] || cp_die "$run_dir/apiserver.args is empty"
  url=$(cp_env_get "$run_dir" LAGPILOT_API_SERVER)
  token=$(cp_env_get "$run_dir" LAGPILOT_ADMIN_TOKEN)
  printf '\n==== %s: starting kube-apiserver\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$run_dir/logs/kube-apiserver.log"
  cp_launch "$run_dir/logs/kube-apiserver.log" "${args[@]}"
  cp_pids_set "$run_dir" kube-apiserver "$CP_LAUNCHED_PID" "${args[0]}"
  cp_env_set "$run_dir" APISERVER_PID "$CP_LAUNCHED_PID"
  cp_wait_https kube-apiserver "$CP_LAUNCHED_PID" "${args[0]}" "$run_dir" "$url/readyz" \
    "${LAGPILOT_START_TIMEOUT:-60}" "$run_dir/logs/kube-apiserver.log" \
    --cacert "$run_dir/pki/ca.crt" -H "Authorization: Bearer $token" || rc=$?
  return "$rc"
}

# cp_kube_bin RELEASE: build (or find cached) the binaries of RELEASE (see cp_kube_versions);
# prints their directory.
cp_kube_bin() {
  local dir
  dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
  case $1 in
    1.20) "$dir/build" || cp_die "controlplane/build failed" ;;
    current) "$dir/build-current" || cp_die "controlplane/build-current failed" ;;
    *) cp_die "Kubernetes release '$1' (LAGPILOT_KUBE_VERSION): expected one of: $cp_kube_versions" ;;
  esac
}

# cp_binary_kube_version BINARY: "v1.20.2" from `BINARY --version` ("Kubernetes v1.20.2").
cp_binary_kube_version() {
  local out
  out=$("$1" --version 2>/dev/null) || return 1
  [[ $out =~ (v[0-9]+\.[0-9]+\.[0-9]+[^[:space:]]*) ]] || return 1
  printf '%s' "${BASH_REMATCH[1]}"
}

# cp_minor_of GIT_VERSION: 20 for v1.20.2.
cp_minor_of() {
  [[ $1 =~ ^v1\.([0-9]+)\. ]] || return 1
  printf '%s' "${BASH_REMATCH[1]}"
}
