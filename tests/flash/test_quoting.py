"""Quoting and path rules: no name can become shell syntax on the device."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

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


def test_ssh_config_fills_what_is_not_given(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("not used here")
    cfg = tmp_path / "config"
    cfg.write_text(f"Host jet\n  HostName 10.0.0.7\n  User nvidia\n  Port 2222\n  IdentityFile {key}\n")
    t = SshTarget.parse("jet", ssh_config=cfg)
    assert (t.host, t.user, t.port, t.identity) == ("10.0.0.7", "nvidia", 2222, key)
    t = SshTarget.parse("bob@jet", port=22, ssh_config=cfg)  # explicit values win
    assert (t.user, t.port) == ("bob", 22)
    t = SshTarget.parse("other", ssh_config=cfg)
    assert (t.host, t.port, t.identity) == ("other", 22, None)
