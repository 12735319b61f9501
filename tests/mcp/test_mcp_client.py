#!/usr/bin/env python3
"""End-to-end test of `mailshot mcp` with an independent client: the official Python MCP SDK.

Usage: test_mcp_client.py MAILSHOT_BINARY SCRATCH_DIR

SCRATCH_DIR/data is the known corpus (`mailshot gen --inputs 3000 --seed 5`, ingested); it is built
here when missing. The script also builds SCRATCH_DIR/recent, the same corpus shifted in time so
that its event rows are not expired (event lists of the 2024 corpus are empty once a year has
passed), and uses scratch dirs for the no-data and concurrent-ingest checks.

Checks: initialize and tools/list (names, schemas); tools/call of every tool compared with the
CLI's `--json` output for the same arguments; bad arguments give a tool error naming the argument;
a data dir without data answers a tool error and starts answering once data arrives; queries run
while an `ingest` writes see committed, consistent, non-decreasing stats. Exits non-zero on failure.
"""

import asyncio
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

TOOLS = {
    "get_subscriber_events": ["email"],
    "get_template_events": ["templateKey"],
    "get_sequence_events": ["sequenceId"],
    "get_delivery_stats": [],
    "get_subscriber": ["email"],
    "trace_subscriber": ["email"],
    "list_suppressed": [],
    "get_link_stats": [],
    "get_message": ["messageId"],
}
EVENT_TYPES = [
    "send", "delivery", "open", "click", "bounce", "complaint", "reject", "renderingFailure",
    "deliveryDelay", "subscription",
]
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
CALL_TIMEOUT = 60  # seconds; a hang fails the test instead of blocking it

FAILURES: list[str] = []
CHECKS = 0


def check(cond: bool, what: str) -> bool:
    global CHECKS
    CHECKS += 1
    if not cond:
        FAILURES.append(what)
        print(f"FAIL: {what}", flush=True)
    return cond


class Mailshot:
    """The CLI, for building data dirs and for the reference answers."""

    def __init__(self, binary: str):
        self.binary = binary

    def run(self, data: Path, *args: str, stdin=None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.binary, "--data", str(data), *args],
            stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=600,
        )

    def ingest(self, data: Path, corpus: Path) -> dict:
        done = self.run(data, "ingest", str(corpus))
        if done.returncode != 0:
            raise SystemExit(f"ingest {corpus} into {data} failed: {done.stderr}")
        return json.loads(done.stdout)

    def gen(self, out: Path, inputs: int, seed: int) -> None:
        with out.open("w") as f:
            done = subprocess.run([self.binary, "gen", "--inputs", str(inputs), "--seed", str(seed)],
                                  stdout=f, stderr=subprocess.PIPE, text=True, timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"gen failed: {done.stderr}")

    def query(self, data: Path, tool: str, args: dict) -> tuple[bool, object]:
        """The CLI's answer to `tool(args)`: (True, json) or (False, stderr)."""
        a = {k: v for k, v in args.items() if v is not None}
        cmd: list[str]
        if tool in ("get_subscriber_events", "get_template_events", "get_sequence_events"):
            kind, key = {
                "get_subscriber_events": ("subscriber", "email"),
                "get_template_events": ("template", "templateKey"),
                "get_sequence_events": ("sequence", "sequenceId"),
            }[tool]
            cmd = ["events", kind, a[key]]
            cmd += opt(a, "eventType", "--type") + opt(a, "startDate", "--from") + opt(a, "endDate", "--to")
            cmd += opt(a, "limit", "--limit") + opt(a, "nextToken", "--next")
        elif tool == "get_delivery_stats":
            cmd = ["stats"] + opt(a, "startDate", "--from") + opt(a, "endDate", "--to")
            cmd += opt(a, "templateKey", "--template") + opt(a, "sequenceId", "--sequence")
        elif tool == "get_subscriber":
            cmd = ["subscriber", a["email"]]
        elif tool == "trace_subscriber":
            cmd = ["trace", a["email"]]
        elif tool == "list_suppressed":
            cmd = ["suppressed"] + opt(a, "limit", "--limit") + opt(a, "nextToken", "--next")
        elif tool == "get_link_stats":
            cmd = ["links"] + opt(a, "templateKey", "--template") + opt(a, "startDate", "--from")
            cmd += opt(a, "endDate", "--to")
        elif tool == "get_message":
            cmd = ["message", a["messageId"]]
        else:
            raise ValueError(tool)
        done = self.run(data, *cmd, "--json")
        if done.returncode == 0:
            return True, json.loads(done.stdout)
        return False, done.stderr.strip()


