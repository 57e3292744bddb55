"""The bad-input corpus (tests/badinput/cases.py) against the real `edgekit`, `edgekit-infer` and
`edgekit-camera`: exit code, ONE line on stderr naming the thing and the fix, nothing lost.

The cases run as subprocesses in parallel (they wait on processes, not on this one) when the first case
asks for the results; each test then checks its own case."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.badinput.cases import CASES, Case
from tests.badinput.conftest import tool_path, tree_digest

ENV = {
    **os.environ,
    "OMP_WAIT_POLICY": "PASSIVE",
    "COLUMNS": "200",  # rich wraps at the terminal width: one line must stay one line
    "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
}


TIMEOUT_S = float(os.environ.get("EDGEKIT_CORPUS_TIMEOUT_S", "120"))


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    before: dict[str, str]
    after: dict[str, str]


def _expand(case: Case, d: Path, bundle: Path, video: Path, extra: dict[str, str]) -> list[str]:
    rep = {"{copy}": str(d / "copy"), "{video}": str(video), "{tmp}": str(d), **extra}
    rep["{bundle}"] = str(bundle)
    out = []
    for a in case.argv:
        for k, v in rep.items():
            a = a.replace(k, v)
        out.append(a)
    return out


def _run_one(case: Case, root: Path, bundle: Path, video: Path, extra: dict[str, str]) -> Outcome | str:
    exe = tool_path(case.tool)
    if exe is None:
        return f"{case.tool} is not built (tools/setup.sh)"
    if "ssh" in case.needs and "{ssh_target}" not in extra:
        return extra.get("{ssh_why}", "no sshd")
    d = root / case.id.replace("/", "__")
    d.mkdir(parents=True)
    if any("{copy}" in a for a in case.argv):
        shutil.copytree(bundle, d / "copy")
    if case.setup is not None:
        case.setup(d)
    before = tree_digest(d)
    argv = [exe, *_expand(case, d, bundle, video, extra)]
    try:
        p = subprocess.run(
            argv, cwd=d, env=ENV, capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:  # a bad input that starts the work instead of failing fast
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return Outcome(-9, "", f"{err}\n(killed after {TIMEOUT_S} s)", before, tree_digest(d))
    return Outcome(p.returncode, p.stdout, p.stderr, before, tree_digest(d))


@pytest.fixture(scope="module")
def outcomes(
    tiny_bundle_session: Path, corpus_video: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Outcome | str]:
    from tests import sshd

    root = tmp_path_factory.mktemp("corpus")
    pristine = tree_digest(tiny_bundle_session)
    extra: dict[str, str] = {"{closed_port}": str(sshd._free_port())}
    with contextlib.ExitStack() as stack:
        why = sshd.available()
        if why:
            extra["{ssh_why}"] = f"no local sshd: {why}"
        else:
            srv = stack.enter_context(sshd.SshServer(tmp_path_factory.mktemp("corpus-sshd")))
            extra.update({"{ssh_target}": srv.target, "{ssh_port}": str(srv.port),
                          "{ssh_identity}": str(srv.identity), "{ssh_known_hosts}": str(srv.known_hosts)})
        with ThreadPoolExecutor(max_workers=4) as ex:
            futs = {
                c.id: ex.submit(_run_one, c, root, tiny_bundle_session, corpus_video, extra) for _, c in CASES
            }
            res = {k: f.result() for k, f in futs.items()}
    assert tree_digest(tiny_bundle_session) == pristine, "a bad-input case changed the shared bundle"
    return res


def test_the_corpus_is_large_and_distinct() -> None:
    ids = [c.id for _, c in CASES]
    assert len(ids) == len(set(ids))
    assert len({(c.tool, c.argv, c.setup) for _, c in CASES}) == len(ids)
    assert len(ids) >= 100, len(ids)
    by_class = Counter(cls for cls, _ in CASES)
    assert min(by_class.values()) >= 5, by_class


def _check(case: Case, o: Outcome) -> None:
    lines = [ln for ln in o.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in o.stderr, o.stderr
    assert len(lines) == 1, f"want one line on stderr, got {len(lines)}:\n{o.stderr}"
    line = lines[0]
    assert line.startswith("error:"), line
    assert "fix:" in line or "--help" in line, f"no fix named: {line}"
    for s in case.says:
        assert s in line, f"{s!r} not in: {line}"
    assert o.code == case.code, f"exit {o.code}, want {case.code}: {line}"
    assert o.after == o.before, f"files changed: {set(o.after.items()) ^ set(o.before.items())}"


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else [])
        for _, c in CASES
    ],
)
def test_bad_input(case: Case, outcomes: dict[str, Outcome | str]) -> None:
    o = outcomes[case.id]
    if isinstance(o, str):
        pytest.skip(o)
    _check(case, o)


if __name__ == "__main__":  # a table of the cases by class
    print(Counter(cls for cls, _ in CASES), file=sys.stderr)
