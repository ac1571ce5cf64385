"""The peer: a minimal Flask webhook receiver of the kind popular TradingView bots use.

Same validation as the peer in docs/measurements.md (instrument, action, confidence), a fresh
uuid4, no broker, Flask's threaded development server (``app.run()``), request log off.
Run: ``python benchmarks/peers/flask_receiver.py PORT [WORKERS]``. With WORKERS > 1 (to
compare with ``AT_GATEWAY_WORKERS``) that many processes serve one listening socket, as a
gunicorn or uwsgi deployment of the bot would; the first one's SIGTERM stops them all.
"""

import logging
import os
import signal
import socket
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


def serve(port: int, workers: int) -> None:
    from werkzeug.serving import make_server

    listener = socket.create_server(("127.0.0.1", port), backlog=1024)
    children = []
    for _ in range(workers - 1):
        pid = os.fork()
        if pid == 0:
            children = []
            break
        children.append(pid)

    def stop(signum, frame):
        for child in children:
            os.kill(child, signal.SIGTERM)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    make_server("127.0.0.1", port, app, threaded=True, fd=listener.fileno()).serve_forever()


if __name__ == "__main__":
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    if workers == 1:
        app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
    else:
        serve(int(sys.argv[1]), workers)
