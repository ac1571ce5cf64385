#!/bin/bash
# test_alert_rules.sh

echo "Testing Prometheus alert rules..."

# Validate alert rule syntax
promtool check rules prometheus/alerts/*.yml
if [ $? -ne 0 ]; then
    echo "✗ Alert rule syntax errors found"
    exit 1
fi
echo "✓ Alert rule syntax valid"

# Test alert rule evaluation
promtool query instant http://localhost:9090 'ALERTS{alertstate="firing"}'
echo "✓ Alert rule evaluation test complete"

# Test specific alert conditions
test_alerts=(
    "up{job=\"gateway\"} == 0"  # Gateway down
    "rate(gateway_validation_errors_total[5m]) / rate(gateway_webhooks_total[5m]) > 0.01"  # High error rate
    "histogram_quantile(0.95, rate(gateway_processing_duration_seconds_bucket[5m])) > 0.5"  # High latency
)

for alert_expr in "${test_alerts[@]}"; do
    echo "Testing alert: $alert_expr"
    promtool query instant http://localhost:9090 "$alert_expr"
done
