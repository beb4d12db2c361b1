"""The Python side of examples/celery: a Celery app and the tasks a Node script sends to.

Run a worker for them (from this folder):
    /usr/bin/python3 -m celery -A tasks worker -Q celery -l INFO

CELERY_URL names the Redis (broker and result backend alike); db 15 by default.
"""
import os

from celery import Celery

URL = os.environ.get('CELERY_URL', 'redis://127.0.0.1:6379/15')

app = Celery('tasks', broker=URL, backend=URL)
app.conf.update(
    # celeriac speaks JSON only (never pickle).
    task_serializer='json',
    result_serializer='json',
    accept_content=['json'],
    # Tasks named node.* run in the celeriac worker (node-worker.ts), which serves the queue 'node'.
    task_routes={'node.*': {'queue': 'node'}},
)


@app.task(name='tasks.add')
def add(x, y):
    return x + y


@app.task(name='tasks.mul')
def mul(x, y):
    return x * y


@app.task(name='tasks.greet')
def greet(name, greeting='Hello', punctuation='!'):
    return '%s, %s%s' % (greeting, name, punctuation)


@app.task(name='tasks.xsum')
def xsum(numbers):
    return sum(numbers)


@app.task(name='tasks.divide')
def divide(x, y):
    return x / y