def opt(args: dict, name: str, flag: str) -> list[str]:
    return [flag, str(args[name])] if name in args else []


class Server:
    """One `mailshot mcp` session driven by the Python SDK."""

    def __init__(self, binary: str, data: Path, stderr_path: Path):
        self.params = StdioServerParameters(command=binary, args=["--data", str(data), "mcp"])
        self.stderr_path = stderr_path

    async def __aenter__(self) -> "Server":
        self._errlog = self.stderr_path.open("a")
        self._client = stdio_client(self.params, errlog=self._errlog)
        read, write = await self._client.__aenter__()
        self._session_cm = ClientSession(read, write)
        self.session = await self._session_cm.__aenter__()
        self.init = await asyncio.wait_for(self.session.initialize(), CALL_TIMEOUT)
        return self

    async def __aexit__(self, *exc):
        try:
            await self._session_cm.__aexit__(*exc)
        finally:
            await self._client.__aexit__(*exc)
            self._errlog.close()

    async def call(self, tool: str, args: dict | None):
        return await asyncio.wait_for(self.session.call_tool(tool, args), CALL_TIMEOUT)

    async def answer(self, tool: str, args: dict | None) -> tuple[bool, object]:
        """(True, parsed JSON) for a result, (False, message) for a tool error."""
        res = await self.call(tool, args)
        check(len(res.content) == 1 and res.content[0].type == "text",
              f"{tool}({args}): one text content block, got {res.content!r}"[:400])
        text = res.content[0].text if res.content else ""
        if res.is_error:
            return False, text
        value = json.loads(text)
        check(res.structured_content == value, f"{tool}({args}): structuredContent equals the text content")
        return True, value


def shift_corpus(src: Path, dst: Path) -> None:
    """Copies `src` with every ISO timestamp shifted so that the newest is 20 days ago."""
    iso = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z")
    text = src.read_text()

    def parse(m: re.Match) -> dt.datetime | None:
        try:
            return dt.datetime(*(int(g) for g in m.groups()[:6]), tzinfo=dt.timezone.utc)
        except ValueError:
            return None  # the corpus's deliberately malformed timestamps stay as they are

    now = dt.datetime.now(dt.timezone.utc)
    newest = max(t for m in iso.finditer(text) if (t := parse(m)) is not None and t <= now)
    delta = now - dt.timedelta(days=20) - newest
    delta = dt.timedelta(days=delta.days)  # whole days keep the time of day

    def sub(m: re.Match) -> str:
        t = parse(m)
        if t is None:
            return m.group(0)
        t += delta
        return t.strftime("%Y-%m-%dT%H:%M:%S") + (m.group(7) or "") + "Z"

    dst.write_text(iso.sub(sub, text))


async def compare(server: Server, cli: Mailshot, data: Path, tool: str, args: dict) -> object:
    """Calls `tool(args)` over MCP and the CLI and checks that both answer the same."""
    ok, got = await server.answer(tool, args)
    cli_ok, want = cli.query(data, tool, args)
    label = f"{data.name}: {tool}({json.dumps(args)})"
    # Every query here has an answer: a failure of either side is a bug, not a match.
    check(cli_ok, f"{label}: the CLI failed: {want}")
    check(ok, f"{label}: MCP answered a tool error: {got!r}")
    if cli_ok and ok:
        check(got == want, f"{label}: MCP and CLI --json differ:\n  mcp {json.dumps(got)[:300]}\n  cli {json.dumps(want)[:300]}")
    return got


