# RabbitMQ with rabbitmq_stomp.  Sourced by scripts/brokers/brokers.
# shellcheck shell=bash

RABBITMQ_SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server

rabbitmqDir() { printf '%s/rabbitmq' "$STATE"; }

rabbitmqConfigure() {
    local dir tls
    dir=$(rabbitmqDir); tls=$dir/tls
    mkdir -p "$tls" "$dir/home" "$dir/mnesia" "$dir/log"
    if [ ! -s "$tls/ca.pem" ] || [ ! -s "$tls/server.pem" ] || [ ! -s "$tls/server.key" ]; then
        rm -f "$tls"/*
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=stompest test CA" \
            -keyout "$tls/ca.key" -out "$tls/ca.pem" >/dev/null 2>&1 || die "openssl: CA failed"
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
            -keyout "$tls/server.key" -out "$tls/server.csr" >/dev/null 2>&1 || die "openssl: CSR failed"
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$tls/server.ext"
        openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
            -days 3650 -extfile "$tls/server.ext" -out "$tls/server.pem" >/dev/null 2>&1 \
            || die "openssl: signing the server certificate failed"
        chmod 600 "$tls/server.key" "$tls/ca.key"
    fi
    if [ ! -s "$dir/home/.erlang.cookie" ]; then
        head -c 24 /dev/urandom | od -An -tx1 | tr -dc 'a-f0-9' >"$dir/home/.erlang.cookie"
        chmod 400 "$dir/home/.erlang.cookie"
    fi
    # Written aside and renamed, so a broker starting meanwhile never reads half a file.
    : >"$dir/rabbitmq-env.conf"
    printf '[rabbitmq_stomp].\n' >"$dir/enabled_plugins.new" && mv "$dir/enabled_plugins.new" "$dir/enabled_plugins"
    cat >"$dir/rabbitmq.conf.new" <<CONF
# Written by scripts/brokers/brokers; edits are overwritten by 'brokers install'.
listeners.tcp = none
stomp.listeners.tcp.1 = 127.0.0.1:${PLAIN_PORT[rabbitmq]}
stomp.listeners.ssl.1 = 127.0.0.1:${SSL_PORT[rabbitmq]}
ssl_options.cacertfile = $tls/ca.pem
ssl_options.certfile = $tls/server.pem
ssl_options.keyfile = $tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
CONF
    mv "$dir/rabbitmq.conf.new" "$dir/rabbitmq.conf"
}

rabbitmqEnv() {
    local dir
    dir=$(rabbitmqDir)
    export HOME=$dir/home
    export RABBITMQ_NODENAME=stompest${PORT_OFFSET#0}@localhost
    export RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf
    export RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf
    export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
    export RABBITMQ_MNESIA_BASE=$dir/mnesia
    export RABBITMQ_LOG_BASE=$dir/log
    export RABBITMQ_PID_FILE=$dir/beam.pid
    export ERL_CRASH_DUMP=$dir/log/erl_crash.dump  # never in the working tree
    export RABBITMQ_DIST_PORT=$RABBITMQ_DIST
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export ERL_EPMD_ADDRESS=127.0.0.1
    export ERL_EPMD_PORT=$RABBITMQ_EPMD_PORT
}

rabbitmqLog() { printf '%s/rabbitmq.log' "$(rabbitmqDir)"; }

rabbitmqPid() { readPid "$(rabbitmqDir)/wrapper.pid"; }

rabbitmqLaunch() {
    local dir epmd epmdPid
    dir=$(rabbitmqDir)
    [ -s "$dir/rabbitmq.conf" ] || die "rabbitmq is not configured; run: brokers install rabbitmq"
    [ -x "$RABBITMQ_SERVER" ] || die "$RABBITMQ_SERVER missing; run: brokers install rabbitmq"
    : >"$(rabbitmqLog)"
    rm -f "$dir/beam.pid"
    (
        rabbitmqEnv
        epmdPid=$(readPid "$dir/epmd.pid")
        if ! alive "$epmdPid"; then
            epmd=$(command -v epmd || ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -n 1)
            [ -n "$epmd" ] || { echo "epmd not found" >&2; exit 1; }
            # Our own epmd on a private port, so nobody else's epmd (4369) is shared or stopped.
            setsid "$epmd" -address 127.0.0.1 -port "$RABBITMQ_EPMD_PORT" </dev/null >>"$(rabbitmqLog)" 2>&1 &
            printf '%s\n' "$!" >"$dir/epmd.pid"
        fi
        exec setsid "$RABBITMQ_SERVER" </dev/null >>"$(rabbitmqLog)" 2>&1
    ) 9>&- &
    printf '%s\n' "$!" >"$dir/wrapper.pid"
}

# Pids this script started for RabbitMQ: the sh wrapper, beam and our epmd.
rabbitmqPids() {
    local dir
    dir=$(rabbitmqDir)
    readPid "$dir/wrapper.pid"; echo
    readPid "$dir/beam.pid"; echo
    readPid "$dir/epmd.pid"; echo
}

# The pid that freeze/thaw/kill act on: beam itself.
rabbitmqMainPid() {
    local dir pid
    dir=$(rabbitmqDir)
    pid=$(readPid "$dir/beam.pid")
    [ -n "$pid" ] || pid=$(pgrep -P "$(rabbitmqPid)" -x beam.smp 2>/dev/null | head -n 1)
    printf '%s' "$pid"
}

rabbitmqStop() {
    local dir wrapper beam epmd
    dir=$(rabbitmqDir)
    wrapper=$(readPid "$dir/wrapper.pid")
    beam=$(rabbitmqMainPid)
    epmd=$(readPid "$dir/epmd.pid")
    [ -n "$beam" ] && kill -CONT "$beam" 2>/dev/null
    # The sh wrapper forwards SIGTERM to the VM.
    stopPid "$wrapper"
    stopPid "$beam"
    stopPid "$epmd" 5
    rm -f "$dir/wrapper.pid" "$dir/beam.pid" "$dir/epmd.pid"
}

rabbitmqCa() { printf '%s/tls/ca.pem' "$(rabbitmqDir)"; }
