#!/bin/bash
# test_metric_collection.sh

echo "Testing Prometheus metric collection..."

# Test all targets are up
curl -s http://localhost:9090/api/v1/targets | jq '.data.activeTargets[] | select(.health != "up") | .labels.instance'

# Test specific metrics exist
metrics=(
  "gateway_webhooks_total"
  "agent_messages_processed_total"
  "orchestrator_workflows_total"
  "nats_consumer_pending_messages"
  "redis_connected_clients"
)

for metric in "${metrics[@]}"; do
  result=$(curl -s "http://localhost:9090/api/v1/query?query=${metric}" | jq '.data.result | length')
  if [ "$result" -eq 0 ]; then
    echo "ERROR: Metric $metric not found"
  else
    echo "✓ Metric $metric: $result series"
  fi
done
