"""What's in a Score? -- the course library.

`utils` holds two kinds of code:

* the **course core**, used by every chapter: :mod:`utils.core` (seed, device, threads,
  :func:`~utils.core.setup`), :mod:`utils.claims` (the claim record), :mod:`utils.plotting`
  (one figure style), :mod:`utils.progress` (a progress bar that is quiet under the tests),
  :mod:`utils.training` (one small training loop), :mod:`utils.data` (seeded splits) and
  :mod:`utils.catalog` (the list of chapters and papers);
* one **topic module per paper** (for example ``utils.calibration`` for chapter 01), holding the
  from-scratch implementation of that paper's method, each function naming the equation it
  implements.

A notebook starts with::

    from utils import setup
    course = setup(chapter=1)      # seeds python/numpy/torch from COURSE_SEED, picks the device
"""

from utils.claims import record_claim
from utils.core import configure_threads, get_device, get_seed, seed_everything, setup

__all__ = [
    "seed_everything",
    "get_seed",
    "get_device",
    "configure_threads",
    "setup",
    "record_claim",
]