async def check_listing(server: Server) -> None:
    init = server.init
    check(init.capabilities.tools is not None, "initialize advertises the tools capability")
    check(init.server_info.name == "mailshot", f"server name is mailshot, got {init.server_info.name}")
    listed = (await asyncio.wait_for(server.session.list_tools(), CALL_TIMEOUT)).tools
    by_name = {t.name: t for t in listed}
    check(sorted(by_name) == sorted(TOOLS), f"tools/list names: {sorted(by_name)}")
    for name, required in TOOLS.items():
        tool = by_name.get(name)
        if tool is None:
            continue
        schema = tool.input_schema
        props = schema.get("properties", {})
        check(schema.get("type") == "object", f"{name}: schema is an object schema")
        check(sorted(schema.get("required", [])) == sorted(required), f"{name}: required {schema.get('required')}")
        check(schema.get("additionalProperties") is False, f"{name}: additionalProperties false")
        check(len(tool.description or "") >= 80, f"{name}: has a real description")
        for key in required:
            check(props.get(key, {}).get("type") == "string", f"{name}.{key} is a string")
        for key in ("startDate", "endDate"):
            if key in props:
                check(props[key].get("type") == "string" and props[key].get("pattern") == DATE_PATTERN,
                      f"{name}.{key}: string with pattern {DATE_PATTERN}, got {props[key]}")
        if "limit" in props:
            lim = props["limit"]
            check((lim.get("type"), lim.get("minimum"), lim.get("maximum")) == ("integer", 1, 1000),
                  f"{name}.limit: integer 1..1000, got {lim}")
        if "nextToken" in props:
            check(props["nextToken"].get("type") == "string", f"{name}.nextToken is a string")
        if "eventType" in props:
            check(props["eventType"].get("enum") == EVENT_TYPES, f"{name}.eventType enum {props['eventType']}")
        if name.endswith("_events"):
            check(set(props) == {required[0], "eventType", "startDate", "endDate", "limit", "nextToken"},
                  f"{name}: properties {sorted(props)}")
    expected_props = {
        "get_delivery_stats": {"startDate", "endDate", "templateKey", "sequenceId"},
        "get_subscriber": {"email"},
        "trace_subscriber": {"email"},
        "list_suppressed": {"limit", "nextToken"},
        "get_link_stats": {"templateKey", "startDate", "endDate"},
        "get_message": {"messageId"},
    }
    for name, props in expected_props.items():
        if name in by_name:
            got = set(by_name[name].input_schema.get("properties", {}))
            check(got == props, f"{name}: properties {sorted(got)}, expected {sorted(props)}")


