"""``python -m metaregistry.mock.server NAME ...``: the ``mock-registry`` command alone (what
:func:`~metaregistry.mock.server.spawn` runs: it loads no other command module)."""

from metaregistry.mock.server.command import mock_registry_command

mock_registry_command(prog_name="metaregistry mock-registry")
