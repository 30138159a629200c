"""Layer 2, the engine: numerical gradients, gradcheck, diagnosis, result objects.

Imports nothing from sanitykit.checks or sanitykit.front.
"""
