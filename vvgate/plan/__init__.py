"""The deployment plan traced item by item: the plan as data, which checks claim which items,
and each item's state in a run."""
