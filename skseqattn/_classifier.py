"""BiLSTMAttentionClassifier: the scikit-learn face of the sequence classifier.

The estimator validates parameters, input and labels, encodes labels and weights, splits
off validation data and keeps the fitted state. It holds no tensor code: the input kind
(:mod:`skseqattn._inputs`) turns ``X`` into encoded ragged sequences, and the skorch net
(:mod:`skseqattn._net`) trains on them and predicts from them. Importing this module does
not import torch; ``fit`` does.
"""

from __future__ import annotations

import copy
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import DataConversionWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _options
from ._inputs import (
    FeatureInput,
    as_sequences,
    input_kind_for,
    is_ragged_list,
    kind_named,
    series_share_one_scale,
)
from ._validation import resolve_device

__all__ = ["BiLSTMAttentionClassifier"]

# The option lists are shared with the torch side through the torch-free _options module.
_OPTIMIZER_NAMES = set(_options.OPTIMIZERS)
_ATTENTIONS = _options.ATTENTIONS
_ATTENTION_HINT = _options.ATTENTION_NAMES_HINT  # the papers' names, for the error message

MIN_VALIDATION_ROWS = 50
"""Fewest validation rows for which ``fit`` holds out data (see ``validation_fraction``)."""

MIN_VALIDATION_PER_CLASS = 2
"""Fewest validation rows per class for which ``fit`` holds out data."""


# Compatibility with models saved by development versions. skseqattn is unreleased, so
# this is the one table of it (docs/architecture.md, "Compatibility"), read by both ways
# a model comes back: pickles (__setstate__) and skseqattn.load (_fill_added_params). Each
# parameter added since models were first saved, with the value that behaves as the
# versions before it did (not today's default). The table, its readers and
# _read_legacy_attention go at the first release.
_ADDED_PARAMS = {
    "ngram_order": 0,
    "ngram_buckets": 65536,
    "logit_adjustment": 0.0,
    "mixed_precision": False,
    "inference_precision": "float64",
    "unknown_id": 1,  # ids above those seen in fit were read as 1
    "distributed": False,
    "position_encoding": False,
    "conv_kernel": 0,
    "rocket_features": 0,
    "layout": "auto",
    "average_checkpoints": 1,
    "ngram_blend": None,
    "normalization": "global",  # each channel standardised with the training steps only
}
# The attributes of the network added since, absent from an older pickled module, with the
# value that builds the network the older version built (None: no such part).
_ADDED_MODULE_PARTS = {
    "ngrams": None,
    "position": None,
    "conv": None,
    "rocket": None,
    "stride": 1,
}


class _LazyTypeMeta(type):
    def __instancecheck__(cls, obj):
        kind = type(obj)
        return kind.__module__ == cls.__module__ and kind.__qualname__ == cls.__qualname__


class _TorchDevice(metaclass=_LazyTypeMeta):
    """Stands for ``torch.device`` in the parameter constraints, without importing torch."""


_TorchDevice.__module__, _TorchDevice.__qualname__ = "torch", "device"


# Fitted attributes read off the training data besides the input kind's own; fit records
# them on reset, and warm starts, partial_fit and load carry them over.
_FIT_META_ATTRS = (
    "n_features_in_",
    "feature_names_in_",
    "position_encoding_",
    "series_length_",
    "ngram_order_",
    "ngram_buckets_",
)

ROCKET_MAX_ROWS = 4096
"""Most training series for which ``rocket_features='auto'`` turns the series branch on
(its closed-form fit holds a float64 matrix of rows by features)."""
_NEEDS_VALIDATION = ("early_stopping", "lr_schedule", "checkpoint_average")


