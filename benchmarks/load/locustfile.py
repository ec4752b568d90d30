"""Traffic for `make load`: questions and hostile requests mixed, one reload every ten seconds.

Each request states the status it must get; anything else (a 5xx above all) is a failure,
and a request that gets no answer at all is a dropped connection. The tallies and latency
percentiles are written as JSON to $RSA_QA_LOAD_REPORT when the run stops.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant, events, task
from locust.env import Environment

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = [
    json.loads(line)["question"]
    for name in ("dev.jsonl", "own.jsonl")
    for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines()
    if line.strip()
]
KEY = os.environ.get("RSA_QA_LOAD_KEY", "")
AUTH = {"Authorization": f"Bearer {KEY}"} if KEY else {}
JSON = {**AUTH, "Content-Type": "application/json"}

statuses: Counter[int] = Counter()
dropped: Counter[str] = Counter()
unexpected: Counter[str] = Counter()


def _check(response: Any, expected: int, name: str) -> None:
    if response.status_code == 0:  # no HTTP answer: refused, reset or timed out
        dropped[f"{name}: {type(response.error).__name__}"] += 1
        response.failure(f"dropped: {response.error!r}")
        return
    statuses[response.status_code] += 1
    if response.status_code != expected:
        unexpected[f"{name}: {response.status_code}"] += 1
        response.failure(f"expected {expected}, got {response.status_code}")
    else:
        response.success()


class Client(FastHttpUser):
    """One connection, kept alive, asking as fast as it is answered."""

    wait_time = constant(0)
    connection_timeout = 10.0
    network_timeout = 60.0

    def _post(self, name: str, body: bytes, expected: int, headers: dict[str, str] = JSON) -> None:
        with self.client.post("/query", data=body, headers=headers, name=name, catch_response=True) as r:
            _check(r, expected, name)

    def _get(self, path: str, name: str, expected: int, headers: dict[str, str] = AUTH) -> None:
        with self.client.get(path, headers=headers, name=name, catch_response=True) as r:
            _check(r, expected, name)

    @task(10)
    def question(self) -> None:
        body = {"query": random.choice(QUESTIONS), "top_k": random.randint(1, 10)}
        self._post("POST /query", json.dumps(body).encode(), 200)

    @task(3)
    def question_by_get(self) -> None:
        self._get(f"/query?q={random.choice(QUESTIONS)}&top_k=3", "GET /query", 200)

    @task(1)
    def widest_question(self) -> None:
        body = {"query": random.choice(QUESTIONS), "top_k": 50, "expand": 3}
        self._post("POST /query top_k=50 expand=3", json.dumps(body).encode(), 200)

    @task(2)
    def browse(self) -> None:
        passage = "/passages/immunology-rsa-review:3.2-01"
        path = random.choice(["/sections", "/references", passage, "/ready", "/health"])
        self._get(path, "GET article and probes", 200)

    @task(1)
    def blank_question(self) -> None:
        self._post("invalid: blank query", b'{"query": "   "}', 422)

    @task(1)
    def wrong_type(self) -> None:
        self._post("invalid: top_k true", b'{"query": "IVIG", "top_k": true}', 422)

    @task(1)
    def broken_json(self) -> None:
        self._post("invalid: broken JSON", b'{"query": "IVIG', 422)

    @task(1)
    def not_json(self) -> None:
        self._post("invalid: text/plain", b"IVIG", 415, {**AUTH, "Content-Type": "text/plain"})

    @task(1)
    def too_large(self) -> None:
        self._post("invalid: 300 KB body", json.dumps({"query": "a" * 300_000}).encode(), 413)

    @task(1)
    def no_key(self) -> None:
        self._get("/sections", "invalid: no API key", 401 if KEY else 200, headers={})

    @task(1)
    def unknown_passage(self) -> None:
        self._get("/passages/..%2F..%2Fetc%2Fpasswd", "invalid: unknown passage", 404)


class Operator(FastHttpUser):
    """Reloads the index every ten seconds while the clients ask: no request may fail for it."""

    fixed_count = 1
    wait_time = constant(10)

    @task
    def reload(self) -> None:
        with self.client.post(
            "/admin/reload", headers=AUTH, name="POST /admin/reload", catch_response=True
        ) as r:
            _check(r, 200, "POST /admin/reload")


@events.test_stop.add_listener
def _report(environment: Environment, **_: Any) -> None:
    path = os.environ.get("RSA_QA_LOAD_REPORT")
    if not path:
        return
    total = environment.stats.total
    report = {
        "requests": total.num_requests,
        "requests_per_s": round(total.total_rps, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "dropped": dict(dropped),
        "unexpected": dict(unexpected),
        "latency_ms": {
            "p50": total.get_response_time_percentile(0.50),
            "p95": total.get_response_time_percentile(0.95),
            "p99": total.get_response_time_percentile(0.99),
            "max": total.max_response_time,
        },
    }
    Path(path).write_text(json.dumps(report, indent=2), encoding="utf-8")
