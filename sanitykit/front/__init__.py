"""Layer 4, the front: target loading, runner, renderers, CLI, grading, pytest plugin."""
