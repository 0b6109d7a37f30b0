#!/usr/bin/env python3
"""An independent measurement of list_changed propagation, to hold the harness's
list_changed probe against: Python's standard library only (asyncio streams, its own HTTP
and SSE reading), sharing no code with the harness.

N clients each open a 2026-07-28 `subscriptions/listen` stream on URL; then CHANGES times,
one at a time, a tool is added (POST /admin/tools) and removed (DELETE
/admin/tools/NAME) on the same origin, and each client's `notifications/tools/list_changed`
is timed from the moment the change's request was sent. Prints p50 / p99 / max in ms.

    python3 scripts/list_changed_referee.py http://127.0.0.1:8080/mcp [--listeners 100] [--changes 10]
"""

import argparse
import asyncio
import json
import time
import urllib.parse

REVISION = "2026-07-28"
NEEDLE = b"notifications/tools/list_changed"


def listen_request(host, path, request_id):
    body = json.dumps({
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "subscriptions/listen",
        "params": {
            "notifications": {"toolsListChanged": True},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": REVISION,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "list-changed-referee", "version": "1"},
            },
        },
    }).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: {REVISION}\r\n"
        f"Mcp-Method: subscriptions/listen\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_chunked(reader):
    """Yields the body's bytes as each chunk arrives (or as read, without chunking)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    if status != b"200":
        raise RuntimeError(f"listen answered {head.decode(errors='replace')!r}")
    if b"chunked" not in head.lower():
        while data := await reader.read(65536):
            yield data
        return
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            return
        data = await reader.readexactly(size + 2)
        yield data[:-2]


async def listener(url, index, heard, ready):
    parts = urllib.parse.urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(listen_request(parts.netloc, parts.path or "/", index + 1))
    await writer.drain()
    tail = b""
    first = True
    async for data in read_chunked(reader):
        now = time.perf_counter()
        if first:
            ready.release()
            first = False
        text = tail + data
        count = text.count(NEEDLE)
        for _ in range(count):
            heard.put_nowait((index, now))
        # Keep what could be the start of a needle split across reads.
        tail = text[-(len(NEEDLE) - 1):] if count == 0 else b""


async def admin(url, method, path, body=None):
    parts = urllib.parse.urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    payload = json.dumps(body).encode() if body is not None else b""
    writer.write((
        f"{method} {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode() + payload)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    status = int(answer.split(b" ", 2)[1])
    if not 200 <= status < 300:
        raise RuntimeError(f"{method} {path}: {answer[:300]!r}")


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--listeners", type=int, default=100)
    ap.add_argument("--changes", type=int, default=10)
    ap.add_argument("--deadline", type=float, default=5.0)
    args = ap.parse_args()
    heard = asyncio.Queue()
    ready = asyncio.Semaphore(0)
    tasks = [asyncio.create_task(listener(args.url, i, heard, ready)) for i in range(args.listeners)]
    # rmcp acknowledges a subscription with a first event; wait for every stream's first bytes.
    for _ in range(args.listeners):
        await asyncio.wait_for(ready.acquire(), timeout=10)
    await asyncio.sleep(0.2)
    while not heard.empty():
        heard.get_nowait()
    delays, missed = [], 0
    for k in range(args.changes):
        name = f"referee_{k // 2}"
        sent = time.perf_counter()
        if k % 2 == 0:
            body = {"name": name, "base": "postgres_query", "preset": {"database": "agents"}}
            await admin(args.url, "POST", "/admin/tools", body)
        else:
            await admin(args.url, "DELETE", f"/admin/tools/{name}")
        got = set()
        while len(got) < args.listeners:
            try:
                index, at = await asyncio.wait_for(heard.get(), timeout=max(0.0, sent + args.deadline - time.perf_counter()))
            except asyncio.TimeoutError:
                break
            if index not in got:
                got.add(index)
                delays.append(at - sent)
        missed += args.listeners - len(got)
        await asyncio.sleep(0.05)
        while not heard.empty():
            heard.get_nowait()
    for t in tasks:
        t.cancel()
    delays.sort()

    def at(q):
        return delays[max(0, -(-len(delays) * q // 100) - 1)] * 1e3 if delays else float("nan")

    print(f"list_changed referee: {len(delays)} notifications ({args.listeners} listeners x {args.changes} changes), "
          f"p50 {at(50):.1f} / p99 {at(99):.1f} / max {delays[-1] * 1e3 if delays else float('nan'):.1f} ms, {missed} missed")


if __name__ == "__main__":
    asyncio.run(main())
