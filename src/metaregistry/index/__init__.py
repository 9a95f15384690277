"""The index: unit blocks with every version, raw payloads, quarantine, sync bookkeeping."""
