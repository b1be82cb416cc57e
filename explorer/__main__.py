from explorer.cli import app

app(prog_name="explorer")
