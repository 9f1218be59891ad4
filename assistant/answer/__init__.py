"""The answer side of the spine: passages → candidates → compose → checks → cite.

Every answer sentence is a span of a retrieved passage, never written here."""
