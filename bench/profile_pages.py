"""Where a page's time goes, and whether a change made it faster, at 100 rows.

The organizations list, the keys list, the audit log and the overview, and whoami with an API key.

One scratch database (PostgreSQL ``--db-name``, default fa_e; ``--sqlite`` for a file) holds one organization
seeded by ``bench/scale_pages.py``'s ``seed`` (``manage.py seed_scale``'s bulk path): ``--machines`` machines
(40 per location), as many API keys, 2,000 audit events, and 96 small organizations so the owner's switcher
has more organizations than it shows. The list pages' page size is set to ``--rows`` (default 100) in the
process that renders them, so "100 rows" means 100 rendered rows whatever the code's page size.

``--profile`` prints a cProfile of each page (``--repeat`` requests, Django's test client, ``DEBUG=0``): the
functions with the most own time and cumulative time, and the time by area (templates, URL reversing,
database, ...).

``--compare REV`` times the code at REV ("before", exported with ``git archive`` into a temporary folder)
against this worktree ("after") in one run: each tree renders in its own worker process against the same
database, and the parent asks them in turn, page by page and round by round (A B A B ...), so the machine's
other load falls on both alike. Each figure is the median in ms, its ratio to ``/healthz`` measured by the
same worker in the same rounds, and the load average while it was measured.

    .venv/bin/python bench/profile_pages.py --profile --keep
    .venv/bin/python bench/profile_pages.py --compare HEAD --keep
    .venv/bin/python bench/profile_pages.py --keep                  # this tree only, interleaved rounds
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DB = "fa_e"


MEASURED = (
    "org list",
    "keys list (owner)",
    "keys list (operator)",
    "audit log (owner)",
    "overview (owner)",
    "whoami (API key)",
)


def page_plan(base: str) -> list[tuple[str, str, str]]:
    """(label, who, path): scale_pages's pages that this helper measures, after /healthz (every ratio's floor)."""
    import scale_pages

    pages = {label: (who, path) for label, who, path in scale_pages._pages(base)}
    return [("healthz", "anonymous", "/healthz"), *((label, *pages[label]) for label in MEASURED)]


def load_average() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


# ---- the worker: one code tree, Django in process ---------------------------------------------------


class Worker:
    """Renders the pages of one organization with Django's test client, in the process that imported it."""

    def __init__(self, org_name: str, rows: int):
        import scale_pages
        from django.db import connection

        from fleetadmin.audit import selectors as audit_selectors
        from fleetadmin.fleet.models import Organization
        from fleetadmin.keys import selectors as key_selectors

        key_selectors.PAGE_SIZE = rows
        audit_selectors.PAGE_SIZE = rows
        org = Organization.objects.get(name=org_name)
        self.who = scale_pages.clients(org)
        self.plan = {label: (actor, path) for label, actor, path in page_plan(f"/orgs/{org.pk}")}
        self.connection = connection
        for label in self.plan:
            for _ in range(3):  # sessions, last-login bookkeeping, template and URL caches
                self.get(label)

    def get(self, label: str):
        actor, path = self.plan[label]
        response = self.who[actor].get(path)
        assert response.status_code == 200, (label, response.status_code)
        return response

    def describe(self, label: str) -> dict:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(self.connection) as queries:
            response = self.get(label)
        html = response.content.decode()
        return {
            "queries": len(queries),
            "kb": len(html) / 1024,
            "rows": html.count("<tr>") + html.count("<tr ") - html.count("<thead>"),
        }

    def time(self, label: str, repeat: int) -> tuple[list[float], list[float]]:
        """Wall and CPU (this process only: steadier on a busy machine) milliseconds of each request."""
        wall, cpu = [], []
        for _ in range(repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            self.get(label)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        return wall, cpu

    def profile(self, label: str, repeat: int, lines: int, dump: str = "") -> str:
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(repeat):
            self.get(label)
        profiler.disable()
        elapsed = (time.perf_counter() - started) * 1000 / repeat
        if dump:
            profiler.dump_stats(dump)
        out = io.StringIO()
        out.write(f"\n### {label}: {elapsed:.1f} ms per request under cProfile (load {load_average()})\n\n")
        stats = pstats.Stats(profiler, stream=out)
        out.write(by_area(stats, repeat) + "\n")
        for sort in ("tottime", "cumulative"):
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(sort).print_stats(lines)
            out.write(f"by {sort}:\n")
            out.write("\n".join(line for line in text.getvalue().splitlines()[6:] if line.strip()) + "\n")
        return out.getvalue()


AREAS = [  # (area, substring of a function's file): the first that matches claims the function's own time
    ("database driver", "/psycopg/"),
    ("database driver", "sqlite3"),
    ("ORM", "/django/db/"),
    ("URL reversing", "/django/urls/"),
    ("templates", "/django/template/"),
    ("templates", "/template_partials/"),
    ("template tags", "/templatetags/"),
    ("HTML escaping", "/django/utils/html.py"),
    ("HTML escaping", "/django/utils/safestring.py"),
    ("time formatting", "/django/utils/dateformat.py"),
    ("time formatting", "/django/utils/timezone.py"),
    ("lazy objects", "/django/utils/functional.py"),
    ("test client", "/django/test/"),
    ("middleware, sessions, auth", "/django/contrib/"),
    ("middleware, sessions, auth", "/django/middleware/"),
    ("middleware, sessions, auth", "/axes/"),
    ("middleware, sessions, auth", "/django_otp/"),
    ("fleetadmin", "/fleetadmin/"),
    ("portal", "/portal/"),
    ("other Django", "/django/"),
]


def by_area(stats: pstats.Stats, repeat: int) -> str:
    """Own time per area, in ms per request: which part of the stack the time is spent in."""
    totals: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        area = next((area for area, part in AREAS if part in filename), "Python and the rest")
        totals[area] = totals.get(area, 0.0) + tottime
    whole = sum(totals.values()) or 1.0
    lines = ["| area (own time) | ms per request | share |", "| --- | ---: | ---: |"]
    for area, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        lines.append(f"| {area} | {seconds * 1000 / repeat:.2f} | {seconds / whole:.0%} |")
    return "\n".join(lines)


def serve(tree: Path, org_name: str, rows: int) -> None:
    """Worker mode: answer one JSON command per line on stdin with one JSON line on stdout."""
    sys.path.insert(0, str(tree / "bench"))
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    import _django

    assert Path(_django.__file__).resolve().parent == tree / "bench", _django.__file__
    out = sys.stdout
    sys.stdout = sys.stderr  # only answers go to the parent's pipe
    static = tempfile.TemporaryDirectory(prefix="fa-profile-static-")  # this tree's collected files, removed at exit
    os.environ["STATIC_ROOT"] = static.name
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from django.core.management import call_command

    call_command("collectstatic", verbosity=0, interactive=False)  # this tree's manifest, in its own folder
    worker = Worker(org_name, rows)
    out.write(json.dumps({"ready": True, "labels": list(worker.plan)}) + "\n")
    out.flush()
    for line in sys.stdin:
        command = json.loads(line)
        if command["do"] == "describe":
            answer = {label: worker.describe(label) for label in worker.plan}
        elif command["do"] == "time":
            wall, cpu = worker.time(command["label"], command["repeat"])
            answer = {"wall": wall, "cpu": cpu}
        elif command["do"] == "profile":
            answer = {
                "text": worker.profile(command["label"], command["repeat"], command["lines"], command.get("dump", ""))
            }
        else:
            answer = {"error": f"unknown command {command['do']!r}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


class Child:
    def __init__(self, name: str, tree: Path, org_name: str, rows: int):
        self.name = name
        env = {**os.environ, "PYTHONPATH": str(tree)}
        command = [sys.executable, str(HERE / "profile_pages.py"), "--serve", str(tree), org_name, str(rows)]
        self.process = subprocess.Popen(command, cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)  # fmt: skip
        ready = self.read()
        self.labels = ready["labels"]

    def ask(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self.read()

    def read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the {self.name} worker exited with {self.process.wait()}")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def export_tree(rev: str) -> Path:
    """The code at ``rev``, as files in a temporary folder (nothing in the repository changes)."""
    folder = Path(tempfile.mkdtemp(prefix="fa-profile-before-"))
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def compare(children: list[Child], rounds: int, repeat: int) -> None:
    labels = children[0].labels
    for child in children:
        description = child.ask(do="describe")
        for label in labels:
            d = description[label]
            print(f"{child.name:>6} {label}: {d['queries']} queries, {d['kb']:.1f} KB, {d['rows']} table rows")
    samples = {(child.name, label): [] for child in children for label in labels}
    cpu = {(child.name, label): [] for child in children for label in labels}
    loads: dict[str, list[float]] = {label: [] for label in labels}
    for _ in range(rounds):
        for label in labels:  # A B A B: each page's figures for both trees come from the same minutes
            for child in children:
                loads[label].append(os.getloadavg()[0])
                answer = child.ask(do="time", label=label, repeat=repeat)
                samples[(child.name, label)].extend(answer["wall"])
                cpu[(child.name, label)].extend(answer["cpu"])
    names = [child.name for child in children]
    header = " | ".join(f"{name} ms | {name} × healthz | {name} CPU ms" for name in names)
    print(f"\n## Median of {rounds} interleaved rounds × {repeat} requests (test client, DEBUG=0)\n")
    print(f"| page | {header} | load avg (1 min, min–max) |")
    print("| --- | " + " | ".join("---: | ---: | ---:" for _ in names) + " | --- |")
    for label in labels:
        cells = []
        for name in names:
            ms = statistics.median(samples[(name, label)])
            floor = statistics.median(samples[(name, "healthz")])
            cells.append(f"{ms:.2f} | {ms / floor:.1f} | {statistics.median(cpu[(name, label)]):.2f}")
        print(f"| {label} | {' | '.join(cells)} | {min(loads[label]):.2f}–{max(loads[label]):.2f} |")
    print(f"\nload average at the end: {load_average()}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
        return
    sys.path.insert(0, str(HERE))
    import scale_pages
    from _django import parser, setup, teardown

    p = parser(__doc__)
    p.add_argument("--machines", type=int, default=200, help="machines (and keys) in the measured organization")
    p.add_argument("--rows", type=int, default=100, help="rows per list page")
    p.add_argument("--profile", action="store_true", help="print a cProfile of each page of this tree")
    p.add_argument("--compare", metavar="REV", help="time the code at REV against this tree, interleaved")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--repeat", type=int, default=10, help="requests per page per round (or profiled)")
    p.add_argument("--lines", type=int, default=25, help="functions listed per profile ordering")
    p.add_argument("--dump", metavar="DIR", help="with --profile: also write each page's pstats file there")
    args = p.parse_args()
    args.db_name = args.db_name or DB
    setup(args, args.db_name)
    print(f"load average at the start: {load_average()}", flush=True)
    try:
        org = scale_pages.seed([args.machines])[args.machines]
        from django.db import connections

        connections.close_all()  # the workers open their own
        trees = [("after", HERE.parent)]
        if args.compare:
            trees.insert(0, ("before", export_tree(args.compare)))
        children = []
        try:
            children.extend(Child(name, tree, org.name, args.rows) for name, tree in trees)
            if args.profile:
                for child in children:
                    for label in child.labels:
                        dump = ""
                        if args.dump:
                            slug = re.sub(r"[^a-z]+", "-", label).strip("-")
                            dump = str(Path(args.dump).resolve() / f"{child.name}-{slug}.prof")
                        answer = child.ask(
                            do="profile", label=label, repeat=args.repeat * 3, lines=args.lines, dump=dump
                        )
                        print(answer["text"], flush=True)
            else:
                compare(children, args.rounds, args.repeat)
        finally:
            for child in children:
                child.close()
            for name, tree in trees:
                if name == "before":
                    shutil.rmtree(tree, ignore_errors=True)
    finally:
        teardown(args, args.db_name)


if __name__ == "__main__":
    main()
