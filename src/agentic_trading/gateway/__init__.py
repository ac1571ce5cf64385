"""The webhook gateway: validates TradingView alerts and stores them durably on JetStream."""
