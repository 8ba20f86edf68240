# %% [markdown]
# # A benchmark from Python
#
# A notebook-style script (cells marked `# %%`, as Jupyter, VS Code and jupytext read them): it builds
# a plan from specs, runs it through `restore_core.run_plan`, and reads the typed records back. The
# tests run it as it stands (tests/docs/test_notebooks.py), on two 64-pixel crops of the embedded
# photographs, so it takes seconds.

# %%
from pathlib import Path
from tempfile import mkdtemp

from restore_core import BenchPlan, run_plan
from restore_core.bench import tables
from restore_core.bench.compare import compare, compare_rows
from restore_core.bench.store import load_run

plan = BenchPlan.from_specs(
    restorers="dncnn,nlm,identity",      # the same spec strings as `restore bench -r`
    degradations="gaussian15,gaussian25",
    datasets="skimage",                  # a registered name or a folder of images
    metrics="psnr,ssim",
    limit=2, crop=64, seed=0,
)
print(plan)

# %% [markdown]
# `run_plan` returns a `BenchResult`: every cell in matrix order (`CellResult`: mean scores, timing,
# memory, `skipped` or `failed` with the reason) and every record behind them (`Record`, one per
# cell and image, of kind `image`, `skipped` or `failed`). With a folder as `store`, it also writes a
# run directory that `restore bench report` and `restore bench compare` read, and `resume=True`
# continues it.

# %%
runs = Path(mkdtemp(prefix="restore-notebook-"))
result = run_plan(plan, store=runs / "first")

for cell in result.cells:
    if cell.skipped:  # the shipped colour DnCNN has weights for sigma 25 only: its sigma 15 cell says so
        print(f"{cell.label:10} {cell.degradation:11} skipped: {cell.skipped[:60]}...")
        continue
    gain = cell.mean("psnr") - cell.mean("psnr", of_input=True)
    print(f"{cell.label:10} {cell.degradation:11} {cell.images} images  psnr {cell.mean('psnr'):6.2f}  "
          f"gain {gain:+6.2f} dB  {cell.seconds_per_image * 1000:7.1f} ms/image")

# %%
for record in result.records[:4]:
    print(record.kind, record.cell.label, record.cell.degradation, record.image,
          {name: round(value, 3) for name, value in record.metrics.items()})

dncnn = next(c for c in result.cells if c.restorer == "dncnn" and c.degradation == "gaussian25")
assert dncnn.images == 2 and not dncnn.failed
assert dncnn.mean("psnr") > next(c for c in result.cells if c.restorer == "nlm"
                                 and c.degradation == "gaussian25").mean("psnr")

# %% [markdown]
# The same rows `restore bench --format json` prints, and the same table it draws (Markdown here):

# %%
rows = result.rows()
print(tables.markdown(tables.summary_table(rows, result.metrics, result.metric_directions), bold_best=True))

# %% [markdown]
# A second run with another seed, compared cell by cell with the first (B's gain over A in each
# metric's direction), read back from the two run directories:

# %%
second = run_plan(plan.with_options(seed=1), store=runs / "second")
for row in compare_rows(compare(runs / "first", runs / "second")):
    if row["psnr_a"] is None:
        continue
    print(row["restorer"], row["degradation"], f"psnr A {row['psnr_a']:.2f}  B {row['psnr_b']:.2f}  "
          f"gain {row['psnr_gain']:+.3f}")
assert load_run(runs / "second").directions == {"psnr": True, "ssim": True}
