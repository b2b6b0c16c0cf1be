"""The durable engine: store, triggers -> runs, executor (decides), runner (acts, durably).

It reads compiled journeys (``journey.dsl``) and acts only through the connector
interface (``journey.connectors.base``); it never imports simple-salesforce. Read in this order:

* ``engine.config`` — ``journey.toml``; ``engine.project`` opens config, store, published
  journeys (``engine.journeys``: every version a run entered, kept) and the connector.
* ``engine.store`` — the SQLAlchemy tables, schema versions and migrations.
* ``engine.intake`` — contacts in: CSV import, form events; ``engine.contacts`` writes
  contact changes (``engine.field_values``: columns or typed values), and
  ``engine.change_effects`` what they cause (events, segments, waking runs, sync marks);
  ``engine.contact_loading`` reads contacts back.
* ``engine.triggers`` — events from the inbox become runs, honouring entry rules.
* ``engine.executor`` — deterministic: walks a run until a wait, an effect, an exit, a goal
  or the end; ``engine.conditions`` evaluates and explains conditions; ``engine.actions``
  renders an action's parameters.
* ``engine.runner`` — the durable loop and its crash-safety protocol.
* ``engine.dryrun`` — the same executor in memory with virtual time.
* ``engine.status`` — per-step counts and a contact's story for people.

Public entry points for other parts (the CLI, the demo): ``engine.project.open_project``,
``engine.intake.import_csv`` / ``submit_form``, ``Project.runner().run_until_idle(now)``,
``engine.dryrun.dry_run`` / ``dry_run_file``, ``engine.status.journey_status`` /
``contact_report``.
"""
