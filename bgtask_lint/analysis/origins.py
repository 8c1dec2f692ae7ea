"""What a value can be, as far as background tasks care: the kinds of
origin (what FastAPI injects, what a dependency gives, what a middleware
keeps on `request.state`, an object of a known type), the constructors and
factories that make the types we know, and Origin itself. Plain data, no
libcst: facts about origins travel between processes and into the cache
(facts.py). How an expression is traced to its origins is provenance.py's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# Kinds of origin.
INJECTED = "injected"  # FastAPI fills the parameter by its type (`type`)
DEPENDENCY = "dependency"  # a dependency's value (`name`: the dependency)
STATE = "state"  # `request.state.<name>` (`parts`: what the project stores there)
INSTANCE = "instance"  # an object of a known type (`type`), from a call or an annotation
BOUND = "partial"  # `functools.partial(f, ...)` (`parts`: what it binds)
CLOSED = "closed"  # stored on `request.state.<name>` by code that closes it later
LOADED = "loaded"  # an ORM object loaded or committed through a session (`parts`: the session)
# An element of a tuple or list at `name` ("0", "1"...; "" after a starred
# element), holding that element's origins in `parts`: unpacking picks it.
ITEM = "item"

WEBSOCKET_CLASSES = frozenset(
    {"fastapi.WebSocket", "fastapi.websockets.WebSocket", "starlette.websockets.WebSocket"}
)
# Constructors and factories whose result has a known type, by qualified name.
FACTORIES = {
    "requests.Session": "requests.Session",
    "requests.session": "requests.Session",
    "httpx.Client": "httpx.Client",
    "httpx.AsyncClient": "httpx.AsyncClient",
    "urllib3.PoolManager": "urllib3.PoolManager",
    "boto3.client": "boto3.client",
    "boto3.resource": "boto3.resource",
    "redis.Redis": "redis.Redis",
    "redis.StrictRedis": "redis.Redis",
    "redis.from_url": "redis.Redis",
    "redis.Redis.from_url": "redis.Redis",
    "pymongo.MongoClient": "pymongo.MongoClient",
    "smtplib.SMTP": "smtplib.SMTP",
    "smtplib.SMTP_SSL": "smtplib.SMTP",
    "builtins.open": "builtins.open",
    "io.open": "builtins.open",
    "sqlite3.connect": "sqlite3.Connection",
    "psycopg2.connect": "psycopg2.connection",
    "psycopg.connect": "psycopg.Connection",
    "pymysql.connect": "pymysql.Connection",
    "openai.OpenAI": "openai.OpenAI",
    "openai.AsyncOpenAI": "openai.AsyncOpenAI",
    "anthropic.Anthropic": "anthropic.Anthropic",
    "anthropic.AsyncAnthropic": "anthropic.AsyncAnthropic",
    "sqlalchemy.create_engine": "sqlalchemy.engine.Engine",
    "sqlalchemy.orm.Session": "sqlalchemy.orm.Session",
    "sqlalchemy.orm.sessionmaker": "sqlalchemy.orm.sessionmaker",
    "sqlalchemy.orm.scoped_session": "sqlalchemy.orm.sessionmaker",
    "sqlalchemy.ext.asyncio.AsyncSession": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.async_sessionmaker": "sqlalchemy.ext.asyncio.async_sessionmaker",
    "sqlalchemy.ext.asyncio.create_async_engine": "sqlalchemy.ext.asyncio.AsyncEngine",
    "sqlmodel.Session": "sqlalchemy.orm.Session",
    "databases.Database": "databases.Database",
    "pathlib.Path": "pathlib.Path",
    "socket.socket": "socket.socket",
}
# What calling an object of these types makes (`SessionLocal()`).
PRODUCTS = {
    "sqlalchemy.orm.sessionmaker": "sqlalchemy.orm.Session",
    "sqlalchemy.ext.asyncio.async_sessionmaker": "sqlalchemy.ext.asyncio.AsyncSession",
}
# What methods of these types return (`engine.connect()`).
METHOD_PRODUCTS = {
    ("sqlalchemy.engine.Engine", "connect"): "sqlalchemy.engine.Connection",
    ("sqlalchemy.engine.Engine", "begin"): "sqlalchemy.engine.Connection",
    ("psycopg2.connection", "cursor"): "psycopg2.cursor",
    ("sqlite3.Connection", "cursor"): "sqlite3.Cursor",
    ("pymysql.Connection", "cursor"): "pymysql.Cursor",
}
# ORM sessions: what they load is bound to them (lazy attributes, expiry on commit).
SESSION_TYPES = frozenset({"sqlalchemy.orm.Session", "sqlalchemy.ext.asyncio.AsyncSession"})
# Session methods that return ORM objects (`db.get(User, 1)`), and those that
# start a query whose last call returns them (`db.query(User).filter(...).first()`,
# `(await db.execute(stmt)).scalar_one()`).
SESSION_LOADS = frozenset({"get", "get_one", "scalar", "merge"})
SESSION_QUERIES = frozenset({"query", "execute", "scalars"})
QUERY_STEPS = frozenset(
    {
        "filter",
        "filter_by",
        "where",
        "order_by",
        "limit",
        "offset",
        "join",
        "outerjoin",
        "options",
        "distinct",
        "group_by",
        "having",
        "unique",
        "scalars",
        "with_for_update",
        "populate_existing",
        "execution_options",
    }
)
QUERY_RESULTS = frozenset(
    {"first", "one", "one_or_none", "all", "scalar", "scalar_one", "scalar_one_or_none", "get"}
)
# The last names of FACTORIES (`boto3.client` -> `client`), for text screens.
FACTORY_NAMES = frozenset(name.rpartition(".")[2] for name in FACTORIES)
MADE_BY_METHODS = frozenset(method for _, method in METHOD_PRODUCTS)
# Annotations naming a known type, by qualified name (`db: Session`).
ANNOTATED_TYPES = {
    **{name: kind for name, kind in FACTORIES.items() if name[0].isupper() or "." in name},
    "sqlalchemy.orm.Session": "sqlalchemy.orm.Session",
    "sqlalchemy.orm.session.Session": "sqlalchemy.orm.Session",
    "sqlalchemy.engine.Engine": "sqlalchemy.engine.Engine",
    "sqlalchemy.engine.Connection": "sqlalchemy.engine.Connection",
    "sqlalchemy.ext.asyncio.AsyncSession": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlmodel.Session": "sqlalchemy.orm.Session",
    "redis.Redis": "redis.Redis",
    "redis.client.Redis": "redis.Redis",
    "pymongo.MongoClient": "pymongo.MongoClient",
    "sqlite3.Connection": "sqlite3.Connection",
}
# Objects that hold a connection the request's teardown closes: handed to a
# task, they are used after they are closed.
CLOSABLE_TYPES = frozenset(
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.engine.Connection",
        "sqlite3.Connection",
        "sqlite3.Cursor",
        "psycopg2.connection",
        "psycopg2.cursor",
        "psycopg.Connection",
        "pymysql.Connection",
        "pymysql.Cursor",
        "builtins.open",
        "databases.Database",
    }
)
# Calls that run their first argument with the others: `run_in_threadpool(f, x)`.
OFFLOADS = frozenset(
    {
        "fastapi.concurrency.run_in_threadpool",
        "starlette.concurrency.run_in_threadpool",
        "asyncio.to_thread",
        "anyio.to_thread.run_sync",
    }
)
# A module the routes' values are followed into must mention one of these:
# only there can a value reach a task.
HANDS_TO_TASKS = ("add_task", "BackgroundTask")
# The type of a dependency not resolved yet, before its qualified name.
LAZY = "lazy:"
# How many origins one expression keeps (a value merged from many paths).
MAX_ORIGINS = 16


@dataclass(frozen=True)
class Origin:
    kind: str
    type: str = ""  # INJECTED: "BackgroundTasks", "Request"...; INSTANCE: the type
    name: str = ""  # the parameter, dependency or state attribute it is known by
    route: str = ""  # where FastAPI made it: "`create` (shop/api/routes.py)"
    # DEPENDENCY: a yield dependency whose teardown can close what it gave
    # (analysis/teardown.py): FastAPI runs that code when the request ends.
    tears_down: bool = False
    function_scope: bool = False  # DEPENDENCY: `Depends(..., scope="function")`
    # BOUND: the arguments it binds (a closure: what it reads from the
    # enclosing function); ITEM: the element; STATE: what is stored there; DEPENDENCY:
    # what it returns or yields; INSTANCE of a project class: its arguments.
    parts: tuple[Origin, ...] = field(default=())
    # The file of the route or dependency FastAPI made it for.
    source: str = ""

    def flattened(self) -> Iterator[Origin]:
        """This origin and every origin inside it."""
        yield self
        for part in self.parts:
            yield from part.flattened()

    def to_json(self) -> list:
        return [
            self.kind,
            self.type,
            self.name,
            self.route,
            self.tears_down,
            self.function_scope,
            [p.to_json() for p in self.parts],
            self.source,
        ]

    @classmethod
    def from_json(cls, raw: list) -> Origin:
        kind, type_, name, route, tears_down, function_scope, parts, source = raw
        return cls(
            str(kind),
            str(type_),
            str(name),
            str(route),
            bool(tears_down),
            bool(function_scope),
            tuple(cls.from_json(p) for p in parts),
            str(source),
        )


Origins = tuple[Origin, ...]
# What the parameters of the function being followed into were given.
Env = dict[str, Origins]


def is_closable(origin: Origin) -> bool:
    """An object the request's teardown closes (a session, a connection, a file)."""
    return origin.kind == CLOSED or (origin.kind == INSTANCE and origin.type in CLOSABLE_TYPES)


def held_types(origins: Iterable[Origin]) -> Iterator[str]:
    """The types of the objects `origins` stand for: instances, and what a
    dependency gives or `request.state` keeps."""
    for origin in origins:
        if origin.kind == INSTANCE:
            yield origin.type
        elif origin.kind in (DEPENDENCY, STATE):
            yield from held_types(origin.parts)
