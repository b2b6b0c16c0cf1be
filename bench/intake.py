"""Form intake benchmark: posts a second, latency, and that nothing is lost.

    .venv/bin/python bench/intake.py                  # SQLite and PostgreSQL
    .venv/bin/python bench/intake.py --quick          # fewer posts, to try it out
    .venv/bin/python bench/intake.py --store sqlite   # one store only

The intake (``journey.serve.intake``'s routes in a Starlette app) is served by uvicorn in
its own process, on a fresh project whose store is a SQLite file or a database on a
PostgreSQL server this script starts (``initdb`` + ``pg_ctl`` in a temporary folder, as the
``postgres`` user when run as root, as tests/conftest.py does) and stops. Client processes,
each with a few threads and a keep-alive connection, post Web-to-Lead forms (one in ten
repeats an email posted before, so the de-duplication is on the path); every post's
latency is its request's round trip. The server's CPU time per post (user + system, all its
threads; then split: the event loop's HTTP side and the writer thread), and PostgreSQL's
(all its processes), are figures the machine's other load barely changes: on 2 cores the
clients, the server and the database share the CPU, so their sum decides the rate.

Figures: accepted posts/s over the wall time of the run, p50 and p99 latency, and the
check that the store holds exactly what was sent: for every email, one contact (with the
post's last name and company) and one ``form_submitted`` event per post accepted, and
nothing for an email never posted. Goal: ≥ 500 posts/s, p99 < 50 ms, nothing lost.

Then post -> first step: a real ``journey worker`` (its defaults; the recording connector,
so no org is needed) runs beside the server, and single posts, spaced apart by a random
0.3-0.8 s so they land anywhere in the worker's poll, each wait until the store shows the
journey's first step done (``add to list "Demo"``: the contact is in the list); the figure
is from just before the post is sent to the moment the bench sees the membership (looked
at every 5 ms). Goal: every one (the max) within 1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pgserver import postgres

TOML = """[fields]
"Plan Tier" = "Text"

[store]
url = "{url}"

[serve]
rate_limit_per_minute = 0

[serve.web_to_lead]
"00N5g00000ABCDe" = "Plan Tier"
"""
JOURNEY = 'journey "Demo"\n\ntrigger form submitted "Demo request"\n\nadd to list "Demo"\n'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(root: str, port: int) -> None:
    """The server process: the project's intake on uvicorn until killed."""
    import uvicorn
    from starlette.applications import Starlette

    from journey.engine.project import open_project
    from journey.serve.form_writer import FormWriter
    from journey.serve.intake import FormIntake

    writers = int(os.environ.get("BENCH_WRITERS", "0"))
    if os.environ.get("BENCH_ENGINE_PATH"):  # --engine-path: the comparison
        from journey.serve import pg_rows

        pg_rows.takes = lambda *_: False  # type: ignore[assignment]
    app: Any
    if os.environ.get("BENCH_APP") == "intake" or writers:  # --app intake: its routes alone
        project = open_project(Path(root), with_journeys=False)
        intake = FormIntake(project)
        if writers:  # --writers: another count of writer threads than the default
            intake.writer = FormWriter(project.store, intake.context, writers=writers)
        app = Starlette(routes=intake.routes())
    else:  # journey serve's application, as `journey serve` builds it on 127.0.0.1
        from journey.serve import create_app
        from journey.serve.security import security_for
        from journey.serve.state import ServeState

        state = ServeState.open(Path(root))
        app = create_app(state, security_for(state.config, "127.0.0.1"))
    profile_to = os.environ.get("BENCH_PROFILE")  # --profile: the server's cProfile
    if profile_to:
        import cProfile
        import signal

        profiler = cProfile.Profile()

        def dump(*_: object) -> None:
            # uvicorn shuts down on SIGTERM, then raises it again for the handler it found.
            profiler.disable()
            profiler.dump_stats(profile_to)
            os._exit(0)

        signal.signal(signal.SIGTERM, dump)
        profiler.enable()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


