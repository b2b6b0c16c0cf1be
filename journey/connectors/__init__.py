"""The side-effect boundary: Salesforce (simple-salesforce), the emulated org, the dry run's
scratch copies and captured writes, the rule-free journal, and notification delivery.
Connectors know Salesforce, never the executor."""
