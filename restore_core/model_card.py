"""Model cards: the Markdown note written beside trained weights, from what training recorded."""

from __future__ import annotations

from typing import Any


def render_model_card(summary: dict[str, Any], metadata: dict[str, Any],
                      history: list[dict[str, float]]) -> str:
    """Return the Markdown model card of one training run."""
    curve = "\n".join(f"| {h['step']} | {h['seconds'] / 60:.1f} | {h['val_psnr']:.3f} |"
                      for h in _thin(history, 12))
    config = metadata.get("config", {})
    return f"""# {metadata.get('key', summary['weights'])}

Trained by `restore train`; every figure below was written by that run.

| | |
|---|---|
| restorer | `{metadata['restorer']}` |
| degradation | `{metadata['degradation']}` |
| training data | `{metadata['dataset']}`: {metadata['train_images']} images, {metadata['val_images']} held out for validation |
| command | `{metadata.get('command') or '(called from Python)'}` |
| duration | {summary['minutes']:.1f} min, {summary['steps']} steps, {summary['patches_seen']} patches {config} |
| hardware | {metadata['machine']}, {metadata['threads']} torch thread(s), bf16 autocast {metadata['bf16']}, torch {metadata['torch']} |
| best validation PSNR | {summary['best_val_psnr']:.3f} dB at step {summary['best_step']} (centre crops, task protocol) |
| restore | {metadata['restore_version']} |

## Validation curve

| step | minutes | val PSNR (dB) |
|---:|---:|---:|
{curve}
"""


def _thin(history: list[dict[str, float]], count: int) -> list[dict[str, float]]:
    if len(history) <= count:
        return history
    step = len(history) / count
    picked = [history[int(i * step)] for i in range(count)]
    return picked if picked[-1] is history[-1] else [*picked, history[-1]]
