"""Model cards: the Markdown note written beside trained weights, from what training recorded."""

from __future__ import annotations

from typing import Any


def render_model_card(summary: dict[str, Any], metadata: dict[str, Any],
                      history: list[dict[str, float]]) -> str:
    """Return the Markdown model card of one training run."""
    curve = "\n".join(f"| {h['step']} | {h['seconds'] / 60:.1f} | {h['val_psnr']:.3f} |"
                      for h in _thin(history, 12))
    config = metadata.get("config", {})
    rows = [
        ("restorer", f"`{metadata['restorer']}`"),
        ("degradation", f"`{metadata['degradation']}`"),
        ("training data", f"`{metadata['dataset']}`: {metadata['train_images']} images, "
                          f"{metadata['val_images']} held out for validation"),
        ("command", f"`{metadata.get('command') or '(called from Python)'}`"),
        *([("initialised from", _initialised_from(metadata))] if metadata.get("init") else []),
        ("duration", f"{summary['minutes']:.1f} min, {summary['steps']} steps, "
                     f"{summary['patches_seen']} patches"),
        ("settings", ", ".join(f"{k}={v}" for k, v in config.items())),
        ("hardware", f"{metadata['machine']}, {metadata['threads']} torch thread(s), "
                     f"bf16 autocast {metadata['bf16']}, torch {metadata['torch']}"),
        ("best validation PSNR", f"{summary['best_val_psnr']:.3f} dB at step {summary['best_step']} "
                                 "(centre crops, task protocol)"),
        ("restore version", str(metadata["restore_version"])),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"""# {metadata.get('key', summary['weights'])}

Trained by `restore train`; every figure below was written by that run.

| | |
|---|---|
{table}

## Validation curve

| step | minutes | val PSNR (dB) |
|---:|---:|---:|
{curve}
"""


def _initialised_from(metadata: dict[str, Any]) -> str:
    stages = metadata.get("earlier_stages") or []
    if not stages:
        return f"`{metadata['init']}` (its own training time is not counted here)"
    minutes = sum(s["minutes"] for s in stages)
    patches = sum(s["patches_seen"] for s in stages)
    return (f"`{metadata['init']}`, itself trained in {len(stages)} earlier stage(s) totalling "
            f"{minutes:.1f} min and {patches} patches (not counted in the duration below)")


def _thin(history: list[dict[str, float]], count: int) -> list[dict[str, float]]:
    if len(history) <= count:
        return history
    step = len(history) / count
    picked = [history[int(i * step)] for i in range(count)]
    return picked if picked[-1] is history[-1] else [*picked, history[-1]]
