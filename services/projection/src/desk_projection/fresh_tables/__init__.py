"""The read models rebuilt from the log into fresh tables inside the live database, while the live
projection keeps projecting and serving: then swapped in (`desk-projection rebuild --swap`) or
compared with the live tables row by row (`desk-projection check`).

- `place`: where fresh tables live (PostgreSQL: a schema of their own; SQLite: a file of their own
  beside the live one) and engines that reach them.
- `replay`: the unchanged projector applying the log to them, up to an exact position.
- `held`: a connection kept open (its transaction, lock or snapshot) across awaits.
- `swap`: the live rows replaced by the fresh ones in one transaction that holds the live
  projectors off, at the very position they are at.
- `compare`: both sets of tables walked in key order, differences counted and described.
- `commands`: the two commands put together."""
