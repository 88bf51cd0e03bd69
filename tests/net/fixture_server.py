#!/usr/bin/env python3
"""Loopback HTTP/HTTPS fixture for scotty's network tests.

Serves the hostile and ordinary responses the client must cope with (redirect
chains, stalls, endless and lying bodies, gzip bombs, wrong content types), counts
TCP connections so tests can see reuse, and checks HTTP Signatures on /signed/*
independently of scotty: it rebuilds the signing string from the received headers
and asks the openssl CLI to verify it with the test public key.

Usage: fixture_server.py DIR  (DIR holds server.pem, server.key, sig_pub.pem)
Prints "READY http=<port> https=<port>" and exits when its stdin closes.
"""
import base64
import gzip
import hashlib
import http.server
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

DIR = sys.argv[1]
BOMB = gzip.compress(b"\0" * (20 * 1024 * 1024), 9)
AS_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    connections = 0
    lock = threading.Lock()

    def process_request(self, request, client_address):
        with Server.lock:
            Server.connections += 1
        super().process_request(request, client_address)


def verify_signature(handler, body):
    """Returns None if the draft-cavage signature verifies, else the reason."""
    sig = handler.headers.get("Signature")
    if not sig:
        return "no Signature header"
    params = {}
    for part in sig.split(","):
        name, _, value = part.partition("=")
        params[name.strip()] = value.strip().strip('"')
    if params.get("algorithm") != "rsa-sha256":
        return "algorithm is not rsa-sha256"
    lines = []
    for name in params.get("headers", "date").split(" "):
        if name == "(request-target)":
            value = handler.command.lower() + " " + handler.path
        else:
            value = handler.headers.get(name)
            if value is None:
                return "signed header %s missing" % name
        lines.append("%s: %s" % (name, value))
    if handler.command == "POST":
        want = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        if handler.headers.get("Digest") != want:
            return "Digest does not match the body"
    with tempfile.TemporaryDirectory(dir=DIR) as tmp:
        data = os.path.join(tmp, "data")
        sigfile = os.path.join(tmp, "sig")
        with open(data, "wb") as f:
            f.write("\n".join(lines).encode())
        with open(sigfile, "wb") as f:
            f.write(base64.b64decode(params.get("signature", "")))
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify",
                            os.path.join(DIR, "sig_pub.pem"), "-signature", sigfile, data],
                           capture_output=True)
        if r.returncode != 0:
            return "openssl: " + (r.stdout + r.stderr).decode().strip()
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="text/plain", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def head_only(self, status, headers):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.route(body)

    def do_GET(self):
        self.route(b"")

    def route(self, body):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query)
        try:
            self.dispatch(path, query, body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def dispatch(self, path, query, body):
        if path == "/ok":
            self.send(200, b"hello\n")
        elif path == "/echo":
            doc = {"method": self.command, "path": self.path,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body.decode("latin-1")}
            self.send(200, json.dumps(doc).encode(), "application/json")
        elif path == "/count":
            self.send(200, json.dumps({"connections": Server.connections}).encode(), "application/json")
        elif path == "/ap":
            doc = {"id": "https://remote.example/notes/1", "type": "Note",
                   "accept": self.headers.get("Accept", "")}
            self.send(200, json.dumps(doc).encode(), "application/activity+json; charset=utf-8")
        elif path == "/ap-ld":
            self.send(200, b'{"type":"Note"}', AS_PROFILE)
        elif path == "/ap-ld-noprofile":
            self.send(200, b'{"type":"Note"}', "application/ld+json")
        elif path == "/download":
            self.send(200, b"\x89PNG", "image/png",
                      [("Content-Disposition", 'attachment; filename="cat.png"')])
        elif path == "/html":
            self.send(200, b"<html></html>", "text/html")
        elif path.startswith("/status/"):
            code = int(path.split("/")[2])
            self.send(code, ("status %d" % code).encode())
        elif path.startswith("/redirect/"):
            n = int(path.split("/")[2])
            if n > 0:
                self.send(302, b"moved", extra=[("Location", "/redirect/%d" % (n - 1))])
            else:
                self.send(200, b"landed")
        elif path == "/redirect-to":
            code = int(query.get("code", ["302"])[0])
            self.send(code, b"moved", extra=[("Location", query["url"][0])])
        elif path == "/see-other":
            self.send(303, b"", extra=[("Location", "/echo")])
        elif path == "/stall-head":
            time.sleep(60)
        elif path == "/stall-body":
            self.head_only(200, [("Content-Length", "100")])
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            time.sleep(60)
        elif path == "/drip":
            self.close_connection = True
            self.head_only(200, [("Connection", "close")])
            for _ in range(600):
                self.wfile.write(b".")
                self.wfile.flush()
                time.sleep(0.2)
        elif path == "/endless":
            self.close_connection = True
            self.head_only(200, [("Connection", "close")])
            chunk = b"x" * 65536
            while True:
                self.wfile.write(chunk)
        elif path == "/big-cl":
            self.close_connection = True
            self.head_only(200, [("Content-Length", str(50 * 1024 * 1024)), ("Connection", "close")])
            self.wfile.write(b"y" * 100)
        elif path == "/short-body":
            self.close_connection = True
            self.head_only(200, [("Content-Length", "1000")])
            self.wfile.write(b"0123456789")
        elif path == "/long-body":
            self.close_connection = True
            self.head_only(200, [("Content-Length", "5")])
            self.wfile.write(b"hello" + b"z" * 5000)
        elif path == "/gzip":
            data = gzip.compress(b'{"type":"Note","content":"' + b"a" * 2000 + b'"}')
            self.send(200, data, "application/activity+json", [("Content-Encoding", "gzip")])
        elif path == "/gzip-bomb":
            self.send(200, BOMB, "application/activity+json", [("Content-Encoding", "gzip")])
        elif path.startswith("/signed/"):
            reason = verify_signature(self, body)
            if reason is None:
                self.send(202, b"verified")
            else:
                self.send(401, reason.encode())
        else:
            self.send(404, b"no such fixture route")


class TLSHandler(Handler):
    context = None

    def setup(self):
        self.request = TLSHandler.context.wrap_socket(self.request, server_side=True)
        super().setup()

    def handle(self):
        try:
            super().handle()
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            pass


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(DIR, "server.pem"), os.path.join(DIR, "server.key"))
    TLSHandler.context = ctx
    plain = Server(("127.0.0.1", 0), Handler)
    tls = Server(("127.0.0.1", 0), TLSHandler)
    tls.handle_error = lambda request, address: None
    plain.handle_error = lambda request, address: None
    for srv in (plain, tls):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("READY http=%d https=%d" % (plain.server_address[1], tls.server_address[1]), flush=True)
    sys.stdin.read()
    os._exit(0)


main()
