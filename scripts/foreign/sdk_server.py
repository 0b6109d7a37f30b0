"""A small MCP server on the official MCP Python SDK (PyPI `mcp`, 2.3.0), for testing the
harness against MCP code nobody here wrote: this file only registers two tools, a resource
and a prompt; the SDK's `MCPServer` (formerly FastMCP) does all of the protocol (Streamable
HTTP, 2025-11-25 sessions and 2026-07-28 single exchanges on one endpoint).

Usage: python sdk_server.py [PORT] [session|json|stateless|stateless-json]
Listens on 127.0.0.1 only; the endpoint is /mcp.
"""

import sys

from mcp.server.mcpserver import MCPServer

port = int(sys.argv[1]) if len(sys.argv) > 1 else 18765
mode = sys.argv[2] if len(sys.argv) > 2 else "session"
if mode not in ("session", "json", "stateless", "stateless-json"):
    sys.exit(f"unknown mode {mode!r}: session, json, stateless or stateless-json")
mcp = MCPServer("sdk-ref", version="1.0.0", log_level="WARNING")


@mcp.tool()
def echo(message: str) -> str:
    """Echo the message back."""
    return message


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@mcp.resource("ref://hello", mime_type="text/plain")
def hello() -> str:
    """A static text resource."""
    return "hello from sdk-ref"


@mcp.prompt()
def greet(name: str) -> str:
    """A prompt with one argument."""
    return f"Say hello to {name}."


if __name__ == "__main__":
    mcp.run(
        "streamable-http",
        host="127.0.0.1",
        port=port,
        stateless_http=mode.startswith("stateless"),
        json_response=mode.endswith("json"),
    )
