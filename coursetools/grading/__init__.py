"""``course.py grade``: scoring submitted exercise notebooks against the instructor's tests.

A chapter author never needs to touch this package. Its parts, by what they do:

* :mod:`.submissions`: which files were handed in, by which student, for which exercise;
* :mod:`.assemble`: the notebook to run: the instructor's copy with the student's answers;
* :mod:`.run`: running it: a kernel per notebook, time limits, restarts, a class in parallel;
* :mod:`.sandbox`: the first layer of isolation: bubblewrap around each kernel (Linux);
* :mod:`.kernel`: the kernel itself: resource limits and the audit hook (the second layer);
* :mod:`.guard`: inside the kernel, undoing a submission's monkeypatching before each test cell;
* :mod:`.report`: the gradebook and each student's feedback.

The exercise format and the generator of ``exercises/`` are :mod:`coursetools.exercises`.
This module imports nothing, so that the kernel can import :mod:`.guard` and :mod:`.kernel` alone.
"""