async def check_queries(server: Server, cli: Mailshot, data: Path) -> dict:
    """Every tool, compared with the CLI; returns sample keys for later checks."""
    suppressed = await compare(server, cli, data, "list_suppressed", {"limit": 5})
    check(isinstance(suppressed, dict) and len(suppressed.get("items", [])) > 0, f"{data.name}: some suppressed")
    if isinstance(suppressed, dict) and suppressed.get("nextToken"):
        await compare(server, cli, data, "list_suppressed", {"limit": 5, "nextToken": suppressed["nextToken"]})
    await compare(server, cli, data, "list_suppressed", {})
    await compare(server, cli, data, "list_suppressed", {"limit": 1000})

    emails = [i["email"] for i in suppressed.get("items", [])] if isinstance(suppressed, dict) else []
    # A subscriber with events, and the template and sequence of their sends.
    template = sequence = None
    messages: list[str] = []
    for email in emails[:3]:
        await compare(server, cli, data, "get_subscriber", {"email": email})
        await compare(server, cli, data, "get_subscriber", {"email": email.upper()})
        trace = await compare(server, cli, data, "trace_subscriber", {"email": email})
        # Message ids from the log (the trace), which event rows' 365-day expiry never hides.
        for record in (trace or {}).get("items", []) if isinstance(trace, dict) else []:
            for fact in record.get("facts", []):
                message_id = fact.get("sesMessageId")
                if message_id and message_id not in messages and len(messages) < 4:
                    messages.append(message_id)
        events = await compare(server, cli, data, "get_subscriber_events", {"email": email, "limit": 1000})
        for item in (events or {}).get("items", []) if isinstance(events, dict) else []:
            template = template or item.get("templateKey")
            sequence = sequence or item.get("sequenceId")
        await compare(server, cli, data, "get_subscriber_events", {"email": email, "eventType": "bounce"})
    if emails:
        await compare(server, cli, data, "get_subscriber_events",
                      {"email": emails[0], "startDate": "2020-01-01", "endDate": "2030-12-31", "limit": 3})
    template = template or "cart/abandoned-1"
    sequence = sequence or "cart-recovery"

    for tool, key, value in (("get_template_events", "templateKey", template),
                             ("get_sequence_events", "sequenceId", sequence)):
        first = await compare(server, cli, data, tool, {key: value, "limit": 7})
        if isinstance(first, dict) and first.get("nextToken"):
            second = await compare(server, cli, data, tool, {key: value, "limit": 7, "nextToken": first["nextToken"]})
            if isinstance(second, dict) and second["items"]:
                ids = {json.dumps(i, sort_keys=True) for i in first["items"]}
                check(not ids & {json.dumps(i, sort_keys=True) for i in second["items"]}, f"{tool}: pages overlap")
                check(first["items"][-1]["timestamp"] >= second["items"][0]["timestamp"],
                      f"{tool}: the second page is older than the first")
        await compare(server, cli, data, tool, {key: value, "eventType": "click", "limit": 50})
        await compare(server, cli, data, tool, {key: value, "eventType": "renderingFailure"})
        await compare(server, cli, data, tool, {key: value, "eventType": "delivery", "startDate": "2024-06-10",
                                                 "endDate": "2024-06-20"})
        await compare(server, cli, data, tool, {key: "no-such-key"})

    stats = await compare(server, cli, data, "get_delivery_stats", {})
    if isinstance(stats, dict):
        check(stats.get("total") == sum(stats.get("counts", {}).values()), f"{data.name}: total = sum of counts")
        check(stats.get("total", 0) > 0, f"{data.name}: stats are not empty")
    await compare(server, cli, data, "get_delivery_stats", {"templateKey": template})
    await compare(server, cli, data, "get_delivery_stats", {"sequenceId": sequence})
    await compare(server, cli, data, "get_delivery_stats", {"startDate": "2024-06-05", "endDate": "2024-06-12"})
    await compare(server, cli, data, "get_delivery_stats", {"startDate": "2024-06-05", "templateKey": template})
    await compare(server, cli, data, "get_delivery_stats", {"endDate": "2024-06-30", "sequenceId": sequence})
    await compare(server, cli, data, "get_delivery_stats", {"startDate": "2030-01-01"})

    check(len(messages) > 0, f"{data.name}: some message ids")
    for message_id in messages:
        message = await compare(server, cli, data, "get_message", {"messageId": message_id})
        if isinstance(message, dict):
            check(message.get("messageId") == message_id and len(message.get("recipients", [])) > 0,
                  f"{data.name}: get_message({message_id}) lists recipients: {json.dumps(message)[:300]}")

    await compare(server, cli, data, "get_link_stats", {})
    await compare(server, cli, data, "get_link_stats", {"templateKey": template})
    await compare(server, cli, data, "get_link_stats", {"templateKey": template, "startDate": "2024-06-01",
                                                        "endDate": "2024-06-30"})
    return {"email": emails[0] if emails else "nobody@example.org", "template": template, "sequence": sequence,
            "token": suppressed.get("nextToken") if isinstance(suppressed, dict) else None}


