"""Calls that block the thread they run on, by qualified name.

In an `async def` background task they block the event loop, and with it every
other request the process is serving (DESIGN §1, g1). The list follows ruff's
ASYNC2xx rules plus the sync database drivers, mail clients and PDF renderers
seen in real FastAPI bugs; projects add their own with `extra-blocking-calls`.
"""

from __future__ import annotations

HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")

BLOCKING_CALLS = frozenset(
    {
        "time.sleep",
        "builtins.open",
        "builtins.input",
        "io.open",
        *(f"requests.{verb}" for verb in HTTP_VERBS),
        *(f"requests.api.{verb}" for verb in HTTP_VERBS),
        *(f"httpx.{verb}" for verb in (*HTTP_VERBS, "stream")),
        "urllib.request.urlopen",
        "urllib.request.urlretrieve",
        "urllib3.request",
        "smtplib.SMTP",
        "smtplib.SMTP_SSL",
        "smtplib.LMTP",
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.system",
        "os.popen",
        "os.wait",
        "os.waitpid",
        "socket.create_connection",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "sqlite3.connect",
        "psycopg2.connect",
        "psycopg.connect",
        "pymysql.connect",
        "MySQLdb.connect",
        "mysql.connector.connect",
        "cx_Oracle.connect",
        "oracledb.connect",
        "pyodbc.connect",
        "shutil.copyfile",
        "shutil.copy",
        "shutil.copy2",
        "shutil.copytree",
        "shutil.rmtree",
        "shutil.move",
        # PDF renderers, seconds of work each (gpt-researcher's report task).
        "md2pdf.core.md2pdf",
        "pdfkit.from_url",
        "pdfkit.from_file",
        "pdfkit.from_string",
    }
)

# Methods that block, by the type of the object they are called on (see
# analysis/provenance.py for how a type is known: constructor, factory,
# annotation, module global, `self` attribute, dependency). "*": every method,
# and every method of its attributes (`client.chat.completions.create`).
# Async clients (httpx.AsyncClient, AsyncSession, AsyncOpenAI) are not here:
# their methods are awaited. Nor are files from `open()`: the `open` call is
# reported already.
_SQL = ("execute", "executemany", "fetchone", "fetchall", "fetchmany", "commit", "rollback")
BLOCKING_METHODS: dict[str, tuple[str, ...]] = {
    "requests.Session": (*HTTP_VERBS, "send"),
    "httpx.Client": (*HTTP_VERBS, "stream", "send"),
    "urllib3.PoolManager": ("request", "urlopen"),
    "boto3.client": ("*",),
    "boto3.resource": ("*",),
    "redis.Redis": ("*",),
    "pymongo.MongoClient": ("*",),
    "smtplib.SMTP": ("*",),
    "openai.OpenAI": ("*",),
    "anthropic.Anthropic": ("*",),
    "pathlib.Path": ("read_text", "read_bytes", "write_text", "write_bytes", "open"),
    "socket.socket": ("connect", "accept", "recv", "recvfrom", "send", "sendall"),
    "sqlite3.Connection": (*_SQL, "executescript"),
    "sqlite3.Cursor": _SQL,
    "psycopg2.connection": ("commit", "rollback"),
    "psycopg2.cursor": (*_SQL, "callproc"),
    "psycopg.Connection": _SQL,
    "pymysql.Connection": ("commit", "rollback", "query", "ping"),
    "pymysql.Cursor": _SQL,
    "sqlalchemy.orm.Session": (
        "execute",
        "scalar",
        "scalars",
        "get",
        "get_one",
        "query",
        "commit",
        "flush",
        "refresh",
        "merge",
        "rollback",
        "connection",
    ),
    "sqlalchemy.engine.Engine": ("connect", "begin", "dispose"),
    "sqlalchemy.engine.Connection": ("execute", "scalar", "scalars", "commit", "exec_driver_sql"),
}


def blocks(type_name: str, method: str, extra: frozenset[str] = frozenset()) -> bool:
    """Whether `method` of an object of type `type_name` blocks: built in, or
    configured as `"pkg.Type.method"` / `"pkg.Type.*"` in extra-blocking-calls."""
    methods = BLOCKING_METHODS.get(type_name, ())
    if "*" in methods or method in methods:
        return True
    return f"{type_name}.{method}" in extra or f"{type_name}.*" in extra
