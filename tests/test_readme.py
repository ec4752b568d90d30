"""The README's example is what the service answers: checked here, rewritten by `make readme`."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from fastapi.testclient import TestClient

from conftest import ROOT

README = ROOT / "README.md"
BLOCK = re.compile(
    r"<!-- example: begin.*?-->\n```bash\n(?P<curl>.*?)```\n\n"
    r"```json\n(?P<json>.*?)```\n<!-- example: end -->",
    re.DOTALL,
)
# Strings longer than this are shown as their start, " … ", and their end.
LONGEST_SHOWN = 160
SHOWN_START, SHOWN_END = 100, 50
WIDTH = 100


def shorten(value: Any) -> Any:
    """The response as the README shows it: long strings cut in the middle at word boundaries."""
    if isinstance(value, dict):
        return {key: shorten(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shorten(item) for item in value]
    if isinstance(value, str) and len(value) > LONGEST_SHOWN:
        start = value[:SHOWN_START].rsplit(" ", 1)[0]
        end = value[-SHOWN_END:].split(" ", 1)[-1]
        return f"{start} … {end}"
    return value


def compact(value: Any, indent: int = 0) -> str:
    """JSON indented by two, with any object or list that fits in WIDTH columns on one line."""
    flat = json.dumps(value, ensure_ascii=False)
    if indent + len(flat) <= WIDTH or not isinstance(value, dict | list) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k)}: {compact(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    return "[\n" + ",\n".join(pad + compact(v, indent + 2) for v in value) + "\n" + " " * indent + "]"


def _request_body(curl: str) -> dict[str, Any]:
    body = re.search(r"-d '(.*?)'", curl, re.DOTALL)
    assert body, "the README's example must send a JSON body with -d '…'"
    return dict(json.loads(body.group(1)))


def test_the_readme_example_is_the_services_answer(client: TestClient) -> None:
    text = README.read_text(encoding="utf-8")
    match = BLOCK.search(text)
    assert match, "README.md lost its example block"
    response = client.post("/query", json=_request_body(match["curl"]))
    assert response.status_code == 200
    shown = shorten(response.json())
    if os.environ.get("UPDATE_README"):
        rendered = compact(shown) + "\n"
        README.write_text(
            text[: match.start("json")] + rendered + text[match.end("json") :], encoding="utf-8"
        )
        return
    written = json.loads(match["json"] or "null")
    assert written is not None, "the example has no output: run `make readme`"
    assert _same({**written, "took_ms": 0}, {**shown, "took_ms": 0}), (
        "the example is stale: run `make readme`"
    )


def _same(written: Any, served: Any) -> bool:
    """Equal, scores within 1e-4: another CPU's vector instructions may move the last digits."""
    if isinstance(written, float) or isinstance(served, float):
        return isinstance(written, int | float) and abs(written - served) <= 1e-4
    if isinstance(written, dict) and isinstance(served, dict):
        return written.keys() == served.keys() and all(_same(written[k], served[k]) for k in written)
    if isinstance(written, list) and isinstance(served, list):
        return len(written) == len(served) and all(_same(a, b) for a, b in zip(written, served, strict=True))
    return bool(written == served)


def test_shorten_keeps_short_strings_and_marks_the_cut() -> None:
    assert shorten({"a": ["short"]}) == {"a": ["short"]}
    long = " ".join(f"word{i}" for i in range(60))
    cut = shorten(long)
    assert " … " in cut and long.startswith(cut.split(" … ")[0]) and long.endswith(cut.split(" … ")[1])
