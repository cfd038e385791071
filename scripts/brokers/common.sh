# Shared helpers for scripts/brokers/brokers.  Sourced, never run on its own.
# shellcheck shell=bash

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
STATE=${STOMPEST_BROKERS_DIR:-$REPO/.brokers}
HERE=$REPO/scripts/brokers
START_TIMEOUT=${STOMPEST_BROKERS_START_TIMEOUT:-90}
STOP_TIMEOUT=${STOMPEST_BROKERS_STOP_TIMEOUT:-30}
PYTHON=${STOMPEST_BROKERS_PYTHON:-$(command -v python3 || command -v python)}
KEY_PASSWORD=stompest

# Every port below moves by STOMPEST_BROKERS_PORT_OFFSET (default 0), so two checkouts (or two
# developers on one machine) can each run their own brokers, fault tests included, side by side;
# give each its own STOMPEST_BROKERS_DIR too (the default, <repo>/.brokers, already is per checkout).
PORT_OFFSET=${STOMPEST_BROKERS_PORT_OFFSET:-0}
[[ $PORT_OFFSET =~ ^[0-9]+$ ]] && [ "$PORT_OFFSET" -lt 1000 ] \
    || { printf 'brokers: STOMPEST_BROKERS_PORT_OFFSET must be a whole number below 1000: %s\n' "$PORT_OFFSET" >&2; exit 2; }
# name -> plain STOMP port, TLS port
declare -A PLAIN_PORT=([activemq]=$((61613 + PORT_OFFSET)) [activemq2]=$((61615 + PORT_OFFSET)) [rabbitmq]=$((61623 + PORT_OFFSET)))
declare -A SSL_PORT=([activemq]=$((61614 + PORT_OFFSET)) [activemq2]=$((61616 + PORT_OFFSET)) [rabbitmq]=$((61624 + PORT_OFFSET)))
RABBITMQ_EPMD_PORT=$((4371 + PORT_OFFSET))
RABBITMQ_DIST=$((25682 + PORT_OFFSET))

say() { printf '%s\n' "$*"; }
warn() { printf 'brokers: %s\n' "$*" >&2; }
die() { warn "$*"; exit 1; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# A live process; a zombie (state Z, not yet reaped) counts as gone.
alive() {
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# A process that is stopped (SIGSTOP) shows state T in /proc.
frozen() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat")" = T ]; }

readPid() { [ -s "$1" ] && tr -dc '0-9' <"$1"; }

portInUse() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Stop one pid we started: TERM, wait up to $2 seconds, then KILL.
stopPid() {
    local pid=$1 limit=${2:-$STOP_TIMEOUT} waited=0
    alive "$pid" || return 0
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid" && [ "$waited" -lt $((limit * 10)) ]; do
        sleep 0.1; waited=$((waited + 1))
    done
    if alive "$pid"; then
        warn "pid $pid ignored SIGTERM for ${limit}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
}

# Print the tail of a log file to stderr, under a heading.
logTail() {
    local file=$1
    [ -s "$file" ] || { warn "(no log output in $file)"; return 0; }
    warn "---- last lines of $file ----"
    tail -n "${2:-40}" "$file" >&2
    warn "----"
}

aptInstall() {
    # $@: packages; installs the missing ones, running apt-get update only if apt knows no candidate.
    local missing=() pkg
    for pkg in "$@"; do
        [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == *'install ok installed'* ]] || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "need root to apt-get install ${missing[*]}"
    for pkg in "${missing[@]}"; do
        # (no 'grep -q' on a pipe: with pipefail, SIGPIPE would fail the test)
        if [[ ! $(apt-cache policy "$pkg" 2>/dev/null) =~ Candidate:\ [0-9] ]]; then
            say "apt-get update (no candidate for $pkg)"
            apt-get update -qq -o DPkg::Lock::Timeout=300 || die "apt-get update failed"
            break
        fi
    done
    say "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
        "${missing[@]}" >"$STATE/apt.log" 2>&1 \
        || { logTail "$STATE/apt.log"; die "apt-get install ${missing[*]} failed"; }
}

# probe NAME: a real STOMP CONNECT on the plain port (and on the TLS port when the CA exists).
probe() {
    local name=$1 timeout=${2:-5}
    "$PYTHON" "$HERE/probe.py" --port "${PLAIN_PORT[$name]}" --ssl-port "${SSL_PORT[$name]}" \
        --ca "$(caFile "$name")" --timeout "$timeout"
}
