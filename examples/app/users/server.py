"""A sample service: GET /health answers the ALB's health check (and, on Lambda, the Web Adapter's
readiness check); any other GET says where it ran, and on which compute.

Duplicated in every service directory on purpose: each is its own Docker build context (no shared parent).
"""

import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        body: dict[str, str | None] = {"status": "ok"}
        if path != "/health":  # The name is $SERVICE_NAME, set in each service's Dockerfile.
            env = os.environ.get
            body = {"service": env("SERVICE_NAME"), "path": path, "region": env("AWS_REGION") or None}
            body["environment"] = env("ENVIRONMENT") or None
            # Lambda sets AWS_LAMBDA_FUNCTION_NAME; the same image on Fargate has none.
            body["compute"] = "lambda" if env("AWS_LAMBDA_FUNCTION_NAME") else "fargate"
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:  # JSON on stdout
        print(json.dumps({"method": self.command, "path": self.path, "status": code}), flush=True)

    def log_message(self, format: str, *args: object) -> None:  # errors too, instead of stderr
        print(json.dumps({"error": format % args}), flush=True)


def main() -> None:
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler)
    # ECS stops tasks with SIGTERM. shutdown() waits for serve_forever(), so it runs off this thread.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
