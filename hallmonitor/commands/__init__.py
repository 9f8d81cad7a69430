"""One module per group of `hallmonitor` subcommands; hallmonitor/cli.py adds them to the command."""

from hallmonitor.commands import access, bench, hall, models, notify, photos

COMMANDS = [
    hall.run,
    hall.demo,
    hall.dashboard,
    photos.analyze,
    photos.eval_command,
    bench.bench,
    models.models,
    models.train,
    models.heads,
    access.users,
    access.tokens,
    access.webhooks,
    notify.notify,
]
