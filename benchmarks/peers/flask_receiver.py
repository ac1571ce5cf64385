"""The peer: a minimal Flask webhook receiver of the kind popular TradingView bots use.

Same validation as the peer in docs/measurements.md (instrument, action, confidence), a fresh
uuid4, no broker, Flask's threaded development server (``app.run()``), request log off.
Run: ``python benchmarks/peers/flask_receiver.py PORT``.
"""

import logging
import sys
import uuid

from flask import Flask, jsonify, request

app = Flask(__name__)
logging.getLogger("werkzeug").setLevel(logging.ERROR)


def validate(payload):
    if not isinstance(payload, dict):
        return "body must be an object"
    if not isinstance(payload.get("instrument"), str) or not payload["instrument"]:
        return "instrument"
    if payload.get("action") not in ("buy", "sell", "hold"):
        return "action"
    confidence = payload.get("confidence")
    if confidence is not None and (
        isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1
    ):
        return "confidence"
    return None


@app.post("/webhook/tradingview")
def webhook():
    payload = request.get_json(silent=True)
    problem = validate(payload)
    if problem:
        return jsonify({"error": problem}), 422
    return jsonify({"status": "accepted", "signal_id": uuid.uuid4().hex})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
