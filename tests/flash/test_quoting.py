"""Quoting and path rules: no name can become shell syntax on the device."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from edgekit.errors import BundleError, InputError
from edgekit.flash.layout import check_rel
from edgekit.remote import SshTarget, remote_path, shell_command

NASTY = ["a b", "$(touch pwned)", "x; rm -rf /", "it's", 'say "hi"', "`id`", "-n", "tab\there", "*", "~"]


def test_shell_command_round_trips_through_a_real_shell() -> None:
    cmd = shell_command(["printf", "%s\\n", *NASTY], cwd="/", env={"A": "$(id)"})
    out = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:-1] == NASTY
    assert shlex.split(cmd)[:3] == ["cd", "--", "/"]


def test_shell_command_env_is_quoted() -> None:
    cmd = shell_command(["sh", "-c", 'printf %s "$A"'], env={"A": "$(echo injected); `id`"})
    out = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, check=True).stdout
    assert out == "$(echo injected); `id`"
    with pytest.raises(ValueError):
        shell_command(["true"], env={"A;B": "x"})


@pytest.mark.parametrize("rel", ["/etc/passwd", "../x", "a/../../x", "a//b", "a\nb", "a\\b", "", "./a"])
def test_unsafe_manifest_paths_are_refused(rel: str) -> None:
    with pytest.raises(BundleError, match="unsafe file path"):
        check_rel(rel)


def test_safe_manifest_paths_pass() -> None:
    assert check_rel("golden/odd $(x); 'q\".png") == "golden/odd $(x); 'q\".png"


def test_remote_path_tilde() -> None:
    assert remote_path("~/edgekit") == "edgekit"
    assert remote_path("~") == "."
    assert remote_path("/opt/x") == "/opt/x"
    with pytest.raises(InputError):
        remote_path("~bob/x")


@pytest.mark.parametrize("spec", ["", "user@", "-oProxyCommand=x", "a b@host", "u@-host"])
def test_bad_host_specs(spec: str) -> None:
    with pytest.raises(InputError, match="--host"):
        SshTarget.parse(spec)


def test_host_spec_parses() -> None:
    t = SshTarget.parse("nvidia@jetson.local", port=2222)
    assert (t.user, t.host, t.port, t.display) == ("nvidia", "jetson.local", 2222, "nvidia@jetson.local:2222")
