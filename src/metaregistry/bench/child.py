"""Entry point of a phase's child process: ``python -m metaregistry.bench.child PHASE JSON``."""

from __future__ import annotations

import json
import sys

from metaregistry.bench.phases import PHASES
from metaregistry.memory import peak_rss_kib


def main() -> None:
    from metaregistry.stopping import die_with_parent, parent_from_environment, stop_on_sigterm

    stop_on_sigterm()  # the benchmark stops a phase with SIGTERM: what it started stops too
    die_with_parent(parent_from_environment())  # and a benchmark killed outright, too
    name, params = sys.argv[1], json.loads(sys.argv[2])
    if name == "lookup_server":
        from metaregistry.bench.load import serve_forever

        serve_forever(params)
        return
    result = PHASES[name](params)
    # The phase's own peak, measured here: see metaregistry.memory (wait4's ru_maxrss would
    # include the benchmark process's size at the fork).
    result["peak_rss_mib"] = round(peak_rss_kib() / 1024, 1)
    print(json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
