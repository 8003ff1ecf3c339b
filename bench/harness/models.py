"""Where tests keep the ONNX export of the embedding model: made once, shared by every test and bot process."""

from __future__ import annotations

import tempfile
from pathlib import Path

MODEL_CACHE = Path(tempfile.gettempdir()) / "career-advisor-test-models"
