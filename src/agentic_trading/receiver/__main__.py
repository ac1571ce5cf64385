from agentic_trading.receiver.app import main

main()
