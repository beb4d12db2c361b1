"""Python → Node: calls the tasks that the celeriac worker (node-worker.ts) serves on the queue 'node'.

Start the worker first (from the repository's root):
    npx tsx examples/celery/node-worker.ts
then, from this folder:
    /usr/bin/python3 call_node.py
"""
from tasks import app


# A stub, so that Python code can call the Node task as its own: .delay() sends 'node.add',
# which task_routes (tasks.py) puts on the queue 'node'. Its body never runs in Python.
@app.task(name='node.add')
def add(x, y):
    raise NotImplementedError('node.add runs in the celeriac worker')


WAIT = 10

# By name, as from any Celery client: no stub needed.
print('node.add(2, 3) =', app.send_task('node.add', args=[2, 3], queue='node').get(timeout=WAIT))
# kwargs reach the Node task as a trailing object.
print('node.greet =', app.send_task('node.greet', args=['Ada'], kwargs={'greeting': 'Hi'}, queue='node').get(timeout=WAIT))
# Through the stub.
print('add.delay(20, 22) =', add.delay(20, 22).get(timeout=WAIT))
# Many at once: the worker runs them side by side (its queue's concurrency).
results = [app.send_task('node.add', args=[i, i], queue='node') for i in range(10)]
print('ten adds =', [r.get(timeout=WAIT) for r in results])
# An error thrown in Node is raised here: a TypeError as Python's own TypeError.
try:
    app.send_task('node.parse', args=['not a number'], queue='node').get(timeout=WAIT)
except TypeError as e:
    print('node.parse raised TypeError:', e)
