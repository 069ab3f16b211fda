"""A deterministic, realistic-looking vocabulary for generated case files, and search queries
drawn from it.

The text is not real language, but its word frequencies are shaped like real notes: function
words in almost every note, a few hundred domain words with a Zipf distribution (the top
ones in most notes), person names and place names with their own skew, and a long tail of
rare words and codes (vehicle plates, unit numbers) that match a handful of notes each.
Everything comes from one seed, so the same scale gives the same vocabulary and queries.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field


def _words(text: str) -> list[str]:
    return text.split()


STOPWORDS = _words(
    "the of and to a in was that he she on at by with from his her they were had for as it "
    "not this is be an which after before near during their there when then we our him them "
    "into about who also"
)

DOMAIN = _words(
    "witness soldiers village attack house market checkpoint detained statement interview "
    "family night morning men women children killed injured wounded shot burned fled "
    "displaced camp road river bridge school hospital church mosque army militia commander "
    "unit vehicle truck weapons rifles shelling artillery mortar drone airstrike "
    "prisoners detention cell guard beaten tortured interrogated released missing body bodies "
    "grave burial looted property cattle crops fire smoke gunfire explosion checkpoint "
    "uniform soldier officer lieutenant captain colonel sergeant battalion brigade patrol "
    "convoy roadblock curfew arrest arrested abducted hostage ransom negotiation threat "
    "threatened warned ordered order commanded radio phone message video photo photograph "
    "document documents report medical doctor nurse clinic injuries scar scars bruises "
    "victim victims survivor survivors neighbour neighbours brother sister mother father son "
    "daughter husband wife uncle cousin elder chief mayor council police gendarmes station "
    "prison court judge lawyer trial hearing testimony corroborated corroborates identified "
    "identification lineup recognised recognized described description height beard scarf "
    "helmet boots knife machete stick whip cable electric shock water food hunger "
    "rape assault sexual violence forced displacement deportation transfer enforced "
    "disappearance execution executions summary massacre mass graves exhumation forensic "
    "autopsy remains skull bones clothing shoes bag identity card passport registration "
    "list names dozens hundreds several many few some others group crowd gathered fled "
    "escaped hid hiding forest bush hill mountain valley border crossing refugees refugee "
    "shelter tent aid humanitarian convoy food distribution wells water pump generator "
    "electricity fuel petrol car motorbike pickup tank armoured helicopter plane "
    "north south east west centre outskirts district quarter street square compound "
    "gate wall roof window door room courtyard basement warehouse factory office "
    "mine mines landmine explosive device grenade bullet casings cartridges shrapnel "
    "satellite imagery open source social media post posted account footage recording "
    "audio intercept transcript translated interpreter language dialect accent "
    "consent protective measures pseudonym anonymity risk relocation follow up contact "
    "timeline sequence events date dates approximately around roughly hours days weeks "
    "months later earlier previous following same another first second third last "
    "saw heard told said asked answered remembered recalled believes believed knows "
    "knew thinks saw shouting screaming crying running walking driving arrived left "
    "returned came went took brought carried dragged pushed tied blindfolded"
)

FIRST_NAMES = _words(
    "Ahmed Amina Fatima Mohammed Yusuf Aisha Omar Layla Hassan Mariam Ali Zainab Ibrahim "
    "Khadija Mustafa Samira Karim Nadia Tariq Rania Jamal Hoda Salim Leila Bilal Noor "
    "Jean Marie Pierre Claire Joseph Josephine Emmanuel Grace Patrice Esther Didier Solange "
    "Innocent Chantal Augustin Odette Celestin Beatrice Faustin Immaculee Thierry Vestine "
    "Ivan Olena Dmytro Iryna Oleksandr Natalia Serhii Tetiana Andrii Yulia Mykola Oksana "
    "Milan Jelena Dragan Vesna Goran Snezana Zoran Mirjana Nikola Ana Bojan Maja "
    "Carlos Maria Jose Ana Luis Carmen Jorge Rosa Miguel Lucia Pedro Elena Juan Teresa "
    "Abdi Hawa Mahamat Halima Idriss Fatouma Moussa Aminata Oumar Mariama Seydou Kadiatou "
    "Tenzin Pema Aung Thida Min Hla Kyaw Su Zaw Khin Htet Nandar "
    "Samuel Ruth David Sarah Daniel Rebecca John Mary Peter Agnes Paul Esther James Joyce"
)

SURNAMES = _words(
    "Hassan Ibrahim Mahmoud Abdullah Khalil Haddad Nasser Saleh Farouk Rahman Qasim Darwish "
    "Habimana Uwimana Niyonzima Mukamana Nsengiyumva Hakizimana Ndayisaba Uwase Bizimana "
    "Kovalenko Shevchenko Bondarenko Tkachenko Kravchenko Melnyk Boyko Moroz Lysenko Savchuk "
    "Petrovic Jovanovic Nikolic Markovic Djordjevic Stojanovic Ilic Pavlovic Kovacevic "
    "Garcia Rodriguez Martinez Hernandez Lopez Gonzalez Perez Sanchez Ramirez Torres Flores "
    "Traore Diallo Keita Coulibaly Toure Sangare Konate Camara Sow Barry Ouedraogo Sawadogo "
    "Mahamat Abakar Adoum Haroun Deby Oumar Djibrine Saleh Brahim Issa "
    "Oo Win Aung Htun Myint Thein Kyaw Lwin Naing Soe Zaw Tun "
    "Okello Otieno Mwangi Kamau Achieng Wanjiru Odhiambo Kiprop Nyambura Mutua Onyango"
)

SYLLABLES = _words(
    "ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no "
    "nu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo za ze zi zo zu ga go gu ha "
    "he ho ya yo wa kel mar tan vor sen dul bar kim ros tal nor vek"
)

PLACE_SUFFIXES = ("", "", "", "a", "i", "ovo", "ville", "abad", "pur", "grad", "kro", "ane")


def _zipf_cum(n: int, s: float) -> list[float]:
    weights = [1.0 / (rank**s) for rank in range(1, n + 1)]
    return list(itertools.accumulate(weights))


@dataclass
class Vocabulary:
    """The word lists and the samplers that draw notes, titles and queries from them."""

    rng: random.Random
    domain: list[str]
    places: list[str]
    rare: list[str]
    first: list[str]
    last: list[str]
    _cum_domain: list[float] = field(default_factory=list)
    _cum_places: list[float] = field(default_factory=list)
    _cum_rare: list[float] = field(default_factory=list)
    _cum_first: list[float] = field(default_factory=list)
    _cum_last: list[float] = field(default_factory=list)

    @classmethod
    def build(cls, seed: int) -> Vocabulary:
        rng = random.Random(seed)
        domain = list(dict.fromkeys(DOMAIN))
        rng.shuffle(domain)  # which domain words are the most common is part of the seed
        places = _invent(rng, 3000, 2, 3, PLACE_SUFFIXES, capital=True, avoid=set())
        taken = {w.lower() for w in (*domain, *places, *STOPWORDS, *FIRST_NAMES, *SURNAMES)}
        rare = _invent(rng, 40000, 2, 4, ("",), capital=False, avoid=taken)
        first = list(dict.fromkeys(FIRST_NAMES))
        last = list(dict.fromkeys(SURNAMES))
        rng.shuffle(first)
        rng.shuffle(last)
        vocab = cls(rng, domain, places, rare, first, last)
        vocab._cum_domain = _zipf_cum(len(domain), 1.0)
        vocab._cum_places = _zipf_cum(len(places), 1.05)
        vocab._cum_rare = _zipf_cum(len(rare), 0.9)
        vocab._cum_first = _zipf_cum(len(first), 0.8)
        vocab._cum_last = _zipf_cum(len(last), 0.8)
        return vocab

    # -- drawing words ----------------------------------------------------------------------

    def _pick(self, items: list[str], cum: list[float]) -> str:
        x = self.rng.random() * cum[-1]
        return items[bisect.bisect_left(cum, x)]

    def domain_word(self) -> str:
        return self._pick(self.domain, self._cum_domain)

    def place(self) -> str:
        return self._pick(self.places, self._cum_places)

    def rare_word(self) -> str:
        return self._pick(self.rare, self._cum_rare)

    def name(self) -> str:
        return f"{self._pick(self.first, self._cum_first)} {self._pick(self.last, self._cum_last)}"

    def code(self) -> str:
        r = self.rng.random()
        if r < 0.4:
            letters = self.rng.choice("ABCDEFGHKLMNPRSTVXZ") + self.rng.choice("ABCDEHKMX")
            return f"{letters}-{self.rng.randrange(1000, 9999)}"
        if r < 0.7:
            return f"unit {self.rng.randrange(100, 9999)}"
        return str(self.rng.randrange(1940, 2027))

    def token(self) -> str:
        r = self.rng.random()
        if r < 0.42:
            return self.rng.choice(STOPWORDS)
        if r < 0.78:
            return self.domain_word()
        if r < 0.84:
            return self.name()
        if r < 0.89:
            return self.place()
        if r < 0.98:
            return self.rare_word()
        return self.code()

    def sentence(self, words: int) -> str:
        tokens = [self.token() for _ in range(max(1, words))]
        tokens[0] = tokens[0][:1].upper() + tokens[0][1:]
        return " ".join(tokens) + "."

    def text(self, mean_words: int) -> str:
        """A paragraph of roughly `mean_words` words (log-normal spread)."""
        total = max(4, min(int(self.rng.lognormvariate(0, 0.6) * mean_words * 0.85), 600))
        parts = []
        while total > 0:
            n = min(total, self.rng.randint(6, 18))
            parts.append(self.sentence(n))
            total -= n
        return " ".join(parts)

    def case_title(self) -> str:
        r = self.rng.random()
        if r < 0.5:
            return f"{self.domain_word().capitalize()} {self.domain_word()} in {self.place()}"
        if r < 0.8:
            return f"{self.place()}: {self.domain_word()} and {self.domain_word()}"
        return f"{self.name()} and others"

    # -- queries ---------------------------------------------------------------------------

    def queries(self, count: int, seed: int) -> list[tuple[str, str]]:
        """`count` (category, text) search queries mixing rare and common words, names and
        places, in proportions close to what people type into a case search box."""
        rng = random.Random(seed)
        save, self.rng = self.rng, rng
        try:
            mix: list[tuple[str, float, Callable[[], str]]] = [
                ("rare word", 0.175, lambda: rng.choice(self.rare[200:20000])),
                ("common word", 0.175, lambda: rng.choice(self.domain[:40])),
                ("mid word", 0.10, lambda: rng.choice(self.domain[40:])),
                ("name", 0.15, self._query_name),
                ("place", 0.15, lambda: rng.choice(self.places[:500])),
                ("two words", 0.15, self._query_pair),
                ("phrase", 0.10, self._query_phrase),
            ]
            out: list[tuple[str, str]] = []
            for label, share, make in mix:
                out.extend((label, make()) for _ in range(round(share * count)))
            while len(out) < count:
                out.append(("common word", rng.choice(self.domain[:40])))
            rng.shuffle(out)
            return out[:count]
        finally:
            self.rng = save

    def _query_name(self) -> str:
        r = self.rng.random()
        if r < 0.35:
            return self.rng.choice(self.last)
        if r < 0.55:
            return self.rng.choice(self.first)
        return self.name()

    def _query_pair(self) -> str:
        r = self.rng.random()
        if r < 0.3:
            return f"{self.rng.choice(self.domain[:40])} {self.rng.choice(self.rare[200:20000])}"
        if r < 0.55:
            return f"{self.rng.choice(self.last)} {rng_place(self)}"
        if r < 0.8:
            return f"{self.rng.choice(self.domain[:60])} {rng_place(self)}"
        return f"{self.rng.choice(self.domain[:40])} {self.rng.choice(self.domain[:40])}"

    def _query_phrase(self) -> str:
        a, b = self.rng.choice(self.domain[:80]), self.rng.choice(self.domain[:80])
        glue = self.rng.choice(("of the", "in the", "at the", "on the", "by the"))
        return f"{a} {glue} {b}" if self.rng.random() < 0.6 else f"{a} {glue} {rng_place(self)}"


def rng_place(vocab: Vocabulary) -> str:
    """A place people search for: one of the 500 most mentioned, evenly."""
    return vocab.rng.choice(vocab.places[:500])


def _invent(
    rng: random.Random,
    count: int,
    low: int,
    high: int,
    suffixes: tuple[str, ...],
    *,
    capital: bool,
    avoid: set[str],
) -> list[str]:
    seen: set[str] = set(avoid)
    out: list[str] = []
    while len(out) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(low, high)))
        word += rng.choice(suffixes)
        if len(word) < 4 or word in seen:
            continue
        seen.add(word)
        out.append(word.capitalize() if capital else word)
    return out
