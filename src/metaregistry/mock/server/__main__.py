"""``python -m metaregistry.mock.server NAME ...``: the ``mock-registry`` command alone (what
:func:`~metaregistry.mock.server.spawn` runs: it loads no other command module).

Started by :func:`~metaregistry.mock.server.spawn` (which names its PID in
``METAREGISTRY_PARENT_PID``), it stops when its parent dies, even by SIGKILL (Linux: the
kernel sends it SIGTERM), so a demo killed outright leaves no mock behind."""

from metaregistry.mock.server.command import mock_registry_command
from metaregistry.stopping import die_with_parent, parent_from_environment

die_with_parent(parent_from_environment())
mock_registry_command(prog_name="metaregistry mock-registry")
