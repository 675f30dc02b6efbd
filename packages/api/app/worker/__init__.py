"""The training worker: ``dreadnode-api worker`` claims queued jobs (SFT and RL) and trains them on
Tinker through Tinker's own SDK, durably (a killed worker's job resumes from its last checkpoint).

Installed with the ``worker`` extra (``dreadnode-api[worker]``): the renderers, PyTorch, the
``tinker`` SDK and the durable-execution engine stay out of an API-only deployment, and nothing
the API process imports pulls them in.
"""

from __future__ import annotations

__all__: list[str] = []
