"""A small shop API with planted background-task bugs.

`bgtask-lint check docs/examples` reports each line marked `# expect:`; the
other routes show the correct spellings and are not reported.
"""

from __future__ import annotations

import smtplib
import time
from typing import Optional

import requests
from fastapi import BackgroundTasks, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

app = FastAPI()


class Order(BaseModel):
    id: int
    email: str


def send_receipt(email: str, order_id: int) -> None:
    with smtplib.SMTP("localhost") as smtp:  # fine: a `def` task runs in the thread pool
        smtp.sendmail("shop@example.com", email, f"Order {order_id}")


def _push(channel: str, text: str) -> None:
    requests.post(f"https://chat.example.com/{channel}", json={"text": text})


async def notify_team(text: str) -> None:
    time.sleep(1)  # expect: BGT003:5
    _push("orders", text)  # expect: BGT003:5


# Planted bug 1: the tasks object is built by hand and never attached.
@app.post("/orders")
async def create_order(order: Order):
    tasks = BackgroundTasks()  # expect: BGT001:13
    tasks.add_task(send_receipt, order.email, order.id)
    return {"id": order.id}


# Planted bug 2: add_task returns None, so background=None.
@app.post("/orders/{order_id}/cancel")
async def cancel_order(order_id: int):
    return JSONResponse(
        {"cancelled": order_id},
        background=BackgroundTasks().add_task(notify_team, f"cancelled {order_id}"),  # expect: BGT001:20
    )


# Planted bug 3: the singular BackgroundTask is not injected (FastAPIError at import).
@app.post("/orders/{order_id}/refund")
async def refund_order(order_id: int, tasks: BackgroundTask):  # expect: BGT002:46
    return {"refunded": order_id}


# Planted bug 4: Optional[...] is rejected at import time too.
@app.post("/orders/{order_id}/ship")
async def ship_order(order_id: int, tasks: Optional[BackgroundTasks] = None):  # expect: BGT002:44
    return {"shipped": order_id}


# Correct: injected, and the async task above is flagged for blocking the loop.
@app.post("/orders/{order_id}/notify")
async def notify(order_id: int, background_tasks: BackgroundTasks):
    background_tasks.add_task(notify_team, f"order {order_id}")
    background_tasks.add_task(send_receipt, "ops@example.com", order_id)
    return {"queued": True}


# Correct: a task attached to the response it returns.
@app.get("/orders/{order_id}/export")
async def export_order(order_id: int):
    return JSONResponse({"id": order_id}, background=BackgroundTask(send_receipt, "a@b.c", order_id))


# Planted bug 5: the task is called right away instead of being passed.
@app.post("/orders/{order_id}/remind")
async def remind(order_id: int, background_tasks: BackgroundTasks):
    background_tasks.add_task(send_receipt("ops@example.com", order_id))  # expect: BGT004:31
    return {"reminded": order_id}


# Planted bug 6: the response's own background drops the injected task.
@app.post("/orders/{order_id}/archive")
async def archive(order_id: int, background_tasks: BackgroundTasks):
    background_tasks.add_task(send_receipt, "ops@example.com", order_id)
    return JSONResponse(
        {"archived": order_id},
        background=BackgroundTask(notify_team, f"archived {order_id}"),  # expect: BGT005:9
    )
