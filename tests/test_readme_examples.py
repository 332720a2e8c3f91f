"""The README's API examples, replayed in order against the app on an empty database: each
documented request must get the documented status and answer, so an operator can copy
them as they are (they had to guess the bodies from error messages before).

An example in README.md is an HTML comment naming it, a ``sh`` block with one ``curl``
command, then an ``http`` block with the status line and the JSON answer:

    <!-- example: department-created -->
    ```sh
    curl -X PUT http://127.0.0.1:8080/api/v1/departments/PERMITS \\
      -H "Authorization: Bearer $RECORDS_TOKEN" -d '{...}'
    ```
    ```http
    HTTP/1.1 201 Created
    {...}
    ```

``$RECORDS_TOKEN``, ``$KIOSK_TOKEN`` and ``$STAFF_TOKEN`` are tokens of those roles.
After changing an example, print what the gateway answers to each with
``PYTHONPATH=. python -m tests.test_readme_examples`` and paste it into the README.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import tempfile
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.access.tokens import create_token

README = Path(__file__).resolve().parents[1] / "README.md"
_EXAMPLE = re.compile(
    r"<!-- example: (?P<name>[a-z0-9-]+) -->\s*"
    r"```sh\n(?P<request>.*?)```\s*"
    r"```http\n(?P<answer>.*?)```", re.S)
ROLES = {"RECORDS_TOKEN": "records", "KIOSK_TOKEN": "kiosk", "STAFF_TOKEN": "staff"}


@dataclass(frozen=True)
class Example:
    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: str | None
    status: int
    answer: Any


def parse_curl(command: str) -> tuple[str, str, dict[str, str], str | None]:
    """The method, path, headers and body of one ``curl`` command line."""
    words = shlex.split(command.replace("\\\n", " "))
    if not words or words[0] != "curl":
        raise ValueError(f"not a curl command: {command!r}")
    method, url, body, headers = "GET", "", None, {}
    rest = iter(words[1:])
    for word in rest:
        if word in ("-X", "--request"):
            method = next(rest)
        elif word in ("-H", "--header"):
            name, _, value = next(rest).partition(":")
            headers[name.strip()] = value.strip()
        elif word in ("-d", "--data", "--json"):
            body = next(rest)
            headers.setdefault("Content-Type", "application/json")
            if method == "GET":
                method = "POST"
        elif word.startswith("-"):
            raise ValueError(f"curl option {word} is not understood by this test")
        else:
            url = word
    return method, urlsplit(url).path, headers, body


def read_examples(text: str) -> list[Example]:
    """Every example in ``text``, in order."""
    examples = []
    for match in _EXAMPLE.finditer(text):
        method, path, headers, body = parse_curl(match["request"].strip())
        status_line, _, answer = match["answer"].strip().partition("\n")
        examples.append(Example(match["name"], method, path, headers, body,
                                int(status_line.split()[1]), json.loads(answer)))
    return examples


def differences(documented: Any, actual: Any, where: str = "") -> list[str]:
    """Where ``actual`` is not ``documented``: a key, a list's length or a value."""
    if isinstance(documented, dict) and isinstance(actual, dict):
        found = [f"{where}: key {key!r} documented, not answered"
                 for key in documented if key not in actual]
        found += [f"{where}: key {key!r} answered, not documented"
                  for key in actual if key not in documented]
        for key in documented:
            if key in actual:
                found += differences(documented[key], actual[key], f"{where}.{key}")
        return found
    if isinstance(documented, list) and isinstance(actual, list):
        if len(documented) != len(actual):
            return [f"{where}: {len(actual)} items answered, {len(documented)} documented"]
        return [problem for index, (doc, act) in enumerate(zip(documented, actual, strict=True))
                for problem in differences(doc, act, f"{where}[{index}]")]
    return [] if documented == actual else [f"{where}: answered {actual!r}, "
                                            f"documented {documented!r}"]


