"""Bundles: wheels installed for the TARGET into a Lambda zip, a Lambda layer or a directory."""
