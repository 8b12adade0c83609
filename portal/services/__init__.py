"""Domain logic. Services use db.session but never commit: the caller owns the transaction."""
