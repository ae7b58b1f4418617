#!/usr/bin/env bash
# A single-node Kafka broker (KRaft, combined broker+controller) on 127.0.0.1 from Maven Central jars.
#   infra/kafka/kafka.sh fetch|start|stop|status|restart
# Environment: KAFKA_CACHE_DIR (default <repo>/.infra-cache/kafka), KAFKA_VERSION (default 4.4.0, falls
# back to 4.3.1 when the first cannot be fetched), KAFKA_HEAP_MB (default 512), KAFKA_START_TIMEOUT
# (seconds, default 60), KAFKA_FRESH=1 (start: wipe the data dir first), KAFKA_PORT / KAFKA_CONTROLLER_PORT
# (default 9092 / 9093; a second broker needs its own KAFKA_CACHE_DIR too).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${KAFKA_CACHE_DIR:-$repo/.infra-cache/kafka}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
versions="${KAFKA_VERSION:-4.4.0 4.3.1}"
data="$cache/data"
pidfile="$cache/kafka.pid"
logfile="$cache/kafka.log"
props="$cache/server.properties"
log4j="$cache/log4j2.properties"
host=127.0.0.1
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"

log() { echo "kafka.sh: $*" >&2; }

# log4j2 version of each Kafka release (gradle/dependencies.gradle of the release).
log4j_version() {
  case "$1" in
    4.0.*|4.1.*) echo 2.24.3 ;;
    *) echo 2.25.3 ;;
  esac
}

jars_dir() { echo "$cache/jars-$1"; }

installed_version() {
  local v
  for v in $versions; do
    if [[ -f "$(jars_dir "$v")/.complete" ]]; then echo "$v"; return 0; fi
  done
  return 1
}

fetch_version() {
  local v="$1" l4j dir pom
  l4j="$(log4j_version "$v")"
  dir="$(jars_dir "$v")"
  pom="$cache/pom-$v.xml"
  cat >"$pom" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.deals</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$v</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$l4j</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$l4j</version></dependency>
  </dependencies>
</project>
POM
  rm -rf "$dir"
  log "fetching kafka_2.13 $v with log4j $l4j into $dir"
  if mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir" >&2; then
    touch "$dir/.complete"
    return 0
  fi
  rm -rf "$dir"
  return 1
}

cmd_fetch() {
  local v
  if v="$(installed_version)"; then log "kafka $v jars already in $(jars_dir "$v")"; return 0; fi
  for v in $versions; do
    if fetch_version "$v"; then log "kafka $v fetched"; return 0; fi
    log "kafka $v could not be fetched"
  done
  log "no Kafka version could be fetched ($versions)"
  return 1
}

running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

write_config() {
  cat >"$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$host:$controller_port
listeners=PLAINTEXT://$host:$port,CONTROLLER://$host:$controller_port
advertised.listeners=PLAINTEXT://$host:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$data
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
  cat >"$log4j" <<LOG
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
LOG
}

cmd_start() {
  local pid v jars started elapsed timeout
  if pid="$(running_pid)"; then
    if port_open; then log "already running (pid $pid)"; return 0; fi
    log "pid $pid is alive but port $port is closed: stop it first (kafka.sh stop)"; return 1
  fi
  if port_open; then log "port $host:$port is already taken by another process"; return 1; fi
  cmd_fetch
  v="$(installed_version)"
  jars="$(jars_dir "$v")"
  if [[ "${KAFKA_FRESH:-0}" == 1 ]]; then rm -rf "$data"; fi
  write_config
  if [[ ! -f "$data/meta.properties" ]]; then
    mkdir -p "$data"
    local id
    id="$(java -cp "$jars/*" -Dlog4j2.configurationFile="$log4j" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
    java -cp "$jars/*" -Dlog4j2.configurationFile="$log4j" kafka.tools.StorageTool format -t "$id" -c "$props" -g >&2
  fi
  started=$(date +%s%N)
  # setsid: the broker outlives the shell that started it (CI steps, test runners).
  setsid nohup java -Xms256m -Xmx"${KAFKA_HEAP_MB:-512}"m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$log4j" -cp "$jars/*" kafka.Kafka "$props" >"$logfile" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pidfile"
  timeout="${KAFKA_START_TIMEOUT:-60}"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "the broker exited during start; log tail:"; tail -n 40 "$logfile" >&2; rm -f "$pidfile"; return 1
    fi
    if port_open; then break; fi
    elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
    if (( elapsed > timeout * 1000 )); then
      log "port $port not open after ${timeout}s; log tail:"; tail -n 40 "$logfile" >&2
      kill -TERM "$pid" 2>/dev/null || true
      return 1
    fi
    sleep 0.2
  done
  elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
  log "kafka $v up on $host:$port (pid $pid) in ${elapsed} ms; log $logfile"
}

cmd_stop() {
  local pid i
  if ! pid="$(running_pid)"; then log "not running"; rm -f "$pidfile"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; log "stopped (pid $pid)"; return 0; }
    sleep 0.2
  done
  log "pid $pid did not stop within 30 s of SIGTERM; SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

cmd_status() {
  local pid
  if pid="$(running_pid)" && port_open; then echo "running (pid $pid) on $host:$port"; return 0; fi
  if pid="$(running_pid)"; then echo "starting or unhealthy (pid $pid), port $port closed"; return 1; fi
  echo "stopped"; return 3
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  *) echo "usage: $0 fetch|start|stop|restart|status" >&2; exit 2 ;;
esac
