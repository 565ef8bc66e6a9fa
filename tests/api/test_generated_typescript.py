"""The web and app teams also generate TypeScript types from the served document (issue 19): openapi-typescript
(pinned in package.json, installed by make) turns it into types with no warning, and the TypeScript compiler
accepts code written against them in strict mode: the operations the apps live on are there by their
operationIds, with typed answers."""

import json
import re
import subprocess
from pathlib import Path

from litestar import Litestar

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "node_modules" / ".bin"

# Written as an app team would: an answer of each journey's main operation, read field by field.
USAGE = """\
import type { components, operations } from "./api";

type Answer<Op extends keyof operations> =
  operations[Op]["responses"] extends { 200: { content: { "application/json": infer T } } } ? T
  : operations[Op]["responses"] extends { 201: { content: { "application/json": infer T } } } ? T
  : never;

type Problem = components["schemas"]["ProblemDetails"];

export function summarise(
  slots: Answer<"listSlots">,
  booked: Answer<"bookAppointment">,
  route: Answer<"getCourierRoute">,
  tracked: Answer<"trackItem">,
  inbox: Answer<"listNotifications">,
  problem: Problem,
): string {
  const appointment: string = booked.id;
  const stops: number = route.stops.length;
  const unread: number = inbox.unread;
  const code: string | null | undefined = problem.code;
  return [slots.items.length, appointment, stops, tracked.item_id, unread, code].join(" ");
}
"""


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def test_openapi_typescript_is_clean_and_strict_typescript_compiles(app: Litestar, tmp_path: Path) -> None:
    generator, compiler = BIN / "openapi-typescript", BIN / "tsc"
    assert generator.exists() and compiler.exists(), "run `make pytest` (it installs package.json's tools)"
    (tmp_path / "openapi.json").write_text(json.dumps(app.openapi_schema.to_schema()))

    made = _run(str(generator), "openapi.json", "-o", "api.d.ts", cwd=tmp_path)
    said = made.stdout + made.stderr
    assert made.returncode == 0, said
    assert not re.search(r"warn|error|⚠", said, re.IGNORECASE), said
    types = (tmp_path / "api.d.ts").read_text()
    for operation in ("bookAppointment", "listSlots", "getCourierRoute", "trackItem", "confirmHandover"):
        assert re.search(rf"^\s+{operation}: {{", types, re.MULTILINE), operation

    (tmp_path / "usage.ts").write_text(USAGE)
    compiled = _run(str(compiler), "--noEmit", "--strict", "api.d.ts", "usage.ts", cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
