"""Small shared helpers with one home each."""
