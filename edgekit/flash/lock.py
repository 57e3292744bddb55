"""One flash (or rollback) at a time per device folder: a lease in ``<remote-dir>/flash.lease``.

The lease names its holder (host, pid, a random token), when it was taken and when it expires, all in the
device's clock (``date +%s`` there, so clock skew between machines does not matter). Every operation on it
(acquire, renew, release, break) is one short shell script on the device that runs under ``flock`` on
``<remote-dir>/.flash.lease.guard``, so two flashes can never both see a free (or expired) lease and both
take it. A live lease held by someone else refuses the second flash with "another flash is running (host,
pid, since)"; an expired one is taken over (and the report says from whom); ``--break-lock`` removes any
lease, for a human who knows the holder is gone. The lease is renewed before each long step with that
step's time limit, so a flash that died leaves a lease that expires by itself.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import secrets
import socket
from dataclasses import dataclass

from edgekit.flash.errors import FlashError
from edgekit.flash.layout import RemoteLayout
from edgekit.remote.base import Remote

LEASE = "flash.lease"
GUARD = ".flash.lease.guard"
DEFAULT_TTL_S = 600
_BUSY = 3  # exit status of the script: a live lease held by another flash

# $1 op (acquire|steal|renew|release|break)  $2 lease file  $3 guard file  $4 token  $5 ttl seconds
# $6 host  $7 pid  $8 what  $9 the token a steal expects to replace.
# Prints the lease it found (key=value lines) after a line "FOUND", then one result line.
_SCRIPT = r"""
set -u
op=$1 lease=$2 guard=$3 token=$4 ttl=$5 host=$6 pid=$7 what=$8 expect=${9:-}
command -v flock >/dev/null 2>&1 || { echo "NOFLOCK"; exit 4; }
exec 9>>"$guard"
flock -w 30 9 || { echo "GUARDTIMEOUT"; exit 4; }
now=$(date +%s)
field() { sed -n "s/^$1=//p" "$lease" 2>/dev/null | head -n 1; }
write() {  # since
  printf 'token=%s\nhost=%s\npid=%s\nsince=%s\nexpires=%s\nwhat=%s\n' \
    "$token" "$host" "$pid" "$1" $((now + ttl)) "$what" > "$lease.tmp" && mv -f "$lease.tmp" "$lease"
}
if [ -f "$lease" ]; then echo FOUND; cat "$lease"; echo; fi
holder=$(field token); expires=$(field expires)
case "$op" in
  acquire)
    if [ -n "$holder" ] && [ "$holder" != "$token" ] && [ "${expires:-0}" -gt "$now" ] 2>/dev/null; then
      echo "BUSY now=$now"; exit 3
    fi
    if [ -n "$holder" ] && [ "$holder" != "$token" ]; then echo "TOOKOVER now=$now"
    else echo "ACQUIRED now=$now"; fi
    write "$now" ;;
  steal)
    [ -n "$expect" ] && [ "$holder" = "$expect" ] || { echo "BUSY now=$now"; exit 3; }
    echo "TOOKOVER now=$now"; write "$now" ;;
  renew)
    [ "$holder" = "$token" ] || { echo "LOST now=$now"; exit 5; }
    write "$(field since)"; echo "RENEWED now=$now" ;;
  release)
    if [ "$holder" = "$token" ]; then rm -f "$lease"; fi; echo "RELEASED now=$now" ;;
  break)
    rm -f "$lease"; echo "BROKEN now=$now" ;;
