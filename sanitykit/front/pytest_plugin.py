"""pytest plugin: sanitykit checks as test items (`pytest --sanitykit TARGET`).

Placeholder while the plugin is written: registers nothing, so pytest starts cleanly.
"""
