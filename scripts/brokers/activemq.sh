# ActiveMQ Classic instances (activemq, activemq2).  Sourced by scripts/brokers/brokers.
# shellcheck shell=bash

ACTIVEMQ_HOME=/usr/share/activemq
declare -A ACTIVEMQ_BROKER_NAME=([activemq]=stompest-activemq [activemq2]=stompest-activemq2)

# The module flags /usr/bin/activemq passes to a Java newer than 8.
ACTIVEMQ_JAVA_MODULE_FLAGS=(
    --add-reads=java.xml=java.logging
    --add-opens=java.base/java.security=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED
    --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED
    --add-opens=java.naming/javax.naming.spi=ALL-UNNAMED --add-opens=java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
    --add-exports=java.base/sun.net.www.protocol.http=ALL-UNNAMED
    --add-exports=java.base/sun.net.www.protocol.https=ALL-UNNAMED
    --add-exports=java.base/sun.net.www.protocol.jar=ALL-UNNAMED
    --add-exports=jdk.xml.dom/org.w3c.dom.html=ALL-UNNAMED
    --add-exports=jdk.naming.rmi/com.sun.jndi.url.rmi=ALL-UNNAMED
)

activemqDir() { printf '%s/%s' "$STATE" "$1"; }

activemqConfigure() {
    local name=$1 dir conf
    dir=$(activemqDir "$name"); conf=$dir/conf
    mkdir -p "$conf" "$dir/data" "$dir/tmp"
    if [ ! -s "$conf/broker.p12" ] || [ ! -s "$conf/broker-cert.pem" ]; then
        rm -f "$conf/broker.p12" "$conf/broker-cert.pem"
        keytool -genkeypair -noprompt -alias broker -keyalg RSA -keysize 2048 -validity 3650 \
            -dname "CN=localhost, OU=stompest test broker $name" \
            -ext "SAN=dns:localhost,ip:127.0.0.1" -storetype PKCS12 -keystore "$conf/broker.p12" \
            -storepass "$KEY_PASSWORD" -keypass "$KEY_PASSWORD" >/dev/null 2>&1 \
            || die "keytool could not create $conf/broker.p12"
        keytool -exportcert -rfc -alias broker -keystore "$conf/broker.p12" \
            -storepass "$KEY_PASSWORD" -file "$conf/broker-cert.pem" >/dev/null 2>&1 \
            || die "keytool could not export $conf/broker-cert.pem"
    fi
    # The broker runs with useJmx=false and without openwire: STOMP and STOMP over TLS on loopback only.
    cat >"$conf/activemq.xml.new" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by scripts/brokers/brokers; edits are overwritten by 'brokers install'. -->
<beans xmlns="http://www.springframework.org/schema/beans"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
                           http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="${ACTIVEMQ_BROKER_NAME[$name]}"
          dataDirectory="$dir/data" tmpDataDirectory="$dir/tmp" useJmx="false" schedulerSupport="false">
    <persistenceAdapter>
      <kahaDB directory="$dir/data/kahadb"/>
    </persistenceAdapter>
    <systemUsage>
      <systemUsage>
        <memoryUsage><memoryUsage limit="128 mb"/></memoryUsage>
        <storeUsage><storeUsage limit="2 gb"/></storeUsage>
        <tempUsage><tempUsage limit="1 gb"/></tempUsage>
      </systemUsage>
    </systemUsage>
    <sslContext>
      <sslContext keyStore="file:$conf/broker.p12" keyStorePassword="$KEY_PASSWORD" keyStoreType="PKCS12"/>
    </sslContext>
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:${PLAIN_PORT[$name]}"/>
      <transportConnector name="stomp+ssl" uri="stomp+ssl://127.0.0.1:${SSL_PORT[$name]}"/>
    </transportConnectors>
  </broker>
</beans>
XML
    mv "$conf/activemq.xml.new" "$conf/activemq.xml"
}

activemqPid() { readPid "$(activemqDir "$1")/broker.pid"; }

activemqLog() { printf '%s/activemq.log' "$(activemqDir "$1")"; }

activemqLaunch() {
    local name=$1 dir java
    dir=$(activemqDir "$name")
    [ -s "$dir/conf/activemq.xml" ] || die "$name is not configured; run: brokers install activemq"
    java=$(command -v java) || die "java not found (apt-get install default-jre-headless)"
    # /usr/bin/activemq would switch to its own base directory and user; start the JVM directly instead.
    : >"$(activemqLog "$name")"
    (
        cd "$dir" || exit 1
        exec setsid "$java" -Xms64M -Xmx512M \
            -Djava.awt.headless=true -Djava.io.tmpdir="$dir/tmp" \
            "${ACTIVEMQ_JAVA_MODULE_FLAGS[@]}" \
            -Dactivemq.classpath="$dir/conf" -Dactivemq.home="$ACTIVEMQ_HOME" -Dactivemq.base="$dir" \
            -Dactivemq.conf="$dir/conf" -Dactivemq.data="$dir/data" \
            -jar "$ACTIVEMQ_HOME/bin/activemq.jar" start "xbean:file:$dir/conf/activemq.xml"
    ) </dev/null >>"$(activemqLog "$name")" 2>&1 9>&- &
    printf '%s\n' "$!" >"$dir/broker.pid"
}

# Pids this script started for the instance (the JVM only).
activemqPids() { activemqPid "$1"; }

# The pid that freeze/thaw/kill act on.
activemqMainPid() { activemqPid "$1"; }

activemqStop() {
    local pid
    pid=$(activemqPid "$1")
    stopPid "$pid"
    rm -f "$(activemqDir "$1")/broker.pid"
}

activemqCa() { printf '%s/conf/broker-cert.pem' "$(activemqDir "$1")"; }
