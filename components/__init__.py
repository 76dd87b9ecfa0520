"""The platform's ComponentResources, one per module, each taking a typed Args object."""
