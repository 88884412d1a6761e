"""benchmarks/bench_texts.py: its loaders on tiny files, the summary's margins, a run."""

import json

import pytest

BENCHMARK = "bench_texts"  # imported by the bench fixture of conftest.py


def _write(path, text, encoding="utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


@pytest.fixture
def data(tmp_path):
    """A data folder with every set, a few lines each, laid out as the benchmark expects."""
    root = tmp_path / "data"
    questions = [
        "DESC:manner How did serfdom develop ?",
        "HUM:ind Who killed Gandhi ?",
        "LOC:city What city is the capital of France ?",
        "NUM:date When did the war end ?",
    ]
    train = questions * 5
    train[2] = "ENTY:cremat What caf\xe9 films featured Popeye ?"  # latin-1, not UTF-8
    _write(root / "trec" / "train_5500.label", "\n".join(train) + "\n", "latin-1")
    _write(root / "trec" / "TREC_10.label", "\n".join(questions), "latin-1")  # no final newline
    pos = [f"a fine and moving film number {i}" for i in range(10)]
    neg = [f"a dull and tired film number {i} , sadly" for i in range(10)]
    _write(root / "movie_reviews" / "rt-polarity.pos", "\n".join(pos) + "\n", "latin-1")
    _write(root / "movie_reviews" / "rt-polarity.neg", "\n".join(neg) + "\n\n", "latin-1")
    for language, stem in [("Russian", "ov"), ("Irish", "mac"), ("Greek", "os")]:
        lines = [f"{stem}{c}{d}" for c in "abcde" for d in "xy"]
        extra = "To The First  Page\n" if language == "Russian" else ""
        _write(
            root / "names" / f"{language}.txt", "\n".join(lines) + "\n" + lines[0] + "\n" + extra
        )
    rows = ["name;gender"]
    rows += [f"Hans{i};M" for i in range(10)] + [f"Anna{i};F" for i in range(10)]
    rows += ["Hans0;M", "Kim;M", "Kim;F", "Toni;?", "Abe Abraham;="]
    _write(root / "first_names_de" / "dict.csv", "\n".join(rows) + "\n")
    for family in ["alexa", "conficker", "cryptolocker", "matsnu", "pushdo", "ramdo", "rovnix"]:
        _write(
            root / "dga_families" / f"{family}.txt", "\n".join(f"{family}{i}.com" for i in range(5))
        )
    _write(root / "dga_families" / "tinba.txt", "\n".join(f"tb{i}.net" for i in range(5)) + "\n")
    _write(root / "dga_families" / "zeus.txt", "\n".join(["z.ru"] * 3 + ["y.ru", "x.ru", "w.ru"]))
    return root


def test_trec_reads_coarse_labels_latin1_and_the_given_split(bench, data):
    x_train, x_test, y_train, y_test = bench.load_set(data, "trec", seed=3)
    assert len(x_train) == 20 and len(x_test) == 4
    assert x_train[2] == "What caf\xe9 films featured Popeye ?"
    assert y_train[:4] == ["DESC", "HUM", "ENTY", "NUM"]
    assert y_test == ["DESC", "HUM", "LOC", "NUM"]
    assert x_test[1] == "Who killed Gandhi ?"


def test_trec_rejects_a_line_without_a_label(bench, tmp_path):
    path = tmp_path / "bad.label"
    path.write_text("no label here\n", encoding="latin-1")
    with pytest.raises(ValueError, match="not 'COARSE:fine question'"):
        bench.read_trec_file(path)


def test_movie_reviews_split_is_stratified_and_seeded(bench, data):
    first = bench.load_set(data, "movie_reviews", seed=0)
    again = bench.load_set(data, "movie_reviews", seed=0)
    other = bench.load_set(data, "movie_reviews", seed=1)
    x_train, x_test, y_train, y_test = first
    assert len(x_train) == 16 and len(x_test) == 4
    assert sorted(y_test) == ["neg", "neg", "pos", "pos"]
    assert first == again and first[1] != other[1]
    assert set(x_train) | set(x_test) == {
        f"a fine and moving film number {i}" for i in range(10)
    } | {f"a dull and tired film number {i} , sadly" for i in range(10)}


def test_names_drop_junk_and_duplicates(bench, data):
    x_train, x_test, y_train, y_test = bench.load_set(data, "names", seed=0)
    assert len(x_train) + len(x_test) == 30  # 3 x 10 unique, junk line and repeat dropped
    assert "To The First  Page" not in x_train + x_test
    assert sorted(set(y_train)) == ["Greek", "Irish", "Russian"]


def test_first_names_keep_only_single_gender_names(bench, data):
    names, genders = bench.read_first_names(data / "first_names_de" / "dict.csv")
    assert len(names) == 20 and len(set(names)) == 20  # Kim (M and F), Toni (?), '=' rows out
    assert dict(zip(names, genders))["Hans0"] == "M"
    assert dict(zip(names, genders))["Anna3"] == "F"
    assert "Kim" not in names and "Abe Abraham" not in names


def test_dga_reads_nine_families_without_repeats(bench, data):
    domains, families = bench.read_dga(data / "dga_families")
    assert len(set(families)) == 9
    assert families.count("zeus") == 4  # z.ru three times counts once
    assert len(domains) == 7 * 5 + 5 + 4


def test_missing_sets_are_skipped_with_a_message(bench, data, tmp_path, capsys):
    (data / "dga_families" / "zeus.txt").unlink()
    assert "zeus.txt missing" in bench.missing_reason(data, "dga_families")
    assert "not found" in bench.missing_reason(tmp_path / "nowhere", "trec")
    assert bench.missing_reason(data, "trec") is None


def test_summary_margin_is_against_the_better_tfidf(bench):
    records = [
        {
            "set": "s",
            "model": m,
            "seed": seed,
            "accuracy": a,
            "macro_f1": a,
            "fit_s": 1.0,
            "predict_rows_per_s": 10.0,
        }
        for m, accs in [
            ("skseqattn", (0.80, 0.82)),
            ("tfidf-word", (0.75, 0.75)),
            ("tfidf-char", (0.70, 0.78)),
        ]
        for seed, a in enumerate(accs)
    ]
    rows = {r["model"]: r for r in bench.summarise(records)}
    assert rows["skseqattn"]["baseline"] == "tfidf-word"  # mean 0.75 against char's 0.74
    assert rows["skseqattn"]["vs_baseline"] == pytest.approx(0.81 - 0.75)
    assert rows["skseqattn"]["accuracy_spread"] == pytest.approx(0.0141421, abs=1e-6)
    assert rows["tfidf-char"]["vs_baseline"] == pytest.approx(-0.01)


def test_tfidf_run_writes_table_and_json(bench, data, tmp_path, capsys):
    (data / "names").rename(tmp_path / "elsewhere")  # one set absent: skipped, not fatal
    out = tmp_path / "texts.json"
    bench.main(
        [
            "--data",
            str(data),
            "--models",
            "tfidf-word,tfidf-char",
            "--sets",
            "movie_reviews,names,dga_families",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert "skipping names" in printed
    assert "vs TF-IDF" in printed
    payload = json.loads(out.read_text())
    assert set(payload["skipped"]) == {"names"}
    assert {(r["set"], r["model"]) for r in payload["summary"]} == {
        (s, m) for s in ("movie_reviews", "dga_families") for m in ("tfidf-word", "tfidf-char")
    }
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in payload["records"])


def test_regex_tokens_split_and_pickle(bench):
    import pickle

    tokens = bench.RegexTokens(r"\w+|[^\w\s]")
    assert tokens("it's a fine, moving film") == [
        "it",
        "'",
        "s",
        "a",
        "fine",
        ",",
        "moving",
        "film",
    ]
    again = pickle.loads(pickle.dumps(tokens))
    assert again("don't") == ["don", "'", "t"]
    assert repr(again) == "RegexTokens('\\\\w+|[^\\\\w\\\\s]')"


def test_token_pattern_must_compile(bench, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(["--token-pattern", "(unclosed"])
    assert "--token-pattern is not a valid regular expression" in capsys.readouterr().err


def test_token_pattern_reaches_the_vectorizer(bench, data, tmp_path):
    out = tmp_path / "texts.json"
    params = {"max_epochs": 2, "hidden_size": 8, "embedding_dim": 8, "ngram_blend": None}
    bench.main(
        [
            "--data",
            str(data),
            "--models",
            "skseqattn",
            "--sets",
            "movie_reviews",
            "--token-pattern",
            r"\b\w+\b",
            "--classifier-params",
            json.dumps(params),
            "--out",
            str(out),
        ]
    )
    payload = json.loads(out.read_text())
    assert payload["token_pattern"] == r"\b\w+\b"
    (record,) = payload["records"]
    assert record["analyzer"] == "callable"  # the regex, not 'auto''s whitespace split
    assert 0.0 <= record["accuracy"] <= 1.0