def _request(host: str, port: int, who: int) -> bytes:
    """A Web-to-Lead post for person ``who``, as the bytes a browser sends."""
    from urllib.parse import urlencode

    body = urlencode(
        {
            "oid": "00D5g000004ABCD",
            "first_name": "Bench",
            "last_name": f"Person {who}",
            "email": f"p{who}@bench.example",
            "company": "Bench Co",
            "lead_source": "Web",
            "00N5g00000ABCDe": "Team",
        }
    ).encode()
    head = (
        f"POST /forms/Demo%20request HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _client(args: tuple[str, int, int, int]) -> tuple[list[float], list[int], int, float]:
    """One client process: ``threads`` threads posting ``posts`` forms each; (latencies
    in seconds, the person number of each post accepted, posts refused, the process's CPU
    seconds). Each thread keeps one connection open and sends requests made beforehand,
    reading just the status and the body's length: on 2 cores the clients share the CPU
    with the server, so they spend as little of it as a client can."""
    import re
    from urllib.parse import urlsplit

    cpu = time.process_time()
    url, first, threads, posts = args
    where = urlsplit(url)
    host, port = where.hostname or "", int(where.port or 80)
    length_of = re.compile(rb"(?im)^content-length:[ \t]*(\d+)")
    latencies: list[float] = []
    accepted: list[int] = []
    refused = [0]
    lock = threading.Lock()

    def people(thread: int) -> list[int]:
        out = []
        for n in range(posts):
            number = first + thread * posts + n
            # One post in ten repeats an email this thread posted before.
            out.append(number - 5 if n % 10 == 9 else number)
        return out

    def post_all(thread: int) -> None:
        requests = [(who, _request(host, port, who)) for who in people(thread)]
        mine: list[float] = []
        taken: list[int] = []
        bad = 0
        with socket.create_connection((host, port), timeout=60) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            held = b""
            for who, request in requests:
                start = time.perf_counter()
                sock.sendall(request)
                while b"\r\n\r\n" not in held:
                    held += _received(sock)
                head, _, held = held.partition(b"\r\n\r\n")
                found = length_of.search(head)
                length = int(found.group(1)) if found else 0
                while len(held) < length:
                    held += _received(sock)
                held = held[length:]
                mine.append(time.perf_counter() - start)
                if head[9:12] == b"202":
                    taken.append(who)
                else:
                    bad += 1
        with lock:
            latencies.extend(mine)
            accepted.extend(taken)
            refused[0] += bad

    workers = [threading.Thread(target=post_all, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies, accepted, refused[0], time.process_time() - cpu


def _received(sock: socket.socket) -> bytes:
    data = sock.recv(65536)
    if not data:
        raise SystemExit("the intake server closed a connection")
    return data


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """User + system CPU the process has used (Linux ``/proc``): its main thread (uvicorn's
    event loop: HTTP, parsing, answers) and its other threads (the form writer)."""

    def used(stat: Path) -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    loop = others = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that just ended
            if task.name == str(pid):
                loop = used(task / "stat")
            else:
                others += used(task / "stat")
    return loop, others


def _wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the intake server stopped at start")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit("the intake server did not start")


def _misstored(root: Path, accepted: list[int]) -> int:
    """Emails the store does not hold exactly as posted: not one contact (with the post's
    last name and company), or not one ``form_submitted`` event per post accepted; emails
    never posted count too. 0 when the store holds exactly the posts sent."""
    from collections import Counter

    import sqlalchemy as sa

    from journey.engine.project import open_project
    from journey.engine.store import Contact, Event

    posted = Counter(f"p{who}@bench.example" for who in accepted)
    project = open_project(root, with_journeys=False)
    try:
        with project.store.begin() as conn:
            c, e = Contact, Event
            people: dict[str, list[tuple[str, str]]] = {}
            for key, last, company in conn.execute(
                sa.select(c.c.email_key, c.c.last_name, c.c.company)
            ):
                people.setdefault(key, []).append((last, company))
            events = Counter(
                dict(
                    conn.execute(
                        sa.select(c.c.email_key, sa.func.count())
                        .join(e, e.c.contact_id == c.c.id)
                        .where(e.c.kind == "form_submitted")
                        .group_by(c.c.email_key)
                    ).all()
                )
            )
    finally:
        project.close()
    wrong = 0
    for email in posted.keys() | people.keys() | events.keys():
        who = email.removeprefix("p").removesuffix("@bench.example")
        want = [(f"Person {who}", "Bench Co")]
        wrong += people.get(email) != want or events[email] != posted[email]
    return wrong


def _project(url: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix="journey-bench-intake-"))
    (root / "journeys").mkdir()
    (root / "journeys" / "demo.journey").write_text(JOURNEY)
    (root / "journey.toml").write_text(TOML.format(url=url))
    return root


def _start_server(root: Path, url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {**os.environ, "JOURNEY_DATABASE_URL": url}
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(root), str(port)], env=env)
    _wait_for(port, server)
    return server, port


def _database_cpu(postmaster: int | None) -> float:
    """User + system CPU of a PostgreSQL server: the postmaster and its children (the
    sessions, the WAL writer, the checkpointer), from ``/proc``; 0 for SQLite."""
    if postmaster is None:
        return 0.0
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(stat.parent.name) == postmaster or int(fields[1]) == postmaster:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run(
    store: str, url: str, processes: int, threads: int, posts: int, postmaster: int | None
) -> dict[str, float]:
    root = _project(url)
    server, port = _start_server(root, url)
    try:
        base = f"http://127.0.0.1:{port}"
        with multiprocessing.Pool(processes) as pool:
            warmed = pool.map(
                _client, [(base, 10_000_000 + p * 1000, 1, 20) for p in range(processes)]
            )
            loop0, writer0 = _cpu_seconds(server.pid)
            database0 = _database_cpu(postmaster)
            start = time.perf_counter()
            results = pool.map(
                _client,
                [(base, p * threads * posts, threads, posts) for p in range(processes)],
            )
            wall = time.perf_counter() - start
            loop1, writer1 = _cpu_seconds(server.pid)
            database1 = _database_cpu(postmaster)
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies = sorted(x for lat, _, _, _ in results for x in lat)
    accepted = sum(len(a) for _, a, _, _ in results)
    refused = sum(r for _, _, r, _ in results) + sum(r for _, _, r, _ in warmed)
    wrong = _misstored(root, [w for _, a, _, _ in [*warmed, *results] for w in a])
    sent = processes * threads * posts
    shutil.rmtree(root, ignore_errors=True)
    return {
        "store": store,  # type: ignore[dict-item]
        "posts": sent,
        "accepted": accepted,
        "refused": refused,
        "posts_per_s": accepted / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "server_cpu_ms": (loop1 - loop0 + writer1 - writer0) / sent * 1000,
        "http_cpu_ms": (loop1 - loop0) / sent * 1000,
        "writer_cpu_ms": (writer1 - writer0) / sent * 1000,
        "database_cpu_ms": (database1 - database0) / sent * 1000,
        "client_cpu_ms": sum(c for _, _, _, c in results) / sent * 1000,
        # Emails whose contact or form events are not exactly what was accepted; must be 0.
        "misstored": wrong,
    }


def _in_list(conn: object, email: str) -> bool:
    import sqlalchemy as sa

    from journey.engine.store import Contact, Membership

    c, m = Contact, Membership
    found = sa.select(m.c.contact_id).join(c, c.c.id == m.c.contact_id)
    return conn.execute(found.where(c.c.email_key == email)).first() is not None  # type: ignore[attr-defined]


def first_step(url: str, posts: int) -> dict[str, float]:
    """Post -> first step with ``journey worker`` running (module docstring); seconds."""
    import http.client
    from urllib.parse import urlencode

    from journey.engine.project import open_project

    root = _project(url)
    env = {**os.environ, "JOURNEY_DATABASE_URL": url}
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("journey")), "worker", "--json"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    server, port = _start_server(root, url)
    project = open_project(root, with_journeys=False)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    latencies: list[float] = []
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for n in range(posts + 2):  # the first two warm the worker and the server up
            time.sleep(0.3 + random.random() * 0.5)
            email = f"step{n}@bench.example"
            body = urlencode({"email": email, "last_name": f"Step {n}", "company": "Bench"})
            start = time.perf_counter()
            conn.request("POST", "/forms/Demo%20request", body=body, headers=headers)
            answer = conn.getresponse()
            answer.read()
            if answer.status != 202:
                raise SystemExit(f"a post was refused: {answer.status}")
            while True:
                with project.store.engine.connect() as db:
                    if _in_list(db, email):
                        break
                if worker.poll() is not None:
                    raise SystemExit("the worker stopped")
                if time.perf_counter() - start > 60:
                    raise SystemExit("the journey never took the contact")
                time.sleep(0.005)
            if n >= 2:
                latencies.append(time.perf_counter() - start)
        conn.close()
    finally:
        project.close()
        for process in (server, worker):
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
    return {
        "median_s": statistics.median(latencies),
        "max_s": max(latencies),
        "min_s": min(latencies),
    }


