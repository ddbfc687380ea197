#!/usr/bin/env bash
# Kafka's own tool of that name (the official image's health check), on the stand-in's jars.
# Its log goes to standard error, as in Kafka's tools-log4j.properties.
exec java -Xmx128m -cp '/opt/kafka/libs/*' \
  -Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties \
  kafka.admin.BrokerApiVersionsCommand "$@"
