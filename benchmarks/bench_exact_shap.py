r"""Benchmark exact SHAP values (path-dependent TreeSHAP) of LightGBM: which library, what size.

Usage::

    # the registered respiratory model and its real test-date frame
    .venv/bin/python benchmarks/bench_exact_shap.py --workspace /tmp/area1m_r \\
        --model-uri models:/respiratory_admission_12m/1
    # also time 1M rows (the test frame's rows repeated) for the methods fast enough
    .venv/bin/python benchmarks/bench_exact_shap.py --workspace /tmp/area1m_r \\
        --model-uri models:/respiratory_admission_12m/1 --million
    # model size against test AUROC and explanation cost (trains a few boosters, ~10+ minutes)
    .venv/bin/python benchmarks/bench_exact_shap.py --workspace /tmp/area1m_r --sizes
    # no workspace: a synthetic frame (counts, flags, categories, NaNs) and a model trained on it
    .venv/bin/python benchmarks/bench_exact_shap.py --synthetic 300000 --rounds 400
    # the project's fast exact SHAP on 1M fresh synthetic rows, all at once (no chunks)
    .venv/bin/python benchmarks/bench_exact_shap.py --rounds 300 --rows 1000000 \\
        --methods woodelf_lightgbm --chunk 1000000

Methods (``--methods``, comma-separated): ``lightgbm_1``/``lightgbm_2`` (``pred_contrib`` on 1
or 2 threads, the reference), ``shap`` (``shap.TreeExplainer``, on 20,000 rows),
``fasttreeshap_{v1,v2}_{1,2}`` (``fasttreeshap-fixed``, algorithm and threads), ``woodelf``
(``woodelf-explainer`` as shipped) and ``woodelf_lightgbm``
(:func:`risk_model.modelling.treeshap.exact_shap`: woodelf's algorithm on trees rebuilt from
``dump_model()`` with LightGBM's own routing of categories and missing values, checked on 200
rows against ``pred_contrib``; ``--chunk`` rows at a time, its default unless given).
``fasttreeshap-fixed`` is not a project dependency: ``pip install fasttreeshap-fixed``.
``--methods lightgbm_2,woodelf_lightgbm`` is the short run.

Every method runs in a fresh process on the same ``--rows`` rows (those whose pseudonym hashes
lowest), and its peak RSS while it runs is sampled; the parent then compares its contributions
(feature columns and the bias column, log-odds) with the first ``lightgbm_*`` method's: the
largest absolute difference overall, on the contributions of missing numbers and of categorical
features, and the largest additivity gap against ``raw_score``. A method that cannot explain
the model (shipped woodelf and fasttreeshap-fixed cannot parse categorical splits) is reported
with its error. Timings include converting the frame to what each library takes.

``--sizes`` retrains the model (spec's dates, early stopping on half the validation people, at
most ``--max-rounds``) for each of ``--leaves`` and prints the test AUROC (raw score) and the
``pred_contrib`` cost per 100,000 rows at 50, 100, 200, 300 trees and the best iteration;
``--save DIR`` keeps the boosters for ``--booster FILE`` runs.

Prints one line per method and a JSON summary on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

METHODS = ("lightgbm_1", "lightgbm_2", "fasttreeshap_v1_1", "fasttreeshap_v2_1",
           "fasttreeshap_v1_2", "fasttreeshap_v2_2", "woodelf", "woodelf_lightgbm", "shap")
#: rows each method is given at most (shap.TreeExplainer is LightGBM's pred_contrib on one
#: thread plus overhead, so a subsample is enough to show it)
SUBSAMPLE = {"shap": 20_000}
TOLERANCE = 1e-5


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _numeric(frame: pd.DataFrame) -> np.ndarray:
    """The frame as LightGBM sees it: category codes (missing NaN), numbers as they are."""
    out = np.empty(frame.shape, dtype=np.float64)
    for j, name in enumerate(frame.columns):
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy().astype(np.float64)
            codes[codes < 0] = np.nan
            out[:, j] = codes
        else:
            out[:, j] = column.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _explain(method: str, booster: Any, frame: pd.DataFrame, chunk: int | None = None) -> Any:
    """Contributions of ``frame`` (n x features+1, the last column the bias) by ``method``.

    ``woodelf_lightgbm`` gives its values and base as they come (the caller adds the bias
    column after the clock stops, so its memory is not counted).
    """
    if method.startswith("lightgbm_"):
        threads = int(method.rsplit("_", 1)[1])
        return np.asarray(booster.predict(frame, pred_contrib=True, num_threads=threads))
    if method.startswith("fasttreeshap_"):
        import fasttreeshap_fixed as fts

        _, algorithm, threads = method.split("_")
        explainer = fts.TreeExplainer(booster, algorithm=algorithm, n_jobs=int(threads))
        values = explainer.shap_values(_numeric(frame), check_additivity=False)
        values = values[1] if isinstance(values, list) else values
        bias = np.ravel(explainer.expected_value)[-1]
        return np.column_stack([values, np.full(len(frame), bias)])
    if method == "woodelf_lightgbm":
        from risk_model.modelling.treeshap import exact_shap

        return exact_shap(booster, frame, chunk=chunk)
    if method == "woodelf":
        from woodelf import WoodelfExplainer

        explainer = WoodelfExplainer(booster)
        numeric = pd.DataFrame(_numeric(frame), columns=frame.columns, index=frame.index)
        values = explainer.shap_values(numeric, verbose=False)
        raw = booster.predict(frame, raw_score=True)
        bias = float(np.mean(raw - values.sum(axis=1)))  # woodelf gives no bias of its own
        return np.column_stack([values, np.full(len(frame), bias)])
    if method == "shap":
        import shap

        explainer = shap.TreeExplainer(booster, feature_perturbation="tree_path_dependent")
        values = explainer.shap_values(frame, check_additivity=False)
        values = values[1] if isinstance(values, list) else values
        bias = np.ravel(explainer.expected_value)[-1]
        return np.column_stack([values, np.full(len(frame), bias)])
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


def _child(cache: Path, method: str, rows: int, out: Path,
           chunk: int | None = None) -> dict[str, Any]:
    """One method in this (fresh) process: time, peak RSS, contributions saved to ``out``."""
    import lightgbm as lgb

    booster = lgb.Booster(model_file=str(cache / "booster.txt"))
    with open(cache / "frame.pkl", "rb") as f:
        frame = pickle.load(f)
    frame = _rows(frame, rows)
    base = _rss_mb()
    peak = [base]
    running = threading.Event()
    running.set()

    def poll() -> None:  # the peak RSS while the method runs (ru_maxrss includes loading)
        while running.is_set():
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.02)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    t = time.perf_counter()
    try:
        contrib = _explain(method, booster, frame, chunk)
    except Exception as exc:  # a library that cannot do it is a result
        return {"method": method, "rows": len(frame), "error": f"{type(exc).__name__}: {exc}"}
    finally:
        running.clear()
        watcher.join()
    seconds = time.perf_counter() - t
    peak = max(peak[0], _rss_mb())
    if not isinstance(contrib, np.ndarray):  # exact_shap's values and base
        contrib = np.column_stack([contrib.values, np.full(len(frame), contrib.base)])
    np.save(out, contrib.astype(np.float64))
    result = {"method": method, "rows": len(frame), "seconds": round(seconds, 2),
              "base_rss_mb": round(base), "peak_rss_mb": round(peak),
              "extra_mb": round(peak - base)}
    if method == "woodelf_lightgbm":
        from risk_model.modelling.treeshap import DEFAULT_CHUNK

        result["chunk"] = chunk or DEFAULT_CHUNK
    return result


def _rows(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """``rows`` rows of ``frame``: its first rows, or all of it repeated up to ``rows``."""
    if rows <= len(frame):
        return frame.iloc[:rows]
    reps = -(-rows // len(frame))
    return pd.concat([frame] * reps, ignore_index=True).iloc[:rows]


def _real(workspace: Path, model_uri: str, rows: int) -> tuple[Any, pd.DataFrame, dict[str, Any]]:
    """The registered booster and its test-date frame (``rows`` people, by pseudonym hash)."""
    import duckdb

    from risk_model.config import Workspace
    from risk_model.modelling.frame import lightgbm_frame, read_model_frame
    from risk_model.modelling.spec import load_specs
    from risk_model.tracking import load_pyfunc

    ws = Workspace.at(workspace)
    python_model = load_pyfunc(ws, model_uri).unwrap_python_model()
    booster, schema = python_model.booster, python_model.schema
    name = model_uri.split("/")[1].split("@")[0]
    as_of = load_specs()[name].dates.test
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        people, frame = read_model_frame(con, as_of, schema)
    hashed = pd.util.hash_pandas_object(people, index=False).to_numpy()
    order = np.argsort(hashed, kind="stable")  # the same people first on every run
    frame = lightgbm_frame(frame.iloc[order].reset_index(drop=True), schema)
    return booster, frame, {"source": f"{workspace} {model_uri}", "test_date": str(as_of),
                            "residents_on_date": len(frame)}


def _synthetic_frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Counts, flags, numbers and categories with NaNs, and an outcome of about 1.5%."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    logit = np.full(n, -4.5)
    for j in range(20):
        x = rng.poisson(0.3 + j / 10, n).astype(float)
        x[rng.random(n) < 0.1] = np.nan
        cols[f"count_{j}"] = x
        logit += 0.15 * np.nan_to_num(x) / (1 + j / 5)
    for j in range(12):
        x = (rng.random(n) < 0.05 + j / 40).astype(float)
        x[rng.random(n) < 0.05] = np.nan
        cols[f"flag_{j}"] = x
        logit += 0.3 * np.nan_to_num(x) * (j % 3 == 0)
    for j in range(6):
        x = rng.normal(50, 20, n)
        x[rng.random(n) < 0.2] = np.nan
        cols[f"number_{j}"] = x
        logit += 0.01 * np.nan_to_num(x - 50)
    for j in range(12):
        levels = [f"level_{k}" for k in range(4 + j % 6)]
        codes = rng.integers(0, len(levels), n)
        effect = rng.normal(0, 0.3, len(levels))
        logit += effect[codes]
        x = pd.Categorical.from_codes(codes, categories=levels)
        x[rng.random(n) < 0.1] = np.nan
        cols[f"category_{j}"] = x
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(cols), y


def _params(num_leaves: int) -> dict[str, Any]:
    return {"objective": "binary", "metric": "binary_logloss", "learning_rate": 0.05,
            "num_leaves": num_leaves, "min_data_in_leaf": 100, "feature_fraction": 0.9,
            "bagging_fraction": 0.9, "bagging_freq": 1, "lambda_l2": 1.0, "seed": 1,
            "deterministic": True, "force_row_wise": True, "num_threads": 2, "verbosity": -1}


def _synthetic(n: int, rounds: int, rows: int) -> tuple[Any, pd.DataFrame, dict[str, Any]]:
    """A booster trained for ``rounds`` rounds on ``n`` synthetic rows, and fresh rows."""
    import lightgbm as lgb

    x, y = _synthetic_frame(n, seed=0)
    booster = lgb.train(_params(31), lgb.Dataset(x, y), num_boost_round=rounds)
    frame, _ = _synthetic_frame(rows, seed=1)
    return booster, frame, {"source": f"synthetic {n:,} rows, {rounds} rounds",
                            "residents_on_date": rows}


def _tree_shape(booster: Any) -> dict[str, Any]:
    """Trees, leaves, depth, and the kinds of split (categorical, missing handling)."""
    depths: list[int] = []
    kinds: dict[str, int] = {}

    def walk(node: dict[str, Any], depth: int) -> None:
        if "split_index" not in node:
            depths.append(depth)
            return
        key = f"{node['decision_type']} missing={node['missing_type']}"
        kinds[key] = kinds.get(key, 0) + 1
        walk(node["left_child"], depth + 1)
        walk(node["right_child"], depth + 1)

    info = booster.dump_model()["tree_info"]
    for tree in info:
        walk(tree["tree_structure"], 0)
    return {"trees": len(info), "leaves": len(depths), "max_depth": max(depths),
            "mean_leaf_depth": round(float(np.mean(depths)), 2),
            "mean_sq_leaf_depth": round(float(np.mean(np.square(depths))), 1), "splits": kinds}


def _agreement(frame: pd.DataFrame, reference: np.ndarray, other: np.ndarray,
               raw: np.ndarray) -> dict[str, Any]:
    """Largest absolute differences from the reference, overall and on the tricky rows."""
    n = len(other)
    frame, reference, raw = frame.iloc[:n], reference[:n], raw[:n]
    diff = np.abs(other - reference)
    # the contributions of missing numbers, and of categories (known or not known)
    missing = np.zeros((diff.shape[0], diff.shape[1] - 1), bool)
    category = np.zeros_like(missing)
    for j, c in enumerate(frame.columns):
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            category[:, j] = True
        else:
            missing[:, j] = frame[c].isna().to_numpy()
    features = diff[:, :-1]
    worst = lambda mask: round(float(features[mask].max()), 10) if mask.any() else None  # noqa: E731
    return {"max_abs_diff": round(float(diff.max()), 10),
            "max_abs_diff_missing_values": worst(missing), "missing_values": int(missing.sum()),
            "max_abs_diff_categories": worst(category),
            "max_abs_diff_features": round(float(diff[:, :-1].max()), 10),
            "additivity_gap": round(float(np.abs(other.sum(axis=1) - raw).max()), 10),
            "agrees": bool(diff.max() <= TOLERANCE)}


def _run(cache: Path, method: str, rows: int, chunk: int | None = None) -> dict[str, Any]:
    out = cache / f"{method}_{rows}.npy"
    done = subprocess.run([sys.executable, __file__, "--child", str(cache), method, str(rows),
                           str(out), *(["--chunk", str(chunk)] if chunk else [])],
                          capture_output=True, text=True)
    if done.returncode:
        return {"method": method, "rows": rows, "error": done.stderr.strip()[-600:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure(booster: Any, frame: pd.DataFrame, methods: list[str], rows: int,
             million: bool, chunk: int | None = None) -> list[dict[str, Any]]:
    """Every method on ``rows`` rows (and 1M), each in a fresh process, checked for agreement."""
    with tempfile.TemporaryDirectory(prefix="bench-exact-shap-") as tmp:
        cache = Path(tmp)
        booster.save_model(str(cache / "booster.txt"))
        with open(cache / "frame.pkl", "wb") as f:  # only the rows a child needs
            pickle.dump(_rows(frame, 1_000_000 if million else rows), f,
                        protocol=pickle.HIGHEST_PROTOCOL)
        sample = _rows(frame, rows)
        raw = booster.predict(sample, raw_score=True)
        results = []
        reference = None
        for method in methods:
            n = min(rows, SUBSAMPLE.get(method, rows))
            result = _run(cache, method, n, chunk)
            if "error" not in result:
                contrib = np.load(cache / f"{method}_{n}.npy")
                if reference is None and method.startswith("lightgbm_"):
                    reference = contrib
                if reference is not None:
                    result.update(_agreement(sample, reference, contrib, raw))
                result["seconds_per_100k"] = round(result["seconds"] * 100_000 / n, 1)
                result["seconds_per_1m_extrapolated"] = round(result["seconds"] * 1e6 / n)
                os.remove(cache / f"{method}_{n}.npy")
            results.append(result)
            _say(result)
        if million:
            fast = [r["method"] for r in results if "error" not in r
                    and r["seconds_per_1m_extrapolated"] < 600]
            for method in fast:
                result = _run(cache, method, 1_000_000, chunk)
                result["measured_1m"] = True
                results.append(result)
                _say(result)
                (cache / f"{method}_1000000.npy").unlink(missing_ok=True)
        return results


def _say(result: dict[str, Any]) -> None:
    if "error" in result:
        print(f"  {result['method']:<18} {result['rows']:>9,} rows: cannot: "
              f"{result['error'].splitlines()[-1][:160]}", flush=True)
        return
    agree = (f"; max |diff| vs pred_contrib {result['max_abs_diff']:.1e} (missing values "
             f"{result['max_abs_diff_missing_values']}, categories "
             f"{result['max_abs_diff_categories']})" if "max_abs_diff" in result else "")
    chunk = f" (chunks of {result['chunk']:,})" if "chunk" in result else ""
    print(f"  {result['method']:<18} {result['rows']:>9,} rows: {result['seconds']:>7.1f} s, "
          f"peak RSS {result['peak_rss_mb']:,} MB (+{result['extra_mb']:,} MB){chunk}{agree}",
          flush=True)


def _sizes(workspace: Path, model_uri: str, grid: list[tuple[int, bool]], max_rounds: int,
           checkpoints: list[int], explain_rows: int,
           save: Path | None = None) -> list[dict[str, Any]]:
    """Test AUROC and pred_contrib cost by number of leaves, trees, and category handling.

    Trains on the spec's train date with early stopping on half the validation people (as
    :func:`risk_model.modelling.train.fit`); AUROC is of the raw score on the test date.
    ``codes`` models take categories as their integer codes (numeric splits only), the form
    woodelf can explain.
    """
    import duckdb
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score

    from risk_model.config import Workspace
    from risk_model.modelling.frame import lightgbm_frame
    from risk_model.modelling.spec import load_specs
    from risk_model.modelling.train import _halves, load_splits
    from risk_model.tracking import load_pyfunc

    ws = Workspace.at(workspace)
    schema = load_pyfunc(ws, model_uri).unwrap_python_model().schema  # the model's features
    spec = load_specs()[model_uri.split("/")[1].split("@")[0]]
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        splits = load_splits(con, spec, schema)
    frames = {k: lightgbm_frame(s.x, schema) for k, s in splits.items()}
    early = _halves(splits["validation"].person_id)
    explain = frames["test"].iloc[:explain_rows]
    out = []
    for leaves, codes in grid:
        prep = (lambda f: pd.DataFrame(_numeric(f), columns=f.columns)) if codes \
            else (lambda f: f)
        t = time.perf_counter()
        train = lgb.Dataset(prep(frames["train"]), splits["train"].y)
        valid = lgb.Dataset(prep(frames["validation"][early]), splits["validation"].y[early],
                            reference=train)
        booster = lgb.train(_params(leaves), train, num_boost_round=max_rounds,
                            valid_sets=[valid], callbacks=[lgb.early_stopping(100, verbose=False)])
        train_s = time.perf_counter() - t
        best = int(booster.best_iteration or booster.current_iteration())
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            booster.save_model(str(save / f"leaves{leaves}_{'codes' if codes else 'cat'}.txt"),
                               num_iteration=best)
        test_x = prep(frames["test"])
        for trees in sorted({*[c for c in checkpoints if c < booster.current_iteration()], best}):
            auroc = roc_auc_score(splits["test"].y, booster.predict(test_x, raw_score=True,
                                                                     num_iteration=trees))
            t = time.perf_counter()
            booster.predict(prep(explain), pred_contrib=True, num_iteration=trees, num_threads=1)
            seconds = time.perf_counter() - t
            shape = _tree_shape(lgb.Booster(model_str=booster.model_to_string(
                num_iteration=trees)))
            row = {"num_leaves": leaves, "categories": "codes" if codes else "categorical",
                   "trees": trees, "best": trees == best, "test_auroc": round(auroc, 4),
                   "pred_contrib_1thread_s_per_100k": round(seconds * 100_000 / len(explain), 1),
                   "mean_sq_leaf_depth": shape["mean_sq_leaf_depth"],
                   "max_depth": shape["max_depth"], "train_seconds": round(train_s)}
            out.append(row)
            print(f"  leaves {leaves:>3} {row['categories']:<11} trees {trees:>4}"
                  f"{' (best)' if row['best'] else '       '}: test AUROC {row['test_auroc']:.4f}, "
                  f"pred_contrib {row['pred_contrib_1thread_s_per_100k']:>6.1f} s/100k on 1 "
                  f"thread, mean depth^2 {row['mean_sq_leaf_depth']}", flush=True)
    return out


def main() -> None:
    """Prepare the model and frame, measure each method in a fresh process, and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--model-uri", default="models:/respiratory_admission_12m/1")
    parser.add_argument("--synthetic", type=int, default=300_000,
                        help="rows to train a synthetic model on, without --workspace")
    parser.add_argument("--rounds", type=int, default=400, help="synthetic model's rounds")
    parser.add_argument("--booster", type=Path, default=None,
                        help="explain this LightGBM model file (on the registered model's frame)")
    parser.add_argument("--codes", action="store_true",
                        help="give the model categories as integer codes (for a --booster "
                             "trained that way, e.g. by --sizes --save)")
    parser.add_argument("--save", type=Path, default=None,
                        help="with --sizes: save each booster here")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--million", action="store_true",
                        help="also run the methods under 10 minutes per 1M on 1M rows")
    parser.add_argument("--sizes", action="store_true",
                        help="measure test AUROC and explanation cost by model size instead")
    parser.add_argument("--leaves", default="15,31")
    parser.add_argument("--max-rounds", type=int, default=400, help="with --sizes")
    parser.add_argument("--chunk", type=int, default=None,
                        help="woodelf_lightgbm: rows explained at a time (default: exact_shap's)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        cache, method, rows, out = args.child
        print(json.dumps(_child(Path(cache), method, int(rows), Path(out), args.chunk)))
        return
    if args.sizes:
        if args.workspace is None:
            sys.exit("--sizes needs --workspace (the model's train, validation and test dates)")
        name = args.model_uri.split("/")[1].split("@")[0]
        grid = [(int(n), args.codes) for n in args.leaves.split(",")]
        print(f"model size against test AUROC, {name} on {args.workspace}:", flush=True)
        rows = _sizes(args.workspace, args.model_uri, grid, args.max_rounds, [50, 100, 200, 300],
                      20_000, args.save)
        print(json.dumps({"benchmark": "exact_shap_sizes", "model": name, "sizes": rows}))
        return
    t = time.perf_counter()
    if args.workspace is not None:
        booster, frame, about = _real(args.workspace, args.model_uri, args.rows)
        if args.booster is not None:
            import lightgbm as lgb

            booster = lgb.Booster(model_file=str(args.booster))
            about["source"] += f" features, model {args.booster}"
        if args.codes:
            frame = pd.DataFrame(_numeric(frame), columns=frame.columns)
            about["source"] += " (categories as codes)"
    else:
        booster, frame, about = _synthetic(args.synthetic, args.rounds, args.rows)
    shape = _tree_shape(booster)
    print(f"exact SHAP of {about['source']}: {shape['trees']} trees, {shape['leaves']:,} leaves, "
          f"max depth {shape['max_depth']}, mean leaf depth {shape['mean_leaf_depth']}, "
          f"{frame.shape[1]} features; splits {shape['splits']} "
          f"(prepared in {time.perf_counter() - t:.0f} s; {os.cpu_count()} CPUs)", flush=True)
    methods = [m for m in args.methods.split(",") if m]
    results = _measure(booster, frame, methods, args.rows, args.million, args.chunk)
    versions = {}
    for package in ("lightgbm", "shap", "fasttreeshap-fixed", "woodelf-explainer"):
        try:
            from importlib.metadata import version
            versions[package] = version(package)
        except Exception:  # not installed
            versions[package] = None
    print(json.dumps({"benchmark": "exact_shap", **about, "model": shape, "rows": args.rows,
                      "versions": versions, "results": results}))


if __name__ == "__main__":
    main()
