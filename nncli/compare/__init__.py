"""Many trainings of one problem: specs, plans, executors, results and loss landscapes."""
