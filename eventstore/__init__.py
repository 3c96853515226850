"""The shared kernel: event store, aggregates, relay, consumers, projections, metrics, config.

Import the module you need (``eventstore.aggregate``, ``eventstore.store``, ...): this package
imports nothing itself, so a domain module that imports ``eventstore.aggregate`` loads no
database or broker driver.
"""
