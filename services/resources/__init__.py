"""Resources: the shared library, the consortium's pool of experts, and engagements of an expert
by one or several hubs, split to the cent."""
