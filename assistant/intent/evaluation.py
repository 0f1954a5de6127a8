"""`eval-intents`: run a labelled file through the server's classifier and policy (or the live chat server)
and report per-intent figures, a confusion matrix and one JSON summary."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from assistant.intent.labels import OUT_OF_SCOPE
from assistant.intent.metrics import effective_predictions, per_intent_table, summary_metrics

PREDICT_CHUNK = 512
HUMAN_AGENT_INTENT = "contact_human_agent"


@dataclass
class Predictions:
    intents: list[str]
    fallbacks: list[bool]


def read_labelled_rows(path: Path) -> tuple[list[str], list[str]]:
    texts, gold = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                texts.append(row["text"])
                gold.append(row["intent"])
    return texts, gold


def classify_locally(classifier, texts: Sequence[str], progress: bool = True) -> Predictions:
    """The same classifier and fallback policy the server uses, in chunks with a progress bar."""
    intents, fallbacks = [], []
    for start in tqdm(range(0, len(texts), PREDICT_CHUNK), desc="classifying", disable=not progress):
        for reading in classifier.predict(list(texts[start: start + PREDICT_CHUNK])):
            intents.append(reading.intent)
            fallbacks.append(reading.fallback)
    return Predictions(intents, fallbacks)


def reply_to_prediction(reply: dict) -> tuple[str, bool]:
    """A server reply as (intent, fell back): a handoff counts as a fallback unless the shopper asked for one."""
    intent = reply.get("intent") or OUT_OF_SCOPE
    return intent, bool(reply.get("handoff")) and intent != HUMAN_AGENT_INTENT


async def _open_session(client, base_url: str) -> tuple[str, str]:
    response = await client.post(f"{base_url}/api/sessions", json={})
    while response.status_code == 429:  # the server's sessions-per-address limit: wait as it says
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
        response = await client.post(f"{base_url}/api/sessions", json={})
    response.raise_for_status()
    body = response.json()
    return body["session_id"], body["token"]


def _ws_url(base_url: str, session_id: str) -> str:
    scheme = "wss" if base_url.startswith("https") else "ws"
    host = base_url.split("://", 1)[1]
    return f"{scheme}://{host}/ws/chat?session_id={session_id}"


async def _ask_once(client, base_url: str, text: str, timeout_s: float) -> dict:
    """Send one message in a fresh session (no dialogue state carries over) and return the bot's reply."""
    import websockets

    session_id, token = await _open_session(client, base_url)
    async with websockets.connect(_ws_url(base_url, session_id)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))  # never in the URL (docs/protocol.md)
        msg_id = uuid.uuid4().hex
        await ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": msg_id}))
        async with asyncio.timeout(timeout_s):
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "reply":
                    return frame
                if frame.get("type") == "error":
                    return {"intent": None, "handoff": True, "error": frame}


@dataclass
class TimedReply:
    """The bot's reply frame to one message (None when none came) and the milliseconds it took."""

    frame: dict | None
    ms: float


async def _ask_each(base_url: str, texts: Sequence[str], concurrency: int, timeout_s: float,
                    progress: bool) -> list[TimedReply]:
    import httpx

    results: list[TimedReply | None] = [None] * len(texts)
    bar = tqdm(total=len(texts), desc="through server", disable=not progress)
    next_index = iter(range(len(texts)))

    async def worker(client) -> None:
        for i in next_index:
            started = time.perf_counter()
            try:
                frame = await _ask_once(client, base_url, texts[i], timeout_s)
            except (OSError, TimeoutError, httpx.HTTPError, Exception) as exc:  # noqa: BLE001 - a lost row is scored
                tqdm.write(f"row {i}: no reply ({exc!r})")
                frame = None
            results[i] = TimedReply(frame, (time.perf_counter() - started) * 1000.0)
            bar.update(1)

    async with httpx.AsyncClient(timeout=timeout_s) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    bar.close()
    return results  # type: ignore[return-value]


def ask_each_in_fresh_session(base_url: str, texts: Sequence[str], concurrency: int, timeout_s: float,
                              progress: bool = True) -> list[TimedReply]:
    """Each text sent in its own new session of a running chat server, `concurrency` at a time."""
    return asyncio.run(_ask_each(base_url.rstrip("/"), texts, concurrency, timeout_s, progress))


def classify_through_server(base_url: str, texts: Sequence[str], concurrency: int, timeout_s: float,
                            progress: bool = True) -> Predictions:
    replies = ask_each_in_fresh_session(base_url, texts, concurrency, timeout_s, progress)
    readings = [reply_to_prediction(r.frame) if r.frame else (OUT_OF_SCOPE, True) for r in replies]
    return Predictions([r[0] for r in readings], [r[1] for r in readings])


def save_confusion_matrix(gold: Sequence[str], predicted: Sequence[str], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = sorted(set(gold) | set(predicted))
    matrix = confusion_matrix(gold, predicted, labels=labels)
    size = max(6, len(labels) * 0.35)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted (fallback = out_of_scope)")
    ax.set_ylabel("gold")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def evaluate(gold: Sequence[str], predictions: Predictions, figure_path: Path) -> tuple[list[dict], Path, dict]:
    """(per-intent table, confusion-matrix PNG, summary) of predictions against gold labels."""
    predicted = effective_predictions(predictions.intents, predictions.fallbacks)
    png = save_confusion_matrix(gold, predicted, figure_path)
    table = per_intent_table(gold, predictions.intents, predictions.fallbacks)
    return table, png, summary_metrics(gold, predictions.intents, predictions.fallbacks)
