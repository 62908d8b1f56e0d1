#!/usr/bin/env bash
# Creates every topic of topics.txt that does not exist yet (partitions and configs as listed;
# existing topics are left as they are), with Apache Kafka's own kafka-topics.sh. Run by
# compose's kafka-init and the Kubernetes kafka-topics Job.
#
#   create-topics.sh topics.txt
#
# Environment (the services' own settings where one exists):
#   ENTITLE_KAFKA_BOOTSTRAP        bootstrap servers
#   ENTITLE_KAFKA_REPLICATION      replication factor (default 3)
#   ENTITLE_KAFKA_TOPIC_PREFIX     prefix of every name (default none)
#   MIN_INSYNC_REPLICAS            default 2, never above the replication factor
#   KAFKA_TOPICS                   the kafka-topics tool (default: the apache/kafka image's)
#   ENTITLE_KAFKA_SECURITY_PROTOCOL, ENTITLE_KAFKA_SASL_MECHANISM, ENTITLE_KAFKA_SASL_USERNAME,
#   ENTITLE_KAFKA_SASL_PASSWORD, ENTITLE_KAFKA_SSL_CAFILE, ENTITLE_KAFKA_SSL_CERTFILE,
#   ENTITLE_KAFKA_SSL_KEYFILE      TLS and SASL, as the services use them
set -euo pipefail

list="${1:?usage: create-topics.sh topics.txt}"
bootstrap="${ENTITLE_KAFKA_BOOTSTRAP:?set ENTITLE_KAFKA_BOOTSTRAP}"
replication="${ENTITLE_KAFKA_REPLICATION:-3}"
isr="${MIN_INSYNC_REPLICAS:-2}"
if [ "$replication" -lt "$isr" ]; then isr="$replication"; fi
kafka_topics=("${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}" --bootstrap-server "$bootstrap")

protocol="${ENTITLE_KAFKA_SECURITY_PROTOCOL:-PLAINTEXT}"
if [ "$protocol" != PLAINTEXT ]; then
  properties="$(mktemp)"
  echo "security.protocol=$protocol" > "$properties"
  case "$protocol" in
    SASL_*)
      mechanism="${ENTITLE_KAFKA_SASL_MECHANISM:-PLAIN}"
      module=org.apache.kafka.common.security.scram.ScramLoginModule
      if [ "$mechanism" = PLAIN ]; then module=org.apache.kafka.common.security.plain.PlainLoginModule; fi
      {
        echo "sasl.mechanism=$mechanism"
        echo "sasl.jaas.config=$module required username=\"${ENTITLE_KAFKA_SASL_USERNAME:?}\" password=\"${ENTITLE_KAFKA_SASL_PASSWORD:?}\";"
      } >> "$properties"
      ;;
  esac
  if [ -n "${ENTITLE_KAFKA_SSL_CAFILE:-}" ]; then
    printf 'ssl.truststore.type=PEM\nssl.truststore.location=%s\n' "$ENTITLE_KAFKA_SSL_CAFILE" >> "$properties"
  fi
  if [ -n "${ENTITLE_KAFKA_SSL_CERTFILE:-}" ]; then
    keystore="$(mktemp)"
    cat "${ENTITLE_KAFKA_SSL_KEYFILE:?}" "$ENTITLE_KAFKA_SSL_CERTFILE" > "$keystore"
    printf 'ssl.keystore.type=PEM\nssl.keystore.location=%s\n' "$keystore" >> "$properties"
  fi
  kafka_topics+=(--command-config "$properties")
fi

while read -r name partitions configs; do
  case "$name" in '' | '#'*) continue ;; esac
  options=(--config "min.insync.replicas=$isr")
  for config in ${configs//,/ }; do options+=(--config "$config"); done
  "${kafka_topics[@]}" --create --if-not-exists --topic "${ENTITLE_KAFKA_TOPIC_PREFIX:-}$name" \
    --partitions "$partitions" --replication-factor "$replication" "${options[@]}"
done < "$list"
"${kafka_topics[@]}" --describe
