#!/usr/bin/env python3
"""moto's server (as `moto_server` builds it) with a Lambda function of controllable duration.

Usage: server.py [-H 127.0.0.1] [-p 5005]

Load probes of the AWS tier (in-flight cap, concurrency, deadlines) need a tool call that
takes a known time and does no work. Without Docker, moto answers every Lambda Invoke at
once by echoing the payload, so this wrapper adds the wait in front of it: an Invoke
(`POST /2015-03-31/functions/<name>/invocations`) of the function `sleeper` whose JSON
payload is an object with a numeric `sleep_ms` is answered `sleep_ms` milliseconds later
(capped at MAX_SLEEP_MS; a missing or malformed value means no wait). Every other request,
and the request and answer themselves, pass through unchanged: the payload is echoed.

It also mends one moto bug (`signed_gets`): with IAM enforcement on, moto re-signs a request
to check its signature, and for a GET it signs the query parameters, or
when there are none the headers, as the body; every signed GET to a REST-JSON service
(Lambda ListFunctions, GetFunction) then fails with SignatureDoesNotMatch. The mend signs
such a request with the empty body its client signed.

moto handles the request first and the wait is added only to a 200 answer, so signature,
IAM and not-found failures come back at once, as a real function's authorisation failures
do before it runs. The server is werkzeug's threaded one, as in `moto_server`: one thread
per connection, so concurrent sleeps overlap and a sleeping call holds no moto lock.
"""

import argparse
import io
import json
import os
import re
import signal
import sys
import time
from urllib.parse import unquote

from moto.iam import access_control
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

SLEEPER = "sleeper"
MAX_SLEEP_MS = 60_000
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations/?$")


def function_name(segment):
    """`sleeper`, `sleeper:$LATEST` and the function's ARN (with or without a qualifier) all
    name the function `sleeper`."""
    name = unquote(segment)
    parts = name.split(":")
    if name.startswith("arn:") and len(parts) >= 7:
        return parts[6]
    return parts[0]


def requested_sleep_ms(body):
    """The payload's `sleep_ms`, clamped to 0..MAX_SLEEP_MS; 0 when there is none."""
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return 0
    if not isinstance(payload, dict):
        return 0
    value = payload.get("sleep_ms")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return max(0, min(MAX_SLEEP_MS, int(value)))


def read_body(environ):
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        return stream.read(int(length))
    if environ.get("wsgi.input_terminated"):  # chunked: werkzeug ends the stream for us
        return stream.read()
    return b""


class Sleeper:
    """WSGI middleware: delays the answer to a successful Invoke of `sleeper`."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        match = INVOKE_PATH.match(environ.get("PATH_INFO", ""))
        if not match or function_name(match.group(1)) != SLEEPER:
            return self.app(environ, start_response)

        body = read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        delay_ms = requested_sleep_ms(body)

        answer = {}
        chunks = []

        def capture(status, headers, exc_info=None):
            answer["status"], answer["headers"], answer["exc_info"] = status, headers, exc_info
            return chunks.append

        result = self.app(environ, capture)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if delay_ms and answer.get("status", "").startswith("200"):
            time.sleep(delay_ms / 1000)
        start_response(answer["status"], answer["headers"], answer["exc_info"])
        return chunks


def signed_gets():
    """Makes moto check a GET's signature against the empty body its client signed (moto 5.2.5 signs the parsed query, or the headers, in its place)."""
    create = access_control.IAMRequestBase._create_aws_request

    def create_aws_request(self):
        # A form POST's parameters are its body, already parsed: only GETs are mended.
        if self._method != "GET" or self._body:
            return create(self)
        data = self._data
        self._data = None
        try:
            return create(self)
        finally:
            self._data = data

    access_control.IAMRequestBase._create_aws_request = create_aws_request


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("-p", "--port", type=int, default=5005, help="port to bind")
    args = parser.parse_args(argv)
    # moto builds some URLs (presigned S3, SQS queue URLs) from MOTO_PORT, as moto_server does.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(0))

    signed_gets()
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # as moto_server: moto's own error pages rather than werkzeug's
    run_simple(args.host, args.port, Sleeper(app), threaded=True,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
