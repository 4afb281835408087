"""The web app (gradio): assess, compare and batch tabs, charts and exports."""