class BiLSTMAttentionClassifier(ClassifierMixin, BaseEstimator):
    """Bidirectional LSTM (or GRU) with attention pooling, as a scikit-learn classifier.

    An embedding (for token ids) or the raw feature vectors (for real-valued input) feed a
    bidirectional RNN; a masked pooling layer (attention by default) turns its outputs into
    one vector per sequence, and a linear layer gives the class scores. Training runs
    through skorch. Padding is handled by construction: the RNN runs on packed sequences,
    attention gives padding exactly zero weight, and predictions do not depend on the width
    or side of the padding nor on which rows share a batch.

    Parameters
    ----------
    embedding_dim : int, default=64
        Size of the token embedding; ignored for real-valued input, and ignored when
        `embedding_weights` is given (its width is used then: see ``embedding_dim_``).
    hidden_size : int, default=64
        Hidden units of the RNN per direction.
    num_layers : int, default=1
        Number of stacked RNN layers.
    bidirectional : bool, default=True
        Add a backward direction.
    cell : {'lstm', 'gru'}, default='lstm'
        The recurrent cell.
    pooling : {'attention', 'last', 'mean', 'max'}, default='attention'
        How the outputs of all steps become one vector: attention-weighted sum, the final
        state (the forward direction at the last real step, the backward at the first),
        the mean or the maximum over real steps.
    attention : {'additive', 'dot', 'general', 'scaled_dot'}, default='additive'
        Attention score when ``pooling='attention'``, named as in the papers:

        - ``'additive'``: Bahdanau et al. (2015) / HAN-style ``v . tanh(W h_t + b)``
          against a learned context vector (Bahdanau's "concat" score).
        - ``'dot'``: Luong et al. (2015)'s dot score ``h_t . s`` with the final state
          ``s`` (the forward direction's last real step, the backward direction's
          first) as the query; no parameters, so ``attention_heads`` must be 1.
        - ``'general'``: Luong's general score ``h_t^T W s / sqrt(d)``.
        - ``'scaled_dot'``: a learned query ``q``, ``q . h_t / sqrt(d)`` (what ``'dot'``
          meant before; fitting with ``'dot'`` warns of the change, for one release).
    attention_heads : int, default=1
        Number of attention heads; their pooled vectors are concatenated (structured
        self-attention).
    dropout : float, default=0.2
        Dropout on the RNN's inputs, between stacked layers and on the pooled vector before
        the linear head.
    embedding_weights : array-like of shape (n_rows, embedding_dim), default=None
        Initial embedding, e.g. pretrained vectors aligned with a fixed vocabulary of a
        :class:`~skseqattn.CharSequenceVectorizer`: one row per id, so row 0 is padding,
        row 1 the vectorizer's unknown token and row ``i`` the token with id ``i``
        (``vocab_size_`` rows, two more than the vocabulary). Build it with
        :meth:`CharSequenceVectorizer.embedding_matrix
        <skseqattn.CharSequenceVectorizer.embedding_matrix>`; a matrix with fewer rows than
        the largest training id plus one is a ``ValueError``. With ``unknown_id=None`` a
        row of zeros is added for ids never seen in fit. Its width sets the embedding's
        size (`embedding_dim` is then ignored; `embedding_dim_` reports the width).
    freeze_embeddings : bool, default=False
        Keep the embedding fixed during training.
    ngram_order : int or 'auto', default='auto'
        For token input, add to the attention head's logits a linear model over the
        sequence's hashed n-grams of orders 1 to ``ngram_order``, with start and end
        markers (the features of a character n-gram TF-IDF model; see
        :class:`~skseqattn.nn.HashedNgramLinear`). It learns distinctive prefixes and
        suffixes in an epoch or two, while the recurrent part learns the rest; on the
        surname validation data it adds about 0.02 accuracy and 0.06 macro-F1. 0 leaves it out
        (the pure recurrent model); ignored for real-valued input. The attention weights
        describe the recurrent part only. ``'auto'`` is 2 where the training ids go
        beyond 1,000 (a vocabulary of words or subwords) and 4 otherwise (characters): on
        sentences, word 3- and 4-grams are mostly seen once and only blur the table (see
        :func:`~skseqattn._net.ngram_order_for`). ``ngram_order_`` records the orders used.
    position_encoding : bool or 'auto', default='auto'
        Add to each step's input (embedded token or feature vector) a learned linear map,
        started at zero, of sinusoidal features of the step's position from the start, so
        that the recurrent layer and the attention know where a step sits: for signals at
        fixed positions, such as a motif at the centre of a DNA window. ``'auto'`` adds it
        when every training sequence has the same length (fixed-length windows, where a
        position means the same in every row) and leaves it out for sequences of varying
        length (names, texts, ragged series), where a position from the start means little;
        ``position_encoding_`` records the choice. On the fixed-length DNA task of
        ``benchmarks/bench_accuracy.py`` it lifts accuracy from 0.53 to 0.73 (0.76 with
        the convolution of `conv_kernel`).
    conv_kernel : int, default=5
        Width of a convolution over the step inputs (embedded tokens or feature vectors)
        before the recurrent layer, its ReLU output added to them: each step also sees the
        ``conv_kernel`` steps around it (odd; 0 leaves it out), so that a short local
        pattern (a motif, a syllable, a shape in a series) reaches the recurrent layer as
        one feature. Steps beyond a sequence's end are zeros, so that predictions do not
        depend on how a batch is padded. On the DNA task of ``benchmarks/bench_accuracy.py``
        it adds 0.02-0.03 accuracy; on surnames, domain names and series it changes
        accuracy by less than a seed's spread.
    rocket_features : int or 'auto', default='auto'
        For real-valued input: the series counterpart of the n-gram term, a linear branch
        on about this many MiniRocket features (Dempster et al., 2021: 84 fixed dilated
        kernels, biases from quantiles of the training series' convolutions,
        proportion-of-positive-values pooling over each series' real steps), whose class
        scores are added to the recurrent head's. ``fit`` fits it first, in closed form
        (ridge regression, penalty chosen by leave-one-out error), then trains the
        recurrent part on top of the branch's leave-one-out scores, and keeps it only where
        the validation split says it helps (a lower validation loss than the branch's
        alone). Without a validation split (fewer than 500 training series at
        ``validation_fraction=0.1``), the branch predicts alone where its leave-one-out
        accuracy is at least halfway from chance to 1 (the RNN is then not trained: the
        history holds one epoch, the branch's leave-one-out ``train_loss`` and
        ``train_acc``, ``recurrent_kept`` False; a ``warm_start`` fit trains it on top),
        and the RNN is trained on top of it where it is not.
        The RNN reads the series averaged over windows, at most 64 steps. ``'auto'`` is
        10,000 features for real-valued input with at most 4,096 training series, else 0;
        0 leaves the branch (and the windows) out. ``series_length_`` records whether it is on.
    ngram_buckets : int or 'auto', default='auto'
        Rows of the hashed n-gram table (each holds one score per class). Fewer rows
        make more n-grams share a row. The table holds ``ngram_buckets * n_classes``
        float32 weights, and Adam, AdamW and SparseAdam keep two more of each, so it costs
        about ``12 * ngram_buckets * n_classes`` bytes while training (4 once fitted): with
        65,536 rows, 0.8 GB at 1,000 classes and 7.9 GB at 10,000. ``'auto'`` bounds it:
        ``min(65536, max(1024, 2**24 // n_classes))`` rows, i.e. 65,536 up to 256
        classes and at most 16.8M weights (64 MiB; 192 MiB while training) up to 16,384
        classes; and sizes it by the data where there are few classes: with more distinct
        training n-grams than half those rows, the power of two at or above twice their
        number, at most 2**20 rows and 2**22 weights (16 MiB), so that word n-grams of
        sentences do not share rows five to one (see
        :func:`~skseqattn._net.ngram_buckets_for`). ``ngram_buckets_`` reports the rows
        chosen. An int is used as given. With Adam or AdamW the table is trained with PyTorch's
        ``SparseAdam``, which updates only the rows a batch touched (and applies no weight
        decay); other optimizers update it densely.
    ngram_blend : float, 'auto' or None, default='auto'
        For token input with the n-gram term: after training, fit an L2-regularised
        logistic regression on exactly the n-gram table's features, and blend its scores
        with the network's, ``(1 - a) * network + a * linear`` (see
        :func:`~skseqattn._ngram_blend.blend_ngram_model`). The table, trained with the
        recurrent part for a few epochs, falls short of such a model on sentences; the
        blend gives the estimator a regularised sparse linear part, as TF-IDF + logistic
        regression and NB-SVM (Wang and Manning, 2012) have. ``'auto'`` chooses the
        penalty (C of 3 or 30), for two classes whether to weight the features by NB-SVM's
        log-count ratios, and the weight ``a`` (0 to 1 by 0.05) by the validation rows'
        cross-entropy, then refits the linear model on the training and validation rows;
        without validation rows nothing is blended, nor by ``partial_fit``; a warm-start
        ``fit`` blends the network it trained further anew. Beyond about 8.4M n-grams
        (fewer with many classes) the regression fits a seeded sample of the rows (one of
        each class at least), so that its features stay near 100 MB. A float is the
        weight ``a`` itself.
        None (or 0) leaves the network as trained. The blend is folded into the head and
        the table, so the fitted model has the same parts and size, saves and exports
        alike, and explanations add up. ``ngram_blend_`` records the weight, the
        history's last epoch what was chosen (``ngram_blend``).
    unknown_id : int or None, default=None
        For token input: which id stands for tokens not seen in fit. Only 0 (padding) is
        reserved otherwise; every other id, 1 included, is a token of its own.

        - None: ids ``1 .. max`` seen in fit are tokens, and the embedding gets one row
          more, ``n_ids_ - 1`` (zeros at first), that ids above them share at predict
          time. Right for ids from any tokenizer (Keras, TensorFlow, your own, where 1 is
          often a real token) and for :class:`~skseqattn.CharSequenceVectorizer` output,
          whose unknown id 1 is then learned like a token from the unknown tokens of the
          training data.
        - int ``k`` (``1`` for the vectorizer's :data:`~skseqattn.UNK_ID`): ids above those
          seen in fit are read as ``k``, sharing the row the vocabulary's own unknown
          token trained, and explanations mark ``k`` as unknown.
    input_type : {'auto', 'tokens', 'features'}, default='auto'
        What ``X`` holds. ``'auto'`` reads integer arrays as token ids and float arrays as
        real-valued sequences; say so explicitly when the dtype is ambiguous (ids stored
        as floats, say).
    layout : {'auto', 'time_first', 'channels_first'}, default='auto'
        How real-valued series are laid out: ``'time_first'`` is (n_samples, T,
        n_features) for a 3-D array and (T_i, n_features) for each array of a list;
        ``'channels_first'`` is aeon's and sktime's (n_cases, n_channels, n_timepoints), and
        (n_channels, T_i) per array, transposed on the way in. ``'auto'`` reads
        ``'time_first'``, and ``fit`` warns when a 3-D array has fewer steps than features
        per step (aeon's univariate (n, 1, T) would be n one-step series of T features):
        pass the layout to say which it is. Ignored for token input.
    normalization : {'auto', 'series', 'global'}, default='auto'
        How real-valued input is scaled before the network (token input ignores it):

        - ``'global'``: each channel standardised with the mean and std of all training
          steps (``feature_mean_``, ``feature_scale_``), so that the level and the scale
          of each series still tell series apart.
        - ``'series'``: each channel of each series first z-normalised over its own real
          steps (mean 0, std 1; a constant channel or a one-step series becomes zeros),
          at fit and at predict time alike, then standardised as ``'global'`` does:
          predictions do not depend on each series' offset nor on its (positive) scale,
          as in the UCR convention.
        - ``'auto'``: where the series branch of `rocket_features` is on, ``fit`` fits
          the branch once with each of the two and keeps the one of lower leave-one-out
          cross-entropy of the branch on the training series (a tie keeps ``'global'``);
          the second closed-form fit costs about as much as the first (ACSF1: 35 s in all
          on 2 cores). Series z-normalised alike already (every series' channels of one
          mean and std, as in the UCR archive), for which the two are the same input,
          get ``'global'`` after one fit. Without the branch (``rocket_features=0``, more
          than 4,096 series, ``partial_fit``): ``'global'``, which discards nothing.

        ``normalization_`` records what was used; a ``warm_start`` fit and later
        ``partial_fit`` calls keep it.
    max_epochs : int or 'auto', default='auto'
        Maximum number of epochs. An int epoch is one pass over the training data.
        ``'auto'`` is 30 epochs of at least 300 optimizer steps in all: a training set of
        fewer than 10 batches (577 rows at batch size 64) is passed over several times per
        epoch (50 rows: 13 passes, 11 batches), larger ones once, as with 30. Early
        stopping, its patience and the learning-rate schedule count these epochs.
    batch_size : int, default=64
        Sequences per training batch.
    lr : float, default=3e-3
        Learning rate.
    optimizer : {'adam', 'adamw', 'sgd'} or torch optimizer class, default='adam'
    weight_decay : float, default=0.0
    lr_schedule : {'plateau'} or None, default='plateau'
        ``'plateau'`` halves the learning rate whenever the validation loss did not improve
        for an epoch (needs ``validation_fraction``); None keeps it constant. With
        `early_stopping`, training also stops once the rate has been halved five times
        (``lr / 32``): later epochs barely move the loss and cost time.
    clip_grad_norm : float or None, default=5.0
        Clip the gradient norm to this value; None disables clipping.
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes in the loss, as in scikit-learn's linear models.
    logit_adjustment : float, default=0.15
        Strength ``tau`` of the logit-adjusted loss (Menon et al., 2021): training adds
        ``tau * log(prior)`` to the logits inside the loss, where ``prior`` holds the
        classes' frequencies in the training data (counted with ``sample_weight``), so that
        the model's own logits favour rare classes by a factor ``prior ** -tau``. 0 is the
        plain cross-entropy and gives probabilities calibrated to the training frequencies;
        1 aims at balanced accuracy. The default trades a little accuracy on the majority
        classes for recall on the rare ones (macro-F1); it changes nothing when the classes
        are balanced, and is not applied when ``class_weight`` is set, which then decides
        alone how the classes are weighed.
    validation_fraction : float or None, default=0.1
        Fraction of the training data held out (stratified) to record validation loss and
        accuracy, and for early stopping. None uses all data for training. A class with a
        single row keeps it for training. When the held-out part would have fewer than 50
        rows, or fewer than 2 rows per class, its loss would say nothing and early stopping
        would stop on noise: ``fit`` then trains on all the data, without early stopping or
        ``lr_schedule``, warns once, and records why in ``history_[0, 'validation']``.
    early_stopping : bool, default=True
        Stop when the validation loss has not improved for ``patience`` epochs, and
        restore the weights of the best epoch. Needs ``validation_fraction``.
    patience : int, default=4
        Epochs without improvement before stopping.
    average_checkpoints : int, default=3
        With validation data: the fitted weights are the mean of those of the
        ``average_checkpoints`` epochs with the lowest validation loss (see
        :class:`~skseqattn._callbacks.CheckpointAverage`), rather than the best epoch's alone.
        1 keeps the best epoch's weights (``best_epoch_``). Over 3 seeds of the real
        texts of ``benchmarks/bench_texts.py`` the mean of 3 lifts trec from 0.876 to
        0.883 and halves the spread between seeds, surname macro-F1 from 0.514 to 0.519,
        and moves the other sets by less than 0.001.
    callbacks : list of skorch callbacks, default=None
        Extra callbacks for the skorch net.
    warm_start : bool, default=False
        When True, ``fit`` continues training the fitted network (same classes and input
        kind) instead of starting anew, for ``max_epochs`` more epochs with the current
        ``lr``, ``batch_size`` and ``verbose``; the architecture, optimizer and callbacks
        stay those of the first fit.
    device : str, default='cpu'
        ``'cpu'``, ``'cuda'`` (or ``'cuda:N'``) or ``'auto'`` (CUDA when available).
    mixed_precision : bool, default=False
        Train and predict under PyTorch's autocast: float16 with dynamic loss scaling
        (a ``GradScaler``) on CUDA, bfloat16 on the CPU. Faster on GPUs with
        tensor cores; probabilities are returned as float32 (then float64) either way. On
        a CPU without bfloat16 kernels for the recurrent layers (AVX2-only processors, for
        one; found by a one-time probe) fit and predict run in float32 instead, with one
        warning.
    inference_precision : {'float64', 'float32'}, default='float64'
        Precision of the layers when predicting (``predict``, ``predict_proba``,
        ``decision_function``, attention, ``explain``). ``'float64'``: a row's scores are
        its own whatever rows share its batch (they move by about 1e-16 with it), as
        scikit-learn's estimator checks require; it costs about 2-5x the CPU time of
        ``'float32'``. ``'float32'``: the kernels of the recurrent, convolution and linear
        layers sum in an order chosen by the batch's shape, so a row's scores move by about
        1e-7 with its batch; the fast choice when that does not matter. Read at prediction
        time, so it can be changed on a fitted model with ``set_params``.
        ``mixed_precision=True`` predicts in half precision where it runs, whatever this
        says.
    distributed : bool, default=False
        Train one model data-parallel across the processes of a PyTorch distributed
        process group, with PyTorch's ``DistributedDataParallel``: launch the script with
        ``torchrun --nproc_per_node=N script.py`` (``fit`` then joins the group, gloo on
        the CPU, NCCL on CUDA where each process takes the GPU ``LOCAL_RANK``), or
        initialise the group yourself. Every process passes the same ``X`` and ``y``
        (checked); each trains on its shard of every epoch's batches, gradients (the
        n-gram table's too) are averaged over the processes, and validation loss and
        accuracy are computed over the whole validation set, so early stopping and
        ``lr_schedule`` agree. With an int ``random_state`` all processes end with
        identical weights and predictions; ``random_state=None`` takes rank 0's seed.
        Only rank 0 prints. The fitted estimator holds the plain module: it predicts,
        pickles, saves and exports as any other, in any process, without a group.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation split. With an
        int, two fits on the CPU on the same number of torch threads give bit-identical
        predictions (the automatic thread count follows the machine's load: set
        ``SKSEQATTN_NUM_THREADS`` to fix it). Fits started at once in threads of one
        process (joblib's threading backend) take turns, since torch's random generator
        is one per process: each gives exactly what it gives alone, but they do not run
        in parallel; use processes (joblib's default) for that. Predictions may run in
        many threads at once, and equal serial ones exactly.
    verbose : int, default=0
        What ``fit`` prints to standard output.

        - 0: nothing.
        - 1: one row per epoch (epoch, training and validation loss and accuracy,
          duration) and the early-stopping message. Best values are coloured only on an
          interactive terminal (never with ``NO_COLOR`` set); in a log file, a pipe or a
          notebook the table is plain text.
        - 2: also a tqdm progress bar over each epoch's batches: one line updated in
          place on a terminal, a plain line per tenth of the batches when output is
          redirected, tqdm's widget in Jupyter (its text bar when ipywidgets is not
          installed).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    input_type_ : {'tokens', 'features'}
        The kind of input seen in ``fit``.
    n_ids_ : int
        Size of the embedding (token input only): ids at or above it are read as
        ``unknown_id_``.
    unknown_id_ : int
        Id that unseen ids are read as (token input only): ``n_ids_ - 1`` with
        ``unknown_id=None``, else ``unknown_id``.
    embedding_dim_ : int
        Width of the fitted embedding (token input only): `embedding_dim`, or the width of
        `embedding_weights` when given.
    n_features_in_ : int
        For real-valued input: the number of features per step; for a 2-D float array,
        its number of columns (time steps), which predict then expects too. Not set for
        token input, whose width may differ between calls.
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame of univariate sequences.
    position_encoding_ : bool
        Whether the module adds position features: `position_encoding`, or what its
        ``'auto'`` chose from the training lengths (True when all were equal).
    series_length_ : int
        With the series branch of `rocket_features` on: the longest training series, which
        set the branch's dilations and the RNN's window; 0 without the branch.
    ngram_order_ : int
        Orders of the n-gram table's n-grams (`ngram_order`, or what its ``'auto'`` chose
        from the number of token ids); 0 without the table (real-valued input).
    ngram_buckets_ : int
        Rows of the n-gram table (`ngram_buckets`, or what its ``'auto'`` chose from the
        number of classes); 0 without the table.
    ngram_blend_ : float
        The weight of the linear model blended into the network (`ngram_blend`); 0.0
        where none was (real-valued input, no n-gram term, no validation rows, or a
        weight of 0 chosen).
    feature_mean_, feature_scale_ : ndarray of shape (n_step_features,)
        Standardisation of real-valued input, computed over real (non-padded) steps (after
        each series' own z-normalisation when ``normalization_`` is ``'series'``).
    normalization_ : {'global', 'series'}
        For real-valued input: the normalisation used, `normalization` or what its
        ``'auto'`` chose.
    module_ : SequenceClassifierModule
        The trained PyTorch module.
    net_ : skorch.NeuralNet
        The skorch net that trained it.
    history_ : skorch.History
        Per-epoch ``train_loss``, ``train_acc`` and, with validation, ``valid_loss`` and
        ``valid_acc``: ``history_[:, 'valid_loss']``.
    logit_offset_ : ndarray of shape (n_classes,) or None
        ``logit_adjustment * log(prior)``, added to the logits in the training loss (None
        when it is 0, the classes are balanced or ``class_weight`` is set).
    n_epochs_ : int
        Epochs trained (over all ``fit`` calls with ``warm_start``).
    best_epoch_ : int or None
        Epoch whose weights were restored by early stopping (None without it).

    See Also
    --------
    CharSequenceVectorizer : Turns strings into the id matrices this classifier reads.

    Notes
    -----
    Token ids at or above ``n_ids_`` at predict time (a vocabulary grown after fitting)
    are read as ``unknown_id_`` rather than rejected. Only id 0 is reserved (padding):
    id 1 is reserved for unknown tokens only when ``unknown_id=1`` says so. A sequence
    with no real step (an empty string) gets a finite probability row.

    Examples
    --------
    >>> import numpy as np
    >>> from skseqattn import BiLSTMAttentionClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randint(2, 6, size=(200, 8))
    >>> y = (X[:, 0] == 2).astype(int)
    >>> clf = BiLSTMAttentionClassifier(hidden_size=16, max_epochs=5, random_state=0)
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    >>> clf.predict_proba(X[:2]).sum(axis=1).round(6)
    array([1., 1.])
    """

    _parameter_constraints: dict = {
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "cell": [StrOptions(set(_options.CELLS))],
        "pooling": [StrOptions(set(_options.POOLINGS))],
        "attention": [StrOptions(set(_ATTENTIONS))],
        "attention_heads": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "embedding_weights": ["array-like", None],
        "freeze_embeddings": ["boolean"],
        "ngram_order": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "position_encoding": ["boolean", StrOptions({"auto"})],
        "conv_kernel": [Interval(Integral, 0, None, closed="left")],
        "rocket_features": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "ngram_buckets": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "ngram_blend": [Interval(Real, 0, 1, closed="both"), StrOptions({"auto"}), None],
        "unknown_id": [Interval(Integral, 1, None, closed="left"), None],
        "input_type": [StrOptions({"auto", "tokens", "features"})],
        "layout": [StrOptions({"auto", "time_first", "channels_first"})],
        "normalization": [StrOptions({"auto", "series", "global"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(_OPTIMIZER_NAMES), type],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"plateau"}), None],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "logit_adjustment": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "early_stopping": ["boolean"],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "average_checkpoints": [Interval(Integral, 1, None, closed="left")],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "device": [str, _TorchDevice],
        "mixed_precision": ["boolean"],
        "inference_precision": [StrOptions({"float64", "float32"})],
        "distributed": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        embedding_dim=64,
        hidden_size=64,
        num_layers=1,
        bidirectional=True,
        cell="lstm",
        pooling="attention",
        attention="additive",
        attention_heads=1,
        dropout=0.2,
        embedding_weights=None,
        freeze_embeddings=False,
        ngram_order="auto",
        position_encoding="auto",
        conv_kernel=5,
        rocket_features="auto",
        ngram_buckets="auto",
        ngram_blend="auto",
        unknown_id=None,
        input_type="auto",
        layout="auto",
        normalization="auto",
        max_epochs="auto",
        batch_size=64,
        lr=3e-3,
        optimizer="adam",
        weight_decay=0.0,
        lr_schedule="plateau",
        clip_grad_norm=5.0,
        class_weight=None,
        logit_adjustment=0.15,
        validation_fraction=0.1,
        early_stopping=True,
        patience=4,
        average_checkpoints=3,
        callbacks=None,
        warm_start=False,
        device="cpu",
        mixed_precision=False,
        inference_precision="float64",
        distributed=False,
        random_state=None,
        verbose=0,
    ):
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.cell = cell
        self.pooling = pooling
        self.attention = attention
        self.attention_heads = attention_heads
        self.dropout = dropout
        self.embedding_weights = embedding_weights
        self.freeze_embeddings = freeze_embeddings
        self.ngram_order = ngram_order
        self.position_encoding = position_encoding
        self.conv_kernel = conv_kernel
        self.rocket_features = rocket_features
        self.ngram_buckets = ngram_buckets
        self.ngram_blend = ngram_blend
        self.unknown_id = unknown_id
        self.input_type = input_type
        self.layout = layout
        self.normalization = normalization
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.clip_grad_norm = clip_grad_norm
        self.class_weight = class_weight
        self.logit_adjustment = logit_adjustment
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.average_checkpoints = average_checkpoints
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.device = device
        self.mixed_precision = mixed_precision
        self.inference_precision = inference_precision
        self.distributed = distributed
        self.random_state = random_state
        self.verbose = verbose

    def _validate_params(self):
        name = type(self).__name__
        attention = self.attention
        if isinstance(attention, str) and attention not in _ATTENTIONS:
            from sklearn.utils._param_validation import InvalidParameterError

            raise InvalidParameterError(
                f"The 'attention' parameter of {name} must be a str among "
                f"{sorted(_ATTENTIONS)}. Got {attention!r} instead. {_ATTENTION_HINT}"
            )
        super()._validate_params()

    # ------------------------------------------------------------------ input handling
    def _validate_X(self, X, *, reset: bool):
        """Return (sequences, kind, fit_meta) for raw X; checked against fit unless reset.

        ``kind`` is the input kind: on reset a fresh, unfitted one chosen from ``X`` and
        ``input_type``, else the fitted one. ``fit_meta`` holds, on reset, ``n_features_in_``
        (and ``feature_names_in_`` for a table of univariate series) and
        ``position_encoding_``.
        """
        name = type(self).__name__
        X = as_sequences(X, name)
        kind_class = input_kind_for(X, self.input_type)
        if not reset and kind_class is not type(self._input):
            fitted = self._input.name
            raise ValueError(
                f"{name} was fitted on {fitted} but got {kind_class.name} input; pass "
                f"the same kind of data as in fit (or set input_type='{fitted}')."
            )
        kind = kind_class() if reset else self._input
        if kind_class is FeatureInput:
            X = self._in_time_first_layout(X, warn=reset)
        meta = {}
        # A 2-D float table of univariate sequences is a table like any other in sklearn:
        # its columns are checked against fit. Other forms are checked below.
        is_table = kind_class is FeatureInput and not is_ragged_list(X) and _ndim(X) == 2
        if is_table:
            # On reset, validate_data records n_features_in_ and feature_names_in_ on the
            # object it is given: give it a blank probe so that a fit that fails later leaves
            # this estimator untouched; fit copies them over once everything succeeded.
            # Named after the estimator: scikit-learn's messages name the object they check.
            probe = type(name, (_FeatureRecord,), {})() if reset else self
            X = validate_data(
                probe,
                X,
                reset=reset,
                dtype=np.float32,
                ensure_all_finite="allow-nan",
                ensure_min_features=1,
            )
            if reset:
                meta.update(vars(probe))
        seqs = kind.check(X, name)
        if reset and kind_class is FeatureInput and not is_table:
            meta["n_features_in_"] = seqs.values.shape[1]
        if reset:
            meta["position_encoding_"] = _positions_for(self.position_encoding, seqs.lengths)
            branch = kind_class is FeatureInput and self.rocket_features != 0
            if self.rocket_features == "auto":
                branch = branch and len(seqs) <= ROCKET_MAX_ROWS
            meta["series_length_"] = int(seqs.lengths.max()) if branch and len(seqs) else 0
        if not reset:
            kind.check_fitted(seqs, name)
        return seqs, kind, meta

    def _in_time_first_layout(self, X, *, warn):
        """Real-valued ``X`` as (n_samples, T, n_features): transposed from `layout`
        ``'channels_first'``; with ``'auto'`` and ``warn``, a warning for a 3-D array that
        looks channels-first (fewer steps than features per step)."""
        name = type(self).__name__
        layout = getattr(self, "layout", "auto")
        if layout == "channels_first":
            if isinstance(X, list):
                return [np.swapaxes(np.asarray(x), 0, 1) if np.ndim(x) == 2 else x for x in X]
            if _ndim(X) == 3:
                return np.swapaxes(np.asarray(X), 1, 2)
            return X
        if layout == "auto" and warn and _ndim(X) == 3 and not isinstance(X, list):
            n, steps, features = np.shape(X)
            if steps < features:
                warnings.warn(
                    f"{name} got a 3-D array of shape {np.shape(X)}, read as {n} series of "
                    f"{steps} steps with {features} features each. If it is laid out as aeon "
                    f"and sktime do, (n_cases, n_channels, n_timepoints), that is {n} series "
                    f"of {features} steps: pass layout='channels_first'. Pass "
                    "layout='time_first' to confirm the reading and silence this warning.",
                    UserWarning,
                    stacklevel=4,
                )
        return X

    def _prepare_targets(self, y, n_samples, sample_weight):
        name = type(self).__name__
        y_arr = self._check_y(y, n_samples)
        encoder = LabelEncoder().fit(y_arr)
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"{name} needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {encoder.classes_[0]!r}."
            )
        y_enc = encoder.transform(y_arr)
        return encoder.classes_, y_enc, self._weights(sample_weight, y_arr)

    def _check_y(self, y, n_samples):
        """``y`` as a 1-D array of classification targets, one per sequence."""
        name = type(self).__name__
        if y is None:
            raise ValueError(f"{name} requires y to be passed, but the target y is None.")
        y = np.asarray(y) if not hasattr(y, "shape") else y
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change "
                "the shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning,
                stacklevel=3,
            )
            y_arr = y_arr.ravel()
        if y_arr.ndim != 1:
            raise ValueError(
                f"{name} expected y of shape (n_samples,), got shape {y_arr.shape}; it "
                "predicts one label per sequence."
            )
        if y_arr.dtype.kind in "fc" and np.isnan(y_arr.astype(float)).any():
            raise ValueError("Input y contains NaN.")
        check_classification_targets(y_arr)
        if len(y_arr) != n_samples:
            raise ValueError(
                f"{name} got X with {n_samples} sequences but y with {len(y_arr)} labels; "
                "they must have the same length."
            )
        return y_arr

    def _weights(self, sample_weight, y_arr):
        """Per-row loss weights: ``sample_weight`` times ``class_weight``, checked."""
        name = type(self).__name__
        n_samples = len(y_arr)
        weights = _check_sample_weight(sample_weight, np.empty((n_samples, 0)), dtype=np.float64)
        # Scaled by their maximum before use, so that huge finite weights (1e308) cannot
        # overflow into inf or NaN when multiplied or averaged; only their ratios matter.
        weights = _scaled_by_max(weights)
        if self.class_weight is not None:
            weights = _scaled_by_max(
                weights * _scaled_by_max(compute_sample_weight(self.class_weight, y_arr))
            )
        if not np.any(weights > 0):
            raise ValueError(
                f"{name} got sample weights that are all zero; at least one sample needs a "
                "positive weight."
            )
        if (weights < 0).any():
            raise ValueError(f"{name} got negative sample weights; weights must be >= 0.")
        return weights

    def _split(self, y_enc, rng):
        """Training and validation rows, and why validation was left out (or None).

        Validation is left out when ``validation_fraction`` is None, and when the split
        would be too small to say anything: fewer than :data:`MIN_VALIDATION_ROWS` rows or
        fewer than :data:`MIN_VALIDATION_PER_CLASS` rows per class. The split is
        stratified, and a class with a single row keeps it for training.
        """
        n = len(y_enc)
        all_idx = np.arange(n)
        if self.validation_fraction is None:
            return all_idx, all_idx[:0], None
        n_valid = int(np.ceil(self.validation_fraction * n))
        counts = np.bincount(y_enc)
        n_classes = int(np.count_nonzero(counts))
        need = max(MIN_VALIDATION_ROWS, MIN_VALIDATION_PER_CLASS * n_classes)
        if n_valid < need or n - n_valid < n_classes:
            return all_idx, all_idx[:0], _too_small(n, n_valid, n_classes, need)
        from sklearn.model_selection import StratifiedShuffleSplit

        # A class with one row cannot be both learned and validated: it stays in training.
        single = counts[y_enc] == 1
        pool = np.flatnonzero(~single)
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=n_valid, random_state=rng)
        try:
            train, valid = next(splitter.split(np.zeros(len(pool)), y_enc[pool]))
        except ValueError:  # too few rows outside the single-row classes
            return all_idx, all_idx[:0], _too_small(n, n_valid, n_classes, need)
        train = np.concatenate([pool[train], np.flatnonzero(single)])
        return np.sort(train), np.sort(pool[valid]), None

    # ------------------------------------------------------------------ building the net
    def _new_net(self, kind, n_classes, *, shape, device, valid_ds, rng, logit_offset):
        """A fresh module in a fresh skorch net; used by ``fit`` and by ``load`` alike.

        ``shape`` holds :func:`~skseqattn._net.build_module`'s keyword arguments, read off
        the fitted attributes that size the module by :func:`_module_shape`.
        """
        from ._net import build_module, build_net

        if self.distributed:  # the estimator picks the builder: _net never imports it
            from ._distributed import build_distributed_net as build_net

        module = build_module(self, kind, n_classes, **shape)
        return build_net(
            self, module, device=device, valid_ds=valid_ds, rng=rng, logit_offset=logit_offset
        )

    def _continued_net(self, train_ds, rng, *, valid_ds=None, epochs=None):
        """A copy of ``net_`` trained further with the current parameters; ``net_`` is kept.

        A warm-start ``fit`` trains it up to ``max_epochs`` more (``valid_ds`` its
        validation set, or None), ``partial_fit`` for ``epochs=1`` without validation. The
        callbacks that need validation sit out while there is none. Call under ``seeded``.
        """
        from ._net import validation_split

        net = copy.deepcopy(self.net_)
        # Plain attributes, not set_params: on an initialized net, set_params would
        # re-initialise the module we want to continue from.
        if epochs is None:  # partial_fit counts its own epochs
            from ._net import epochs_for

            net.max_epochs = epochs_for(self.max_epochs)
        net.train_split = validation_split(valid_ds)
        net.iterator_train__random_state = rng
        net.batch_size = self.batch_size
        net.verbose = self.verbose
        net.mixed_precision = self.mixed_precision
        net.set_lr(self.lr)
        kept = net.callbacks_
        if valid_ds is None:  # no validation this time: what needs it sits out
            net.callbacks_ = [c for c in kept if c[0] not in _NEEDS_VALIDATION]
        net.partial_fit(train_ds, None, epochs=epochs)
        net.callbacks_ = kept
        return net

    def _logit_offset(self, y_train, w_train, n_classes):
        """``tau * log(prior)`` from the training rows' weighted class frequencies."""
        if not self.logit_adjustment or self.class_weight is not None:
            return None
        weights = np.ones(len(y_train)) if w_train is None else w_train
        prior = np.bincount(y_train, weights=weights, minlength=n_classes)
        prior = np.maximum(prior / prior.sum(), 1e-12)  # a class without weight: no -inf
        offset = self.logit_adjustment * np.log(prior)
        if np.allclose(offset, offset[0]):  # balanced: a constant shift changes nothing
            return None
        return offset.astype(np.float32)

    # ------------------------------------------------------------------ public API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train on sequences ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like or list of array-like
            Token ids of shape (n_samples, width) (0 is padding, either side), real-valued
            sequences of shape (n_samples, T, n_features) with all-NaN padded steps, a 2-D
            float array of univariate sequences, or a list of arrays of different lengths
            (all of them may be empty). Tuples, pandas Series and one-column DataFrames of
            sequences, numpy object arrays and torch tensors are read alike.
        y : array-like of shape (n_samples,)
            Labels: strings, integers or booleans.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights in the loss, finite and >= 0. Only their ratios matter: they
            are divided by their maximum first, so huge values cannot overflow.

        Returns
        -------
        self : BiLSTMAttentionClassifier

        Raises
        ------
        ValueError
            For NaN or infinity in ``X`` (outside all-NaN padded steps), ``sample_weight``,
            ``class_weight`` or ``embedding_weights``, and for ids that are negative or do
            not fit int64, before any training.
        TypeError
            For a scipy sparse matrix (densify it) or strings (vectorize them first).
        NonFiniteLossError
            When the training loss becomes NaN or infinite; the estimator keeps the state
            it had before the call.
        """
        name = type(self).__name__
        _check_parameter_values(self, name)
        device = resolve_device(self.device, who=name)
        continuing = self.warm_start and hasattr(self, "net_")
        if self.pooling == "attention" and self.attention == "dot" and self.attention_heads != 1:
            # Here rather than in _validate_params: a file saved when 'dot' was the learned
            # query (heads allowed) must still load, as 'scaled_dot'.
            raise ValueError(
                f"{name} got attention='dot' with attention_heads={self.attention_heads}, "
                "but Luong's dot score has no parameters: its heads would be copies of one "
                "head. Use attention_heads=1, or attention='general' or 'scaled_dot' for "
                "several heads."
            )
        if self.pooling == "attention" and self.attention == "dot" and not continuing:
            warnings.warn(
                f"{name}: attention='dot' is Luong's dot score against the final state now; "
                "it used to be a learned query, which is attention='scaled_dot'. (This "
                "warning goes in the next release.)",
                FutureWarning,
                stacklevel=3,
            )
        seqs, kind, meta = self._validate_X(X, reset=not continuing)
        classes, y_enc, weights = self._prepare_targets(y, len(seqs), sample_weight)

        if continuing and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"{name} with warm_start=True got classes {list(classes)} but was fitted on "
                f"{list(self.classes_)}; set warm_start=False to train anew."
            )
        # one fitted kind per normalisation to try ('auto' with the series branch: two,
        # which the branch's closed-form fit judges below); warm starts keep the first's
        branch = not continuing and meta.get("series_length_", 0) > 0
        kinds = {}
        for normalization in _normalizations(self.normalization, kind, seqs, branch=branch):
            fitted = kind.fitted(
                seqs,
                name=name,
                embedding_weights=self.embedding_weights,
                previous=self._input if continuing else None,
                unknown_id=self.unknown_id,
                embedding_dim=self.embedding_dim,
                normalization=normalization,
            )
            kinds[normalization] = (fitted, fitted.encode(seqs))
        kind, seqs = next(iter(kinds.values()))
        if not continuing:
            meta["ngram_order_"] = self._ngram_order(kind)
            meta["ngram_buckets_"] = self._ngram_rows(len(classes), meta["ngram_order_"], seqs)

        seed_rng = check_random_state(self.random_state)
        seed = int(seed_rng.randint(np.iinfo(np.int32).max))
        if self.distributed:  # one group, rank 0's seed, the same data on every rank
            from ._distributed import agree, check_callbacks

            check_callbacks(self.callbacks, who=name)
            arrays = (seqs.values, seqs.lengths, y_enc, weights)
            device, seed = agree(device, seed, arrays, who=name)
        rng = np.random.RandomState(seed)
        train_idx, valid_idx, no_valid = self._split(y_enc, rng)
        if no_valid is not None:
            warnings.warn(f"{name}: {no_valid}", UserWarning, stacklevel=3)
        uniform = bool(np.all(weights == weights[0]))  # no weights: skip the multiply
        w_train = None if uniform else weights[train_idx] / weights[train_idx].mean()

        from ._batches import SequenceDataset
        from ._net import passes_for, seeded, validation_split
        from ._ngram_blend import blend_ngram_model
        from ._series_branch import (
            branch_carries,
            choose_normalization,
            keep_recurrent_if_it_helps,
            record_branch_only,
        )

        w_valid = None
        if len(valid_idx) and not uniform:
            w_valid = weights[valid_idx]
            mean = w_valid.mean()
            w_valid = w_valid / mean if mean > 0 else np.ones_like(w_valid)
        datasets = {}  # per normalisation: (training, validation or None) datasets
        for normalization, (_, encoded) in kinds.items():
            train_ds = SequenceDataset(encoded.subset(train_idx), y_enc[train_idx], w_train)
            valid_ds = None
            if len(valid_idx):
                valid_ds = SequenceDataset(encoded.subset(valid_idx), y_enc[valid_idx], w_valid)
            datasets[normalization] = (train_ds, valid_ds)
        train_ds, valid_ds = next(iter(datasets.values()))

        first_epoch = len(self.net_.history) if continuing else 0
        passes = passes_for(self.max_epochs, len(train_ds), self.batch_size)
        with seeded(seed, device):
            if continuing:
                net = self._continued_net(train_ds.repeated(passes), rng, valid_ds=valid_ds)
            else:
                offset = self._logit_offset(y_enc[train_idx], w_train, len(classes))
                net = self._new_net(
                    kind,
                    len(classes),
                    shape=_module_shape(meta),
                    device=device,
                    valid_ds=valid_ds,
                    rng=rng,
                    logit_offset=offset,
                )
                # the series branch first, in closed form (once per normalisation to try,
                # keeping the best); the recurrent part on top of it where a validation
                # split can tell whether it helps
                chosen = choose_normalization(net.module, datasets, seed=seed, device=device)
                if chosen != next(iter(datasets)):
                    kind = kinds[chosen][0]
                    train_ds, valid_ds = datasets[chosen]
                    net.train_split = validation_split(valid_ds)
                if valid_ds is None and branch_carries(net.module, train_ds):
                    net.initialize()  # the branch alone: nothing to say the RNN would help
                    record_branch_only(net, train_ds)
                else:
                    net.fit(train_ds.repeated(passes), None)
                    keep_recurrent_if_it_helps(net, valid_ds)
            if not isinstance(kind, FeatureInput):
                blend_ngram_model(net, train_ds, valid_ds, setting=self.ngram_blend, seed=seed)

        if no_valid is not None and len(net.history) > first_epoch:
            net.history[first_epoch]["validation"] = no_valid
        best_epoch = None
        es = dict(net.callbacks_).get("early_stopping")
        restored = valid_ds is not None and es is not None  # it took part in this fit
        if restored and getattr(es, "best_model_weights_", None) is not None:
            best_epoch = int(es.best_epoch_)
        fit_meta = self._fit_meta() if continuing else meta
        self._install(net, classes, kind, fit_meta, best_epoch=best_epoch, device=device)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one pass over one chunk of the data, keeping the state between calls.

        For data that does not fit in memory: read it in chunks and call ``partial_fit``
        on each, as many passes over the file as wanted. The first call (on an estimator
        not fitted yet) builds the network; every later call continues it, the optimizer's
        state included, for one epoch over the chunk. A fitted estimator (by :meth:`fit`
        or ``partial_fit``) continues from where it stands.

        Parameters
        ----------
        X : array-like or list of array-like
            One chunk of sequences, in any form :meth:`fit` accepts; every chunk must be of
            the kind (and, for features, the number of features) of the first.
        y : array-like of shape (n_samples,)
            The chunk's labels, all of them in ``classes``; a chunk may hold one class.
        classes : array-like of shape (n_classes,), default=None
            Every label the stream holds. Required on the first call, where it becomes
            ``classes_`` (sorted); optional later, and then it must equal ``classes_``.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights in the loss, normalised to mean 1 within the chunk.

        Returns
        -------
        self : BiLSTMAttentionClassifier

        Notes
        -----
        What is fixed by the first call: the input kind, the embedding's size ``n_ids_``
        (the largest id of the first chunk plus one; later ids at or beyond it are read as
        the unknown id 1, so fit the vectorizer once on a sample or give it a fixed
        ``vocabulary``, and pass ``embedding_weights`` with one row per id to reserve rows
        for ids the first chunk lacks), the standardisation of real-valued input (the first
        chunk's mean and scale), and the logit adjustment's class prior (the first chunk's
        weighted frequencies plus one per class, so that a class missing from it gets no
        extreme offset). ``ngram_buckets='auto'`` follows ``len(classes)``.

        ``partial_fit`` holds out no validation data: ``validation_fraction``,
        ``early_stopping``, ``lr_schedule`` and ``max_epochs`` are not used (score a
        held-out chunk yourself to decide when to stop). ``class_weight='balanced'`` needs
        the whole data set's frequencies and is refused; pass a dict, e.g. from
        :func:`sklearn.utils.class_weight.compute_class_weight` on a sample. A call that
        fails leaves the estimator as it was; to make that so, each call trains a copy of
        the network, which costs one copy of the weights and the optimizer's state.

        Examples
        --------
        >>> import numpy as np
        >>> from skseqattn import BiLSTMAttentionClassifier
        >>> rng = np.random.RandomState(0)
        >>> X = rng.randint(2, 6, size=(300, 8))
        >>> y = (X[:, 0] == 2).astype(int)
        >>> clf = BiLSTMAttentionClassifier(hidden_size=16, random_state=0)
        >>> for chunk in np.split(np.arange(300), 3):
        ...     clf = clf.partial_fit(X[chunk], y[chunk], classes=[0, 1])
        >>> clf.n_epochs_, clf.classes_.tolist()
        (3, [0, 1])
        """
        name = type(self).__name__
        first = not hasattr(self, "net_")
        if first:
            _check_parameter_values(self, name)
        if first and classes is None:
            raise ValueError(
                f"{name}.partial_fit needs classes on its first call, got classes=None; pass "
                "every label the stream holds, e.g. classes=np.unique(y_all)."
            )
        if self.class_weight == "balanced":
            raise ValueError(
                f"{name}.partial_fit does not support class_weight='balanced', which needs "
                "the frequencies of the whole data set; pass a dict of class weights, e.g. "
                "from sklearn.utils.class_weight.compute_class_weight on a sample."
            )
        if classes is not None:
            classes_arr = np.asarray(classes)
            if classes_arr.ndim != 1:
                raise ValueError(
                    f"{name}.partial_fit expected classes as a 1-D array of labels, got shape "
                    f"{classes_arr.shape}."
                )
            classes_arr = np.unique(classes_arr)
            if first and len(classes_arr) < 2:
                raise ValueError(
                    f"{name}.partial_fit needs at least 2 classes, got "
                    f"classes={classes_arr.tolist()}."
                )
            if not first and not np.array_equal(classes_arr, self.classes_):
                raise ValueError(
                    f"{name}.partial_fit got classes={classes_arr.tolist()}, but classes_ is "
                    f"{self.classes_.tolist()} since the first call; pass the same classes (or "
                    "none), or call fit to start anew."
                )
        else:
            classes_arr = self.classes_
        device = resolve_device(self.device, who=name) if first else self.device_
        seqs, kind, meta = self._validate_X(X, reset=first)
        if first:  # the series branch is fitted in closed form on a whole training set
            meta["series_length_"] = 0
        y_arr = self._check_y(y, len(seqs))
        y_enc = np.searchsorted(classes_arr, y_arr)
        unknown = (y_enc >= len(classes_arr)) | (
            classes_arr[np.minimum(y_enc, len(classes_arr) - 1)] != y_arr
        )
        if unknown.any():
            raise ValueError(
                f"{name}.partial_fit got labels {sorted(set(y_arr[unknown].tolist()))} that "
                f"are not in classes {classes_arr.tolist()}; pass every label of the stream as "
                "classes on the first call."
            )
        weights = self._weights(sample_weight, y_arr)
        kind = kind.fitted(
            seqs,
            name=name,
            embedding_weights=self.embedding_weights,
            previous=None if first else self._input,
            embedding_dim=self.embedding_dim,
            normalization=_normalizations(self.normalization, kind, seqs, branch=False)[0],
        )
        seqs = kind.encode(seqs)
        if first:  # the table is sized by the first chunk's ids and n-grams
            meta["ngram_order_"] = self._ngram_order(kind)
            meta["ngram_buckets_"] = self._ngram_rows(len(classes_arr), meta["ngram_order_"], seqs)
        w_train = None if np.all(weights == weights[0]) else weights / weights.mean()

        from ._batches import SequenceDataset
        from ._net import seeded

        epochs_done = 0 if first else len(self.net_.history)
        base = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        # One seed per call, from random_state and the epochs so far: chunks are shuffled
        # and dropped out differently, and an int random_state still repeats the stream.
        seed = int(np.random.RandomState([int(base), epochs_done]).randint(np.iinfo(np.int32).max))
        rng = np.random.RandomState(seed)
        train_ds = SequenceDataset(seqs, y_enc, w_train)
        with seeded(seed, device):
            if first:
                offset = self._logit_offset(
                    np.concatenate([y_enc, np.arange(len(classes_arr))]),
                    None
                    if w_train is None
                    else np.concatenate([w_train, np.ones(len(classes_arr))]),
                    len(classes_arr),
                )
                net = self._new_net(
                    kind,
                    len(classes_arr),
                    shape=_module_shape(meta),
                    device=device,
                    valid_ds=None,
                    rng=rng,
                    logit_offset=offset,
                )
                net.partial_fit(train_ds, None, epochs=1)
            else:
                net = self._continued_net(train_ds, rng, epochs=1)
        fit_meta = meta if first else self._fit_meta()
        best_epoch = None if first else self.best_epoch_
        self._install(net, classes_arr, kind, fit_meta, best_epoch=best_epoch, device=device)
        return self

    def _ngram_order(self, kind) -> int:
        """``ngram_order_``: the orders of the n-gram table (0 without one); ``'auto'``
        looks at the number of token ids (see :func:`~skseqattn._net.ngram_order_for`)."""
        from ._net import ngram_order_for

        return ngram_order_for(self.ngram_order, kind.module_args()["vocab_size"])

    def _ngram_rows(self, n_classes, order, seqs=None) -> int:
        """``ngram_buckets_``: the rows of the n-gram table of orders ``order``
        (``ngram_order_``; 0: no table, as for real-valued input); ``'auto'`` looks at the
        number of distinct n-grams in the training sequences ``seqs``. Without ``seqs``:
        the rule of models saved before ``ngram_buckets_`` existed."""
        if not order:
            return 0
        from ._net import NGRAM_MAX_ROWS, ngram_buckets_for
        from ._ngram_blend import count_distinct_ngrams

        if seqs is None:
            return ngram_buckets_for(self.ngram_buckets, n_classes, legacy=True)
        distinct = None
        if self.ngram_buckets == "auto":
            distinct = count_distinct_ngrams(seqs, order, NGRAM_MAX_ROWS // 2)
        return ngram_buckets_for(self.ngram_buckets, n_classes, distinct=distinct)

    def _fit_meta(self):
        return {k: getattr(self, k) for k in _FIT_META_ATTRS if k in vars(self)}

    def _install(self, net, classes, kind, fit_meta, *, best_epoch, device):
        """Replace the fitted state in one go: the end of ``fit``, and of ``load``."""
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, key)
        self.classes_ = classes
        self.input_type_ = kind.name
        for key, value in {**kind.fitted_attributes(), **fit_meta}.items():
            setattr(self, key, value)
        self._input = kind
        self.net_ = net
        self.module_ = net.module_
        if getattr(net.module_, "embedding", None) is not None:
            self.embedding_dim_ = int(net.module_.embedding.embedding_dim)
        self.history_ = net.history
        self.ngram_blend_ = _blend_weight(net.history)
        self.logit_offset_ = net.logit_offset
        self.n_epochs_ = len(net.history)
        self.best_epoch_ = best_epoch
        self.device_ = device

    def _restore(
        self, *, classes, fitted, state_dict, history, device, check_weights=None, saved=None
    ):
        """Rebuild the fitted state from stored parts, exactly as ``fit`` builds it.

        Used by :func:`skseqattn.load`: ``fitted`` holds the other fitted attributes (as
        ``fit`` sets them), ``state_dict`` the module's weights, ``history`` skorch's
        epochs. ``state_dict`` may also be a callable: it is then called with the
        ``{name: (shape, dtype)}`` the parameters imply (computed without allocating) and
        returns the weights, so that a reader can check them before building anything.
        ``check_weights``, when given, is called with the fresh module's own state dict
        before the weights are loaded, to reject weights that do not fit. ``saved``, the
        names of the stored weights, is needed with a callable ``state_dict``.
        """
        from skorch.history import History

        from ._batches import SequenceDataset
        from ._sequences import RaggedSequences

        kind = kind_named(fitted.get("input_type_")).from_fitted(fitted)
        # Saved before 'auto' existed: the parameter was a bool and said it.
        positions = bool(fitted.get("position_encoding_", self.position_encoding is True))
        series_length = int(fitted.get("series_length_", 0))  # saved before it: no branch
        order = fitted.get("ngram_order_")
        if order is None:  # saved before it: the parameter was an int and said it
            order = self._ngram_order(kind)
        rows = fitted.get("ngram_buckets_")
        if rows is None:  # saved before it: the rule of 'auto' was the legacy one
            rows = self._ngram_rows(len(classes), order)
        fitted = {
            **fitted,
            "position_encoding_": positions,
            "series_length_": series_length,
            "ngram_order_": int(order),
            "ngram_buckets_": int(rows),
        }
        saved = state_dict.keys() if saved is None and not callable(state_dict) else saved
        self._read_legacy_attention(learned_query="pool.query" in (saved or ()))
        if callable(state_dict):
            from ._net import module_shapes

            state_dict = state_dict(
                module_shapes(self, kind, len(classes), **_module_shape(fitted))
            )
        # Mirror the callbacks of the original net (early stopping and the schedule exist
        # when validation data did), so that warm_start training continues alike. The
        # placeholder validation set is never read: fit passes its own.
        placeholder = None
        if any("valid_loss" in epoch for epoch in history):
            placeholder = SequenceDataset(RaggedSequences.from_list([]))
        net = self._new_net(
            kind,
            len(classes),
            shape=_module_shape(fitted),
            device=device,
            valid_ds=placeholder,
            rng=np.random.RandomState(0),
            logit_offset=fitted.get("logit_offset_"),
        )
        net.initialize()
        if check_weights is not None:
            check_weights(net.module_.state_dict())
        net.module_.load_state_dict(state_dict, strict=True)
        net.history_ = History(history)
        fit_meta = {k: fitted[k] for k in _FIT_META_ATTRS if k in fitted}
        self._install(
            net, classes, kind, fit_meta, best_epoch=fitted.get("best_epoch_"), device=device
        )
        for key, value in fitted.items():  # any attribute a later version added
            if not hasattr(self, key):
                setattr(self, key, value)
        return self

    def _check_inference_precision(self):
        """``inference_precision`` is read at prediction time: check it there too."""
        value = getattr(self, "inference_precision", "float64")
        if value not in ("float64", "float32"):
            raise ValueError(
                f"{type(self).__name__} got inference_precision={value!r}; use 'float64' "
                "(rows independent of their batch) or 'float32' (faster)."
            )

    def _predict(self, X, *, attention=False):
        """(sequences, logits, step weights or None) from one pass of the net over ``X``.

        The sequences are the validated input as given, before encoding (ids beyond the
        embedding still as they were).
        """
        check_is_fitted(self, "net_")
        self._check_inference_precision()
        seqs, kind, _ = self._validate_X(X, reset=False)
        logits, weights = self.net_.predict_sequences(
            kind.encode(seqs), attention=attention, precision=self.inference_precision
        )
        return seqs, logits, weights

    def _logits(self, X):
        return self._predict(X)[1]

    def decision_function(self, X):
        """Confidence scores: the class logits.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the logit of ``classes_[1]`` minus that of ``classes_[0]``
            (positive means ``classes_[1]``), as scikit-learn's binary classifiers do; else
            one logit per class. The softmax of the logits is :meth:`predict_proba`.
        """
        logits = self._logits(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_proba(self, X):
        """Class probabilities of shape (n_samples, n_classes), columns as ``classes_``."""
        return _softmax(self._logits(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        logits = self._logits(X)
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def predict(self, X):
        """Predicted labels, taken from ``classes_``."""
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def attention_weights(self, X):
        """Attention weights of each step, in the layout of ``X``.

        Returns
        -------
        weights : ndarray of shape (n_samples, width) or (n_samples, width, heads)
            ``width`` is the width of ``X`` (the longest sequence for a list). Each row sums
            to 1 over its real steps and is exactly 0 on padding (all zeros for an empty
            sequence). The last axis is present when ``attention_heads > 1``.
        """
        seqs, _, step_weights = self._predict_with_attention(X)
        return _in_layout(seqs, step_weights)

    def _predict_with_attention(self, X):
        """(sequences, probabilities, per-step weights): one pass, for explanations."""
        check_is_fitted(self, "net_")
        if self.module_.pooling_name != "attention":
            raise ValueError(
                f"attention_weights needs pooling='attention'; this model was fitted with "
                f"pooling={self.module_.pooling_name!r}."
            )
        seqs, logits, step_weights = self._predict(X, attention=True)
        return seqs, _softmax(logits), step_weights

    def _predict_with_contributions(self, X):
        """(sequences, probabilities, per-step weights or None, contributions): one pass.

        The contributions are those of :meth:`SequenceNet.predict_sequences`; the weights
        are the attention of the same pass (None without attention pooling).
        """
        check_is_fitted(self, "net_")
        self._check_inference_precision()
        seqs, kind, _ = self._validate_X(X, reset=False)
        attention = self.module_.pooling_name == "attention"
        logits, weights, found = self.net_.predict_sequences(
            kind.encode(seqs),
            attention=attention,
            contributions=True,
            precision=self.inference_precision,
        )
        return seqs, _softmax(logits), weights, found

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    # Pickling (see skseqattn.persistence for a format safe to load from others): module_ is
    # net_.module_, which skorch pickles so that a net trained on CUDA loads on a machine
    # without one (on the CPU, with a warning). Pickling module_ a second time would store
    # the weights twice, break the sharing, and fail to load without CUDA.
    def __getstate__(self):
        state = dict(super().__getstate__())
        if "net_" in state:
            state.pop("module_", None)
        return state

    def __setstate__(self, state):
        state.update(self._fill_added_params(state))  # pickled before some parameters
        module = getattr(state.get("net_"), "module_", None)
        for part, value in _ADDED_MODULE_PARTS.items() if module is not None else ():
            if not hasattr(module, part):
                setattr(module, part, value)  # pickled before that part existed
        if module is not None:
            state.setdefault("series_length_", 0)  # pickled before the series branch
            ngrams = getattr(module, "ngrams", None)  # pickled before ngram_buckets_
            state.setdefault("ngram_buckets_", 0 if ngrams is None else ngrams.buckets)
            state.setdefault("ngram_order_", 0 if ngrams is None else ngrams.max_order)
        if module is not None and "position_encoding_" not in state:
            state["position_encoding_"] = module.position is not None  # before 'auto'

        super().__setstate__(state)
        if "net_" in state:
            self.module_ = self.net_.module_
            self.device_ = str(self.net_.device)
            if "_input" not in state:  # pickled by a version without input kinds
                self._input = kind_named(self.input_type_).from_fitted(vars(self))
            if "unknown_id_" not in state and hasattr(self._input, "unknown_id"):
                self.unknown_id_ = self._input.unknown_id  # token input
            if "normalization_" not in state and hasattr(self._input, "normalization"):
                self.normalization_ = self._input.normalization  # before the parameter
            pool = getattr(self.module_, "pool", None)
            self._read_legacy_attention(learned_query="query" in getattr(pool, "_parameters", {}))

    @staticmethod
    def _fill_added_params(params):
        """``params`` (a model's saved parameters) with those it lacks from
        ``_ADDED_PARAMS``: the one place both pickles and files get them."""
        return {**_ADDED_PARAMS, **params}

    def _read_legacy_attention(self, *, learned_query):
        """The one parameter a saved model may change as it comes back, and why.

        Until the rename, ``attention='dot'`` named the learned query that is
        ``'scaled_dot'`` now. A model saved then holds that network (its weights have a
        learned query): keeping ``'dot'`` would make ``get_params`` describe another
        network than the one that predicts, and ``clone`` or a refit build that other
        one. So the parameter is renamed to what the network is, with a warning saying so,
        never silently; a model whose ``'dot'`` has no learned query is Luong's score and
        stays as it is.
        """
        if self.attention == "dot" and learned_query:
            warnings.warn(
                f"{type(self).__name__}: this model was saved when attention='dot' named a "
                "learned query; it comes back with attention='scaled_dot', that network's "
                "name now ('dot' is Luong's dot score against the final state). Save it "
                "again to store the new name.",
                FutureWarning,
                stacklevel=3,
            )
            self.attention = "scaled_dot"


def _positions_for(position_encoding, lengths) -> bool:
    """The fitted ``position_encoding_``: the parameter, or the rule of ``'auto'``.

    ``'auto'`` adds positions when every training sequence has the same length (at least 2
    sequences of at least 2 steps, no padding): fixed-length windows, whose positions mean
    the same in every row. Ragged sequences (names, texts, series of varying length) leave
    them out.
    """
    if position_encoding != "auto":
        return bool(position_encoding)
    lengths = np.asarray(lengths)
    return bool(lengths.size >= 2 and lengths.min() >= 2 and lengths.min() == lengths.max())


def _normalizations(normalization, kind, seqs, *, branch) -> tuple[str, ...]:
    """The normalisations ``fit`` tries on ``seqs``, the first kept on a tie:
    `normalization` itself, or for ``'auto'`` both where the series branch can judge them
    (``branch``) and they differ (not series z-normalised already), else ``'global'``.
    Token input ignores the value."""
    if not isinstance(kind, FeatureInput):
        return ("global",)
    if normalization != "auto":
        return (normalization,)
    if branch and not series_share_one_scale(seqs):
        return ("global", "series")
    return ("global",)


def _softmax(logits):
    logits = logits - logits.max(axis=1, keepdims=True)
    proba = np.exp(logits)
    proba /= proba.sum(axis=1, keepdims=True)
    return proba


def _in_layout(seqs, step_weights):
    """Per-step weights (total_steps, heads) placed in the caller's columns."""
    heads = step_weights.shape[1]
    result = np.zeros((len(seqs), seqs.width, heads), dtype=np.float64)
    row_of_step = np.repeat(np.arange(len(seqs)), seqs.lengths)
    result[row_of_step, seqs.positions] = step_weights
    return result[..., 0] if heads == 1 else result


def _scaled_by_max(weights):
    """Non-negative weights divided by their maximum (left alone when that is not > 0)."""
    top = weights.max() if len(weights) else 0.0
    return weights / top if np.isfinite(top) and top > 0 else weights


_MAX_LR = 1e30


def _check_parameter_values(est, name):
    """Refuse parameter values their constraints cannot express, before fitting.

    An even ``conv_kernel`` (the convolution is centred on each step); NaN and infinity in
    ``class_weight`` and ``embedding_weights``; and a learning rate no optimizer step
    survives: above ``_MAX_LR`` PyTorch's optimizers
    overflow float32 (``value cannot be converted to type float``) or the loss turns NaN
    in the first batches.
    """
    if est.conv_kernel % 2 == 0 and est.conv_kernel:
        raise ValueError(
            f"{name} got conv_kernel={est.conv_kernel}, but the convolution is centred on "
            f"each step and needs an odd width; pass {est.conv_kernel - 1} or "
            f"{est.conv_kernel + 1}, or 0 to leave it out."
        )
    if not np.isfinite(est.lr) or est.lr > _MAX_LR:
        raise ValueError(
            f"{name} got lr={est.lr:g}, far beyond any learning rate that trains: the first "
            "steps would overflow float32. Use a learning rate such as the default 0.003 "
            "(typically 1e-4 to 1e-1)."
        )
    if isinstance(est.class_weight, dict):
        for label, weight in est.class_weight.items():
            ok = isinstance(weight, Real) and not isinstance(weight, bool)
            if not ok or not np.isfinite(weight) or weight < 0:
                raise ValueError(
                    f"{name} got class_weight {weight!r} for class {label!r}; class weights "
                    "must be finite numbers >= 0."
                )
    if est.embedding_weights is None:
        return
    try:
        weights = np.asarray(est.embedding_weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} expected embedding_weights as a 2-D array of numbers (n_ids, "
            f"embedding_dim), got {type(est.embedding_weights).__name__} that is not one."
        ) from exc
    bad = ~np.isfinite(weights) | (np.abs(weights) > np.finfo(np.float32).max)
    if bad.any():
        where = ", ".join(str(int(i)) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} got NaN, infinity or a value too large for float32 in embedding_weights "
            f"(first at index ({where})); every vector must be finite. Fill missing vectors, "
            "e.g. with zeros or the mean vector."
        )


def _ndim(X) -> int:
    try:
        return np.ndim(X)
    except (ValueError, TypeError):
        return -1


def _too_small(n, n_valid, n_classes, need):
    return (
        f"validation_fraction would hold out {n_valid} of {n} rows for {n_classes} classes, "
        f"fewer than the {need} a validation loss needs (at least {MIN_VALIDATION_ROWS}, "
        f"and {MIN_VALIDATION_PER_CLASS} per class); training on all rows without validation "
        "or early stopping. Pass validation_fraction=None to train without it silently, or a "
        "larger fraction to keep it."
    )


class _FeatureRecord(BaseEstimator):
    """Stand-in that receives ``n_features_in_`` / ``feature_names_in_`` from validate_data."""


def _module_shape(fitted) -> dict:
    """:func:`~skseqattn._net.build_module`'s keyword arguments from the fitted attributes
    that size the module (``fitted``: a dict of them, as ``fit`` records them)."""
    return {
        "positions": fitted["position_encoding_"],
        "series_length": fitted["series_length_"],
        "ngram_rows": fitted["ngram_buckets_"],
        "ngram_order": fitted["ngram_order_"],
    }


def _blend_weight(history) -> float:
    """``ngram_blend_``: the blend weight of the latest epoch that records one (later
    ``partial_fit`` epochs keep it: the blend stays in the weights), else 0.0."""
    for epoch in reversed(list(history)):
        chosen = epoch.get("ngram_blend")
        if isinstance(chosen, dict):
            return float(chosen["weight"])
    return 0.0