esac
"""


@dataclass(frozen=True)
class Lease:
    host: str
    pid: str
    since: int
    expires: int
    what: str = ""
    token: str = ""

    @property
    def since_text(self) -> str:
        return _dt.datetime.fromtimestamp(self.since, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")

    def describe(self) -> str:
        return f"{self.host}, pid {self.pid}, since {self.since_text}"


def _parse(stdout: str) -> tuple[Lease | None, str, int | None]:
    """(the lease found, the result word, the device's clock)."""
    lines = stdout.splitlines()
    kv: dict[str, str] = {}
    if "FOUND" in lines:
        for ln in lines[lines.index("FOUND") + 1 :]:
            k, sep, v = ln.partition("=")
            if sep and k in ("token", "host", "pid", "since", "expires", "what"):
                kv.setdefault(k, v)
    last = lines[-1].split() if lines else [""]
    now = next((int(x[4:]) for x in last[1:] if x.startswith("now=") and x[4:].isdigit()), None)
    lease = None
    if kv.get("token"):

        def num(k: str) -> int:
            return int(kv[k]) if kv.get(k, "").isdigit() else 0

        lease = Lease(
            kv.get("host", "?"),
            kv.get("pid", "?"),
            num("since"),
            num("expires"),
            kv.get("what", ""),
            kv["token"],
        )
    return lease, last[0] if last else "", now


class FlashLock:
    """The device lease held by this process. ``acquire`` raises FlashError when another flash holds it."""

    def __init__(self, remote: Remote, layout: RemoteLayout, what: str, ttl_s: int = DEFAULT_TTL_S) -> None:
        self.remote = remote
        self.lease = layout.join(LEASE)
        self.guard = layout.join(GUARD)
        self.what = what
        self.ttl_s = ttl_s
        self.token = secrets.token_hex(8)
        self.host = socket.gethostname() or "?"
        self.pid = str(os.getpid())
        self.took_over: Lease | None = None
        self.held = False

    def _op(
        self, op: str, ttl_s: int | None = None, expect: str = ""
    ) -> tuple[int, Lease | None, str, int | None]:
        res = self.remote.run(
            [
                "sh",
                "-c",
                _SCRIPT,
                "sh",
                op,
                self.lease,
                self.guard,
                self.token,
                str(ttl_s or self.ttl_s),
                self.host,
                self.pid,
                self.what,
                expect,
            ],
            check=False,
        )
        lease, word, now = _parse(res.stdout)
        if word == "NOFLOCK":
            raise FlashError(
                f"flock is missing on {self.remote.display}: the flash lock cannot be taken",
                "install util-linux on the device (apt-get install util-linux)",
            )
        if word == "GUARDTIMEOUT":
            raise FlashError(
                f"the flash lock guard on {self.remote.display} stayed busy for 30 s",
                "re-run the flash; if it persists, look for a hung flash on the device",
            )
        return res.returncode, lease, word, now

    def acquire(self, break_lock: bool = False) -> str:
        """Take the lease; returns a one-line description for the report."""
        if self.remote.dry_run:
            self._op("acquire")
            return "lease planned"
        broken = ""
        if break_lock:
            _, old, _, _ = self._op("break")
            broken = f"broke the lease of {old.describe()}; " if old else "--break-lock: no lease was held; "
        rc, old, word, now = self._op("acquire")
        if rc == _BUSY and old is not None and self._holder_is_dead(old):
            # a flash from this machine that is gone (a dropped connection, a killed process): its lease is
            # stale whatever its expiry says; replace exactly that lease (atomic: another taker loses)
            rc, old2, word, now = self._op("steal", expect=old.token)
            if rc == 0:
                self.held, self.took_over = True, old
                return broken + f"took over the lease of a flash on this host that is gone (pid {old.pid})"
            old = old2 or old
        if rc == _BUSY and old is not None:
            left = max(0, old.expires - (now or old.expires))
            raise FlashError(
                f"another flash is running on {self.remote.display} ({old.describe()}"
                + (f", {old.what}" if old.what else "")
                + f"; its lease expires in {left} s)",
                "wait for it to finish, or if that flash is dead, re-run with --break-lock",
            )
        if rc != 0 or word not in ("ACQUIRED", "TOOKOVER"):
            raise FlashError(
                f"cannot take the flash lock {self.lease} on {self.remote.display} (exit {rc})",
                "check that the device folder is writable",
            )
        self.held = True
        if word == "TOOKOVER" and old is not None:
            self.took_over = old
            return broken + f"took over an expired lease of {old.describe()}"
        return broken + f"held by {self.host}, pid {self.pid} (lease {self.ttl_s} s)"

    def _holder_is_dead(self, old: Lease) -> bool:
        if old.host != self.host or not old.pid.isdigit():
            return False
        if old.pid == self.pid:
            return True  # this process's own earlier flash, which has ended (flash calls are sequential)
        try:
            os.kill(int(old.pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def renew(self, ttl_s: int) -> None:
        """Extend the lease to ``ttl_s`` from now (before a long step). Raises if it was taken from us."""
        if not self.held or self.remote.dry_run:
            return
        rc, old, _, _ = self._op("renew", ttl_s)
        if rc != 0:
            self.held = False
            who = old.describe() if old else "nobody"
            raise FlashError(
                f"this flash lost its lock on {self.remote.display} (now held by {who})",
                "someone ran --break-lock or the lease expired: re-run the flash",
            )

    def release(self) -> None:
        if self.held:
            self.held = False
            with contextlib.suppress(Exception):  # a lost connection: the lease expires by itself
                self._op("release")
