"""`doit` here builds this cinestitch project (`doit list` shows the steps)."""

from cinestitch.tasks import DOIT_CONFIG, project_tasks  # noqa: F401  (doit reads DOIT_CONFIG)


def task_cinestitch():  # type: ignore[no-untyped-def]
    return project_tasks(__file__)
