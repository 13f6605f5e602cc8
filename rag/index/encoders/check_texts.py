"""What a new ONNX export is checked on against sentence-transformers before it is used: fixed sentences
shaped like this archive's text, and a sample of the corpus being indexed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.documents.document import Document

#: Sentences shaped like this archive's questions, titles and summaries (short and long, dates, names in
#: several scripts, punctuation, one past the 256-token limit) on which an export must match torch.
CHECK_TEXTS: tuple[str, ...] = (
    "How did Beijing react to the 1963 treaty limiting nuclear tests?",
    "Chinese premier warning that the nuclear powers would bully small nations",
    "Khrushchev's letter to Mao about the withdrawal of Soviet specialists",
    "Romania's position in the Sino-Soviet split",
    "What did Zhou Enlai tell the Albanian delegation in 1964?",
    "Soviet ambassador's conversation with Liu Shaoqi",
    "border clashes on Zhenbao (Damansky) Island, March 1969",
    "Cuban missile crisis",
    "Minutes of the meeting of the Presidium of the CC CPSU, 14 October 1964",
    "Telegram from the Hungarian Embassy in Beijing on the Cultural Revolution",
    "Memorandum of conversation between Mao Zedong and Pavel Yudin",
    "Did the Vietnamese leadership take sides between Moscow and Beijing?",
    "Record of a conversation of N.S. Khrushchev with Mao Zedong, Beijing, 2 October 1959.",
    "The Chinese side stated that the Soviet comrades had violated the principle of equality among parties.",
    "Report on the Warsaw Pact Political Consultative Committee meeting in Bucharest",
    "Polish United Workers' Party assessment of the Chinese position on peaceful coexistence",
    "East German diplomats describe Red Guard demonstrations outside the Soviet embassy.",
    "nuclear sharing agreement 1957 cancelled",
    "Who was Kang Sheng?",
    "Tito and the non-aligned movement",
    "Letter of the Central Committee of the Communist Party of China to the CC CPSU, 14 June 1963",
    "Open letter of the CPSU Central Committee to party organisations and all communists of the Soviet Union",
    "Mongolian People's Republic requests Soviet troops after clashes with China",
    "Ho Chi Minh visits Moscow and Beijing seeking mediation",
    "The Albanian Party of Labour sided with Beijing against the Soviet leadership in 1961.",
    "economic aid, loans and the recall of experts in July 1960",
    "ideological polemics: the 'Nine Commentaries'",
    "What happened at the Moscow conference of 81 communist parties in November 1960?",
    "Indian-Chinese border war of 1962 and Soviet neutrality",
    "North Korea between the USSR and the PRC",
    "Brezhnev doctrine and Chinese denunciations of 'social-imperialism'",
    "Kissinger's secret trip to Beijing, July 1971",
    "Soviet reaction to the Sino-American rapprochement",
    "Czechoslovakia 1968",
    "Dokument: Information über die Lage in der Volksrepublik China (SED, 1967)",
    "Беседа Н. С. Хрущева с Мао Цзэдуном",
    "毛泽东与赫鲁晓夫会谈记录",
    "Rapport de l'ambassade de France à Pékin sur la rupture sino-soviétique",
    "Ministerstwo Spraw Zagranicznych: notatka z rozmowy z ambasadorem ChRL",
    "1960-06-24",
    "?",
    "the",
    "Summary: The document reports on talks between delegations; the sides exchanged views on the "
    "international communist movement, the struggle against imperialism, and disagreements over tactics.",
    "Mao Zedong declared that the atomic bomb is a paper tiger and that China would not fear a nuclear war.",
    "Translation of a Chinese government statement on the partial test ban treaty, August 1963",
    "Intelligence estimate: prospects for the Sino-Soviet relationship over the next five years",
    "Record of conversation between the Soviet ambassador S.V. Chervonenko and Deng Xiaoping on ideological "
    "questions, with annexes; numbers 1, 2, 3; dates 1962-1963; places: Beijing, Moscow, Shanghai.",
    "Kosygin and Zhou Enlai meet at Beijing airport, 11 September 1969",
    "Why did the Soviet Union withdraw its specialists from China?",
    " ".join(["The delegation discussed the situation in the socialist camp, the border question, trade, "
              "and the polemics between the two parties in great detail."] * 12),
)

#: How many corpus texts (evenly spread) a new ONNX export is checked on, besides `CHECK_TEXTS`: enough
#: to meet the corpus's languages and lengths, few enough that the once-per-model torch encode stays short.
CHECK_SAMPLE = 256


def for_corpus(documents: Sequence[Document]) -> list[str]:
    """What a new ONNX export must encode like sentence-transformers before a rebuild of `documents` uses it.

    Args:
        documents: the corpus's documents.

    Returns:
        `CHECK_TEXTS` and the embedded texts of up to CHECK_SAMPLE documents, evenly spread.
    """
    sample = documents[::max(1, len(documents) // CHECK_SAMPLE)][:CHECK_SAMPLE]
    return [*CHECK_TEXTS, *(doc.embedding_text for doc in sample)]
