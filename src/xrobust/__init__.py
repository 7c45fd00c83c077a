"""xrobust: does English intermediate-task training change adversarial robustness across languages?

Data flow: config -> papermill parameters -> notebook -> functions here -> result JSON -> book.
"""
__version__ = "0.1.0"
