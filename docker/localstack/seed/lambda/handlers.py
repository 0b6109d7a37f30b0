"""The AWS tier's Lambda functions in the compose reproduction (LocalStack runs them for
real, each in its own container of the python3.12 runtime image).

agent-echo  -> handlers.echo:    returns its event.
sleeper     -> handlers.sleeper: returns its event after the event's `sleep_ms`
               milliseconds (0..60000; anything else means no wait): the slow call the AWS
               tier's boundary probes hold open, the same contract as the `sleeper` of
               scripts/moto/server.py.
"""

import time

MAX_SLEEP_MS = 60_000


def echo(event, context):
    return event


def requested_sleep_ms(event):
    if not isinstance(event, dict):
        return 0
    value = event.get("sleep_ms")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return max(0, min(MAX_SLEEP_MS, int(value)))


def sleeper(event, context):
    delay_ms = requested_sleep_ms(event)
    if delay_ms:
        time.sleep(delay_ms / 1000)
    return event
