"""A Gradio app with the real app's `/predict` signature (file in; JSON and PNG out) that does no work.

    python -m bench.floor_app --port PORT

Its round trip is Gradio's own cost on this machine: the floor under the real app's round trip.
"""

from __future__ import annotations

import argparse

import gradio as gr
from PIL import Image

OVERLAY = Image.new("RGB", (200, 150), (200, 120, 90))


def predict(file: str | None) -> tuple[dict, Image.Image]:
    return {"p_malignant": 0.5, "file": bool(file)}, OVERLAY


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.floor_app", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    with gr.Blocks() as demo:
        file = gr.File(label="image", type="filepath", file_count="single")
        answer = gr.JSON(label="result")
        overlay = gr.Image(label="Grad-CAM overlay", type="pil", format="png")
        gr.Button("predict").click(predict, file, [answer, overlay], api_name="predict", concurrency_limit=1)
    demo.queue(max_size=20, default_concurrency_limit=1).launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
