"""The side-effect boundary: Salesforce (simple-salesforce), the emulated org, the recorder
for dry runs, and notification delivery. Connectors know Salesforce, never the executor."""
