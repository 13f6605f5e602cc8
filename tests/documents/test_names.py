"""Variant spellings of names read in the modern one: the Wade-Giles table, known names and places, Russian
endings, and ordinary English left alone."""

from __future__ import annotations

import pytest

from rag.documents.names import ABBREVIATIONS, KNOWN, modern_text, modernise, syllables


def test_the_syllable_table_is_the_standard_one():
    table = syllables()
    assert len(table) >= 400 and len(set(table.values())) >= 395  # every Pinyin syllable, some several ways
    standard = {"hsi": "xi", "ch'i": "qi", "chi": "ji", "chih": "zhi", "ch'ih": "chi", "jih": "ri", "tzu": "zi",
                "tz'u": "ci", "ssu": "si", "hsüeh": "xue", "ch'üan": "quan", "kuei": "gui", "ko": "ge",
                "lo": "luo", "erh": "er", "i": "yi", "yü": "yu", "yu": "you", "p'ing": "ping", "ping": "bing",
                "tung": "dong", "t'ung": "tong", "shih": "shi", "jen": "ren", "ts'ai": "cai"}
    assert {wg: table[wg] for wg in standard} == standard


@pytest.mark.parametrize(("written", "modern"), [
    ("What did Chou En-lai say about the test ban?", "What did Zhou Enlai say about the test ban?"),
    ("Mao Tse-tung and Teng Hsiao-ping in Peking", "Mao Zedong and Deng Xiaoping in Beijing"),
    ("Khrushchov on Sinkiang", "Khrushchev on Xinjiang"),
    ("Ch'en Po-ta and Chu Teh's speech", "Chen Boda and Zhu De's speech"),  # aspirate apostrophe, possessive
    ("Teng Hsiao-p’ing", "Deng Xiaoping"),  # typographic apostrophe
    ("Hao Te-ch'ing and Wang Kuo-ch'üan", "Hao Deqing and Wang Guoquan"),  # by the table, not listed
    ("Yen-an in 1945", "Yan'an in 1945"),  # Pinyin apostrophe before a vowel
    ("Moskovskii and Malinovskij met Brezhnyev", "Moskovsky and Malinovsky met Brezhnev"),
    ("Tientsin, Mukden, Nanking, Chungking, Amoy, Tsingtao, Canton",
     "Tianjin, Shenyang, Nanjing, Chongqing, Xiamen, Qingdao, Guangzhou"),
    ("LIN PIAO", "Lin Biao"),
])
def test_variant_spellings_read_as_modern(written, modern):
    assert modernise(written).text == modern


@pytest.mark.parametrize("text", [
    "How long did the Long March take?", "He went to the Man in Hang Ping", "the sun rose on Sun Yat-sen",
    "Chiang Kai-shek, Ho Chi Minh and Kim Il-sung", "Zhou Enlai, Deng Xiaoping, Chen Yi and Zhu De",
    "Sino-Soviet split", "The canton of Geneva", "Tchaikovsky in Moscow and Hawaii", "What An Tang She To Lung",
    "to be or not to be, she said", "Ping pong diplomacy",
])
def test_ordinary_words_and_modern_names_are_untouched(text):
    reading = modernise(text)
    assert reading.text == text and reading.changes == ()


def test_notes_say_each_spelling_read_otherwise_once():
    reading = modernise("Chou En-lai met Chou En-lai in Peking")
    assert reading.notes == ("read “Chou En-lai” as “Zhou Enlai”", "read “Peking” as “Beijing”")
    assert modern_text("Peking") == "Beijing"


def test_every_known_spelling_reads_as_its_modern_one():
    for written, modern in KNOWN.items():
        assert modern_text(written) == modern, written


def test_abbreviations_of_states_and_parties_read_as_their_names_only_in_capitals():
    reading = modernise("Was the GDR close to the CPSU?")
    assert reading.text == "Was the East Germany close to the Communist Party of the Soviet Union?"
    assert reading.notes[0] == "read “GDR” as “East Germany”"
    for text in ("he sed it", "the rok pass", "Gdr", "a ddr scan"):
        assert modernise(text).text == text
    assert set(ABBREVIATIONS) <= set(KNOWN)