async def check_bad_arguments(server: Server, sample: dict) -> None:
    email, template = sample["email"], sample["template"]
    cases = [
        ("get_delivery_stats", {"startDate": "2024-13-45"}, "startDate"),
        ("get_delivery_stats", {"startDate": "yesterday"}, "startDate"),
        ("get_delivery_stats", {"endDate": "2024-02-30"}, "endDate"),
        ("get_delivery_stats", {"endDate": "2024-6-1"}, "endDate"),
        ("get_delivery_stats", {"startDate": "2024-07-01", "endDate": "2024-06-01"}, "startDate"),
        ("get_delivery_stats", {"startDate": 20240601}, "startDate"),
        ("get_delivery_stats", {"templateKey": 7}, "templateKey"),
        ("get_delivery_stats", {"sequenceId": ["a"]}, "sequenceId"),
        ("get_delivery_stats", {"bogus": 1}, "bogus"),
        ("get_subscriber_events", {"email": email, "eventType": "opened"}, "eventType"),
        ("get_subscriber_events", {"email": email, "eventType": 3}, "eventType"),
        ("get_subscriber_events", {"email": email, "limit": 0}, "limit"),
        ("get_subscriber_events", {"email": email, "limit": 1001}, "limit"),
        ("get_subscriber_events", {"email": email, "limit": -5}, "limit"),
        ("get_subscriber_events", {"email": email, "limit": 2.5}, "limit"),
        ("get_subscriber_events", {"email": email, "limit": "10"}, "limit"),
        ("get_subscriber_events", {"email": email, "nextToken": "not-a-token"}, "nextToken"),
        ("get_subscriber_events", {"email": email, "nextToken": 12}, "nextToken"),
        ("get_subscriber_events", {"email": "not-an-email"}, "email"),
        ("get_subscriber_events", {"email": 42}, "email"),
        ("get_subscriber_events", {}, "email"),
        ("get_subscriber_events", None, "email"),
        ("get_template_events", {}, "templateKey"),
        ("get_template_events", {"templateKey": True}, "templateKey"),
        ("get_template_events", {"templateKey": template, "startDate": "2024/06/01"}, "startDate"),
        ("get_sequence_events", {"sequenceId": None}, "sequenceId"),
        ("get_sequence_events", {"sequenceId": "x", "limit": 100000}, "limit"),
        ("get_subscriber", {}, "email"),
        ("get_subscriber", {"email": "@@"}, "email"),
        ("get_subscriber", {"email": email, "extra": "x"}, "extra"),
        ("trace_subscriber", {"email": {"a": 1}}, "email"),
        ("trace_subscriber", {}, "email"),
        ("list_suppressed", {"limit": 0}, "limit"),
        ("list_suppressed", {"limit": "abc"}, "limit"),
        ("list_suppressed", {"nextToken": "zz"}, "nextToken"),
        ("get_link_stats", {"startDate": "2024-06-31"}, "startDate"),
        ("get_link_stats", {"templateKey": 1}, "templateKey"),
        ("get_message", {}, "messageId"),
        ("get_message", {"messageId": 5}, "messageId"),
        ("get_message", {"messageId": ""}, "messageId"),
        ("get_message", {"messageId": "m", "email": email}, "email"),
    ]
    if sample.get("token"):
        # A list_suppressed token is not a token of an event list.
        cases.append(("get_subscriber_events", {"email": email, "nextToken": sample["token"]}, "nextToken"))
    for tool, args, name in cases:
        try:
            res = await server.call(tool, args)
        except MCPError as e:
            check(False, f"{tool}({args}): protocol error {e} instead of a tool error")
            continue
        text = res.content[0].text if res.content else ""
        check(res.is_error is True, f"{tool}({args}): isError, got {text[:200]!r}")
        check(f"`{name}`" in text or name in text, f"{tool}({args}): error names `{name}`: {text!r}")

    # Not-found subscribers and messages are tool errors too.
    for tool in ("get_subscriber", "trace_subscriber"):
        res = await server.call(tool, {"email": "nobody-at-all@example.org"})
        check(res.is_error is True and "nobody-at-all@example.org" in res.content[0].text,
              f"{tool}(unknown subscriber): tool error naming the address, got {res.content!r}"[:300])
    res = await server.call("get_message", {"messageId": "no-such-message"})
    check(res.is_error is True and res.content[0].text == "no message no-such-message",
          f"get_message(unknown id): tool error naming the id, got {res.content!r}"[:300])

    # An unknown tool is a protocol error (or a tool error), and the server lives on.
    try:
        res = await server.call("no_such_tool", {})
        check(res.is_error is True, "unknown tool: error")
    except MCPError as e:
        check("no_such_tool" in str(e), f"unknown tool: error names the tool: {e}")
    ok, stats = await server.answer("get_delivery_stats", {})
    check(ok and stats.get("total", 0) > 0, "the server still answers after the bad calls")


async def check_no_data(cli: Mailshot, binary: str, scratch: Path, corpus: Path) -> None:
    """No data yet: tool errors saying so; once data is ingested, answers (reopened lazily)."""
    data = scratch / "late"
    subprocess.run(["rm", "-rf", str(data)], check=True)
    async with Server(binary, data, scratch / "mcp-late.stderr") as server:
        for tool, args in (("get_delivery_stats", {}), ("list_suppressed", {}),
                           ("get_subscriber", {"email": "a@example.org"})):
            res = await server.call(tool, args)
            text = res.content[0].text if res.content else ""
            check(res.is_error is True and "no data" in text, f"empty data dir: {tool} says no data, got {text!r}")
        cli.ingest(data, corpus)
        ok, stats = await server.answer("get_delivery_stats", {})
        check(ok, f"after ingest into the empty dir the server answers, got {stats!r}")
        cli_ok, want = cli.query(data, "get_delivery_stats", {})
        check(cli_ok and stats == want, "after a late ingest, MCP stats equal the CLI's")