def _print_steps(store: str, figures: dict[str, float], steps: int) -> None:
    ok = figures["max_s"] < 1.0
    print(
        f"{store:>8}: post -> first step over {steps} posts: median "
        f"{figures['median_s'] * 1000:5.0f} ms  max {figures['max_s'] * 1000:5.0f} ms  min "
        f"{figures['min_s'] * 1000:5.0f} ms  {'goal met' if ok else 'GOAL MISSED'} (< 1 s)"
    )


def _print_posts(store: str, figures: dict[str, float]) -> None:
    ok = (
        figures["posts_per_s"] >= 500
        and figures["p99_ms"] < 50
        and figures["refused"] == 0
        and figures["misstored"] == 0
    )
    wrong = figures["misstored"]
    exact = "store exact" if wrong == 0 else f"STORE WRONG for {wrong:.0f} emails"
    print(
        f"{store:>8}: {figures['posts_per_s']:7.0f} posts/s  p50 {figures['p50_ms']:5.1f} ms"
        f"  p99 {figures['p99_ms']:5.1f} ms  server CPU {figures['server_cpu_ms']:.2f} ms/post"
        f" (HTTP {figures['http_cpu_ms']:.2f}, writer {figures['writer_cpu_ms']:.2f})"
        f"  database CPU {figures['database_cpu_ms']:.2f}  clients CPU"
        f" {figures['client_cpu_ms']:.2f} ms/post"
        f"  accepted {figures['accepted']}/{figures['posts']}  refused {figures['refused']}"
        f"  {exact}  {'goal met' if ok else 'GOAL MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per client process")
    parser.add_argument("--posts", type=int, default=500, help="posts per thread")
    parser.add_argument("--quick", action="store_true", help="100 posts per thread, 8 steps")
    parser.add_argument("--steps", type=int, default=20, help="posts timed to the first step")
    parser.add_argument(
        "--part", choices=["posts", "steps", "both"], default="both", help="what to measure"
    )
    parser.add_argument(
        "--app",
        choices=["serve", "intake"],
        default="serve",
        help="serve: journey serve's application (its security middleware in front); "
        "intake: the intake's routes alone",
    )
    parser.add_argument(
        "--writers",
        type=int,
        default=0,
        help="form writer threads (default: the intake's; implies --app intake)",
    )
    parser.add_argument(
        "--engine-path",
        action="store_true",
        help="write PostgreSQL batches by engine.intake.submit_forms, not serve.pg_rows",
    )
    parser.add_argument(
        "--no-fsync",
        action="store_true",
        help="PostgreSQL without fsync (not durable: shows what the commits' flushes cost)",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="write the cProfile stats of the server's event loop (the HTTP side)",
    )
    parser.add_argument("--serve", nargs=2, metavar=("ROOT", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    posts = 100 if args.quick else args.posts
    if args.writers:
        os.environ["BENCH_WRITERS"] = str(args.writers)
    os.environ["BENCH_APP"] = "intake" if args.writers else args.app
    if args.engine_path:
        os.environ["BENCH_ENGINE_PATH"] = "1"
    if args.profile:
        os.environ["BENCH_PROFILE"] = str(Path(args.profile).resolve())
    steps = 0 if args.part == "posts" else 8 if args.quick else args.steps
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    print(
        f"{args.processes} client processes x {args.threads} threads x {posts} posts "
        "(goal: >= 500 posts/s, p99 < 50 ms, nothing lost)"
    )
    for store in stores:
        server = (
            postgres(fsync=not args.no_fsync) if store == "postgres" else contextlib.nullcontext()
        )
        folder = tempfile.mkdtemp(prefix="journey-bench-db-")
        try:
            with server as pg:
                url = pg.fresh_database() if pg else f"sqlite:///{folder}/state.db"
                if args.part != "steps":
                    _print_posts(
                        store,
                        run(
                            store,
                            url,
                            args.processes,
                            args.threads,
                            posts,
                            pg.postmaster if pg else None,
                        ),
                    )
                if steps:
                    url = pg.fresh_database() if pg else f"sqlite:///{folder}/steps.db"
                    _print_steps(store, first_step(url, steps), steps)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
