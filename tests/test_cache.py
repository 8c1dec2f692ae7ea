"""The result cache reuses findings only while nothing they depend on changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from conftest import FIXTURES, run_cli

SHOP = FIXTURES / "projects" / "shop"


def findings(cwd, *args):
    result = run_cli("check", "--output-format", "json", *args, cwd=cwd, cache=True)
    assert result.returncode in (0, 1), result.stderr
    return [
        (item["filename"], item["location"]["row"], item["code"], item["message"])
        for item in json.loads(result.stdout)
    ]


def shop_copy(tmp_path):
    target = tmp_path / "shop"
    shutil.copytree(SHOP, target, ignore=shutil.ignore_patterns(".bgtask_lint_cache"))
    return target


def test_warm_run_reports_what_the_cold_run_did(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    for fixture in FIXTURES.glob("BGT*.py"):
        shutil.copy(fixture, tree / fixture.name)
    cold = findings(tree, "--no-cache", ".")
    first = findings(tree, ".")
    assert (tree / ".bgtask_lint_cache").is_dir()
    warm = findings(tree, ".")
    assert cold == first == warm
    assert len(warm) > 50


def test_full_output_from_the_cache_still_shows_the_source(tmp_path):
    shop = shop_copy(tmp_path)
    run_cli("check", ".", cwd=shop, cache=True)
    warm = run_cli("check", ".", cwd=shop, cache=True)
    assert "10 |     render_receipt(order_id)  # expect: BGT003:5" in warm.stdout


def test_an_edited_file_is_checked_again(tmp_path):
    shop = shop_copy(tmp_path)
    assert any(code == "BGT009" for _, _, code, _ in findings(shop, "."))
    routes = shop / "shop" / "api" / "routes.py"
    routes.write_text(routes.read_text().replace("add_task(save, db)", "add_task(save, None)"))
    assert not any(code == "BGT009" for _, _, code, _ in findings(shop, "."))


def test_a_changed_dependency_invalidates_the_file_that_used_it(tmp_path):
    shop = shop_copy(tmp_path)
    # The route file's chain ends where the loop blocks, in tasks.py, through
    # a helper of helpers.py.
    before = findings(shop, "shop/api/routes.py")
    assert any("_load_template → time.sleep" in message for *_, message in before)
    helpers = shop / "shop" / "helpers.py"
    helpers.write_text(helpers.read_text().replace("time.sleep(0.1)", "pass  # fast now  "))
    after = findings(shop, "shop/api/routes.py")  # routes.py itself is unchanged
    assert not any("_load_template" in message for *_, message in after)


def test_a_module_no_longer_submitted_as_task_loses_its_finding(tmp_path):
    shop = shop_copy(tmp_path)
    assert any(f.endswith("tasks.py") for f, *_ in findings(shop, "."))
    routes = shop / "shop" / "api" / "routes.py"
    text = routes.read_text()
    for line in ("reexported_send_receipt, order_id", "partial(t.send_receipt, order_id)"):
        text = text.replace(f"background_tasks.add_task({line})", "pass")
    routes.write_text(text)
    assert not any(f.endswith("tasks.py") for f, *_ in findings(shop, "."))  # tasks.py unchanged


def test_a_corrupt_cache_is_ignored(tmp_path):
    shop = shop_copy(tmp_path)
    first = findings(shop, ".")
    for cache_file in (shop / ".bgtask_lint_cache").glob("*.json"):
        cache_file.write_text("{not json")
    assert findings(shop, ".") == first


def test_an_entry_of_another_shape_is_as_good_as_missing_and_the_others_are_kept(tmp_path):
    """Entries are decoded when asked for: one that cannot be is checked
    again; those a run never asked for are written back as they were."""
    shop = shop_copy(tmp_path)
    first = findings(shop, ".")
    (cache_file,) = (shop / ".bgtask_lint_cache").glob("v*.json")
    entries = json.loads(cache_file.read_text())
    routes = str(shop / "shop" / "api" / "routes.py")
    assert routes in entries and len(entries) > 2
    entries[routes] = {"stamp": "not a stamp"}
    entries[str(tmp_path / "elsewhere.py")] = {"kept": ["as", "it", "was"]}
    cache_file.write_text(json.dumps(entries))
    routes_file = shop / "shop" / "api" / "routes.py"
    os.utime(routes_file)  # a new stamp: the file is checked again, so the cache is written
    alone = findings(shop, "shop/api/routes.py")
    assert [f for f in alone if "routes.py" in f[0]] == [f for f in first if "routes.py" in f[0]]
    again = json.loads(cache_file.read_text())
    assert again[str(tmp_path / "elsewhere.py")] == {"kept": ["as", "it", "was"]}
    assert again[routes]["stamp"] != "not a stamp"
    assert findings(shop, ".") == first


def test_no_cache_writes_nothing(tmp_path):
    shop = shop_copy(tmp_path)
    findings(shop, "--no-cache", ".")
    assert not (shop / ".bgtask_lint_cache").exists()


def test_a_warm_run_does_not_import_libcst_nor_multiprocessing(tmp_path):
    """Nothing is parsed and no worker is started: importing either was a
    good part of a warm run."""
    shop = shop_copy(tmp_path)
    findings(shop, ".")
    probe = (
        "import sys\n"
        "from bgtask_lint.cli import main\n"
        "try:\n"
        "    main(['check', '-q', '.'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('libcst imported:', 'libcst' in sys.modules, file=sys.stderr)\n"
        "print('multiprocessing imported:', 'multiprocessing' in sys.modules, file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "BGTASK_LINT_NO_CACHE"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=shop, capture_output=True, text=True, env=env
    )
    assert "libcst imported: False" in result.stderr, result.stderr
    assert "multiprocessing imported: False" in result.stderr, result.stderr


def test_a_module_that_appears_later_is_followed(tmp_path):
    """A missing module is remembered by the directory it would appear in:
    creating it there, or a package above it, makes the route's check run
    again."""
    app = tmp_path / "app"
    (app / "api").mkdir(parents=True)
    (app / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (app / "api" / "__init__.py").write_text("")
    (app / "api" / "routes.py").write_text(
        "from fastapi import BackgroundTasks, FastAPI\n"
        "from api.jobs.mail import send\n"
        "from api.report import build\n"
        "app = FastAPI()\n"
        "@app.post('/')\n"
        "async def route(tasks: BackgroundTasks):\n"
        "    tasks.add_task(send)\n"
        "    tasks.add_task(build)\n"
    )
    assert findings(app, ".") == []
    blocking = "import time\nasync def {}():\n    time.sleep(1)\n"
    (app / "api" / "report.py").write_text(blocking.format("build"))
    assert [code for _, _, code, _ in findings(app, ".")] == ["BGT003"]
    (app / "api" / "jobs").mkdir()
    (app / "api" / "jobs" / "__init__.py").write_text("")
    (app / "api" / "jobs" / "mail.py").write_text(blocking.format("send"))
    assert [code for _, _, code, _ in findings(app, ".")] == ["BGT003", "BGT003"]
    cache = json.loads(next((app / ".bgtask_lint_cache").glob("v*.json")).read_text())
    route = cache[str((app / "api" / "routes.py").resolve())]
    # Probes of paths that do not exist are kept as the directories' times.
    listed = [dep for dep in route["deps"] if dep.startswith("\0")]
    assert listed and all(os.path.exists(dep) for dep in route["deps"] if dep not in listed)


def test_a_chain_end_checked_again_does_not_keep_stale_stamps(tmp_path):
    """A chain end's entry keeps what it said about other files while what
    that was read from stands. Once a directory it was read from changed,
    the entry stored again must not carry that directory's old time: the
    entry would never be valid again, and every run would check it anew."""
    from bgtask_lint.analysis.project import Project
    from bgtask_lint.config.settings import Settings
    from bgtask_lint.run.cache import LISTING, LISTING_KEY, Cache, Entry, stamp
    from bgtask_lint.run.caching import RunCache
    from bgtask_lint.run.files import SourceFile

    end = tmp_path / "service.py"
    end.write_text("def work(db):\n    db.query()\n")
    project = Project(tmp_path, [tmp_path], 10**6)
    file = SourceFile(str(end), str(end), Settings(root=tmp_path), project, stamp=stamp(str(end)))
    cache = Cache(tmp_path / "cache")
    old_time = {LISTING_KEY + str(tmp_path): (LISTING, 1, False)}  # it has changed since
    fingerprint = RunCache(cache).fingerprint(file)
    said = [(str(tmp_path / "routes.py"), "fact")]
    cache.store(str(end), Entry(file.stamp, fingerprint, False, said, old_time, [], checked=False))
    RunCache(cache).store([], [file], [])
    again = Cache(tmp_path / "cache")
    assert again.lookup(str(end), fingerprint, project.is_checked, for_facts=True) is not None


def test_a_warm_run_on_a_few_files_reads_no_unchanged_file_for_its_imports(tmp_path, monkeypatch):
    """Which files of the project import the checked ones is kept in the
    cache by each file's stamp: pre-commit's run on the changed files does
    not read the whole project again to tell, but sees an edited import."""
    from bgtask_lint.run import context

    shop = shop_copy(tmp_path)
    first = findings(shop, "shop/api/routes.py")
    read: list[str] = []
    real = context.imported_modules

    def imported_modules(text, *module):
        read.append(text)
        return real(text, *module)

    monkeypatch.setattr(context, "imported_modules", imported_modules)
    assert findings(shop, "shop/api/routes.py") == first
    assert read == []
    helpers = shop / "shop" / "helpers.py"
    helpers.write_text(helpers.read_text() + "\nimport shop.api.routes\n")
    findings(shop, "shop/api/routes.py")
    assert len(read) == 1 and "import shop.api.routes" in read[0]


def test_a_file_that_extends_sys_path_is_remembered_as_such(tmp_path):
    """What the imports kept in the cache say of a file includes whether it
    puts directories on sys.path itself: a pre-commit run on the module it
    reaches that way, edited since, still finds the route that queues it."""
    research = tmp_path / "research"
    shutil.copytree(FIXTURES / "projects" / "research", research)
    utils = research / "backend" / "utils.py"
    cold = [(row, code) for _, row, code, _ in findings(research, "backend/utils.py")]
    utils.write_text(utils.read_text() + "# edited\n")
    assert [(r, c) for _, r, c, _ in findings(research, "backend/utils.py")] == cold
    assert len(cold) == 3


def test_a_wrapper_that_stops_keeping_the_signature_ends_the_route(tmp_path):
    """An endpoint registered through another module's functools.wraps
    wrapper is a route; once that wrapper no longer keeps the signature,
    FastAPI injects nothing into it, and the cached finding goes."""
    reports = tmp_path / "reports"
    shutil.copytree(FIXTURES / "projects" / "reports", reports)
    registered = "reports/registered.py"

    def found_there():
        return [
            code for name, _, code, _ in findings(reports, registered) if name.endswith(registered)
        ]

    assert found_there() == ["BGT009"]
    wrappers = reports / "reports" / "wrappers.py"
    text = wrappers.read_text()
    wrappers.write_text(text.replace("@functools.wraps(endpoint)", "# kept nothing"))
    assert found_there() == []
