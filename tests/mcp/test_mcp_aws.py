#!/usr/bin/env python3
"""`mailshot --backend aws mcp` with an independent client: the official Python MCP SDK.

Usage: test_mcp_aws.py MAILSHOT_BINARY AWS_PREFIX CALLS_JSON

CALLS_JSON is a file holding a list of {"tool", "args", "cli"}: a tool call and the command line
(after `mailshot --backend aws --aws-prefix PREFIX`) that answers the same query with `--json`.
The AWS settings (AWS_ENDPOINT_URL, credentials, region) come from the environment and are passed
to the server. Checks: tools/list names the eight tools; every call's text content is JSON equal
to its structuredContent and to the CLI's output; an unknown subscriber is a tool error naming
it. Prints one line per call; exits non-zero on any failure.
"""

import asyncio
import json
import os
import subprocess
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

CALL_TIMEOUT = 120  # seconds; a hang fails the test instead of blocking it
TOOLS = {
    "get_subscriber_events", "get_template_events", "get_sequence_events", "get_delivery_stats",
    "get_subscriber", "trace_subscriber", "list_suppressed", "get_link_stats", "get_message",
}


def cli(binary: str, prefix: str, args: list[str]) -> object:
    done = subprocess.run([binary, "--backend", "aws", "--aws-prefix", prefix, *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"mailshot {args} failed: {done.stderr}")
    return json.loads(done.stdout)


async def main() -> int:
    binary, prefix, calls_path = sys.argv[1:4]
    with open(calls_path) as f:
        calls = json.load(f)
    failures = []
    params = StdioServerParameters(
        command=binary, args=["--backend", "aws", "--aws-prefix", prefix, "mcp"], env=dict(os.environ),
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await asyncio.wait_for(session.initialize(), CALL_TIMEOUT)
            listed = await asyncio.wait_for(session.list_tools(), CALL_TIMEOUT)
            names = {t.name for t in listed.tools}
            if names != TOOLS:
                failures.append(f"tools/list: {sorted(names)}")
            called = set()
            for call in calls:
                res = await asyncio.wait_for(session.call_tool(call["tool"], call["args"]), CALL_TIMEOUT)
                text = res.content[0].text if res.content else ""
                if res.is_error:
                    failures.append(f"{call['tool']}({call['args']}): tool error {text}")
                    continue
                value = json.loads(text)
                if res.structured_content != value:
                    failures.append(f"{call['tool']}({call['args']}): structuredContent differs from the text")
                expected = cli(binary, prefix, call["cli"])
                ok = value == expected
                if not ok:
                    failures.append(f"{call['tool']}({call['args']}): MCP {json.dumps(value)[:300]} != "
                                    f"CLI {json.dumps(expected)[:300]}")
                called.add(call["tool"])
                print(f"{'ok' if ok else 'FAIL'}: {call['tool']} {json.dumps(call['args'])}", flush=True)
            if called != TOOLS:
                failures.append(f"tools not called: {sorted(TOOLS - called)}")
            res = await asyncio.wait_for(
                session.call_tool("get_subscriber", {"email": "nobody@example.org"}), CALL_TIMEOUT)
            text = res.content[0].text if res.content else ""
            if not res.is_error or "nobody@example.org" not in text:
                failures.append(f"unknown subscriber: {res!r}"[:400])
    for f in failures:
        print(f"FAIL: {f}", flush=True)
    print(f"{len(calls)} calls, {len(failures)} failures", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
