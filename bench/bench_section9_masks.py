"""The mask work alone for `in_segment` of the seed segment + one rule vs the same rules inline, at 1M contacts
(in-memory back end; no database round trip, no rule checking): medians of 200 warm evaluations, then one cold.

    python bench/bench_section9_masks.py
"""
import shutil, statistics, sys, tempfile, time
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent)); sys.path.insert(0, str(HERE))
import data, segmenter
from segmenter.evaluate import rules_mask
src = data.build(1_000_000)
work = Path(tempfile.mkdtemp()) / "db.sqlite"; shutil.copy(src, work)
seg = segmenter.connect(f"sqlite:///{work}", backend="memory")
SEED = [{"field": "status", "operator": "equals", "value": "active"}, {"field": "company", "operator": "contains", "value": "Inc"}]
MORE = {"field": "created_at", "operator": "in_last_days", "value": 365}
s = seg.create_segment("Seed", SEED)
comp = seg.validate([{"field": "segment", "operator": "in_segment", "value": s["id"]}, MORE])
inl = seg.validate([*SEED, MORE])
now = segmenter.service._now()
snap = seg.backend.snapshot; cache = seg.backend.cache
def t(rules, n=200):
    xs = []
    for _ in range(n):
        a = time.perf_counter(); rules_mask(rules, snap, now, cache); xs.append(time.perf_counter() - a)
    return statistics.median(xs) * 1000
for _ in range(2):
    print("in_segment %.2f ms  inline %.2f ms" % (t(comp), t(inl)))
cache.masks.clear(); a=time.perf_counter(); rules_mask(comp, snap, now, cache); c1=time.perf_counter()-a
cache.masks.clear(); a=time.perf_counter(); rules_mask(inl, snap, now, cache); c2=time.perf_counter()-a
print("cold in_segment %.1f ms inline %.1f ms" % (c1*1000, c2*1000))
import os; print("load", os.getloadavg())
shutil.rmtree(work.parent)