async def check_concurrent_ingest(cli: Mailshot, binary: str, scratch: Path) -> None:
    """Queries during an ingest see committed, consistent, growing stats. The generated file
    grows until the ingest lasts long enough for at least two answers while it runs."""
    for inputs in (100_000, 400_000, 1_600_000):
        if await concurrent_ingest(cli, binary, scratch, inputs, last=inputs == 1_600_000):
            return


async def concurrent_ingest(cli: Mailshot, binary: str, scratch: Path, inputs: int, last: bool) -> bool:
    big = scratch / f"big-{inputs}.ndjson"
    if not big.exists():
        cli.gen(big, inputs, 11)
    data = scratch / "concurrent"
    subprocess.run(["rm", "-rf", str(data)], check=True)
    async with Server(binary, data, scratch / "mcp-concurrent.stderr") as server:
        stderr = (scratch / "ingest-concurrent.stderr").open("w")
        ingest = subprocess.Popen([binary, "--data", str(data), "ingest", str(big)],
                                  stdout=subprocess.PIPE, stderr=stderr, text=True)
        seen, during = [], 0
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                running = ingest.poll() is None
                ok, stats = await server.answer("get_delivery_stats", {})
                if ok:
                    check(stats["total"] == sum(stats["counts"].values()),
                          f"mid-ingest stats are a committed state (total = sum of counts): {stats}")
                    if seen:
                        prev = seen[-1]
                        check(stats["total"] >= prev["total"], f"total does not decrease: {prev['total']} -> {stats['total']}")
                        for k, v in prev["counts"].items():
                            check(stats["counts"].get(k, 0) >= v, f"count {k} does not decrease")
                    seen.append(stats)
                    if running and ingest.poll() is None:
                        during += 1
                else:
                    check("no data" in stats or "data dir" in stats, f"before the first commit: {stats!r}")
                if not running:
                    break
                await asyncio.sleep(0.05)
        finally:
            if ingest.poll() is None and time.monotonic() > deadline:
                ingest.kill()
            out, _ = ingest.communicate(timeout=600)
            stderr.close()
        check(ingest.returncode == 0, f"background ingest succeeded (exit {ingest.returncode})")
        distinct = len({s["total"] for s in seen})
        print(f"concurrent ({inputs} inputs): {len(seen)} answers ({during} during the ingest, "
              f"{distinct} distinct totals)", flush=True)
        ok, final = await server.answer("get_delivery_stats", {})
        cli_ok, want = cli.query(data, "get_delivery_stats", {})
        check(ok and cli_ok and final == want, "after the ingest, MCP stats equal the CLI's")
        if during < 2 and not last:
            return False
        check(during >= 2, f"at least two answered calls while the ingest ran, got {during}")
        check(distinct >= 2 or during < 2, "the answers during the ingest saw it progress")
        return True


async def main(binary: str, scratch: Path) -> None:
    cli = Mailshot(binary)
    scratch.mkdir(parents=True, exist_ok=True)
    corpus = scratch / "corpus.ndjson"
    if not corpus.exists():
        cli.gen(corpus, 3000, 5)
    data = scratch / "data"
    if not (data / "store").is_dir():
        cli.ingest(data, corpus)
    recent_corpus = scratch / "recent.ndjson"
    recent = scratch / "recent"
    if not (recent / "store").is_dir():
        shift_corpus(corpus, recent_corpus)
        cli.ingest(recent, recent_corpus)

    for d in (data, recent):
        async with Server(binary, d, scratch / f"mcp-{d.name}.stderr") as server:
            if d == data:
                await check_listing(server)
            sample = await check_queries(server, cli, d)
            await check_bad_arguments(server, sample)
            if d == recent:
                ok, events = await server.answer("get_template_events", {"templateKey": sample["template"]})
                check(ok and len(events.get("items", [])) > 0, "the recent corpus has event rows to compare")
    await check_no_data(cli, binary, scratch, corpus)
    await check_concurrent_ingest(cli, binary, scratch)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} MAILSHOT_BINARY SCRATCH_DIR")
    binary = os.path.abspath(sys.argv[1])
    if not os.access(binary, os.X_OK):
        sys.exit(f"not an executable: {binary}")
    started = time.monotonic()
    asyncio.run(main(binary, Path(sys.argv[2]).resolve()))
    took = time.monotonic() - started
    if FAILURES:
        print(f"\n{len(FAILURES)} of {CHECKS} checks FAILED in {took:.1f}s", flush=True)
        sys.exit(1)
    print(f"all {CHECKS} checks passed in {took:.1f}s", flush=True)
