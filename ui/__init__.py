"""Browser UI of 智医助理: a Gradio chat that renders cited answers as HTML."""
