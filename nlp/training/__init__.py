"""Training and building the model's artefacts: data, training, evaluation, the int8 graph.

Serving uses only the export, to check that the int8 graph matches the weights it loads and
to re-make a stale one (nlp.runtime); everything else here is for training."""
