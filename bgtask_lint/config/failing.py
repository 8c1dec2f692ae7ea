"""Calls that can raise because the world outside the process can fail them:
network, database, file and subprocess work, sync or async.

BGT014 asks whether a task can raise: Starlette runs a request's tasks one
after another and stops at the first exception, so every task queued after a
failing one never starts. The sync half is the blocking catalogue (each of
those calls does I/O) without the calls that only wait; the async half is the
awaited clients that blocking-call rules leave alone.
"""

from __future__ import annotations

from bgtask_lint.config.blocking import BLOCKING_CALLS, BLOCKING_METHODS, HTTP_VERBS

# Blocking, but they only wait: they do not fail.
_ONLY_WAIT = frozenset({"time.sleep", "builtins.input", "os.wait", "os.waitpid"})

_ASYNC_CALLS = frozenset(
    {
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "asyncio.open_connection",
        # Raises TimeoutError when the work takes too long.
        "asyncio.wait_for",
        "aiosmtplib.send",
        "aiofiles.open",
        "asyncpg.connect",
        "asyncpg.create_pool",
        "aiomysql.connect",
        "aiosqlite.connect",
        "aioredis.from_url",
        "redis.asyncio.from_url",
    }
)

FAILING_CALLS = (BLOCKING_CALLS - _ONLY_WAIT) | _ASYNC_CALLS

# Methods that can fail, by the type of the object (as BLOCKING_METHODS).
FAILING_METHODS: dict[str, tuple[str, ...]] = {
    **BLOCKING_METHODS,
    "httpx.AsyncClient": (*HTTP_VERBS, "stream", "send"),
    "aiohttp.ClientSession": (*HTTP_VERBS, "ws_connect"),
    "sqlalchemy.ext.asyncio.AsyncSession": BLOCKING_METHODS["sqlalchemy.orm.Session"],
    "sqlalchemy.ext.asyncio.AsyncEngine": ("connect", "begin", "dispose"),
    "redis.asyncio.Redis": ("*",),
    "aiosmtplib.SMTP": ("*",),
    "openai.AsyncOpenAI": ("*",),
    "anthropic.AsyncAnthropic": ("*",),
    "motor.motor_asyncio.AsyncIOMotorClient": ("*",),
}

# Methods that raise by design, whatever the object (`response.raise_for_status()`).
RAISING_METHODS = frozenset({"raise_for_status"})


def fails(type_name: str, method: str, extra: frozenset[str] = frozenset()) -> bool:
    """Whether `method` of an object of type `type_name` can fail: built in,
    or configured as a blocking call (`extra-blocking-calls`)."""
    methods = FAILING_METHODS.get(type_name, ())
    if "*" in methods or method in methods:
        return True
    return f"{type_name}.{method}" in extra or f"{type_name}.*" in extra
