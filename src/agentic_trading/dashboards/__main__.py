from agentic_trading.dashboards.server import main

main()
