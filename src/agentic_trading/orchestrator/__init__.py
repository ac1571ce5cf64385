"""The orchestrator: one workflow per signal, exactly one decision each."""
