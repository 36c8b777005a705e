"""The imaging model's defaults where neither the scans nor the config give it.

Kept apart (constants alone, no imports) so that the workflow reads them at parse time: a 20x/0.5
LR objective, a 50x/0.8 HR objective (the paper's pair) and a 532 nm laser. The LR consistency check
(:mod:`ramansr.consistency`) and the Wiener baseline (:mod:`ramansr.models.wiener`) use them for your
own scans unless ``predict: lowres_na``, ``highres_na`` and ``excitation_nm`` say otherwise.
"""

DEFAULT_LOWRES_NA = 0.5
DEFAULT_HIGHRES_NA = 0.8
DEFAULT_EXCITATION_NM = 532.0
