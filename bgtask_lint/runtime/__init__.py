"""The run-time companion of the static rules: a pytest plugin that fails a
test when its background work is lost, dropped or blocks the event loop.

Inactive unless enabled (`--bgtask-lint`, `-p bgtask_lint.pytest_plugin`, or
`bgtask_lint = true` in the ini options); inactive, it adds its options and
nothing else (plugin.py imports neither FastAPI, Starlette nor the rest of
this package). Active, the watcher (watcher.py) wraps Starlette's
`BackgroundTask` / `BackgroundTasks` and FastAPI's endpoint calls for the
duration of each test, and reports at the `BackgroundTasks()` or `add_task`
line in the project's code, with the code of the static rule of the same
name (codes.py reads them from the rule registry):

- unattached-background-tasks: tasks queued on an object that never ran;
- task-called-not-passed: a queued object that is not callable, or a
  callable that returns a coroutine nobody awaits;
- injected-tasks-dropped: the response had its own background;
- background-overwritten: a background replaced before it ran, or one set on
  the injected `Response` parameter, which is not the response sent;
- background-tasks-in-websocket: tasks added in a websocket route;
- add-task-after-yield: `add_task` after the tasks were handed over;
- shared-response-instance: one task object run for more than one request,
  or one task list that more than one request adds to;
- event-loop-call-in-task: a task that needs a running event loop it does
  not have (`asyncio.create_task`, `asyncio.run` on the loop...);
- tasks-dropped-by-raise: the endpoint raised, so the injected tasks never ran;
- task-failure-skips-later-tasks: a task raised, and the tasks queued after
  it were never started, each named;
- blocking-call-in-async-task: an `async def` task held the event loop longer
  than the threshold between two awaits (clock.py; 50 ms by default).

A `# noqa: <code>` (or a bare `# noqa`) on the reported line silences it.
"""
