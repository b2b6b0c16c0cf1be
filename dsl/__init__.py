"""The journey language: source text -> syntax tree -> checked model -> compiled graph.

The dsl knows nothing of the engine or of Salesforce; it turns ``*.journey`` text into a
``CompiledJourney`` (``dsl.compiled``) or a list of diagnostics saying where and why not.
"""
