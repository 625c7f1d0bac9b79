"""A loopback gate in front of moto: forwards every request unchanged, refuses `sts:AssumeRole`
into the accounts it is told to refuse (as STS does: HTTP 403 `AccessDenied`, since moto enforces
no trust policy), and counts the requests it forwards by service and operation, so a test can
show which AWS calls a tool made."""

from __future__ import annotations

import http.client
import re
import threading
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
DENIED = """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>
<Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/test is not authorized to perform:
sts:AssumeRole on resource: {arn}</Message></Error><RequestId>0a7e5a7e-0000-4000-8000-000000000001</RequestId>
</ErrorResponse>"""


class Gate:
    def __init__(self, moto: str, refused_accounts: set[str]) -> None:
        self.moto = urllib.parse.urlsplit(moto)
        self.refused = refused_accounts
        self.lock = threading.Lock()
        self.calls: Counter[tuple[str, str]] = Counter()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                service, operation = _operation(self.command, self.path, self.headers, body)
                if operation == "AssumeRole":
                    arn = urllib.parse.parse_qs(body.decode()).get("RoleArn", [""])[0]
                    if arn.split(":")[4:5] and arn.split(":")[4] in gate.refused:
                        return self._reply(403, {"content-type": "text/xml"}, DENIED.format(arn=arn).encode())
                with gate.lock:
                    gate.calls[(service, operation)] += 1
                conn = http.client.HTTPConnection(gate.moto.hostname, gate.moto.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
                headers["Host"] = gate.moto.netloc
                conn.request(self.command, self.path, body=body or None, headers=headers)
                r = conn.getresponse()
                data = r.read()
                self._reply(r.status, {k: v for k, v in r.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}}, data)
                conn.close()

            def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take_calls(self) -> Counter[tuple[str, str]]:
        """The calls forwarded since the last take."""
        with self.lock:
            calls, self.calls = self.calls, Counter()
        return calls

    def stop(self) -> None:
        self.server.shutdown()


def _operation(method: str, path: str, headers, body: bytes) -> tuple[str, str]:
    auth = headers.get("authorization") or ""
    m = re.search(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/aws4_request", auth)
    service = m.group(1) if m else "?"
    if target := headers.get("x-amz-target"):
        return service, target.split(".")[-1]
    if body and (headers.get("content-type") or "").startswith("application/x-www-form-urlencoded"):
        action = urllib.parse.parse_qs(body.decode(errors="replace")).get("Action")
        if action:
            return service, action[0]
    return service, f"{method} {urllib.parse.urlsplit(path).path}"
