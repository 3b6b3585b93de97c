"""An open-loop HTTP/1.1 load generator: requests leave on a fixed schedule, answered or not.

wrk (and wrk's "fixed rate" mode in bench_http, a per-connection delay) is closed-loop: a slow
answer delays the next request, so the server's stalls go unmeasured (coordinated omission).
Here request *i* is due at ``start + i / rate``; it goes out on the first idle keep-alive
connection (``--connections`` of them), and its latency runs from when it was *due* to when its
answer arrived, so time spent waiting for a free connection counts. Requests still unanswered
``--drain`` seconds after the schedule ends count as lost, and the percentiles treat them as
infinitely slow. A request whose keep-alive connection the server had closed (idle too long) is
sent again on a new one, as HTTP clients do; one that fails twice counts as an error.

Run in its own process (pinned to the other core by the caller):

    python -m benchmarks._openloop SPEC.json

SPEC: ``{"host", "port", "path", "bodies": [str], "headers": {str: str}, "rate", "duration",
"connections", "drain", "delivery_prefix"}``. Prints one JSON object: offered and achieved
rates, p50/p90/p99/max latency in ms, status counts, lost requests, and this process's own CPU
use (near 100 % would mean the generator, not the server, was the limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import resource
import sys
import time
from typing import Any


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.inf
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    host, port, path = spec["host"], int(spec["port"]), spec["path"]
    rate, duration = float(spec["rate"]), float(spec["duration"])
    bodies = [b.encode() for b in spec["bodies"]]
    fixed = "".join(f"{k}: {v}\r\n" for k, v in spec.get("headers", {}).items())
    prefix = spec.get("delivery_prefix", "openloop")
    head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{fixed}"
    total = int(rate * duration)
    queue: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    last_answer = 0.0
    loop = asyncio.get_running_loop()

    async def exchange(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> bytes:
        """Send ``request``; its status line (the rest of the answer is read and dropped)."""
        writer.write(request)
        status_line = await reader.readuntil(b"\r\n")
        header_block = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in header_block.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await reader.readexactly(length)
        return status_line

    async def connection() -> None:
        nonlocal errors, last_answer
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while True:
                i, due = await queue.get()
                body = bodies[i % len(bodies)]
                request = (
                    f"{head}X-Delivery-ID: {prefix}-{i}\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body
                status_line = None
                # The server closes a keep-alive connection idle for a while (uvicorn: 5 s), as
                # at low rates over many connections; an HTTP client then sends on a new one.
                # A second attempt is safe: the X-Delivery-ID makes a repeat a duplicate.
                for _attempt in range(2):
                    if reader.at_eof():
                        writer.close()
                        reader, writer = await asyncio.open_connection(host, port)
                    try:
                        status_line = await exchange(reader, writer, request)
                        break
                    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                        writer.close()
                        reader, writer = await asyncio.open_connection(host, port)
                if status_line is None:
                    errors += 1
                    queue.task_done()
                    continue
                last_answer = loop.time()
                latencies.append(last_answer - due)
                status = int(status_line.split(b" ", 2)[1])
                statuses[status] = statuses.get(status, 0) + 1
                queue.task_done()
        finally:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(int(spec["connections"]))]
    await asyncio.sleep(0.2)  # connections open before the schedule starts
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    start = loop.time()
    sent = 0
    while sent < total:
        now = loop.time()
        due_count = min(total, int((now - start) * rate) + 1)
        while sent < due_count:
            queue.put_nowait((sent, start + sent / rate))
            sent += 1
        next_due = start + sent / rate
        await asyncio.sleep(max(0.0, next_due - loop.time()))
    schedule_end = loop.time()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(queue.join(), timeout=float(spec.get("drain", 10)))
    elapsed = max(last_answer, schedule_end) - start
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    answered = len(latencies)
    lost = total - answered
    # Unanswered requests are slower than any answered one: they sort last.
    ordered = sorted(latencies) + [math.inf] * lost

    def ms(value: float) -> float | None:
        return None if math.isinf(value) else round(value * 1000, 2)

    return {
        "offered_rps": rate,
        "requests": total,
        "answered": answered,
        "lost": lost,
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "achieved_rps": round(answered / elapsed, 1),
        "schedule_seconds": round(schedule_end - start, 2),
        "p50_ms": ms(_percentile(ordered, 0.50)),
        "p90_ms": ms(_percentile(ordered, 0.90)),
        "p99_ms": ms(_percentile(ordered, 0.99)),
        "max_ms": ms(ordered[-1]) if ordered else None,
        "generator_cpu_share": round(cpu / elapsed, 2),
    }


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    with open(args[0]) as handle:
        spec = json.load(handle)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # the server extra brings uvloop; plain asyncio is slower but correct
        runner = asyncio.run
    started = time.monotonic()
    result = runner(run(spec))
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
