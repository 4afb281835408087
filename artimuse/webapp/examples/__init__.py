"""Example pictures shipped with the web app (package data), and the script that draws them."""
