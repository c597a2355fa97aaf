"""Building the shipped glyph zoo: training stages (stages.py), measuring every variant
(evaluation.py), the rule that chooses what ships and the variants' names (variants.py),
and packaging with its zoo.json (package.py). scripts/train_zoo.py and scripts/eval_zoo.py
are the command lines over it; TRAINING.md in src/stylebridge/zoo/glyphs/ tells the story."""
