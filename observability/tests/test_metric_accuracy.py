# test_metric_accuracy.py
import requests
import json
import time
from datetime import datetime, timedelta

class MetricAccuracyTest:
    def __init__(self, prometheus_url="http://localhost:9090"):
        self.prometheus_url = prometheus_url

    def test_counter_increases(self):
        """Test that counters only increase."""
        query = "gateway_webhooks_total"

        # Get current value
        initial_value = self._query_metric(query)

        # Trigger webhook (test data)
        self._send_test_webhook()

        # Wait and check increase
        time.sleep(5)
        final_value = self._query_metric(query)

        assert final_value > initial_value, f"Counter did not increase: {initial_value} -> {final_value}"

    def test_histogram_buckets(self):
        """Test histogram bucket consistency."""
        query = "gateway_processing_duration_seconds_bucket"
        buckets = self._query_metric(query, return_all=True)

        # Check bucket counts are monotonic
        for series in buckets:
            values = [(float(label['le']), float(series['value'][1])) for label in series['metric'] if 'le' in label]
            values.sort()

            for i in range(1, len(values)):
                assert values[i][1] >= values[i-1][1], f"Histogram buckets not monotonic: {values}"

    def test_gauge_range(self):
        """Test gauge values are within expected ranges."""
        tests = [
            ("agent_confidence_score", 0, 1),
            ("redis_memory_usage_percent", 0, 100),
            ("container_cpu_usage_percent", 0, 100)
        ]

        for metric, min_val, max_val in tests:
            value = self._query_metric(metric)
            assert min_val <= value <= max_val, f"{metric} out of range: {value}"

    def _query_metric(self, query, return_all=False):
        """Query Prometheus for metric value."""
        response = requests.get(f"{self.prometheus_url}/api/v1/query",
                              params={"query": query})
        data = response.json()

        if return_all:
            return data['data']['result']

        if data['data']['result']:
            return float(data['data']['result'][0]['value'][1])
        return 0

    def _send_test_webhook(self):
        """Send test webhook to gateway."""
        test_payload = {
            "timestamp": datetime.utcnow().isoformat(),
            "instrument": "EURUSD",
            "action": "buy",
            "confidence": 0.85
        }
        requests.post("http://localhost:8001/webhook/test", json=test_payload)

# Run tests
if __name__ == "__main__":
    test = MetricAccuracyTest()
    test.test_counter_increases()
    test.test_histogram_buckets()
    test.test_gauge_range()
    print("✓ All metric accuracy tests passed")
