"""How much do login spammers slow a signed-in user? (security review point 3)

Starts the app's auth on a bare Flask server (threaded, loopback only) in a child process, signs
one user in, and times their data requests: first alone, then while SPAMMERS threads post wrong
sign-ins as fast as they can, each from its own loopback address (127.0.0.2, .3, ...) with
random user names. Every loop is bounded in count and time.

    PYTHONPATH=<checkout> python benchmarks/bench_login_spam.py
Run it with PYTHONPATH pointing at an older checkout to compare.
"""

from __future__ import annotations

import http.client
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

PORT, SPAMMERS, SPAM_SECONDS, SAMPLES, MAX_SPAM_REQUESTS = 8765, 10, 8.0, 60, 3000
PASSWORD = "correct horse battery"


def serve(data_dir: str) -> None:
    from flask import Flask, jsonify
    from werkzeug.serving import make_server

    from explorer.app.auth import current_role, init_auth
    from explorer.auth import users
    from explorer.config import Settings

    settings = Settings(cache_dir=Path(data_dir) / "cache", data_dir=Path(data_dir), mirror=None)
    users.add_user(settings, "cara", "commissioner", PASSWORD)
    server = Flask(__name__)
    init_auth(server, settings, None)

    @server.route("/_dash-update-component", methods=["POST"])
    def callback():
        return jsonify(role=current_role().value)

    print("ready", flush=True)
    make_server("127.0.0.1", PORT, server, threaded=True).serve_forever()


def request(method: str, path: str, body: str = "", cookie: str = "", source: str = "127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30, source_address=(source, 0))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["Cookie"] = cookie
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


def sign_in(name: str, password: str, source: str) -> str:
    response, page = request("GET", "/login", source=source)
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
    form = urllib.parse.urlencode({"username": name, "password": password, "csrf": token})
    response, _ = request("POST", "/login", form, cookie, source)
    return (response.getheader("Set-Cookie") or cookie).split(";")[0]


def timings(cookie: str) -> list[float]:
    out = []
    for _ in range(SAMPLES):
        start = time.perf_counter()
        response, _ = request("POST", "/_dash-update-component", "{}", cookie)
        assert response.status == 200, response.status
        out.append((time.perf_counter() - start) * 1000)
        time.sleep(0.05)
    return out


def spam(source: str, stop: threading.Event, counts: list[int]) -> None:
    for _ in range(MAX_SPAM_REQUESTS):
        if stop.is_set():
            return
        sign_in(f"u{secrets.token_hex(4)}", "wrong password!!", source)
        counts.append(1)


def report(label: str, ms: list[float]) -> None:
    ms = sorted(ms)
    print(f"{label:>22}: median {statistics.median(ms):7.1f} ms  p95 {ms[int(0.95 * len(ms)) - 1]:7.1f} ms  "
          f"max {ms[-1]:7.1f} ms")


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        child = subprocess.Popen([sys.executable, __file__, "serve", data_dir], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "ready"
            time.sleep(0.5)
            cookie = sign_in("cara", PASSWORD, "127.0.0.1")
            report("alone", timings(cookie))
            stop, counts = threading.Event(), []
            threads = [threading.Thread(target=spam, args=(f"127.0.0.{i + 2}", stop, counts)) for i in range(SPAMMERS)]
            for t in threads:
                t.start()
            time.sleep(1.0)
            started = time.perf_counter()
            report(f"with {SPAMMERS} spammers", timings(cookie))
            stop.set()
            for t in threads:
                t.join(SPAM_SECONDS * 4)
            print(f"{len(counts)} spam sign-ins answered in {time.perf_counter() - started + 1:.1f} s")
        finally:
            child.terminate()
            child.wait(10)


if __name__ == "__main__":
    serve(sys.argv[2]) if sys.argv[1:2] == ["serve"] else main()
