"""ArtiMuse: image aesthetics scores and expert comments, exact to the released checkpoints.

The public surface is `load()`, the `ArtiMuse` it returns (`score`, `score_many`, `comment`,
`assess`, `stream`), the result types and the aspect names.
"""

from artimuse.api import ArtiMuse, load
from artimuse.images import ImageError
from artimuse.prompts import ASPECTS, RADAR_ASPECTS
from artimuse.results import Assessment, Scores

__version__ = "0.1.0"
__all__ = ["load", "ArtiMuse", "Assessment", "Scores", "ImageError", "ASPECTS", "RADAR_ASPECTS"]
