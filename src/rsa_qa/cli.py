"""Command line: rsa-qa index | serve | mcp | query | eval.

Exit status: 0 done; 1 an error said in one sentence on stderr (RsaQaError, and input the
API would refuse with 422); 2 a command line argparse cannot read; 130 interrupted (Ctrl-C);
141 the reader of the output went away (`rsa-qa query … | head`), quietly, as a Unix tool
killed by SIGPIPE. Nothing else is caught here, so a real bug still shows its traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rsa_qa.config import Settings
from rsa_qa.errors import RsaQaError, describe_invalid
from rsa_qa.version import VERSION

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE, what a shell reports for a tool the signal ended


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("rsa_qa").setLevel(logging.INFO)
    try:
        status = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit, for small outputs
        return status
    except RsaQaError as exc:
        print(f"rsa-qa: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Python would try to flush stdout again at exit and print a second error: point it
        # at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE_CLOSED


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key, value in {
            "corpus_dir": getattr(args, "corpus", None),
            "index_dir": getattr(args, "index_dir", None),
            "host": getattr(args, "host", None),
            "port": getattr(args, "port", None),
        }.items()
        if value is not None
    }
    return Settings(**overrides)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rsa-qa", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"rsa-qa {VERSION}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    index = commands.add_parser("index", help="build index/ from corpus/")
    index.add_argument("--corpus", type=Path, help="folder holding the article (default: corpus)")
    index.add_argument("--index-dir", type=Path, help="where to write the index (default: index)")
    index.add_argument("--if-stale", action="store_true", help="do nothing when the index is up to date")
    index.add_argument(
        "--strict", action="store_true", help="fail on a file that cannot be read, instead of skipping it"
    )
    index.add_argument(
        "--rollback",
        action="store_true",
        help="point the index at the version built before the current one (kept on disk), and stop",
    )
    index.set_defaults(run=_index)

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", help="interface to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: 8000)")
    serve.add_argument("--index-dir", type=Path, help="index to serve (default: index)")
    serve.set_defaults(run=_serve)

    mcp = commands.add_parser("mcp", help="serve the MCP tools over stdio, for a desktop chat client")
    mcp.add_argument("--corpus", type=Path, help="folder holding the article (default: corpus)")
    mcp.add_argument("--index-dir", type=Path, help="index to serve (default: index)")
    mcp.set_defaults(run=_mcp)

    query = commands.add_parser("query", help="ask a question of the index, without a server")
    query.add_argument("question")
    query.add_argument("--top-k", type=int, default=5, help="how many passages (default: 5)")
    query.add_argument("--section", action="append", dest="sections", help="only this section; repeatable")
    query.add_argument("--doc", action="append", dest="docs", help="only this document id; repeatable")
    query.add_argument("--index-dir", type=Path, help="index to read (default: index)")
    query.add_argument("--json", action="store_true", help="print the API's JSON response")
    query.set_defaults(run=_query)

    evaluate = commands.add_parser(
        "eval", help="score question sets (JSON lines) against a server or in-process"
    )
    evaluate.add_argument("questions", nargs="+", type=Path, help="question files, e.g. eval/dev.jsonl")
    evaluate.add_argument("--url", help="score a running server (default: in-process)")
    evaluate.add_argument(
        "--corpus", type=Path, help="the articles the questions are about (default: corpus)"
    )
    evaluate.add_argument("--index-dir", type=Path)
    evaluate.add_argument("--misses", action="store_true", help="list the questions not answered first")
    evaluate.add_argument(
        "--cv",
        action="store_true",
        help="cross-validate: fit the models on the other folds, score each question held out",
    )
    evaluate.add_argument(
        "--first-look", type=Path, help="JSON of first-look figures to print beside the cross-validated ones"
    )
    _also_option(evaluate)
    evaluate.set_defaults(run=_eval)

    fit = commands.add_parser("fit", help="fit the ranking, scope and highlight models to question sets")
    fit.add_argument("questions", nargs="+", type=Path, help="question files, e.g. eval/*.jsonl")
    fit.add_argument("--corpus", type=Path, help="the articles the questions are about (default: corpus)")
    fit.add_argument("--index-dir", type=Path, help="their index (default: index)")
    fit.add_argument(
        "--out", type=Path, help="where to write the models (default: the package's fitted.json)"
    )
    _also_option(fit)
    fit.set_defaults(run=_fit)
    return parser


def _also_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--also",
        nargs=3,
        action="append",
        default=[],
        metavar=("NAME", "CORPUS", "INDEX_DIR"),
        help="ask the questions of another, already indexed corpus too (with --cv, and for fit): the "
        "models are fitted and measured on both; a question whose answers name a document the "
        "corpus lacks is not asked of it",
    )


def _index(args: argparse.Namespace) -> int:
    from rsa_qa.service import build_index, index_is_fresh

    settings = _settings(args)
    if args.rollback and settings.database_url is not None:
        from rsa_qa.store.database import redact, rollback

        url = settings.database_url.get_secret_value()
        was, now = rollback(url)
        print(f"{redact(url)}: current version {now} (was {was}); replicas follow within seconds")
        return 0
    if args.rollback:
        return _rollback(settings.index_dir)
    if args.if_stale and index_is_fresh(settings):
        print(f"{settings.index_dir} is up to date")
        return 0
    build_index(settings, progress=lambda line: print(line, flush=True), strict=args.strict)
    return 0


def _rollback(index_dir: Path) -> int:
    from rsa_qa.store.load import load_index
    from rsa_qa.store.versions import rollback

    def loads(version: Path) -> bool:
        try:
            load_index(version)
        except RsaQaError as exc:
            print(f"skipping {version.name}: {exc}", file=sys.stderr)
            return False
        return True

    was, now = rollback(index_dir, loads)
    print(f"{index_dir} -> {now.name} (was {was.name if was else 'nothing'}); running servers serve it")
    print("after POST /admin/reload or SIGHUP")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import signal

    import uvicorn

    from rsa_qa.http.app import create_app
    from rsa_qa.http.server import allow_descriptors_for, server_config
    from rsa_qa.logs import configure_logging
    from rsa_qa.service import Service

    settings = _settings(args)
    configure_logging()
    service = Service(settings)
    # uvicorn handles SIGINT and SIGTERM (a graceful stop); SIGHUP reloads, as POST /admin/reload.
    signal.signal(signal.SIGHUP, lambda *_: service.reload_in_background())
    # Once stopped, uvicorn raises SIGTERM again with the handler it found, this one: it
    # writes out the log lines still queued (dying of a signal skips atexit), then dies of it.
    signal.signal(signal.SIGTERM, _write_logs_and_die)
    allow_descriptors_for(settings.max_connections)
    uvicorn.Server(server_config(create_app(settings, service), settings)).run()
    return 0


def _write_logs_and_die(signum: int, _frame: object) -> None:
    import signal

    from rsa_qa.logs import stop_log_writer

    stop_log_writer()
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)


def _mcp(args: argparse.Namespace) -> int:
    from rsa_qa.mcp_server import run_stdio

    run_stdio(_settings(args))
    return 0


def _query(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from rsa_qa.answers import run_query
    from rsa_qa.schemas import QueryRequest
    from rsa_qa.service import open_searcher

    settings = _settings(args)
    try:
        request = QueryRequest(query=args.question, top_k=args.top_k, sections=args.sections, docs=args.docs)
    except ValidationError as exc:
        print(f"rsa-qa: error: {describe_invalid(exc.errors())[1]}", file=sys.stderr)
        return EXIT_ERROR
    response = run_query(open_searcher(settings), request)
    if args.json:
        print(response.model_dump_json(indent=2))
        return 0
    verdict = "in scope" if response.in_scope else "OUT OF SCOPE"
    print(f"{response.query!r}: {verdict} ({response.reason})\n")
    for result in response.results:
        section = " › ".join(result.section.path)
        print(f"#{result.rank}  score {result.score:.3f}  [{result.id}]  {section}")
        print(textwrap.indent(textwrap.fill(result.text, 96), "    "))
        for ref in result.references:
            print(textwrap.indent(textwrap.fill(f"{ref.marker} {ref.citation}", 96), "    "))
        print()
    return 0


def _eval(args: argparse.Namespace) -> int:
    from rsa_qa.evaluation import format_table, http_search, in_process_search, load_questions, score

    if args.cv:
        return _cross_validate(args)
    search = http_search(args.url) if args.url else in_process_search(_settings(args))
    reports = {path.name: score(load_questions(path), search) for path in args.questions}
    if args.misses:
        for name, report in reports.items():
            for miss in report.misses:
                print(f"miss {name} {miss}")
        print()
    print(format_table(reports))
    return 0


def _cross_validate(args: argparse.Namespace) -> int:
    import json

    from rsa_qa import fitting

    examples = _examples(args)
    cv = fitting.cross_validate(examples, progress=lambda line: print(line, file=sys.stderr))
    first_look = json.loads(args.first_look.read_text(encoding="utf-8")) if args.first_look else {}
    if args.misses:
        print("\n".join(f"miss {line}" for line in fitting.misses(cv)) + "\n")
    print(fitting.describe(cv, first_look))
    return 0


def _examples(args: argparse.Namespace) -> list[Any]:
    """The questions asked of the main corpus and of each --also one, models unfitted."""
    from rsa_qa import fitting
    from rsa_qa.search.model import Models
    from rsa_qa.service import open_searcher

    settings = _settings(args)
    examples = fitting.collect(open_searcher(settings, models=Models.unfitted()), args.questions)
    for name, corpus, index_dir in args.also:
        other = settings.model_copy(update={"corpus_dir": Path(corpus), "index_dir": Path(index_dir)})
        examples += fitting.collect(open_searcher(other, models=Models.unfitted()), args.questions, name)
    return examples


def _fit(args: argparse.Namespace) -> int:
    from rsa_qa import fitting
    from rsa_qa.search.model import FITTED

    examples = _examples(args)
    cv = fitting.cross_validate(examples, progress=lambda line: print(line, file=sys.stderr))
    models = fitting.fit(examples, cv)
    out = args.out or FITTED
    models.save(out)
    print(fitting.describe(cv, {}))
    print(f"\nmodels fitted on {len(examples)} questions written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
