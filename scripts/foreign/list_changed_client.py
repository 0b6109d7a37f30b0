"""A client nobody here wrote (the official MCP Python SDK) waiting for tools/list_changed.

Usage: list_changed_client.py URL TOOL MODE, MODE being "legacy" (a 2025-11-25 session:
initialize, the GET stream, a message handler) or "2026-07-28" (a subscriptions/listen
stream). Lists the tools, prints READY once it listens, waits for the notification (the
caller adds TOOL through the admin endpoint meanwhile), lists again, calls TOOL with
{"query": "SELECT 1 AS one"} and prints one line: RESULT {...} (JSON). Exits non-zero
on any failure, saying why on stderr.
"""

import asyncio
import json
import sys

from mcp import Client, types

WAIT_S = 10.0


def names(listed) -> list[str]:
    return sorted(tool.name for tool in listed.tools)


async def after_change(client: Client, tool: str, before: list[str], waited: float) -> dict:
    after = names(await client.list_tools())
    called = await client.call_tool(tool, {"query": "SELECT 1 AS one"})
    text = "".join(getattr(block, "text", "") for block in called.content)
    return {
        "before": before,
        "after": after,
        "waited_s": waited,
        "is_error": bool(called.is_error),
        "text": text,
    }


async def legacy(url: str, tool: str) -> dict:
    changed = asyncio.Event()

    async def on_message(message) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    async with Client(url, mode="legacy", message_handler=on_message) as client:
        before = names(await client.list_tools())
        # The SDK opens its GET stream in the background: give it a moment to be there.
        await asyncio.sleep(0.5)
        print("READY", flush=True)
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(changed.wait(), WAIT_S)
        waited = asyncio.get_running_loop().time() - started
        return await after_change(client, tool, before, waited)


async def modern(url: str, tool: str) -> dict:
    async with Client(url, mode="2026-07-28") as client:
        before = names(await client.list_tools())
        async with client.listen(tools_list_changed=True) as subscription:
            print("READY", flush=True)
            started = asyncio.get_running_loop().time()
            await asyncio.wait_for(anext(subscription), WAIT_S)
            waited = asyncio.get_running_loop().time() - started
        return await after_change(client, tool, before, waited)


def main() -> int:
    url, tool, mode = sys.argv[1:4]
    run = legacy if mode == "legacy" else modern
    try:
        result = asyncio.run(run(url, tool))
    except Exception as error:  # the test prints this and fails
        print(f"FAILED: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return 1
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
