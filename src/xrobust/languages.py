"""Language properties used to explain per-language robustness differences.

`distance` is a coarse typological distance from English: 1 = Germanic (same branch),
2 = other Indo-European, 3 = outside Indo-European. Scripts as written in the data.
"""
LANGUAGES = {
    "en": ("English", "Germanic", "Latin", 0), "de": ("German", "Germanic", "Latin", 1),
    "nl": ("Dutch", "Germanic", "Latin", 1), "es": ("Spanish", "Romance", "Latin", 2),
    "fr": ("French", "Romance", "Latin", 2), "it": ("Italian", "Romance", "Latin", 2),
    "pt": ("Portuguese", "Romance", "Latin", 2), "pl": ("Polish", "Slavic", "Latin", 2),
    "ru": ("Russian", "Slavic", "Cyrillic", 2), "bg": ("Bulgarian", "Slavic", "Cyrillic", 2),
    "el": ("Greek", "Hellenic", "Greek", 2), "hi": ("Hindi", "Indo-Aryan", "Devanagari", 2),
    "ur": ("Urdu", "Indo-Aryan", "Arabic", 2), "ja": ("Japanese", "Japonic", "Kanji/Kana", 3),
    "zh": ("Chinese", "Sinitic", "Han", 3), "ar": ("Arabic", "Semitic", "Arabic", 3),
    "tr": ("Turkish", "Turkic", "Latin", 3), "sw": ("Swahili", "Bantu", "Latin", 3),
    "th": ("Thai", "Tai", "Thai", 3), "vi": ("Vietnamese", "Vietic", "Latin", 3),
}


def language_table():
    import pandas as pd

    return pd.DataFrame([{"language": k, "name": v[0], "family": v[1], "script": v[2],
                          "distance_from_english": v[3], "latin_script": v[2] == "Latin"}
                         for k, v in LANGUAGES.items()]).set_index("language")
