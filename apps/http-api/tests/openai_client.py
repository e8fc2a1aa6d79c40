"""The official OpenAI Python client against `llf serve`, unchanged: models, a plain answer, a
streamed answer with usage, embeddings, an error, and a saved conversation through extra_body.
Prints one JSON object for the Rust test to check. Usage: openai_client.py BASE_URL MODEL EMBED_MODEL
"""
import json
import sys

import openai
from openai import OpenAI

base_url, model, embed_model = sys.argv[1:4]
client = OpenAI(base_url=base_url, api_key="unused-on-loopback", max_retries=0)
question = [{"role": "user", "content": "What is the capital of France?"}]
out = {"version": openai.__version__}

out["models"] = [m.id for m in client.models.list()]
out["model"] = client.models.retrieve(model).id

r = client.chat.completions.create(model=model, messages=question, max_tokens=16, temperature=0)
out["plain"] = {
    "content": r.choices[0].message.content,
    "finish": r.choices[0].finish_reason,
    "usage": r.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"}),
}

pieces, usage, finish, empty_choice_chunks = [], None, None, 0
stream = client.chat.completions.create(
    model=model, messages=question, max_tokens=16, temperature=0, stream=True,
    stream_options={"include_usage": True},
)
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"})
    if not chunk.choices:
        empty_choice_chunks += 1
    for c in chunk.choices:
        if c.delta.content:
            pieces.append(c.delta.content)
        if c.finish_reason:
            finish = c.finish_reason
out["stream"] = {"content": "".join(pieces), "pieces": len(pieces), "finish": finish,
                 "usage": usage, "empty_choice_chunks": empty_choice_chunks}

# The client asks for base64 by default and decodes it itself.
e = client.embeddings.create(model=embed_model, input=["The cat sat on the mat.", "A feline rested on a rug."])
out["embeddings"] = {"count": len(e.data), "dims": [len(d.embedding) for d in e.data],
                     "cosine": sum(a * b for a, b in zip(e.data[0].embedding, e.data[1].embedding))}

try:
    client.chat.completions.create(model="no-such-model", messages=question)
    out["error"] = None
except openai.NotFoundError as err:
    out["error"] = {"status": err.status_code, "code": err.code, "type": err.type}

r = client.chat.completions.create(model=model, messages=question, max_tokens=8, temperature=0,
                                   extra_body={"llf": {"conversation_id": "new"}})
out["saved"] = (r.model_extra or {}).get("llf")

print(json.dumps(out))
