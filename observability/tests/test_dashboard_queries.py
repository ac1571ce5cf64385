# test_dashboard_queries.py
import json
import requests
from typing import List, Dict

class DashboardQueryTest:
    def __init__(self, grafana_url="http://localhost:3000",
                 prometheus_url="http://localhost:9090"):
        self.grafana_url = grafana_url
        self.prometheus_url = prometheus_url
        self.auth = ("admin", "admin")  # Default Grafana credentials

    def test_all_dashboards(self):
        """Test all dashboard queries return data."""
        dashboards = [
            "gateway.json",
            "agents.json"
        ]

        for dashboard_file in dashboards:
            self._test_dashboard_file(dashboard_file)

    def _test_dashboard_file(self, dashboard_file: str):
        """Test all queries in a dashboard file."""
        with open(f"grafana_dashboards/{dashboard_file}") as f:
            dashboard = json.load(f)

        print(f"Testing dashboard: {dashboard.get('title', dashboard_file)}")

        for panel in dashboard.get('panels', []):
            for target in panel.get('targets', []):
                if 'expr' in target:
                    self._test_prometheus_query(target['expr'],
                                              panel.get('title', 'Unknown'))

    def _test_prometheus_query(self, query: str, panel_title: str):
        """Test a Prometheus query returns valid data."""
        try:
            response = requests.get(f"{self.prometheus_url}/api/v1/query",
                                  params={"query": query},
                                  timeout=10)
            response.raise_for_status()

            data = response.json()
            if data['status'] != 'success':
                raise Exception(f"Query failed: {data.get('error', 'Unknown error')}")

            result_count = len(data['data']['result'])
            print(f"  ✓ {panel_title}: {result_count} series")

            # Check for common query issues
            if result_count == 0:
                print(f"    ⚠ No data returned for query: {query}")

        except Exception as e:
            print(f"  ✗ {panel_title}: Query error - {e}")
            print(f"    Query: {query}")

    def test_dashboard_variables(self):
        """Test dashboard template variables work."""
        # Test agent type variable
        query = "label_values(agent_messages_processed_total, agent_type)"
        response = requests.get(f"{self.prometheus_url}/api/v1/label/agent_type/values")

        if response.status_code == 200:
            values = response.json()['data']
            assert len(values) > 0, "No agent types found"
            print(f"✓ Agent type variable: {values}")
        else:
            print("✗ Agent type variable query failed")

# Run tests
if __name__ == "__main__":
    test = DashboardQueryTest()
    test.test_all_dashboards()
    test.test_dashboard_variables()
