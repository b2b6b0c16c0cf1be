"""The durable engine: store, triggers -> runs, executor (decides), scheduler (waits).

It reads compiled journeys (``dsl.compiled``) and acts only through the connector
interface (``connectors``); it never imports simple-salesforce.
"""
