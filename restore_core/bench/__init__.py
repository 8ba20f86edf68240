"""The benchmark: a plan built from specs, the runner that measures it into typed records, the
durable results store, parallel execution, and the tables, comparisons and reports of a run."""
