"""Export a fitted :class:`~skseqattn.BiLSTMAttentionClassifier` to ONNX.

The exported graph takes the input exactly as a user passes it to ``predict_proba``: a padded
id matrix (padding 0 on either side, any width) or a NaN-padded float array. It left-aligns
the rows itself and runs the recurrent layers without packed sequences (see
:mod:`skseqattn.nn._export`), so batch size and width are both dynamic.

Needs the optional dependencies ``onnx`` and (for the dynamo exporter) ``onnxscript``:
``pip install "skseqattn[onnx]"``, which also installs ``onnxruntime`` to run the result.
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
import warnings
from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = ["export_onnx"]

_EXPORTERS = ("auto", "torchscript", "dynamo")
_MIN_OPSET = 17


def _import_onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - the test environment has onnx
        raise ImportError(
            "export_onnx needs the onnx package; install it with pip install 'skseqattn[onnx]' "
            "(onnx, onnxruntime and onnxscript)."
        ) from exc
    return onnx


def _classifier_of(estimator):
    """The classifier itself, or the last step of a Pipeline."""
    from sklearn.pipeline import Pipeline

    from ._classifier import BiLSTMAttentionClassifier

    clf = estimator
    if isinstance(estimator, Pipeline):
        clf = estimator.steps[-1][1]
    if not isinstance(clf, BiLSTMAttentionClassifier):
        what = (
            f"a Pipeline whose last step is {type(clf).__name__}"
            if clf is not estimator
            else type(estimator).__name__
        )
        raise TypeError(
            "export_onnx expected a BiLSTMAttentionClassifier or a Pipeline ending in one, got "
            f"{what}."
        )
    return clf


def _export_module(clf):
    """The export-friendly module on the CPU, and an example input for tracing."""
    from .nn._export import ExportableSequenceModule

    kind = clf._input
    module = ExportableSequenceModule(clf.module_, **kind.export_args())
    example, input_name = kind.example_input()
    example = torch.from_numpy(example)
    return module.cpu().eval(), example, input_name


def _run_exporter(exporter, module, example, input_name, path, opset_version):
    output_names = ["logits", "probabilities"]
    with warnings.catch_warnings():
        # Known and harmless here: TracerWarnings from nn.LSTM's argument checks, the
        # batch-size note of the LSTM symbolic (the graph is tested on other batch sizes),
        # deprecation notices of the TorchScript exporter (the 'auto' path falls back).
        warnings.simplefilter("ignore")
        # torch < 2.5 has no `dynamo` switch: its export is the TorchScript one.
        has_switch = "dynamo" in inspect.signature(torch.onnx.export).parameters
        if exporter == "torchscript":
            axes = {input_name: {0: "batch", 1: "time"}}
            axes.update({name: {0: "batch"} for name in output_names})
            torch.onnx.export(
                module,
                (example,),
                path,
                input_names=[input_name],
                output_names=output_names,
                dynamic_axes=axes,
                opset_version=opset_version,
                **({"dynamo": False} if has_switch else {}),
            )
        elif not has_switch:
            raise RuntimeError(f"exporter='dynamo' needs torch >= 2.5, not {torch.__version__}.")
        else:
            batch, time = torch.export.Dim("batch"), torch.export.Dim("time")
            program = torch.onnx.export(
                module,
                (example,),
                input_names=[input_name],
                output_names=output_names,
                dynamic_shapes=({0: batch, 1: time},),
                opset_version=opset_version,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
            program.save(path, external_data=False)


@validate_params(
    {
        "estimator": "no_validation",  # _classifier_of says what it expected instead
        "path": [str, os.PathLike],
        "opset_version": [Interval(Integral, _MIN_OPSET, None, closed="left")],
        "exporter": [StrOptions(set(_EXPORTERS))],
    },
    prefer_skip_nested_validation=True,
)
def export_onnx(estimator, path, *, opset_version=18, exporter="auto"):
    """Write a fitted classifier as an ONNX model that maps raw padded input to probabilities.

    Parameters
    ----------
    estimator : BiLSTMAttentionClassifier or Pipeline
        A fitted classifier, or a fitted Pipeline whose last step is one. Only the classifier
        is exported: earlier steps (a :class:`~skseqattn.CharSequenceVectorizer`) keep
        running in Python, ``ids = pipe[:-1].transform(texts)``.
    path : str or path-like
        Where to write the ``.onnx`` file. It is written only when export and checks succeed.
    opset_version : int, default=18
        ONNX opset, at least 17.
    exporter : {'auto', 'torchscript', 'dynamo'}, default='auto'
        ``'torchscript'`` is PyTorch's tracing exporter (fast); ``'dynamo'`` is the
        ``torch.export``-based one (slower to export, needs onnxscript). ``'auto'`` tries the
        TorchScript exporter and falls back to dynamo where PyTorch no longer offers it. Both
        give native ONNX ``LSTM``/``GRU`` nodes and the same results.

    Returns
    -------
    path : str
        The path written.

    Notes
    -----
    The graph has one input and two outputs, with dynamic ``batch`` and ``time`` axes:

    - ``ids``: int64 of shape (batch, time) for a classifier fitted on token ids, exactly as
      passed to ``predict_proba``: 0 is padding wherever it is (pre-, post- or mid-padded,
      any width, all-padding rows allowed). Ids at or above ``n_ids_`` are read as
      ``unknown_id_``, as the estimator does; negative ids, which the estimator rejects,
      are read as unknown too. Cast int32 ids with ``ids.astype(np.int64)``.
    - ``features``: float32 of shape (batch, time, n_features) for real-valued input; a step
      whose features are all NaN is padding. The graph standardises with the fitted
      ``feature_mean_`` and ``feature_scale_``. A 2-D table of univariate sequences becomes
      ``X[:, :, None]``. The estimator's input checks (partly-NaN steps, infinities) are not
      in the graph.
    - ``logits`` and ``probabilities``: float32 of shape (batch, n_classes), columns in the
      order of ``classes_``.

    The model's metadata (``onnx.load(path).metadata_props``) holds ``classes`` (the labels
    as a JSON list), ``classes_dtype``, ``input_type``, ``input_name`` and
    ``skseqattn_version``. Probabilities agree with ``predict_proba`` to about 1e-7 with
    onnxruntime on the CPU.

    Examples
    --------
    >>> import numpy as np, onnxruntime, tempfile, os
    >>> from skseqattn import BiLSTMAttentionClassifier
    >>> from skseqattn.onnx import export_onnx
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randint(2, 6, size=(100, 6))
    >>> y = (X[:, 0] == 2).astype(int)
    >>> clf = BiLSTMAttentionClassifier(embedding_dim=8, hidden_size=8, max_epochs=2,
    ...                                 random_state=0).fit(X, y)
    >>> path = export_onnx(clf, os.path.join(tempfile.mkdtemp(), "model.onnx"))
    >>> session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    >>> ids = np.array([[0, 0, 2, 3], [4, 5, 0, 0]])  # pre- and post-padded
    >>> logits, proba = session.run(None, {"ids": ids})
    >>> bool(np.allclose(proba, clf.predict_proba(ids), atol=1e-5))
    True
    """
    from sklearn.utils.validation import check_is_fitted

    from . import __version__

    opset_version = int(opset_version)  # a NumPy integer passes validation; torch wants int
    clf = _classifier_of(estimator)
    check_is_fitted(clf)
    onnx = _import_onnx()
    module, example, input_name = _export_module(clf)

    path = os.fspath(path)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = os.path.join(tmp, "model.onnx")
        order = ["torchscript", "dynamo"] if exporter == "auto" else [exporter]
        errors = []
        for name in order:
            try:
                _run_exporter(name, module, example, input_name, tmp_path, opset_version)
                break
            except Exception as exc:  # noqa: BLE001 - reported below with every attempt
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
        else:
            raise RuntimeError(
                "export_onnx could not export the model; " + " | ".join(errors)
            ) from None
        model = onnx.load(tmp_path)

    classes = np.asarray(clf.classes_)
    metadata = {
        "classes": json.dumps(classes.tolist()),
        "classes_dtype": classes.dtype.str,
        "input_type": clf.input_type_,
        "input_name": input_name,
        "skseqattn_version": __version__,
    }
    onnx.helper.set_model_props(model, metadata)
    model.producer_name = "skseqattn"
    model.producer_version = __version__
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    return path
