from explorer.cli import app

app()