def replay(client, core, examples: list[Example]) -> list[tuple[Example, int, Any]]:
    """Send each example's request in order; (example, status, JSON answer) for each."""
    tokens = {name: create_token(core.db.write, role, f"readme-{role}")
              for name, role in ROLES.items()}
    answers = []
    for example in examples:
        headers = dict(example.headers)
        for name, token in tokens.items():
            headers = {key: value.replace(f"${name}", token) for key, value in headers.items()}
        response = client.open(example.path, method=example.method, headers=headers,
                               data=example.body)
        answers.append((example, response.status_code, response.get_json(silent=True)))
    return answers


def test_every_api_route_has_an_example_and_the_openapi_description_is_linked():
    text = README.read_text(encoding="utf-8")
    examples = read_examples(text)
    routes = {(example.method, re.sub(r"/[^/]+$", "/<code>", example.path)
               if example.method == "PUT" else example.path) for example in examples}

    assert routes >= {("POST", "/api/v1/events"), ("PUT", "/api/v1/departments/<code>"),
                      ("PUT", "/api/v1/employees/<code>"), ("PUT", "/api/v1/agencies/<code>"),
                      ("POST", "/api/v1/inquiries")}, routes
    assert len({example.name for example in examples}) == len(examples), "names are unique"
    assert "/api/v1/openapi.yaml" in text and "docs/openapi.yaml" in text
    assert (README.parent / "docs" / "openapi.yaml").is_file()


def test_the_readme_examples_get_the_documented_answers(client, core):
    examples = read_examples(README.read_text(encoding="utf-8"))
    assert len(examples) >= 5

    problems = []
    for example, status, answer in replay(client, core, examples):
        if status != example.status:
            problems.append(f"{example.name}: status {status}, documented {example.status}"
                            f" ({answer})")
        problems += [f"{example.name}{problem}"
                     for problem in differences(example.answer, answer)]

    assert not problems, "\n".join(problems)


def test_the_checker_sees_a_changed_key_value_or_status():
    documented = {"code": "PERMITS", "created": True, "nested": [{"text": "x", "n": 1}]}

    assert differences(documented, json.loads(json.dumps(documented))) == []
    assert differences(documented, {"code": "PERMITS", "created": False,
                                    "nested": [{"text": "x", "n": 1}]})
    assert differences(documented, {"code": "PERMITS", "nested": [{"text": "x", "n": 1}]})
    assert differences(documented, {**documented, "extra": 1})
    assert differences(documented, {**documented, "nested": [{"text": "y", "n": 1}]})
    assert differences(documented, {**documented, "nested": []})
    assert parse_curl("curl -X PUT http://h:1/api/v1/x \\\n  -H 'A: b' -d '{}'") == \
        ("PUT", "/api/v1/x", {"A": "b", "Content-Type": "application/json"}, "{}")


def _print_answers() -> None:
    """Print what the gateway answers to each README example (to paste after a change)."""
    from core.platform import migrate
    from core.platform.db import Database
    from gateway.app import create_app
    from gateway.bootstrap import build_core
    from tests.conftest import make_settings

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/gateway.db"
        database = Database(url)
        migrate.upgrade(database.engine)
        database.dispose()
        settings = make_settings(url, Path(folder))
        core = build_core(settings, background_log=False)
        try:
            app = create_app(settings, core)
            examples = read_examples(README.read_text(encoding="utf-8"))
            for example, status, answer in replay(app.test_client(), core, examples):
                print(f"<!-- example: {example.name} -->\n"
                      f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\n"
                      f"{json.dumps(answer, indent=2, ensure_ascii=False)}\n")
        finally:
            core.close()


if __name__ == "__main__":
    _print_answers()
    sys.exit(0)


def test_the_readme_tracking_numbers_are_real_shaped():
    """A Citizen's Voice tracking number in the README is one the gateway would issue (ten
    digits, a leading 7, a Damm check digit): an example a reader copies must parse.
    Ten digits starting 0-2 are mobiles and national IDs; 800 is a toll-free line."""
    from core.voice.tracking import is_tracking

    found = [number for number in re.findall(r"(?<![0-9])[3-9][0-9]{9}(?![0-9])",
                                             README.read_text(encoding="utf-8"))
             if not number.startswith("800")]
    assert found and [n for n in found if not is_tracking(n)] == []
