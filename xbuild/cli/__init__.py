"""Thin typer commands over the library: parse options, call, render. Only this layer prints or exits."""
