"""Whether a TCP address can be listened on, said before any setup work (issue 22): a busy
port is one line naming the option and the setting that change it, not a traceback after the
setup."""

from __future__ import annotations

import errno
import socket

__all__ = ["PortBusyError", "check_port"]


class PortBusyError(Exception):
    """The address cannot be listened on; the message says what to do."""


def check_port(host: str, port: int, *, how: str) -> None:
    """Raise :class:`PortBusyError` when nothing can listen on ``host:port``. ``how`` names
    the option or setting that chooses another port (``--port N``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # the same options the server listens with, so a port in TIME_WAIT is not "busy"
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortBusyError(
                    f"port {port} on {host} is already in use (another program, or another "
                    f"metaregistry, listens there): choose another with {how}"
                ) from None
            if exc.errno in (errno.EACCES, errno.EPERM):
                raise PortBusyError(
                    f"not allowed to listen on {host}:{port} (ports below 1024 need "
                    f"privileges): choose another with {how}"
                ) from None
            raise PortBusyError(f"cannot listen on {host}:{port}: {exc.strerror}; {how}") from None
