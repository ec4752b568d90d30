"""A minimal chat loop over rsa-qa: each question goes to the service, the passages come back
verbatim with their section and citations. No language model, no dependencies beyond Python.

    make run                                   # in another terminal
    python examples/chat_loop.py               # then type questions; an empty line quits
    python examples/chat_loop.py --url http://127.0.0.1:8000 --top-k 2 --section 3.2
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import urllib.error
import urllib.request
from typing import Any

BOLD, PLAIN = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")


def ask(url: str, question: str, top_k: int, sections: list[str] | None) -> dict[str, Any]:
    body = {"query": question, "top_k": top_k}
    if sections:
        body["sections"] = sections
    request = urllib.request.Request(
        url.rstrip("/") + "/query",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:  # the service explains itself in {"error": {...}}
        raise RuntimeError(json.load(exc)["error"]["message"]) from exc


def show(answer: dict[str, Any]) -> None:
    verdict = "in scope" if answer["in_scope"] else "NOT covered by the article"
    print(f"{verdict}: {answer['reason']}\n")
    for result in answer["results"]:
        section = " › ".join(result["section"]["path"])
        print(f"#{result['rank']} [{result['id']}] {section} (score {result['score']:.3f})")
        text, marked, at = result["text"], [], 0
        for highlight in result["highlights"]:  # the sentences that matched, in bold on a terminal
            marked += [text[at : highlight["start"]], BOLD + highlight["text"] + PLAIN]
            at = highlight["end"]
        print(textwrap.indent(textwrap.fill("".join(marked) + text[at:], 96), "    "))
        for reference in result["references"]:
            print(
                textwrap.indent(textwrap.fill(f"{reference['marker']} {reference['citation']}", 96), "    ")
            )
        print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="where rsa-qa serves")
    parser.add_argument("--top-k", type=int, default=3, help="passages per question")
    parser.add_argument("--section", action="append", dest="sections", help="only this section")
    args = parser.parse_args()
    print("Ask about the review of immunological factors in recurrent miscarriage; an empty line quits.")
    while True:
        try:
            question = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question:
            return 0
        try:
            show(ask(args.url, question, args.top_k, args.sections))
        except (RuntimeError, urllib.error.URLError) as exc:
            print(f"rsa-qa: {getattr(exc, 'reason', exc)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
